"""Events published to the channel layer, always after the transaction commits.

The database is the source of truth: an event is a notification. If the channel layer
drops one (capacity, Redis blip), clients notice the id gap and replay with `?after=`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NotRequired, TypedDict

from asgiref.sync import async_to_sync
from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

ASGIApp = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]

QueueAction = Literal["created", "joined", "resolved", "closed", "reopened"]


class MessageEvent(TypedDict):
    type: Literal["support.message"]
    request_id: str
    message: dict[str, Any]


class StatusEvent(TypedDict):
    type: Literal["support.status"]
    request_id: str
    status: str
    agent_name: str | None


class QueueEvent(TypedDict):
    type: Literal["support.queue"]
    action: QueueAction
    chatbot_id: int
    request: dict[str, Any]


class AccessEvent(TypedDict):
    """An agent lost access (removed from a chatbot, deactivated, logged out)."""

    type: Literal["support.access_revoked"]
    user_id: int
    chatbot_id: int | None
    # SHA-256 of the Django session key that just ended (logout): its sockets close at
    # once. The signal fires before the session is deleted, so a re-check would pass.
    ended_session: NotRequired[str]


class AccessGrantedEvent(TypedDict):
    """A user may now serve a chatbot (made its agent; or, for superusers, a new chatbot).

    Queue sockets re-read the chatbots they serve and join the new ones' groups; request
    sockets have nothing to gain and ignore it.
    """

    type: Literal["support.access_granted"]
    chatbot_id: int


class ErasedEvent(TypedDict):
    """The request's visitor data was erased (support/privacy/): its sockets close, the
    visitor's with 4401 (their token is dead), agents' with 4404 (the conversation is
    gone)."""

    type: Literal["support.erased"]
    request_id: str


class TypingEvent(TypedDict):
    """Not a change of the request: relayed at once, never stored, no transaction."""

    type: Literal["support.typing"]
    request_id: str
    sender_type: str
    typing: bool
    sender_channel: str  # the socket that typed: it does not get its own typing back


Event = MessageEvent | StatusEvent | QueueEvent | AccessEvent | AccessGrantedEvent | ErasedEvent


def request_group(request_id: str) -> str:
    return f"request.{request_id}"


def chatbot_agents_group(chatbot_id: int) -> str:
    return f"agents.chatbot.{chatbot_id}"


def user_group(user_id: int) -> str:
    return f"agents.user.{user_id}"


def superusers_group() -> str:
    """Every superuser's queue socket: superusers serve chatbots created after they connected."""
    return "agents.superusers"


def publish_on_commit(group: str, event: Event) -> None:
    """Send `event` to `group` once the current transaction commits (never if it rolls back)."""
    transaction.on_commit(lambda: publisher.submit(group, event))


class Publisher:
    """One per process: events committed on any thread are sent from the event loop, so
    that no database thread waits on Redis. Events of one group are sent one after the
    other, in the order they were handed over (a socket sees its request's messages in
    commit order); different groups' events are sent side by side, so that one slow round
    trip to Redis does not hold up every conversation of the process.

    `bind` is called from the event loop (each ASGI connection does, support/realtime/
    consumers.py and config/asgi.py); until then, and in processes without one
    (management commands, the task worker), `submit` sends at once from the caller's
    thread. A dropped event costs a client a gap read, never a message (docs/events.md).
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        # The last send of each group still under way: the next one waits for it.
        self._tails: dict[str, asyncio.Task[None]] = {}
        self._unbound_tasks: set[asyncio.Task[None]] = set()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        with self._lock:
            if self._loop is not loop:
                self._loop, self._tails = loop, {}

    def submit(self, group: str, event: Event) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                loop.call_soon_threadsafe(self._send_in_turn, group, event)
                return
            except RuntimeError:  # the loop closed in between
                pass
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            publish_now(group, event)
        else:
            # A thread with a loop of its own (not the one bound): send from it.
            task = running.create_task(publish(group, event))
            self._unbound_tasks.add(task)
            task.add_done_callback(self._unbound_tasks.discard)

    def _send_in_turn(self, group: str, event: Event) -> None:
        """On the bound loop: send after the group's previous event has been sent."""
        previous = self._tails.get(group)
        task = asyncio.get_running_loop().create_task(self._send_after(previous, group, event))
        self._tails[group] = task
        task.add_done_callback(lambda done: self._forget(group, done))

    async def _send_after(
        self, previous: asyncio.Task[None] | None, group: str, event: Event
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # publish() never raises; a cancel is not ours
        await publish(group, event)

    def _forget(self, group: str, done: asyncio.Task[None]) -> None:
        if self._tails.get(group) is done:
            del self._tails[group]


publisher = Publisher()


def bind_publisher(app: ASGIApp) -> ASGIApp:
    """The ASGI application, binding the publisher to the loop that serves it."""

    async def bound(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        publisher.bind(asyncio.get_running_loop())
        await app(scope, receive, send)

    return bound


async def relay_typing(
    request_id: str, *, sender_type: str, typing: bool, sender_channel: str
) -> None:
    """Typing indicators go straight to the request's group: ephemeral, nothing to commit."""
    layer = get_channel_layer()
    if layer is None:
        return
    event = TypingEvent(
        type="support.typing",
        request_id=request_id,
        sender_type=sender_type,
        typing=typing,
        sender_channel=sender_channel,
    )
    try:
        await layer.group_send(request_group(request_id), dict(event))
    except Exception:
        logger.exception("could not relay typing to %s", request_group(request_id))


def publish_now(group: str, event: Event) -> None:
    """Send from a thread without an event loop of its own (waits for Redis)."""
    try:
        async_to_sync(publish)(group, event)
    except Exception:
        logger.exception("could not publish %s to %s", event["type"], group)


async def publish(group: str, event: Event) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(group, dict(event))
    except Exception:
        # The row is committed; a lost notification is recovered by replay.
        logger.exception("could not publish %s to %s", event["type"], group)
