"""The service under test: a daphne process on this process's test database.

It shares this process's REDIS_URL on the PostgreSQL leg.
"""

from __future__ import annotations

import os
from typing import Any

from django.db import connection

from tests.helpers import live_database_url

# The server keeps the product's settings except rate limits per IP: every browser here
# is 127.0.0.1, and the whole suite would otherwise share one visitor's allowance.
SERVER_ENV = {
    "DEBUG": "1",
    "SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    "CONN_MAX_AGE": "0",
    # Lifted in the test process while the browser lives (conftest.py); empty here so the
    # server keeps Django's check.
    "DJANGO_ALLOW_ASYNC_UNSAFE": "",
    "RATE_SESSION_CREATE_IP": "1000/min",
    "RATE_BOT_MESSAGE_IP": "1000/min",
    "RATE_REQUEST_CREATE_IP": "1000/min",
    "RATE_VISITOR_MESSAGE_IP": "1000/min",
}

SERVER_APPLICATION_NAME = "handoff-e2e-server"


def server_env() -> dict[str, str]:
    env = {
        **SERVER_ENV,
        "DATABASE_URL": live_database_url(application_name=SERVER_APPLICATION_NAME),
    }
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
