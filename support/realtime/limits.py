"""Socket limits: per-socket token buckets for messages and typing, the typing relay
throttle, and the caps on open sockets per visitor session and per client address."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aredis
from django.conf import settings
from redis.commands.core import AsyncScript

from core.cache import CACHE_UNREACHABLE

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass
class TokenBucket:
    """`burst` frames at once, then `per_second` on average."""

    burst: int
    per_second: float
    clock: Clock = time.monotonic
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)
        self.updated = self.clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


@dataclass
class TypingThrottle:
    """Relay a typing state when it changes, else at most once per `interval` seconds.

    A change (typing → stopped) always goes through, so the other side never keeps
    showing "typing…" because the stop was throttled away.
    """

    interval: float
    clock: Clock = time.monotonic
    last_state: bool | None = None
    last_relay: float = float("-inf")

    def should_relay(self, typing: bool) -> bool:
        now = self.clock()
        if typing == self.last_state and now - self.last_relay < self.interval:
            return False
        self.last_state = typing
        self.last_relay = now
        return True


@dataclass(frozen=True)
class SocketLimits:
    max_frame_bytes: int
    message_burst: int
    messages_per_second: float
    typing_burst: int
    typing_per_second: float
    typing_relay_seconds: float

    @classmethod
    def from_settings(cls) -> SocketLimits:
        # Read per connection, so an operator's (or a test's) settings apply at once.
        return cls(
            max_frame_bytes=settings.WS_MAX_FRAME_BYTES,
            message_burst=settings.WS_MESSAGE_BURST,
            messages_per_second=settings.WS_MESSAGES_PER_SECOND,
            typing_burst=settings.WS_TYPING_BURST,
            typing_per_second=settings.WS_TYPING_PER_SECOND,
            typing_relay_seconds=settings.WS_TYPING_RELAY_SECONDS,
        )

    def message_bucket(self) -> TokenBucket:
        return TokenBucket(burst=self.message_burst, per_second=self.messages_per_second)

    def typing_bucket(self) -> TokenBucket:
        return TokenBucket(burst=self.typing_burst, per_second=self.typing_per_second)

    def typing_throttle(self) -> TypingThrottle:
        return TypingThrottle(interval=self.typing_relay_seconds)


# --- open sockets per visitor session and per client address -------------------------------
#
# Counted where every process sees them: with REDIS_URL, one sorted set per key whose
# members are socket channel names scored by a lease's end. A live socket's lease is
# renewed by its process every SOCKET_LEASE_SECONDS / 3; a crashed process's sockets
# lapse within SOCKET_LEASE_SECONDS and free their slots. Without Redis (one process) the
# counts live in this process's memory. Fail open: with Redis unreachable a socket is
# admitted uncounted (logged), as the message limits do (core/ratelimit.py).

SOCKET_LEASE_SECONDS = 90

# KEYS: the caps' keys; ARGV: lease seconds, member, then each key's cap. Answers 0 when
# the socket took a slot under every key, else the 1-based index of the full key.
_ENTER_SCRIPT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now_ms)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now_ms + lease * 1000, ARGV[2])
  redis.call('EXPIRE', key, lease)
end
return 0
"""

# KEYS: keys of this process's sockets; ARGV: lease seconds, then one member per key.
_RENEW_SCRIPT = """
local now = redis.call('TIME')
local until_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  + tonumber(ARGV[1]) * 1000
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', until_ms, ARGV[1 + i])
  redis.call('EXPIRE', key, ARGV[1])
end
return 0
"""


@dataclass(frozen=True)
class SocketSlot:
    """The slots one socket holds: one per key (its session's, its address's)."""

    keys: tuple[str, ...]
    member: str


