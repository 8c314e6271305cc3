"""Response shapes for the OpenAPI schema (documentation only: presenters.py renders)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ChatbotRefOut(serializers.Serializer[None]):
    key = serializers.CharField()
    name = serializers.CharField()


class TranscriptLineOut(serializers.Serializer[None]):
    role = serializers.ChoiceField(["user", "bot"])
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class RequestOut(serializers.Serializer[None]):
    request_id = serializers.CharField()
    status = serializers.ChoiceField(["pending", "active", "resolved", "closed"])
    chatbot = ChatbotRefOut()
    user_name = serializers.CharField(allow_null=True)
    user_email = serializers.EmailField(allow_null=True)
    initial_message = serializers.CharField()
    agent_name = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    admin_joined_at = serializers.DateTimeField(allow_null=True)
    first_response_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    transcript = TranscriptLineOut(many=True, required=False, help_text="Agents only")


class RequestListOut(serializers.Serializer[None]):
    requests = RequestOut(many=True)


class MessageOut(serializers.Serializer[None]):
    id = serializers.IntegerField()
    sender_type = serializers.ChoiceField(["user", "admin", "system"])
    sender_name = serializers.CharField(allow_null=True)
    text = serializers.CharField()
    client_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class MessageListOut(serializers.Serializer[None]):
    messages = MessageOut(many=True)


class ErrorOut(serializers.Serializer[None]):
    detail = serializers.CharField()
    # A field named like Serializer.errors: the serializer metaclass takes declared fields out
    # of the class body, so the property stays; only the type checker sees a clash.
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]
    code = serializers.CharField()


# Why each error status is answered (docs/api.md); the body is always ErrorOut.
ERROR_STATUSES = {
    "400": "Bad input: malformed or too deeply nested JSON (`parse_error`), or a field "
    "named in `errors`.",
    "401": "No credentials, or a bad or expired token.",
    "403": "Not allowed: not an agent of this chatbot, an inactive chatbot, or an origin "
    "the chatbot does not allow.",
    "404": "Not found (also: not yours).",
    "409": "Refused by the status machine, or a `client_id` of another sender.",
    "413": "Body over MAX_BODY_BYTES.",
    "415": "A body that is not JSON.",
    "429": "Rate limited; `Retry-After` says when to try again.",
    "503": "Busy: nothing was stored; send again after `Retry-After` with the same `client_id`.",
}
# POSTs that go through the status machine or the client_id rule (409).
_STATE_CHANGES = ("/join", "/resolve", "/close", "/messages")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class HandoffAutoSchema(AutoSchema):
    """drf-spectacular's schema, with every error status an operation can answer."""

    def error_statuses(self) -> list[str]:
        method, path = self.method, self.path
        found = ["403"]
        has_body = method in _BODY_METHODS
        reads_body = has_body and self.get_request_serializer() is not None
        if reads_body or self.get_override_parameters():
            found.append("400")
        # Views without authentication classes are the anonymous ones (config, session).
        if getattr(self.view, "authentication_classes", None) != []:
            found.append("401")
        # A path parameter, or a session named in the body (request creation).
        if "{" in path or path == "/human-support/request":
            found.append("404")
        if method == "POST" and path.startswith("/human-support/requests/"):
            if path.endswith(_STATE_CHANGES):
                found.append("409")
            if path.endswith("/messages"):
                found.append("503")
        if has_body:
            found.append("413")  # core/middleware.py, before any view reads the body
        if reads_body:
            found.append("415")
        # Every throttled call is a write (MessagesView throttles its POST only).
        if has_body and getattr(self.view, "throttle_classes", None):
            found.append("429")
        return sorted(found)

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in self.error_statuses():
            if status not in responses:
                answer = self._get_response_for_code(ErrorOut, status, direction=direction)
                answer["description"] = ERROR_STATUSES[status]
                responses[status] = answer
        return responses


class VisitorBearerScheme(OpenApiAuthenticationExtension):
    """Documents the visitor's bearer session token in the OpenAPI schema."""

    target_class = "chatbots.visitors.VisitorBearerAuthentication"
    name = "visitorToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "The visitor's session token"}
