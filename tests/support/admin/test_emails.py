"""The admin shows each email's fate; an agent sees only their chatbots' emails."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from support import services
from support.email import outbox
from support.models import AgentPreference, EmailNotification, EmailStatus, SupportRequest
from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory, make_session
from tests.servers import free_port

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:support_emailnotification_changelist")


def _request(chatbot: Any, **fields: Any) -> SupportRequest:
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(session=session, initial_message="Hi", **fields)
    return support_request


def _fail_for_good(settings: Any, row: EmailNotification) -> None:
    """Send with nothing listening on the SMTP port and a single attempt allowed."""
    settings.EMAIL_MAX_ATTEMPTS = 1
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2},
        }
    }
    assert outbox.send_one(row.pk).status == "failed"


def _login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_shows_status_attempts_last_error_and_provider_id(settings: Any) -> None:
    chatbot = ChatbotFactory(admin_email="owner@shop.example")
    row = EmailNotification.objects.get(support_request=_request(chatbot))
    _fail_for_good(settings, row)

    page = _login(SuperuserFactory()).get(CHANGELIST)

    assert page.status_code == 200
    html = page.content.decode()
    for column in ("Status", "Attempts", "Last error", "Provider message id"):
        assert column in html
    assert "owner@shop.example" in html
    assert "Failed" in html
    assert "ConnectionRefusedError" in html


def test_an_agent_sees_only_the_emails_of_their_chatbots() -> None:
    agent = AgentFactory()
    mine = ChatbotFactory(admin_email="mine@shop.example", agents=[agent])
    theirs = ChatbotFactory(admin_email="theirs@bank.example")
    _request(mine)
    their_row = EmailNotification.objects.get(support_request=_request(theirs))
    client = _login(agent)

    page = client.get(CHANGELIST)
    detail = client.get(
        reverse("admin:support_emailnotification_change", args=[their_row.pk]), follow=True
    )

    assert page.status_code == 200
    assert "mine@shop.example" in page.content.decode()
    assert "theirs@bank.example" not in page.content.decode()
    assert "theirs@bank.example" not in detail.content.decode()


def test_a_staff_user_serving_no_chatbot_sees_no_email_list() -> None:
    _request(ChatbotFactory())

    page = _login(AgentFactory()).get(CHANGELIST)

    assert page.status_code == 403


def test_the_status_filter_lists_only_failed_emails(settings: Any) -> None:
    chatbot = ChatbotFactory(admin_email="owner@shop.example")
    failed = EmailNotification.objects.get(support_request=_request(chatbot))
    _fail_for_good(settings, failed)
    _request(chatbot, user_email="still.queued@example.com")

    page = _login(SuperuserFactory()).get(CHANGELIST, {"status__exact": "failed"})

    html = page.content.decode()
    assert "owner@shop.example" in html
    assert "still.queued@example.com" not in html


def test_the_resend_action_queues_a_failed_email_again(settings: Any) -> None:
    agent = AgentFactory()
    chatbot = ChatbotFactory(agents=[agent])
    row = EmailNotification.objects.get(support_request=_request(chatbot))
    _fail_for_good(settings, row)

    response = _login(agent).post(
        CHANGELIST, {"action": "resend_failed", "_selected_action": [row.pk]}, follow=True
    )

    assert response.status_code == 200
    assert "1 email(s) queued again." in response.content.decode()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (EmailStatus.QUEUED, 0)


def test_an_agent_opts_in_to_new_request_emails_in_the_admin() -> None:
    agent = AgentFactory()
    ChatbotFactory(agents=[agent])

    response = _login(agent).post(
        reverse("admin:support_agentpreference_add"), {"email_on_new_request": "on"}
    )

    assert response.status_code == 302
    assert AgentPreference.objects.get().user == agent
    assert AgentPreference.objects.get().email_on_new_request is True


def test_an_agent_picks_their_console_language_in_the_admin() -> None:
    agent = AgentFactory()
    ChatbotFactory(agents=[agent])
    client = _login(agent)

    response = client.post(reverse("admin:support_agentpreference_add"), {"console_language": "fr"})

    assert response.status_code == 302
    assert AgentPreference.objects.get(user=agent).console_language == "fr"
    page = client.get("/console/", HTTP_ACCEPT_LANGUAGE="de")
    assert '<html lang="fr" dir="ltr">' in page.content.decode()


def test_an_agent_cannot_see_another_agents_preference() -> None:
    agent, other = AgentFactory(), AgentFactory()
    ChatbotFactory(agents=[agent, other])
    theirs = outbox.set_agent_preference(user=other, email_on_new_request=True)

    page = _login(agent).get(
        reverse("admin:support_agentpreference_change", args=[theirs.pk]), follow=True
    )

    assert other.username not in page.content.decode()


def test_the_list_shows_clear_recipients_and_searches_by_request_id_while_encrypted(
    field_encryption: list[str],
) -> None:
    chatbot = ChatbotFactory(admin_email="owner@shop.example")
    support_request = _request(chatbot, user_email="vera@example.com")
    client = _login(SuperuserFactory())

    listing = client.get(CHANGELIST).content.decode()
    by_address = client.get(CHANGELIST, {"q": "vera@example.com"})
    by_request = client.get(CHANGELIST, {"q": support_request.request_id})

    assert "vera@example.com" in listing
    assert "owner@shop.example" in listing
    assert "Search by text is not available while encryption at rest is on." in listing
    assert list(by_address.context["cl"].result_list) == []
    assert len(by_request.context["cl"].result_list) == 2
