"""The ways into the request form, and what the form does when a request is already open."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from support.models import SupportMessage, SupportRequest
from tests.e2e.browser import NewContext, PageWatch, ask_for_a_human, open_widget, say, screenshot
from tests.e2e.customer_site import CustomerSite
from tests.factories import AgentFactory, ChatbotFactory
from tests.servers import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_bots_handoff_hint_has_a_keyboard_button_that_opens_the_request_form(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    chatbot = ChatbotFactory(allowed_origins=[customer_site.origin])
    visitor = watch.attach(new_context().new_page())
    widget = open_widget(visitor, customer_site, chatbot.key)
    log = widget.get_by_role("log")
    say(widget, "My parcel arrived broken")  # nothing the bot knows: it suggests a human
    hint = log.locator("li.hint")
    expect(hint).to_contain_text("Would you like to speak to a human?")
    offer = hint.get_by_role("button", name="Talk to a person")
    expect(offer).to_be_visible()
    # Its own name: the permanent button keeps DESIGN.md's "Speak to a human" to itself.
    expect(widget.get_by_role("button", name="Speak to a human")).to_have_count(1)
    screenshot(visitor, "widget-handoff-hint-desktop")

    offer.focus()
    visitor.keyboard.press("Enter")
    name = widget.get_by_role("textbox", name="Name")
    expect(name).to_be_focused()
    name.fill("Vera")
    widget.get_by_role("textbox", name="Message").fill("It is broken, help")
    widget.get_by_role("button", name="Send").press("Enter")

    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    expect(log.locator("li[data-id]", has_text="It is broken, help")).to_have_count(1)
    assert SupportRequest.objects.get(chatbot=chatbot).user_name == "Vera"
    # A request is open: the hint offers no second one, like the permanent button.
    expect(offer).to_be_hidden()
    expect(widget.get_by_role("button", name="Speak to a human")).to_be_hidden()
    watch.assert_clean()


def test_a_second_tab_that_asks_for_a_human_adds_its_message_to_the_open_request_once(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[alice], allowed_origins=[customer_site.origin])
    visitor = new_context()  # one browser storage: one session for both tabs
    first = watch.attach(visitor.new_page())
    first_widget = open_widget(first, customer_site, chatbot.key)
    say(first_widget, "Hello")
    expect(first_widget.get_by_role("log").locator("li.hint")).to_have_count(1)  # the bot's reply

    # Opened before the first tab asks: it does not know of the request yet. (The panel was
    # left open in the first tab, so the widget opens it here by itself.)
    second = watch.attach(visitor.new_page())
    second.goto(customer_site.url(chatbot.key))
    second_widget = second.locator("[data-handoff-widget]")
    expect(second_widget.get_by_role("button", name="Speak to a human")).to_be_visible()

    ask_for_a_human(first_widget, name="Vera", email="", message="From the first tab")
    expect(first_widget.get_by_role("status")).to_have_text("Waiting for an agent")
    ask_for_a_human(second_widget, name="Vera", email="", message="From the second tab")
    expect(second_widget.get_by_role("status")).to_have_text("Waiting for an agent")

    for widget in (first_widget, second_widget):
        log = widget.get_by_role("log")
        expect(log.locator("li[data-id]", has_text="From the first tab")).to_have_count(1)
        expect(log.locator("li[data-id]", has_text="From the second tab")).to_have_count(1)
    support_request = SupportRequest.objects.get(chatbot=chatbot)  # still one request
    assert list(
        SupportMessage.objects.filter(support_request=support_request)
        .order_by("id")
        .values_list("message", flat=True)
    ) == ["From the first tab", "From the second tab"]
    watch.assert_clean()