@dataclass
class _LoopSockets:
    """This event loop's counted sockets (Redis: renewed by one task per loop)."""

    client: aredis.Redis | None = None
    enter: AsyncScript | None = None
    renew: AsyncScript | None = None
    slots: set[SocketSlot] = field(default_factory=set)
    renewer: asyncio.Task[None] | None = None


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSockets] = (
    weakref.WeakKeyDictionary()
)
# Without Redis: open sockets per key, in this process.
_local_counts: Counter[str] = Counter()


def _loop_sockets() -> _LoopSockets:
    loop = asyncio.get_running_loop()
    found = _loops.get(loop)
    if found is None:
        found = _loops[loop] = _LoopSockets()
    if settings.REDIS_URL and found.client is None:
        # One client per loop: asyncio connections belong to the loop that opened them.
        found.client = aredis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        found.enter = found.client.register_script(_ENTER_SCRIPT)
        found.renew = found.client.register_script(_RENEW_SCRIPT)
    return found


def socket_cap_keys(*, session_id: str, ip: str | None) -> list[tuple[str, int]]:
    """The keys a visitor's socket counts under, each with its cap (settings read per
    call, so an operator's or a test's value applies at once)."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    found = [(f"{prefix}:sockets:session:{session_id}", settings.WS_MAX_SOCKETS_PER_SESSION)]
    if ip:
        found.append((f"{prefix}:sockets:ip:{ip}", settings.WS_MAX_SOCKETS_PER_IP))
    return found


async def take_socket_slot(*, session_id: str, ip: str | None, member: str) -> SocketSlot | None:
    """A slot under every cap for the socket named `member`, or None when one is full.
    Give it back with `give_back_socket_slot` when the socket ends."""
    caps = socket_cap_keys(session_id=session_id, ip=ip)
    slot = SocketSlot(keys=tuple(key for key, _ in caps), member=member)
    if not settings.REDIS_URL:
        if any(_local_counts[key] >= cap for key, cap in caps):
            return None
        _local_counts.update(slot.keys)
        return slot
    sockets = _loop_sockets()
    assert sockets.enter is not None
    try:
        full = await sockets.enter(
            keys=list(slot.keys), args=[SOCKET_LEASE_SECONDS, member, *(cap for _, cap in caps)]
        )
    except CACHE_UNREACHABLE:
        logger.warning("socket caps not applied: Redis is unreachable")
        return slot
    if int(full):
        return None
    sockets.slots.add(slot)
    if sockets.renewer is None or sockets.renewer.done():
        sockets.renewer = asyncio.create_task(_renew_leases(sockets))
    return slot


async def give_back_socket_slot(slot: SocketSlot) -> None:
    if not settings.REDIS_URL:
        _local_counts.subtract(slot.keys)
        for key in slot.keys:
            if _local_counts[key] <= 0:
                del _local_counts[key]
        return
    sockets = _loop_sockets()
    sockets.slots.discard(slot)
    if not sockets.slots and sockets.renewer is not None:
        # Nothing left to renew: the task must not outlive the last socket of its loop.
        sockets.renewer.cancel()
        sockets.renewer = None
    assert sockets.client is not None
    try:
        async with sockets.client.pipeline(transaction=False) as pipe:
            for key in slot.keys:
                pipe.zrem(key, slot.member)
            await pipe.execute()
    except CACHE_UNREACHABLE:
        logger.warning("socket slot of %s not given back: its lease lapses", slot.member)


async def _renew_leases(sockets: _LoopSockets) -> None:
    """Every third of a lease, renew the leases of every socket of this loop at once."""
    while sockets.slots:
        await asyncio.sleep(SOCKET_LEASE_SECONDS / 3)
        pairs = [(key, slot.member) for slot in list(sockets.slots) for key in slot.keys]
        if not pairs or sockets.renew is None:
            continue
        try:
            await sockets.renew(
                keys=[key for key, _ in pairs],
                args=[SOCKET_LEASE_SECONDS, *(member for _, member in pairs)],
            )
        except CACHE_UNREACHABLE:
            logger.warning("socket leases not renewed: Redis is unreachable")
