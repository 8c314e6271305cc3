"""Everything Handoff holds about one visitor's address, as JSON (`export_visitor`, the
admin's "Export the visitor's data")."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.utils import timezone

from chatbots.models import ChatMessage
from core.times import iso
from support.email import outbox
from support.models import EmailNotification, ErasureAudit, SupportMessage
from support.presenters import message_json, request_json
from support.privacy.addresses import address_hashes
from support.selectors import requests_of_visitor


def visitor_export(*, address: str) -> dict[str, Any]:
    """The visitor's requests (each with its messages, its bot conversation and its
    emails), the other emails sent to the address, and the erasures already made for it.

    `address` is normalised (addresses.normalised_address). Empty lists when nothing
    matches. Times are ISO 8601 with their zone.
    """
    requests = list(requests_of_visitor(email=address).select_related("session"))
    request_ids = [r.pk for r in requests]
    visitor_request_ids = set(request_ids)
    messages: dict[int, list[SupportMessage]] = defaultdict(list)
    for message in (
        SupportMessage.objects.select_related("sender")
        .filter(support_request_id__in=request_ids)
        .order_by("id")
    ):
        messages[message.support_request_id].append(message)
    transcripts: dict[int, list[ChatMessage]] = defaultdict(list)
    for line in ChatMessage.objects.filter(
        session_id__in={r.session.pk for r in requests}
    ).order_by("id"):
        transcripts[line.session_id].append(line)
    emails: dict[int | None, list[EmailNotification]] = defaultdict(list)
    for email in outbox.emails_of(support_request_ids=request_ids, address=address).order_by(
        "created_at", "id"
    ):
        own = email.support_request_id in visitor_request_ids
        emails[email.support_request_id if own else None].append(email)
    erasures = ErasureAudit.objects.filter(address_hash__in=address_hashes(address)).order_by(
        "created_at", "id"
    )
    return {
        "email": address,
        "exported_at": iso(timezone.now()),
        "requests": [
            {
                **request_json(r, transcript=transcripts[r.session.pk]),
                "messages": [message_json(m, visitor_name=r.user_name) for m in messages[r.pk]],
                "emails": [_email_json(e) for e in emails[r.pk]],
            }
            for r in requests
        ],
        # Mails to the address about requests that are not this visitor's (an address that
        # is also a chatbot's admin or an agent's, say): the mail, not the request.
        "other_emails": [_email_json(e) for e in emails[None]],
        "erasures": [_erasure_json(e) for e in erasures],
    }


def _email_json(email: EmailNotification) -> dict[str, Any]:
    return {
        "kind": email.kind,
        "recipient": email.recipient,
        "status": email.status,
        "created_at": iso(email.created_at),
        "sent_at": iso(email.sent_at),
        "tracked_at": iso(email.tracked_at),
    }


def _erasure_json(erasure: ErasureAudit) -> dict[str, Any]:
    return {
        "erased_at": iso(erasure.created_at),
        "operator": erasure.operator,
        "requests": erasure.requests,
        "messages": erasure.messages,
        "transcript_messages": erasure.transcript_messages,
        "emails": erasure.emails,
        "sessions": erasure.sessions,
    }
