"""Rendering of the outbox's emails: subject, plain text and HTML from templates/emails/.

Everything a visitor typed reaches a mail only through here. Header values (subject,
Reply-To) are cleaned single lines or validated addresses, so text can never add a
header; HTML bodies come from auto-escaping templates, so it can never add a tag or a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from chatbots.models import ChatMessage
from core.text import clean_single_line
from support import languages
from support.models import EmailKind, EmailNotification, SupportRequest

SUBJECT_MAX_LENGTH = 120
NAME_IN_SUBJECT_MAX_LENGTH = 60
TRANSCRIPT_LINE_MAX_LENGTH = 500
VISITOR_FALLBACK = _("a visitor")
SUBJECT_VISITOR_CONFIRMATION = _("We received your request: {chatbot}")
SUBJECT_PENDING_REMINDER = _("[{chatbot}] Still waiting for an agent: request from {visitor}")
SUBJECT_NEW_REQUEST = _("[{chatbot}] New support request from {visitor}")
SPEAKER_BOT = _("Bot")
SPEAKER_VISITOR = _("Visitor")

# kind → template name (without extension) under templates/emails/
TEMPLATES = {
    EmailKind.ADMIN_NOTIFICATION: "emails/new_request",
    EmailKind.AGENT_NOTIFICATION: "emails/new_request",
    EmailKind.PENDING_REMINDER: "emails/pending_reminder",
    EmailKind.VISITOR_CONFIRMATION: "emails/visitor_confirmation",
}


@dataclass(frozen=True)
class TranscriptLine:
    speaker: str
    text: str

    @property
    def plain(self) -> str:
        return f"{self.speaker}: {self.text}"


def valid_address(value: str | None) -> str | None:
    """`value` if it is one plain, valid email address (nothing a header could split on)."""
    cleaned = clean_single_line(value)
    if not cleaned or cleaned != (value or "").strip():
        return None
    try:
        validate_email(cleaned)
    except ValidationError:
        return None
    return cleaned


def console_url(support_request: SupportRequest) -> str:
    return f"{settings.FRONTEND_URL}/console/requests/{support_request.request_id}/"


def page_url(support_request: SupportRequest) -> str | None:
    """The site the visitor chatted on, if the chatbot names it among its allowed origins.

    Anyone can send any Origin header to a chatbot that allows "*", and the visitor's
    address is whatever they typed: only an origin the chatbot's owner listed may become
    a link in a mail we send to a stranger.
    """
    origin = (support_request.session.origin or "").rstrip("/")
    listed = {o.rstrip("/") for o in support_request.chatbot.allowed_origins or [] if o != "*"}
    parts = urlsplit(origin)
    if origin in listed and parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}/"
    return None


def subject_for(notification: EmailNotification) -> str:
    support_request = notification.support_request
    chatbot = clean_single_line(support_request.chatbot.name, max_length=NAME_IN_SUBJECT_MAX_LENGTH)
    visitor = clean_single_line(
        support_request.user_name, max_length=NAME_IN_SUBJECT_MAX_LENGTH
    ) or str(VISITOR_FALLBACK)
    match notification.kind:
        case EmailKind.VISITOR_CONFIRMATION:
            template = SUBJECT_VISITOR_CONFIRMATION
        case EmailKind.PENDING_REMINDER:
            template = SUBJECT_PENDING_REMINDER
        case _:
            template = SUBJECT_NEW_REQUEST
    # Cleaned after filling: a translation cannot bring a line break into the header.
    subject = str(template).format(chatbot=chatbot, visitor=visitor)
    return clean_single_line(subject, max_length=SUBJECT_MAX_LENGTH)


def language_for(notification: EmailNotification) -> str:
    """The reader's language (docs/languages.md): the visitor's for their confirmation,
    the chatbot's for the admin's notification, the reminder and agents' alerts."""
    if notification.kind == EmailKind.VISITOR_CONFIRMATION:
        return languages.visitor_language(notification.support_request)
    return languages.chatbot_language(notification.support_request)


def transcript_lines(support_request: SupportRequest) -> list[TranscriptLine]:
    """The last lines of the bot conversation before the visitor asked for a human."""
    limit = settings.EMAIL_TRANSCRIPT_LINES
    if limit <= 0:
        return []
    messages = list(
        ChatMessage.objects.filter(
            session_id=support_request.session.pk, created_at__lte=support_request.created_at
        ).order_by("-id")[:limit]
    )
    messages.reverse()
    return [
        TranscriptLine(
            speaker=str(SPEAKER_BOT if m.role == ChatMessage.Role.BOT else SPEAKER_VISITOR),
            text=_capped(m.text, TRANSCRIPT_LINE_MAX_LENGTH),
        )
        for m in messages
    ]


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def context_for(notification: EmailNotification) -> dict[str, Any]:
    support_request = notification.support_request
    minutes = settings.PENDING_REMINDER_MINUTES
    confirmation = notification.kind == EmailKind.VISITOR_CONFIRMATION
    return {
        "kind": notification.kind,
        "chatbot_name": support_request.chatbot.name,
        # The visitor's confirmation carries nothing the visitor wrote: they choose where
        # it goes (support/email/outbox.py).
        "visitor_name": "" if confirmation else clean_single_line(support_request.user_name),
        "visitor_email": support_request.user_email or "",
        "initial_message": "" if confirmation else support_request.initial_message,
        "created_at": support_request.created_at,
        "console_url": console_url(support_request),
        "page_url": page_url(support_request),
        "transcript": [] if confirmation else transcript_lines(support_request),
        "pending_minutes": int(minutes) if minutes == int(minutes) else minutes,
        # The number that picks the plural form: gettext wants an integer; a fraction of
        # a minute reads as a plural (English "0.5 minutes"; Arabic's "other" form).
        "pending_minutes_count": int(minutes) if minutes == int(minutes) else 100,
    }


def build_message(notification: EmailNotification) -> EmailMultiAlternatives:
    """The message for one outbox row, with a Message-ID we keep as the provider id
    (an ESP backend replaces it with the ESP's own id after sending).

    Rendered in the reader's language: the task runs on a worker thread whose active
    language is nobody's, so the override is set here, around subject and bodies alike.
    """
    with translation.override(language_for(notification)):
        return _build_message(notification)


def _build_message(notification: EmailNotification) -> EmailMultiAlternatives:
    context = context_for(notification)
    template = TEMPLATES[EmailKind(notification.kind)]
    text_body = render_to_string(f"{template}.txt", context)
    html_body = render_to_string(f"{template}.html", context)
    headers = {"Message-ID": make_msgid(domain=_sender_domain())}
    reply_to: list[str] = []
    if notification.kind != EmailKind.VISITOR_CONFIRMATION:
        # The admin can answer the visitor straight from the mail.
        visitor_address = valid_address(notification.support_request.user_email)
        if visitor_address:
            reply_to = [visitor_address]
    message = EmailMultiAlternatives(
        subject=subject_for(notification),
        body=text_body,
        from_email=settings.FROM_EMAIL,
        to=[notification.recipient],
        reply_to=reply_to,
        headers=headers,
    )
    message.attach_alternative(html_body, "text/html")
    return message


def _sender_domain() -> str:
    address = parseaddr(settings.FROM_EMAIL)[1]
    return address.rpartition("@")[2] or "localhost"
