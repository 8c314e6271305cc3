"""Real server processes for the multi-process tests and the benchmarks.

Everything listens on 127.0.0.1 on a port the kernel chose (bind to port 0), so several
engineers' runs on one machine never collide, and every process is stopped by its own pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
LOCALHOST = "127.0.0.1"

# Variables of the test process that must not leak into a process it starts: the harness
# decides the database and the Redis of every process it starts.
_NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "SQLITE_TEST_DB", "CHANNEL_CAPACITY")
# pytest runs on tests.settings (a recording channel layer, fast password hashing) and
# exports it in DJANGO_SETTINGS_MODULE; the processes it starts run the product as it ships.
PRODUCT_SETTINGS = "config.settings"


def process_env(*, drop: Iterable[str] = (), **env: str) -> dict[str, str]:
    """The environment of a process the tests start (daphne, a worker, manage.py): this
    process's, without the variables the harness decides and those in `drop`, on the
    product's settings, plus `env`."""
    inherited = {k: v for k, v in os.environ.items() if k not in {*_NOT_INHERITED, *drop}}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": PRODUCT_SETTINGS,
        "PYTHONUNBUFFERED": "1",
        **env,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


def _log_file(prefix: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=f"handoff-{prefix}-", suffix=".log")
    os.close(handle)
    return Path(name)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(process: subprocess.Popen[bytes] | None, *, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@dataclass
class RedisServer:
    """A private redis-server without persistence: a restart starts it empty."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=lambda: _log_file("redis"))

    @property
    def url(self) -> str:
        return f"redis://{LOCALHOST}:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *, timeout: float = 10) -> RedisServer:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                LOCALHOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{_tail(self.log_path)}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on {self.port}:\n{_tail(self.log_path)}")

    def ping(self) -> bool:
        try:
            with socket.create_connection((LOCALHOST, self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: Redis gone at once, as on a crash; nothing is saved, so it restarts empty."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        _stop(self.process)


@dataclass
class DaphneServer:
    """One daphne process serving `application` (Handoff's by default)."""

    env: Mapping[str, str]
    application: str = "config.asgi:application"
    name: str = "daphne"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=lambda: _log_file("daphne"))
    extra_args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{LOCALHOST}:{self.port}"

    @property
    def origin(self) -> str:
        """The site's own origin, as a browser on the console page would send it."""
        return self.url

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, *, timeout: float = 60, health_path: str = "/healthz") -> DaphneServer:
        env = process_env(**self.env)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "daphne",
                "-b",
                LOCALHOST,
                "-p",
                str(self.port),
                *self.extra_args,
                self.application,
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            if self._healthy(health_path):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not become healthy:\n{self.log_tail()}")

    def _healthy(self, path: str) -> bool:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.url}{path}", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log_path, lines)

    def kill(self) -> None:
        """SIGKILL: the process dies mid-flight, as on a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        _stop(self.process)
