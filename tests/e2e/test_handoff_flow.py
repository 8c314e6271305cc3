"""The whole product in a real browser: a visitor on a customer's site, an agent in the console."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from support.models import SupportMessage, SupportRequest
from tests.e2e.browser import (
    NewContext,
    PageWatch,
    ask_for_a_human,
    log_in,
    open_widget,
    say,
    screenshot,
)
from tests.e2e.customer_site import CustomerSite
from tests.factories import AgentFactory, ChatbotFactory, FAQEntryFactory
from tests.servers import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def widget_message_ids(widget: Locator) -> list[int]:
    return [
        int(i)
        for i in widget.locator("li[data-id]").evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('data-id'))"
        )
    ]


def test_a_visitor_on_a_customer_site_and_an_agent_chat_live_until_closed(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(
        name="Shop assistant", agents=[alice], allowed_origins=[customer_site.origin]
    )
    FAQEntryFactory(chatbot=chatbot)

    agent = watch.attach(new_context().new_page())
    log_in(agent, server, alice.username)
    expect(agent.locator("#live-state")).to_have_text("Live")
    expect(agent.locator("#pending-empty")).to_be_visible()

    visitor = watch.attach(new_context().new_page())
    widget = open_widget(visitor, customer_site, chatbot.key)
    log = widget.get_by_role("log")
    say(widget, "When are you open?")
    expect(log).to_contain_text("We are open 9:00 to 17:00")
    say(widget, "My parcel arrived broken")
    expect(log).to_contain_text("Would you like to speak to a human?")
    ask_for_a_human(
        widget, name="Vera", email="vera@example.com", message="The parcel is broken, help"
    )
    status = widget.get_by_role("status")
    expect(status).to_have_text("Waiting for an agent")

    # The request appears in the console without a reload, marked as new, counted in the title.
    row = agent.locator("#pending-rows tr", has_text="Vera")
    expect(row).to_be_visible()
    expect(row).to_have_class(re.compile(r"\bis-new\b"))
    expect(row.locator("time.waiting")).to_have_text("less than a minute")
    expect(agent.locator("#new-badge")).to_have_text("1 new request")
    expect(agent).to_have_title(re.compile(r"^\(1\) "))
    screenshot(agent, "console-queue-desktop")
    agent.locator("#new-badge").click()  # seen: the mark goes, the count in the title stays
    expect(row).not_to_have_class(re.compile(r"\bis-new\b"))
    expect(agent.locator("#new-badge")).to_be_hidden()
    expect(agent).to_have_title(re.compile(r"^\(1\) "))

    row.get_by_role("link", name="Vera").click()
    expect(agent.locator("#visitor-email")).to_have_text("vera@example.com")
    expect(agent.locator("#bot-transcript")).to_contain_text("When are you open?")
    expect(agent.locator("#bot-transcript")).to_contain_text("We are open 9:00 to 17:00")
    expect(agent.locator("#thread")).to_contain_text("The parcel is broken, help")
    expect(agent.locator("#connection-state")).to_have_text("Live")
    expect(agent.get_by_role("button", name="Resolve")).to_be_hidden()
    agent.get_by_role("button", name="Join").click()
    expect(agent.locator("#status-line")).to_have_text("You joined")
    expect(agent.get_by_role("button", name="Join")).to_be_hidden()
    expect(status).to_have_text("Alice joined")
    expect(log).to_contain_text("Alice joined")

    # Typing shows on the other side; messages go both ways, live.
    agent_field = agent.get_by_role("textbox", name="Message")
    agent_field.press_sequentially("Hello Vera, sorry about that")
    expect(widget.get_by_text("Alice is typing…")).to_be_visible()
    agent.get_by_role("button", name="Send").click()
    expect(log).to_contain_text("Hello Vera, sorry about that")
    expect(widget.get_by_text("Alice is typing…")).to_be_hidden()

    visitor_field = widget.get_by_role("textbox", name="Message")
    visitor_field.press_sequentially("It is order 42")
    expect(agent.locator("#typing-indicator")).to_have_text("Vera is typing…")
    visitor_field.press("Enter")
    expect(agent.locator("#thread")).to_contain_text("It is order 42")
    expect(log.locator("li[data-id]", has_text="It is order 42")).to_have_count(1)

    # A reload keeps the session, the bot transcript and the open request.
    visitor.reload()
    widget = visitor.locator("[data-handoff-widget]")
    log = widget.get_by_role("log")
    status = widget.get_by_role("status")
    expect(log).to_contain_text("It is order 42")
    expect(log).to_contain_text("We are open 9:00 to 17:00")
    expect(status).to_have_text("Alice joined")
    screenshot(visitor, "widget-chat-desktop")
    screenshot(agent, "console-conversation-desktop")

    agent.get_by_role("button", name="Resolve").click()
    expect(agent.locator("#status-line")).to_have_text("Resolved")
    expect(status).to_have_text(re.compile(r"^Resolved"))
    say(widget, "One more thing")  # writing again reopens it
    expect(agent.locator("#status-line")).to_have_text("You joined")
    expect(agent.locator("#thread")).to_contain_text("Reopened by the visitor")
    expect(status).to_have_text("Alice joined")
    agent.get_by_role("button", name="Resolve").click()
    expect(status).to_have_text(re.compile(r"^Resolved"))
    agent.get_by_role("button", name="Close").click()
    expect(agent.locator("#status-line")).to_have_text("Closed")
    expect(status).to_have_text("This conversation is closed.")
    expect(log).to_contain_text("Closed by Alice")
    expect(widget.get_by_role("textbox", name="Message")).to_be_hidden()
    expect(widget.get_by_role("button", name="Start a new conversation")).to_be_visible()

    texts = log.locator("li[data-id] .text").all_inner_texts()
    assert texts == [
        "The parcel is broken, help",
        "Alice joined",
        "Hello Vera, sorry about that",
        "It is order 42",
        "Resolved by Alice",
        "Reopened by the visitor",
        "One more thing",
        "Resolved by Alice",
        "Closed by Alice",
    ]
    ids = widget_message_ids(widget)
    assert ids == sorted(ids)
    assert agent.locator("#thread li[data-id] .text").all_inner_texts() == texts
    watch.assert_clean()


def start_joined_chat(
    server: DaphneServer, site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> tuple[Page, Locator, Page, BrowserContext]:
    """A visitor with a request on the customer's site, and Alice joined in the console."""
    alice = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[alice], allowed_origins=[site.origin])
    visitor_context = new_context()
    visitor = watch.attach(visitor_context.new_page())
    widget = open_widget(visitor, site, chatbot.key)
    ask_for_a_human(widget, name="Vera", email="", message="Where is my parcel?")
    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    request_id = SupportRequest.objects.get(chatbot=chatbot).request_id

    agent = watch.attach(new_context().new_page())
    log_in(agent, server, alice.username)
    agent.goto(f"{server.url}/console/requests/{request_id}/")
    agent.get_by_role("button", name="Join").click()
    expect(widget.get_by_role("status")).to_have_text("Alice joined")
    expect(agent.locator("#connection-state")).to_have_text("Live")
    return visitor, widget, agent, visitor_context


