"""Whose language a text is in (docs/languages.md): one rule per party, used by every
transport that renders for them.

- A visitor: the language their request was created in (`SupportRequest.language`, from
  the widget's `Accept-Language`), else the chatbot's.
- The chatbot's admin: the chatbot's language (`Chatbot.language`).
- An agent: the console language on their preference (`AgentPreference.console_language`),
  else their browser's `Accept-Language`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput
from support.models import AgentPreference, SupportRequest

UNKNOWN_LANGUAGE = _("Choose one of the languages offered.")


def shipped(code: str | None) -> str | None:
    """`code` as one of settings.LANGUAGES ("pt-BR" → "pt-br", "de-AT" → "de"), or None."""
    if not code:
        return None
    try:
        # Django's codes are lower case ("pt-br"); browsers and people write "pt-BR".
        return translation.get_supported_language_variant(code.lower())
    except LookupError:
        return None


def from_accept_language(header: str | None) -> str:
    """The best shipped language for an `Accept-Language` value, else LANGUAGE_CODE:
    Django's own negotiation, as LocaleMiddleware does it for HTTP."""
    request = HttpRequest()
    if header:
        request.META["HTTP_ACCEPT_LANGUAGE"] = header
    return translation.get_language_from_request(request)


def visitor_language(support_request: SupportRequest) -> str:
    return shipped(support_request.language) or chatbot_language(support_request)


def chatbot_language(support_request: SupportRequest) -> str:
    return shipped(support_request.chatbot.language) or settings.LANGUAGE_CODE


def agent_console_language(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The agent's chosen console language, None when they chose none (browser's then)."""
    if not user.is_authenticated:
        return None
    chosen = (
        AgentPreference.objects.filter(user_id=user.pk)
        .values_list("console_language", flat=True)
        .first()
    )
    return shipped(chosen)


def agent_language(user: AbstractBaseUser | AnonymousUser, accept_language: str | None) -> str:
    return agent_console_language(user) or from_accept_language(accept_language)


# The agent's chosen console language rides in their login session, so that console pages
# and the API calls of the console's script follow it without a query per request; it is
# copied from the preference at login and written with it (set_console_language).
SESSION_KEY = "handoff_console_language"


def remember_in_session(session: SessionBase, language: str | None) -> None:
    if language:
        session[SESSION_KEY] = language
    else:
        session.pop(SESSION_KEY, None)


def chosen_in_session(session: SessionBase) -> str | None:
    return shipped(session.get(SESSION_KEY))


def set_console_language(*, user: AbstractBaseUser, language: str) -> AgentPreference:
    """Store the agent's console language ("" = follow the browser). Refuses a language
    that is not shipped with InvalidInput (the form only offers shipped ones)."""
    chosen = shipped(language) if language else ""
    if chosen is None or (language and chosen != language):
        raise InvalidInput("language", UNKNOWN_LANGUAGE, code="invalid_choice")
    preference, _created = AgentPreference.objects.update_or_create(
        user_id=user.pk, defaults={"console_language": chosen}
    )
    return preference
