"""Reads for the widget-facing endpoints."""

from __future__ import annotations

from chatbots.ids import can_exist
from chatbots.models import Chatbot, ChatSession, hash_token


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


def chatbot_by_key(key: str) -> Chatbot | None:
    return Chatbot.objects.filter(key=key).first() if can_exist(key) else None
