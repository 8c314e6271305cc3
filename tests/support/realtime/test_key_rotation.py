"""Rotating SECRET_KEY (the old one kept in SECRET_KEY_FALLBACKS) keeps agents connected:
sockets read the login with Django's own get_user, as HTTP does."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.sessions.models import Session

from tests.helpers import Scene, join
from tests.support.realtime.sockets import (
    agent_socket,
    async_test,
    db,
    frame,
    login,
    opened,
    queue_socket,
    send,
    stored_texts,
)

pytestmark = pytest.mark.django_db(transaction=True)

NEW_KEY = "a-new-secret-key-for-the-rotation-test-0123456789-abcdefghijklmnop"


def rotate_secret_key(settings: Any) -> None:
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = NEW_KEY


@async_test
async def test_an_agent_logged_in_before_a_key_rotation_connects_and_writes_after_it(
    scene: Scene, settings: Any
) -> None:
    await db(join)(scene)
    client = await db(login)(scene.agent)  # its session is signed with the old key
    rotate_secret_key(settings)

    request_socket = await opened(agent_socket(scene.support_request.request_id, client))
    await opened(queue_socket(client))
    await send(request_socket, type="message", text="Still here", client_id="r-1")

    assert (await frame(request_socket))["message"]["text"] == "Still here"
    assert "Still here" in await db(stored_texts)(scene.support_request.request_id)


@async_test
async def test_a_socket_open_across_a_key_rotation_keeps_writing(
    scene: Scene, settings: Any
) -> None:
    settings.AGENT_ACCESS_RECHECK_SECONDS = 0  # every write reads the login again
    await db(join)(scene)
    client = await db(login)(scene.agent)
    request_socket = await opened(agent_socket(scene.support_request.request_id, client))

    rotate_secret_key(settings)
    await send(request_socket, type="message", text="After the rotation", client_id="r-2")

    assert (await frame(request_socket))["message"]["text"] == "After the rotation"


@async_test
async def test_checking_a_login_on_a_socket_leaves_the_browsers_session_as_it_was(
    scene: Scene, settings: Any
) -> None:
    # Django cycles a session signed under a fallback key on the next HTTP answer, which
    # carries the new cookie; a socket cannot hand one over, so it must not cycle it.
    await db(join)(scene)
    client = await db(login)(scene.agent)
    session_key = client.session.session_key
    rotate_secret_key(settings)

    await opened(agent_socket(scene.support_request.request_id, client))

    assert await db(Session.objects.filter(session_key=session_key).exists)()
