"""The console in Arabic, in a real Chromium: the picker switches it, the page turns right
to left, the script speaks Arabic (its catalog loads under the strict CSP), and the
conversation mirrors (the agent's lines move from the right edge to the left one)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from core.actors import Agent
from support import services
from tests.e2e.browser import NewContext, PageWatch, log_in
from tests.factories import AgentFactory, ChatbotFactory, make_session
from tests.servers import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def centre_x(page: Page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2


def test_the_console_switches_to_arabic_and_mirrors(
    server: DaphneServer, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[alice])
    session, _token = make_session(chatbot)
    support_request, _ = services.request_create(
        session=session, user_name="Vera", initial_message="My parcel arrived broken"
    )
    services.request_join(support_request=support_request, agent=Agent(alice))
    services.message_post(
        support_request=support_request, actor=Agent(alice), text="Sorry to hear that"
    )

    page = watch.attach(new_context(locale="en-US").new_page())
    log_in(page, server, alice.username)
    page.goto(f"{server.url}/console/requests/{support_request.request_id}/")
    expect(page.locator("#connection-state")).to_have_text("Live")
    # Left to right: the visitor's lines start at the left, the agent's end at the right.
    assert centre_x(page, ".thread .sender-admin") > centre_x(page, ".thread .sender-user")
    assert centre_x(page, ".request-meta dt") < centre_x(page, ".request-meta dd")

    page.get_by_label("Console language").select_option("ar")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    expect(page.locator("#connection-state")).to_have_text("مباشر")  # console.js, in Arabic
    expect(page.get_by_role("button", name="إرسال")).to_be_visible()
    assert centre_x(page, ".thread .sender-admin") < centre_x(page, ".thread .sender-user")
    assert centre_x(page, ".request-meta dt") > centre_x(page, ".request-meta dd")
    watch.assert_clean()
