"""JSON shapes of DESIGN.md §5, shared by HTTP, WebSocket and events."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from chatbots.models import ChatMessage
from core.times import iso
from support.models import SenderType, SupportMessage, SupportRequest

VISITOR_FALLBACK_NAME = "Visitor"


def agent_display_name(user: AbstractBaseUser | None) -> str | None:
    if user is None:
        return None
    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full_name or user.get_username()


def message_json(message: SupportMessage, *, visitor_name: str | None = None) -> dict[str, Any]:
    if message.sender_type == SenderType.ADMIN:
        sender_name = agent_display_name(message.sender)
    elif message.sender_type == SenderType.USER:
        sender_name = visitor_name or VISITOR_FALLBACK_NAME
    else:
        sender_name = None
    return {
        "id": message.id,
        "sender_type": message.sender_type,
        "sender_name": sender_name,
        "text": message.message,
        "client_id": message.client_id,
        "created_at": iso(message.created_at),
    }


def transcript_json(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    return [{"role": m.role, "text": m.text, "created_at": iso(m.created_at)} for m in messages]


def request_json(
    support_request: SupportRequest, *, transcript: list[ChatMessage] | None = None
) -> dict[str, Any]:
    """The request; `transcript` (the bot conversation) is given for agents only."""
    data: dict[str, Any] = {
        "request_id": support_request.request_id,
        "status": support_request.status,
        "chatbot": {"key": support_request.chatbot.key, "name": support_request.chatbot.name},
        "user_name": support_request.user_name,
        "user_email": support_request.user_email,
        "initial_message": support_request.initial_message,
        "agent_name": agent_display_name(support_request.assigned_agent),
        "created_at": iso(support_request.created_at),
        "admin_joined_at": iso(support_request.admin_joined_at),
        "first_response_at": iso(support_request.first_response_at),
        "resolved_at": iso(support_request.resolved_at),
        "closed_at": iso(support_request.closed_at),
    }
    if transcript is not None:
        data["transcript"] = transcript_json(transcript)
    return data
