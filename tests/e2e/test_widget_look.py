"""The widget looks the same on any host page, fits a 360-pixel phone, and works by keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from support.models import SupportRequest
from tests.e2e.browser import (
    DESKTOP,
    PHONE,
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

MEASURE = """root => {
  const shadow = root.shadowRoot;
  const box = sel => {
    const r = shadow.querySelector(sel).getBoundingClientRect();
    return [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)];
  };
  const style = (sel, prop) => getComputedStyle(shadow.querySelector(sel))[prop];
  return {
    panel: box(".panel"),
    head: box(".head"),
    composer: box(".composer"),
    input: box(".composer textarea"),
    send: box(".composer .send"),
    human: box(".bar .chip"),
    bubble: box(".log li:last-child"),
    font: [style(".log li:last-child .text", "fontSize"),
           style(".log li:last-child .text", "fontFamily"),
           style(".log li:last-child .text", "lineHeight"),
           style(".log li:last-child .text", "textTransform"),
           style(".log li:last-child .text", "letterSpacing")],
    accent: style(".head", "backgroundColor"),
  };
}"""


def measure(widget: Locator) -> dict[str, Any]:
    return widget.evaluate(MEASURE)


def test_the_widget_looks_the_same_on_a_page_with_aggressive_css(
    customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    chatbot = ChatbotFactory(allowed_origins=[customer_site.origin], primary_color="#0f766e")
    looks: dict[str, dict[str, Any]] = {}
    for css in ("plain", "aggressive"):
        for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page = watch.attach(new_context(viewport=size).new_page())
            page.goto(customer_site.url(chatbot.key, css=css))
            launcher = page.get_by_role("button", name="Open chat")
            box = launcher.bounding_box()
            assert box is not None
            assert (round(box["width"]), round(box["height"])) == (56, 56)
            assert size["width"] - 40 <= box["x"] + box["width"] <= size["width"]
            assert size["height"] - 40 <= box["y"] + box["height"] <= size["height"]
            launcher.click()
            widget = page.locator("[data-handoff-widget]")
            expect(widget.get_by_role("log")).to_contain_text("How can I help you")
            looks[f"{css}-{size_name}"] = measure(widget)
            screenshot(page, f"widget-{css}-{size_name}")

    assert looks["aggressive-desktop"] == looks["plain-desktop"]
    assert looks["aggressive-phone"] == looks["plain-phone"]
    desktop, phone = looks["plain-desktop"], looks["plain-phone"]
    assert desktop["panel"][2:] == [370, 600]
    assert desktop["font"][:1] == ["14px"]
    assert desktop["accent"] == "rgb(15, 118, 110)"  # the chatbot's colour, not the page's
    assert phone["panel"] == [0, 0, 360, 740]  # the whole phone screen
    send_right = phone["send"][0] + phone["send"][2]
    assert send_right <= 360
    assert phone["input"][2] >= 200  # room to type
    watch.assert_clean()


def test_the_widget_works_by_keyboard_on_a_phone(
    customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    chatbot = ChatbotFactory(allowed_origins=[customer_site.origin])
    FAQEntryFactory(chatbot=chatbot)
    page = watch.attach(new_context(viewport=PHONE, has_touch=True).new_page())
    page.goto(customer_site.url(chatbot.key))
    launcher = page.get_by_role("button", name="Open chat")
    expect(launcher).to_be_visible()

    page.keyboard.press("Tab")
    expect(launcher).to_be_focused()
    page.keyboard.press("Enter")
    widget = page.locator("[data-handoff-widget]")
    message = widget.get_by_role("textbox", name="Message")
    expect(message).to_be_focused()
    page.keyboard.type("what are your opening hours")
    page.keyboard.press("Enter")
    expect(widget.get_by_role("log")).to_contain_text("We are open 9:00 to 17:00")

    page.keyboard.press("Shift+Tab")  # back from the message field to the button bar
    expect(widget.get_by_role("button", name="Speak to a human")).to_be_focused()
    page.keyboard.press("Enter")
    expect(widget.get_by_role("textbox", name="Name")).to_be_focused()
    page.keyboard.type("Vera")
    page.keyboard.press("Tab")
    expect(widget.get_by_role("textbox", name="Email")).to_be_focused()
    page.keyboard.type("not-an-email")
    page.keyboard.press("Tab")
    page.keyboard.type("Please call me")
    page.keyboard.press("Tab")
    expect(widget.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(widget.get_by_role("button", name="Send")).to_be_focused()
    page.keyboard.press("Enter")
    email = widget.get_by_role("textbox", name="Email")
    expect(email).to_be_focused()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(
        "Optional: so we can write back if you leave Enter a valid email address, or leave it empty."
    )
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("vera@example.com")
    for _ in range(3):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    expect(widget.get_by_role("textbox", name="Message")).to_be_focused()
    screenshot(page, "widget-request-phone")

    page.keyboard.press("Escape")
    expect(launcher).to_be_focused()
    expect(widget.get_by_role("dialog")).to_be_hidden()
    watch.assert_clean()


def test_the_console_is_usable_on_a_phone(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[alice], allowed_origins=[customer_site.origin])
    visitor = watch.attach(new_context(viewport=PHONE).new_page())
    widget = open_widget(visitor, customer_site, chatbot.key)
    say(widget, "Hello bot")
    ask_for_a_human(widget, name="Vera", email="", message="Help on my phone")

    agent: Page = watch.attach(new_context(viewport=PHONE).new_page())
    log_in(agent, server, alice.username)
    row = agent.locator("#pending-rows tr", has_text="Vera")
    expect(row).to_be_visible()
    screenshot(agent, "console-queue-phone")
    row.get_by_role("link", name="Vera").click()
    join = agent.get_by_role("button", name="Join")
    join.click()
    message = agent.get_by_role("textbox", name="Message")
    message.fill("Hi Vera")
    send = agent.get_by_role("button", name="Send")
    box = send.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]
    send.click()
    expect(widget.get_by_role("log")).to_contain_text("Hi Vera")
    screenshot(agent, "console-conversation-phone")
    screenshot(visitor, "widget-chat-phone")
    watch.assert_clean()


def test_the_request_form_needs_a_message_and_a_valid_email_or_none(
    customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    chatbot = ChatbotFactory(allowed_origins=[customer_site.origin])
    page = watch.attach(new_context().new_page())
    widget = open_widget(page, customer_site, chatbot.key)
    widget.get_by_role("button", name="Speak to a human").click()
    send = widget.get_by_role("button", name="Send")
    message = widget.get_by_role("textbox", name="Message")
    email = widget.get_by_role("textbox", name="Email")

    send.click()
    expect(message).to_have_attribute("aria-invalid", "true")
    expect(message).to_have_accessible_description("Please write a message.")
    expect(message).to_be_focused()
    email.fill("vera@")
    message.fill("Hello")
    send.click()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(message).not_to_have_attribute("aria-invalid", "true")
    assert not SupportRequest.objects.exists()

    email.fill("")  # optional: an empty email is fine
    send.click()
    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    request = SupportRequest.objects.get()
    assert (request.user_name, request.user_email, request.initial_message) == (
        None,
        None,
        "Hello",
    )
    watch.assert_clean()
