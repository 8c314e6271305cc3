"""Caps on a visitor's open sockets (per session, per client address; counted in Redis on
the PostgreSQL leg, in memory on the SQLite leg), and the typing budget that a session's
sockets share (support/realtime/limits.py)."""

from __future__ import annotations

import copy
import secrets
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from support.realtime.frames import CLOSE_TOO_MANY
from tests.helpers import Scene
from tests.support.realtime.sockets import (
    agent_socket,
    async_test,
    db,
    frames,
    login,
    opened,
    refused_with,
    send,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


def from_address(communicator: WebsocketCommunicator, ip: str) -> WebsocketCommunicator:
    communicator.scope["client"] = (ip, 50000)
    return communicator


def a_fresh_address() -> str:
    """An address no other test (nor an earlier run, on a shared Redis) has counted."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@async_test
async def test_a_sessions_socket_past_the_cap_is_refused_with_4429_and_closing_one_frees_a_slot(
    scene: Scene, settings: Any
) -> None:
    settings.WS_MAX_SOCKETS_PER_SESSION = 2
    rid, token = scene.support_request.request_id, scene.visitor.token
    first = await opened(visitor_socket(rid, token))
    await opened(visitor_socket(rid, token))

    assert await refused_with(visitor_socket(rid, token)) == CLOSE_TOO_MANY

    await first.disconnect()
    again = await opened(visitor_socket(rid, token))
    await send(again, type="message", text="back in", client_id="b-1")
    assert [f["message"]["text"] for f in await frames(again, at_least=1)] == ["back in"]


@async_test
async def test_an_addresss_socket_past_the_cap_is_refused_with_4429_whatever_its_session(
    scene: Scene, settings: Any
) -> None:
    settings.WS_MAX_SOCKETS_PER_IP = 2
    ip = a_fresh_address()
    rid, token = scene.support_request.request_id, scene.visitor.token
    await opened(from_address(visitor_socket(rid, token), ip))
    await opened(from_address(visitor_socket(rid, token), ip))

    assert await refused_with(from_address(visitor_socket(rid, token), ip)) == CLOSE_TOO_MANY
    await opened(from_address(visitor_socket(rid, token), a_fresh_address()))


@async_test
async def test_an_agents_sockets_are_not_capped(scene: Scene, settings: Any) -> None:
    settings.WS_MAX_SOCKETS_PER_SESSION = 1
    client = await db(login)(scene.agent)
    for _ in range(3):
        await opened(agent_socket(scene.support_request.request_id, client))


@async_test
async def test_typing_frames_over_two_sockets_of_one_session_share_one_budget(
    scene: Scene, settings: Any
) -> None:
    rest_framework = copy.deepcopy(settings.REST_FRAMEWORK)
    rest_framework["DEFAULT_THROTTLE_RATES"]["visitor_typing_session"] = "4/min"
    settings.REST_FRAMEWORK = rest_framework
    rid, token = scene.support_request.request_id, scene.visitor.token
    first = await opened(visitor_socket(rid, token))
    second = await opened(visitor_socket(rid, token))

    for n in range(3):
        await send(first, type="typing", typing=n % 2 == 0)
    assert await frames(first) == []  # within the budget: nothing comes back
    for n in range(3):
        await send(second, type="typing", typing=n % 2 == 0)

    assert [f["code"] for f in await frames(second, at_least=2)] == [
        "rate_limited",
        "rate_limited",
    ]
