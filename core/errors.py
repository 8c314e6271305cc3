"""The one domain error type. Transports map it once: HTTP (core/http_errors.py),
WebSocket (the consumer base), admin (message_user)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

# Lazy: each text is translated when an answer or frame is built, in the language of the
# one who reads it (the HTTP request's, the socket's), not when this module is imported.
# A text with `{placeholders}` is filled with django.utils.text.format_lazy, which stays
# lazy too (a service raising on a database thread does not know the reader's language).
NOT_FOUND = _("Not found.")
NOT_AUTHENTICATED = _("Authentication credentials were not provided or are invalid.")
REQUEST_CLOSED = _("This conversation is closed.")
ALREADY_JOINED = _("{agent} has already joined this request.")
JOIN_FIRST = _("Join the request before writing to the visitor.")
CANNOT_TRANSITION = _("This request is {status}: it cannot be {verb}.")
HUMAN_SUPPORT_OFF = _("Human support is not available for this chatbot.")
CHATBOT_INACTIVE = _("This chatbot is not active.")
ORIGIN_NOT_ALLOWED = _("This origin may not use this chatbot.")
BUSY = _("The server is busy: nothing was stored. Send it again later with the same client_id.")
CLIENT_ID_TAKEN = _("This client_id names another sender's message: send with a new one.")


class DomainError(Exception):
    """A refused operation. `code` is stable (clients branch on it); `detail` is for people."""

    code = "error"
    http_status = 400

    def __init__(
        self, detail: StrOrPromise, *, errors: Mapping[str, Sequence[StrOrPromise]] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: dict[str, list[StrOrPromise]] = {
            field: list(texts) for field, texts in (errors or {}).items()
        }

    def translated(self) -> tuple[str, dict[str, list[str]]]:
        """`detail` and `errors` as plain text in the active language (evaluate the lazy
        texts under the reader's translation.override)."""
        return str(self.detail), {
            field: [str(text) for text in texts] for field, texts in self.errors.items()
        }


class NotFound(DomainError):
    code = "not_found"
    http_status = 404

    def __init__(self, detail: StrOrPromise = NOT_FOUND) -> None:
        super().__init__(detail)


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409


class RequestClosed(InvalidTransition):
    code = "closed"

    def __init__(self, detail: StrOrPromise = REQUEST_CLOSED) -> None:
        super().__init__(detail)


class ClientIdTaken(DomainError):
    """A retry is recognised by its client_id, but only from the sender who first used it:
    anyone else's message must neither be dropped nor answered with somebody else's."""

    code = "client_id_taken"
    http_status = 409

    def __init__(self, detail: StrOrPromise = CLIENT_ID_TAKEN) -> None:
        super().__init__(detail)


class InvalidInput(DomainError):
    code = "invalid"
    http_status = 400

    def __init__(self, field: str, detail: StrOrPromise, *, code: str = "invalid") -> None:
        super().__init__(detail, errors={field: [detail]})
        self.code = code
