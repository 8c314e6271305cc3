"""The console's "All" list is live too: filtered and paginated, yet it follows the queue."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from chatbots.models import Chatbot
from core.actors import Agent
from support import services
from support.models import SupportRequest
from tests.e2e.browser import NewContext, PageWatch, ask_for_a_human, log_in, open_widget
from tests.e2e.customer_site import CustomerSite
from tests.factories import AgentFactory, ChatbotFactory, make_session
from tests.servers import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_all_list_shows_a_new_request_and_its_status_changes_without_reload(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice", last_name="Agent")
    chatbot = ChatbotFactory(agents=[alice], allowed_origins=[customer_site.origin])
    other_chatbot = ChatbotFactory(agents=[alice])

    everything = watch.attach(new_context().new_page())
    log_in(everything, server, alice.username)
    everything.goto(f"{server.url}/console/requests/")
    expect(everything.locator("#live-state")).to_have_text("Live")
    expect(everything.locator("#all-requests")).to_contain_text("No requests match.")

    # The same agent, a second tab filtered on the other chatbot: the request is not its own.
    filtered = everything.context.new_page()
    watch.attach(filtered)
    filtered.goto(f"{server.url}/console/requests/?chatbot={other_chatbot.id}")
    expect(filtered.locator("#live-state")).to_have_text("Live")

    visitor = watch.attach(new_context().new_page())
    widget = open_widget(visitor, customer_site, chatbot.key)
    ask_for_a_human(widget, name="<b>Vera</b>", email="vera@example.com", message="Refund please")
    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    request_id = SupportRequest.objects.get(chatbot=chatbot).request_id

    row = everything.locator(f'#all-requests tr[data-request-id="{request_id}"]')
    expect(row).to_contain_text("<b>Vera</b>")  # as text, not markup
    expect(row.locator(".status")).to_have_text("Pending")
    expect(everything.locator("#all-requests")).not_to_contain_text("No requests match.")
    expect(everything.locator("#all-count")).to_have_text("1")

    csrf = next(c["value"] for c in everything.context.cookies() if c["name"] == "csrftoken")
    joined = everything.request.post(
        f"{server.url}/human-support/requests/{request_id}/join",
        headers={"X-CSRFToken": csrf, "Referer": f"{server.url}/console/requests/"},
    )
    assert joined.status == 200, joined.text()
    expect(row.locator(".status")).to_have_text("Active")
    expect(row.locator("td.agent")).to_have_text("Alice Agent")

    expect(filtered.locator("#all-requests")).to_contain_text("No requests match.")
    expect(filtered.locator("#all-requests")).not_to_contain_text("Vera")
    watch.assert_clean()


def a_pending_request_of(chatbot: Chatbot) -> SupportRequest:
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(
        session=session, initial_message="Refund please", user_name="Vera"
    )
    return support_request


def wait_for_the_first_check(page: Page, url: str) -> None:
    """Open the list and wait until it has compared itself with a fresh copy of the page."""
    with page.expect_response(
        lambda r: r.url == url and r.request.resource_type == "fetch"
    ) as fresh_copy:
        page.goto(url)
    fresh_copy.value.finished()
    page.evaluate("() => new Promise(resolve => setTimeout(resolve, 200))")


def test_the_all_list_offers_a_reload_when_a_request_changed_before_its_socket_first_opened(
    server: DaphneServer, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice", last_name="Agent")
    chatbot = ChatbotFactory(agents=[alice])
    support_request = a_pending_request_of(chatbot)
    page = watch.attach(new_context().new_page())
    log_in(page, server, alice.username)
    expect(page.locator("#live-state")).to_have_text("Live")  # the queue page's socket is up

    joined: list[SupportRequest] = []

    def join_then_connect(ws: WebSocketRoute) -> None:
        # After the page was rendered, before its socket is open: no event can tell it.
        if not joined:
            joined.append(
                services.request_join(support_request=support_request, agent=Agent(user=alice))
            )
        ws.connect_to_server()

    page.route_web_socket("**/human-support/ws/agent", join_then_connect)
    page.goto(f"{server.url}/console/requests/")
    row = page.locator(f'#all-requests tr[data-request-id="{support_request.request_id}"]')
    expect(row.locator(".status")).to_have_text("Pending")  # as it was when rendered
    expect(page.locator("#live-state")).to_have_text("Live")
    assert joined

    expect(page.locator("#list-news")).to_be_visible()
    expect(page.locator("#list-news-text")).to_have_text(
        "Requests changed while the page was loading."
    )
    page.locator("#list-news-reload").click()
    expect(row.locator(".status")).to_have_text("Active")
    expect(row.locator("td.agent")).to_have_text("Alice Agent")
    watch.assert_clean()


def test_the_all_list_offers_no_reload_when_nothing_changed_before_its_socket_first_opened(
    server: DaphneServer, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice", last_name="Agent")
    chatbot = ChatbotFactory(agents=[alice])
    joined = a_pending_request_of(chatbot)
    services.request_join(support_request=joined, agent=Agent(user=alice))
    a_pending_request_of(chatbot)
    page = watch.attach(new_context().new_page())
    log_in(page, server, alice.username)

    wait_for_the_first_check(page, f"{server.url}/console/requests/")
    expect(page.locator("#live-state")).to_have_text("Live")
    expect(page.locator("#all-requests tbody tr")).to_have_count(2)
    expect(page.locator("#list-news")).to_be_hidden()
    watch.assert_clean()
