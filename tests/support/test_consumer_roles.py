"""Who may open which socket, and from which page: close codes 4401, 4403, 4404."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from support.realtime.frames import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED
from tests.conftest import Scene
from tests.factories import UserFactory
from tests.support.test_consumers import (  # noqa: F401 - fresh_channel_layer is a fixture
    SITE_ORIGIN,
    WIDGET_ORIGIN,
    agent_socket,
    async_test,
    db,
    frame,
    fresh_channel_layer,
    login,
    opened,
    queue_socket,
    refused_with,
    request_path,
    send,
    socket,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)

UNKNOWN_REQUEST = "no-such-request-id-000"
EVIL_ORIGIN = "https://evil.example"


async def can_chat(communicator: WebsocketCommunicator) -> None:
    """An accepted socket is a working one: a typing frame goes without an error."""
    await send(communicator, type="typing", typing=True)
    assert await communicator.receive_nothing(timeout=0.3)


# --- the request socket, role by role -------------------------------------------------------


@async_test
async def test_the_sessions_visitor_is_let_in(scene: Scene) -> None:
    visitor = await opened(visitor_socket(scene.support_request.request_id, scene.visitor.token))
    await can_chat(visitor)


@async_test
async def test_another_visitor_of_the_same_chatbot_is_refused_with_4403(scene: Scene) -> None:
    other = visitor_socket(scene.support_request.request_id, scene.other_visitor.token)
    assert await refused_with(other) == CLOSE_FORBIDDEN


@async_test
async def test_the_chatbots_agent_is_let_in(scene: Scene) -> None:
    agent = await opened(
        agent_socket(scene.support_request.request_id, await db(login)(scene.agent))
    )
    await can_chat(agent)


@async_test
async def test_an_agent_of_another_chatbot_is_refused_with_4403(scene: Scene) -> None:
    other = agent_socket(scene.support_request.request_id, await db(login)(scene.other_agent))
    assert await refused_with(other) == CLOSE_FORBIDDEN


@async_test
async def test_a_superuser_is_let_in_to_any_chatbots_request(scene: Scene) -> None:
    superuser = await opened(
        agent_socket(scene.support_request.request_id, await db(login)(scene.superuser))
    )
    await can_chat(superuser)


@async_test
async def test_a_logged_in_user_who_is_not_staff_is_refused_with_4403(scene: Scene) -> None:
    customer = await db(UserFactory)()
    socket_ = agent_socket(scene.support_request.request_id, await db(login)(customer))
    assert await refused_with(socket_) == CLOSE_FORBIDDEN


@async_test
async def test_anonymous_is_refused_with_4401(scene: Scene) -> None:
    anonymous = socket(request_path(scene.support_request.request_id), origin=SITE_ORIGIN)
    assert await refused_with(anonymous) == CLOSE_UNAUTHENTICATED


@pytest.mark.parametrize("token", ["not-a-token", ""])
@async_test
async def test_a_bad_or_empty_token_is_refused_with_4401(scene: Scene, token: str) -> None:
    socket_ = socket(
        request_path(scene.support_request.request_id), origin=WIDGET_ORIGIN, token=token
    )
    assert await refused_with(socket_) == CLOSE_UNAUTHENTICATED


@async_test
async def test_anonymous_cannot_probe_which_requests_exist(scene: Scene) -> None:
    anonymous = socket(request_path(UNKNOWN_REQUEST), origin=SITE_ORIGIN)
    assert await refused_with(anonymous) == CLOSE_UNAUTHENTICATED


@async_test
async def test_a_visitor_asking_for_no_such_request_gets_4404(scene: Scene) -> None:
    socket_ = visitor_socket(UNKNOWN_REQUEST, scene.visitor.token)
    assert await refused_with(socket_) == CLOSE_NOT_FOUND


@async_test
async def test_an_agent_asking_for_no_such_request_gets_4404(scene: Scene) -> None:
    socket_ = agent_socket(UNKNOWN_REQUEST, await db(login)(scene.agent))
    assert await refused_with(socket_) == CLOSE_NOT_FOUND


@async_test
async def test_a_token_in_the_url_makes_the_caller_the_visitor_even_with_an_agent_cookie(
    scene: Scene,
) -> None:
    """The demo page: one browser, an agent's cookie and a visitor's widget."""
    both = socket(
        request_path(scene.support_request.request_id),
        origin=WIDGET_ORIGIN,
        client=await db(login)(scene.agent),
        token=scene.visitor.token,
    )
    await opened(both)
    await send(both, type="typing", typing=True)
    agent = await opened(
        agent_socket(scene.support_request.request_id, await db(login)(scene.agent))
    )
    await send(both, type="typing", typing=False)

    assert await frame(agent) == {"type": "typing", "sender_type": "user", "typing": False}


# --- origins -----------------------------------------------------------------------------------


@async_test
async def test_a_visitor_from_an_origin_the_chatbot_does_not_allow_is_refused_with_4403(
    scene: Scene,
) -> None:
    socket_ = visitor_socket(
        scene.support_request.request_id, scene.visitor.token, origin=EVIL_ORIGIN
    )
    assert await refused_with(socket_) == CLOSE_FORBIDDEN


@async_test
async def test_a_visitor_from_the_sites_own_pages_is_let_in(scene: Scene) -> None:
    """The demo page is served by Handoff itself."""
    visitor = await opened(
        visitor_socket(scene.support_request.request_id, scene.visitor.token, origin=SITE_ORIGIN)
    )
    await can_chat(visitor)


@async_test
async def test_a_visitor_without_an_origin_header_is_let_in(scene: Scene) -> None:
    """Not a browser (browsers always send Origin): a script holding the token."""
    visitor = await opened(
        socket(request_path(scene.support_request.request_id), token=scene.visitor.token)
    )
    await can_chat(visitor)


@async_test
async def test_a_cross_site_page_riding_a_logged_in_agents_cookie_is_refused_with_4403(
    scene: Scene,
) -> None:
    """Cross-site WebSocket hijacking: the browser sends the agent's cookie with the
    handshake of a socket opened by a page of another site."""
    hijack = agent_socket(
        scene.support_request.request_id, await db(login)(scene.agent), origin=EVIL_ORIGIN
    )
    assert await refused_with(hijack) == CLOSE_FORBIDDEN


@async_test
async def test_a_cross_site_page_cannot_open_an_agents_queue_either(scene: Scene) -> None:
    hijack = queue_socket(await db(login)(scene.agent), origin=EVIL_ORIGIN)
    assert await refused_with(hijack) == CLOSE_FORBIDDEN


@pytest.mark.parametrize("origin", ["null", WIDGET_ORIGIN, "http://localhost.evil.example"])
@async_test
async def test_agents_are_refused_from_any_page_but_the_sites_own(
    scene: Scene, origin: str
) -> None:
    """Even the chatbot's own widget origin: agents work in the console only."""
    socket_ = agent_socket(
        scene.support_request.request_id, await db(login)(scene.agent), origin=origin
    )
    assert await refused_with(socket_) == CLOSE_FORBIDDEN


