"""WebSocket transport (DESIGN.md §5, docs/events.md). Parse, authorise, call a service,
relay events. Consumers never write a support model and never publish a domain event:
services publish on commit; consumers only relay what arrives in their groups.

`/human-support/ws/{request_id}`: one request's conversation (visitor or agent).
`/human-support/ws/agent`: an agent's live queue (every chatbot they serve).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from math import ceil
from typing import Any

from asgiref.typing import WebSocketConnectEvent
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import translation
from django.utils.text import format_lazy
from django_stubs_ext import StrOrPromise

from chatbots.visitors import Visitor
from core.actors import Agent
from core.errors import DomainError, InvalidInput, RequestClosed
from core.ratelimit import seconds_until_allowed_async
from core.throttles import client_ip
from core.workpool import Busy, InFlight, in_flight, on_live_thread, retry_after_ms
from support import events, services
from support.metrics import recording
from support.models import (
    CLIENT_ID_MAX_LENGTH,
    RequestStatus,
    SenderType,
    SupportMessage,
    SupportRequest,
)
from support.presenters import message_json
from support.realtime.admission import (
    QueueAdmission,
    Refused,
    RequestAdmission,
    admit_to_queue,
    admit_to_request,
    agent_chatbot_ids,
    agent_request_access,
    header,
    query_param,
    session_fingerprint,
)
from support.realtime.delivery import DeliveredIds
from support.realtime.frames import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_MANY,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHENTICATED,
    INVALID_AFTER,
    RATE_LIMITED_MESSAGES,
    RATE_LIMITED_MESSAGES_FOR,
    RATE_LIMITED_TYPING,
    RATE_LIMITED_TYPING_FOR,
    SERVER_ERROR,
    AccessLost,
    FrameError,
    error_frame,
    optional_str,
    parse_frame,
    required_bool,
    required_str,
    unknown_type,
)
from support.realtime.limits import (
    SocketLimits,
    SocketSlot,
    give_back_socket_slot,
    take_socket_slot,
)
from support.selectors import messages_after, parse_cursor

logger = logging.getLogger(__name__)


# How long a closing socket waits for its accepted messages to be written.
WRITER_DRAIN_SECONDS = 30


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A message frame accepted on arrival, waiting for its turn in the socket's writer."""

    text: str
    client_id: str | None


_admission_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def admission_turn() -> AsyncIterator[None]:
    """One of LIVE_MAX_ADMISSIONS turns at the database for a connecting socket (its
    credentials, then its history). A reconnect storm is admitted at the rate the database
    answers; a socket that waits LIVE_ADMISSION_WAIT_SECONDS without a turn is refused with
    4503 (try again later) well before daphne's handshake timeout would drop it unanswered.
    """
    loop = asyncio.get_running_loop()
    turns = _admission_turns.get(loop)
    if turns is None:
        turns = _admission_turns[loop] = asyncio.Semaphore(settings.LIVE_MAX_ADMISSIONS)
    try:
        await asyncio.wait_for(turns.acquire(), timeout=settings.LIVE_ADMISSION_WAIT_SECONDS)
    except TimeoutError:
        raise Refused(CLOSE_TRY_AGAIN) from None
    try:
        yield
    finally:
        turns.release()


