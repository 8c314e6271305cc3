"""`/metrics`: who may read it, and what a request's life adds to the series.

The series of this process accumulate across tests: each test compares before and after.
"""

from __future__ import annotations

from typing import Any

import pytest
from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.db import transaction
from django.test import Client

from core.actors import Agent
from support import services
from support.email import outbox
from support.models import EmailKind, EmailNotification
from tests.factories import AgentFactory, ChatbotFactory, make_session
from tests.support.metrics.exposition import sample

TOKEN = "metrics-test-token"


@pytest.fixture
def token(settings: Any) -> str:
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(token: str = TOKEN) -> str:
    response = Client().get("/metrics", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


@pytest.mark.django_db
def test_metrics_answer_404_when_no_token_is_configured(settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    response = Client().get("/metrics", headers={"authorization": "Bearer "})
    assert response.status_code == 404


@pytest.mark.django_db
def test_metrics_refuse_a_wrong_token(token: str) -> None:
    assert Client().get("/metrics").status_code == 401
    wrong = Client().get("/metrics", headers={"authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401


@pytest.mark.django_db
def test_metrics_answer_the_text_format_with_the_right_token(token: str) -> None:
    text = scrape()
    assert "# TYPE handoff_requests_created_total counter" in text
    assert "# TYPE handoff_wait_seconds histogram" in text
    assert "# TYPE handoff_requests_open gauge" in text
    assert "django_http_requests_total" in text


@pytest.mark.django_db(transaction=True)
def test_a_request_life_counts_creation_wait_first_response_resolution_and_messages(
    token: str,
) -> None:
    agent = AgentFactory()
    chatbot = ChatbotFactory(agents=[agent])
    session, _ = make_session(chatbot)
    before = scrape()

    support_request, _ = services.request_create(session=session, initial_message="Help")
    services.request_join(support_request=support_request, agent=Agent(agent))
    services.message_post(support_request=support_request, actor=Agent(agent), text="Hello")
    services.message_post(support_request=support_request, actor=Agent(agent), text="Again")
    services.request_resolve(support_request=support_request, agent=Agent(agent))
    after = scrape()

    def added(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert added("handoff_requests_created_total", chatbot=str(chatbot.pk)) == 1
    assert added("handoff_wait_seconds_count") == 1
    assert added("handoff_first_response_seconds_count") == 1  # the first agent message only
    assert added("handoff_resolution_seconds_count") == 1
    assert added("handoff_messages_total", sender_type="user") == 1
    assert added("handoff_messages_total", sender_type="admin") == 2
    assert added("handoff_messages_total", sender_type="system") == 2  # joined, resolved
    assert sample(after, "handoff_requests_open", status="resolved") == 1
    assert sample(after, "handoff_requests_open", status="pending") == 0


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_creation_counts_nothing(token: str) -> None:
    chatbot = ChatbotFactory()
    session, _ = make_session(chatbot)
    before = scrape()

    def create_then_fail() -> None:
        with transaction.atomic():
            services.request_create(session=session, initial_message="Help")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        create_then_fail()

    after = scrape()
    name = "handoff_requests_created_total"
    assert sample(after, name, chatbot=str(chatbot.pk)) == sample(
        before, name, chatbot=str(chatbot.pk)
    )
    assert sample(after, "handoff_requests_open", status="pending") == 0


@pytest.mark.django_db(transaction=True)
def test_the_outbox_gauge_counts_rows_by_status(token: str) -> None:
    chatbot = ChatbotFactory(admin_email="admin@example.com")
    session, _ = make_session(chatbot)
    services.request_create(session=session, initial_message="Help")
    assert sample(scrape(), "handoff_email_outbox", status="queued") >= 1


@pytest.mark.django_db(transaction=True)
def test_emails_count_by_kind_when_sent_and_when_the_provider_reports_delivery(
    token: str, settings: Any
) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    chatbot = ChatbotFactory(admin_email="admin@example.com")
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(session=session, initial_message="Help")
    row = EmailNotification.objects.get(
        support_request=support_request, kind=EmailKind.ADMIN_NOTIFICATION
    )
    before = scrape()

    assert outbox.send_one(row.pk).status == "sent"
    EmailNotification.objects.filter(pk=row.pk).update(provider_message_id="esp-1")
    tracking.send(
        sender=object,
        event=AnymailTrackingEvent(
            event_type=EventType.DELIVERED, message_id="esp-1", recipient="admin@example.com"
        ),
        esp_name="test",
    )
    after = scrape()

    def added(result: str) -> float:
        labels = {"kind": EmailKind.ADMIN_NOTIFICATION.value, "result": result}
        return sample(after, "handoff_emails_total", **labels) - sample(
            before, "handoff_emails_total", **labels
        )

    assert (added("sent"), added("delivered"), added("failed")) == (1, 1, 0)
    assert sample(after, "handoff_email_outbox", status="delivered") == 1
