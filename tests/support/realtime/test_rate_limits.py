"""Rate limits on sockets: each socket's own budgets, and the visitor's HTTP message
limits (per session, per IP) that sockets share."""

from __future__ import annotations

import copy
import time
from typing import Any, cast

import pytest
from channels.testing import WebsocketCommunicator

from tests.helpers import Scene
from tests.support.realtime.sockets import (
    FRAME_SECONDS,
    async_test,
    db,
    frame,
    frames,
    message_ids,
    opened,
    send,
    stored_texts,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


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