class HandoffConsumer(AsyncWebsocketConsumer):
    """Shared plumbing: JSON frames, group bookkeeping, refusals with close codes, and the
    one place where a refused frame (any DomainError) becomes an `error` frame."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.joined_groups: list[str] = []
        self.finished = False
        self.limits = SocketLimits.from_settings()
        self.user_id: int | None = None
        self.session_key: str | None = None
        # When this socket last read its agent's access (admission reads it first).
        self.access_checked_at = time.monotonic()
        # The language of this socket's error frames; admission sets the reader's.
        self.language: str = settings.LANGUAGE_CODE

    async def websocket_connect(self, message: WebSocketConnectEvent) -> None:
        # Events committed on the database threads are sent from this loop (events.py).
        events.publisher.bind(asyncio.get_running_loop())
        await super().websocket_connect(message)
        recording.socket_opened(self)

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            if message["type"].startswith("support."):
                # An event type this consumer does not know (a newer process publishing
                # during a rolling deploy) is skipped rather than ending the socket.
                logger.warning("%s ignores event %s", type(self).__name__, message["type"])
                return
            raise ValueError(f"No handler for message type {message['type']}")
        # Channels' own dispatch first runs close_old_connections, a hop to the one
        # database thread, for every frame and event, relays included. Here every
        # database call goes through on_live_thread, which does that itself.
        await handler(message)

    # --- sending and closing ------------------------------------------------------------

    async def send_frame(self, frame: dict[str, Any]) -> None:
        if not self.finished:
            await self.send(text_data=json.dumps(frame))

    async def send_error(
        self, code: str, detail: StrOrPromise, *, client_id: str | None = None, **extra: Any
    ) -> None:
        """An `error` frame with `detail` in the socket's language (gettext's language is
        per task: set here, around the one place where the text is made)."""
        with translation.override(self.language):
            frame = error_frame(code, detail, client_id=client_id)
        frame.update(extra)
        await self.send_frame(frame)

    async def join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined_groups.append(group)

    async def join_all(self, groups: list[str]) -> bool:
        """Join every group, or none: False when the channel layer fails (Redis down).

        A socket that cannot hear its events must not look live; it is closed with 4503
        (try again later) and the client reconnects with `?after=`.
        """
        try:
            for group in groups:
                await self.join(group)
        except Exception:
            logger.exception("channel layer unavailable: socket %s refused", self.channel_name)
            await self.leave_groups()
            await self.refuse(CLOSE_TRY_AGAIN)
            return False
        return True

    async def leave_groups(self) -> None:
        groups, self.joined_groups = self.joined_groups, []
        for group in groups:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                # Redis down: the membership expires by itself (group_expiry).
                logger.warning("could not leave %s", group, exc_info=True)

    async def refuse(self, code: int) -> None:
        """Accept, then close with `code`: a handshake refused outright reaches a browser
        as a bare 403 with close code 1006, and the client could not tell why."""
        self.finished = True
        await self.accept()
        await self.close(code)

    async def end(self, code: int) -> None:
        """Close from our side; leave the groups first so that nothing more is relayed."""
        self.finished = True
        await self.leave_groups()
        await self.close(code)

    async def disconnect(self, code: int) -> None:
        recording.socket_closed(self)
        self.finished = True
        await self.leave_groups()

    # --- receiving ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.finished:
            return
        client_id: str | None = None
        try:
            frame = parse_frame(text_data, bytes_data, limit=self.limits.max_frame_bytes)
            if isinstance(frame.get("client_id"), str):
                client_id = frame["client_id"][:CLIENT_ID_MAX_LENGTH]
            await self.handle_frame(frame)
        except Exception as error:
            await self.answer_failure(error, client_id)

    async def answer_failure(self, error: Exception, client_id: str | None) -> None:
        """The one place where a refused or failed frame becomes an `error` frame."""
        if isinstance(error, AccessLost):
            await self.end(CLOSE_FORBIDDEN)
        elif isinstance(error, Busy):
            # Nothing was stored: the client sends it again later, same client_id.
            await self.send_error(
                error.code, error.detail, client_id=client_id, retry_after_ms=error.retry_after_ms
            )
        elif isinstance(error, DomainError):
            await self.send_error(error.code, error.detail, client_id=client_id)
        else:
            # Keep the socket: the row either committed (the echo follows) or not (the
            # client retries with the same client_id and gets one message either way).
            logger.error("WebSocket frame failed on %s", self.scope.get("path"), exc_info=error)
            await self.send_error("server_error", SERVER_ERROR, client_id=client_id)

    async def handle_frame(self, frame: dict[str, Any]) -> None:
        raise unknown_type(frame)

    # --- access ---------------------------------------------------------------------------

    async def support_access_granted(self, event: dict[str, Any]) -> None:
        """Agents' request sockets share the user group; only the queue socket grows."""

    def session_ended(self, event: dict[str, Any]) -> bool:
        ended = event.get("ended_session")
        return bool(ended and self.session_key and ended == session_fingerprint(self.session_key))


