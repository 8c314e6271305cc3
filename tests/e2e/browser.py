"""Driving Debian's Chromium (Playwright): pages, what they must not do, and the steps
the tests repeat (log in, open the widget, ask for a human)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    expect,
)

from tests.e2e.customer_site import CustomerSite
from tests.factories import PASSWORD
from tests.servers import DaphneServer

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@dataclass
class PageWatch:
    """What a page did that it should not: dialogs (an injected alert) and CSP refusals."""

    dialogs: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        def on_console(message: ConsoleMessage) -> None:
            if (
                "Content Security Policy" in message.text
                or "Content-Security-Policy" in message.text
            ):
                self.csp_violations.append(message.text)

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        return page

    def assert_clean(self) -> None:
        assert self.dialogs == [], "a script ran (a dialog opened)"
        assert self.csp_violations == []
        assert self.errors == []


NewContext = Callable[..., BrowserContext]


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, server: DaphneServer, username: str) -> None:
    page.goto(f"{server.url}/console/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{server.url}/console/")


def open_widget(page: Page, site: CustomerSite, chatbot_key: str) -> Locator:
    page.goto(site.url(chatbot_key))
    page.get_by_role("button", name="Open chat").click()
    return page.locator("[data-handoff-widget]")


def say(widget: Locator, text: str) -> None:
    field = widget.get_by_role("textbox", name="Message")
    field.fill(text)
    field.press("Enter")


def ask_for_a_human(widget: Locator, *, name: str, email: str, message: str) -> None:
    widget.get_by_role("button", name="Speak to a human").click()
    widget.get_by_role("textbox", name="Name").fill(name)
    widget.get_by_role("textbox", name="Email").fill(email)
    widget.get_by_role("textbox", name="Message").fill(message)
    widget.get_by_role("button", name="Send").click()


def csrf_token(page: object) -> str:
    cookies = page.context.cookies()  # type: ignore[attr-defined]
    return next(c["value"] for c in cookies if c["name"] == "csrftoken")
