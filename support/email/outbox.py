"""The email outbox of support requests (docs/email.md).

A row is written in the transaction that makes the email necessary; once it commits, a
task of Django's tasks API sends the row. Sending claims the row with one conditional
UPDATE (`queued` → `sending`), so two workers, or a task enqueued twice, never send it
twice. A failure goes back to `queued` with a backoff and a new task; after
EMAIL_MAX_ATTEMPTS it is `failed`, and `manage.py resend_failed_emails` queues it again.

The rows are not part of a request's state: they are changed here (and by the ESP
webhook, support/email/webhooks.py), never by transports.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from chatbots.selectors import agents_of
from core.encryption import encryption_enabled, keyed_hash
from support.email import rendering
from support.metrics import recording
from support.models import (
    AgentPreference,
    EmailKind,
    EmailNotification,
    EmailStatus,
    RequestStatus,
    SupportRequest,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

LAST_ERROR_MAX_LENGTH = 2000
CANCELLED_REMINDER = "Not sent: the request was no longer pending."


# --- queueing (inside the caller's transaction) ---------------------------------------


# Mailboxes that ignore dots in the local part (and are one another's alias).
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def address_key(address: str) -> str:
    """`address` as one mailbox: lowercase, without a `+tag`, without dots at Gmail, so
    that `Vic.Tim+1@gmail.com` and `victim@googlemail.com` count as one recipient."""
    local, _, domain = address.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
        domain = _DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


def recipient_key_of(address: str) -> str:
    """What `EmailNotification.recipient_key` holds for `address`: its mailbox
    (address_key), as a keyed hash while encryption is on (the column then holds no
    address in clear: core/encryption.py)."""
    key = address_key(address)
    return keyed_hash(key) if encryption_enabled() else key


def _may_confirm(address: str, support_request: SupportRequest) -> bool:
    """Whether a visitor confirmation may go to `address` for this request.

    The visitor chooses the address, and the mail comes from the operator's domain:
    without limits anyone could use it to mail strangers (sessions are free, and the
    per-IP limits count requests, not recipients). So one confirmation per mailbox within
    VISITOR_CONFIRMATION_INTERVAL_MINUTES, and at most
    VISITOR_CONFIRMATIONS_PER_CHATBOT_PER_DAY per chatbot; the mail carries no text the
    visitor wrote (templates/emails/visitor_confirmation.*).
    """
    confirmations = EmailNotification.objects.filter(kind=EmailKind.VISITOR_CONFIRMATION)
    minutes = settings.VISITOR_CONFIRMATION_INTERVAL_MINUTES
    if minutes > 0:
        since = timezone.now() - timedelta(minutes=minutes)
        same_mailbox = Q(recipient_key=recipient_key_of(address))
        if not encryption_enabled():
            # Rows older than recipient_key have it empty (encrypted ones cannot be compared).
            same_mailbox |= Q(recipient__in={address, address.lower()})
        if confirmations.filter(same_mailbox, created_at__gte=since).exists():
            return False
    per_day = settings.VISITOR_CONFIRMATIONS_PER_CHATBOT_PER_DAY
    if per_day > 0:
        sent_today = confirmations.filter(
            support_request__chatbot_id=support_request.chatbot_id,
            created_at__gte=timezone.now() - timedelta(days=1),
        ).count()
        if sent_today >= per_day:
            logger.warning(
                "visitor confirmation not sent: chatbot %s reached %d today",
                support_request.chatbot_id,
                per_day,
            )
            return False
    return True


def queue_for_new_request(support_request: SupportRequest) -> list[EmailNotification]:
    """Write the outbox rows for a new request; send them, and plan the reminder, on commit.

    Called by services.request_create inside its transaction: a rolled-back request
    queues nothing. Needs no running worker (the tasks wait in the database).
    """
    chatbot = support_request.chatbot
    wanted: list[tuple[str, str]] = []
    admin = rendering.valid_address(chatbot.admin_email)
    if admin:
        wanted.append((EmailKind.ADMIN_NOTIFICATION, admin))
    visitor = rendering.valid_address(support_request.user_email)
    if visitor and _may_confirm(visitor, support_request):
        wanted.append((EmailKind.VISITOR_CONFIRMATION, visitor))
    seen = {admin.lower()} if admin else set()
    for address in _opted_in_agent_addresses(support_request):
        if address.lower() not in seen:
            seen.add(address.lower())
            wanted.append((EmailKind.AGENT_NOTIFICATION, address))

    rows = [
        EmailNotification.objects.create(
            support_request=support_request,
            kind=kind,
            recipient=recipient,
            recipient_key=recipient_key_of(recipient),
        )
        for kind, recipient in wanted
    ]
    ids = [row.pk for row in rows]
    # robust: a failure to enqueue must not fail the visitor's request; the stale sweep
    # (resend_failed_emails --stale) sends rows whose task never got enqueued.
    transaction.on_commit(lambda: enqueue_sends(ids), robust=True)
    minutes = settings.PENDING_REMINDER_MINUTES
    if minutes > 0:
        request_pk = support_request.pk
        transaction.on_commit(
            lambda: _enqueue_reminder(request_pk, timezone.now() + timedelta(minutes=minutes)),
            robust=True,
        )
    return rows


def _opted_in_agent_addresses(support_request: SupportRequest) -> list[str]:
    preferences = AgentPreference.objects.filter(
        email_on_new_request=True,
        user__in=agents_of(support_request.chatbot_id).values("pk"),
    ).select_related("user")
    addresses = (rendering.valid_address(p.user.email) for p in preferences.order_by("user_id"))
    return [a for a in addresses if a]


def enqueue_sends(ids: Iterable[int], *, run_after: datetime | None = None) -> None:
    from support.email.tasks import send_email_notification

    task = send_email_notification
    if run_after is not None:
        task = task.using(run_after=run_after)
    for notification_id in ids:
        task.enqueue(notification_id)


def _enqueue_reminder(request_pk: int, run_after: datetime) -> None:
    from support.email.tasks import remind_if_pending

    remind_if_pending.using(run_after=run_after).enqueue(request_pk)


# --- sending (in the worker) ----------------------------------------------------------


@dataclass(frozen=True)
class SendOutcome:
    status: str  # "sent", "retry", "failed", "cancelled", "skipped"
    detail: str = ""


def claim(notification_id: int) -> EmailNotification | None:
    """Take the row for sending, or None if another worker has it or it is not due.

    One UPDATE whose WHERE re-checks the state: PostgreSQL re-evaluates it after
    waiting for a concurrent writer's row lock and SQLite serialises writers, so exactly
    one of two racing workers updates the row. A `sending` row whose lease expired
    belonged to a worker that died mid-send; it is taken back.
    """
    now = timezone.now()
    due = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    claimable = Q(status=EmailStatus.QUEUED) & due | Q(
        status=EmailStatus.SENDING, locked_until__lte=now
    )
    updated = EmailNotification.objects.filter(claimable, pk=notification_id).update(
        status=EmailStatus.SENDING,
        attempts=F("attempts") + 1,
        locked_until=now + timedelta(seconds=settings.EMAIL_SEND_LEASE_SECONDS),
        updated_at=now,
    )
    if not updated:
        return None
    return EmailNotification.objects.select_related(
        "support_request__chatbot", "support_request__session"
    ).get(pk=notification_id)


def send_one(notification_id: int) -> SendOutcome:
    """Send one outbox row if it is ours to send; record the outcome on the row."""
    row = claim(notification_id)
    if row is None:
        return SendOutcome("skipped", "not queued, not due, or taken by another worker")
    if (
        row.kind == EmailKind.PENDING_REMINDER
        and row.support_request.status != RequestStatus.PENDING
    ):
        _finish(row, status=EmailStatus.CANCELLED, last_error=CANCELLED_REMINDER)
        return SendOutcome("cancelled")
    try:
        message = rendering.build_message(row)
        mail.mailers.default.send_messages([message])
    except Exception as error:  # any failure of rendering, connection or ESP is retried
        return _record_failure(row, error)
    _finish(row, status=EmailStatus.SENT, provider_message_id=_provider_id(message))
    return SendOutcome("sent")


def _provider_id(message: mail.EmailMessage) -> str:
    status = getattr(message, "anymail_status", None)  # set by Anymail ESP backends
    if status is not None and status.message_id:
        return str(status.message_id)
    return str(message.extra_headers.get("Message-ID", ""))


def _finish(row: EmailNotification, *, status: str, **fields: object) -> None:
    now = timezone.now()
    changes: dict[str, object] = {
        "status": status,
        "locked_until": None,
        "updated_at": now,
        **fields,
    }
    if status == EmailStatus.SENT:
        changes["sent_at"] = now
    # Only while still ours: a lease that ran out may have been taken by another worker.
    finished = EmailNotification.objects.filter(pk=row.pk, status=EmailStatus.SENDING).update(
        **changes
    )
    if finished and status in (EmailStatus.SENT, EmailStatus.FAILED):
        recording.email_finished(kind=row.kind, result=status)


def _record_failure(row: EmailNotification, error: Exception) -> SendOutcome:
    last_error = f"{type(error).__name__}: {error}"[:LAST_ERROR_MAX_LENGTH]
    if row.attempts >= settings.EMAIL_MAX_ATTEMPTS:
        logger.error("email %s failed for good after %s attempts: %s", row.pk, row.attempts, error)
        _finish(row, status=EmailStatus.FAILED, last_error=last_error)
        return SendOutcome("failed", last_error)
    retry_at = timezone.now() + timedelta(seconds=backoff_seconds(row.attempts))
    logger.warning(
        "email %s attempt %s failed, retry at %s: %s", row.pk, row.attempts, retry_at, error
    )
    EmailNotification.objects.filter(pk=row.pk, status=EmailStatus.SENDING).update(
        status=EmailStatus.QUEUED,
        locked_until=retry_at,
        last_error=last_error,
        updated_at=timezone.now(),
    )
    enqueue_sends([row.pk], run_after=retry_at)
    return SendOutcome("retry", last_error)


def backoff_seconds(attempts: int) -> float:
    """Exponential, capped, with up to 10% jitter so retries of many rows spread out."""
    base = settings.EMAIL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    delay = min(base, settings.EMAIL_RETRY_MAX_SECONDS)
    return delay * (1 + random.random() / 10)


# --- agents' choice --------------------------------------------------------------------


def set_agent_preference(*, user: User, email_on_new_request: bool) -> AgentPreference:
    preference, _ = AgentPreference.objects.update_or_create(
        user=user, defaults={"email_on_new_request": email_on_new_request}
    )
    return preference


# --- reminders --------------------------------------------------------------------------


def remind_if_pending(request_pk: int) -> SendOutcome:
    """One reminder to the chatbot's admin if nobody joined the request meanwhile."""
    support_request = SupportRequest.objects.select_related("chatbot").filter(pk=request_pk).first()
    if support_request is None or support_request.status != RequestStatus.PENDING:
        return SendOutcome("skipped", "no longer pending")
    admin = rendering.valid_address(support_request.chatbot.admin_email)
    if admin is None:
        return SendOutcome("skipped", "the chatbot has no valid admin email")
    try:
        with transaction.atomic():
            row = EmailNotification.objects.create(
                support_request=support_request,
                kind=EmailKind.PENDING_REMINDER,
                recipient=admin,
                recipient_key=recipient_key_of(admin),
            )
    except IntegrityError:
        return SendOutcome("skipped", "already reminded")
    return send_one(row.pk)


