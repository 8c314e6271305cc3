"""Markup typed by visitors and agents is shown as text everywhere and runs nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from support.models import SupportRequest
from support.permissions import grant_agent_permissions
from tests.e2e.browser import NewContext, PageWatch, log_in, open_widget, say, screenshot
from tests.e2e.customer_site import CustomerSite
from tests.factories import AgentFactory, ChatbotFactory
from tests.servers import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(2)</script>"
# A quoted local part may hold markup and still be a valid address (RFC 5321).
EMAIL = '"<script>alert(3)</script>"@example.com'


def no_injected_elements(scope: Locator) -> None:
    """Nothing the visitor or agent typed became an element (the pages' own scripts aside)."""
    expect(scope.locator('img[src="x"]')).to_have_count(0)
    injected = scope.locator("script").evaluate_all(
        "nodes => nodes.filter(n => n.textContent.includes('alert(')).length"
    )
    assert injected == 0


def test_markup_in_name_email_and_messages_shows_as_text_in_widget_console_and_admin(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    alice = AgentFactory(first_name="Alice")
    grant_agent_permissions(alice)
    chatbot = ChatbotFactory(agents=[alice], allowed_origins=[customer_site.origin])

    agent = watch.attach(new_context().new_page())
    log_in(agent, server, alice.username)
    expect(agent.locator("#live-state")).to_have_text("Live")

    visitor = watch.attach(new_context().new_page())
    widget = open_widget(visitor, customer_site, chatbot.key)
    log = widget.get_by_role("log")
    say(widget, f"To the bot: {IMG}")
    expect(log).to_contain_text("Would you like to speak to a human?")
    widget.get_by_role("button", name="Speak to a human").click()
    widget.get_by_role("textbox", name="Name").fill(IMG)
    widget.get_by_role("textbox", name="Email").fill(EMAIL)
    widget.get_by_role("textbox", name="Message").fill(SCRIPT)
    widget.get_by_role("button", name="Send").click()
    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    request = SupportRequest.objects.get(chatbot=chatbot)
    assert request.user_name == IMG

    # The live queue row is built by the console's script from JSON.
    row = agent.locator("#pending-rows tr", has_text=IMG)
    expect(row.get_by_role("link", name=IMG)).to_be_visible()
    expect(row).to_contain_text(SCRIPT)
    no_injected_elements(agent.locator("#content"))

    agent.goto(f"{server.url}/console/requests/{request.request_id}/")
    expect(agent.locator("#visitor-name")).to_have_text(IMG)
    expect(agent.locator("#visitor-email")).to_have_text(EMAIL.lower())
    expect(agent.locator("#bot-transcript")).to_contain_text(f"To the bot: {IMG}")
    agent.get_by_role("button", name="Join").click()
    expect(widget.get_by_role("status")).to_have_text("Alice joined")
    agent.get_by_role("textbox", name="Message").fill(f"Agent says {SCRIPT} and {IMG}")
    agent.get_by_role("button", name="Send").click()
    expect(log).to_contain_text(f"Agent says {SCRIPT} and {IMG}")
    say(widget, f"Visitor says {IMG}")
    thread = agent.locator("#thread")
    expect(thread).to_contain_text(f"Visitor says {IMG}")
    expect(thread.locator(".who", has_text=IMG).first).to_be_visible()
    no_injected_elements(agent.locator("#content"))
    no_injected_elements(widget)
    screenshot(agent, "console-escaping")
    screenshot(visitor, "widget-escaping")

    agent.goto(f"{server.url}/console/requests/?q=onerror")
    expect(agent.locator("#all-requests").get_by_role("link", name=IMG)).to_be_visible()
    no_injected_elements(agent.locator("#content"))

    check_admin(agent, server, request)
    watch.assert_clean()


def check_admin(page: Page, server: DaphneServer, request: SupportRequest) -> None:
    page.goto(f"{server.url}/admin/support/supportrequest/")
    expect(page.locator("#result_list")).to_contain_text(IMG)
    no_injected_elements(page.locator("#result_list"))
    page.goto(f"{server.url}/admin/support/supportrequest/{request.pk}/change/")
    content = page.locator("#content")
    expect(content).to_contain_text(IMG)
    expect(content).to_contain_text(SCRIPT)
    expect(content).to_contain_text("Visitor says")
    no_injected_elements(content)
