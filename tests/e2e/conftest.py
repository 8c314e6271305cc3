"""Browser tests: Debian's Chromium (Playwright) against a live daphne server.

One daphne process and one browser per test session; each test gets fresh browser
contexts. The server reads and writes this process's test database (the SQLite test file,
or the PostgreSQL test database), so tests are transactional: rows made here are
committed and visible to it. It shares this process's REDIS_URL on the PostgreSQL leg.

A customer's site is a tiny http.server on another origin (http://localhost:PORT, the
service being http://127.0.0.1:PORT) whose page embeds the widget under a CSP of its own
that allows our script and connections but no styles from elsewhere.
"""

from __future__ import annotations

import html
import os
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Locator,
    Page,
    expect,
    sync_playwright,
)

from tests.factories import PASSWORD
from tests.servers import DaphneServer, free_port

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}

# The server keeps the product's settings except rate limits per IP: every browser here
# is 127.0.0.1, and the whole suite would otherwise share one visitor's allowance.
SERVER_ENV = {
    "DEBUG": "1",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    "CONN_MAX_AGE": "0",
    # Set (below) for this process only; empty here so the server keeps Django's check.
    "DJANGO_ALLOW_ASYNC_UNSAFE": "",
    "RATE_SESSION_CREATE_IP": "1000/min",
    "RATE_BOT_MESSAGE_IP": "1000/min",
    "RATE_REQUEST_CREATE_IP": "1000/min",
    "RATE_VISITOR_MESSAGE_IP": "1000/min",
}

SERVER_APPLICATION_NAME = "handoff-e2e-server"

expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


def live_database_url() -> str:
    """This process's test database as a DATABASE_URL for the server process (whose
    PostgreSQL sessions are named, so that they can be told from this process's)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = urllib.parse.quote(settings.get("USER") or "")
    password = urllib.parse.quote(settings.get("PASSWORD") or "")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    name = settings["NAME"]
    return (
        f"postgres://{credentials}{host}:{port}/{name}?application_name={SERVER_APPLICATION_NAME}"
    )


def server_env() -> dict[str, str]:
    env = {**SERVER_ENV, "DATABASE_URL": live_database_url()}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    return env


def release_database(django_db_blocker: Any) -> None:
    """End what a stopped server left behind: the test database is flushed, then dropped.

    Only the server's own sessions (by application_name): this process may hold more than
    one connection (Playwright's greenlets give the test code contexts of its own).
    """
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [SERVER_APPLICATION_NAME],
        )


@pytest.fixture(scope="package")
def server(django_db_setup: None, django_db_blocker: Any) -> Iterator[DaphneServer]:
    """The service, shared by the package's tests.

    Every chatbot these tests make allows `customer_site.origin`: the server caches the set
    of all allowed origins for CORS preflights for 30 seconds (chatbots/origins.py), and a
    chatbot saved in this process clears only this process's cache on the SQLite leg.
    """
    with django_db_blocker.unblock():
        env = server_env()
    daphne = DaphneServer(name="e2e-daphne", env=env).start()
    yield daphne
    daphne.stop()
    release_database(django_db_blocker)


@pytest.fixture
def own_server(transactional_db: None, django_db_blocker: Any) -> Iterator[DaphneServer]:
    """A server for one test, for chatbots that do not allow the customer's site."""
    daphne = DaphneServer(name="e2e-own-daphne", env=server_env()).start()
    yield daphne
    daphne.stop()
    release_database(django_db_blocker)


# --- the customer's site -------------------------------------------------------------------

AGGRESSIVE_CSS = """
* { all: unset !important; }
html, body, main, h1, p, div, section { display: block !important; }
html { font-size: 48px !important; }
body { font: italic 900 48px/4 "Comic Sans MS", fantasy !important; color: #f0f !important;
       letter-spacing: 6px !important; text-transform: uppercase !important;
       background: repeating-linear-gradient(45deg, #ff0, #ff0 10px, #0ff 10px, #0ff 20px) !important; }
div, button, section, p, li, ol, input, textarea, form, label, span {
  box-sizing: content-box !important; padding: 40px !important; margin: 25px !important;
  border: 7px dashed #f00 !important; transform: rotate(3deg) !important;
  line-height: 5 !important; font-size: 60px !important; width: 900px !important; }
:root { --hw-accent: #00ff00; color-scheme: dark; }
"""

PLAIN_CSS = "body { font: 16px/1.5 serif; margin: 0; padding: 24px; }\n"


@dataclass
class CustomerSite:
    """Another origin that embeds the widget; `url(key)` is a page for one chatbot."""

    service_url: str
    port: int = field(default_factory=free_port)

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"

    def url(self, chatbot_key: str, *, css: str = "plain") -> str:
        query = urllib.parse.urlencode({"key": chatbot_key, "css": css})
        return f"{self.origin}/shop?{query}"


def _customer_handler(site: CustomerSite) -> type[BaseHTTPRequestHandler]:
    ws_service = site.service_url.replace("http://", "ws://")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, body: str, content_type: str, *, csp: bool = False) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if csp:
                self.send_header(
                    "Content-Security-Policy",
                    f"default-src 'self'; script-src 'self' {site.service_url}; "
                    f"connect-src 'self' {site.service_url} {ws_service}; style-src 'self'; "
                    "img-src 'self'",
                )
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(parts.query)
            if parts.path == "/plain.css":
                self._send(PLAIN_CSS, "text/css")
            elif parts.path == "/aggressive.css":
                self._send(AGGRESSIVE_CSS, "text/css")
            elif parts.path == "/shop":
                key = html.escape(query.get("key", [""])[0])
                css = "aggressive" if query.get("css", [""])[0] == "aggressive" else "plain"
                src = html.escape(f"{site.service_url}/static/widget/chatbot-widget.js")
                self._send(
                    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                    f"<title>Customer shop</title><link rel='stylesheet' href='/{css}.css'>"
                    "</head><body><main><h1>Customer shop</h1>"
                    "<p>Our products are the best. Ask our assistant anything.</p></main>"
                    f"<script src='{src}' data-chatbot='{key}' async></script>"
                    "</body></html>",
                    "text/html; charset=utf-8",
                    csp=True,
                )
            else:
                self.send_error(404)

    return Handler


@pytest.fixture(scope="package")
def customer_site(server: DaphneServer) -> Iterator[CustomerSite]:
    site = CustomerSite(service_url=server.url)
    httpd = ThreadingHTTPServer(("127.0.0.1", site.port), _customer_handler(site))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site
    httpd.shutdown()
    httpd.server_close()


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser(server: DaphneServer) -> Iterator[Browser]:
    """One Chromium for the package, closed before the tests of other packages run.

    Playwright's sync API keeps an event loop in this thread, and Django refuses database
    calls from a thread with a running loop; the test code here is plain synchronous code,
    so the check is lifted while the browser lives (and never in the server process).
    """
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-background-networking"],
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


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


@pytest.fixture
def new_context(browser: Browser) -> Iterator[NewContext]:
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", DESKTOP)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


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
