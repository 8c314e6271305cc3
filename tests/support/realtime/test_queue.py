"""The agent's queue socket: the life of the requests of the chatbots they serve."""

from __future__ import annotations

import pytest

from chatbots.visitors import Visitor
from core.actors import Agent
from support import services
from tests.factories import ChatbotFactory, make_session
from tests.helpers import Scene
from tests.support.realtime.sockets import (
    QUIET,
    async_test,
    db,
    frame,
    frames,
    login,
    opened,
    queue_socket,
    send,
)

pytestmark = pytest.mark.django_db(transaction=True)


@async_test
async def test_agent_queue_follows_the_life_of_requests_of_its_chatbots(scene: Scene) -> None:
    queue = await opened(queue_socket(await db(login)(scene.agent)))
    session, _ = await db(make_session)(scene.chatbot)
    agent = Agent(scene.agent)

    created, _ = await db(services.request_create)(session=session, initial_message="Help!")
    await db(services.request_join)(support_request=created, agent=agent)
    await db(services.request_resolve)(support_request=created, agent=agent)
    await db(services.message_post)(support_request=created, actor=Visitor(session), text="Again")
    await db(services.request_close)(support_request=created, actor=agent)

    received = await frames(queue, at_least=5)
    assert [(f["type"], f["action"], f["request"]["status"]) for f in received] == [
        ("queue", "created", "pending"),
        ("queue", "joined", "active"),
        ("queue", "resolved", "resolved"),
        ("queue", "reopened", "active"),
        ("queue", "closed", "closed"),
    ]
    assert {f["request"]["request_id"] for f in received} == {created.request_id}
    assert received[1]["request"]["agent_name"] == "Alice"


@async_test
async def test_agent_queue_hears_nothing_of_other_chatbots(scene: Scene) -> None:
    queue = await opened(queue_socket(await db(login)(scene.agent)))
    other_session, _ = await db(make_session)(scene.other_chatbot)

    await db(services.request_create)(session=other_session, initial_message="Elsewhere")

    assert await frames(queue) == []


@async_test
async def test_superuser_queue_hears_every_chatbot(scene: Scene) -> None:
    third = await db(ChatbotFactory)()  # serving nobody: superusers serve it all the same
    queue = await opened(queue_socket(await db(login)(scene.superuser)))
    for chatbot in (scene.chatbot, scene.other_chatbot, third):
        session, _ = await db(make_session)(chatbot)
        await db(services.request_create)(session=session, initial_message="Hi")

    received = await frames(queue, at_least=3)
    assert sorted(f["request"]["chatbot"]["key"] for f in received) == sorted(
        [scene.chatbot.key, scene.other_chatbot.key, third.key]
    )


@async_test
async def test_agent_queue_answers_client_frames_with_unknown_type(scene: Scene) -> None:
    queue = await opened(queue_socket(await db(login)(scene.agent)))

    await send(queue, type="message", text="hello?")

    assert (await frame(queue))["code"] == "unknown_type"
    assert await queue.receive_nothing(timeout=QUIET)
