"""An erased visitor's open sockets close: theirs with 4401 (the token is dead), agents'
with 4404 (the conversation is gone); and the token opens no new one."""

from __future__ import annotations

import pytest

from support.privacy.erasure import visitor_erase
from support.realtime.frames import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tests.helpers import Scene, join
from tests.support.realtime.sockets import (
    agent_socket,
    async_test,
    closed_with,
    db,
    frame,
    login,
    opened,
    post_as_visitor,
    refused_with,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)

VERA = "vera@example.com"


def give_address(scene: Scene) -> None:
    type(scene.support_request).objects.filter(pk=scene.support_request.pk).update(user_email=VERA)


@async_test
async def test_erasure_closes_the_visitors_and_the_agents_sockets(scene: Scene) -> None:
    await db(give_address)(scene)
    await db(join)(scene)
    request_id = scene.support_request.request_id
    visitor = await opened(visitor_socket(request_id, scene.visitor.token))
    agent = await opened(agent_socket(request_id, await db(login)(scene.agent)))

    await db(visitor_erase)(address=VERA, operator="command")

    assert await closed_with(visitor) == CLOSE_UNAUTHENTICATED
    assert await closed_with(agent) == CLOSE_NOT_FOUND


@async_test
async def test_the_erased_visitors_token_opens_no_socket(scene: Scene) -> None:
    await db(give_address)(scene)
    await db(visitor_erase)(address=VERA, operator="command")

    socket = visitor_socket(scene.support_request.request_id, scene.visitor.token)

    assert await refused_with(socket) == CLOSE_UNAUTHENTICATED


@async_test
async def test_another_visitors_erasure_leaves_the_socket_open(scene: Scene) -> None:
    await db(give_address)(scene)
    visitor = await opened(visitor_socket(scene.support_request.request_id, scene.visitor.token))

    await db(visitor_erase)(address="someone@example.com", operator="command")
    await db(post_as_visitor)(scene, "still here")

    assert (await frame(visitor))["message"]["text"] == "still here"
