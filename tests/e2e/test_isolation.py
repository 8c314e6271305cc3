"""Agents see the requests of their own chatbots only, in every view of the console."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from support.models import SupportRequest
from tests.e2e.conftest import (
    CustomerSite,
    NewContext,
    PageWatch,
    ask_for_a_human,
    log_in,
    open_widget,
)
from tests.factories import AgentFactory, ChatbotFactory
from tests.realtime.servers import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOCKET_CLOSE_CODE = """url => new Promise(resolve => {
  const socket = new WebSocket(url);
  socket.onclose = event => resolve(event.code);
})"""


def test_an_agent_of_another_chatbot_cannot_see_or_open_the_request(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice")
    bob = AgentFactory(first_name="Bob")
    chatbot = ChatbotFactory(agents=[alice], allowed_origins=[customer_site.origin])
    ChatbotFactory(agents=[bob], allowed_origins=[customer_site.origin])

    alice_page = watch.attach(new_context().new_page())
    log_in(alice_page, server, alice.username)
    bob_page = watch.attach(new_context().new_page())
    log_in(bob_page, server, bob.username)
    expect(alice_page.locator("#live-state")).to_have_text("Live")
    expect(bob_page.locator("#live-state")).to_have_text("Live")

    visitor = watch.attach(new_context().new_page())
    widget = open_widget(visitor, customer_site, chatbot.key)
    ask_for_a_human(widget, name="Vera", email="vera@example.com", message="Private matter")
    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    request_id = SupportRequest.objects.get(chatbot=chatbot).request_id

    # Alice's queue shows it live; by then Bob's queue has been told of nothing.
    expect(alice_page.locator("#pending-rows tr", has_text="Vera")).to_be_visible()
    bob_page.reload()
    expect(bob_page.locator("#live-state")).to_have_text("Live")
    expect(bob_page.locator("#pending-rows tr")).to_have_count(0)
    expect(bob_page.locator("#pending-empty")).to_be_visible()

    page = bob_page.goto(f"{server.url}/console/requests/{request_id}/")
    assert page is not None
    assert page.status == 404
    expect(bob_page.locator("body")).not_to_contain_text("Private matter")

    bob_page.goto(f"{server.url}/console/requests/?q={request_id}")
    expect(bob_page.locator("#all-requests")).to_contain_text("No requests match.")
    bob_page.goto(f"{server.url}/console/requests/")
    expect(bob_page.locator("#all-requests")).not_to_contain_text("Vera")

    api = bob_page.request.get(f"{server.url}/human-support/requests/{request_id}")
    assert api.status == 404
    join = bob_page.request.post(
        f"{server.url}/console/requests/{request_id}/join",
        headers={"X-CSRFToken": csrf_token(bob_page)},
    )
    assert join.status == 404
    close_code = bob_page.evaluate(
        SOCKET_CLOSE_CODE, f"{server.ws_url}/human-support/ws/{request_id}"
    )
    assert close_code == 4403
    assert SupportRequest.objects.get(request_id=request_id).status == "pending"
    watch.assert_clean()


def csrf_token(page: Page) -> str:
    cookies = page.context.cookies()
    return next(c["value"] for c in cookies if c["name"] == "csrftoken")
