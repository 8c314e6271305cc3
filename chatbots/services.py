"""Every change of a chatbot, a visitor session or the bot conversation happens here.

Transports (the operators' API, the Django admin, `create_chatbot`) validate their input,
then call one of these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction

from chatbots import bot
from chatbots.models import Chatbot, ChatMessage, ChatSession
from core.errors import CHATBOT_INACTIVE, Forbidden
from core.text import require_text

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def session_start(*, chatbot: Chatbot, origin: str = "") -> tuple[ChatSession, str]:
    """A new visitor session. Returns it and its token, which is shown only this once."""
    if not chatbot.is_active:
        raise Forbidden(CHATBOT_INACTIVE)
    session = ChatSession(chatbot=chatbot, origin=origin[:255])
    token = session.issue_token()
    session.save()
    return session, token


# A session's last use is written at most this often: not a write per call.
SESSION_USE_RESOLUTION = timedelta(hours=1)


def session_mark_used(*, session: ChatSession, now: datetime) -> None:
    """Its token was used now: keep it alive (VISITOR_TOKEN_DAYS counts from here)."""
    if now - session.last_used_at < SESSION_USE_RESOLUTION:
        return
    ChatSession.objects.filter(pk=session.pk).update(last_used_at=now)
    session.last_used_at = now


def bot_message(*, session: ChatSession, text: str) -> tuple[ChatMessage, bool]:
    """Store the visitor's message and the bot's answer. Returns (reply, handoff_suggested)."""
    chatbot = session.chatbot
    if not chatbot.is_active:
        raise Forbidden(CHATBOT_INACTIVE)
    body = require_text(text, field="message")
    result = bot.answer(body, chatbot.faq_entries.all())
    with transaction.atomic():
        ChatMessage.objects.create(session=session, role=ChatMessage.Role.USER, text=body)
        reply = ChatMessage.objects.create(
            session=session, role=ChatMessage.Role.BOT, text=result.text
        )
    return reply, result.handoff_suggested


# Fields an operator may set; `key` is generated once and never changes.
CHATBOT_FIELDS = frozenset(
    {
        "name",
        "admin_email",
        "allowed_origins",
        "welcome_text",
        "primary_color",
        "human_support_enabled",
        "is_active",
    }
)


def chatbot_create(*, agents: Iterable[User] | None = None, **fields: Any) -> Chatbot:
    """A new chatbot with `fields` (names from CHATBOT_FIELDS) served by `agents`.

    Its agents join the "Agents" group through the `agents` change signal, and superusers'
    open queues start hearing it (support/realtime/revocation.py).
    """
    _refuse_unknown(fields)
    with transaction.atomic():
        chatbot = Chatbot.objects.create(**fields)
        if agents:
            chatbot.agents.set(agents)
    return chatbot


def chatbot_update(
    *, chatbot: Chatbot, agents: Iterable[User] | None = None, **changes: Any
) -> Chatbot:
    """Change the given fields (and, when `agents` is given, who serves it); nothing else."""
    _refuse_unknown(changes)
    with transaction.atomic():
        for name, value in changes.items():
            setattr(chatbot, name, value)
        if changes:
            chatbot.save(update_fields=[*changes, "updated_at"])
        if agents is not None:
            chatbot.agents.set(agents)
    return chatbot


def _refuse_unknown(fields: dict[str, Any]) -> None:
    unknown = set(fields) - CHATBOT_FIELDS
    if unknown:
        raise TypeError(f"not a chatbot field: {', '.join(sorted(unknown))}")