def agent_says(agent: Page, text: str) -> None:
    agent.get_by_role("textbox", name="Message").fill(text)
    agent.get_by_role("button", name="Send").click()
    expect(agent.locator("#thread li[data-id]", has_text=text)).to_have_count(1)


def test_a_dropped_connection_loses_nothing_and_a_message_typed_offline_arrives_once(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    visitor, widget, agent, visitor_context = start_joined_chat(
        server, customer_site, new_context, watch
    )
    log = widget.get_by_role("log")

    visitor_context.set_offline(True)
    expect(widget.get_by_role("alert")).to_contain_text("You are offline")
    agent_says(agent, "Sent while you were away")
    say(widget, "Typed while offline")
    pending = log.locator("li[data-client-id]", has_text="Typed while offline")
    expect(pending).to_contain_text("Sending…")
    visitor.wait_for_timeout(1500)  # retries fail meanwhile: nothing may reach the server
    assert not SupportMessage.objects.filter(message="Typed while offline").exists()
    expect(log).not_to_contain_text("Sent while you were away")

    visitor_context.set_offline(False)
    expect(agent.locator("#thread")).to_contain_text("Typed while offline")
    expect(log.locator("li[data-id]", has_text="Sent while you were away")).to_have_count(1)
    expect(log.locator("li[data-id]", has_text="Typed while offline")).to_have_count(1)
    expect(pending).to_have_count(0)
    expect(widget.get_by_text("You are offline")).to_be_hidden()
    agent_says(agent, "Back online")
    expect(log).to_contain_text("Back online")

    assert SupportMessage.objects.filter(message="Typed while offline").count() == 1
    agent.reload()
    expected = list(
        SupportMessage.objects.filter(support_request__user_name="Vera")
        .order_by("id")
        .values_list("message", flat=True)
    )
    assert log.locator("li[data-id] .text").all_inner_texts() == expected
    assert agent.locator("#thread li[data-id] .text").all_inner_texts() == expected

    # The visitor ends the conversation; the agent sees it closed.
    widget.get_by_role("button", name="End conversation").click()
    expect(widget.get_by_role("status")).to_have_text("This conversation is closed.")
    expect(agent.locator("#status-line")).to_have_text("Closed")
    expect(agent.locator("#thread")).to_contain_text("Closed by the visitor")
    expect(agent.get_by_role("button", name="Close")).to_be_hidden()
    watch.assert_clean()


def test_a_server_restart_loses_nothing_and_a_message_typed_meanwhile_arrives_once(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    _, widget, agent, _ = start_joined_chat(server, customer_site, new_context, watch)
    log = widget.get_by_role("log")

    server.stop()
    try:
        expect(agent.locator("#connection-state")).not_to_have_text("Live")
        say(widget, "Typed while the server was down")
        expect(log.locator("li[data-client-id]")).to_contain_text("Sending…")
    finally:
        # Every later browser test shares this server: never leave it down.
        server.start()

    expect(agent.locator("#connection-state")).to_have_text("Live", timeout=30_000)
    expect(agent.locator("#thread")).to_contain_text(
        "Typed while the server was down", timeout=30_000
    )
    expect(log.locator("li[data-id]", has_text="Typed while the server was down")).to_have_count(1)
    agent_says(agent, "We are back")
    expect(log).to_contain_text("We are back")
    assert SupportMessage.objects.filter(message="Typed while the server was down").count() == 1
    watch.assert_clean()


def test_a_second_agent_sees_live_that_alice_has_it_and_cannot_join(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice")
    bob = AgentFactory(first_name="Bob")
    chatbot = ChatbotFactory(agents=[alice, bob], allowed_origins=[customer_site.origin])
    visitor = watch.attach(new_context().new_page())
    widget = open_widget(visitor, customer_site, chatbot.key)
    ask_for_a_human(widget, name="Vera", email="", message="Anyone there?")
    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    request_id = SupportRequest.objects.get(chatbot=chatbot).request_id
    url = f"{server.url}/console/requests/{request_id}/"

    pages = {}
    for name, user in (("alice", alice), ("bob", bob)):
        page = watch.attach(new_context().new_page())
        log_in(page, server, user.username)
        page.goto(url)
        expect(page.locator("#connection-state")).to_have_text("Live")
        expect(page.get_by_role("button", name="Join")).to_be_visible()
        pages[name] = page

    pages["alice"].get_by_role("button", name="Join").click()
    expect(pages["alice"].locator("#status-line")).to_have_text("You joined")
    bob_page = pages["bob"]
    expect(bob_page.locator("#status-line")).to_have_text("Alice has it")
    expect(bob_page.get_by_role("button", name="Join")).to_be_hidden()
    expect(bob_page.locator("#thread")).to_contain_text("Alice joined")

    # Bob's join, sent anyway (a page that missed the news), is refused and changes nothing.
    csrf = next(c["value"] for c in bob_page.context.cookies() if c["name"] == "csrftoken")
    refused = bob_page.request.post(
        f"{server.url}/human-support/requests/{request_id}/join", headers={"X-CSRFToken": csrf}
    )
    assert refused.status == 409
    assert refused.json()["detail"] == "Alice has already joined this request."
    bob_page.reload()
    expect(bob_page.locator("#status-line")).to_have_text("Alice has it")
    assert SupportRequest.objects.get(request_id=request_id).assigned_agent_id == alice.pk
    watch.assert_clean()
