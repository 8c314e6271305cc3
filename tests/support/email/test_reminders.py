"""A request nobody joined reminds the chatbot's admin, once (real worker, real SMTP)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.actors import Agent
from support import services
from support.email import outbox
from support.email.tasks import remind_if_pending
from support.models import EmailKind, EmailNotification, EmailStatus, SupportRequest
from tests.factories import AgentFactory, ChatbotFactory
from tests.helpers import create_request_over_http, wait_until
from tests.support.email.smtp import SmtpServer
from tests.support.email.workers import run_worker_once

pytestmark = pytest.mark.django_db(transaction=True)

# 0.3 seconds: the reminder task becomes due while the test waits.
SHORT_MINUTES = 0.005
REMIND_TASK = "support.email.tasks.remind_if_pending"


def _wait_for_the_reminder_to_be_due() -> None:
    """Until a reminder would go out: every reminder task is due, and every request is older
    than the delay (the stale sweep finds overdue requests by their age)."""

    def due() -> bool:
        now = timezone.now()
        too_young = SupportRequest.objects.filter(
            created_at__gt=now - timedelta(minutes=SHORT_MINUTES)
        )
        not_yet = DBTaskResult.objects.filter(task_path=REMIND_TASK, run_after__gt=now)
        return not too_young.exists() and not not_yet.exists()

    wait_until(due, timeout=10, what="the reminder to be due")


def test_a_request_still_pending_sends_one_reminder_to_the_admin(
    smtp_server: SmtpServer, smtp_mailer: None, settings: Any
) -> None:
    settings.PENDING_REMINDER_MINUTES = SHORT_MINUTES
    smtp_server.start()
    support_request = create_request_over_http(
        ChatbotFactory(name="Parcel Bot", admin_email="owner@shop.example"), user_email=None
    )
    _wait_for_the_reminder_to_be_due()

    run_worker_once()
    remind_if_pending.enqueue(support_request.pk)  # a second reminder task changes nothing
    run_worker_once()

    mails = smtp_server.wait_for(2)
    assert len(smtp_server.mails) == 2
    subjects = sorted(m.message["Subject"] for m in mails)
    assert subjects == [
        "[Parcel Bot] New support request from Vera",
        "[Parcel Bot] Still waiting for an agent: request from Vera",
    ]
    assert all(m.rcpt_tos == ["owner@shop.example"] for m in mails)
    reminder = EmailNotification.objects.get(kind=EmailKind.PENDING_REMINDER)
    assert reminder.status == EmailStatus.SENT


def test_no_reminder_is_sent_when_an_agent_joined_meanwhile(
    smtp_server: SmtpServer, smtp_mailer: None, settings: Any
) -> None:
    settings.PENDING_REMINDER_MINUTES = SHORT_MINUTES
    smtp_server.start()
    agent = AgentFactory()
    chatbot = ChatbotFactory(agents=[agent], admin_email="owner@shop.example")
    support_request = create_request_over_http(chatbot, user_email=None)
    services.request_join(support_request=support_request, agent=Agent(agent))
    _wait_for_the_reminder_to_be_due()

    run_worker_once()

    assert (
        DBTaskResult.objects.filter(task_path="support.email.tasks.remind_if_pending").count() == 1
    )
    assert len(smtp_server.wait_for(1)) == 1
    assert not EmailNotification.objects.filter(kind=EmailKind.PENDING_REMINDER).exists()


def test_a_reminder_whose_request_was_joined_before_it_went_out_is_cancelled(
    smtp_server: SmtpServer, smtp_mailer: None, settings: Any
) -> None:
    settings.PENDING_REMINDER_MINUTES = 0  # planned by hand below
    smtp_server.start()
    agent = AgentFactory()
    support_request = create_request_over_http(ChatbotFactory(agents=[agent]), user_email=None)
    run_worker_once()
    # The state a worker killed between writing the reminder row and sending it leaves
    # (remind_if_pending does both in one go, so no test can stop it in between)...
    EmailNotification.objects.create(
        support_request=support_request,
        kind=EmailKind.PENDING_REMINDER,
        recipient=support_request.chatbot.admin_email,
    )
    # ...an agent joins, and the stale sweep takes the row back.
    services.request_join(support_request=support_request, agent=Agent(agent))
    call_command("resend_failed_emails", "--stale", "--older-than", "0")
    run_worker_once()

    assert len(smtp_server.mails) == 1  # the admin notification only
    reminder = EmailNotification.objects.get(kind=EmailKind.PENDING_REMINDER)
    assert reminder.status == EmailStatus.CANCELLED
    assert reminder.last_error == outbox.CANCELLED_REMINDER


def test_the_stale_sweep_plans_an_overdue_reminder_that_was_lost(
    smtp_server: SmtpServer, smtp_mailer: None, settings: Any
) -> None:
    settings.PENDING_REMINDER_MINUTES = SHORT_MINUTES
    smtp_server.start()
    create_request_over_http(ChatbotFactory(admin_email="owner@shop.example"), user_email=None)
    DBTaskResult.objects.filter(task_path="support.email.tasks.remind_if_pending").delete()
    _wait_for_the_reminder_to_be_due()
    run_worker_once()
    assert len(smtp_server.wait_for(1)) == 1

    call_command("resend_failed_emails", "--stale")
    run_worker_once()

    assert len(smtp_server.wait_for(2)) == 2
    assert EmailNotification.objects.get(kind=EmailKind.PENDING_REMINDER).status == "sent"
