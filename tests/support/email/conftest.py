"""Real parts for the email tests: an aiosmtpd server on a free port, the django-tasks-db
worker (in this process, or as `manage.py db_worker` subprocesses on the test database)."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django_tasks_db.management.commands.db_worker import Worker
from rest_framework.test import APIClient

from chatbots.models import Chatbot
from support.models import SupportRequest
from tests.factories import make_session
from tests.servers import BASE_DIR, process_env

LOCALHOST = "127.0.0.1"
FRONTEND_URL = "https://handoff.example"
# Besides those process_env never passes on: the test decides how a worker sends mail.
_NOT_INHERITED = (
    "EMAIL_PROVIDER",
    "SMTP_SERVER",
    "SMTP_PORT",
    "SMTP_USER",
    "SMTP_PASSWORD",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())


class _Collector:
    def __init__(self) -> None:
        self.mails: list[ReceivedMail] = []
        self.changed = threading.Condition()

    async def handle_DATA(
        self, server: Any, session: Any, envelope: Any
    ) -> str:  # aiosmtpd hook name
        with self.changed:
            self.mails.append(
                ReceivedMail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    raw=bytes(envelope.original_content or envelope.content),
                )
            )
            self.changed.notify_all()
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; `start` may come after mails failed."""

    port: int = field(default_factory=free_port)
    collector: _Collector = field(default_factory=_Collector)
    controller: Controller | None = None

    @property
    def mails(self) -> list[ReceivedMail]:
        with self.collector.changed:
            return list(self.collector.mails)

    def start(self) -> SmtpServer:
        self.controller = Controller(self.collector, hostname=LOCALHOST, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, *, timeout: float = 30) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        with self.collector.changed:
            while len(self.collector.mails) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} mails, got {len(self.collector.mails)} in {timeout}s"
                    )
                self.collector.changed.wait(left)
            return list(self.collector.mails)

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.mails if address in m.rcpt_tos]


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


def run_worker_once(worker_id: str = "test-worker") -> None:
    """django-tasks-db's own worker loop in this process: every task due now, then return."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()


def live_database_url() -> str:
    """The test database of this process, as a DATABASE_URL for a worker process."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = urllib.parse.quote(db.get("USER") or "")
    password = db.get("PASSWORD") or ""
    auth = f"{user}:{urllib.parse.quote(password)}" if password else user
    host = db.get("HOST") or LOCALHOST
    port = db.get("PORT") or 5432
    return f"postgres://{auth}@{host}:{port}/{db['NAME']}"


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker(transactional_db: None, smtp_port: int) -> Iterator[StartWorker]:
    """`manage.py db_worker` subprocesses on the test database, sending to the test SMTP
    port. Stopped (by pid) before the database is flushed."""
    started: list[WorkerProcess] = []

    def start(*, batch: bool = False, **extra_env: str) -> WorkerProcess:
        env = process_env(
            drop=_NOT_INHERITED,
            DEBUG="1",
            SECURE_SSL_REDIRECT="0",
            DATABASE_URL=live_database_url(),
            SMTP_SERVER=LOCALHOST,
            SMTP_PORT=str(smtp_port),
            SMTP_USE_TLS="0",
            SMTP_TIMEOUT="5",
            FRONTEND_URL=FRONTEND_URL,
            LOG_LEVEL="INFO",
            **extra_env,
        )
        handle, name = tempfile.mkstemp(prefix="handoff-email-worker-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
        command = [
            sys.executable,
            "manage.py",
            "db_worker",
            "--interval",
            "0.1",
            "--no-startup-delay",
            "--no-reload",
        ]
        if batch:
            command.append("--batch")
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        worker = WorkerProcess(process=process, log_path=log_path)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        worker.log_path.unlink(missing_ok=True)


def create_request_over_http(
    chatbot: Chatbot,
    *,
    initial_message: str = "My parcel arrived broken",
    user_name: str | None = "Vera",
    user_email: str | None = "vera@example.com",
) -> SupportRequest:
    """A visitor asks for a human through the API, as the widget does."""
    session, token = make_session(chatbot)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body: dict[str, Any] = {"session_id": session.session_id, "initial_message": initial_message}
    if user_name is not None:
        body["user_name"] = user_name
    if user_email is not None:
        body["user_email"] = user_email
    response = client.post("/human-support/request", body, format="json")
    assert response.status_code == 201, response.content
    return SupportRequest.objects.select_related("chatbot").get(
        request_id=response.json()["request_id"]
    )


def wait_until(predicate: Callable[[], bool], *, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(0.1)
