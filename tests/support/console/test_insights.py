"""/console/insights/: who sees which chatbot's figures, the page's queries, its charts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.actors import Agent
from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory, UserFactory
from tests.helpers import Scene
from tests.support.insights.data import handoff

pytestmark = pytest.mark.django_db

URL = "/console/insights/"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(user: Any, **headers: str) -> str:
    response = logged_in(user).get(URL, headers=headers)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def named(scene: Scene) -> Scene:
    scene.chatbot.name = "Shop helper"
    scene.chatbot.save(update_fields=["name"])
    scene.other_chatbot.name = "Rival desk"
    scene.other_chatbot.save(update_fields=["name"])
    return scene


def test_anonymous_visitors_are_sent_to_the_console_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/console/login/?next={URL}")


def test_a_logged_in_user_who_is_not_staff_is_refused() -> None:
    assert logged_in(UserFactory()).get(URL).status_code == 403


def test_an_agent_sees_their_chatbot_and_never_another(named: Scene) -> None:
    html = page(named.agent)
    assert "Shop helper" in html
    assert "Rival desk" not in html


def test_the_agent_of_the_other_chatbot_sees_only_theirs(named: Scene) -> None:
    html = page(named.other_agent)
    assert "Rival desk" in html
    assert "Shop helper" not in html


def test_a_superuser_sees_every_chatbot(named: Scene) -> None:
    html = page(named.superuser)
    assert "Shop helper" in html
    assert "Rival desk" in html


def test_an_agent_s_figures_count_none_of_another_chatbot_s_requests(named: Scene) -> None:
    now = timezone.now()
    for _ in range(6):
        handoff(named.other_chatbot, Agent(user=named.other_agent), now=now, ago=timedelta(days=1))
    html = page(named.agent)
    # The scene's one request: one request in all over the month, not seven.
    assert "1 request in all" in html
    assert "7 requests in all" not in html


def test_an_agent_who_serves_no_chatbot_is_told_so() -> None:
    assert "You serve no chatbot yet." in page(AgentFactory())


def test_the_page_escapes_chatbot_names(scene: Scene) -> None:
    scene.chatbot.name = '<script>alert("x")</script>'
    scene.chatbot.save(update_fields=["name"])
    html = page(scene.agent)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_the_console_navigation_links_the_insights() -> None:
    response = logged_in(AgentFactory()).get("/console/")
    assert f'href="{URL}"' in response.content.decode()


def test_the_charts_are_inline_svg_named_for_screen_readers(scene: Scene) -> None:
    html = page(scene.agent)
    assert '<svg class="insights-chart days-chart"' in html
    assert 'role="img" aria-label="Requests per day over the last 30 days' in html
    assert '<script src="http' not in html  # nothing from a CDN


def test_the_page_speaks_the_agent_s_language_right_to_left(scene: Scene) -> None:
    html = page(scene.agent, accept_language="ar")
    assert 'dir="rtl"' in html
    assert "معدل" in html  # "rate"


def _page_queries(user: Any) -> int:
    client = logged_in(user)
    client.get(URL)  # the session and the language preference settle on the first visit
    with CaptureQueriesContext(connection) as captured:
        assert client.get(URL).status_code == 200
    return len(captured)


def test_the_page_s_query_count_does_not_grow_with_chatbots_or_requests() -> None:
    superuser = SuperuserFactory()
    agent = AgentFactory()
    now = timezone.now()
    handoff(ChatbotFactory(agents=[agent]), Agent(user=agent), now=now, ago=timedelta(days=1))
    few = _page_queries(superuser)
    for n in range(5):
        chatbot = ChatbotFactory(agents=[agent])
        for days in range(4):
            handoff(
                chatbot,
                Agent(user=agent),
                now=now,
                ago=timedelta(days=days + n),
                join=timedelta(seconds=30),
                respond=timedelta(minutes=2),
                resolve=timedelta(hours=1),
            )
    assert _page_queries(superuser) == few
