"""Helpers shared by the test modules: the scene most tests start from, clients as the
widget and the console make them, the events published, and waiting for a state.

Fixtures live in the conftest files; they use these.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection
from django.test import TestCase
from rest_framework.test import APIClient

from chatbots.models import Chatbot, ChatSession
from core.actors import Agent
from support import services
from support.models import SupportRequest
from tests import layers
from tests.factories import make_session
from tests.layers import Joined, Published

__all__ = [
    "Joined",
    "Published",
    "Scene",
    "VisitorClient",
    "agent_client",
    "agent_client_with_csrf",
    "assert_error",
    "bot_url",
    "capture_events",
    "capture_joins",
    "create_request_over_http",
    "join",
    "live_database_url",
    "messages_url",
    "visitor_client",
    "wait_until",
]


# --- who is on stage --------------------------------------------------------------------------


@dataclass
class VisitorClient:
    session: ChatSession
    token: str
    client: APIClient


@dataclass
class Scene:
    """Two chatbots, each with its own agent, plus one visitor on the first with a request
    (the `scene` fixture)."""

    chatbot: Chatbot
    other_chatbot: Chatbot
    agent: Any
    other_agent: Any
    superuser: Any
    visitor: VisitorClient
    other_visitor: VisitorClient
    support_request: SupportRequest


def visitor_client(chatbot: Chatbot) -> VisitorClient:
    session, token = make_session(chatbot)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return VisitorClient(session=session, token=token, client=client)


def agent_client(user: Any) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def agent_client_with_csrf(user: Any) -> APIClient:
    """A logged-in agent whose unsafe calls carry the CSRF token, as the console's do."""
    client = agent_client(user)
    client.get("/console/login/")  # sets the csrftoken cookie
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client


def join(scene: Scene) -> SupportRequest:
    return services.request_join(support_request=scene.support_request, agent=Agent(scene.agent))


def create_request_over_http(
    chatbot: Chatbot,
    *,
    initial_message: str = "My parcel arrived broken",
    user_name: str | None = "Vera",
    user_email: str | None = "vera@example.com",
    accept_language: str | None = None,
) -> SupportRequest:
    """A visitor asks for a human through the API, as the widget does (in
    `accept_language`, the widget's chosen language, when given)."""
    session, token = make_session(chatbot)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body: dict[str, Any] = {"session_id": session.session_id, "initial_message": initial_message}
    if user_name is not None:
        body["user_name"] = user_name
    if user_email is not None:
        body["user_email"] = user_email
    if accept_language:
        client.credentials(
            HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE=accept_language
        )
    response = client.post("/human-support/request", body, format="json")
    assert response.status_code == 201, response.content
    return SupportRequest.objects.select_related("chatbot").get(
        request_id=response.json()["request_id"]
    )


# --- the HTTP API -------------------------------------------------------------------------------


def messages_url(scene: Scene) -> str:
    """The messages of the scene's request."""
    return f"/human-support/requests/{scene.support_request.request_id}/messages"


def bot_url(visitor: VisitorClient) -> str:
    """The visitor's chat with the bot."""
    return f"/api/sessions/{visitor.session.session_id}/messages"


def assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """A JSON error of `status` with a detail and the errors by field (naming `field`)."""
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body["errors"], dict)
    if field is not None:
        assert field in body["errors"], body
        assert body["errors"][field]
    return body


# --- events -------------------------------------------------------------------------------------


def _assert_recording_layer() -> None:
    backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    assert backend.startswith("tests.layers."), (
        f"the channel layer {backend} records nothing: run pytest with tests.settings"
    )


@contextmanager
def capture_events(*, using: str = DEFAULT_DB_ALIAS) -> Iterator[list[Published]]:
    """What was published to the channel layer during the block, in order, with its group.

    Services publish on commit. A test's transaction never commits, so the on-commit
    callbacks registered in the block run when it exits, as a commit would run them (those
    of a rolled-back savepoint never do); the list is complete after the block. In a
    transactional test (`transaction=True`) commits are real and publish at once.
    """
    _assert_recording_layer()
    published: list[Published] = []
    with (
        layers.recording_published(published),
        TestCase.captureOnCommitCallbacks(using=using, execute=True),
    ):
        yield published


@contextmanager
def capture_joins() -> Iterator[list[Joined]]:
    """The channel-layer groups that sockets joined during the block (once each join took
    effect), for tests that must wait until a socket hears a group before publishing to it."""
    _assert_recording_layer()
    joined: list[Joined] = []
    with layers.recording_joined(joined):
        yield joined


# --- processes and time -------------------------------------------------------------------------


# The PostgreSQL sessions of the processes the tests start carry this name, so that a test
# can end a stopped server's sessions without touching this process's own connections (the
# live path's threads keep theirs between tests).
SERVER_APPLICATION_NAME = "handoff-test-server"


def live_database_url(*, application_name: str = SERVER_APPLICATION_NAME) -> str:
    """This process's test database as a DATABASE_URL for a process the test starts: the
    SQLite test file, or the PostgreSQL test database (`application_name` names the other
    process's sessions, so that they can be told from this process's)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    assert connection.vendor == "postgresql", connection.vendor
    user = urllib.parse.quote(db.get("USER") or "")
    password = urllib.parse.quote(db.get("PASSWORD") or "")
    credentials = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    url = f"postgres://{credentials}{host}:{port}/{db['NAME']}"
    return f"{url}?application_name={application_name}"


def wait_until(predicate: Callable[[], bool], *, timeout: float = 30, what: str = "") -> None:
    """Poll until `predicate()` holds: for a state another process or thread brings about."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.1)
