"""Typing indicators: relayed to the other side only, throttled, never stored."""

from __future__ import annotations

import pytest

from support.models import SupportMessage
from tests.helpers import Scene, join
from tests.support.realtime.sockets import (
    agent_socket,
    async_test,
    db,
    frames,
    login,
    opened,
    send,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


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
