"""The django-tasks-db worker: its loop in this process, or `manage.py db_worker` processes
on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django_tasks_db.management.commands.db_worker import Worker

from tests.helpers import live_database_url
from tests.servers import BASE_DIR, LOCALHOST, process_env
from tests.support.email.smtp import FRONTEND_URL

# Besides those process_env never passes on: the test decides how a worker sends mail.
_NOT_INHERITED = (
    "EMAIL_PROVIDER",
    "SMTP_SERVER",
    "SMTP_PORT",
    "SMTP_USER",
    "SMTP_PASSWORD",
)


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


def start_worker_process(*, smtp_port: int, batch: bool = False, **extra_env: str) -> WorkerProcess:
    """A `manage.py db_worker` process on this test database, sending through SMTP to
    127.0.0.1:`smtp_port` without TLS."""
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
    return WorkerProcess(process=process, log_path=log_path)
