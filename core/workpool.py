"""The live path's database work: a bounded pool of threads, and a bound on work in flight.

Channels runs every `database_sync_to_async` call of a process on ONE thread (it is
thread-sensitive), so one slow query holds up every conversation of the process and
commits never overlap. The live path (socket frames, their admission, and the HTTP
message post) runs its database work here instead: `LIVE_DB_THREADS` threads, each with
its own connection, so requests of different conversations commit in parallel (and
PostgreSQL groups their commits). Two writes of one request stay ordered by its row lock
(support/services.py).

Past `LIVE_MAX_IN_FLIGHT` jobs waiting or running, new work is refused at once (`Busy`)
rather than queued: a queue in front of a saturated process only adds latency to every
message until the clients give up. The caller answers `busy` with a `retry_after_ms`,
having stored nothing, and the client sends again later with the same `client_id`.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import cache
from typing import Any

from channels.db import DatabaseSyncToAsync
from django.conf import settings
from django.db import connections

from core.errors import BUSY, DomainError


class Busy(DomainError):
    """The process has as much live work in flight as it may: nothing was done."""

    code = "busy"
    http_status = 503

    def __init__(self, retry_after_ms: int) -> None:
        super().__init__(BUSY)
        self.retry_after_ms = retry_after_ms


class InFlight:
    """A count of live-path jobs waiting for or holding a database thread, with a ceiling.

    Thread-safe: sockets take slots on the event loop, HTTP views on Django's threads.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            if self.count >= self.limit:
                return False
            self.count += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self.count -= 1

    @contextmanager
    def slot(self) -> Any:
        """Hold one slot for the block, or raise Busy at once when none is free."""
        if not self.try_take():
            raise Busy(retry_after_ms())
        try:
            yield
        finally:
            self.give_back()


def retry_after_ms() -> int:
    """When a refused client should try again: LIVE_BUSY_RETRY_MS, spread by up to half
    again so that the clients refused together do not all come back together."""
    base = settings.LIVE_BUSY_RETRY_MS
    return int(base + random.uniform(0, base / 2))


@cache
def _executor(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="live-db")


@cache
def _in_flight(limit: int) -> InFlight:
    return InFlight(limit)


def in_flight() -> InFlight:
    """This process's count of live work (sized by LIVE_MAX_IN_FLIGHT when first used)."""
    return _in_flight(settings.LIVE_MAX_IN_FLIGHT)


def on_live_thread[**P, R](fn: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """`fn` as a coroutine function run on the live path's pool (LIVE_DB_THREADS threads),
    cleaning up stale connections around it as Channels' database_sync_to_async does."""
    runner = DatabaseSyncToAsync(
        fn, thread_sensitive=False, executor=_executor(settings.LIVE_DB_THREADS)
    )
    return runner


def close_connections() -> None:
    """Close the database connection of every thread of the live pool (before the test
    database is dropped, which PostgreSQL refuses while sessions are open on it).

    One job per thread: each waits at a barrier until all have closed theirs, so no
    thread takes two jobs and none is missed.
    """
    threads = settings.LIVE_DB_THREADS
    barrier = threading.Barrier(threads, timeout=10)

    def close_this_threads() -> None:
        connections.close_all()
        with suppress(threading.BrokenBarrierError):
            barrier.wait()

    jobs = [_executor(threads).submit(close_this_threads) for _ in range(threads)]
    for job in jobs:
        job.result()
