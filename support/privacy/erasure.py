"""Erasing one visitor's data (`erase_visitor`, the admin's "Erase the visitor's data").

What goes and what stays (docs/decisions.md): the visitor's support messages, their bot
conversation and every outbox row of their requests (or to their address) are deleted;
each request row stays, anonymised and closed (services.request_erase), so that counts
and response times stay right; each session stays with a token nobody holds. An audit
row and a log line record the erasure with the address's keyed hash, never the address.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from django.db import transaction

from chatbots import services as chatbot_services
from chatbots.models import ChatMessage
from support import services
from support.email import outbox
from support.models import ErasureAudit, SupportMessage
from support.privacy.addresses import address_hash
from support.selectors import requests_of_visitor

logger = logging.getLogger(__name__)

# The audit's operator when manage.py erase_visitor did it.
COMMAND_OPERATOR = "command"


@dataclass(frozen=True)
class ErasureCounts:
    requests: int
    messages: int
    transcript_messages: int
    emails: int
    sessions: int


def erasure_preview(*, address: str) -> ErasureCounts:
    """What `visitor_erase` would remove now (the confirmation's numbers); changes nothing."""
    requests = requests_of_visitor(email=address)
    request_ids = list(requests.values_list("pk", flat=True))
    session_ids = set(requests.values_list("session_id", flat=True))
    return ErasureCounts(
        requests=len(request_ids),
        messages=SupportMessage.objects.filter(support_request_id__in=request_ids).count(),
        transcript_messages=ChatMessage.objects.filter(session__session_id__in=session_ids).count(),
        emails=outbox.emails_of(support_request_ids=request_ids, address=address).count(),
        sessions=len(session_ids),
    )


def visitor_erase(*, address: str, operator: str) -> ErasureCounts:
    """Erase the data of the visitor with this (normalised) address, all or nothing, and
    write the audit row. `operator`: the username of who asked, or COMMAND_OPERATOR."""
    with transaction.atomic():
        requests = list(requests_of_visitor(email=address).select_related("session"))
        messages = sum(services.request_erase(support_request=r) for r in requests)
        sessions = {r.session.pk: r.session for r in requests}
        transcript = sum(chatbot_services.session_erase(session=s) for s in sessions.values())
        emails = outbox.forget_emails(support_request_ids=[r.pk for r in requests], address=address)
        counts = ErasureCounts(
            requests=len(requests),
            messages=messages,
            transcript_messages=transcript,
            emails=emails,
            sessions=len(sessions),
        )
        audit = ErasureAudit.objects.create(
            operator=operator, address_hash=address_hash(address), **asdict(counts)
        )
        transaction.on_commit(lambda: _log(audit))
    return counts


def _log(audit: ErasureAudit) -> None:
    logger.info(
        "visitor data erased (audit %s) by %s: %d request(s), %d message(s), "
        "%d transcript message(s), %d email(s), %d session(s); address hash %s",
        audit.pk,
        audit.operator,
        audit.requests,
        audit.messages,
        audit.transcript_messages,
        audit.emails,
        audit.sessions,
        audit.address_hash,
    )
