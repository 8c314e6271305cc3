"""WebSocket consumers through Channels' WebsocketCommunicator: frames, history, errors, limits.

The application under test is support.realtime.routing.websocket_application (cookie, session and
auth middleware included). The channel layer is the one the settings choose: in-memory on
the SQLite leg, Redis on the PostgreSQL leg. Agents log in for real (a database session
whose cookie the socket carries).

The helpers above the tests are shared by test_consumer_roles.py and
test_access_revocation.py.
"""

from __future__ import annotations

import copy
import functools
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, cast
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from chatbots.visitors import Visitor
from core.actors import Agent
from core.errors import JOIN_FIRST, REQUEST_CLOSED
from support import events, services
from support.models import SupportMessage
from support.realtime.delivery import DeliveredIds
from support.realtime.frames import CLOSE_FORBIDDEN, CLOSE_TRY_AGAIN
from support.realtime.limits import TokenBucket, TypingThrottle
from support.realtime.routing import websocket_application
from tests.conftest import Scene, join
from tests.factories import PASSWORD, ChatbotFactory, make_session

pytestmark = pytest.mark.django_db(transaction=True)

SITE_HOST = "localhost:8000"
SITE_ORIGIN = "http://localhost:8000"
WIDGET_ORIGIN = "https://customer.example"  # ChatbotFactory's allowed origin
QUIET = 0.5  # seconds without a frame that count as "nothing more is coming"
# Deadlines for what must happen: generous, since a loaded CI machine is slow and a test
# that passes only waits as long as the server takes.
CONNECT_SECONDS = 10
FRAME_SECONDS = 5

# --- helpers ------------------------------------------------------------------------------

_open_sockets: list[WebsocketCommunicator] = []


