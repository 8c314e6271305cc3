"""WebSocket frames of DESIGN.md §5: close codes, error codes and parsing of client frames.

Every refusal of a client frame is a DomainError (core/errors.py) with a stable
`code`; the consumer base turns any of them into one `error` frame (docs/events.md).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.utils.translation import gettext_lazy as _

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

INVALID_JSON = "A frame is one JSON object with a string `type`."
UNKNOWN_TYPE = "Unknown frame type {type!r}."
TOO_LARGE = "A frame may not exceed {limit} bytes."
RATE_LIMITED = "Too many {what}; slow down."
RATE_LIMITED_FOR = "Too many {what}; try again in {seconds} s."
INVALID_FIELD = "`{field}` must be {kind}."
INVALID_AFTER = "`after` must be a non-negative integer; no history was sent."
TOO_DEEP = _("A frame may not nest JSON this deeply.")
LONE_SURROGATE = _("A frame may not carry a lone surrogate (an invalid character).")
SERVER_ERROR = "The server could not handle this frame; retry with the same client_id."


class FrameError(DomainError):
    """A client frame refused before any service ran. The socket stays open."""

    http_status = 400

    def __init__(self, code: str, detail: str) -> None:
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
            raise FrameError("too_large", TOO_LARGE.format(limit=limit))
        raise FrameError("invalid_json", INVALID_JSON)
    # Cheap bound first: a str of n characters is at most 4n bytes in UTF-8.
    if len(text_data) > limit or len(text_data.encode()) > limit:
        raise FrameError("too_large", TOO_LARGE.format(limit=limit))
    try:
        frame = json.loads(text_data)
    except ValueError:
        raise FrameError("invalid_json", INVALID_JSON) from None
    except RecursionError:
        # One line, no traceback: a stranger may send this frame again and again.
        logger.warning("refused a frame nested too deeply")
        raise FrameError("invalid", str(TOO_DEEP)) from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("invalid_json", INVALID_JSON)
    # `"\ud800"` decodes to a str no database or UTF-8 encoder accepts; HTTP refuses it
    # in DRF's CharField, sockets here, for every field at once (text, names, client_id).
    if contains_lone_surrogate(json.dumps(frame, ensure_ascii=False)):
        raise FrameError("invalid", str(LONE_SURROGATE))
    return frame


def unknown_type(frame: dict[str, Any]) -> FrameError:
    return FrameError("unknown_type", UNKNOWN_TYPE.format(type=frame["type"][:40]))


def required_str(frame: dict[str, Any], field: str) -> str:
    value = frame.get(field)
    if not isinstance(value, str):
        raise FrameError("invalid", INVALID_FIELD.format(field=field, kind="a string"))
    return value


def optional_str(frame: dict[str, Any], field: str) -> str | None:
    value = frame.get(field)
    if value is not None and not isinstance(value, str):
        raise FrameError("invalid", INVALID_FIELD.format(field=field, kind="a string or null"))
    return value


def required_bool(frame: dict[str, Any], field: str) -> bool:
    value = frame.get(field)
    if not isinstance(value, bool):
        raise FrameError("invalid", INVALID_FIELD.format(field=field, kind="true or false"))
    return value


def error_frame(code: str, detail: str, *, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if client_id is not None:
        # Lets a client tell which of its pending messages was refused.
        frame["client_id"] = client_id
    return frame
