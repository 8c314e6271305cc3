"""Fixtures of the multi-process tests: real daphne processes on the test database and a
private redis-server.

The processes read and write the database the test process uses (transactional tests, so
rows are committed and visible to them): the PostgreSQL test database on the PostgreSQL leg,
the SQLite test file on the embedded leg. Their channel layer and cache are a redis-server
started here on a free port, so stopping it never touches the machine's Redis and the tests
run on both legs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tests.helpers import live_database_url
from tests.servers import DaphneServer, RedisServer
from tests.support.realtime.processes.live import (
    FAILED,
    SERVER_ENV,
    StartServer,
    drop_other_connections,
    keep_logs_if_failed,
)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture
def redis_server(request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()
    keep_logs_if_failed(request, [server.log_path])


@pytest.fixture
def start_server(
    request: pytest.FixtureRequest, transactional_db: None, redis_server: RedisServer
) -> Iterator[StartServer]:
    """Start a daphne process on the test database and the private Redis.

    Requesting `transactional_db` makes the processes stop before the database is flushed.
    """
    started: list[DaphneServer] = []

    def start(name: str = "daphne", **env: str) -> DaphneServer:
        server = DaphneServer(
            name=name,
            env={
                **SERVER_ENV,
                "DATABASE_URL": live_database_url(),
                "REDIS_URL": redis_server.url,
                **env,
            },
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
    keep_logs_if_failed(request, [server.log_path for server in started])
    if connection.vendor == "postgresql":
        drop_other_connections()