def async_test[**P](test: Callable[P, Awaitable[None]]) -> Callable[P, None]:
    """Run an async test body in one event loop (no pytest-asyncio), then hang up every
    socket it opened so that each consumer finishes inside the test."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        async def body() -> None:
            try:
                await test(*args, **kwargs)
            finally:
                sockets, _open_sockets[:] = list(_open_sockets), []
                for socket in sockets:
                    await socket.disconnect()

        async_to_sync(body)()

    return run


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> Iterator[None]:
    """A new layer object per test (each test has its own event loop), emptied after."""
    channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    yield
    layer = channel_layers.backends.pop(DEFAULT_CHANNEL_LAYER, None)
    if layer is not None and hasattr(layer, "flush"):
        async_to_sync(layer.flush)()


def db[**P, R](function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    return database_sync_to_async(function)


def login(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def socket(
    path: str,
    *,
    origin: str | None = None,
    client: Client | None = None,
    host: str = SITE_HOST,
    **query: object,
) -> WebsocketCommunicator:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if client is not None:
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        headers.append((b"cookie", cookie.encode()))
    params = {k: v for k, v in query.items() if v is not None}
    url = f"{path}?{urlencode(params)}" if params else path
    communicator = WebsocketCommunicator(websocket_application, url, headers=headers)
    _open_sockets.append(communicator)
    return communicator


def request_path(request_id: str) -> str:
    return f"/human-support/ws/{request_id}"


def visitor_socket(
    request_id: str, token: str, *, after: int | str | None = None, origin: str = WIDGET_ORIGIN
) -> WebsocketCommunicator:
    return socket(request_path(request_id), origin=origin, token=token, after=after)


def agent_socket(
    request_id: str, client: Client, *, after: int | None = None, origin: str = SITE_ORIGIN
) -> WebsocketCommunicator:
    return socket(request_path(request_id), origin=origin, client=client, after=after)


def queue_socket(client: Client | None, *, origin: str = SITE_ORIGIN) -> WebsocketCommunicator:
    return socket("/human-support/ws/agent", origin=origin, client=client)


async def opened(communicator: WebsocketCommunicator) -> WebsocketCommunicator:
    connected, _ = await communicator.connect(timeout=CONNECT_SECONDS)
    assert connected
    return communicator


async def closed_with(
    communicator: WebsocketCommunicator, *, timeout: float = FRAME_SECONDS
) -> int:
    """The close code of an open socket that the server closes within `timeout` seconds."""
    output = await communicator.receive_output(timeout)
    assert output["type"] == "websocket.close", output
    return int(output["code"])


async def refused_with(communicator: WebsocketCommunicator) -> int:
    """Refusals accept first, then close with the code (so browsers can read it)."""
    connected, _ = await communicator.connect(timeout=CONNECT_SECONDS)
    assert connected, "refusals must accept first"
    return await closed_with(communicator)


async def frame(
    communicator: WebsocketCommunicator, *, timeout: float = FRAME_SECONDS
) -> dict[str, Any]:
    return await communicator.receive_json_from(timeout)


async def frames(
    communicator: WebsocketCommunicator, *, at_least: int = 0, quiet: float = QUIET
) -> list[Any]:
    """Every frame until the socket has been quiet for `quiet` seconds, after waiting
    (patiently: a loaded machine is slow) for the first `at_least` of them."""
    received = [await frame(communicator) for _ in range(at_least)]
    while not await communicator.receive_nothing(timeout=quiet):
        received.append(await communicator.receive_json_from())
    return received


async def send(communicator: WebsocketCommunicator, **fields: object) -> None:
    await communicator.send_json_to(fields)


def message_ids(received: list[dict[str, Any]]) -> list[int]:
    """Ids of every message a socket was sent, in history and message frames alike."""
    ids: list[int] = []
    for item in received:
        if item["type"] == "history":
            ids.extend(m["id"] for m in item["messages"])
        elif item["type"] == "message":
            ids.append(item["message"]["id"])
    return ids


def stored_texts(request_id: str) -> list[str]:
    return list(
        SupportMessage.objects.filter(support_request__request_id=request_id)
        .order_by("id")
        .values_list("message", flat=True)
    )


def post_as_visitor(scene: Scene, text: str, client_id: str | None = None) -> int:
    result = services.message_post(
        support_request=scene.support_request,
        actor=Visitor(scene.visitor.session),
        text=text,
        client_id=client_id,
    )
    return result.message.id


# --- history -------------------------------------------------------------------------------


@async_test
async def test_history_frame_replays_every_message_after_the_cursor_with_the_status(
    scene: Scene,
) -> None:
    first = await db(post_as_visitor)(scene, "one")
    await db(post_as_visitor)(scene, "two")
    await db(post_as_visitor)(scene, "three")
    rid = scene.support_request.request_id

    visitor = await opened(visitor_socket(rid, scene.visitor.token, after=first))
    history = await frame(visitor)

    assert history["type"] == "history"
    assert history["status"] == "pending"
    assert [m["text"] for m in history["messages"]] == ["two", "three"]
    assert set(history["messages"][0]) == {
        "id",
        "sender_type",
        "sender_name",
        "text",
        "client_id",
        "created_at",
    }
    assert await frames(visitor) == []


@async_test
async def test_history_from_zero_holds_the_whole_conversation_even_beyond_one_page(
    scene: Scene,
) -> None:
    count = settings.MESSAGE_PAGE_SIZE + 5

    def write_many() -> None:
        for n in range(count):
            post_as_visitor(scene, f"line {n}")

    await db(write_many)()
    visitor = await opened(
        visitor_socket(scene.support_request.request_id, scene.visitor.token, after=0)
    )
    history = await frame(visitor, timeout=10)

    texts = [m["text"] for m in history["messages"]]
    assert texts == ["My order is late", *[f"line {n}" for n in range(count)]]


@async_test
async def test_socket_without_after_sends_no_history_then_every_new_message(scene: Scene) -> None:
    visitor = await opened(visitor_socket(scene.support_request.request_id, scene.visitor.token))
    assert await frames(visitor) == []

    await db(post_as_visitor)(scene, "hello?")

    received = await frame(visitor)
    assert received["type"] == "message"
    assert received["message"]["text"] == "hello?"


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", "99999999999999999999", "9" * 5000])
@async_test
async def test_bad_after_cursor_answers_an_error_frame_and_keeps_the_socket(
    scene: Scene, after: str
) -> None:
    visitor = await opened(
        visitor_socket(scene.support_request.request_id, scene.visitor.token, after=after)
    )
    error = await frame(visitor)
    assert (error["type"], error["code"]) == ("error", "invalid")

    await send(visitor, type="message", text="still here", client_id="v-1")
    assert (await frame(visitor))["message"]["text"] == "still here"


# --- the race at connect and a dropped broadcast -------------------------------------------


def _write_during_group_join(scene: Scene, *, before_join: bool) -> list[int]:
    """Make the visitor write while the agent's socket joins the request's group.

    The channel layer (Channels' code, not ours) is wrapped so that the write happens at
    an exact point: just before the join takes effect (its event cannot reach the new
    socket: only the history can carry it) or just after (the event and the history both
    carry it: the socket must send it once).
    """
    layer = get_channel_layer()
    assert layer is not None
    real_group_add = layer.group_add
    group = events.request_group(scene.support_request.request_id)
    written: list[int] = []

    async def group_add(name: str, channel: str) -> None:
        if name == group and not written:
            if not before_join:
                await real_group_add(name, channel)
            written.append(await db(post_as_visitor)(scene, "written while connecting"))
            if before_join:
                await real_group_add(name, channel)
            return
        await real_group_add(name, channel)

    layer.group_add = group_add  # type: ignore[method-assign,assignment]
    return written


@pytest.mark.parametrize("before_join", [True, False], ids=["before-join", "after-join"])
@async_test
async def test_message_written_while_a_socket_connects_reaches_it_exactly_once(
    scene: Scene, before_join: bool
) -> None:
    await db(join)(scene)
    agent = await db(login)(scene.agent)
    newest = (await db(stored_ids)(scene))[-1]
    written = _write_during_group_join(scene, before_join=before_join)

    socket_ = await opened(agent_socket(scene.support_request.request_id, agent, after=newest))
    received = await frames(socket_, at_least=1)

    assert len(written) == 1
    assert received[0]["type"] == "history"
    assert message_ids(received) == written


def stored_ids(scene: Scene) -> list[int]:
    return list(
        SupportMessage.objects.filter(support_request=scene.support_request)
        .order_by("id")
        .values_list("id", flat=True)
    )


@async_test
async def test_a_dropped_broadcast_is_recovered_from_the_id_gap_over_http(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db(join)(scene)
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    layer = get_channel_layer()
    assert layer is not None
    real_group_send = layer.group_send

    async def lossy_group_send(group: str, message: dict[str, Any]) -> None:
        # What channels_redis does at capacity: the broadcast vanishes without an error.
        if message.get("message", {}).get("text") == "lost in transit":
            return
        await real_group_send(group, message)

    monkeypatch.setattr(layer, "group_send", lossy_group_send)
    agent = Agent(scene.agent)

    def agent_writes(text: str) -> int:
        return services.message_post(
            support_request=scene.support_request, actor=agent, text=text
        ).message.id

    before = await db(agent_writes)("before")
    lost = await db(agent_writes)("lost in transit")
    after = await db(agent_writes)("after")

    seen = message_ids(await frames(visitor, at_least=2))
    assert seen == [before, after]
    # The client sees the gap (before → after skips ids) and asks for what it missed.
    gap_start = seen[0]
    response = await db(scene.visitor.client.get)(
        f"/human-support/requests/{rid}/messages?after={gap_start}"
    )
    recovered = [m["id"] for m in response.json()["messages"]]
    assert lost in recovered
    assert sorted({*seen, *recovered}) == [before, lost, after]


# --- message frames ------------------------------------------------------------------------


@async_test
async def test_visitor_message_is_stored_and_echoed_with_its_id_to_every_socket(
    scene: Scene,
) -> None:
    await db(join)(scene)
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    agent = await opened(agent_socket(rid, await db(login)(scene.agent)))
    superuser = await opened(agent_socket(rid, await db(login)(scene.superuser)))

    await send(visitor, type="message", text="Where is my parcel?", client_id="v-1")

    received_by = [await frames(socket_, at_least=1) for socket_ in (visitor, agent, superuser)]
    stored = await db(SupportMessage.objects.get)(client_id="v-1")
    for received in received_by:
        assert received == [
            {
                "type": "message",
                "message": {
                    "id": stored.id,
                    "sender_type": "user",
                    "sender_name": "Vera",
                    "text": "Where is my parcel?",
                    "client_id": "v-1",
                    "created_at": stored.created_at.isoformat(),
                },
            }
        ]


@async_test
async def test_agent_message_reaches_the_visitor_with_the_agent_name(scene: Scene) -> None:
    await db(join)(scene)
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    agent = await opened(agent_socket(rid, await db(login)(scene.agent)))

    await send(agent, type="message", text="Let me check.", client_id="a-1")

    to_visitor = await frame(visitor)
    assert to_visitor["message"]["sender_type"] == "admin"
    assert to_visitor["message"]["sender_name"] == "Alice"
    assert to_visitor["message"]["text"] == "Let me check."
    assert (await frame(agent))["message"]["id"] == to_visitor["message"]["id"]


@async_test
async def test_agent_writing_before_joining_gets_invalid_transition(scene: Scene) -> None:
    agent = await opened(
        agent_socket(scene.support_request.request_id, await db(login)(scene.agent))
    )

    await send(agent, type="message", text="Hello", client_id="a-1")

    assert await frame(agent) == {
        "type": "error",
        "code": "invalid_transition",
        "detail": JOIN_FIRST,
        "client_id": "a-1",
    }


@async_test
async def test_same_client_id_twice_is_stored_once_and_shown_once_on_each_socket(
    scene: Scene,
) -> None:
    await db(join)(scene)
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    agent = await opened(agent_socket(rid, await db(login)(scene.agent)))

    await send(visitor, type="message", text="Are you there?", client_id="retry-1")
    await send(visitor, type="message", text="Are you there?", client_id="retry-1")

    to_visitor, to_agent = await frames(visitor, at_least=1), await frames(agent, at_least=1)
    assert await db(stored_texts)(rid) == ["My order is late", "Alice joined", "Are you there?"]
    assert [f["message"]["client_id"] for f in to_visitor] == ["retry-1"]
    assert [f["message"]["client_id"] for f in to_agent] == ["retry-1"]


@async_test
async def test_retry_on_a_new_socket_gets_the_stored_message_back_and_nobody_else_sees_it(
    scene: Scene,
) -> None:
    """The first send was stored but its echo was lost with the connection."""
    await db(join)(scene)
    rid = scene.support_request.request_id
    stored_id = await db(post_as_visitor)(scene, "Sent before the drop", "lost-echo")
    agent = await opened(agent_socket(rid, await db(login)(scene.agent)))
    visitor = await opened(visitor_socket(rid, scene.visitor.token))

    await send(visitor, type="message", text="Sent before the drop", client_id="lost-echo")

    assert message_ids(await frames(visitor, at_least=1)) == [stored_id]
    assert await frames(agent) == []


@async_test
async def test_visitor_writing_to_a_resolved_request_reopens_it_with_a_status_frame(
    scene: Scene,
) -> None:
    await db(join)(scene)
    await db(services.request_resolve)(
        support_request=scene.support_request, agent=Agent(scene.agent)
    )
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    queue = await opened(queue_socket(await db(login)(scene.agent)))

    await send(visitor, type="message", text="It broke again", client_id="v-2")

    received = await frames(visitor, at_least=3)
    assert [f["type"] for f in received] == ["message", "status", "message"]
    assert received[0]["message"]["text"] == "Reopened by the visitor"
    assert received[1] == {"type": "status", "status": "active", "agent_name": "Alice"}
    assert received[2]["message"]["text"] == "It broke again"
    queued = await frames(queue, at_least=1)
    assert [(f["action"], f["request"]["status"]) for f in queued] == [("reopened", "active")]


# --- status frames and the closed request ---------------------------------------------------


@async_test
async def test_status_frames_follow_join_resolve_and_close_with_the_agent_name(
    scene: Scene,
) -> None:
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    agent = Agent(scene.agent)

    await db(services.request_join)(support_request=scene.support_request, agent=agent)
    await db(services.request_resolve)(support_request=scene.support_request, agent=agent)
    await db(services.request_close)(support_request=scene.support_request, actor=agent)

    received = await frames(visitor, at_least=6)
    assert [f for f in received if f["type"] == "status"] == [
        {"type": "status", "status": "active", "agent_name": "Alice"},
        {"type": "status", "status": "resolved", "agent_name": "Alice"},
        {"type": "status", "status": "closed", "agent_name": "Alice"},
    ]
    assert [f["message"]["text"] for f in received if f["type"] == "message"] == [
        "Alice joined",
        "Resolved by Alice",
        "Closed by Alice",
    ]


@async_test
async def test_closed_request_gets_its_final_status_then_answers_closed_and_stays_open(
    scene: Scene,
) -> None:
    await db(join)(scene)
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    agent = await opened(agent_socket(rid, await db(login)(scene.agent)))

    await send(visitor, type="typing", typing=False)  # nothing yet: a stop is harmless
    await db(services.request_close)(
        support_request=scene.support_request, actor=Visitor(scene.visitor.session)
    )
    for socket_ in (visitor, agent):
        final = [f for f in await frames(socket_, at_least=2) if f["type"] == "status"]
        assert final == [{"type": "status", "status": "closed", "agent_name": "Alice"}]

    await send(visitor, type="message", text="One more thing", client_id="late-1")
    await send(agent, type="message", text="Bye", client_id="late-2")
    await send(visitor, type="typing", typing=True)

    assert await frames(visitor, at_least=2) == [
        {"type": "error", "code": "closed", "detail": REQUEST_CLOSED, "client_id": "late-1"},
        {"type": "error", "code": "closed", "detail": REQUEST_CLOSED},
    ]
    assert await frames(agent, at_least=1) == [
        {"type": "error", "code": "closed", "detail": REQUEST_CLOSED, "client_id": "late-2"}
    ]
    assert "One more thing" not in await db(stored_texts)(rid)


# --- typing ---------------------------------------------------------------------------------


@async_test
async def test_visitor_typing_reaches_the_agents_only_and_is_never_stored(scene: Scene) -> None:
    await db(join)(scene)
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    visitor_other_tab = await opened(visitor_socket(rid, scene.visitor.token))
    agent = await opened(agent_socket(rid, await db(login)(scene.agent)))
    count = await db(SupportMessage.objects.count)()

    await send(visitor, type="typing", typing=True)

    assert await frames(agent, at_least=1) == [
        {"type": "typing", "sender_type": "user", "typing": True}
    ]
    assert await frames(visitor) == []
    assert await frames(visitor_other_tab) == []
    assert await db(SupportMessage.objects.count)() == count


@async_test
async def test_agent_typing_reaches_the_visitor_only(scene: Scene) -> None:
    await db(join)(scene)
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    agent = await opened(agent_socket(rid, await db(login)(scene.agent)))
    superuser = await opened(agent_socket(rid, await db(login)(scene.superuser)))

    await send(agent, type="typing", typing=True)

    assert await frames(visitor, at_least=1) == [
        {"type": "typing", "sender_type": "admin", "typing": True}
    ]
    assert await frames(agent) == []
    assert await frames(superuser) == []


@async_test
async def test_typing_is_throttled_but_a_change_of_state_always_goes_through(
    scene: Scene,
) -> None:
    await db(join)(scene)
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    agent = await opened(agent_socket(rid, await db(login)(scene.agent)))

    for _ in range(5):  # keystrokes within the relay interval
        await send(visitor, type="typing", typing=True)
    await send(visitor, type="typing", typing=False)

    assert [f["typing"] for f in await frames(agent, at_least=2)] == [True, False]


# --- refused frames -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ('["message"]', "invalid_json"),
        ('{"text": "no type"}', "invalid_json"),
        ('{"type": "shout", "text": "hi"}', "unknown_type"),
        ('{"type": "message", "client_id": "x"}', "invalid"),
        ('{"type": "message", "text": 42}', "invalid"),
        ('{"type": "message", "text": "hi", "client_id": 7}', "invalid"),
        ('{"type": "message", "text": "hi", "client_id": "' + "c" * 65 + '"}', "invalid"),
        ('{"type": "message", "text": "   "}', "blank"),
        ('{"type": "message", "text": "' + "x" * 5001 + '"}', "too_long"),
        ('{"type": "message", "text": "' + "x" * 16 * 1024 + '"}', "too_large"),
        ('{"type": "typing", "typing": "yes"}', "invalid"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 20 else None,
)
@async_test
async def test_refused_frame_answers_an_error_with_a_stable_code_and_keeps_the_socket(
    scene: Scene, raw: str, code: str
) -> None:
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))

    await visitor.send_to(text_data=raw)

    error = await frame(visitor)
    assert (error["type"], error["code"]) == ("error", code)
    assert isinstance(error["detail"], str)
    assert error["detail"]
    await send(visitor, type="message", text="still open", client_id="ok-1")
    assert (await frame(visitor))["message"]["text"] == "still open"


@async_test
async def test_binary_frame_answers_invalid_json(scene: Scene) -> None:
    visitor = await opened(visitor_socket(scene.support_request.request_id, scene.visitor.token))

    await visitor.send_to(bytes_data=b'{"type": "message", "text": "hi"}')

    assert (await frame(visitor))["code"] == "invalid_json"


@async_test
async def test_frame_of_exactly_the_limit_is_accepted(scene: Scene, settings: Any) -> None:
    settings.MAX_MESSAGE_CHARS = 20_000
    visitor = await opened(visitor_socket(scene.support_request.request_id, scene.visitor.token))
    envelope = json.dumps({"type": "message", "text": ""})
    text = "y" * (settings.WS_MAX_FRAME_BYTES - len(envelope))

    await visitor.send_to(text_data=json.dumps({"type": "message", "text": text}))

    assert (await frame(visitor))["message"]["text"] == text


# --- rate limits ------------------------------------------------------------------------------


@async_test
async def test_messages_beyond_the_burst_answer_rate_limited_and_are_not_stored(
    scene: Scene, settings: Any
) -> None:
    settings.WS_MESSAGE_BURST = 3
    settings.WS_MESSAGES_PER_SECOND = 0.01
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))

    for n in range(5):
        await send(visitor, type="message", text=f"spam {n}", client_id=f"s-{n}")

    received = await frames(visitor, at_least=5)
    echoed = [f["message"]["client_id"] for f in received if f["type"] == "message"]
    refused = [(f["code"], f["client_id"]) for f in received if f["type"] == "error"]
    assert echoed == ["s-0", "s-1", "s-2"]
    assert refused == [("rate_limited", "s-3"), ("rate_limited", "s-4")]
    assert await db(stored_texts)(rid) == ["My order is late", "spam 0", "spam 1", "spam 2"]


def lower_http_rates(settings: Any, **rates: str) -> None:
    """The visitor's HTTP message limits (RATE_VISITOR_MESSAGE_*), lowered for one test."""
    rest_framework = copy.deepcopy(settings.REST_FRAMEWORK)
    rest_framework["DEFAULT_THROTTLE_RATES"].update(rates)
    settings.REST_FRAMEWORK = rest_framework


@async_test
async def test_a_visitors_sockets_and_http_share_one_message_limit_per_session(
    scene: Scene, settings: Any
) -> None:
    lower_http_rates(settings, visitor_message_session="3/min")
    rid = scene.support_request.request_id
    sockets = [await opened(visitor_socket(rid, scene.visitor.token)) for _ in range(2)]

    for n in range(4):  # spread over two sockets: each socket's own budget is not the limit
        await send(sockets[n % 2], type="message", text=f"m {n}", client_id=f"m-{n}")

    # Each socket gets the three stored messages; the sender of the fourth, an error too.
    received = [f for s in sockets for f in await frames(s, at_least=3)]
    deadline = time.monotonic() + FRAME_SECONDS
    while not any(f["type"] == "error" for f in received) and time.monotonic() < deadline:
        received += [f for s in sockets for f in await frames(s)]
    # The two sockets run side by side: which of the four comes last is not fixed.
    refused = [(f["code"], f["client_id"]) for f in received if f["type"] == "error"]
    assert len(refused) == 1
    assert refused[0][0] == "rate_limited"
    refused_text = "m " + refused[0][1].removeprefix("m-")
    stored = await db(stored_texts)(rid)
    assert len(stored) == 4
    assert sorted(stored[1:]) == sorted({"m 0", "m 1", "m 2", "m 3"} - {refused_text})
    over_http = await db(scene.visitor.client.post)(
        f"/human-support/requests/{rid}/messages", {"message": "m 4"}, format="json"
    )
    assert over_http.status_code == 429


@async_test
async def test_a_visitors_socket_counts_against_the_per_ip_message_limit(
    scene: Scene, settings: Any
) -> None:
    lower_http_rates(settings, visitor_message_ip="2/min")
    rid = scene.support_request.request_id

    def from_ip(ip: str) -> WebsocketCommunicator:
        communicator = visitor_socket(rid, scene.visitor.token)
        communicator.scope["client"] = (ip, 50000)
        return communicator

    first = await opened(from_ip("203.0.113.10"))
    for n in range(3):
        await send(first, type="message", text=f"a {n}", client_id=f"a-{n}")
    refused = [f["client_id"] for f in await frames(first, at_least=3) if f["type"] == "error"]
    assert refused == ["a-2"]

    elsewhere = await opened(from_ip("203.0.113.20"))
    await send(elsewhere, type="message", text="from elsewhere", client_id="b-0")
    assert (await frame(elsewhere))["message"]["client_id"] == "b-0"


@async_test
async def test_behind_a_proxy_a_socket_counts_against_the_visitors_own_ip_like_http(
    scene: Scene, settings: Any
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    lower_http_rates(settings, visitor_message_ip="2/min")
    rid = scene.support_request.request_id

    def through_the_proxy(visitor_ip: str) -> WebsocketCommunicator:
        communicator = visitor_socket(rid, scene.visitor.token)
        communicator.scope["client"] = ("10.0.0.2", 50000)  # the proxy
        headers = cast(list[tuple[bytes, bytes]], communicator.scope["headers"])
        headers.append((b"x-forwarded-for", visitor_ip.encode()))
        return communicator

    # One message over HTTP, through the proxy, from the visitor's address...
    over_http = await db(scene.visitor.client.post)(
        f"/human-support/requests/{rid}/messages",
        {"message": "over http"},
        format="json",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.10",
    )
    assert over_http.status_code == 201
    # ...leaves one for the socket from that address; another visitor's is untouched.
    same = await opened(through_the_proxy("203.0.113.10"))
    for n in range(2):
        await send(same, type="message", text=f"s {n}", client_id=f"s-{n}")
    refused = [f["client_id"] for f in await frames(same, at_least=2) if f["type"] == "error"]
    assert refused == ["s-1"]
    other = await opened(through_the_proxy("198.51.100.7"))
    await send(other, type="message", text="another visitor", client_id="o-0")
    assert (await frame(other))["message"]["client_id"] == "o-0"


@async_test
async def test_typing_frames_beyond_the_burst_answer_rate_limited(
    scene: Scene, settings: Any
) -> None:
    settings.WS_TYPING_BURST = 4
    settings.WS_TYPING_PER_SECOND = 0.01
    visitor = await opened(visitor_socket(scene.support_request.request_id, scene.visitor.token))

    for n in range(6):
        await send(visitor, type="typing", typing=n % 2 == 0)

    assert [f["code"] for f in await frames(visitor, at_least=2)] == [
        "rate_limited",
        "rate_limited",
    ]


@async_test
async def test_rate_limits_are_per_socket(scene: Scene, settings: Any) -> None:
    settings.WS_MESSAGE_BURST = 1
    settings.WS_MESSAGES_PER_SECOND = 0.01
    rid = scene.support_request.request_id
    first = await opened(visitor_socket(rid, scene.visitor.token))
    second = await opened(visitor_socket(rid, scene.visitor.token))

    await send(first, type="message", text="from tab one", client_id="t-1")
    assert message_ids(await frames(second, at_least=1))  # tab two sees the message...
    await send(second, type="message", text="from tab two", client_id="t-2")

    texts = [
        f["message"]["text"] for f in await frames(second, at_least=1) if f["type"] == "message"
    ]
    assert texts == ["from tab two"]  # ...and still has its own budget


# --- the agent's queue ------------------------------------------------------------------------


@async_test
async def test_agent_queue_follows_the_life_of_requests_of_its_chatbots(scene: Scene) -> None:
    queue = await opened(queue_socket(await db(login)(scene.agent)))
    session, _ = await db(make_session)(scene.chatbot)
    agent = Agent(scene.agent)

    created, _ = await db(services.request_create)(session=session, initial_message="Help!")
    await db(services.request_join)(support_request=created, agent=agent)
    await db(services.request_resolve)(support_request=created, agent=agent)
    await db(services.message_post)(support_request=created, actor=Visitor(session), text="Again")
    await db(services.request_close)(support_request=created, actor=agent)

    received = await frames(queue, at_least=5)
    assert [(f["type"], f["action"], f["request"]["status"]) for f in received] == [
        ("queue", "created", "pending"),
        ("queue", "joined", "active"),
        ("queue", "resolved", "resolved"),
        ("queue", "reopened", "active"),
        ("queue", "closed", "closed"),
    ]
    assert {f["request"]["request_id"] for f in received} == {created.request_id}
    assert received[1]["request"]["agent_name"] == "Alice"


@async_test
async def test_agent_queue_hears_nothing_of_other_chatbots(scene: Scene) -> None:
    queue = await opened(queue_socket(await db(login)(scene.agent)))
    other_session, _ = await db(make_session)(scene.other_chatbot)

    await db(services.request_create)(session=other_session, initial_message="Elsewhere")

    assert await frames(queue) == []


@async_test
async def test_superuser_queue_hears_every_chatbot(scene: Scene) -> None:
    third = await db(ChatbotFactory)()  # serving nobody: superusers serve it all the same
    queue = await opened(queue_socket(await db(login)(scene.superuser)))
    for chatbot in (scene.chatbot, scene.other_chatbot, third):
        session, _ = await db(make_session)(chatbot)
        await db(services.request_create)(session=session, initial_message="Hi")

    received = await frames(queue, at_least=3)
    assert sorted(f["request"]["chatbot"]["key"] for f in received) == sorted(
        [scene.chatbot.key, scene.other_chatbot.key, third.key]
    )


@async_test
async def test_agent_queue_answers_client_frames_with_unknown_type(scene: Scene) -> None:
    queue = await opened(queue_socket(await db(login)(scene.agent)))

    await send(queue, type="message", text="hello?")

    assert (await frame(queue))["code"] == "unknown_type"
    assert await queue.receive_nothing(timeout=QUIET)


@async_test
async def test_socket_closed_by_the_server_leaves_its_groups(scene: Scene) -> None:
    """After a 4403 the consumer is out of every group: later events go nowhere."""
    await db(join)(scene)
    rid = scene.support_request.request_id
    agent = await opened(agent_socket(rid, await db(login)(scene.agent)))
    await db(scene.chatbot.agents.remove)(scene.agent)
    assert await closed_with(agent) == CLOSE_FORBIDDEN

    await db(post_as_visitor)(scene, "after the agent left")

    assert await agent.receive_nothing(timeout=QUIET)


@async_test
async def test_socket_that_cannot_join_its_group_closes_with_4503_try_again(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis down at connect: a socket that would hear nothing must not look live."""
    layer = get_channel_layer()

    async def unavailable(group: str, channel: str) -> None:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(layer, "group_add", unavailable)
    visitor = visitor_socket(scene.support_request.request_id, scene.visitor.token)

    assert await refused_with(visitor) == CLOSE_TRY_AGAIN


# --- the budgets and the delivered ids, on their own -------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_message_budget_refills_at_its_rate_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=2, per_second=0.5, clock=clock)

    assert [bucket.take(), bucket.take(), bucket.take()] == [True, True, False]
    clock.now = 2.0  # one token back
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now = 100.0  # never more than the burst
    assert [bucket.take(), bucket.take(), bucket.take()] == [True, True, False]


def test_typing_relay_repeats_a_state_only_after_the_interval() -> None:
    clock = FakeClock()
    throttle = TypingThrottle(interval=2.0, clock=clock)

    assert throttle.should_relay(True)
    clock.now = 1.0
    assert not throttle.should_relay(True)
    assert throttle.should_relay(False)
    clock.now = 3.5
    assert throttle.should_relay(False)


def test_delivered_ids_accept_late_ids_above_the_floor_once() -> None:
    delivered = DeliveredIds()
    delivered.cover_up_to(10)

    assert not delivered.first_time(10)
    assert delivered.first_time(12)
    assert delivered.first_time(11)  # out of order, not lost
    assert not delivered.first_time(11)
    assert not delivered.first_time(12)


def test_delivered_ids_stay_bounded_on_a_long_conversation() -> None:
    delivered = DeliveredIds()
    for message_id in range(1, 5001):
        assert delivered.first_time(message_id)

    assert not delivered.first_time(1)
    assert not delivered.first_time(5000)
    assert delivered.first_time(5001)
    assert len(delivered._ids) <= 1024


@async_test
async def test_an_event_type_the_consumer_does_not_know_is_skipped_and_the_socket_lives(
    scene: Scene,
) -> None:
    """A newer process may publish a new event type during a rolling deploy."""
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))

    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(
        events.request_group(rid), {"type": "support.from_the_future", "request_id": rid}
    )
    await db(post_as_visitor)(scene, "still listening")

    assert [f["message"]["text"] for f in await frames(visitor, at_least=1)] == ["still listening"]
