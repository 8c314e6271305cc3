"""Two real daphne processes and the clients of one conversation: what the multi-process
tests share (their fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.factories import PASSWORD, AgentFactory, ChatbotFactory
from tests.helpers import SERVER_APPLICATION_NAME
from tests.servers import DaphneServer
from tests.support.realtime.processes.http import HttpClient, messages_of, start_visitor
from tests.support.realtime.processes.recovering_client import RecoveringClient

CUSTOMER_ORIGIN = "https://customer.example"

# The processes under test keep the product's limits except the per-session HTTP write
# rate, which a fault test's retries could reach; it is not what these tests are about.
SERVER_ENV = {
    "DEBUG": "1",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    "RATE_VISITOR_MESSAGE_SESSION": "600/min",
    "RATE_VISITOR_MESSAGE_IP": "600/min",
}


StartServer = Callable[..., DaphneServer]

# Set by conftest.py's report hook: whether the test's call failed.
FAILED = pytest.StashKey[bool]()


def keep_logs_if_failed(request: pytest.FixtureRequest, logs: list[Path]) -> None:
    """Server logs are kept (and named) when the test failed, removed when it passed."""
    if request.node.stash.get(FAILED, True):
        for path in logs:
            print(f"server log kept: {path}")
        return
    for path in logs:
        path.unlink(missing_ok=True)


def drop_other_connections() -> None:
    """End the sessions the servers the test started left behind.

    A killed process leaves no session behind, but a stopped one may linger a moment; the
    flush after the test needs the tables to itself. Only the servers' sessions (by
    application_name): this process's other threads keep connections of their own, and
    ending those broke every later socket test of the suite.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [SERVER_APPLICATION_NAME],
        )


@dataclass
class LiveChat:
    """One support request: its visitor on one process, its agent (joined) on another."""

    request_id: str
    visitor_http: HttpClient
    agent_http: HttpClient
    chatbot_key: str
    agent: Any


def open_live_chat(visitor_server: DaphneServer, agent_server: DaphneServer) -> LiveChat:
    """A chatbot and its agent (factories), then the visitor and agent over HTTP as in life."""
    agent = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[agent], allowed_origins=[CUSTOMER_ORIGIN])
    visitor_http, request_id = start_visitor(
        visitor_server.url,
        chatbot_key=chatbot.key,
        origin=CUSTOMER_ORIGIN,
        name="Vera",
        first_message="My parcel never arrived",
    )
    agent_http = HttpClient(base_url=agent_server.url)
    agent_http.login(agent.username, PASSWORD)
    joined = agent_http.post(f"/human-support/requests/{request_id}/join")
    assert joined.status == 200, joined
    return LiveChat(
        request_id=request_id,
        visitor_http=visitor_http,
        agent_http=agent_http,
        chatbot_key=chatbot.key,
        agent=agent,
    )


def visitor_client(chat: LiveChat, *servers: DaphneServer) -> RecoveringClient:
    return RecoveringClient(
        name="visitor",
        http=chat.visitor_http,
        request_id=chat.request_id,
        servers=[s.url for s in servers],
        origin=CUSTOMER_ORIGIN,
        token=chat.visitor_http.bearer,
    )


def agent_client(chat: LiveChat, *servers: DaphneServer) -> RecoveringClient:
    return RecoveringClient(
        name="agent",
        http=chat.agent_http,
        request_id=chat.request_id,
        servers=[s.url for s in servers],
        origin=servers[0].origin,
    )


def stored_transcript(chat: LiveChat) -> list[tuple[int, str, str]]:
    """What the database holds, read over HTTP by the agent (every page): the reference."""
    messages: list[dict[str, Any]] = []
    while True:
        page = messages_of(
            chat.agent_http, chat.request_id, after=messages[-1]["id"] if messages else 0
        )
        messages += page
        if len(page) < django_settings.MESSAGE_PAGE_SIZE:
            return [(m["id"], m["sender_type"], m["text"]) for m in messages]


def assert_complete_in_order_once(client: RecoveringClient, chat: LiveChat) -> None:
    """The client shows every stored message, in id order, each once."""
    assert client.arrivals == sorted(set(client.arrivals)), "shown out of order or twice"
    assert client.transcript() == stored_transcript(chat)
