"""Requests with known times for the insights tests, made through the services and then
moved back in time (the services stamp "now"; the figures need a past)."""

from __future__ import annotations

from datetime import datetime, timedelta

from chatbots.models import Chatbot, ChatSession
from chatbots.visitors import Visitor
from core.actors import Agent
from support import services
from support.models import EmailNotification, SupportRequest
from tests.factories import make_session


def handoff(
    chatbot: Chatbot,
    agent: Agent,
    *,
    now: datetime,
    ago: timedelta,
    join: timedelta | None = None,
    respond: timedelta | None = None,
    resolve: timedelta | None = None,
    reopen: bool = False,
    close: bool = False,
    bot_chat_before: timedelta = timedelta(hours=1),
) -> SupportRequest:
    """A request created `ago` before `now`, joined, answered and resolved that long after
    its creation; its visitor chatted with the bot for `bot_chat_before` beforehand."""
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(session=session, initial_message="Help")
    visitor = Visitor(session=session)
    if join is not None:
        services.request_join(support_request=support_request, agent=agent)
    if respond is not None:
        services.message_post(support_request=support_request, actor=agent, text="Hello")
    if resolve is not None:
        services.request_resolve(support_request=support_request, agent=agent)
        if reopen:
            services.message_post(support_request=support_request, actor=visitor, text="Again")
            services.request_resolve(support_request=support_request, agent=agent)
    if close:
        services.request_close(support_request=support_request, actor=visitor)
    created = now - ago
    ChatSession.objects.filter(pk=session.pk).update(created_at=created - bot_chat_before)
    SupportRequest.objects.filter(pk=support_request.pk).update(
        created_at=created,
        admin_joined_at=created + join if join is not None else None,
        first_response_at=created + respond if respond is not None else None,
        resolved_at=created + resolve if resolve is not None else None,
    )
    support_request.refresh_from_db()
    return support_request


def set_email_status(support_request: SupportRequest, status: str) -> None:
    """What the outbox and the ESP's webhook leave on the request's (one) email."""
    emails = EmailNotification.objects.filter(support_request=support_request)
    assert emails.count() == 1
    emails.update(status=status)
