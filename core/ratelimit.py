"""Limits shared by HTTP and WebSocket: one budget per visitor session and per client IP.

A visitor must not get round the HTTP message limit by opening sockets, so both transports
count on the same keys. A socket frame asks with ONE call to Redis from the
event loop (`seconds_until_allowed_async`), never a synchronous cache call on a database
thread: on the live path that call cost a database thread two blocking round trips per
message. HTTP views ask the same keys synchronously (`seconds_until_allowed`).

Each key counts calls in a window that opens at its first call and lasts the rate's
period (`SET NX EX`, `INCR`, `PTTL` per key, in one Lua script for every key: one command
and one reply per message, where a pipeline cost three of each per key): simple, exact for
the tests' bursts, and at most twice the rate across the edge of two windows. Without Redis (the
embedded default, one process) the counters live in Django's local-memory cache.

Fail open: with Redis unreachable a visitor's message is still stored (logged), as the
DRF throttles do (core/throttles.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from functools import cache

import redis
import redis.asyncio as aredis
from django.conf import settings
from django.core.cache import cache as django_cache
from redis.commands.core import AsyncScript, Script
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from core.cache import CACHE_UNREACHABLE

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Budget:
    key: str
    limit: int
    period: int  # seconds


def _budget(scope: str, ident: str) -> Budget:
    """`scope`'s rate from DEFAULT_THROTTLE_RATES ("30/min"), read at each call so that a
    test's or an operator's setting applies at once."""
    count, _, per = str(api_settings.DEFAULT_THROTTLE_RATES[scope]).partition("/")
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return Budget(
        key=f"{prefix}:ratelimit:{scope}:{ident}",
        limit=int(count),
        period=_PERIODS[per[0]],
    )


def budgets(scope_name: str, *, session_id: str, ip: str | None) -> list[Budget]:
    """The per-session and per-IP budgets of `scope_name` (e.g. "visitor_message")."""
    found = [_budget(f"{scope_name}_session", session_id)]
    if ip:
        found.append(_budget(f"{scope_name}_ip", ip))
    return found


def _wait(budgets_: list[Budget], answers: list[object]) -> float | None:
    """From the counting's answers ([set, count, pttl] per budget): None if every count is
    within its limit, else the seconds until the last exceeded window closes."""
    waits = []
    for n, budget in enumerate(budgets_):
        count, pttl = answers[3 * n + 1], answers[3 * n + 2]
        if int(count) > budget.limit:  # type: ignore[call-overload]
            ms = int(pttl)  # type: ignore[call-overload]
            waits.append(ms / 1000 if ms > 0 else float(budget.period))
    return max(waits) if waits else None


# KEYS: the budgets' keys; ARGV: their periods in seconds. Answers [1, count, pttl] per
# key, as the pipeline of SET NX EX, INCR, PTTL would.
_COUNT_SCRIPT = """
local answers = {}
for i, key in ipairs(KEYS) do
  redis.call('SET', key, 0, 'EX', ARGV[i], 'NX')
  answers[#answers + 1] = 1
  answers[#answers + 1] = redis.call('INCR', key)
  answers[#answers + 1] = redis.call('PTTL', key)
end
return answers
"""


# --- Redis ------------------------------------------------------------------------------


@cache
def _sync_script(url: str) -> Script:
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return client.register_script(_COUNT_SCRIPT)


_async_scripts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncScript] = (
    weakref.WeakKeyDictionary()
)


def _async_script(url: str) -> AsyncScript:
    """One client (and connection pool) per event loop: asyncio connections belong to
    the loop that opened them."""
    loop = asyncio.get_running_loop()
    script = _async_scripts.get(loop)
    if script is None:
        client = aredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        script = _async_scripts[loop] = client.register_script(_COUNT_SCRIPT)
    return script


# --- local memory (one process) ---------------------------------------------------------

_local_lock = threading.Lock()


def _count_locally(found: list[Budget]) -> list[object]:
    """The script's answers, from Django's local-memory cache (never blocks on I/O)."""
    answers: list[object] = []
    now = time.monotonic()
    with _local_lock:
        for budget in found:
            count, ends = django_cache.get(budget.key) or (0, now + budget.period)
            if ends <= now:
                count, ends = 0, now + budget.period
            count += 1
            django_cache.set(budget.key, (count, ends), timeout=budget.period)
            answers.extend([True, count, int((ends - now) * 1000)])
    return answers


# --- the two ways to ask ----------------------------------------------------------------


def seconds_until_allowed(scope_name: str, *, session_id: str, ip: str | None) -> float | None:
    """None if a call of `scope_name` is allowed now (and counted), else seconds to wait."""
    found = budgets(scope_name, session_id=session_id, ip=ip)
    try:
        if not settings.REDIS_URL:
            return _wait(found, _count_locally(found))
        answers = _sync_script(settings.REDIS_URL)(
            keys=[b.key for b in found], args=[b.period for b in found]
        )
        return _wait(found, answers)
    except CACHE_UNREACHABLE:
        logger.warning("rate limit %s not applied: Redis is unreachable", scope_name)
        return None


async def seconds_until_allowed_async(
    scope_name: str, *, session_id: str, ip: str | None
) -> float | None:
    """The same, from the event loop: one round trip to Redis."""
    found = budgets(scope_name, session_id=session_id, ip=ip)
    try:
        if not settings.REDIS_URL:
            return _wait(found, _count_locally(found))
        answers = await _async_script(settings.REDIS_URL)(
            keys=[b.key for b in found], args=[b.period for b in found]
        )
        return _wait(found, answers)
    except CACHE_UNREACHABLE:
        logger.warning("rate limit %s not applied: Redis is unreachable", scope_name)
        return None


class SharedBudgetThrottle(BaseThrottle):
    """The HTTP side of a shared budget: a DRF throttle on the same keys as the sockets
    (subclass with `scope_name`; a caller without a visitor session is not limited)."""

    scope_name = ""
    scopes: tuple[str, ...] = ()  # the rates it reads (DEFAULT_THROTTLE_RATES keys)

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def allow_request(self, request: Request, view: APIView) -> bool:
        session = getattr(request.auth, "session", None)
        if session is None:
            return True
        self.wait_seconds = seconds_until_allowed(
            self.scope_name, session_id=session.session_id, ip=self.get_ident(request)
        )
        return self.wait_seconds is None

    def wait(self) -> float | None:
        return self.wait_seconds


def shared_budget(scope_name: str) -> type[SharedBudgetThrottle]:
    return type(
        f"{scope_name}_shared_budget",
        (SharedBudgetThrottle,),
        {"scope_name": scope_name, "scopes": (f"{scope_name}_session", f"{scope_name}_ip")},
    )