class RequestConsumer(HandoffConsumer):
    """One request's live channel, for its visitor and the agents of its chatbot."""

    actor: Visitor | Agent
    support_request: SupportRequest

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Made on the first message: most sockets (an idle widget, an agent reading) never
        # write, and a queue per socket is memory that 10,000 idle sockets would all pay.
        self.writes: asyncio.Queue[PendingWrite] | None = None
        self.writer: asyncio.Task[None] | None = None
        self.slot: SocketSlot | None = None  # a visitor's place under the socket caps

    async def connect(self) -> None:
        self.request_id: str = self.scope["url_route"]["kwargs"]["request_id"]
        try:
            async with admission_turn():
                admission: RequestAdmission = await on_live_thread(admit_to_request)(
                    self.scope, self.request_id
                )
        except Refused as refused:
            await self.refuse(refused.code)
            return
        self.actor = admission.actor
        self.support_request = admission.support_request
        self.language = admission.language
        if isinstance(self.actor, Visitor):
            self.slot = await take_socket_slot(
                session_id=self.actor.session.session_id,
                ip=self.peer_ip(),
                member=self.channel_name,
            )
            if self.slot is None:
                await self.refuse(CLOSE_TOO_MANY)
                return
        self.status: str = self.support_request.status
        side = SenderType.ADMIN if isinstance(self.actor, Agent) else SenderType.USER
        self.sender_type: str = side.value
        self.delivered = DeliveredIds()
        self.message_bucket = self.limits.message_bucket()
        self.typing_bucket = self.limits.typing_bucket()
        self.typing_throttle = self.limits.typing_throttle()

        # Join before reading the history: a message committed from now on reaches us as
        # an event, one committed before is in the history, and one in between is in both
        # and is sent once (DeliveredIds). Reading first would lose the one in between.
        groups = [events.request_group(self.request_id)]
        if isinstance(self.actor, Agent):
            self.user_id = self.actor.user.pk
            self.session_key = admission.session_key
            groups.append(events.user_group(self.user_id))
        if not await self.join_all(groups):
            return
        await self.accept()

        after = query_param(self.scope, "after")
        if after is not None:
            try:
                cursor = parse_cursor(after)
            except InvalidInput:
                await self.send_error("invalid", INVALID_AFTER)
            else:
                await self.send_history(cursor)

    async def send_history(self, after: int) -> None:
        try:
            async with admission_turn():
                messages, status, newest = await on_live_thread(self._read_history)(after)
        except Refused as refused:
            await self.end(refused.code)
            return
        self.delivered.cover_up_to(newest)
        self.status = status
        await self.send_frame({"type": "history", "messages": messages, "status": status})

    def _read_history(self, after: int) -> tuple[list[dict[str, Any]], str, int]:
        """Every message after `after` (all pages), the status now, and the newest id."""
        rows: list[SupportMessage] = []
        cursor = after
        while True:
            page = messages_after(support_request=self.support_request, after_id=cursor)
            rows.extend(page)
            if len(page) < settings.MESSAGE_PAGE_SIZE:  # a short page is the last one
                break
            cursor = page[-1].id
        current = SupportRequest.objects.values_list("status", flat=True).get(
            pk=self.support_request.pk
        )
        # The newest id *in this history*, not the newest in the table: a message committed
        # after the pages were read is not in them, so its live event must still pass.
        # (Messages of one request commit in id order: services hold the request's row lock.)
        newest = rows[-1].id if rows else after
        visitor_name = self.support_request.user_name
        return [message_json(m, visitor_name=visitor_name) for m in rows], current, newest

    # --- client frames --------------------------------------------------------------------

    async def handle_frame(self, frame: dict[str, Any]) -> None:
        if frame["type"] == "message":
            await self.on_message(frame)
        elif frame["type"] == "typing":
            await self.on_typing(frame)
        else:
            raise unknown_type(frame)

    async def on_message(self, frame: dict[str, Any]) -> None:
        text = required_str(frame, "text")
        client_id = optional_str(frame, "client_id")
        if not self.message_bucket.take():
            raise FrameError("rate_limited", RATE_LIMITED_MESSAGES)
        # Judged on arrival: a slot is taken now, or the frame is refused `busy` now, even
        # while this socket's earlier messages are still being written. The write itself
        # runs in this socket's writer, one at a time, so they commit in the order sent.
        slots = in_flight()
        if not slots.try_take():
            raise Busy(retry_after_ms())
        if self.writes is None:
            self.writes = asyncio.Queue()
            self.writer = asyncio.create_task(self.write_in_order(self.writes, slots))
        self.writes.put_nowait(PendingWrite(text=text, client_id=client_id))

    async def write_in_order(self, writes: asyncio.Queue[PendingWrite], slots: InFlight) -> None:
        """This socket's writer: its accepted messages, one after another."""
        while True:
            pending = await writes.get()
            try:
                await self.write(pending)
            except Exception as error:
                await self.answer_failure(error, pending.client_id)
            finally:
                slots.give_back()
                writes.task_done()

    async def write(self, pending: PendingWrite) -> None:
        if isinstance(self.actor, Visitor):
            await self.check_visitor_budget(self.actor)
        recheck = self.access_recheck_due()
        message, created = await on_live_thread(self._post)(
            pending.text, pending.client_id, recheck
        )
        if recheck:
            self.access_checked_at = time.monotonic()
        if not created:
            # A retry of a stored message: services publish nothing for it, so the sender
            # gets the stored row here (unless this socket has already shown it).
            await self.deliver_message(message)

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.slot is not None:
            slot, self.slot = self.slot, None
            await give_back_socket_slot(slot)
        if self.writes is None or self.writer is None:
            return
        # Messages accepted before the socket closed are still written (the sender may
        # not resend them); then the writer stops.
        try:
            await asyncio.wait_for(self.writes.join(), timeout=WRITER_DRAIN_SECONDS)
        except TimeoutError:
            logger.warning("socket closed with %d unwritten messages", self.writes.qsize())
        self.writer.cancel()

    async def check_visitor_budget(self, visitor: Visitor) -> None:
        """The HTTP message limits (per session, per IP) apply to sockets too: one
        pipelined Redis call from the event loop (core/ratelimit.py)."""
        wait = await seconds_until_allowed_async(
            "visitor_message", session_id=visitor.session.session_id, ip=self.peer_ip()
        )
        if wait is not None:
            raise FrameError(
                "rate_limited", format_lazy(RATE_LIMITED_MESSAGES_FOR, seconds=ceil(wait))
            )

    def peer_ip(self) -> str | None:
        """The client's address as HTTP's throttles see it (behind a trusted proxy too)."""
        peer = self.scope.get("client")
        return client_ip(
            remote_addr=peer[0] if peer else None,
            forwarded_for=header(self.scope, "x-forwarded-for"),
        )

    def access_recheck_due(self) -> bool:
        """An agent's access is read again on a write at most every
        AGENT_ACCESS_RECHECK_SECONDS, and at once after a revocation event: a channel
        layer may drop that event, so the writes check too, but not each one."""
        if not isinstance(self.actor, Agent):
            return False
        age = time.monotonic() - self.access_checked_at
        return age >= settings.AGENT_ACCESS_RECHECK_SECONDS

    def _post(self, text: str, client_id: str | None, recheck: bool) -> tuple[dict[str, Any], bool]:
        """Through the same service as HTTP: reopen, `closed`, client_id idempotency."""
        actor = self.actor
        if recheck and isinstance(actor, Agent):
            access = agent_request_access(
                user_id=actor.user.pk, session_key=self.session_key, request_id=self.request_id
            )
            if access is None:
                raise AccessLost()
            actor = self.actor = access[0]
        result = services.message_post(
            support_request=self.support_request, actor=actor, text=text, client_id=client_id
        )
        return (
            message_json(result.message, visitor_name=self.support_request.user_name),
            result.created,
        )

    async def on_typing(self, frame: dict[str, Any]) -> None:
        typing = required_bool(frame, "typing")
        if self.status == RequestStatus.CLOSED:
            raise RequestClosed()
        if not self.typing_bucket.take():
            raise FrameError("rate_limited", RATE_LIMITED_TYPING)
        if isinstance(self.actor, Visitor):
            # One budget for all the session's sockets (the bucket above is per socket).
            wait = await seconds_until_allowed_async(
                "visitor_typing", session_id=self.actor.session.session_id, ip=None
            )
            if wait is not None:
                raise FrameError(
                    "rate_limited", format_lazy(RATE_LIMITED_TYPING_FOR, seconds=ceil(wait))
                )
        if self.typing_throttle.should_relay(typing):
            await events.relay_typing(
                self.request_id,
                sender_type=self.sender_type,
                typing=typing,
                sender_channel=self.channel_name,
            )

    # --- events from the groups ------------------------------------------------------------

    async def deliver_message(self, message: dict[str, Any]) -> None:
        if self.delivered.first_time(message["id"]):
            await self.send_frame({"type": "message", "message": message})

    async def support_message(self, event: dict[str, Any]) -> None:
        await self.deliver_message(event["message"])

    async def support_status(self, event: dict[str, Any]) -> None:
        self.status = event["status"]
        await self.send_frame(
            {"type": "status", "status": event["status"], "agent_name": event["agent_name"]}
        )

    async def support_typing(self, event: dict[str, Any]) -> None:
        # To the other side only: not back to the sender, not to other agents' sockets
        # when an agent types, not to the visitor's other tabs when the visitor types.
        if event["sender_channel"] == self.channel_name or event["sender_type"] == self.sender_type:
            return
        await self.send_frame(
            {"type": "typing", "sender_type": event["sender_type"], "typing": event["typing"]}
        )

    async def support_erased(self, event: dict[str, Any]) -> None:
        """The visitor's data is gone: the visitor's token no longer opens anything (4401,
        the widget forgets its session), and what agents show is erased (4404)."""
        await self.end(
            CLOSE_UNAUTHENTICATED if isinstance(self.actor, Visitor) else CLOSE_NOT_FOUND
        )

    async def support_access_revoked(self, event: dict[str, Any]) -> None:
        if self.finished or not isinstance(self.actor, Agent):
            return
        self.access_checked_at = float("-inf")  # the next write reads access again too
        if self.session_ended(event):
            await self.end(CLOSE_FORBIDDEN)
            return
        chatbot_id = event.get("chatbot_id")
        if chatbot_id is not None and chatbot_id != self.support_request.chatbot_id:
            return
        access = await on_live_thread(agent_request_access)(
            user_id=self.actor.user.pk, session_key=self.session_key, request_id=self.request_id
        )
        if access is not None:
            self.access_checked_at = time.monotonic()
        if access is None:
            await self.end(CLOSE_FORBIDDEN)


