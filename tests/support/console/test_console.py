"""The console's pages without a browser: who may see what, the forms, the CSP, query counts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from chatbots.models import Chatbot
from chatbots.visitors import Visitor
from core.actors import Agent
from support import services
from support.console.views import PAGE_SIZE
from support.models import RequestStatus, SenderType, SupportMessage, SupportRequest
from tests.factories import AgentFactory, ChatbotFactory, UserFactory, make_session
from tests.helpers import Scene

pytestmark = pytest.mark.django_db


def logged_in(user: Any, *, csrf_checks: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf_checks)
    client.force_login(user)
    return client


def open_request(chatbot: Chatbot, name: str, message: str = "Help") -> SupportRequest:
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(
        session=session, user_name=name, initial_message=message
    )
    return support_request


def detail_url(support_request: SupportRequest) -> str:
    return f"/console/requests/{support_request.request_id}/"


def test_the_conversation_url_is_the_one_written_in_emails(scene: Scene) -> None:
    url = reverse("console-request", kwargs={"request_id": scene.support_request.request_id})
    assert url == f"/console/requests/{scene.support_request.request_id}/"


@pytest.mark.parametrize("path", ["/console/", "/console/requests/", "/console/requests/x/"])
def test_anonymous_visitors_are_sent_to_the_console_login(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/console/login/?next={path}")


def test_a_logged_in_user_who_is_not_staff_is_refused(client: Client) -> None:
    client.force_login(UserFactory())
    assert client.get("/console/").status_code == 403


def test_an_agent_sees_the_requests_of_their_chatbots_only(scene: Scene) -> None:
    open_request(scene.other_chatbot, "Otto")
    response = logged_in(scene.agent).get("/console/")
    assert response.status_code == 200
    pending = [r.user_name for r in response.context["pending"]]
    assert pending == ["Vera"]
    assert b"Otto" not in response.content


def test_pending_requests_are_listed_oldest_first_with_their_waiting_time(scene: Scene) -> None:
    open_request(scene.chatbot, "Walter")
    response = logged_in(scene.agent).get("/console/")
    assert [r.user_name for r in response.context["pending"]] == ["Vera", "Walter"]
    assert re.search(rb'<time class="waiting" datetime="[^"]+">', response.content)


def test_a_request_of_another_chatbot_answers_404_to_an_agent(scene: Scene) -> None:
    client = logged_in(scene.other_agent)
    assert client.get(detail_url(scene.support_request)).status_code == 404
    join = client.post(f"{detail_url(scene.support_request)}join")
    assert join.status_code == 404
    scene.support_request.refresh_from_db()
    assert scene.support_request.status == RequestStatus.PENDING


def test_a_superuser_sees_every_chatbot(scene: Scene) -> None:
    open_request(scene.other_chatbot, "Otto")
    response = logged_in(scene.superuser).get("/console/")
    assert {r.user_name for r in response.context["pending"]} == {"Vera", "Otto"}


def test_the_conversation_page_shows_the_visitor_the_transcript_and_the_messages(
    scene: Scene,
) -> None:
    from chatbots.services import bot_message

    bot_message(session=scene.visitor.session, text="Where is my order?")
    response = logged_in(scene.agent).get(detail_url(scene.support_request))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="visitor-name">Vera<' in page
    assert "Where is my order?" in page  # the bot transcript
    assert "My order is late" in page  # the first message of the request
    assert 'data-status="pending"' in page
    assert "Waiting for an agent" in page


def test_join_resolve_and_close_are_form_posts_through_the_services(scene: Scene) -> None:
    client = logged_in(scene.agent)
    base = detail_url(scene.support_request)
    for action, status in (
        ("join", RequestStatus.ACTIVE),
        ("resolve", RequestStatus.RESOLVED),
        ("close", RequestStatus.CLOSED),
    ):
        response = client.post(f"{base}{action}")
        assert response.status_code == 302
        assert response["Location"] == base
        scene.support_request.refresh_from_db()
        assert scene.support_request.status == status
    system = SupportMessage.objects.filter(
        support_request=scene.support_request, sender_type=SenderType.SYSTEM
    ).values_list("message", flat=True)
    assert list(system) == ["Alice joined", "Resolved by Alice", "Closed by Alice"]


def test_a_second_join_shows_who_has_the_request(scene: Scene) -> None:
    services.request_join(support_request=scene.support_request, agent=Agent(scene.agent))
    colleague = AgentFactory(first_name="Bob")
    scene.chatbot.agents.add(colleague)
    client = logged_in(colleague)
    response = client.post(f"{detail_url(scene.support_request)}join", follow=True)
    assert "Alice has already joined this request." in response.content.decode()
    assert "Alice has it" in response.content.decode()


def test_console_forms_need_the_csrf_token(scene: Scene) -> None:
    client = logged_in(scene.agent, csrf_checks=True)
    assert client.post(f"{detail_url(scene.support_request)}join").status_code == 403
    scene.support_request.refresh_from_db()
    assert scene.support_request.status == RequestStatus.PENDING


def test_the_message_form_posts_once_per_client_id(scene: Scene) -> None:
    services.request_join(support_request=scene.support_request, agent=Agent(scene.agent))
    client = logged_in(scene.agent)
    url = f"{detail_url(scene.support_request)}messages"
    for _ in range(2):
        client.post(url, {"message": "Hello Vera", "client_id": "form-1"})
    assert SupportMessage.objects.filter(message="Hello Vera").count() == 1


def test_writing_before_joining_is_refused_with_a_message(scene: Scene) -> None:
    client = logged_in(scene.agent)
    response = client.post(
        f"{detail_url(scene.support_request)}messages", {"message": "Hi"}, follow=True
    )
    assert "Join the request before writing to the visitor." in response.content.decode()
    assert not SupportMessage.objects.filter(message="Hi").exists()


def test_all_requests_filter_by_status_and_chatbot_and_search(scene: Scene) -> None:
    second_bot = ChatbotFactory(agents=[scene.agent])
    open_request(second_bot, "Walter", "Broken screen")
    closed = open_request(scene.chatbot, "Xavier", "Refund please")
    services.request_close(support_request=closed, actor=Agent(scene.agent))
    client = logged_in(scene.agent)

    def names(**params: str) -> list[str]:
        response = client.get("/console/requests/", params)
        return sorted(r.user_name for r in response.context["page"])

    assert names() == ["Vera", "Walter", "Xavier"]
    assert names(status="closed") == ["Xavier"]
    assert names(chatbot=str(second_bot.id)) == ["Walter"]
    assert names(q="screen") == ["Walter"]
    assert names(q=closed.request_id) == ["Xavier"]
    assert names(chatbot=str(scene.other_chatbot.id)) == ["Vera", "Walter", "Xavier"]


def test_all_requests_paginate_and_keep_the_filters(scene: Scene) -> None:
    for n in range(PAGE_SIZE):
        open_request(scene.chatbot, f"Visitor {n}")
    client = logged_in(scene.agent)
    first = client.get("/console/requests/", {"status": "pending"})
    assert len(first.context["page"]) == PAGE_SIZE
    assert 'href="?status=pending&amp;page=2"' in first.content.decode()
    second = client.get("/console/requests/", {"status": "pending", "page": "2"})
    assert len(second.context["page"]) == 1


def test_console_pages_have_no_inline_script_or_style(scene: Scene) -> None:
    client = logged_in(scene.agent)
    for path in ("/console/", "/console/requests/", detail_url(scene.support_request)):
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        page = response.content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
        assert "<style" not in page
        assert not re.search(r"\sstyle=", page)


def test_console_text_is_escaped(scene: Scene) -> None:
    request = open_request(scene.chatbot, "<img src=x onerror=alert(1)>", "<script>x</script>")
    client = logged_in(scene.agent)
    for path in ("/console/", "/console/requests/", detail_url(request)):
        page = client.get(path).content.decode()
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


def queries_for(client: Client, path: str, django_assert_max_num_queries: Any, limit: int) -> None:
    with django_assert_max_num_queries(limit):
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("count", [1, 20])
def test_the_queue_page_runs_a_fixed_number_of_queries(
    scene: Scene, django_assert_max_num_queries: Any, count: int
) -> None:
    for n in range(count):
        request = open_request(scene.chatbot, f"V{n}")
        if n % 2:
            services.request_join(support_request=request, agent=Agent(scene.agent))
    queries_for(logged_in(scene.agent), "/console/", django_assert_max_num_queries, 4)


@pytest.mark.parametrize("count", [1, 20])
def test_the_list_page_runs_a_fixed_number_of_queries(
    scene: Scene, django_assert_max_num_queries: Any, count: int
) -> None:
    for n in range(count):
        request = open_request(scene.chatbot, f"V{n}")
        services.request_join(support_request=request, agent=Agent(scene.agent))
    queries_for(logged_in(scene.agent), "/console/requests/", django_assert_max_num_queries, 5)


@pytest.mark.parametrize("count", [1, 30])
def test_the_conversation_page_runs_a_fixed_number_of_queries(
    scene: Scene, django_assert_max_num_queries: Any, count: int
) -> None:
    services.request_join(support_request=scene.support_request, agent=Agent(scene.agent))
    for n in range(count):
        services.message_post(
            support_request=scene.support_request, actor=Agent(scene.agent), text=f"m{n}"
        )
    queries_for(
        logged_in(scene.agent), detail_url(scene.support_request), django_assert_max_num_queries, 5
    )


def test_the_demo_page_embeds_the_demo_chatbot_widget(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_AGENT_PASSWORD", "a-demo-password-for-the-tests")
    missing = client.get("/demo/")
    assert missing.status_code == 404
    assert "python manage.py demo" in missing.content.decode()
    call_command("demo", stdout=None)
    chatbot = Chatbot.objects.get(name="Handoff demo shop")
    page = client.get("/demo/").content.decode()
    assert (
        f'<script src="/static/widget/chatbot-widget.js" data-chatbot="{chatbot.key}" async>'
        in page
    )


def test_a_message_with_a_bidirectional_override_is_shown_isolated(scene: Scene) -> None:
    services.message_post(
        support_request=scene.support_request,
        actor=Visitor(scene.visitor.session),
        text="see \u202egnp.exe",
    )
    page = logged_in(scene.agent).get(detail_url(scene.support_request)).content.decode()
    assert '<p class="text" dir="auto"><bdi>see \u202egnp.exe</bdi></p>' in page
    queue = logged_in(scene.agent).get("/console/").content.decode()
    assert '<td class="excerpt" dir="auto"><bdi>My order is late</bdi></td>' in queue


def test_search_by_text_says_it_is_unavailable_while_encryption_is_on(
    scene: Scene, field_encryption: list[str]
) -> None:
    walter = open_request(scene.chatbot, "Walter", "Broken screen")
    client = logged_in(scene.agent)

    by_text = client.get("/console/requests/", {"q": "screen"})
    by_id = client.get("/console/requests/", {"q": walter.request_id})

    assert list(by_text.context["page"]) == []
    assert "Search by name, email or message is not available while encryption at rest is on" in (
        by_text.content.decode()
    )
    assert [r.user_name for r in by_id.context["page"]] == ["Walter"]


def test_search_by_text_is_offered_without_encryption(scene: Scene) -> None:
    page = logged_in(scene.agent).get("/console/requests/").content.decode()

    assert "Name, email, message or id" in page
    assert "encryption at rest" not in page
