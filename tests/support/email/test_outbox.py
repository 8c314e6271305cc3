"""The outbox rows are written in the request's transaction; tasks are enqueued on commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from support import services
from support.email import outbox
from support.models import EmailKind, EmailNotification, EmailStatus
from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory, make_session

pytestmark = pytest.mark.django_db

SEND_TASK = "support.email.tasks.send_email_notification"
REMIND_TASK = "support.email.tasks.remind_if_pending"


def _create(chatbot: Any, **fields: Any) -> Any:
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(
        session=session, initial_message=fields.pop("initial_message", "Help"), **fields
    )
    return support_request


def test_creating_a_request_writes_one_queued_row_per_email(
    django_capture_on_commit_callbacks: Any,
) -> None:
    chatbot = ChatbotFactory(admin_email="owner@shop.example")
    with django_capture_on_commit_callbacks(execute=True):
        support_request = _create(chatbot, user_email="vera@example.com")

    rows = EmailNotification.objects.filter(support_request=support_request)
    assert sorted((r.kind, r.recipient, r.status, r.attempts) for r in rows) == [
        (EmailKind.ADMIN_NOTIFICATION, "owner@shop.example", EmailStatus.QUEUED, 0),
        (EmailKind.VISITOR_CONFIRMATION, "vera@example.com", EmailStatus.QUEUED, 0),
    ]
    sends = DBTaskResult.objects.filter(task_path=SEND_TASK)
    assert sorted(t.task_result.args[0] for t in sends) == sorted(r.pk for r in rows)


def test_the_send_tasks_wait_for_the_commit(django_capture_on_commit_callbacks: Any) -> None:
    chatbot = ChatbotFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _create(chatbot, user_email="vera@example.com")

    assert EmailNotification.objects.count() == 2  # written with the request...
    assert DBTaskResult.objects.count() == 0  # ...sent only once it commits
    for callback in callbacks:
        callback()
    assert DBTaskResult.objects.filter(task_path=SEND_TASK).count() == 2


def test_a_rolled_back_request_leaves_no_email_and_no_task(
    django_capture_on_commit_callbacks: Any,
) -> None:
    chatbot = ChatbotFactory()

    def create_then_fail() -> None:
        with transaction.atomic():
            _create(chatbot, user_email="vera@example.com")
            raise RuntimeError("the transaction fails after the request was written")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        create_then_fail()

    assert callbacks == []
    assert EmailNotification.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


def test_the_open_request_returned_again_queues_no_second_mail(
    django_capture_on_commit_callbacks: Any,
) -> None:
    chatbot = ChatbotFactory()
    session, _ = make_session(chatbot)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_create(session=session, initial_message="Help")
        _, created = services.request_create(session=session, initial_message="Help again")

    assert created is False
    assert EmailNotification.objects.count() == 1
    assert DBTaskResult.objects.filter(task_path=SEND_TASK).count() == 1


def _confirmations_to(address: str) -> int:
    return EmailNotification.objects.filter(
        kind=EmailKind.VISITOR_CONFIRMATION, recipient=address
    ).count()


def test_one_address_gets_one_confirmation_per_interval_whatever_the_sessions(
    settings: Any,
) -> None:
    settings.VISITOR_CONFIRMATION_INTERVAL_MINUTES = 60
    chatbot, other_chatbot = ChatbotFactory(), ChatbotFactory()
    first = _create(chatbot, user_email="target@example.com")
    second = _create(chatbot, user_email="TARGET@example.com")
    third = _create(other_chatbot, user_email="target@example.com")

    assert _confirmations_to("target@example.com") == 1
    # The admins still hear of every request.
    for support_request in (first, second, third):
        assert support_request.email_notifications.filter(
            kind=EmailKind.ADMIN_NOTIFICATION
        ).exists()


def test_a_confirmation_goes_again_once_the_interval_has_passed(settings: Any) -> None:
    settings.VISITOR_CONFIRMATION_INTERVAL_MINUTES = 60
    chatbot = ChatbotFactory()
    _create(chatbot, user_email="vera@example.com")
    EmailNotification.objects.update(created_at=timezone.now() - timedelta(minutes=61))

    _create(chatbot, user_email="vera@example.com")

    assert _confirmations_to("vera@example.com") == 2


def test_the_confirmation_limit_can_be_turned_off(settings: Any) -> None:
    settings.VISITOR_CONFIRMATION_INTERVAL_MINUTES = 0
    chatbot = ChatbotFactory()
    _create(chatbot, user_email="vera@example.com")
    _create(chatbot, user_email="vera@example.com")

    assert _confirmations_to("vera@example.com") == 2


def test_tagged_dotted_and_cased_forms_of_one_mailbox_get_one_confirmation(
    settings: Any,
) -> None:
    settings.VISITOR_CONFIRMATION_INTERVAL_MINUTES = 60
    chatbot = ChatbotFactory()
    for address in (
        "victim@gmail.com",
        "victim+1@gmail.com",
        "vic.tim@gmail.com",
        "Vic.Tim+x@GoogleMail.com",
    ):
        _create(chatbot, user_email=address)
    _create(chatbot, user_email="vic.tim+news@example.com")
    _create(chatbot, user_email="victim@example.com")  # dots count outside Gmail

    confirmed = EmailNotification.objects.filter(kind=EmailKind.VISITOR_CONFIRMATION)
    assert sorted(confirmed.values_list("recipient", flat=True)) == [
        "vic.tim+news@example.com",
        "victim@example.com",
        "victim@gmail.com",
    ]


def test_a_chatbot_sends_at_most_its_daily_cap_of_confirmations(settings: Any) -> None:
    settings.VISITOR_CONFIRMATIONS_PER_CHATBOT_PER_DAY = 2
    chatbot, other_chatbot = ChatbotFactory(), ChatbotFactory()
    requests = [_create(chatbot, user_email=f"visitor{n}@example.com") for n in range(3)]
    _create(other_chatbot, user_email="visitor9@example.com")

    assert [
        r.email_notifications.filter(kind=EmailKind.VISITOR_CONFIRMATION).count() for r in requests
    ] == [1, 1, 0]
    assert _confirmations_to("visitor9@example.com") == 1
    # The admin still hears of the request past the cap.
    assert requests[2].email_notifications.filter(kind=EmailKind.ADMIN_NOTIFICATION).exists()
    EmailNotification.objects.update(created_at=timezone.now() - timedelta(days=1, minutes=1))
    _create(chatbot, user_email="visitor3@example.com")
    assert _confirmations_to("visitor3@example.com") == 1


def test_agents_who_opted_in_get_the_admin_notification_too() -> None:
    opted_in = AgentFactory(email="alice@shop.example")
    not_opted_in = AgentFactory(email="bob@shop.example")
    also_admin = AgentFactory(email="owner@shop.example")
    inactive = AgentFactory(email="gone@shop.example", is_active=False)
    of_other_chatbot = AgentFactory(email="carol@other.example")
    chatbot = ChatbotFactory(
        admin_email="owner@shop.example", agents=[opted_in, not_opted_in, also_admin, inactive]
    )
    ChatbotFactory(agents=[of_other_chatbot])
    for user in (opted_in, also_admin, inactive, of_other_chatbot):
        outbox.set_agent_preference(user=user, email_on_new_request=True)
    outbox.set_agent_preference(user=not_opted_in, email_on_new_request=False)

    support_request = _create(chatbot)

    rows = EmailNotification.objects.filter(support_request=support_request)
    assert sorted((r.kind, r.recipient) for r in rows) == [
        (EmailKind.ADMIN_NOTIFICATION, "owner@shop.example"),
        (EmailKind.AGENT_NOTIFICATION, "alice@shop.example"),
    ]


def test_a_superuser_who_opted_in_is_alerted_for_every_chatbot_like_any_agent_of_it() -> None:
    # Superusers serve every chatbot (the one rule of core/actors.py), listed or not, and
    # whether or not they are also staff.
    listed_staff = SuperuserFactory(email="root@ops.example")
    not_staff = SuperuserFactory(email="owner@ops.example", is_staff=False)
    inactive = SuperuserFactory(email="gone@ops.example", is_active=False)
    for user in (listed_staff, not_staff, inactive):
        outbox.set_agent_preference(user=user, email_on_new_request=True)
    chatbot = ChatbotFactory(admin_email="admin@shop.example")

    support_request = _create(chatbot)

    alerted = EmailNotification.objects.filter(
        support_request=support_request, kind=EmailKind.AGENT_NOTIFICATION
    )
    assert sorted(alerted.values_list("recipient", flat=True)) == [
        "owner@ops.example",
        "root@ops.example",
    ]


def test_a_reminder_is_planned_for_the_configured_time(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.PENDING_REMINDER_MINUTES = 10
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        support_request = _create(ChatbotFactory())

    reminder = DBTaskResult.objects.get(task_path=REMIND_TASK)
    assert reminder.task_result.args == [support_request.pk]
    assert before + timedelta(minutes=10) <= reminder.run_after
    assert reminder.run_after <= timezone.now() + timedelta(minutes=10)


def test_no_reminder_is_planned_when_reminders_are_off(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.PENDING_REMINDER_MINUTES = 0
    with django_capture_on_commit_callbacks(execute=True):
        _create(ChatbotFactory())

    assert not DBTaskResult.objects.filter(task_path=REMIND_TASK).exists()
    assert DBTaskResult.objects.filter(task_path=SEND_TASK).count() == 1


def test_with_the_console_mailer_a_send_prints_the_mail_and_marks_it_sent(
    settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    support_request = _create(ChatbotFactory(admin_email="owner@shop.example"))
    row = EmailNotification.objects.get(support_request=support_request)

    outcome = outbox.send_one(row.pk)

    assert outcome.status == "sent"
    assert "To: owner@shop.example" in capsys.readouterr().out
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert row.provider_message_id.startswith("<")


def test_a_row_already_sent_is_not_sent_again(settings: Any) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    from django.core import mail

    support_request = _create(ChatbotFactory())
    row = EmailNotification.objects.get(support_request=support_request)

    first = outbox.send_one(row.pk)
    second = outbox.send_one(row.pk)

    assert (first.status, second.status) == ("sent", "skipped")
    assert len(mail.outbox) == 1


def _visitor_confirmation_html(chatbot: Any, origin: str) -> str:
    from chatbots.services import session_start
    from support.email.rendering import build_message

    session, _ = session_start(chatbot=chatbot, origin=origin)
    support_request, _ = services.request_create(
        session=session, initial_message="Help", user_email="vera@example.com"
    )
    row = EmailNotification.objects.get(
        support_request=support_request, kind=EmailKind.VISITOR_CONFIRMATION
    )
    html, _ = build_message(row).alternatives[0]
    return str(html)


def test_the_confirmation_links_back_to_a_site_the_chatbot_lists() -> None:
    chatbot = ChatbotFactory(allowed_origins=["https://customer.example"])

    html = _visitor_confirmation_html(chatbot, "https://customer.example")

    assert 'href="https://customer.example/"' in html


def test_the_confirmation_carries_no_name_or_text_the_visitor_wrote() -> None:
    from support.email.rendering import build_message

    session, _ = make_session(ChatbotFactory(name="Shop"))
    support_request, _ = services.request_create(
        session=session,
        initial_message="Cheap pills at pills.example",
        user_name="Your bank says",
        user_email="stranger@example.com",
    )
    row = support_request.email_notifications.get(kind=EmailKind.VISITOR_CONFIRMATION)

    message = build_message(row)
    html, _ = message.alternatives[0]
    for part in (message.subject, message.body, str(html)):
        assert "pills" not in part
        assert "Your bank" not in part
    assert "Shop" in message.body


def test_the_confirmation_never_links_to_an_origin_the_chatbot_did_not_list() -> None:
    chatbot = ChatbotFactory(allowed_origins=["*"])

    html = _visitor_confirmation_html(chatbot, "https://evil.example")

    assert "evil.example" not in html
    assert "href=" not in html
