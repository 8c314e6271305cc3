"""Every change of a support request happens here, and only here.

Each function validates the transition, writes in one transaction (holding the
request's row lock) and publishes its events on commit. Transports (HTTP, WebSocket,
admin, commands) parse and authorise, call one function and render the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from django.db import IntegrityError, connection, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chatbots.models import ChatSession
from chatbots.visitors import Actor
from core.actors import Agent
from core.errors import (
    ALREADY_JOINED,
    CANNOT_TRANSITION,
    CHATBOT_INACTIVE,
    HUMAN_SUPPORT_OFF,
    JOIN_FIRST,
    ClientIdTaken,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    RequestClosed,
)
from core.text import clean_name, require_text
from support import events
from support.models import (
    CLIENT_ID_MAX_LENGTH,
    RequestStatus,
    SenderType,
    SupportMessage,
    SupportRequest,
    email_hash,
)
from support.presenters import agent_display_name, message_json, request_json

# The retention purge deletes requests in bulk; it lives with the other upkeep jobs.
from support.upkeep.retention import PurgeCounts as PurgeCounts
from support.upkeep.retention import purge_requests as purge_requests

if TYPE_CHECKING:
    pass

NAME_MAX_LENGTH = 255
INVALID_CLIENT_ID = _("client_id must be a string of at most {limit} printable characters.")


# Sent inside the transaction that creates a request, so that what its receivers write
# (the email outbox) commits or rolls back with the request. A hook, not an import: the
# domain does not depend on its email package (support/email/ depends on the domain).
request_created = Signal()
# Sent inside the transaction of every change of a request (action: created, joined,
# resolved, closed, reopened) and of every message stored; their receivers (the metrics,
# support/signals.py) act on commit, so a rolled-back change counts nothing.
request_changed = Signal()
message_stored = Signal()


@dataclass(frozen=True)
class PostResult:
    message: SupportMessage
    created: bool  # False: the same client_id was seen before; nothing new was stored


# --- create ---------------------------------------------------------------------------


def request_create(
    *,
    session: ChatSession,
    initial_message: str,
    user_name: str | None = None,
    user_email: str | None = None,
    language: str | None = None,
) -> tuple[SupportRequest, bool]:
    """Open a request for `session`, or return its open one. Returns (request, created).

    `language`: the visitor's (a code of settings.LANGUAGES); None: the chatbot's."""
    chatbot = session.chatbot
    if not chatbot.is_active:
        raise Forbidden(CHATBOT_INACTIVE)
    if not chatbot.human_support_enabled:
        raise Forbidden(HUMAN_SUPPORT_OFF)
    text = require_text(initial_message, field="initial_message")
    name = clean_name(user_name, field="user_name", max_length=NAME_MAX_LENGTH) or None
    email = clean_name(user_email, field="user_email", max_length=NAME_MAX_LENGTH).lower() or None

    existing = _open_request_of(session)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            support_request = SupportRequest.objects.create(
                chatbot=chatbot,
                session=session,
                user_name=name,
                user_email=email,
                user_email_hash=email_hash(email),
                initial_message=text,
                language=language or chatbot.language,
            )
            first = SupportMessage.objects.create(
                support_request=support_request, sender_type=SenderType.USER, message=text
            )
            message_stored.send(SupportMessage, support_request=support_request, message=first)
            _queue_created_notifications(support_request)
            _publish_queue(support_request, "created")
    except IntegrityError:
        # Another click of the same visitor won the race for the one open request.
        existing = _open_request_of(session)
        if existing is None:
            raise
        return existing, False
    return support_request, True


def _open_request_of(session: ChatSession) -> SupportRequest | None:
    return (
        SupportRequest.objects.select_related("chatbot", "assigned_agent")
        .filter(session=session)
        .exclude(status=RequestStatus.CLOSED)
        .first()
    )


def _queue_created_notifications(support_request: SupportRequest) -> None:
    """Emails for a new request are written in the same transaction (the outbox): the
    email package's receiver (support/signals.py) writes its rows before we commit."""
    request_created.send(sender=SupportRequest, support_request=support_request)


