"""Support requests and their messages. Changed only through support/services.py."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from chatbots.models import Chatbot, ChatSession
from core.encryption import EncryptedTextField, encryption_enabled, keyed_hash


def new_request_id() -> str:
    # 128 random bits, URL-safe: knowing one request id tells nothing about another.
    return secrets.token_urlsafe(16)


def email_hash(email: str | None) -> str:
    """The look-up hash of a visitor's address (lowercase, trimmed) while encryption is
    on; empty when it is off or there is no address."""
    address = (email or "").strip().lower()
    if not address or not encryption_enabled():
        return ""
    return keyed_hash(address)


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACTIVE = "active", _("Active")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (RequestStatus.PENDING, RequestStatus.ACTIVE, RequestStatus.RESOLVED)

# The longest client_id (a sender's idempotency key); services.validated_client_id checks it.
CLIENT_ID_MAX_LENGTH = 64


class SupportRequest(models.Model):
    request_id = models.CharField(
        max_length=255, unique=True, default=new_request_id, verbose_name=_("request id")
    )
    chatbot = models.ForeignKey(
        Chatbot,
        on_delete=models.CASCADE,
        related_name="support_requests",
        verbose_name=_("chatbot"),
    )
    session = models.ForeignKey(
        ChatSession,
        on_delete=models.CASCADE,
        to_field="session_id",
        db_column="session_id",
        related_name="support_requests",
        verbose_name=_("session"),
    )
    # NULL when not given, as in the seed schema (its SQL tests "IS NULL"). Text columns:
    # encrypted (FIELD_ENCRYPTION_KEYS) they outgrow 255 characters; services.py bounds
    # their clear text (NAME_MAX_LENGTH).
    user_name = EncryptedTextField(null=True, blank=True, verbose_name=_("user name"))
    user_email = EncryptedTextField(null=True, blank=True, verbose_name=_("user email"))
    # email_hash(user_email) while encryption is on, else empty: the look-up by address
    # (selectors.requests_of_visitor), as ciphertext cannot be compared.
    user_email_hash = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",  # the seed's plain SQL INSERTs name no hash
        editable=False,
        verbose_name=_("user email hash"),
    )
    initial_message = EncryptedTextField(verbose_name=_("initial message"))
    status = models.CharField(
        max_length=50,
        choices=RequestStatus.choices,
        default=RequestStatus.PENDING,
        db_default=RequestStatus.PENDING,
        verbose_name=_("status"),
    )
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_support_requests",
        verbose_name=_("assigned agent"),
    )
    admin_joined_at = models.DateTimeField(null=True, blank=True, verbose_name=_("admin joined at"))
    # The visitor's language when they asked (the widget's Accept-Language): their emails
    # and their socket's error frames use it. Empty on rows older than the column: the
    # chatbot's language then (support/languages.py).
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        db_default="",  # the seed's plain SQL INSERTs name no language
    )
    first_response_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("first response at")
    )
    resolved_at = models.DateTimeField(null=True, blank=True, verbose_name=_("resolved at"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("closed at"))
    # How often the visitor wrote to it again once resolved (the insights' reopen rate):
    # a reopen clears resolved_at, so only this count remembers it.
    reopened_count = models.PositiveIntegerField(
        default=0, db_default=0, verbose_name=_("times reopened")
    )
    # Database defaults too, so the seed's plain SQL INSERTs keep working.
    created_at = models.DateTimeField(
        auto_now_add=True, db_default=Now(), verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, db_default=Now(), verbose_name=_("updated at"))

    class Meta:
        db_table = "human_support_requests"
        verbose_name = _("support request")
        verbose_name_plural = _("support requests")
        constraints = [
            # One open request per visitor session, enforced by the database so that
            # two simultaneous "Speak to a human" clicks cannot make two requests.
            models.UniqueConstraint(
                fields=["session"],
                condition=~Q(status="closed"),
                name="one_open_request_per_session",
            ),
        ]
        indexes = [
            # Console queues: pending oldest first, active, per chatbot.
            models.Index(fields=["chatbot", "status", "created_at"], name="hsr_chatbot_status_idx"),
            models.Index(fields=["status", "created_at"], name="hsr_status_created_idx"),
            # Insights: a chatbot's requests of the last days, whatever their status.
            models.Index(fields=["chatbot", "created_at"], name="hsr_chatbot_created_idx"),
            models.Index(fields=["user_email_hash"], name="hsr_user_email_hash_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status != RequestStatus.CLOSED


class SenderType(models.TextChoices):
    USER = "user", _("Visitor")
    ADMIN = "admin", _("Agent")
    SYSTEM = "system", _("System")


class SupportMessage(models.Model):
    support_request = models.ForeignKey(
        SupportRequest,
        on_delete=models.CASCADE,
        db_column="support_request_id",
        related_name="messages",
        verbose_name=_("support request"),
    )
    sender_type = models.CharField(
        max_length=50, choices=SenderType.choices, verbose_name=_("sender type")
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sender"),
    )
    message = EncryptedTextField(verbose_name=_("message"))
    # NULL (not "") when absent, so the partial unique constraint ignores it.
    client_id = models.CharField(  # noqa: DJ001
        max_length=CLIENT_ID_MAX_LENGTH, null=True, blank=True, verbose_name=_("client id")
    )
    created_at = models.DateTimeField(
        auto_now_add=True, db_default=Now(), verbose_name=_("created at")
    )

    class Meta:
        db_table = "human_support_messages"
        verbose_name = _("support message")
        verbose_name_plural = _("support messages")
        constraints = [
            # A retried send (lost echo, reconnect) carries the same client_id: one row.
            models.UniqueConstraint(
                fields=["support_request", "client_id"],
                condition=Q(client_id__isnull=False),
                name="one_message_per_client_id",
            ),
        ]
        indexes = [
            # Replay: messages of a request after a cursor id.
            models.Index(fields=["support_request", "id"], name="hsm_request_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sender_type}: {self.message[:40]}"


# --- Email outbox (docs/email.md) -------------------------------------------------------


class EmailKind(models.TextChoices):
    ADMIN_NOTIFICATION = "admin_notification", _("Admin notification")
    VISITOR_CONFIRMATION = "visitor_confirmation", _("Visitor confirmation")
    AGENT_NOTIFICATION = "agent_notification", _("Agent notification")
    PENDING_REMINDER = "pending_reminder", _("Pending reminder")


class EmailStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    DELIVERED = "delivered", _("Delivered")
    BOUNCED = "bounced", _("Bounced")
    # A reminder whose request was joined (or closed) before it went out.
    CANCELLED = "cancelled", _("Cancelled")


class EmailNotification(models.Model):
    """One email to send: written in the transaction that makes it necessary (the outbox).

    Changed only by support/email/outbox.py (claim, send, retry) and the ESP webhook.
    """

    support_request = models.ForeignKey(
        SupportRequest,
        on_delete=models.CASCADE,
        related_name="email_notifications",
        verbose_name=_("support request"),
    )
    kind = models.CharField(max_length=32, choices=EmailKind.choices, verbose_name=_("kind"))
    # Encrypted like SupportRequest.user_email: a visitor confirmation's is the visitor's.
    recipient = EncryptedTextField(verbose_name=_("recipient"))
    # The recipient as the visitor confirmation's limits compare it (lowercase, no +tag,
    # no dots at Gmail: support/email/outbox.recipient_key_of), its keyed hash while
    # encryption is on; the limit's and the ESP webhook's lookup. Empty on older rows.
    recipient_key = models.CharField(
        max_length=255, blank=True, default="", verbose_name=_("recipient key")
    )
    status = models.CharField(
        max_length=16,
        choices=EmailStatus.choices,
        default=EmailStatus.QUEUED,
        verbose_name=_("status"),
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.TextField(blank=True, default="", verbose_name=_("last error"))
    provider_message_id = models.CharField(
        max_length=255, blank=True, default="", verbose_name=_("provider message id")
    )
    # While `sending`: the lease of the worker that claimed it (a crashed worker's row is
    # taken back when it expires). While `queued`: not before this time (retry backoff).
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    # When the ESP reported delivered / bounced.
    tracked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("tracked at"))

    class Meta:
        db_table = "email_notifications"
        verbose_name = _("email notification")
        verbose_name_plural = _("email notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One email of a kind per recipient and request: a repeated reminder task or
            # a replayed creation cannot queue the same mail twice.
            models.UniqueConstraint(
                fields=["support_request", "kind", "recipient"], name="one_email_per_kind"
            ),
            # The same for reminders while `recipient` is encrypted (each token differs).
            models.UniqueConstraint(
                fields=["support_request"],
                condition=Q(kind="pending_reminder"),
                name="one_reminder_per_request",
            ),
        ]
        indexes = [
            # Sweeps (stale queued / sending rows, failed rows to resend) and admin filters.
            models.Index(fields=["status", "locked_until"], name="email_status_lock_idx"),
            # ESP webhooks find the row by the provider's id.
            models.Index(fields=["provider_message_id"], name="email_provider_id_idx"),
            models.Index(fields=["-created_at", "-id"], name="email_created_idx"),
            # The visitor confirmation's per-address limit (support/email/outbox.py).
            models.Index(fields=["recipient", "kind", "created_at"], name="email_recipient_idx"),
            models.Index(
                fields=["recipient_key", "kind", "created_at"], name="email_recipient_key_idx"
            ),
            # The visitor confirmations of a chatbot per day: by request, then time.
            models.Index(fields=["kind", "created_at"], name="email_kind_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient} ({self.status})"


class AgentPreference(models.Model):
    """An agent's own settings: whether they want an email for each new request, and the
    language of their console (and of their socket's error frames)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="handoff_preference"
    )
    email_on_new_request = models.BooleanField(
        _("email on new request"),
        default=False,
        help_text=_("Also email me each new support request of the chatbots I serve."),
    )
    # Empty: the browser's Accept-Language decides (support/languages.py).
    console_language = models.CharField(
        _("console language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        db_default="",
        help_text=_("The language of the console; empty follows the browser."),
    )

    class Meta:
        db_table = "agent_preferences"
        verbose_name = _("agent preference")
        verbose_name_plural = _("agent preferences")

    def __str__(self) -> str:
        return f"Preferences of {self.user}"


class SchedulerLease(models.Model):
    """Who runs the scheduled jobs (support/upkeep/lease.py): one row per lease, held by
    `owner` until `expires_at`. Not shown in the admin: only schedulers read it."""

    name = models.CharField(max_length=50, primary_key=True)
    owner = models.CharField(max_length=255)
    expires_at = models.DateTimeField()

    class Meta:
        db_table = "scheduler_leases"

    def __str__(self) -> str:
        return f"{self.name} held by {self.owner} until {self.expires_at}"


class ErasureAudit(models.Model):
    """One visitor's data erased (support/privacy/erasure.py): when, by whom, how much.

    Never the address: only its keyed hash (support/privacy/addresses.py), so an operator
    who is given the address again can show that it was erased, and nobody can read it
    back from this table.
    """

    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("erased at"))
    # The operator's username, or "command" for manage.py erase_visitor.
    operator = models.CharField(max_length=150, verbose_name=_("operator"))
    address_hash = models.CharField(max_length=64, verbose_name=_("address hash"))
    requests = models.PositiveIntegerField(default=0, verbose_name=_("requests"))
    messages = models.PositiveIntegerField(default=0, verbose_name=_("messages"))
    transcript_messages = models.PositiveIntegerField(
        default=0, verbose_name=_("transcript messages")
    )
    emails = models.PositiveIntegerField(default=0, verbose_name=_("emails"))
    sessions = models.PositiveIntegerField(default=0, verbose_name=_("sessions"))

    class Meta:
        db_table = "erasure_audit"
        verbose_name = _("erasure")
        verbose_name_plural = _("erasures")
        ordering = ["-created_at", "-id"]
        indexes = [
            # "Was this address erased?": the hash of the address given.
            models.Index(fields=["address_hash"], name="erasure_address_hash_idx"),
        ]

    def __str__(self) -> str:
        return f"Erasure {self.pk} by {self.operator} at {self.created_at:%Y-%m-%d %H:%M}"
