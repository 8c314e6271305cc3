"""/demo/ embeds the demo chatbot's widget under the service's own strict CSP."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.e2e.browser import NewContext, PageWatch, screenshot
from tests.servers import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_demo_page_shows_a_working_widget_under_a_strict_csp(
    own_server: DaphneServer,
    new_context: NewContext,
    watch: PageWatch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = own_server  # the demo chatbot's origins are not the customer site's
    monkeypatch.setenv("DEMO_AGENT_PASSWORD", "a-demo-password-for-the-tests")
    call_command("demo", port=server.port, stdout=io.StringIO())
    page = watch.attach(new_context().new_page())
    response = page.goto(f"{server.url}/demo/")
    assert response is not None
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "style-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy

    launcher = page.get_by_role("button", name="Open chat")
    box = launcher.bounding_box()
    assert box is not None
    assert (round(box["width"]), round(box["height"])) == (56, 56)  # its styles applied
    launcher.click()
    widget = page.locator("[data-handoff-widget]")
    field = widget.get_by_role("textbox", name="Message")
    field.fill("How long does shipping take?")
    field.press("Enter")
    expect(widget.get_by_role("log")).to_contain_text("Orders ship within 2 working days")
    expect(widget.get_by_role("button", name="Speak to a human")).to_be_visible()
    screenshot(page, "demo-page")
    watch.assert_clean()  # no CSP refusal: the widget's styles are a constructed sheet
