"""Status frames follow the request's life; a closed request's sockets stay open and
answer `closed`."""

from __future__ import annotations

import pytest

from chatbots.visitors import Visitor
from core.actors import Agent
from core.errors import REQUEST_CLOSED
from support import services
from tests.helpers import Scene, join
from tests.support.realtime.sockets import (
    agent_socket,
    async_test,
    db,
    frames,
    login,
    opened,
    send,
    stored_texts,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


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

    # A message is written by the socket's writer, a typing frame answered at once: their
    # answers may come in either order (the message's carries its client_id).
    answers = await frames(visitor, at_least=2)
    assert sorted(answers, key=lambda f: f.get("client_id", "")) == [
        {"type": "error", "code": "closed", "detail": REQUEST_CLOSED},
        {"type": "error", "code": "closed", "detail": REQUEST_CLOSED, "client_id": "late-1"},
    ]
    assert await frames(agent, at_least=1) == [
        {"type": "error", "code": "closed", "detail": REQUEST_CLOSED, "client_id": "late-2"}
    ]
    assert "One more thing" not in await db(stored_texts)(rid)
