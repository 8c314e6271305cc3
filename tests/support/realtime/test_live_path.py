"""The live path under load (core/workpool.py): overload is refused at once with `busy`,
nothing is stored for a refused frame, and writes of one request stay in commit order on
the pool of database threads."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from support.models import SupportMessage, SupportRequest
from tests.helpers import Scene, join, messages_url
from tests.support.realtime.sockets import (
    agent_socket,
    async_test,
    db,
    frame,
    frames,
    login,
    opened,
    send,
    stored_texts,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


@async_test
async def test_a_frame_past_the_live_work_bound_answers_busy_at_once_and_stores_nothing(
    scene: Scene, settings: Any
) -> None:
    settings.LIVE_MAX_IN_FLIGHT = 0  # a process with no room left
    settings.LIVE_BUSY_RETRY_MS = 400
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))

    await send(visitor, type="message", text="Anyone there?", client_id="b-1")

    refusal = await frame(visitor)
    assert refusal["type"] == "error"
    assert refusal["code"] == "busy"
    assert refusal["client_id"] == "b-1"
    assert 400 <= refusal["retry_after_ms"] <= 600
    assert "Anyone there?" not in await db(stored_texts)(rid)


@async_test
async def test_a_busy_message_sent_again_with_its_client_id_is_stored_once(
    scene: Scene, settings: Any
) -> None:
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    settings.LIVE_MAX_IN_FLIGHT = 0
    await send(visitor, type="message", text="Once only", client_id="b-2")
    assert (await frame(visitor))["code"] == "busy"

    settings.LIVE_MAX_IN_FLIGHT = 64  # room again: the client resends, same client_id
    await send(visitor, type="message", text="Once only", client_id="b-2")
    echo = await frame(visitor)
    await send(visitor, type="message", text="Once only", client_id="b-2")

    assert echo["type"] == "message"
    assert echo["message"]["client_id"] == "b-2"
    assert await frames(visitor) == []  # the second resend is the same message: not again
    assert (await db(stored_texts)(rid)).count("Once only") == 1


def test_an_http_message_past_the_live_work_bound_is_503_with_retry_after(
    scene: Scene, settings: Any
) -> None:
    settings.LIVE_MAX_IN_FLIGHT = 0
    settings.LIVE_BUSY_RETRY_MS = 1500

    answer = scene.visitor.client.post(
        messages_url(scene), {"message": "Over HTTP", "client_id": "h-1"}, format="json"
    )

    assert answer.status_code == 503
    assert answer.json()["code"] == "busy"
    assert 2 <= int(answer["Retry-After"]) <= 3
    assert not SupportMessage.objects.filter(message="Over HTTP").exists()


@async_test
async def test_two_writers_on_one_request_commit_in_order_on_the_thread_pool(
    scene: Scene, settings: Any
) -> None:
    settings.WS_MESSAGE_BURST = 50
    settings.LIVE_DB_THREADS = 8
    await db(join)(scene)
    rid = scene.support_request.request_id
    client: Client = await db(login)(scene.agent)
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    agent = await opened(agent_socket(rid, client))
    count = 20

    async def write(socket_: Any, side: str) -> None:
        for n in range(count):
            await send(socket_, type="message", text=f"{side} {n}", client_id=f"{side}-{n}")

    await asyncio.gather(write(visitor, "visitor"), write(agent, "agent"))
    seen = await frames(agent, at_least=2 * count)

    rows = await db(
        lambda: list(
            SupportMessage.objects.filter(support_request__request_id=rid)
            .exclude(client_id=None)
            .order_by("id")
            .values_list("message", "created_at")
        )
    )()
    texts = [text for text, _ in rows]
    # Each side's messages in the order it sent them, and ids in commit order (the row
    # lock serialises the two writers: a later id was committed later).
    for side in ("visitor", "agent"):
        assert [t for t in texts if t.startswith(side)] == [f"{side} {n}" for n in range(count)]
    times = [created for _, created in rows]
    assert times == sorted(times)
    delivered = [f["message"]["text"] for f in seen if f["type"] == "message"]
    assert sorted(delivered) == sorted(texts)


@async_test
async def test_a_frame_is_judged_on_arrival_while_the_sockets_earlier_message_is_being_written(
    scene: Scene, settings: Any
) -> None:
    """The bound counts messages waiting behind their socket's earlier ones: a frame past
    it is refused at once, not after the write in front of it has finished."""
    settings.LIVE_MAX_IN_FLIGHT = 1
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    holding, release = threading.Event(), threading.Event()

    def hold_the_request_row() -> None:
        # Another writer holds the request's row (PostgreSQL) or the database's write
        # lock (SQLite) until released: the socket's first message waits behind it.
        with transaction.atomic():
            SupportRequest.objects.filter(pk=scene.support_request.pk).update(
                updated_at=timezone.now()
            )
            holding.set()
            release.wait(timeout=30)
        connections.close_all()

    holder = threading.Thread(target=hold_the_request_row)
    holder.start()
    try:
        assert await asyncio.to_thread(holding.wait, 10)
        await send(visitor, type="message", text="First", client_id="a-1")
        await send(visitor, type="message", text="Second", client_id="a-2")

        refusal = await frame(visitor)  # while the first is still blocked
        assert (refusal["type"], refusal["code"], refusal["client_id"]) == ("error", "busy", "a-2")
        assert holder.is_alive()
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 30)

    echo = await frame(visitor)
    assert (echo["type"], echo["message"]["client_id"]) == ("message", "a-1")
    texts = await db(stored_texts)(rid)
    assert "First" in texts
    assert "Second" not in texts


@async_test
async def test_messages_accepted_before_the_socket_closes_are_still_written(
    scene: Scene, settings: Any
) -> None:
    settings.WS_MESSAGE_BURST = 20
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))
    for n in range(10):
        await send(visitor, type="message", text=f"Parting {n}", client_id=f"p-{n}")
    await visitor.disconnect(timeout=30)  # returns once the consumer has finished

    texts = await db(stored_texts)(rid)
    assert [t for t in texts if t.startswith("Parting")] == [f"Parting {n}" for n in range(10)]
