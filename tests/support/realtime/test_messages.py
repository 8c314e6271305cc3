"""Message frames: stored through the service, echoed with their id to every socket of
the request, once per client_id; a visitor's message reopens a resolved request."""

from __future__ import annotations

import pytest

from core.actors import Agent
from core.errors import JOIN_FIRST
from support import services
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
    queue_socket,
    send,
    stored_texts,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


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
