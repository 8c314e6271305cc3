"""Response shapes for the OpenAPI schema (documentation only: presenters.py renders)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
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


class VisitorBearerScheme(OpenApiAuthenticationExtension):
    """Documents the visitor's bearer session token in the OpenAPI schema."""

    target_class = "chatbots.visitors.VisitorBearerAuthentication"
    name = "visitorToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "The visitor's session token"}