# --- operators: resend and sweep --------------------------------------------------------


def requeue_failed(ids: Iterable[int] | None = None) -> int:
    """Give failed rows (all, or those of `ids`) fresh attempts and a task each."""
    rows = EmailNotification.objects.filter(status=EmailStatus.FAILED)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    with transaction.atomic():
        chosen = list(rows.values_list("pk", flat=True))
        EmailNotification.objects.filter(pk__in=chosen, status=EmailStatus.FAILED).update(
            status=EmailStatus.QUEUED, attempts=0, locked_until=None, updated_at=timezone.now()
        )
        transaction.on_commit(lambda: enqueue_sends(chosen))
    return len(chosen)


@dataclass(frozen=True)
class SweepResult:
    resent: int
    taken_back: int
    reminders: int


def sweep_stale(*, older_than: timedelta) -> SweepResult:
    """Enqueue a task again for rows that should have been sent by now.

    Covers what the on-commit enqueue cannot: a process that died between commit and
    enqueue, a task result lost or stuck `RUNNING` under a killed worker, a reminder
    never planned. Extra tasks are harmless: a row is claimed once.
    """
    now = timezone.now()
    cutoff = now - older_than
    due = Q(locked_until__isnull=True) | Q(locked_until__lte=now)
    queued = list(
        EmailNotification.objects.filter(
            due, status=EmailStatus.QUEUED, updated_at__lte=cutoff
        ).values_list("pk", flat=True)
    )
    expired = list(
        EmailNotification.objects.filter(
            status=EmailStatus.SENDING, locked_until__lte=now
        ).values_list("pk", flat=True)
    )
    enqueue_sends(queued + expired)

    reminders = 0
    minutes = settings.PENDING_REMINDER_MINUTES
    if minutes > 0:
        overdue = (
            SupportRequest.objects.filter(
                status=RequestStatus.PENDING,
                created_at__lte=now - timedelta(minutes=minutes),
            )
            .exclude(email_notifications__kind=EmailKind.PENDING_REMINDER)
            .values_list("pk", flat=True)
        )
        for request_pk in overdue:
            _enqueue_reminder(request_pk, now)
            reminders += 1
    return SweepResult(resent=len(queued), taken_back=len(expired), reminders=reminders)