# --- transitions ----------------------------------------------------------------------


def request_join(*, support_request: SupportRequest, agent: Agent) -> SupportRequest:
    with transaction.atomic():
        locked = _lock(support_request)
        if locked.status != RequestStatus.PENDING:
            if locked.status == RequestStatus.ACTIVE and locked.assigned_agent is not None:
                raise InvalidTransition(
                    format_lazy(ALREADY_JOINED, agent=agent_display_name(locked.assigned_agent))
                )
            _refuse(locked, "joined")
        now = timezone.now()
        locked.status = RequestStatus.ACTIVE
        locked.assigned_agent = agent.user
        locked.admin_joined_at = now
        locked.save(update_fields=["status", "assigned_agent", "admin_joined_at", "updated_at"])
        _system_message(locked, f"{agent_display_name(agent.user)} joined")
        _publish_status(locked)
        _publish_queue(locked, "joined")
    return locked


def request_resolve(*, support_request: SupportRequest, agent: Agent) -> SupportRequest:
    with transaction.atomic():
        locked = _lock(support_request)
        if locked.status != RequestStatus.ACTIVE:
            _refuse(locked, "resolved")
        locked.status = RequestStatus.RESOLVED
        locked.resolved_at = timezone.now()
        locked.save(update_fields=["status", "resolved_at", "updated_at"])
        _system_message(locked, f"Resolved by {agent_display_name(agent.user)}")
        _publish_status(locked)
        _publish_queue(locked, "resolved")
    return locked


def request_close(*, support_request: SupportRequest, actor: Actor) -> SupportRequest:
    with transaction.atomic():
        locked = _lock(support_request)
        if locked.status == RequestStatus.CLOSED:
            raise RequestClosed()
        locked.status = RequestStatus.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at", "updated_at"])
        who = agent_display_name(actor.user) if isinstance(actor, Agent) else "the visitor"
        _system_message(locked, f"Closed by {who}")
        _publish_status(locked)
        _publish_queue(locked, "closed")
    return locked


# What an erased request keeps of the visitor's first message: stored in English, like the
# system lines, since one row is read by every agent in their own language.
ERASED_TEXT = "[erased]"


def request_erase(*, support_request: SupportRequest) -> int:
    """Erase the visitor's data from one request (support/privacy/erasure.py): delete its
    messages, clear the name and email, replace the first message with ERASED_TEXT and
    close it if it is open. The row stays, anonymised, so that counts and times (created,
    joined, first response, resolved) stay right. Its sockets close on commit.

    The session (bot conversation, token) and the email outbox are the caller's, in the
    same transaction. Returns the number of messages deleted.
    """
    with transaction.atomic():
        locked = _lock(support_request)
        was_open = locked.is_open
        deleted, _ = SupportMessage.objects.filter(support_request=locked).delete()
        locked.user_name = None
        locked.user_email = None
        locked.user_email_hash = ""  # the address's look-up hash goes with it
        locked.initial_message = ERASED_TEXT
        fields = ["user_name", "user_email", "user_email_hash", "initial_message", "updated_at"]
        if was_open:
            locked.status = RequestStatus.CLOSED
            locked.closed_at = timezone.now()
            fields += ["status", "closed_at"]
        locked.save(update_fields=fields)
        events.publish_on_commit(
            events.request_group(locked.request_id),
            events.ErasedEvent(type="support.erased", request_id=locked.request_id),
        )
        if was_open:
            # Agents' queues drop it, as for any close; no system line: the conversation
            # it would join is gone.
            _publish_queue(locked, "closed")
    return deleted


# --- messages -------------------------------------------------------------------------


