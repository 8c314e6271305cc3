"""Faults on real processes. Each test ends with both clients' transcripts complete, in
order and without duplicates, compared with what `GET .../messages` returns."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from support.models import SupportMessage
from support.realtime.frames import CLOSE_TRY_AGAIN
from tests.realtime.conftest import (
    LiveChat,
    StartServer,
    agent_client,
    assert_complete_in_order_once,
    open_live_chat,
    visitor_client,
)
from tests.realtime.http import HttpClient, Response
from tests.realtime.recovering_client import RecoveringClient
from tests.realtime.servers import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)


def messages_path(chat: LiveChat) -> str:
    return f"/human-support/requests/{chat.request_id}/messages"


async def post_until_stored(
    client: HttpClient, path: str, text: str, client_id: str, *, attempts: int = 60
) -> list[int]:
    """The widget's HTTP retry: same client_id until the server answers 201 or 200."""
    statuses = []
    for _ in range(attempts):
        answer: Response = await asyncio.to_thread(
            client.post, path, {"message": text, "client_id": client_id}
        )
        statuses.append(answer.status)
        if answer.status in (200, 201):
            return statuses
        await asyncio.sleep(0.5)
    raise AssertionError(f"{client_id} never stored: {statuses}")


async def wait_for(condition: Callable[[], bool], *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


async def until_quiet(client: RecoveringClient, *, quiet: float = 1.0, timeout: float = 15) -> None:
    """Wait until `client` has received no frame for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    seen, since = len(client.frames), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, "frames kept arriving"
        await asyncio.sleep(0.05)
        if len(client.frames) != seen:
            seen, since = len(client.frames), time.monotonic()


async def both_see(visitor: RecoveringClient, agent: RecoveringClient, client_id: str) -> None:
    await visitor.wait_until(lambda: visitor.has_client_id(client_id), timeout=30)
    await agent.wait_until(lambda: agent.has_client_id(client_id), timeout=30)


def test_redis_stopped_while_messages_are_posted_loses_nothing_once_it_is_back(
    start_server: StartServer, redis_server: RedisServer
) -> None:
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)
    outage_statuses: dict[str, list[int]] = {}

    async def scenario() -> tuple[RecoveringClient, RecoveringClient]:
        visitor, agent = visitor_client(chat, a), agent_client(chat, b)
        await visitor.start()
        await agent.start()
        try:
            await visitor.send_until_echoed("Before the outage", client_id="v-before")
            await both_see(visitor, agent, "v-before")

            redis_server.kill()
            # The database is the source of truth: the agent's writes are stored though
            # nothing can be broadcast...
            for n in range(3):
                answer = await asyncio.to_thread(
                    chat.agent_http.post,
                    messages_path(chat),
                    {"message": f"Agent during the outage {n}", "client_id": f"a-out-{n}"},
                )
                assert answer.status == 201, answer
            # ...while the visitor keeps retrying over the socket and over HTTP.
            over_ws = asyncio.create_task(
                visitor.send_until_echoed("Visitor on the socket", client_id="v-ws-out")
            )
            over_http = asyncio.create_task(
                post_until_stored(
                    chat.visitor_http, messages_path(chat), "Visitor over HTTP", "v-http-out"
                )
            )
            # Some reconnect meets the outage: told to try again later (4503), not left deaf.
            await wait_for(
                lambda: CLOSE_TRY_AGAIN in visitor.counters.close_codes + agent.counters.close_codes
            )
            redis_server.start()
            outage_statuses["http"] = await over_http
            await over_ws

            for client_id in ("a-out-0", "a-out-1", "a-out-2", "v-ws-out", "v-http-out"):
                await both_see(visitor, agent, client_id)
            # Live delivery works again, both ways, on re-joined groups.
            await agent.send_until_echoed("After the outage", client_id="a-after")
            await visitor.send_until_echoed("Thanks", client_id="v-after")
            await both_see(visitor, agent, "a-after")
            await both_see(visitor, agent, "v-after")
        finally:
            await visitor.close()
            await agent.close()
        return visitor, agent

    visitor, agent = asyncio.run(scenario())

    for client in (visitor, agent):
        assert_complete_in_order_once(client, chat)
        # The Redis loss closed the sockets; they came back with ?after= and a history.
        assert client.counters.reconnects >= 1
        assert client.counters.history_frames >= 2
    # A socket that reconnected while Redis was still down could not join its groups: it
    # was told to try again later rather than left open and deaf.
    assert CLOSE_TRY_AGAIN in visitor.counters.close_codes + agent.counters.close_codes
    assert SupportMessage.objects.filter(client_id="v-ws-out").count() == 1
    assert SupportMessage.objects.filter(client_id="v-http-out").count() == 1
    # The cache (rate limits, allowed origins) is Redis too: while it is down the HTTP
    # write still answers 201 at the first try, never a 500 after storing the message.
    assert outage_statuses["http"] == [201], outage_statuses


def test_a_visitor_whose_process_is_killed_reconnects_to_the_other_and_misses_nothing(
    start_server: StartServer,
) -> None:
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)

    async def scenario() -> tuple[RecoveringClient, RecoveringClient]:
        visitor, agent = visitor_client(chat, a, b), agent_client(chat, b)
        await visitor.start()
        await agent.start()
        try:
            await visitor.send_until_echoed("Hello from A", client_id="v-1")
            await both_see(visitor, agent, "v-1")
            history_before = visitor.counters.history_frames

            visitor.reconnect_allowed.clear()  # offline until the agent has written
            a.kill()
            for n in range(3):
                await agent.send_until_echoed(f"While you were away {n}", client_id=f"a-{n}")
            assert not visitor.has_client_id("a-0")
            visitor.reconnect_allowed.set()

            for n in range(3):
                await visitor.wait_until(lambda n=n: visitor.has_client_id(f"a-{n}"))  # type: ignore[misc]
            assert visitor.server == b.url
            assert visitor.counters.history_frames == history_before + 1
            missed = [f for f in visitor.frames if f.get("type") == "history"][-1]
            assert [m["client_id"] for m in missed["messages"]] == ["a-0", "a-1", "a-2"]

            await visitor.send_until_echoed("Back, on B", client_id="v-2")
            await both_see(visitor, agent, "v-2")
        finally:
            await visitor.close()
            await agent.close()
        return visitor, agent

    visitor, agent = asyncio.run(scenario())

    for client in (visitor, agent):
        assert_complete_in_order_once(client, chat)
    assert visitor.counters.reconnects == 1


def test_the_same_client_id_sent_twice_is_stored_and_shown_once(
    start_server: StartServer,
) -> None:
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)

    async def scenario() -> tuple[RecoveringClient, RecoveringClient]:
        visitor, agent = visitor_client(chat, a), agent_client(chat, b)
        await visitor.start()
        await agent.start()
        try:
            # A retry on the same socket, as after an echo that did not come in time.
            await visitor.send("Where is my parcel?", client_id="v-dup")
            await visitor.send("Where is my parcel?", client_id="v-dup")
            # A retry over HTTP on the other process, as after the socket dropped.
            retried = await asyncio.to_thread(
                chat.visitor_http.with_base(b.url).post,
                messages_path(chat),
                {"message": "Where is my parcel?", "client_id": "v-dup"},
            )
            assert retried.status in (200, 201)
            # The agent's retry on its socket after a reconnect.
            await agent.send("Looking into it", client_id="a-dup")
            await agent.close_socket_and_reconnect()
            await agent.send_until_echoed("Looking into it", client_id="a-dup")
            await agent.send_until_echoed("Found it", client_id="a-next")
            await both_see(visitor, agent, "a-next")
        finally:
            await visitor.close()
            await agent.close()
        return visitor, agent

    visitor, agent = asyncio.run(scenario())

    assert SupportMessage.objects.filter(client_id="v-dup").count() == 1
    assert SupportMessage.objects.filter(client_id="a-dup").count() == 1
    for client in (visitor, agent):
        assert_complete_in_order_once(client, chat)
        assert [m["client_id"] for m in client.messages.values()].count("v-dup") == 1
        assert [m["client_id"] for m in client.messages.values()].count("a-dup") == 1


def test_the_same_client_id_posted_at_once_on_two_processes_stores_one_message(
    start_server: StartServer,
) -> None:
    a, b = start_server("A"), start_server("B")
    chat = open_live_chat(a, b)
    clients = [chat.visitor_http.with_base(a.url), chat.visitor_http.with_base(b.url)]
    answers: list[Response] = []
    barrier = threading.Barrier(len(clients))

    def post(client: HttpClient) -> None:
        barrier.wait()
        answers.append(
            client.post(messages_path(chat), {"message": "Twice at once", "client_id": "v-race"})
        )

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(answer.status for answer in answers) == [200, 201]
    assert answers[0].body["id"] == answers[1].body["id"]
    assert SupportMessage.objects.filter(client_id="v-race").count() == 1


def test_a_broadcast_dropped_by_a_full_channel_is_recovered_from_the_id_gap(
    start_server: StartServer,
) -> None:
    # channels_redis drops a group message silently when the receiving process's channel
    # holds `capacity` messages; a capacity of 2 and a paused process B force that here.
    a, b = start_server("A", CHANNEL_CAPACITY="2"), start_server("B", CHANNEL_CAPACITY="2")
    chat = open_live_chat(a, b)
    burst = [f"v-burst-{n}" for n in range(6)]

    async def scenario() -> tuple[RecoveringClient, RecoveringClient]:
        visitor, agent = visitor_client(chat, a), agent_client(chat, b)
        await visitor.start()
        await agent.start()
        try:
            await visitor.send_until_echoed("Before", client_id="v-before")
            await both_see(visitor, agent, "v-before")

            b.pause()  # B's consumers stop draining B's channel in Redis
            try:
                for client_id in burst:
                    await visitor.send_until_echoed(f"Burst {client_id}", client_id=client_id)
            finally:
                b.resume()
            await agent.wait_until(lambda: agent.has_client_id(burst[1]))
            await until_quiet(agent)  # whatever survived in B's channel has arrived by now
            assert not agent.has_client_id(burst[-1]), (
                "nothing was dropped: the test proves nothing"
            )
            live_frames_before_gap = len(agent.frames)

            await visitor.send_until_echoed("After", client_id="v-after")
            await both_see(visitor, agent, "v-after")
            assert agent.counters.gap_fetches == 1
            assert len(agent.frames) == live_frames_before_gap + 1  # only "After" came live
        finally:
            await visitor.close()
            await agent.close()
        return visitor, agent

    visitor, agent = asyncio.run(scenario())

    for client in (visitor, agent):
        assert_complete_in_order_once(client, chat)
    assert all(agent.has_client_id(client_id) for client_id in burst)
