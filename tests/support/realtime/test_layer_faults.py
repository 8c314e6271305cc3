"""What the channel layer (Channels' code, Redis) may do to the sockets: drop a broadcast,
fail a join, carry an event type from a newer process. The layer is made to misbehave
here; our code runs as it is."""

from __future__ import annotations

from typing import Any

import pytest
from channels.layers import get_channel_layer

from core.actors import Agent
from support import events, services
from support.realtime.frames import CLOSE_TRY_AGAIN
from tests.helpers import Scene, join
from tests.support.realtime.sockets import (
    async_test,
    db,
    frames,
    message_ids,
    opened,
    post_as_visitor,
    refused_with,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


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
