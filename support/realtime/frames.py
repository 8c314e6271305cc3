"""WebSocket frames of DESIGN.md §5: close codes, error codes and parsing of client frames.

Every refusal of a client frame is a DomainError (core/errors.py) with a stable
`code`; the consumer base turns any of them into one `error` frame (docs/events.md).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from core.errors import DomainError
from core.text import contains_lone_surrogate

logger = logging.getLogger(__name__)

# Close codes of a refused or ended connection (the socket is accepted first, so that a
# browser sees the code rather than a failed handshake).
CLOSE_UNAUTHENTICATED = 4401  # no or bad credentials
CLOSE_FORBIDDEN = 4403  # not yours, wrong origin, or access ended
CLOSE_NOT_FOUND = 4404  # no such request
CLOSE_TOO_MANY = 4429  # this visitor session or client address has too many open sockets
# The channel layer is unavailable: reconnect later with ?after=. Not 1013 ("try again
# later" in RFC 6455's registry): daphne's transport sends only 1000 and 3000-4999.
CLOSE_TRY_AGAIN = 4503

# Lazy texts: the consumer evaluates them in the socket's language when it sends the
# `error` frame (support/realtime/consumers.py); the `code` beside them never changes.
INVALID_JSON = _("A frame is one JSON object with a string `type`.")
UNKNOWN_TYPE = _("Unknown frame type {type!r}.")
TOO_LARGE = _("A frame may not exceed {limit} bytes.")
RATE_LIMITED_MESSAGES = _("Too many messages; slow down.")
RATE_LIMITED_TYPING = _("Too many typing frames; slow down.")
RATE_LIMITED_MESSAGES_FOR = _("Too many messages; try again in {seconds} s.")
RATE_LIMITED_TYPING_FOR = _("Too many typing frames; try again in {seconds} s.")
MUST_BE_STRING = _("`{field}` must be a string.")
MUST_BE_STRING_OR_NULL = _("`{field}` must be a string or null.")
MUST_BE_BOOL = _("`{field}` must be true or false.")
INVALID_AFTER = _("`after` must be a non-negative integer; no history was sent.")
TOO_DEEP = _("A frame may not nest JSON this deeply.")
LONE_SURROGATE = _("A frame may not carry a lone surrogate (an invalid character).")
SERVER_ERROR = _("The server could not handle this frame; retry with the same client_id.")


class FrameError(DomainError):
    """A client frame refused before any service ran. The socket stays open."""

    http_status = 400

    def __init__(self, code: str, detail: StrOrPromise) -> None:
        super().__init__(detail)
        self.code = code


class AccessLost(Exception):
    """The agent behind this socket may no longer see its request: close with 4403."""


def parse_frame(text_data: str | None, bytes_data: bytes | None, *, limit: int) -> dict[str, Any]:
    """The client frame as a dict with a string `type`, or FrameError."""
    if text_data is None:
        # Binary frames carry nothing in this protocol.
        size = len(bytes_data or b"")
        if size > limit:
            raise FrameError("too_large", format_lazy(TOO_LARGE, limit=limit))
        raise FrameError("invalid_json", INVALID_JSON)
    # Cheap bound first: a str of n characters is at most 4n bytes in UTF-8.
    if len(text_data) > limit or len(text_data.encode()) > limit:
        raise FrameError("too_large", format_lazy(TOO_LARGE, limit=limit))
    try:
        frame = json.loads(text_data)
    except ValueError:
        raise FrameError("invalid_json", INVALID_JSON) from None
    except RecursionError:
        # One line, no traceback: a stranger may send this frame again and again.
        logger.warning("refused a frame nested too deeply")
        raise FrameError("invalid", TOO_DEEP) from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("invalid_json", INVALID_JSON)
    # `"\ud800"` decodes to a str no database or UTF-8 encoder accepts; HTTP refuses it
    # in DRF's CharField, sockets here, for every field at once (text, names, client_id).
    if contains_lone_surrogate(json.dumps(frame, ensure_ascii=False)):
        raise FrameError("invalid", LONE_SURROGATE)
    return frame


def unknown_type(frame: dict[str, Any]) -> FrameError:
    return FrameError("unknown_type", format_lazy(UNKNOWN_TYPE, type=frame["type"][:40]))


def required_str(frame: dict[str, Any], field: str) -> str:
    value = frame.get(field)
    if not isinstance(value, str):
        raise FrameError("invalid", format_lazy(MUST_BE_STRING, field=field))
    return value


def optional_str(frame: dict[str, Any], field: str) -> str | None:
    value = frame.get(field)
    if value is not None and not isinstance(value, str):
        raise FrameError("invalid", format_lazy(MUST_BE_STRING_OR_NULL, field=field))
    return value


def required_bool(frame: dict[str, Any], field: str) -> bool:
    value = frame.get(field)
    if not isinstance(value, bool):
        raise FrameError("invalid", format_lazy(MUST_BE_BOOL, field=field))
    return value


def error_frame(code: str, detail: StrOrPromise, *, client_id: str | None = None) -> dict[str, Any]:
    """The `error` frame; a lazy `detail` is translated here, in the active language (the
    caller activates the socket's)."""
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": str(detail)}
    if client_id is not None:
        # Lets a client tell which of its pending messages was refused.
        frame["client_id"] = client_id
    return frame
