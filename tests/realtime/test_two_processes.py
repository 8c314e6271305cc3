"""Two real daphne processes on one Redis and one database: the visitor on A, the agent on B."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import urllib.parse
from typing import Any

import pytest
import websockets

from support.models import SupportMessage
from tests.realtime.conftest import (
    CUSTOMER_ORIGIN,
    LiveChat,
    StartServer,
    agent_client,
    assert_complete_in_order_once,
    open_live_chat,
    stored_transcript,
    visitor_client,
)
from tests.realtime.http import messages_of, start_visitor
from tests.realtime.recovering_client import RecoveringClient
from tests.realtime.servers import DaphneServer

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_on_one_process_sees_what_a_visitor_posts_on_another(
    start_server: StartServer,
) -> None:
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)

    posted = chat.visitor_http.post(
        f"/human-support/requests/{chat.request_id}/messages",
        {"message": "Posted on A", "client_id": "v-http-1"},
    )
    assert posted.status == 201

    seen_on_b = messages_of(chat.agent_http, chat.request_id)
    assert [(m["sender_type"], m["text"]) for m in seen_on_b] == [
        ("user", "My parcel never arrived"),
        ("system", "Alice joined"),
        ("user", "Posted on A"),
    ]


def test_messages_both_ways_arrive_live_in_order_exactly_once_across_two_processes(
    start_server: StartServer,
) -> None:
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)

    async def scenario() -> tuple[RecoveringClient, RecoveringClient]:
        visitor, agent = visitor_client(chat, a), agent_client(chat, b)
        await visitor.start()
        await agent.start()
        try:
            for n in range(10):
                await visitor.send(f"visitor says {n}", client_id=f"v-{n}")
                await agent.send(f"agent says {n}", client_id=f"a-{n}")
            everything = lambda c: c.has_client_id("v-9") and c.has_client_id("a-9")  # noqa: E731
            await visitor.wait_until(lambda: everything(visitor))
            await agent.wait_until(lambda: everything(agent))
        finally:
            await visitor.close()
            await agent.close()
        return visitor, agent

    visitor, agent = asyncio.run(scenario())

    stored = messages_of(chat.visitor_http, chat.request_id)
    expected = [(m["id"], m["sender_type"], m["text"]) for m in stored]
    assert len(stored) == 2 + 20
    # Each side sent its ten in order; the other side's ten interleave by commit order.
    visitor_texts = [t for _, kind, t in expected if kind == "user"][1:]
    assert visitor_texts == [f"visitor says {n}" for n in range(10)]
    assert [t for _, kind, t in expected if kind == "admin"] == [
        f"agent says {n}" for n in range(10)
    ]
    new_ids = {m[0] for m in expected[2:]}
    for client in (visitor, agent):
        assert_complete_in_order_once(client, chat)
        live = [f["message"] for f in client.frames if f["type"] == "message"]
        # Every message came live over the socket, across processes, and only once.
        assert sorted(m["id"] for m in live) == sorted(new_ids)
        # Each sender's messages come in that sender's order. The two processes publish
        # independently, so one side's message may overtake the other's; the client puts
        # them in id order (a gap fetch), which assert_complete_in_order_once checked.
        for sender in ("user", "admin"):
            ids = [m["id"] for m in live if m["sender_type"] == sender]
            assert ids == sorted(ids)


def test_idle_sockets_stay_open_longer_than_the_channel_layers_blocking_read(
    start_server: StartServer,
) -> None:
    # channels_redis waits on Redis with a 5 s BRPOP; a Redis client whose read timeout
    # is not longer than that would end a consumer (and its socket) every few seconds.
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)

    async def scenario() -> tuple[RecoveringClient, RecoveringClient]:
        visitor, agent = visitor_client(chat, a), agent_client(chat, b)
        await visitor.start()
        await agent.start()
        try:
            await asyncio.sleep(12)
            await visitor.send("Still there?", client_id="v-idle")
            await agent.wait_until(lambda: agent.has_client_id("v-idle"))
        finally:
            await visitor.close()
            await agent.close()
        return visitor, agent

    visitor, agent = asyncio.run(scenario())

    for client in (visitor, agent):
        assert client.counters.reconnects == 0
        assert_complete_in_order_once(client, chat)


def test_sockets_opened_while_the_other_side_writes_miss_nothing_between_history_and_live(
    start_server: StartServer,
) -> None:
    # The consumer joins the group, then reads the history: a message committed while it
    # reads must reach the socket once, in the history or live, never in neither.
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)
    writing = threading.Event()
    writing.set()

    def agent_writes() -> None:
        # Writes for as long as the sockets come and go (the cap only bounds a runaway).
        for n in range(10_000):
            if not writing.is_set():
                return
            answer = chat.agent_http.post(
                f"/human-support/requests/{chat.request_id}/messages",
                {"message": f"Stream {n}", "client_id": f"a-stream-{n}"},
            )
            assert answer.status == 201, answer

    async def one_socket(after: int) -> tuple[int, list[int]]:
        """Open a visitor socket with ?after=, keep it briefly, return the ids it got."""
        url = (
            f"{a.ws_url}/human-support/ws/{chat.request_id}?"
            f"{urllib.parse.urlencode({'token': chat.visitor_http.bearer, 'after': after})}"
        )
        got: list[int] = []
        async with websockets.connect(url, origin=CUSTOMER_ORIGIN, proxy=None) as ws:  # type: ignore[arg-type]
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.3):
                    async for raw in ws:
                        frame = json.loads(raw)
                        if frame["type"] == "history":
                            got += [m["id"] for m in frame["messages"]]
                        elif frame["type"] == "message":
                            got.append(frame["message"]["id"])
        return after, got

    async def scenario() -> list[tuple[int, list[int]]]:
        seen = []
        writer = asyncio.create_task(asyncio.to_thread(agent_writes))
        try:
            after = stored_transcript(chat)[-1][0]
            for _ in range(25):
                after, got = await one_socket(after)
                seen.append((after, got))
                after = max(got, default=after)
        finally:
            writing.clear()
            await writer
        return seen

    sockets = asyncio.run(scenario())

    stored = [i for i, _, _ in stored_transcript(chat)]
    holes = []
    for after, got in sockets:
        assert got == sorted(set(got)), "out of order or twice"
        if got:
            expected = [i for i in stored if after < i <= got[-1]]
            if got != expected:
                holes.append((after, sorted(set(expected) - set(got))))
    assert sum(1 for _, got in sockets if got) >= 10, "the writer was too slow to test anything"
    assert holes == []


def test_typing_and_status_frames_cross_processes_and_a_closed_request_refuses_messages(
    start_server: StartServer,
) -> None:
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)

    async def scenario() -> tuple[RecoveringClient, RecoveringClient]:
        visitor, agent = visitor_client(chat, a), agent_client(chat, b)
        await visitor.start()
        await agent.start()
        try:
            await visitor.send_typing(True)
            await agent.wait_until(lambda: any(f["type"] == "typing" for f in agent.frames))

            resolved = await asyncio.to_thread(
                chat.agent_http.post, f"/human-support/requests/{chat.request_id}/resolve"
            )
            assert resolved.status == 200
            await visitor.wait_until(lambda: "resolved" in visitor.statuses())

            closed = await asyncio.to_thread(
                chat.visitor_http.post, f"/human-support/requests/{chat.request_id}/close"
            )
            assert closed.status == 200
            await agent.wait_until(lambda: "closed" in agent.statuses())

            await visitor.send("Hello?", client_id="v-late")
            await visitor.wait_until(lambda: any(f["type"] == "error" for f in visitor.frames))
        finally:
            await visitor.close()
            await agent.close()
        return visitor, agent

    visitor, agent = asyncio.run(scenario())

    assert [f for f in agent.frames if f["type"] == "typing"] == [
        {"type": "typing", "sender_type": "user", "typing": True}
    ]
    assert not any(f["type"] == "typing" for f in visitor.frames)  # not echoed to the typist
    resolved_frame = next(f for f in visitor.frames if f.get("status") == "resolved")
    assert resolved_frame == {"type": "status", "status": "resolved", "agent_name": "Alice"}
    assert visitor.statuses()[-1] == agent.statuses()[-1] == "closed"
    error = next(f for f in visitor.frames if f["type"] == "error")
    assert (error["code"], error.get("client_id")) == ("closed", "v-late")
    assert not SupportMessage.objects.filter(client_id="v-late").exists()
    for client in (visitor, agent):
        assert_complete_in_order_once(client, chat)
    assert [t for _, _, t in stored_transcript(chat)][-2:] == [
        "Resolved by Alice",
        "Closed by the visitor",
    ]


def agent_socket(server: DaphneServer, chat: LiveChat, path: str) -> Any:
    return websockets.connect(
        f"{server.ws_url}{path}",
        origin=server.origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": chat.agent_http.cookie_header()},
        proxy=None,
    )


def test_a_request_created_on_one_process_appears_in_the_queue_of_an_agent_on_another(
    start_server: StartServer,
) -> None:
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)

    async def scenario() -> dict[str, Any]:
        async with agent_socket(b, chat, "/human-support/ws/agent") as queue:
            _, request_id = await asyncio.to_thread(
                start_visitor,
                a.url,
                chatbot_key=chat.chatbot_key,
                origin=CUSTOMER_ORIGIN,
                name="Walter",
                first_message="Second customer",
            )
            async with asyncio.timeout(10):
                while True:
                    frame = json.loads(await queue.recv())
                    if frame["type"] == "queue":
                        assert frame["request"]["request_id"] == request_id
                        return frame

    frame = asyncio.run(scenario())

    assert frame["action"] == "created"
    assert frame["request"]["status"] == "pending"
    assert frame["request"]["user_name"] == "Walter"


def test_an_agent_logged_out_on_one_process_loses_their_sockets_on_another_at_once(
    start_server: StartServer,
) -> None:
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)

    async def scenario() -> tuple[list[int | None], float]:
        path = f"/human-support/ws/{chat.request_id}"
        async with (
            agent_socket(b, chat, path) as conversation,
            agent_socket(b, chat, "/human-support/ws/agent") as queue,
        ):
            await asyncio.sleep(0.5)  # both joined their groups
            started = time.monotonic()
            logged_out = await asyncio.to_thread(
                chat.agent_http.with_base(a.url).post, "/console/logout/"
            )
            assert logged_out.status == 302, logged_out
            codes = []
            for ws in (conversation, queue):
                with contextlib.suppress(websockets.ConnectionClosed):
                    async with asyncio.timeout(15):
                        async for _ in ws:
                            pass
                codes.append(ws.close_code)
            return codes, time.monotonic() - started

    codes, took = asyncio.run(scenario())

    assert codes == [4403, 4403]
    # At once, on the logout's event: not at some later periodic re-check. (A generous
    # bound: a loaded CI machine is slow.)
    assert took < 10
