"""The retention purge: closed requests older than their chatbot's retention go, with
everything that belongs to them (messages, outbox rows and the provider events recorded
on them, and the bot conversation when no other request of it is kept)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from chatbots.models import Chatbot, ChatMessage, ChatSession
from chatbots.services import sessions_delete
from support.models import EmailNotification, RequestStatus, SupportMessage, SupportRequest


@dataclass(frozen=True)
class PurgeCounts:
    requests: int
    messages: int
    emails: int
    sessions: int
    bot_messages: int

    def __str__(self) -> str:
        # An operator's log line, in English like the rest of the commands' output.
        return (
            f"{_counted(self.requests, 'request')}, {_counted(self.messages, 'message')}, "
            f"{_counted(self.emails, 'email')}, "
            f"{_counted(self.sessions, 'bot conversation')} "
            f"({_counted(self.bot_messages, 'bot message')})"
        )


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def retention_days_of(chatbot: Chatbot) -> int:
    """The chatbot's own retention, else the installation's; 0 keeps forever."""
    if chatbot.retention_days is not None:
        return chatbot.retention_days
    return int(settings.RETENTION_DAYS)


def _expired_request_ids(*, now: datetime, days: int | None) -> list[int]:
    ids: list[int] = []
    # One query per chatbot: each may keep its requests for a different time.
    for chatbot in Chatbot.objects.only("pk", "retention_days"):
        keep = retention_days_of(chatbot) if days is None else days
        if keep == 0:
            continue
        ids += SupportRequest.objects.filter(
            chatbot=chatbot, status=RequestStatus.CLOSED, closed_at__lt=now - timedelta(days=keep)
        ).values_list("pk", flat=True)
    return ids


def purge_requests(*, now: datetime, days: int | None = None, dry_run: bool = False) -> PurgeCounts:
    """Delete the closed requests past their retention (`days` overrides every chatbot's)
    and report what went; with `dry_run`, what would go. Open requests are never touched:
    only CLOSED ones with a closed_at qualify."""
    with transaction.atomic():
        ids = _expired_request_ids(now=now, days=days)
        requests = SupportRequest.objects.filter(pk__in=ids)
        # A conversation goes only when none of its requests is kept: deleting its session
        # row also kills the visitor's token at once (401).
        candidates = set(requests.values_list("session__pk", flat=True))
        kept = set(
            SupportRequest.objects.filter(session__pk__in=candidates)
            .exclude(pk__in=ids)
            .values_list("session__pk", flat=True)
        )
        sessions = ChatSession.objects.filter(pk__in=candidates - kept)
        counts = PurgeCounts(
            requests=len(ids),
            messages=SupportMessage.objects.filter(support_request__in=ids).count(),
            emails=EmailNotification.objects.filter(support_request__in=ids).count(),
            sessions=sessions.count(),
            bot_messages=ChatMessage.objects.filter(session__in=sessions).count(),
        )
        if not dry_run:
            requests.delete()
            sessions_delete(sessions=sessions)
    return counts
