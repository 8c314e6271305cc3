"""Several daphne processes sharing PROMETHEUS_MULTIPROC_DIR: /metrics of any of them adds
up every process's series."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.factories import ChatbotFactory
from tests.helpers import live_database_url, wait_until
from tests.servers import DaphneServer
from tests.support.metrics.exposition import sample
from tests.support.realtime.processes.http import start_visitor
from tests.support.realtime.processes.live import (
    CUSTOMER_ORIGIN,
    SERVER_ENV,
    drop_other_connections,
)

TOKEN = "metrics-process-token"


def scrape(server: DaphneServer) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with opener.open(request, timeout=15) as response:
        assert response.status == 200
        return str(response.read().decode())


@pytest.fixture
def servers(transactional_db: None, tmp_path: Path) -> Iterator[list[DaphneServer]]:
    env = {
        **SERVER_ENV,
        "DATABASE_URL": live_database_url(),
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    started = [DaphneServer(name=name, env=env) for name in ("A", "B")]
    for server in started:
        server.start()
    yield started
    for server in started:
        server.stop()
    if connection.vendor == "postgresql":
        drop_other_connections()


def test_two_processes_each_creating_a_request_add_up_on_either(
    servers: list[DaphneServer],
) -> None:
    chatbot = ChatbotFactory(allowed_origins=[CUSTOMER_ORIGIN])
    for server in servers:
        start_visitor(
            server.url,
            chatbot_key=chatbot.key,
            origin=CUSTOMER_ORIGIN,
            name="Vera",
            first_message="Where is my order?",
        )

    for server in servers:
        text = scrape(server)
        assert sample(text, "handoff_requests_created_total", chatbot=str(chatbot.pk)) == 2
        assert sample(text, "handoff_messages_total", sender_type="user") == 2
        assert sample(text, "handoff_requests_open", status="pending") == 2


def test_an_open_visitor_socket_counts_on_every_process_until_it_closes(
    servers: list[DaphneServer],
) -> None:
    a, b = servers
    chatbot = ChatbotFactory(allowed_origins=[CUSTOMER_ORIGIN])
    visitor, request_id = start_visitor(
        a.url, chatbot_key=chatbot.key, origin=CUSTOMER_ORIGIN, name="Vera", first_message="Hi"
    )

    def visitors_on_b() -> float:
        return sample(scrape(b), "handoff_websocket_connections", kind="visitor")

    url = f"{a.ws_url}/human-support/ws/{request_id}?token={visitor.bearer}"
    with connect(url, origin=Origin(CUSTOMER_ORIGIN), proxy=None):
        wait_until(lambda: visitors_on_b() == 1, timeout=15, what="the socket counted")
    wait_until(lambda: visitors_on_b() == 0, timeout=15, what="the socket no longer counted")