class AgentQueueConsumer(HandoffConsumer):
    """An agent's live queue: requests created, joined, resolved, closed and reopened, for
    the chatbots they serve, including those they start serving while connected."""

    async def connect(self) -> None:
        try:
            async with admission_turn():
                admission: QueueAdmission = await on_live_thread(admit_to_queue)(self.scope)
        except Refused as refused:
            await self.refuse(refused.code)
            return
        self.chatbot_ids = admission.chatbot_ids
        self.language = admission.language
        self.user_id = admission.agent.user.pk
        self.session_key = admission.session_key
        groups = [
            events.chatbot_agents_group(chatbot_id) for chatbot_id in sorted(self.chatbot_ids)
        ]
        groups.append(events.user_group(self.user_id))
        if admission.agent.user.is_superuser:
            groups.append(events.superusers_group())
        if not await self.join_all(groups):
            return
        await self.accept()

    async def support_queue(self, event: dict[str, Any]) -> None:
        if event["chatbot_id"] in self.chatbot_ids:
            await self.send_frame(
                {"type": "queue", "action": event["action"], "request": event["request"]}
            )

    async def support_access_granted(self, event: dict[str, Any]) -> None:
        """Join the groups of chatbots served since connecting; the database decides."""
        if self.finished or self.user_id is None or event["chatbot_id"] in self.chatbot_ids:
            return
        still = await on_live_thread(agent_chatbot_ids)(
            user_id=self.user_id, session_key=self.session_key
        )
        if still is None:
            await self.end(CLOSE_FORBIDDEN)
            return
        for chatbot_id in sorted(still - self.chatbot_ids):
            try:
                await self.join(events.chatbot_agents_group(chatbot_id))
            except Exception:
                # The socket would stay deaf to that chatbot: close it; the console
                # reconnects and joins every group at connect.
                logger.exception("could not join the group of chatbot %s", chatbot_id)
                await self.end(CLOSE_TRY_AGAIN)
                return
            self.chatbot_ids = self.chatbot_ids | {chatbot_id}

    async def support_access_revoked(self, event: dict[str, Any]) -> None:
        if self.finished or self.user_id is None:
            return
        if self.session_ended(event):
            await self.end(CLOSE_FORBIDDEN)
            return
        chatbot_id = event.get("chatbot_id")
        if chatbot_id is not None and chatbot_id not in self.chatbot_ids:
            return
        still = await on_live_thread(agent_chatbot_ids)(
            user_id=self.user_id, session_key=self.session_key
        )
        # Losing any of its chatbots closes the queue socket: the console reconnects (or
        # learns from the 4401/4403 that it may not) and shows only what it may see.
        if still is None or not self.chatbot_ids <= still:
            await self.end(CLOSE_FORBIDDEN)
