"""Where the domain's series are counted: from the services' hooks (support/signals.py),
always once the transaction commits, so a rolled-back change counts nothing; and from the
consumers for the socket gauge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from support.metrics import series
from support.models import SenderType, SupportMessage, SupportRequest


def request_changed(*, support_request: SupportRequest, action: str) -> None:
    """A request was created, joined, resolved, closed or reopened (inside its transaction)."""
    created_at = support_request.created_at
    if action == "created":
        chatbot = str(support_request.chatbot_id)
        transaction.on_commit(lambda: series.requests_created.labels(chatbot=chatbot).inc())
    elif action == "joined" and support_request.admin_joined_at is not None:
        waited = _seconds(created_at, support_request.admin_joined_at)
        transaction.on_commit(lambda: series.wait_seconds.observe(waited))
    elif action == "resolved" and support_request.resolved_at is not None:
        took = _seconds(created_at, support_request.resolved_at)
        transaction.on_commit(lambda: series.resolution_seconds.observe(took))


def message_stored(*, support_request: SupportRequest, message: SupportMessage) -> None:
    """A message was stored (inside its transaction); an agent's first one is the first
    response."""
    sender_type = str(message.sender_type)
    transaction.on_commit(lambda: series.messages.labels(sender_type=sender_type).inc())
    if (
        message.sender_type == SenderType.ADMIN
        and support_request.first_response_at == message.created_at
    ):
        took = _seconds(support_request.created_at, message.created_at)
        transaction.on_commit(lambda: series.first_response_seconds.observe(took))


def email_finished(*, kind: str, result: str) -> None:
    """An email reached an outcome: sent, failed (for good), delivered or bounced."""
    transaction.on_commit(lambda: series.emails.labels(kind=kind, result=result).inc())


def socket_opened(consumer: Any) -> None:
    """After a consumer's connect: an accepted socket counts under its kind until it
    closes; a refused one (closed at once with a 44xx code) never counts."""
    kind = _socket_kind(consumer)
    if kind is not None:
        consumer.metrics_socket_kind = kind
        series.websocket_connections.labels(kind=kind).inc()


def socket_closed(consumer: Any) -> None:
    kind = getattr(consumer, "metrics_socket_kind", None)
    if kind is not None:
        consumer.metrics_socket_kind = None
        series.websocket_connections.labels(kind=kind).dec()


def _socket_kind(consumer: Any) -> str | None:
    if getattr(consumer, "finished", True):
        return None
    if hasattr(consumer, "chatbot_ids"):  # the agent's queue socket
        return "queue"
    return "agent" if getattr(consumer, "sender_type", None) == SenderType.ADMIN else "visitor"


def _seconds(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0.0)
