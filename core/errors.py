"""The one domain error type. Transports map it once: HTTP (core/http_errors.py),
WebSocket (the consumer base), admin (message_user)."""

from __future__ import annotations

NOT_FOUND = "Not found."
NOT_AUTHENTICATED = "Authentication credentials were not provided or are invalid."
REQUEST_CLOSED = "This conversation is closed."
ALREADY_JOINED = "{agent} has already joined this request."
JOIN_FIRST = "Join the request before writing to the visitor."
CANNOT_TRANSITION = "This request is {status}: it cannot be {verb}."
HUMAN_SUPPORT_OFF = "Human support is not available for this chatbot."
CHATBOT_INACTIVE = "This chatbot is not active."
ORIGIN_NOT_ALLOWED = "This origin may not use this chatbot."
BUSY = "The server is busy: nothing was stored. Send it again later with the same client_id."
CLIENT_ID_TAKEN = "This client_id names another sender's message: send with a new one."


class DomainError(Exception):
    """A refused operation. `code` is stable (clients branch on it); `detail` is for people."""

    code = "error"
    http_status = 400

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class NotFound(DomainError):
    code = "not_found"
    http_status = 404

    def __init__(self, detail: str = NOT_FOUND) -> None:
        super().__init__(detail)


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403


class InvalidTransition(DomainError):
    code = "invalid_transition"
    http_status = 409


class RequestClosed(InvalidTransition):
    code = "closed"

    def __init__(self, detail: str = REQUEST_CLOSED) -> None:
        super().__init__(detail)


class ClientIdTaken(DomainError):
    """A retry is recognised by its client_id, but only from the sender who first used it:
    anyone else's message must neither be dropped nor answered with somebody else's."""

    code = "client_id_taken"
    http_status = 409

    def __init__(self, detail: str = CLIENT_ID_TAKEN) -> None:
        super().__init__(detail)


class InvalidInput(DomainError):
    code = "invalid"
    http_status = 400

    def __init__(self, field: str, detail: str, *, code: str = "invalid") -> None:
        super().__init__(detail, errors={field: [detail]})
        self.code = code