# --- erasure (support/privacy/erasure.py) --------------------------------------------------


def emails_of(*, support_request_ids: Iterable[int], address: str) -> QuerySet[EmailNotification]:
    """The outbox rows of a visitor: those of their requests (the admin's, agents' and
    their own mails about them), and any mail to their address (case-insensitively)."""
    if not encryption_enabled():
        return EmailNotification.objects.filter(
            Q(support_request_id__in=list(support_request_ids)) | Q(recipient__iexact=address)
        )
    # Encrypted recipients cannot be compared in SQL: the rows of the address's mailbox
    # (recipient_key, a keyed hash) are read, and only those to exactly this address kept
    # (a `+tag` or dotted variant may be somebody else's).
    wanted = address.strip().lower()
    same_address = [
        pk
        for pk, recipient in EmailNotification.objects.filter(
            recipient_key=recipient_key_of(address)
        ).values_list("pk", "recipient")
        if recipient.strip().lower() == wanted
    ]
    return EmailNotification.objects.filter(
        Q(support_request_id__in=list(support_request_ids)) | Q(pk__in=same_address)
    )


def forget_emails(*, support_request_ids: Iterable[int], address: str) -> int:
    """Delete a visitor's outbox rows (an erasure); returns how many. A worker sending one
    of them at this moment finds no row to mark afterwards."""
    deleted, _ = emails_of(support_request_ids=support_request_ids, address=address).delete()
    return deleted
