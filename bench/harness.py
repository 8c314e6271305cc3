"""What the benchmarks share: a private PostgreSQL database and redis-server, Handoff's
daphne processes, process CPU and memory, percentiles. Everything is on 127.0.0.1.

The process helpers are the ones the real-time tests use (tests/realtime/servers.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[1]
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

import psutil  # noqa: E402
import psycopg  # noqa: E402

from tests.realtime.servers import (  # noqa: E402
    LOCALHOST,
    PYTHON,
    DaphneServer,
    RedisServer,
    free_port,
)

__all__ = [
    "LOCALHOST",
    "DaphneServer",
    "RedisServer",
    "free_port",
]

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/handoff_bench"
CUSTOMER_ORIGIN = "https://customer.example"
BENCH_SECRET = "bench-only-secret-key-not-for-production-0123456789abcdefghijklmnop"  # noqa: S105


def require_local(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", None):
        raise SystemExit(f"benchmarks only target 127.0.0.1, not {host}")


def raise_fd_limit() -> int:
    """Sockets are files: lift the soft limit to the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- database -------------------------------------------------------------------------------


def recreate_database(database_url: str) -> None:
    """Drop and create the benchmark's own database, then migrate it."""
    require_local(database_url)
    parts = urllib.parse.urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name.replace("_", "").isalnum() or not name.startswith("handoff_bench"):
        raise SystemExit(
            f"refusing to recreate database {name!r}: its name must start handoff_bench"
        )
    admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env=django_env(database_url),
        check=True,
    )


def django_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SQLITE_TEST_DB")
    }
    env.update({"DEBUG": "1", "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", **extra})
    return env


def seed(database_url: str, *, requests: int, join: bool) -> dict[str, Any]:
    """Visitor sessions and their requests, made through services.py (bench/seed.py)."""
    args = [PYTHON, "bench/seed.py", "--requests", str(requests)]
    if join:
        args.append("--join")
    done = subprocess.run(
        args,
        cwd=BASE_DIR,
        env=django_env(database_url),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def backend_pids(database_url: str) -> list[int]:
    """PostgreSQL server processes serving the benchmark's database (its daphne connections)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return [row[0] for row in rows]


def handoff_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off) over plain HTTP on 127.0.0.1."""
    return {
        "DEBUG": "0",
        "SECRET_KEY": BENCH_SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        **extra,
    }


# --- measuring ----------------------------------------------------------------------------


@dataclass
class Usage:
    cpu_seconds: float
    rss_bytes: int


class ProcessMeter:
    """CPU time used between start() and stop(), and the RSS at stop(), per group of pids.

    A group is a list of pids or a function returning the current ones (PostgreSQL
    backends come and go: Django closes a connection older than CONN_MAX_AGE). A process
    that ended during the window is left out (its last CPU time is unknown); one that
    started during it counts from its start.
    """

    def __init__(self, groups: dict[str, list[int] | Callable[[], list[int]]]) -> None:
        self.groups = groups
        self._start: dict[str, dict[int, float]] = {}

    def _pids(self, name: str) -> list[int]:
        group = self.groups[name]
        return list(group() if callable(group) else group)

    @staticmethod
    def _cpu(pid: int) -> float | None:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return None
        return times.user + times.system

    def start(self) -> None:
        self._start = {
            name: {pid: cpu for pid in self._pids(name) if (cpu := self._cpu(pid)) is not None}
            for name in self.groups
        }

    def stop(self) -> dict[str, Usage]:
        usage = {}
        for name in self.groups:
            cpu = 0.0
            rss = 0
            for pid in set(self._pids(name)) | set(self._start[name]):
                now = self._cpu(pid)
                if now is None:
                    continue
                cpu += now - self._start[name].get(pid, 0.0)
                with contextlib.suppress(psutil.Error):
                    rss += psutil.Process(pid).memory_info().rss
            usage[name] = Usage(cpu_seconds=cpu, rss_bytes=rss)
        return usage


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def mib(n: float) -> float:
    return n / (1024 * 1024)
