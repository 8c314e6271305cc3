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


def clean_single_line(value: str | None, *, max_length: int | None = None) -> str:
    """One line, no control characters (so it can never split an email header)."""
    if not value:
        return ""
    cleaned = " ".join(_ANY_CONTROL.sub(" ", value).split())
    if max_length is not None and len(cleaned) > max_length:
        cleaned = cleaned[: max_length - 1].rstrip() + "…"
    return cleaned


def clean_message(value: str | None) -> str:
    """Keep newlines and tabs; drop other control characters; trim the ends."""
    if not value:
        return ""
    return _CONTROL_EXCEPT_NEWLINE.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def require_text(value: str | None, *, field: str) -> str:
    """A cleaned, non-blank message within MAX_MESSAGE_CHARS, or InvalidInput naming `field`."""
    text = clean_message(value)
    if not text:
        raise InvalidInput(field, BLANK, code="blank")
    limit = settings.MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise InvalidInput(field, format_lazy(TOO_LONG, limit=limit), code="too_long")
    return text
