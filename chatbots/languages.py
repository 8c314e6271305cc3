"""Which shipped language a visitor gets, and the per-language texts admins write.

One rule for every widget endpoint: the visitor's preferences in order (the script tag's
`data-lang`, then the browser's languages), each matched exactly, then by its base
language (`de-AT` → `de`, `pt` → `pt-br`); the first that matches wins, else the
chatbot's own language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header

from core.errors import InvalidInput

# The longest list of preferences read: a browser sends a handful; a stranger could send
# thousands, and each costs a scan of LANGUAGES.
MAX_PREFERENCES = 20


def shipped_languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def match_language(tag: str) -> str | None:
    """The shipped language a BCP 47 tag (`pt-BR`, `de_AT`, `ar`) stands for, or None."""
    tag = tag.strip().lower().replace("_", "-")
    if not tag or tag == "*":
        return None
    shipped = shipped_languages()
    if tag in shipped:
        return tag
    base = tag.split("-", 1)[0]
    if base in shipped:
        return base
    # A base language that ships only as a regional variant: `pt` → `pt-br`.
    return next((code for code in shipped if code.split("-", 1)[0] == base), None)


def pick_language(preferences: Iterable[str], default: str) -> str:
    """The first preference that matches a shipped language, else `default` (the
    chatbot's language), else the site's LANGUAGE_CODE."""
    for count, tag in enumerate(preferences):
        if count >= MAX_PREFERENCES:
            break
        code = match_language(tag)
        if code is not None:
            return code
    return default if default in shipped_languages() else settings.LANGUAGE_CODE


def preferences_from_query(value: str) -> list[str]:
    """`?lang=de-AT,fr` → ["de-AT", "fr"]: the widget's ordered list."""
    return [tag for tag in value.split(",")[:MAX_PREFERENCES] if tag.strip()]


def preferences_from_header(value: str) -> list[str]:
    """An Accept-Language header, best first (q-values honoured, malformed ones ignored)."""
    if len(value) > 1000:  # Django's own bound for this header
        return []
    return [tag for tag, _quality in parse_accept_lang_header(value)]


def request_language(*, query: str | None, accept_language: str | None, default: str) -> str:
    """The visitor's language for one widget call: the `lang` query when given, else the
    Accept-Language header (the widget sends the language its config chose), else
    `default`."""
    if query:
        return pick_language(preferences_from_query(query), default)
    return pick_language(preferences_from_header(accept_language or ""), default)


def text_direction(code: str) -> str:
    return "rtl" if get_language_info(code)["bidi"] else "ltr"


# --- per-language texts that admins write ------------------------------------------------


def translated(obj: Any, field: str, language: str, *, default_language: str) -> str:
    """`obj.<field>` in `language`: its entry in `obj.translations` when one is given and not
    blank, else the field itself (written in the chatbot's default language)."""
    base: str = getattr(obj, field)
    if language == default_language:
        return base
    entry = (obj.translations or {}).get(language) or {}
    value = entry.get(field)
    return value if isinstance(value, str) and value.strip() else base


def validated_translations(
    value: Any,
    *,
    limits: Mapping[str, int],
    field: str = "translations",
    default_language: str | None = None,
) -> dict[str, dict[str, str]]:
    """`{"de": {"welcome_text": "..."}}` checked: shipped language codes (not the default
    language, whose text is the field itself), known keys only, strings within `limits`.
    Blank texts are dropped (a blank translation falls back anyway). Raises InvalidInput
    naming `field`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(field, _('Give an object by language code, e.g. {"de": {...}}.'))
    shipped = shipped_languages()
    cleaned: dict[str, dict[str, str]] = {}
    for code, texts in value.items():
        if code not in shipped:
            raise InvalidInput(
                field,
                _('"%(code)s" is not a shipped language: use one of %(codes)s.')
                % {"code": code, "codes": ", ".join(shipped)},
            )
        if code == default_language:
            raise InvalidInput(
                field,
                _('"%(code)s" is the chatbot\'s default language: its text is the field itself.')
                % {"code": code},
            )
        if not isinstance(texts, dict):
            raise InvalidInput(field, _('"%(code)s" must be an object of texts.') % {"code": code})
        unknown = sorted(set(texts) - set(limits))
        if unknown:
            raise InvalidInput(
                field,
                _('"%(code)s" has unknown keys: %(unknown)s (known: %(known)s).')
                % {
                    "code": code,
                    "unknown": ", ".join(unknown),
                    "known": ", ".join(sorted(limits)),
                },
            )
        entry: dict[str, str] = {}
        for key, text in texts.items():
            if not isinstance(text, str):
                raise InvalidInput(
                    field, _('"%(code)s.%(key)s" must be a string.') % {"code": code, "key": key}
                )
            text = text.strip()
            if len(text) > limits[key]:
                raise InvalidInput(
                    field,
                    _('"%(code)s.%(key)s" is longer than %(limit)d characters.')
                    % {"code": code, "key": key, "limit": limits[key]},
                    code="too_long",
                )
            if text:
                entry[key] = text
        if entry:
            cleaned[code] = entry
    return cleaned
