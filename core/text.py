"""Cleaning of text that strangers type: it is shown in consoles, admin pages and emails."""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput

BLANK = _("This field may not be blank.")
TOO_LONG = _("Ensure this field has no more than {limit} characters.")

# C0/C1 control characters and Unicode line/paragraph separators, except \n and \t.
_CONTROL_EXCEPT_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# A str holds a surrogate only when it was decoded from an unpaired `\\udXXX` escape: a
# valid pair becomes one character. No UTF-8 encoder (database, email) accepts it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


# Bidirectional embeddings, overrides and isolates: "\u202egnp.exe" shows as "exe.png".
# Names lose them (a name is one short label nobody needs to override); messages keep them
# and are isolated where they are shown (<bdi> in HTML, stripped in plain-text mails).
_BIDI_CONTROLS = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def contains_lone_surrogate(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def strip_bidi_controls(value: str) -> str:
    return _BIDI_CONTROLS.sub("", value)


def clean_single_line(value: str | None, *, max_length: int | None = None) -> str:
    """One line, no control characters (so it can never split an email header) and no
    bidirectional controls (so a name or subject reads as it is stored)."""
    if not value:
        return ""
    cleaned = " ".join(_ANY_CONTROL.sub(" ", strip_bidi_controls(value)).split())
    if max_length is not None and len(cleaned) > max_length:
        cleaned = cleaned[: max_length - 1].rstrip() + "…"
    return cleaned


def clean_message(value: str | None) -> str:
    """Keep newlines and tabs; drop other control characters; trim the ends."""
    if not value:
        return ""
    return _CONTROL_EXCEPT_NEWLINE.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def refuse_lone_surrogates(value: str | None, *, field: str) -> None:
    """InvalidInput naming `field` if `value` holds a lone surrogate: every transport's
    text (DRF's CharField refuses it over HTTP; socket frames, commands, the admin come here)."""
    if value and contains_lone_surrogate(value):
        raise InvalidInput(field, _("Surrogate characters are not allowed."))


def clean_name(value: str | None, *, field: str, max_length: int) -> str:
    """A person's name (or address) as stored: one line, no control or bidirectional
    characters; InvalidInput naming `field` for a lone surrogate."""
    refuse_lone_surrogates(value, field=field)
    return clean_single_line(value, max_length=max_length)


def require_text(value: str | None, *, field: str) -> str:
    """A cleaned, non-blank message within MAX_MESSAGE_CHARS, or InvalidInput naming `field`."""
    refuse_lone_surrogates(value, field=field)
    text = clean_message(value)
    if not text:
        raise InvalidInput(field, BLANK, code="blank")
    limit = settings.MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise InvalidInput(field, format_lazy(TOO_LONG, limit=limit), code="too_long")
    return text
