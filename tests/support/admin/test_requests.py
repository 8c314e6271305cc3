"""The Django admin: scoped to the agent's chatbots, read-only requests, service actions."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.text import capfirst
from playwright.sync_api import Browser, Page, expect, sync_playwright

from chatbots.models import Chatbot
from core.actors import Agent
from core.errors import CANNOT_TRANSITION, REQUEST_CLOSED
from support import services
from support.actions import REQUEST_ACTIONS
from support.models import RequestStatus, SenderType, SupportRequest
from support.permissions import AGENTS_GROUP, grant_agent_permissions
from tests.factories import (
    PASSWORD,
    AgentFactory,
    ChatbotFactory,
    FAQEntryFactory,
    SuperuserFactory,
    make_session,
)
from tests.helpers import capture_events, live_database_url
from tests.servers import DaphneServer

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:support_supportrequest_changelist"
CHATBOT_CHANGELIST = "admin:chatbots_chatbot_changelist"


@dataclass
class AdminScene:
    chatbot: Chatbot
    other_chatbot: Chatbot
    agent: Any
    other_agent: Any
    superuser: Any
    support_request: SupportRequest
    other_request: SupportRequest


def open_request(chatbot: Chatbot, **kwargs: Any) -> SupportRequest:
    session, _ = make_session(chatbot)
    kwargs.setdefault("initial_message", "My order is late")
    support_request, _ = services.request_create(session=session, **kwargs)
    return support_request


@pytest.fixture
def admin_scene(db: None) -> AdminScene:
    agent = AgentFactory(first_name="Alice")
    other_agent = AgentFactory(first_name="Bob")
    grant_agent_permissions(agent)
    grant_agent_permissions(other_agent)
    chatbot = ChatbotFactory(name="Shop bot", agents=[agent])
    other_chatbot = ChatbotFactory(name="Bank bot", agents=[other_agent])
    return AdminScene(
        chatbot=chatbot,
        other_chatbot=other_chatbot,
        agent=agent,
        other_agent=other_agent,
        superuser=SuperuserFactory(first_name="Root"),
        support_request=open_request(chatbot, user_name="Vera", user_email="vera@example.com"),
        other_request=open_request(other_chatbot, user_name="Otto", user_email="otto@example.com"),
    )


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(support_request: SupportRequest) -> str:
    return reverse("admin:support_supportrequest_change", args=[support_request.pk])


def run_action(client: Client, action: str, *requests: SupportRequest) -> Any:
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [r.pk for r in requests]},
        follow=True,
    )


def page_messages(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- who sees what -------------------------------------------------------------------------


def test_superuser_sees_the_requests_of_every_chatbot(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.superuser).get(reverse(CHANGELIST))

    assert response.status_code == 200
    shown = {r.request_id for r in response.context["cl"].result_list}
    assert shown == {admin_scene.support_request.request_id, admin_scene.other_request.request_id}


def test_agent_sees_only_the_requests_of_their_chatbots(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.agent).get(reverse(CHANGELIST))

    assert response.status_code == 200
    shown = {r.request_id for r in response.context["cl"].result_list}
    assert shown == {admin_scene.support_request.request_id}
    assert admin_scene.other_request.request_id not in response.text
    assert "Otto" not in response.text


def test_agent_chatbot_filter_offers_only_their_chatbots(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.agent).get(reverse(CHANGELIST))

    assert "Shop bot" in response.text
    assert "Bank bot" not in response.text


def test_agent_of_another_chatbot_cannot_open_the_request_change_page(
    admin_scene: AdminScene,
) -> None:
    response = logged_in(admin_scene.other_agent).get(change_url(admin_scene.support_request))

    # The admin answers "does not exist" (redirect to the index), exactly as for a bad id.
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    followed = logged_in(admin_scene.other_agent).get(
        change_url(admin_scene.support_request), follow=True
    )
    assert "Vera" not in followed.text
    assert admin_scene.support_request.request_id not in followed.text


def test_agent_opens_the_change_page_of_their_own_request(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.agent).get(change_url(admin_scene.support_request))

    assert response.status_code == 200
    assert "Vera" in response.text


def test_staff_user_outside_the_agents_group_is_refused(admin_scene: AdminScene) -> None:
    stranger = AgentFactory()

    response = logged_in(stranger).get(reverse(CHANGELIST))

    assert response.status_code == 403


@pytest.mark.parametrize("side", ["chatbot.agents", "user.served_chatbots"])
def test_staff_user_made_an_agent_anywhere_joins_the_agents_group(
    admin_scene: AdminScene, side: str
) -> None:
    newcomer = AgentFactory()
    assert not newcomer.groups.filter(name=AGENTS_GROUP).exists()

    if side == "chatbot.agents":
        admin_scene.chatbot.agents.add(newcomer)
    else:
        newcomer.served_chatbots.add(admin_scene.chatbot)

    assert newcomer.groups.filter(name=AGENTS_GROUP).exists()
    listing = logged_in(newcomer).get(reverse(CHANGELIST))
    assert [r.pk for r in listing.context["cl"].result_list] == [admin_scene.support_request.pk]


def test_agent_cannot_add_requests(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.agent).get(reverse("admin:support_supportrequest_add"))

    assert response.status_code == 403


def test_nobody_deletes_requests_from_the_admin(admin_scene: AdminScene) -> None:
    url = reverse("admin:support_supportrequest_delete", args=[admin_scene.support_request.pk])

    assert logged_in(admin_scene.agent).post(url, {"post": "yes"}).status_code == 403
    assert logged_in(admin_scene.superuser).post(url, {"post": "yes"}).status_code == 403
    assert SupportRequest.objects.filter(pk=admin_scene.support_request.pk).exists()


def queries_for(client: Client, url: str) -> int:
    client.get(url)  # warm per-process caches (content types, permissions) first
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_request_changelist_query_count_does_not_grow_with_rows(admin_scene: AdminScene) -> None:
    client = logged_in(admin_scene.agent)
    few = queries_for(client, reverse(CHANGELIST))

    for n in range(10):
        request = open_request(admin_scene.chatbot, user_name=f"Visitor {n}")
        services.request_join(support_request=request, agent=Agent(admin_scene.agent))

    assert queries_for(client, reverse(CHANGELIST)) == few


def test_request_change_page_query_count_does_not_grow_with_messages(
    admin_scene: AdminScene,
) -> None:
    client = logged_in(admin_scene.agent)
    request = admin_scene.support_request
    services.request_join(support_request=request, agent=Agent(admin_scene.agent))
    few = queries_for(client, change_url(request))

    for n in range(10):
        services.message_post(support_request=request, actor=Agent(admin_scene.agent), text=f"{n}")

    assert queries_for(client, change_url(request)) == few


# --- list filters and search -----------------------------------------------------------------


def test_changelist_filters_by_status(admin_scene: AdminScene) -> None:
    services.request_join(
        support_request=admin_scene.support_request, agent=Agent(admin_scene.agent)
    )

    client = logged_in(admin_scene.superuser)
    active = client.get(reverse(CHANGELIST), {"status__exact": "active"})
    pending = client.get(reverse(CHANGELIST), {"status__exact": "pending"})

    assert [r.pk for r in active.context["cl"].result_list] == [admin_scene.support_request.pk]
    assert [r.pk for r in pending.context["cl"].result_list] == [admin_scene.other_request.pk]


def test_changelist_filters_by_chatbot(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.superuser).get(
        reverse(CHANGELIST), {"chatbot__id__exact": admin_scene.other_chatbot.pk}
    )

    assert [r.pk for r in response.context["cl"].result_list] == [admin_scene.other_request.pk]


@pytest.mark.parametrize("field", ["user_name", "user_email", "request_id"])
def test_changelist_searches_by_name_email_and_request_id(
    admin_scene: AdminScene, field: str
) -> None:
    term = getattr(admin_scene.other_request, field)

    response = logged_in(admin_scene.superuser).get(reverse(CHANGELIST), {"q": term})

    assert [r.pk for r in response.context["cl"].result_list] == [admin_scene.other_request.pk]


def test_agent_search_does_not_reach_another_chatbots_requests(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.agent).get(reverse(CHANGELIST), {"q": "Otto"})

    assert list(response.context["cl"].result_list) == []


# --- the change page is read-only ------------------------------------------------------------


def test_request_change_page_is_read_only_and_lists_the_messages(
    admin_scene: AdminScene,
) -> None:
    services.request_join(
        support_request=admin_scene.support_request, agent=Agent(admin_scene.agent)
    )
    services.message_post(
        support_request=admin_scene.support_request,
        actor=Agent(admin_scene.agent),
        text="Let me check that for you",
    )

    response = logged_in(admin_scene.agent).get(change_url(admin_scene.support_request))

    assert response.status_code == 200
    assert 'name="_save"' not in response.text
    assert "<textarea" not in response.text
    assert 'name="messages-0-message"' not in response.text
    assert "My order is late" in response.text
    assert "Alice joined" in response.text
    assert "Let me check that for you" in response.text


def test_posting_the_request_change_form_changes_nothing(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.superuser).post(
        change_url(admin_scene.support_request),
        {"status": "closed", "user_name": "Mallory", "_save": "Save"},
    )

    assert response.status_code == 403
    admin_scene.support_request.refresh_from_db()
    assert admin_scene.support_request.status == RequestStatus.PENDING
    assert admin_scene.support_request.user_name == "Vera"


# --- status actions go through the services ---------------------------------------------------


def test_join_action_makes_the_request_active_through_the_service(
    admin_scene: AdminScene,
) -> None:
    client = logged_in(admin_scene.agent)

    with capture_events() as published:
        response = run_action(client, "join_requests", admin_scene.support_request)

    admin_scene.support_request.refresh_from_db()
    assert admin_scene.support_request.status == RequestStatus.ACTIVE
    assert admin_scene.support_request.assigned_agent == admin_scene.agent
    assert admin_scene.support_request.admin_joined_at is not None
    system = admin_scene.support_request.messages.filter(sender_type=SenderType.SYSTEM)
    assert [m.message for m in system] == ["Alice joined"]
    assert "1 request joined." in page_messages(response)
    statuses = [p.event for p in published if p.event["type"] == "support.status"]
    assert [(s["status"], s["agent_name"]) for s in statuses] == [("active", "Alice")]


def test_resolve_and_close_actions_walk_the_status_machine(admin_scene: AdminScene) -> None:
    client = logged_in(admin_scene.agent)
    request = admin_scene.support_request

    run_action(client, "join_requests", request)
    resolved = run_action(client, "resolve_requests", request)
    request.refresh_from_db()
    assert request.status == RequestStatus.RESOLVED
    assert request.resolved_at is not None
    assert "1 request resolved." in page_messages(resolved)

    closed = run_action(client, "close_requests", request)
    request.refresh_from_db()
    assert request.status == RequestStatus.CLOSED
    assert request.closed_at is not None
    assert "1 request closed." in page_messages(closed)
    system = [m.message for m in request.messages.filter(sender_type=SenderType.SYSTEM)]
    assert system == ["Alice joined", "Resolved by Alice", "Closed by Alice"]


def test_join_from_the_request_page_goes_through_the_service(admin_scene: AdminScene) -> None:
    client = logged_in(admin_scene.agent)
    page = client.get(change_url(admin_scene.support_request))
    assert '<option value="join_requests">Join</option>' in page.text

    response = client.post(
        change_url(admin_scene.support_request),
        {"CHANGE_FORM-action": "join_requests", "_selected_action": admin_scene.support_request.pk},
        follow=True,
    )

    admin_scene.support_request.refresh_from_db()
    assert admin_scene.support_request.status == RequestStatus.ACTIVE
    assert "1 request joined." in page_messages(response)
    assert "Alice joined" in response.text


def test_illegal_action_is_refused_with_a_message_and_changes_nothing(
    admin_scene: AdminScene,
) -> None:
    request = admin_scene.support_request
    messages_before = request.messages.count()

    response = run_action(logged_in(admin_scene.agent), "resolve_requests", request)

    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert request.resolved_at is None
    assert request.messages.count() == messages_before
    expected = CANNOT_TRANSITION.format(status="pending", verb="resolved")
    assert page_messages(response) == [f"{request.request_id}: {expected}"]


def test_closing_a_closed_request_is_refused_with_a_message(admin_scene: AdminScene) -> None:
    client = logged_in(admin_scene.agent)
    request = admin_scene.support_request
    run_action(client, "close_requests", request)
    request.refresh_from_db()
    closed_at = request.closed_at

    response = run_action(client, "close_requests", request)

    request.refresh_from_db()
    assert request.closed_at == closed_at
    assert page_messages(response) == [f"{request.request_id}: {REQUEST_CLOSED}"]


def test_one_refused_request_does_not_stop_the_others(admin_scene: AdminScene) -> None:
    client = logged_in(admin_scene.superuser)
    first, second = admin_scene.support_request, admin_scene.other_request
    services.request_join(support_request=first, agent=Agent(admin_scene.agent))

    response = run_action(client, "join_requests", first, second)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.assigned_agent == admin_scene.agent
    assert second.status == RequestStatus.ACTIVE
    assert second.assigned_agent == admin_scene.superuser
    assert "1 request joined." in page_messages(response)
    assert f"{first.request_id}: Alice has already joined this request." in page_messages(response)


def test_agent_action_on_another_chatbots_request_changes_nothing(
    admin_scene: AdminScene,
) -> None:
    run_action(logged_in(admin_scene.agent), "join_requests", admin_scene.other_request)

    admin_scene.other_request.refresh_from_db()
    assert admin_scene.other_request.status == RequestStatus.PENDING
    assert admin_scene.other_request.assigned_agent is None


# --- escaping and the content security policy --------------------------------------------------


def test_script_in_user_name_is_escaped_in_changelist_and_change_page(
    admin_scene: AdminScene,
) -> None:
    evil = open_request(
        admin_scene.chatbot,
        user_name="<script>alert(1)</script>",
        initial_message="<img src=x onerror=alert(2)>",
    )
    client = logged_in(admin_scene.agent)

    changelist = client.get(reverse(CHANGELIST))
    change = client.get(change_url(evil))

    for response in (changelist, change):
        assert "<script>alert(1)</script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<img src=x" not in change.text
    assert "&lt;img src=x onerror=alert(2)&gt;" in change.text


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)


def assert_no_inline_code(html: str) -> None:
    assert INLINE_SCRIPT.findall(html) == []
    assert INLINE_STYLE.findall(html) == []


def test_admin_pages_render_under_the_strict_csp(admin_scene: AdminScene) -> None:
    FAQEntryFactory(chatbot=admin_scene.chatbot)
    client = logged_in(admin_scene.superuser)
    urls = [
        reverse("admin:index"),
        reverse(CHANGELIST),
        change_url(admin_scene.support_request),
        reverse(CHATBOT_CHANGELIST),
        reverse("admin:chatbots_chatbot_change", args=[admin_scene.chatbot.pk]),
        reverse("admin:chatbots_chatbot_add"),
    ]

    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert_no_inline_code(response.text)


def test_agent_admin_pages_render_under_the_strict_csp(admin_scene: AdminScene) -> None:
    client = logged_in(admin_scene.agent)

    for url in [
        reverse("admin:index"),
        reverse(CHANGELIST),
        change_url(admin_scene.support_request),
        reverse("admin:chatbots_chatbot_change", args=[admin_scene.chatbot.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Content-Security-Policy" in response.headers
        assert_no_inline_code(response.text)


# --- chatbots --------------------------------------------------------------------------------


def chatbot_form(chatbot: Chatbot, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": chatbot.name,
        "admin_email": chatbot.admin_email,
        "is_active": "on" if chatbot.is_active else "",
        "agents": [u.pk for u in chatbot.agents.all()],
        "allowed_origins": "\n".join(chatbot.allowed_origins),
        "welcome_text": chatbot.welcome_text,
        "primary_color": chatbot.primary_color,
        "human_support_enabled": "on" if chatbot.human_support_enabled else "",
        "faq_entries-TOTAL_FORMS": "0",
        "faq_entries-INITIAL_FORMS": "0",
        "faq_entries-MIN_NUM_FORMS": "0",
        "faq_entries-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def chatbot_change_url(chatbot: Chatbot) -> str:
    return reverse("admin:chatbots_chatbot_change", args=[chatbot.pk])


def test_chatbot_changelist_shows_name_key_admin_email_and_active(
    admin_scene: AdminScene,
) -> None:
    response = logged_in(admin_scene.superuser).get(reverse(CHATBOT_CHANGELIST))

    assert response.status_code == 200
    for value in ("Shop bot", admin_scene.chatbot.key, admin_scene.chatbot.admin_email):
        assert value in response.text
    assert response.context["cl"].list_display[1:5] == ["name", "key", "admin_email", "is_active"]


def test_agent_sees_only_their_chatbots_in_the_chatbot_admin(admin_scene: AdminScene) -> None:
    client = logged_in(admin_scene.agent)

    listing = client.get(reverse(CHATBOT_CHANGELIST))
    other = client.get(chatbot_change_url(admin_scene.other_chatbot))

    assert [c.pk for c in listing.context["cl"].result_list] == [admin_scene.chatbot.pk]
    assert other.status_code == 302
    assert other["Location"] == reverse("admin:index")


def test_superuser_edits_origins_one_per_line(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.superuser).post(
        chatbot_change_url(admin_scene.chatbot),
        chatbot_form(
            admin_scene.chatbot,
            allowed_origins="https://www.shop.example/\n\n  http://localhost:8000 \n*",
            admin_email="help@shop.example",
        ),
    )

    assert response.status_code == 302
    admin_scene.chatbot.refresh_from_db()
    assert admin_scene.chatbot.allowed_origins == [
        "https://www.shop.example",
        "http://localhost:8000",
        "*",
    ]
    assert admin_scene.chatbot.admin_email == "help@shop.example"


def test_origin_with_a_path_is_refused_naming_it(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.superuser).post(
        chatbot_change_url(admin_scene.chatbot),
        chatbot_form(admin_scene.chatbot, allowed_origins="https://ok.example\nftp://x/y"),
    )

    assert response.status_code == 200
    assert '"ftp://x/y" is not an origin' in " ".join(
        response.context["adminform"].form.errors["allowed_origins"]
    )
    admin_scene.chatbot.refresh_from_db()
    assert admin_scene.chatbot.allowed_origins == ["https://customer.example"]


def test_invalid_admin_email_is_refused(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.superuser).post(
        chatbot_change_url(admin_scene.chatbot),
        chatbot_form(admin_scene.chatbot, admin_email="not-an-email"),
    )

    assert response.status_code == 200
    assert "admin_email" in response.context["adminform"].form.errors
    admin_scene.chatbot.refresh_from_db()
    assert admin_scene.chatbot.admin_email != "not-an-email"


def test_agent_edits_their_chatbot_but_not_its_agents(admin_scene: AdminScene) -> None:
    intruder = AgentFactory()

    response = logged_in(admin_scene.agent).post(
        chatbot_change_url(admin_scene.chatbot),
        chatbot_form(
            admin_scene.chatbot,
            agents=[admin_scene.agent.pk, intruder.pk],
            welcome_text="Hello from the shop",
        ),
    )

    assert response.status_code == 302
    admin_scene.chatbot.refresh_from_db()
    assert admin_scene.chatbot.welcome_text == "Hello from the shop"
    assert list(admin_scene.chatbot.agents.all()) == [admin_scene.agent]


def test_agent_change_page_shows_agents_without_a_widget(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.agent).get(chatbot_change_url(admin_scene.chatbot))

    assert response.status_code == 200
    assert 'name="agents"' not in response.text
    assert 'name="admin_email"' in response.text


def test_agent_cannot_add_or_delete_chatbots(admin_scene: AdminScene) -> None:
    client = logged_in(admin_scene.agent)
    delete_url = reverse("admin:chatbots_chatbot_delete", args=[admin_scene.chatbot.pk])

    assert client.get(reverse("admin:chatbots_chatbot_add")).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Chatbot.objects.filter(pk=admin_scene.chatbot.pk).exists()


def test_superuser_adds_an_agent_who_then_gets_the_agents_group(
    admin_scene: AdminScene,
) -> None:
    newcomer = AgentFactory()

    response = logged_in(admin_scene.superuser).post(
        chatbot_change_url(admin_scene.chatbot),
        chatbot_form(admin_scene.chatbot, agents=[admin_scene.agent.pk, newcomer.pk]),
    )

    assert response.status_code == 302
    assert set(admin_scene.chatbot.agents.all()) == {admin_scene.agent, newcomer}
    assert newcomer.groups.filter(name=AGENTS_GROUP).exists()
    listing = logged_in(newcomer).get(reverse(CHANGELIST))
    assert [r.pk for r in listing.context["cl"].result_list] == [admin_scene.support_request.pk]


def test_faq_entries_are_edited_inline(admin_scene: AdminScene) -> None:
    response = logged_in(admin_scene.agent).post(
        chatbot_change_url(admin_scene.chatbot),
        chatbot_form(
            admin_scene.chatbot,
            **{
                "faq_entries-TOTAL_FORMS": "1",
                "faq_entries-0-question": "Do you ship abroad?",
                "faq_entries-0-answer": "Yes, to the whole EU.",
                "faq_entries-0-keywords": "abroad international",
            },
        ),
    )

    assert response.status_code == 302
    assert list(admin_scene.chatbot.faq_entries.values_list("question", flat=True)) == [
        "Do you ship abroad?"
    ]


# --- in a real browser, under the real CSP ------------------------------------------------------

CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


@pytest.fixture(scope="module")
def admin_server(django_db_setup: None, django_db_blocker: Any) -> Iterator[DaphneServer]:
    with django_db_blocker.unblock():
        database_url = live_database_url()
    env = {
        "DEBUG": "1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "0",
        "DATABASE_URL": database_url,
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    server = DaphneServer(name="admin-daphne", env=env).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chromium(admin_server: DaphneServer) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop in this thread; the test code is plain
    # synchronous code, so Django's async-safety check is lifted while the browser lives.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def admin_page(chromium: Browser, server: DaphneServer, user: Any) -> tuple[Page, list[str]]:
    """A logged-in admin page that records CSP refusals and script errors."""
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{server.url}/admin/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    return page, problems


def csp_violations(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations")


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_admin_works_in_chromium_under_the_strict_csp(
    admin_server: DaphneServer, chromium: Browser
) -> None:
    agent = AgentFactory(first_name="Alice")
    superuser = SuperuserFactory()
    chatbot = ChatbotFactory(name="Shop bot", agents=[agent])
    FAQEntryFactory(chatbot=chatbot)
    support_request = open_request(chatbot, user_name="<script>alert(1)</script>")
    page, problems = admin_page(chromium, admin_server, superuser)

    # The chatbot page: the agents' two-box selector is built by the admin's scripts.
    page.goto(f"{admin_server.url}{chatbot_change_url(chatbot)}")
    expect(page.locator(".selector-available")).to_be_visible()
    expect(page.get_by_label("Allowed origins")).to_have_value("https://customer.example")
    assert csp_violations(page) == []

    # The request page: read-only fields, the transcript, and the Join action.
    page.goto(f"{admin_server.url}{change_url(support_request)}")
    expect(page.get_by_text("<script>alert(1)</script>").first).to_be_visible()
    page.locator('select[name="CHANGE_FORM-action"]').select_option("join_requests")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text("1 request joined.")).to_be_visible()
    expect(page.get_by_text("joined", exact=False).last).to_be_visible()
    assert csp_violations(page) == []

    # The list: filters, search and the actions bar (its select-all script).
    page.goto(f"{admin_server.url}{reverse(CHANGELIST)}")
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("1 of 1 selected")
    assert csp_violations(page) == []
    assert problems == []
    support_request.refresh_from_db()
    assert support_request.status == RequestStatus.ACTIVE
    assert support_request.assigned_agent == superuser
    page.context.close()


# --- languages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_the_admin_list_and_its_messages_follow_the_agents_language(
    admin_scene: AdminScene, language: str
) -> None:
    client = logged_in(admin_scene.agent)

    page = client.get(reverse(CHANGELIST), HTTP_ACCEPT_LANGUAGE=language)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "join_requests", "_selected_action": [admin_scene.support_request.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE=language,
    )

    with translation.override(language):
        column = str(SupportRequest._meta.get_field("user_name").verbose_name)
        joined = str(REQUEST_ACTIONS["join"].done % {"count": 1})
    assert f'<html lang="{language}"' in page.content.decode()
    assert capfirst(column) in page.content.decode()
    assert page_messages(response) == [joined]


def test_changelist_search_says_text_search_is_unavailable_while_encryption_is_on(
    admin_scene: AdminScene, field_encryption: list[str]
) -> None:
    client = logged_in(admin_scene.superuser)

    by_name = client.get(reverse(CHANGELIST), {"q": "Otto"})
    by_id = client.get(reverse(CHANGELIST), {"q": admin_scene.other_request.request_id})

    assert by_name.status_code == 200
    assert list(by_name.context["cl"].result_list) == []
    assert "Search by text is not available while encryption at rest is on." in (
        by_name.content.decode()
    )
    assert [r.pk for r in by_id.context["cl"].result_list] == [admin_scene.other_request.pk]
