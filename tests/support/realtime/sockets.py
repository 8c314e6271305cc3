"""Sockets through Channels' WebsocketCommunicator, for the consumer tests.

The application under test is support.realtime.routing.websocket_application (cookie,
session and auth middleware included). The channel layer is the one the settings choose:
in-memory on the SQLite leg, Redis on the PostgreSQL leg (recording, tests/layers.py).
Agents log in for real (a database session whose cookie the socket carries).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from chatbots.visitors import Visitor
from support import services
from support.models import SupportMessage
from support.realtime.routing import websocket_application
from tests.factories import PASSWORD
from tests.helpers import Scene

SITE_HOST = "localhost:8000"
SITE_ORIGIN = "http://localhost:8000"
WIDGET_ORIGIN = "https://customer.example"  # ChatbotFactory's allowed origin
QUIET = 0.5  # seconds without a frame that count as "nothing more is coming"
# Deadlines for what must happen: generous, since a loaded CI machine is slow and a test
# that passes only waits as long as the server takes.
CONNECT_SECONDS = 10
FRAME_SECONDS = 5

_open_sockets: list[WebsocketCommunicator] = []


def async_test[**P](test: Callable[P, Awaitable[None]]) -> Callable[P, None]:
    """Run an async test body in one event loop (no pytest-asyncio), then hang up every
    socket it opened so that each consumer finishes inside the test."""

    @functools.wraps(test)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        async def body() -> None:
            try:
                await test(*args, **kwargs)
            finally:
                sockets, _open_sockets[:] = list(_open_sockets), []
                for socket in sockets:
                    await socket.disconnect()

        async_to_sync(body)()

    return run


def db[**P, R](function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    return database_sync_to_async(function)


def login(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def socket(
    path: str,
    *,
    origin: str | None = None,
    client: Client | None = None,
    host: str = SITE_HOST,
    accept_language: str | None = None,
    **query: object,
) -> WebsocketCommunicator:
    headers = [(b"host", host.encode())]
    if accept_language is not None:
        headers.append((b"accept-language", accept_language.encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if client is not None:
        cookie = f"sessionid={client.cookies['sessionid'].value}"
        headers.append((b"cookie", cookie.encode()))
    params = {k: v for k, v in query.items() if v is not None}
    url = f"{path}?{urlencode(params)}" if params else path
    communicator = WebsocketCommunicator(websocket_application, url, headers=headers)
    _open_sockets.append(communicator)
    return communicator


def request_path(request_id: str) -> str:
    return f"/human-support/ws/{request_id}"


def visitor_socket(
    request_id: str,
    token: str,
    *,
    after: int | str | None = None,
    origin: str = WIDGET_ORIGIN,
    accept_language: str | None = None,
) -> WebsocketCommunicator:
    return socket(
        request_path(request_id),
        origin=origin,
        token=token,
        after=after,
        accept_language=accept_language,
    )


def agent_socket(
    request_id: str,
    client: Client,
    *,
    after: int | None = None,
    origin: str = SITE_ORIGIN,
    accept_language: str | None = None,
) -> WebsocketCommunicator:
    return socket(
        request_path(request_id),
        origin=origin,
        client=client,
        after=after,
        accept_language=accept_language,
    )


def queue_socket(client: Client | None, *, origin: str = SITE_ORIGIN) -> WebsocketCommunicator:
    return socket("/human-support/ws/agent", origin=origin, client=client)


async def opened(communicator: WebsocketCommunicator) -> WebsocketCommunicator:
    connected, _ = await communicator.connect(timeout=CONNECT_SECONDS)
    assert connected
    return communicator


async def closed_with(
    communicator: WebsocketCommunicator, *, timeout: float = FRAME_SECONDS
) -> int:
    """The close code of an open socket that the server closes within `timeout` seconds."""
    output = await communicator.receive_output(timeout)
    assert output["type"] == "websocket.close", output
    return int(output["code"])


async def refused_with(communicator: WebsocketCommunicator) -> int:
    """Refusals accept first, then close with the code (so browsers can read it)."""
    connected, _ = await communicator.connect(timeout=CONNECT_SECONDS)
    assert connected, "refusals must accept first"
    return await closed_with(communicator)


async def frame(
    communicator: WebsocketCommunicator, *, timeout: float = FRAME_SECONDS
) -> dict[str, Any]:
    return await communicator.receive_json_from(timeout)


async def frames(
    communicator: WebsocketCommunicator, *, at_least: int = 0, quiet: float = QUIET
) -> list[Any]:
    """Every frame until the socket has been quiet for `quiet` seconds, after waiting
    (patiently: a loaded machine is slow) for the first `at_least` of them."""
    received = [await frame(communicator) for _ in range(at_least)]
    while not await communicator.receive_nothing(timeout=quiet):
        received.append(await communicator.receive_json_from())
    return received


async def send(communicator: WebsocketCommunicator, **fields: object) -> None:
    await communicator.send_json_to(fields)


def message_ids(received: list[dict[str, Any]]) -> list[int]:
    """Ids of every message a socket was sent, in history and message frames alike."""
    ids: list[int] = []
    for item in received:
        if item["type"] == "history":
            ids.extend(m["id"] for m in item["messages"])
        elif item["type"] == "message":
            ids.append(item["message"]["id"])
    return ids


def stored_texts(request_id: str) -> list[str]:
    return list(
        SupportMessage.objects.filter(support_request__request_id=request_id)
        .order_by("id")
        .values_list("message", flat=True)
    )


def post_as_visitor(scene: Scene, text: str, client_id: str | None = None) -> int:
    result = services.message_post(
        support_request=scene.support_request,
        actor=Visitor(scene.visitor.session),
        text=text,
        client_id=client_id,
    )
    return result.message.id
