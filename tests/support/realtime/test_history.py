"""The history a socket replays with `?after=`, and the race between it and the live
events at connect: every message reaches the socket once, in the history or live."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from support import events
from support.models import SupportMessage
from tests.helpers import Scene, join
from tests.support.realtime.sockets import (
    agent_socket,
    async_test,
    db,
    frame,
    frames,
    login,
    message_ids,
    opened,
    post_as_visitor,
    send,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- history ----------------------------------------------------------------------------------


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


# --- the race at connect ----------------------------------------------------------------------


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

    layer.group_add = group_add  # type: ignore[method-assign, assignment]
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
