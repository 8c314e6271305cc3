"""Liveness and readiness: in this process on the embedded defaults, and a real daphne
process whose Redis stops and comes back."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from pytest_django import DjangoAssertNumQueries

from tests.helpers import live_database_url, wait_until
from tests.servers import DaphneServer, RedisServer
from tests.support.realtime.processes.live import SERVER_ENV, drop_other_connections

CHECKS = {"database", "cache", "migrations", "channel_layer"}


def test_healthz_answers_ok_without_touching_the_database(
    django_assert_num_queries: DjangoAssertNumQueries, db: None
) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_readyz_answers_200_naming_every_check_on_the_embedded_defaults() -> None:
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": dict.fromkeys(CHECKS, "ok")}


def _get(url: str) -> tuple[int, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def server(transactional_db: None, redis_server: RedisServer) -> Iterator[DaphneServer]:
    daphne = DaphneServer(
        name="readyz",
        env={**SERVER_ENV, "DATABASE_URL": live_database_url(), "REDIS_URL": redis_server.url},
    )
    daphne.start()
    yield daphne
    daphne.stop()
    if connection.vendor == "postgresql":
        drop_other_connections()


def test_readyz_fails_naming_redis_checks_while_redis_is_stopped_and_recovers(
    server: DaphneServer, redis_server: RedisServer
) -> None:
    status, body = _get(f"{server.url}/readyz")
    assert (status, body["status"]) == (200, "ok"), body

    redis_server.stop()
    asked = time.monotonic()
    status, body = _get(f"{server.url}/readyz")
    assert time.monotonic() - asked < 8  # each check has a 2 s budget
    assert status == 503
    assert body["status"] == "failed"
    assert body["checks"]["cache"] == "failed"
    assert body["checks"]["channel_layer"] == "failed"
    assert body["checks"]["database"] == "ok"
    # Names and states only: nothing of the failure's text or the Redis address leaks.
    assert set(body["checks"]) == CHECKS
    assert set(body["checks"].values()) <= {"ok", "failed"}
    assert str(redis_server.port) not in json.dumps(body)

    redis_server.start()
    wait_until(
        lambda: _get(f"{server.url}/readyz")[0] == 200, timeout=30, what="readyz back to 200"
    )
