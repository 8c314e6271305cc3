"""A broadcast the channel layer dropped is recovered by the widget from the id gap."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from support.models import SenderType, SupportMessage, SupportRequest
from tests.e2e.browser import (
    NewContext,
    PageWatch,
    ask_for_a_human,
    csrf_token,
    log_in,
    open_widget,
)
from tests.e2e.customer_site import CustomerSite
from tests.factories import AgentFactory, ChatbotFactory
from tests.servers import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_widget_fetches_a_message_whose_broadcast_was_dropped_when_the_next_one_skips_its_id(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[alice], allowed_origins=[customer_site.origin])
    agent = watch.attach(new_context().new_page())
    log_in(agent, server, alice.username)

    visitor = watch.attach(new_context().new_page())
    widget = open_widget(visitor, customer_site, chatbot.key)
    ask_for_a_human(widget, name="Vera", email="", message="Where is my parcel?")
    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    log = widget.get_by_role("log")
    support_request = SupportRequest.objects.get(chatbot=chatbot)
    api = f"{server.url}/human-support/requests/{support_request.request_id}"
    headers = {"X-CSRFToken": csrf_token(agent)}
    assert agent.request.post(f"{api}/join", headers=headers).status == 200
    expect(log).to_contain_text("Alice joined")
    # The status frame comes after the system message and makes the widget read the
    # database once: let that read finish before the broadcast goes missing.
    expect(widget.get_by_role("status")).to_have_text("Alice joined")
    visitor.wait_for_timeout(1500)

    # A message that is in the database but whose broadcast never reached the server the
    # widget is connected to: exactly what a full channel or a Redis blip leaves behind.
    SupportMessage.objects.create(
        support_request=support_request,
        sender_type=SenderType.ADMIN,
        sender=alice,
        message="Lost in transit",
    )
    posted = agent.request.post(
        f"{api}/messages", headers=headers, data={"message": "Did you get my last message?"}
    )
    assert posted.status == 201

    # The widget's periodic catch-up runs every 30 s; this must come from the gap, at once.
    expect(log).to_contain_text("Did you get my last message?")
    expect(log.locator("li[data-id]", has_text="Lost in transit")).to_have_count(1, timeout=10_000)
    texts = log.locator("li[data-id]").all_inner_texts()
    lost = next(i for i, t in enumerate(texts) if "Lost in transit" in t)
    last = next(i for i, t in enumerate(texts) if "Did you get my last message?" in t)
    assert lost < last
    watch.assert_clean()
