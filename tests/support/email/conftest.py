"""Fixtures of the email tests: an SMTP server on a free port, this process's mailer
pointed at it, and `manage.py db_worker` processes (tests/support/email/smtp.py, workers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers import LOCALHOST, free_port
from tests.support.email.smtp import FRONTEND_URL, SmtpServer
from tests.support.email.workers import StartWorker, WorkerProcess, start_worker_process


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_server(smtp_port: int) -> Iterator[SmtpServer]:
    """Not started: the test starts it (at once, or later to play "SMTP was down")."""
    server = SmtpServer(port=smtp_port)
    yield server
    server.stop()


@pytest.fixture
def smtp_mailer(settings: Any, smtp_port: int) -> None:
    """This process sends through the test's SMTP server, no TLS (as SMTP_* would set)."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": LOCALHOST, "port": smtp_port, "use_tls": False, "timeout": 5},
        }
    }
    settings.FRONTEND_URL = FRONTEND_URL


@pytest.fixture
def start_worker(transactional_db: None, smtp_port: int) -> Iterator[StartWorker]:
    """`manage.py db_worker` processes on the test database, sending to the test SMTP
    port. Stopped (by pid) before the database is flushed."""
    started: list[WorkerProcess] = []

    def start(*, batch: bool = False, **extra_env: str) -> WorkerProcess:
        worker = start_worker_process(smtp_port=smtp_port, batch=batch, **extra_env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        worker.log_path.unlink(missing_ok=True)
