"""Changes on the widget side: visitor sessions and the bot conversation."""

from __future__ import annotations

from django.db import transaction

from chatbots import bot
from chatbots.models import Chatbot, ChatMessage, ChatSession
from support.exceptions import CHATBOT_INACTIVE, Forbidden
from support.text import require_text


def session_start(*, chatbot: Chatbot, origin: str = "") -> tuple[ChatSession, str]:
    """A new visitor session. Returns it and its token, which is shown only this once."""
    if not chatbot.is_active:
        raise Forbidden(CHATBOT_INACTIVE)
    session = ChatSession(chatbot=chatbot, origin=origin[:255])
    token = session.issue_token()
    session.save()
    return session, token


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