@async_test
async def test_an_agent_behind_a_proxy_is_let_in_from_a_trusted_origin(
    scene: Scene, settings: Any
) -> None:
    """The proxy rewrote Host; the page's origin is listed in CSRF_TRUSTED_ORIGINS."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://handoff.example.com"]
    agent = await opened(
        socket(
            request_path(scene.support_request.request_id),
            origin="https://handoff.example.com",
            host="backend:8000",
            client=await db(login)(scene.agent),
        )
    )
    await can_chat(agent)


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:9999",  # another port of the same host: another site's page
        "http://localhost",
        "http://shop.example.com",  # a sibling subdomain matched by ALLOWED_HOSTS
    ],
)
@async_test
async def test_an_agent_socket_from_the_same_host_name_on_another_port_or_subdomain_is_refused(
    scene: Scene, settings: Any, origin: str
) -> None:
    settings.ALLOWED_HOSTS = ["localhost", ".example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://handoff.example.com"]
    client = await db(login)(scene.agent)
    for socket_ in (
        agent_socket(scene.support_request.request_id, client, origin=origin),
        queue_socket(client, origin=origin),
    ):
        assert await refused_with(socket_) == CLOSE_FORBIDDEN


# --- the queue socket ---------------------------------------------------------------------------


@async_test
async def test_an_agent_opens_their_queue(scene: Scene) -> None:
    queue = await opened(queue_socket(await db(login)(scene.agent)))
    assert await queue.receive_nothing(timeout=0.3)


@async_test
async def test_anonymous_cannot_open_a_queue(scene: Scene) -> None:
    assert await refused_with(queue_socket(None)) == CLOSE_UNAUTHENTICATED


@async_test
async def test_a_visitor_token_opens_no_queue(scene: Scene) -> None:
    visitor = socket("/human-support/ws/agent", origin=WIDGET_ORIGIN, token=scene.visitor.token)
    assert await refused_with(visitor) == CLOSE_UNAUTHENTICATED


@async_test
async def test_a_user_who_is_not_staff_cannot_open_a_queue(scene: Scene) -> None:
    customer = await db(UserFactory)()
    assert await refused_with(queue_socket(await db(login)(customer))) == CLOSE_FORBIDDEN
