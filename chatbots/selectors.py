"""Reads for the widget-facing endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from chatbots import services
from chatbots.ids import can_exist
from chatbots.models import Chatbot, ChatSession, hash_token
from core.actors import agent_users


def session_for_token(token: str | None) -> ChatSession | None:
    """The visitor session a bearer token belongs to, or None (also when the token went
    unused for VISITOR_TOKEN_DAYS). The one check of HTTP and sockets alike.

    Looked up by the token's SHA-256 (indexed), then compared in constant time. A token
    that lets someone in marks its session used (at most one write an hour).
    """
    if not token:
        return None
    session = (
        ChatSession.objects.select_related("chatbot").filter(token_hash=hash_token(token)).first()
    )
    if session is None or not session.token_matches(token):
        return None
    now = timezone.now()
    days = settings.VISITOR_TOKEN_DAYS
    if days > 0 and now - session.last_used_at > timedelta(days=days):
        return None
    services.session_mark_used(session=session, now=now)
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
