"""erase_visitor: exactly one visitor's data goes, the rest stays, an audit row without the
address records it, and the visitor's token is dead."""

from __future__ import annotations

import logging
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from chatbots.models import ChatMessage
from support import events
from support.models import (
    EmailNotification,
    ErasureAudit,
    RequestStatus,
    SupportMessage,
    SupportRequest,
)
from support.privacy.addresses import address_hash
from support.services import ERASED_TEXT
from tests.helpers import capture_events
from tests.support.privacy.conftest import VERA, PrivacyScene, Visit

pytestmark = pytest.mark.django_db


def erase(email: str, *, answer: str | None = None) -> str:
    out = StringIO()
    if answer is None:
        call_command("erase_visitor", email, "--yes", stdout=out)
    else:
        call_command("erase_visitor", email, stdout=out, stdin=StringIO(answer))
    return out.getvalue()


def data_of(visit: Visit) -> tuple[object, ...]:
    """What a visit holds, to compare before and after."""
    r = SupportRequest.objects.get(pk=visit.support_request.pk)
    return (
        r.user_name,
        r.user_email,
        r.initial_message,
        r.status,
        list(SupportMessage.objects.filter(support_request=r).values_list("message", flat=True)),
        list(
            ChatMessage.objects.filter(session=visit.visitor.session).values_list("text", flat=True)
        ),
        list(
            EmailNotification.objects.filter(support_request=r).values_list("recipient", flat=True)
        ),
    )


def test_erasure_anonymises_and_closes_the_visitors_requests(privacy: PrivacyScene) -> None:
    erase(VERA)

    for visit in (privacy.vera, privacy.vera_elsewhere):
        erased = SupportRequest.objects.get(pk=visit.support_request.pk)
        assert erased.user_name is None
        assert erased.user_email is None
        assert erased.initial_message == ERASED_TEXT
        assert erased.status == RequestStatus.CLOSED
        # What counts and times need stays.
        assert erased.created_at == visit.support_request.created_at
    shop = SupportRequest.objects.get(pk=privacy.vera.support_request.pk)
    assert shop.admin_joined_at is not None
    assert shop.first_response_at is not None
    assert shop.assigned_agent == privacy.agent


def test_erasure_deletes_messages_transcript_and_emails(privacy: PrivacyScene) -> None:
    erase(VERA)

    for visit in (privacy.vera, privacy.vera_elsewhere):
        assert not SupportMessage.objects.filter(support_request=visit.support_request).exists()
        assert not ChatMessage.objects.filter(session=visit.visitor.session).exists()
        assert not EmailNotification.objects.filter(support_request=visit.support_request).exists()
    assert not EmailNotification.objects.filter(recipient__iexact=VERA).exists()


def test_erasure_leaves_visitors_with_similar_addresses_untouched(privacy: PrivacyScene) -> None:
    before = [data_of(visit) for visit in privacy.lookalikes]

    erase(VERA)

    assert [data_of(visit) for visit in privacy.lookalikes] == before
    assert all(messages for *_, messages, _transcript, _emails in before)


def test_erased_visitors_token_answers_401(privacy: PrivacyScene) -> None:
    url = f"/human-support/requests/{privacy.vera.support_request.request_id}"
    assert privacy.vera.visitor.client.get(url).status_code == 200

    erase(VERA)

    assert privacy.vera.visitor.client.get(url).status_code == 401
    lookalike = privacy.lookalikes[0]
    other_url = f"/human-support/requests/{lookalike.support_request.request_id}"
    assert lookalike.visitor.client.get(other_url).status_code == 200


def test_erasure_writes_an_audit_row_without_the_address(privacy: PrivacyScene) -> None:
    erase(VERA)

    audit = ErasureAudit.objects.get()
    assert audit.operator == "command"
    assert audit.address_hash == address_hash(VERA)
    # Messages: the shop's first, "Alice joined", the answer; the bank's first and
    # "Closed by Bob". Emails: both admins' notifications, one confirmation (one an hour).
    assert (
        audit.requests,
        audit.messages,
        audit.transcript_messages,
        audit.emails,
        audit.sessions,
    ) == (2, 5, 4, 3, 2)
    values = [str(getattr(audit, f.attname)) for f in ErasureAudit._meta.fields]
    assert not any("vera" in value.lower() for value in values)


def test_the_log_line_names_no_address(
    privacy: PrivacyScene, caplog: pytest.LogCaptureFixture, django_capture_on_commit_callbacks: Any
) -> None:
    # Logged once the erasure commits.
    with (
        caplog.at_level(logging.INFO, logger="support.privacy.erasure"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        erase(VERA)

    [line] = [r.getMessage() for r in caplog.records if r.name == "support.privacy.erasure"]
    assert "visitor data erased" in line
    assert address_hash(VERA) in line
    assert "vera" not in line.lower().replace(address_hash(VERA), "")


def test_erasure_is_recorded_in_a_later_export(privacy: PrivacyScene) -> None:
    erase(VERA)

    out = StringIO()
    call_command("export_visitor", VERA, stdout=out)
    assert '"requests": []' in out.getvalue()
    assert '"operator": "command"' in out.getvalue()


def test_erasure_asks_first_and_a_no_changes_nothing(privacy: PrivacyScene) -> None:
    before = data_of(privacy.vera)

    with pytest.raises(CommandError, match="Not confirmed"):
        erase(VERA, answer="no\n")

    assert data_of(privacy.vera) == before
    assert not ErasureAudit.objects.exists()


def test_erasure_after_a_yes_erases(privacy: PrivacyScene) -> None:
    output = erase(VERA, answer="yes\n")

    assert "This will erase the data of vera@example.com: 2 request(s)" in output
    assert "Erased: 2 request(s) anonymised and closed" in output
    assert SupportRequest.objects.get(pk=privacy.vera.support_request.pk).user_email is None


def test_erasure_refuses_what_is_not_an_address(privacy: PrivacyScene) -> None:
    with pytest.raises(CommandError, match="not an email address"):
        erase("vera@")

    assert not ErasureAudit.objects.exists()


def test_erasure_of_an_open_request_tells_its_sockets_and_the_agents_queue(
    privacy: PrivacyScene,
) -> None:
    with capture_events() as published:
        erase(VERA)

    request_id = privacy.vera.support_request.request_id
    erased = [p for p in published if p.event["type"] == "support.erased"]
    assert {p.group for p in erased} == {
        events.request_group(request_id),
        events.request_group(privacy.vera_elsewhere.support_request.request_id),
    }
    [queue] = [p for p in published if p.event["type"] == "support.queue"]
    assert queue.group == events.chatbot_agents_group(privacy.chatbot.pk)
    assert queue.event["action"] == "closed"
    assert queue.event["request"]["user_email"] is None
    assert queue.event["request"]["initial_message"] == ERASED_TEXT
