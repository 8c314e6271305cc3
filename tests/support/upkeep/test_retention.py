"""The retention purge (support/upkeep/retention.py) and `manage.py purge_requests`."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from chatbots.models import Chatbot, ChatMessage, ChatSession
from chatbots.services import bot_message, chatbot_update
from core.actors import Agent
from support import services
from support.models import EmailNotification, SupportMessage, SupportRequest
from tests.factories import AgentFactory, ChatbotFactory
from tests.helpers import VisitorClient, assert_error, visitor_client

pytestmark = pytest.mark.django_db


def closed_request(chatbot: Chatbot, *, days_ago: float) -> tuple[SupportRequest, VisitorClient]:
    """A request with a bot conversation before it, closed `days_ago` days ago."""
    visitor = visitor_client(chatbot)
    bot_message(session=visitor.session, text="Where is my order?")
    support_request, _ = services.request_create(
        session=visitor.session, user_name="Vera", initial_message="My order is late"
    )
    services.request_close(support_request=support_request, actor=Agent(AgentFactory()))
    SupportRequest.objects.filter(pk=support_request.pk).update(
        closed_at=timezone.now() - timedelta(days=days_ago)
    )
    return support_request, visitor


def open_request(chatbot: Chatbot, *, days_ago: float) -> SupportRequest:
    visitor = visitor_client(chatbot)
    support_request, _ = services.request_create(
        session=visitor.session, initial_message="Still waiting"
    )
    SupportRequest.objects.filter(pk=support_request.pk).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )
    return support_request


def purge(*args: str) -> str:
    out = StringIO()
    call_command("purge_requests", *args, stdout=out)
    return out.getvalue()


def exists(support_request: SupportRequest) -> bool:
    return SupportRequest.objects.filter(pk=support_request.pk).exists()


@override_settings(RETENTION_DAYS=30)
def test_purge_removes_a_request_closed_longer_ago_than_the_retention_with_all_its_data() -> None:
    chatbot = ChatbotFactory()
    old, visitor = closed_request(chatbot, days_ago=31)
    assert EmailNotification.objects.filter(support_request=old).exists()

    output = purge()

    assert not exists(old)
    assert not SupportMessage.objects.filter(support_request_id=old.pk).exists()
    assert not EmailNotification.objects.filter(support_request_id=old.pk).exists()
    assert not ChatSession.objects.filter(pk=visitor.session.pk).exists()
    assert not ChatMessage.objects.filter(session_id=visitor.session.pk).exists()
    assert output.startswith("Removed 1 request, ")
    assert "1 bot conversation (2 bot messages)" in output


@override_settings(RETENTION_DAYS=30)
def test_purge_keeps_open_and_recently_closed_requests() -> None:
    chatbot = ChatbotFactory()
    recent, _ = closed_request(chatbot, days_ago=29)
    still_open = open_request(chatbot, days_ago=400)

    purge()

    assert exists(recent)
    assert exists(still_open)


@override_settings(RETENTION_DAYS=30)
def test_a_chatbots_own_retention_days_wins_over_the_installations() -> None:
    short = ChatbotFactory(retention_days=5)
    default = ChatbotFactory(retention_days=None)
    forever = ChatbotFactory(retention_days=0)
    short_old, _ = closed_request(short, days_ago=6)
    default_young, _ = closed_request(default, days_ago=6)
    default_old, _ = closed_request(default, days_ago=31)
    forever_old, _ = closed_request(forever, days_ago=3000)

    purge()

    assert not exists(short_old)
    assert exists(default_young)
    assert not exists(default_old)
    assert exists(forever_old)


@override_settings(RETENTION_DAYS=0)
def test_retention_days_0_for_the_installation_keeps_everything() -> None:
    old, _ = closed_request(ChatbotFactory(), days_ago=3000)

    assert purge().startswith("Removed 0 requests")
    assert exists(old)


@override_settings(RETENTION_DAYS=365)
def test_days_overrides_every_chatbots_retention() -> None:
    forever = ChatbotFactory(retention_days=0)
    old, _ = closed_request(forever, days_ago=11)
    young, _ = closed_request(forever, days_ago=9)

    purge("--days", "10")

    assert not exists(old)
    assert exists(young)


@override_settings(RETENTION_DAYS=30)
def test_dry_run_removes_nothing_and_prints_the_counts() -> None:
    old, visitor = closed_request(ChatbotFactory(), days_ago=31)
    messages = SupportMessage.objects.filter(support_request=old).count()
    emails = EmailNotification.objects.filter(support_request=old).count()

    output = purge("--dry-run")

    # The first message and the close's system line; the admin's notification.
    assert (messages, emails) == (2, 1)
    assert output == (
        "Would remove 1 request, 2 messages, 1 email, 1 bot conversation (2 bot messages).\n"
    )
    assert exists(old)
    assert ChatSession.objects.filter(pk=visitor.session.pk).exists()


@override_settings(RETENTION_DAYS=30)
def test_a_conversation_with_a_kept_request_stays_while_its_old_request_goes() -> None:
    chatbot = ChatbotFactory()
    old, visitor = closed_request(chatbot, days_ago=31)
    reopened, _ = services.request_create(session=visitor.session, initial_message="Again")

    purge()

    assert not exists(old)
    assert exists(reopened)
    assert ChatSession.objects.filter(pk=visitor.session.pk).exists()


@override_settings(RETENTION_DAYS=30)
def test_the_visitor_token_of_a_purged_request_answers_401() -> None:
    old, visitor = closed_request(ChatbotFactory(), days_ago=31)
    url = f"/human-support/requests/{old.request_id}"
    assert visitor.client.get(url).status_code == 200

    purge()

    assert_error(visitor.client.get(url), 401)


def test_retention_days_is_changed_through_the_chatbot_services() -> None:
    chatbot = chatbot_update(chatbot=ChatbotFactory(), retention_days=90)

    assert Chatbot.objects.get(pk=chatbot.pk).retention_days == 90


def test_days_below_1_is_refused() -> None:
    with pytest.raises(SystemExit):
        call_command("purge_requests", "--days", "0", stdout=StringIO(), stderr=StringIO())
