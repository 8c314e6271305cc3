"""The console's "All" list is live too: filtered and paginated, yet it follows the queue."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

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
