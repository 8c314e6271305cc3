"""The channel layer of the test settings: the one the product's settings chose, recording.

tests/settings.py swaps the configured BACKEND for its recording subclass here: Channels'
in-memory layer on the embedded leg, channels_redis on the services leg. Everything else is
the real layer; a recorded event is also delivered.

Recording is off until a test asks for it (tests.helpers.capture_events), so nothing
accumulates. Services publish through async_to_sync, in threads of their own, and sockets
join groups in the test's event loop: the sinks are shared under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer  # type: ignore[import-untyped]


@dataclass(frozen=True)
class Published:
    """One `group_send`: the group it went to and the event as it was sent."""

    group: str
    event: dict[str, Any]


@dataclass(frozen=True)
class Joined:
    """One `group_add` that completed: from then on, the channel hears the group."""

    group: str
    channel: str


_lock = threading.Lock()
_published_sinks: list[list[Published]] = []
_joined_sinks: list[list[Joined]] = []


def _record[T](sinks: list[list[T]], item: T) -> None:
    with _lock:
        for sink in sinks:
            sink.append(item)


@contextmanager
def _sinking[T](sinks: list[list[T]], sink: list[T]) -> Iterator[list[T]]:
    with _lock:
        sinks.append(sink)
    try:
        yield sink
    finally:
        with _lock:
            sinks.remove(sink)


def recording_published(sink: list[Published]) -> AbstractContextManager[list[Published]]:
    """While the block runs, every group_send of this process is appended to `sink`."""
    return _sinking(_published_sinks, sink)


def recording_joined(sink: list[Joined]) -> AbstractContextManager[list[Joined]]:
    """While the block runs, every completed group_add of this process is appended to `sink`."""
    return _sinking(_joined_sinks, sink)


class RecordingLayerMixin:
    """Records, then does what the real layer does."""

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        _record(_published_sinks, Published(group=group, event=dict(message)))
        await super().group_send(group, message)  # type: ignore[misc]

    async def group_add(self, group: str, channel: str) -> None:
        # Recorded once it took effect: a test waiting for it may then publish to the group.
        await super().group_add(group, channel)  # type: ignore[misc]
        _record(_joined_sinks, Joined(group=group, channel=channel))


class RecordingInMemoryChannelLayer(RecordingLayerMixin, InMemoryChannelLayer):
    pass


class RecordingRedisChannelLayer(RecordingLayerMixin, RedisChannelLayer):
    pass
