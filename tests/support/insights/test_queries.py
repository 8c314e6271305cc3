"""The insights' figures on a known data set, per window, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.actors import Agent
from support.insights.queries import Insights, WindowFigures, insights_for, percentile_cont
from support.models import EmailStatus, SupportRequest
from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory, UserFactory
from tests.support.insights.data import handoff, set_email_status

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
DAY = timedelta(days=1)


@pytest.fixture
def known() -> Insights:
    """Three requests in the last 7 days, five in the last 30, one older."""
    agent = AgentFactory()
    chatbot = ChatbotFactory(name="Known", agents=[agent])
    actor = Agent(user=agent)
    now = timezone.now()
    r1 = handoff(
        chatbot, actor, now=now, ago=2 * DAY, join=60 * S, respond=120 * S, resolve=600 * S
    )
    r2 = handoff(
        chatbot, actor, now=now, ago=3 * DAY, join=120 * S, respond=300 * S, resolve=1200 * S,
        reopen=True,
    )  # fmt: skip
    r3 = handoff(chatbot, actor, now=now, ago=5 * DAY, join=180 * S)
    r4 = handoff(
        chatbot, actor, now=now, ago=20 * DAY, join=240 * S, respond=300 * S, resolve=3600 * S
    )
    r5 = handoff(chatbot, actor, now=now, ago=25 * DAY, close=True)
    r6 = handoff(chatbot, actor, now=now, ago=40 * DAY, join=10 * S, respond=10 * S)
    set_email_status(r1, EmailStatus.DELIVERED)
    set_email_status(r2, EmailStatus.BOUNCED)
    set_email_status(r3, EmailStatus.SENT)
    set_email_status(r4, EmailStatus.DELIVERED)
    set_email_status(r5, EmailStatus.QUEUED)
    set_email_status(r6, EmailStatus.DELIVERED)
    return insights_for(user=agent, now=now)


def window(insights: Insights, days: int) -> WindowFigures:
    (chatbot,) = insights.chatbots
    return chatbot.windows[days]


def test_requests_are_counted_per_window(known: Insights) -> None:
    assert window(known, 7).requests == 3
    assert window(known, 30).requests == 5


def test_time_to_join_runs_from_the_request_s_creation_not_the_bot_chat(known: Insights) -> None:
    # Joins 60, 120, 180 s (7 days) and 240 s (30 days) after the handoff; each visitor had
    # chatted with the bot for an hour before it, which no figure counts.
    assert window(known, 7).time("join").median == 120 * S
    assert window(known, 7).time("join").p90 == 168 * S  # 120 + 0.8 * 60, interpolated
    assert window(known, 30).time("join").median == 150 * S
    assert window(known, 30).time("join").p90 == 222 * S


def test_time_to_first_human_response_counts_answered_requests_only(known: Insights) -> None:
    assert window(known, 7).time("response").median == 210 * S
    assert window(known, 7).time("response").p90 == 282 * S
    assert window(known, 30).time("response").median == 300 * S


def test_time_to_resolution_runs_from_the_creation_to_the_last_resolution(known: Insights) -> None:
    assert window(known, 7).time("resolution").median == 900 * S
    assert window(known, 30).time("resolution").median == 1200 * S
    assert window(known, 30).time("resolution").p90 == 3120 * S  # 1200 + 0.8 * 2400


def test_resolution_rate_is_resolved_among_all_requests(known: Insights) -> None:
    assert (window(known, 7).resolved, window(known, 7).requests) == (2, 3)
    assert window(known, 30).resolution_rate == pytest.approx(3 / 5)


def test_reopen_rate_is_reopened_among_requests_resolved_at_least_once(known: Insights) -> None:
    assert window(known, 7).reopen_rate == pytest.approx(1 / 2)
    assert window(known, 30).reopen_rate == pytest.approx(1 / 3)


def test_delivery_rate_is_delivered_among_sent_delivered_bounced_or_failed(
    known: Insights,
) -> None:
    assert (window(known, 7).emails_delivered, window(known, 7).emails_attempted) == (1, 3)
    assert window(known, 30).delivery_rate == pytest.approx(2 / 4)  # the queued one waits


def test_requests_per_day_cover_the_last_30_days_with_today_last(known: Insights) -> None:
    (chatbot,) = known.chatbots
    assert len(chatbot.daily) == 30
    assert chatbot.daily[-1][0] == timezone.localdate(known.now)
    assert sum(count for _, count in chatbot.daily) == 5
    assert chatbot.daily[-3][1] == 1  # two days ago


def test_a_reopen_is_counted_on_the_request() -> None:
    agent = AgentFactory()
    chatbot = ChatbotFactory(agents=[agent])
    request = handoff(
        chatbot, Agent(user=agent), now=timezone.now(), ago=DAY, join=S, resolve=S, reopen=True
    )
    assert SupportRequest.objects.get(pk=request.pk).reopened_count == 1


def test_a_window_without_requests_has_no_figures() -> None:
    agent = AgentFactory()
    ChatbotFactory(agents=[agent])
    empty = window(insights_for(user=agent), 30)
    assert (empty.requests, empty.resolution_rate, empty.time("join").median) == (0, None, None)


def test_an_agent_gets_the_figures_of_their_chatbots_only() -> None:
    agent, other = AgentFactory(), AgentFactory()
    mine = ChatbotFactory(name="Mine", agents=[agent])
    theirs = ChatbotFactory(name="Theirs", agents=[other])
    now = timezone.now()
    handoff(mine, Agent(user=agent), now=now, ago=DAY)
    for _ in range(2):
        handoff(theirs, Agent(user=other), now=now, ago=DAY)
    insights = insights_for(user=agent)
    assert [(c.name, c.windows[30].requests) for c in insights.chatbots] == [("Mine", 1)]


def test_a_superuser_gets_every_chatbot_and_a_non_agent_none() -> None:
    ChatbotFactory(name="B"), ChatbotFactory(name="A")
    assert [c.name for c in insights_for(user=SuperuserFactory()).chatbots] == ["A", "B"]
    assert insights_for(user=UserFactory()).chatbots == []


def _query_count(user: object) -> int:
    with CaptureQueriesContext(connection) as captured:
        insights_for(user=user)
    return len(captured)


def test_the_query_count_does_not_grow_with_requests_or_chatbots() -> None:
    superuser = SuperuserFactory()
    agent = AgentFactory()
    first = ChatbotFactory(agents=[agent])
    now = timezone.now()
    handoff(first, Agent(user=agent), now=now, ago=DAY, join=S)
    few = _query_count(superuser)
    for n in range(4):
        chatbot = ChatbotFactory(agents=[agent])
        for days in range(3):
            handoff(chatbot, Agent(user=agent), now=now, ago=(days + n) * DAY, join=S, resolve=S)
    assert _query_count(superuser) == few
    # chatbots, request figures, per day, emails (+ the durations on SQLite)
    assert few == (4 if connection.vendor == "postgresql" else 5)


def test_sqlite_percentiles_interpolate_as_postgresql_does() -> None:
    values = [timedelta(seconds=s) for s in (60, 120, 180, 240, 600)]
    assert percentile_cont(values, 0.5) == 180 * S
    assert percentile_cont(values, 0.9) == 456 * S
    assert percentile_cont([], 0.5) is None


def test_the_bound_on_sqlite_durations_is_said() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL computes the percentiles in the database, unbounded")
    agent = AgentFactory()
    chatbot = ChatbotFactory(agents=[agent])
    now = timezone.now()
    for days in (1, 2):
        handoff(chatbot, Agent(user=agent), now=now, ago=days * DAY, join=days * S)
    insights = insights_for(user=agent, now=now, sqlite_rows=1)
    assert insights.percentiles_sampled
    assert insights.chatbots[0].windows[7].time("join").median == S  # the newest only
