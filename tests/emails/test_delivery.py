"""A request created through the API reaches a real SMTP server through the real worker."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from chatbots.models import ChatMessage
from support.models import EmailKind, EmailNotification, EmailStatus
from tests.emails.conftest import (
    FRONTEND_URL,
    SmtpServer,
    StartWorker,
    create_request_over_http,
    run_worker_once,
    wait_until,
)
from tests.factories import ChatbotFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_and_visitor_get_their_mails_at_a_real_smtp_server(
    smtp_server: SmtpServer, smtp_mailer: None
) -> None:
    smtp_server.start()
    chatbot = ChatbotFactory(name="Parcel Bot", admin_email="owner@shop.example")
    support_request = create_request_over_http(
        chatbot, user_name="Vera", user_email="vera@example.com"
    )

    run_worker_once()

    mails = smtp_server.wait_for(2)
    assert len(mails) == 2
    admin_mail = smtp_server.to("owner@shop.example")[0]
    visitor_mail = smtp_server.to("vera@example.com")[0]
    assert admin_mail.rcpt_tos == ["owner@shop.example"]
    assert visitor_mail.rcpt_tos == ["vera@example.com"]
    assert admin_mail.message["Subject"] == "[Parcel Bot] New support request from Vera"
    assert visitor_mail.message["Subject"] == "We received your request: Parcel Bot"
    assert admin_mail.message["Reply-To"] == "vera@example.com"
    link = f"{FRONTEND_URL}/console/requests/{support_request.request_id}/"
    for part in (admin_mail.text, admin_mail.html):
        assert link in part
        assert "Parcel Bot" in part
        assert "Vera" in part
        assert "vera@example.com" in part
        assert "My parcel arrived broken" in part
    assert admin_mail.message.get_content_type() == "multipart/alternative"
    assert "A member of our team will answer you" in visitor_mail.text
    assert link not in visitor_mail.text + visitor_mail.html  # the console is for agents


def test_each_row_records_that_it_was_sent_with_its_message_id(
    smtp_server: SmtpServer, smtp_mailer: None
) -> None:
    smtp_server.start()
    support_request = create_request_over_http(ChatbotFactory())

    run_worker_once()

    mails = {m.rcpt_tos[0]: m for m in smtp_server.wait_for(2)}
    rows = EmailNotification.objects.filter(support_request=support_request)
    assert {(r.kind, r.status, r.attempts) for r in rows} == {
        (EmailKind.ADMIN_NOTIFICATION, EmailStatus.SENT, 1),
        (EmailKind.VISITOR_CONFIRMATION, EmailStatus.SENT, 1),
    }
    for row in rows:
        assert row.sent_at is not None
        assert row.provider_message_id == mails[row.recipient].message["Message-ID"]


def test_the_admin_mail_carries_the_last_lines_of_the_bot_conversation(
    smtp_server: SmtpServer, smtp_mailer: None, settings: Any
) -> None:
    settings.EMAIL_TRANSCRIPT_LINES = 2
    smtp_server.start()
    chatbot = ChatbotFactory(admin_email="owner@shop.example")
    from tests.factories import make_session

    session, token = make_session(chatbot)
    for role, text in [
        ("user", "first question, too old to show"),
        ("bot", "an answer that did not help"),
        ("user", "where is my parcel <b>now</b>"),
    ]:
        ChatMessage.objects.create(session=session, role=role, text=text)
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(
        "/human-support/request",
        {"session_id": session.session_id, "initial_message": "Human please"},
        format="json",
    )
    assert response.status_code == 201

    run_worker_once()

    admin_mail = smtp_server.wait_for(1)[0]
    assert "Bot: an answer that did not help" in admin_mail.text
    assert "Visitor: where is my parcel <b>now</b>" in admin_mail.text
    assert "where is my parcel &lt;b&gt;now&lt;/b&gt;" in admin_mail.html
    assert "too old to show" not in admin_mail.text + admin_mail.html


def test_without_an_email_the_visitor_gets_no_confirmation(
    smtp_server: SmtpServer, smtp_mailer: None
) -> None:
    smtp_server.start()
    create_request_over_http(
        ChatbotFactory(admin_email="owner@shop.example"), user_name=None, user_email=None
    )

    run_worker_once()

    mails = smtp_server.wait_for(1)
    assert [m.rcpt_tos for m in mails] == [["owner@shop.example"]]
    assert mails[0].message["Subject"].endswith("New support request from a visitor")
    assert mails[0].message["Reply-To"] is None
    assert EmailNotification.objects.count() == 1


def test_mails_queued_while_no_worker_ran_are_sent_when_one_starts(
    smtp_server: SmtpServer, start_worker: StartWorker
) -> None:
    smtp_server.start()
    chatbot = ChatbotFactory()
    for n in range(3):
        create_request_over_http(chatbot, user_email=f"visitor{n}@example.com")
    assert EmailNotification.objects.filter(status=EmailStatus.QUEUED).count() == 6

    worker = start_worker(batch=True)
    assert worker.wait() == 0, worker.log()

    assert len(smtp_server.wait_for(6)) == 6
    assert EmailNotification.objects.filter(status=EmailStatus.SENT).count() == 6


def test_mail_is_retried_while_smtp_is_down_and_sent_once_it_is_back(
    smtp_server: SmtpServer, start_worker: StartWorker
) -> None:
    support_request = create_request_over_http(ChatbotFactory(), user_email=None)
    row = EmailNotification.objects.get(support_request=support_request)
    worker = start_worker(EMAIL_RETRY_BASE_SECONDS="0.5", EMAIL_MAX_ATTEMPTS="50")

    def failed_at_least_twice() -> bool:
        row.refresh_from_db()
        return row.attempts >= 2

    wait_until(failed_at_least_twice, what="two failed attempts")
    assert row.status in (EmailStatus.QUEUED, EmailStatus.SENDING)
    assert "Connection refused" in row.last_error or "Errno" in row.last_error, row.last_error
    assert smtp_server.mails == []

    smtp_server.start()

    def sent() -> bool:
        row.refresh_from_db()
        return row.status == EmailStatus.SENT

    wait_until(sent, what="the row to be sent", timeout=60)
    assert len(smtp_server.wait_for(1)) == 1
    worker.stop()
    assert len(smtp_server.mails) == 1, worker.log()
    assert row.attempts >= 3
    assert row.last_error  # the history of the failure is kept


def test_two_workers_send_each_mail_exactly_once(
    smtp_server: SmtpServer, start_worker: StartWorker
) -> None:
    smtp_server.start()
    chatbot = ChatbotFactory()
    for n in range(5):
        create_request_over_http(chatbot, user_email=f"visitor{n}@example.com")
    # Every row gets a second task (as a stale sweep would), so the two workers race for
    # the same rows, not only for different tasks.
    call_command("resend_failed_emails", "--stale", "--older-than", "0", "--no-failed")
    send_tasks = DBTaskResult.objects.filter(
        task_path="support.email.tasks.send_email_notification"
    )
    assert send_tasks.count() == 20

    workers = [start_worker(batch=True), start_worker(batch=True)]
    for worker in workers:
        assert worker.wait() == 0, worker.log()

    mails = smtp_server.wait_for(10)
    assert len(mails) == 10
    per_mail = [(m.rcpt_tos[0], m.message["Message-ID"]) for m in mails]
    assert len(set(per_mail)) == 10
    assert sorted(m.rcpt_tos[0] for m in mails) == sorted(
        [chatbot.admin_email] * 5 + [f"visitor{n}@example.com" for n in range(5)]
    )
    assert set(EmailNotification.objects.values_list("status", "attempts")) == {
        (EmailStatus.SENT, 1)
    }


def test_after_the_last_attempt_the_row_is_failed_and_resend_failed_emails_sends_it(
    smtp_server: SmtpServer, smtp_mailer: None, settings: Any
) -> None:
    settings.EMAIL_MAX_ATTEMPTS = 3
    settings.EMAIL_RETRY_BASE_SECONDS = 0
    support_request = create_request_over_http(ChatbotFactory(), user_email=None)

    run_worker_once()  # SMTP is down: three attempts, then failed

    row = EmailNotification.objects.get(support_request=support_request)
    assert row.status == EmailStatus.FAILED
    assert row.attempts == 3
    assert row.last_error

    smtp_server.start()
    call_command("resend_failed_emails")
    row.refresh_from_db()
    assert (row.status, row.attempts) == (EmailStatus.QUEUED, 0)
    run_worker_once()

    assert len(smtp_server.wait_for(1)) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (EmailStatus.SENT, 1)


def test_the_stale_sweep_sends_a_row_whose_task_was_lost(
    smtp_server: SmtpServer, smtp_mailer: None
) -> None:
    smtp_server.start()
    create_request_over_http(ChatbotFactory(), user_email=None)
    DBTaskResult.objects.all().delete()  # the process died between commit and enqueue
    run_worker_once()
    assert smtp_server.mails == []

    call_command("resend_failed_emails", "--stale", "--older-than", "0")
    run_worker_once()

    assert len(smtp_server.wait_for(1)) == 1
    assert EmailNotification.objects.get().status == EmailStatus.SENT


def test_the_stale_sweep_takes_back_a_row_whose_worker_died_while_sending(
    smtp_server: SmtpServer, smtp_mailer: None, settings: Any
) -> None:
    settings.EMAIL_SEND_LEASE_SECONDS = 0
    smtp_server.start()
    create_request_over_http(ChatbotFactory(), user_email=None)
    DBTaskResult.objects.all().delete()
    from support.email import outbox

    row = EmailNotification.objects.get()
    assert outbox.claim(row.pk) is not None  # ...and then the worker was killed

    call_command("resend_failed_emails", "--stale", "--older-than", "0")
    run_worker_once()

    assert len(smtp_server.wait_for(1)) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (EmailStatus.SENT, 2)


def test_subject_is_one_capped_line() -> None:
    from support.email.rendering import SUBJECT_MAX_LENGTH

    support_request = create_request_over_http(
        ChatbotFactory(name="Bot " * 40), user_name="N" * 255
    )
    from support.email.rendering import subject_for

    for row in EmailNotification.objects.filter(support_request=support_request):
        subject = subject_for(row)
        assert len(subject) <= SUBJECT_MAX_LENGTH
        assert not re.search(r"[\r\n]", subject)