def message_post(
    *,
    support_request: SupportRequest,
    actor: Actor,
    text: str,
    client_id: str | None = None,
) -> PostResult:
    """Store one message. The same `client_id` twice stores (and broadcasts) one row.

    A visitor writing to a resolved request reopens it; nobody writes to a closed one;
    an agent writes once the request is active (after Join).
    """
    body = require_text(text, field="message")
    client_id = validated_client_id(client_id)
    agent = actor if isinstance(actor, Agent) else None
    with transaction.atomic():
        locked = _lock(support_request)
        status = locked.status
        if status == RequestStatus.CLOSED or (
            status == RequestStatus.PENDING and agent is not None
        ):
            # A retry of a message stored before the refusal still gets its message.
            seen = _earlier_send(locked, client_id, actor)
            if seen is not None:
                return PostResult(message=seen, created=False)
            if status == RequestStatus.CLOSED:
                raise RequestClosed()
            raise InvalidTransition(JOIN_FIRST)
        if status == RequestStatus.RESOLVED and agent is None:
            # Reopen first (its system line comes before the message), unless this is a
            # retry of a message that is already stored.
            seen = _earlier_send(locked, client_id, actor)
            if seen is not None:
                return PostResult(message=seen, created=False)
            _reopen(locked)
        message = _insert_message(locked, agent, body, client_id)
        if message is None:  # the client_id was taken meanwhile: a retry, or someone else's
            seen = _earlier_send(locked, client_id, actor)
            assert seen is not None  # the insert found it under the same row lock
            return PostResult(message=seen, created=False)
        if agent is not None and locked.first_response_at is None:
            locked.first_response_at = message.created_at
            locked.save(update_fields=["first_response_at", "updated_at"])
        message_stored.send(SupportMessage, support_request=locked, message=message)
        events.publish_on_commit(
            events.request_group(locked.request_id),
            events.MessageEvent(
                type="support.message",
                request_id=locked.request_id,
                message=message_json(message, visitor_name=locked.user_name),
            ),
        )
    return PostResult(message=message, created=True)


def _reopen(locked: SupportRequest) -> None:
    """resolved → active: the visitor wrote again; the agents are told."""
    locked.status = RequestStatus.ACTIVE
    locked.resolved_at = None
    locked.reopened_count += 1
    locked.save(update_fields=["status", "resolved_at", "reopened_count", "updated_at"])
    _system_message(locked, "Reopened by the visitor")
    _publish_status(locked)
    _publish_queue(locked, "reopened")


