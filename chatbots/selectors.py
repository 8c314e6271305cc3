"""Reads for the widget-facing endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from chatbots.ids import can_exist
from chatbots.models import Chatbot, ChatSession, hash_token
from core.actors import agent_users


def session_for_token(token: str | None) -> ChatSession | None:
    """The visitor session a bearer token belongs to, or None.

    Looked up by the token's SHA-256 (indexed), then compared in constant time.
    """
    if not token:
        return None
    session = (
        ChatSession.objects.select_related("chatbot").filter(token_hash=hash_token(token)).first()
    )
    if session is None or not session.token_matches(token):
        return None
    return session


def agents_of(chatbot_id: int) -> QuerySet[Any]:
    """The users who serve a chatbot: `Chatbot.objects.served_by` seen from the other side
    (its listed agents, and every superuser)."""
    return (
        get_user_model()
        .objects.filter(agent_users())
        .filter(Q(is_superuser=True) | Q(served_chatbots=chatbot_id))
        .distinct()
    )


def chatbot_by_key(key: str) -> Chatbot | None:
    return Chatbot.objects.filter(key=key).first() if can_exist(key) else None


DEMO_CHATBOT_NAME = "Handoff demo shop"


def demo_chatbot(*, active_only: bool = False) -> Chatbot | None:
    """The demo chatbot (`manage.py demo`): the oldest of that name (names are not unique)."""
    chatbots = Chatbot.objects.filter(name=DEMO_CHATBOT_NAME)
    if active_only:
        chatbots = chatbots.filter(is_active=True)
    return chatbots.order_by("id").first()
