"""Every change of a chatbot, a visitor session or the bot conversation happens here.

Transports (the operators' API, the Django admin, `create_chatbot`) validate their input,
then call one of these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import translation

from chatbots import bot
from chatbots.languages import validated_translations
from chatbots.models import (
    CHATBOT_TRANSLATION_LIMITS,
    DEFAULT_WELCOME_TEXT,
    FAQ_TRANSLATION_LIMITS,
    Chatbot,
    ChatMessage,
    ChatSession,
)
from core.errors import CHATBOT_INACTIVE, Forbidden
from core.text import require_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet


def session_start(*, chatbot: Chatbot, origin: str = "") -> tuple[ChatSession, str]:
    """A new visitor session. Returns it and its token, which is shown only this once."""
    if not chatbot.is_active:
        raise Forbidden(CHATBOT_INACTIVE)
    session = ChatSession(chatbot=chatbot, origin=origin[:255])
    token = session.issue_token()
    session.save()
    return session, token


# A session's last use is written at most this often: not a write per call.
SESSION_USE_RESOLUTION = timedelta(hours=1)


def session_mark_used(*, session: ChatSession, now: datetime) -> None:
    """Its token was used now: keep it alive (VISITOR_TOKEN_DAYS counts from here)."""
    if now - session.last_used_at < SESSION_USE_RESOLUTION:
        return
    ChatSession.objects.filter(pk=session.pk).update(last_used_at=now)
    session.last_used_at = now


def sessions_delete(*, sessions: QuerySet[ChatSession]) -> None:
    """Delete visitor sessions with their bot conversation; their tokens stop working at
    once (the retention purge, support/upkeep/retention.py)."""
    sessions.delete()


def session_erase(*, session: ChatSession) -> int:
    """Forget a visitor's session (an erasure of their data): delete its bot conversation
    and make its token worthless (a fresh random hash that no token has, as token_hash is
    unique and required). The row stays: support requests point to it. Returns the
    number of bot-conversation messages deleted."""
    with transaction.atomic():
        deleted, _ = ChatMessage.objects.filter(session=session).delete()
        session.issue_token()  # the new token is dropped: nobody ever holds it
        session.save(update_fields=["token_hash"])
    return deleted


def bot_message(
    *, session: ChatSession, text: str, language: str | None = None
) -> tuple[ChatMessage, bool]:
    """Store the visitor's message and the bot's answer, in `language` (the visitor's, a
    shipped code; default: the chatbot's). Returns (reply, handoff_suggested)."""
    chatbot = session.chatbot
    if not chatbot.is_active:
        raise Forbidden(CHATBOT_INACTIVE)
    body = require_text(text, field="message")
    result = bot.answer(
        body,
        chatbot.faq_entries.all(),
        language=language or chatbot.language,
        default_language=chatbot.language,
    )
    with transaction.atomic():
        ChatMessage.objects.create(session=session, role=ChatMessage.Role.USER, text=body)
        reply = ChatMessage.objects.create(
            session=session, role=ChatMessage.Role.BOT, text=result.text
        )
    return reply, result.handoff_suggested


# Fields an operator may set; `key` is generated once and never changes.
CHATBOT_FIELDS = frozenset(
    {
        "name",
        "admin_email",
        "allowed_origins",
        "welcome_text",
        "language",
        "offline_message",
        "translations",
        "primary_color",
        "human_support_enabled",
        "is_active",
        "retention_days",
    }
)


def chatbot_create(*, agents: Iterable[User] | None = None, **fields: Any) -> Chatbot:
    """A new chatbot with `fields` (names from CHATBOT_FIELDS) served by `agents`.

    Its agents join the "Agents" group through the `agents` change signal, and superusers'
    open queues start hearing it (support/realtime/revocation.py).
    """
    _refuse_unknown(fields)
    if "welcome_text" not in fields:
        # The default greeting in the chatbot's own language, not always in English.
        with translation.override(fields.get("language", settings.LANGUAGE_CODE)):
            fields["welcome_text"] = translation.gettext(DEFAULT_WELCOME_TEXT)
    if "translations" in fields:
        fields["translations"] = validated_chatbot_translations(
            fields["translations"], default_language=fields.get("language", settings.LANGUAGE_CODE)
        )
    with transaction.atomic():
        chatbot = Chatbot.objects.create(**fields)
        if agents:
            chatbot.agents.set(agents)
    return chatbot


def chatbot_update(
    *, chatbot: Chatbot, agents: Iterable[User] | None = None, **changes: Any
) -> Chatbot:
    """Change the given fields (and, when `agents` is given, who serves it); nothing else."""
    _refuse_unknown(changes)
    if "translations" in changes or "language" in changes:
        changes["translations"] = validated_chatbot_translations(
            changes.get("translations", chatbot.translations),
            default_language=changes.get("language", chatbot.language),
        )
    with transaction.atomic():
        for name, value in changes.items():
            setattr(chatbot, name, value)
        if changes:
            chatbot.save(update_fields=[*changes, "updated_at"])
        if agents is not None:
            chatbot.agents.set(agents)
    return chatbot


def validated_chatbot_translations(value: Any, *, default_language: str) -> dict[str, Any]:
    """A chatbot's `translations` checked (InvalidInput, a 400, naming the problem)."""
    return validated_translations(
        value, limits=CHATBOT_TRANSLATION_LIMITS, default_language=default_language
    )


def validated_faq_translations(value: Any) -> dict[str, Any]:
    """An FAQ entry's `translations` checked. An entry in its chatbot's own language is
    not refused here (the chatbot's language may change later): it is simply not used."""
    return validated_translations(value, limits=FAQ_TRANSLATION_LIMITS)


def _refuse_unknown(fields: dict[str, Any]) -> None:
    unknown = set(fields) - CHATBOT_FIELDS
    if unknown:
        raise TypeError(f"not a chatbot field: {', '.join(sorted(unknown))}")