def _insert_message(
    locked: SupportRequest, agent: Agent | None, body: str, client_id: str | None
) -> SupportMessage | None:
    """Store the message in one statement, or nothing (None) when its client_id is taken.

    The unique (request, client_id) index decides (`ON CONFLICT DO NOTHING`, on PostgreSQL
    and SQLite alike) instead of a look-up before the insert: one round trip on the live
    path. Caller holds the request's row lock.
    """
    created_at = timezone.now()
    sender_type = SenderType.USER if agent is None else SenderType.ADMIN
    sender = None if agent is None else agent.user
    table = SupportMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "  # noqa: S608 - the table name is ours, values are params
            "(support_request_id, sender_type, sender_id, message, client_id, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (support_request_id, client_id) WHERE client_id IS NOT NULL "
            "DO NOTHING RETURNING id",
            [
                locked.pk,
                sender_type.value,
                None if sender is None else sender.pk,
                body,
                client_id,
                connection.ops.adapt_datetimefield_value(created_at),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return SupportMessage(
        id=row[0],
        support_request=locked,
        sender_type=sender_type,
        sender=sender,
        message=body,
        client_id=client_id,
        created_at=created_at,
    )


def _earlier_send(
    locked: SupportRequest, client_id: str | None, actor: Actor
) -> SupportMessage | None:
    """The message this `client_id` already names, if the same sender sent it (a retry);
    ClientIdTaken if someone else did; None if there is none."""
    if client_id is None:
        return None
    seen = (
        SupportMessage.objects.select_related("sender")
        .filter(support_request=locked, client_id=client_id)
        .first()
    )
    if seen is not None and not _sent_by(seen, actor):
        raise ClientIdTaken()
    return seen


def _sent_by(message: SupportMessage, actor: Actor) -> bool:
    if isinstance(actor, Agent):
        return message.sender_type == SenderType.ADMIN and message.sender_id == actor.user.pk
    return message.sender_type == SenderType.USER


# --- helpers --------------------------------------------------------------------------


def _lock(support_request: SupportRequest) -> SupportRequest:
    """Row lock: two agents may join, or a visitor and an agent act, at the same moment.

    Caller holds a transaction. On SQLite the IMMEDIATE transaction mode serialises
    writers instead (select_for_update is a no-op there).

    One statement, the request's own row only: on PostgreSQL a row that changed while we
    waited for its lock is read again, but columns joined in the same statement
    (select_related) would keep their old values (a request just joined by someone else
    would show no agent). Its chatbot and agent are read when needed, after the lock.
    """
    return SupportRequest.objects.select_for_update().get(pk=support_request.pk)


# The words CANNOT_TRANSITION is filled with, translated with the sentence (lazily: the
# reader's language is known only when the answer or frame is built).
_STATUS_WORDS = {
    RequestStatus.PENDING: pgettext_lazy("this request is …", "pending"),
    RequestStatus.ACTIVE: pgettext_lazy("this request is …", "active"),
    RequestStatus.RESOLVED: pgettext_lazy("this request is …", "resolved"),
}
_VERB_WORDS = {
    "joined": pgettext_lazy("it cannot be …", "joined"),
    "resolved": pgettext_lazy("it cannot be …", "resolved"),
}


def _refuse(locked: SupportRequest, verb: str) -> NoReturn:
    if locked.status == RequestStatus.CLOSED:
        raise RequestClosed()
    status = _STATUS_WORDS.get(RequestStatus(locked.status), locked.status)
    raise InvalidTransition(
        format_lazy(CANNOT_TRANSITION, status=status, verb=_VERB_WORDS.get(verb, verb))
    )


def _system_message(locked: SupportRequest, text: str) -> SupportMessage:
    message = SupportMessage.objects.create(
        support_request=locked, sender_type=SenderType.SYSTEM, message=text
    )
    message_stored.send(SupportMessage, support_request=locked, message=message)
    events.publish_on_commit(
        events.request_group(locked.request_id),
        events.MessageEvent(
            type="support.message",
            request_id=locked.request_id,
            message=message_json(message),
        ),
    )
    return message


def _publish_status(locked: SupportRequest) -> None:
    events.publish_on_commit(
        events.request_group(locked.request_id),
        events.StatusEvent(
            type="support.status",
            request_id=locked.request_id,
            status=locked.status,
            agent_name=agent_display_name(locked.assigned_agent),
        ),
    )


def _publish_queue(locked: SupportRequest, action: events.QueueAction) -> None:
    """Every change of a request ends here: its agents' queues hear it, and the hook too."""
    request_changed.send(SupportRequest, support_request=locked, action=action)
    events.publish_on_commit(
        events.chatbot_agents_group(locked.chatbot_id),
        events.QueueEvent(
            type="support.queue",
            action=action,
            chatbot_id=locked.chatbot_id,
            request=request_json(locked),
        ),
    )


def validated_client_id(client_id: str | None) -> str | None:
    """The sender's idempotency key, None when absent; the one check of its shape."""
    if client_id is None or client_id == "":
        return None
    # Printable only: it is echoed to clients, and PostgreSQL refuses NUL in text.
    if (
        not isinstance(client_id, str)
        or len(client_id) > CLIENT_ID_MAX_LENGTH
        or not client_id.isprintable()
    ):
        raise InvalidInput("client_id", format_lazy(INVALID_CLIENT_ID, limit=CLIENT_ID_MAX_LENGTH))
    return client_id
