"""Per-socket limits: token buckets for messages and typing, and the typing relay throttle."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

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
