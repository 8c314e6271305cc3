"""Browser tests: Debian's Chromium (Playwright) against a live daphne server.

One daphne process and one browser per test session; each test gets fresh browser
contexts. The server reads and writes this process's test database (the SQLite test file,
or the PostgreSQL test database), so tests are transactional: rows made here are
committed and visible to it (live_server.py). A customer's site on another origin embeds
the widget (customer_site.py); the pages are driven with browser.py's steps.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

from tests.e2e.browser import CHROMIUM, DESKTOP, NewContext, PageWatch
from tests.e2e.customer_site import CustomerSite, customer_handler
from tests.e2e.live_server import release_database, server_env
from tests.servers import DaphneServer

expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


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


@pytest.fixture(scope="package")
def customer_site(server: DaphneServer) -> Iterator[CustomerSite]:
    site = CustomerSite(service_url=server.url)
    httpd = ThreadingHTTPServer(("127.0.0.1", site.port), customer_handler(site))
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
