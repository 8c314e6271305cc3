"""A WebSocket client that does what the widget and the console do to lose nothing.

- it loads the transcript over HTTP, then connects with `?after=<last id>`;
- it keeps the last message id it showed; a frame whose id is not the next one is a gap:
  it fetches `GET .../messages?after=<last id>` over HTTP before showing anything newer;
- a frame it has already shown (same id) is dropped, so the transcript shows each once;
- when the socket drops it reconnects (to the next server in its list, as a load balancer
  would send it elsewhere) with `?after=<last id>` and applies the `history` frame;
- a message whose echo does not come back is sent again with the same `client_id`.

Message ids are global, so a jump in ids is only a *possible* gap; the HTTP fetch tells.
In these tests each scenario has one request, so its ids are consecutive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.realtime.processes.http import HttpClient, messages_of

RECONNECT_DEADLINE = 45.0


@dataclass
class Counters:
    gap_fetches: int = 0
    already_seen: int = 0
    reconnects: int = 0
    history_frames: int = 0
    resends: int = 0
    close_codes: list[int] = field(default_factory=list)  # of the server's closes


@dataclass
class RecoveringClient:
    name: str
    http: HttpClient
    request_id: str
    servers: list[str]  # http base URLs of the processes this client may use, preferred first
    origin: str
    token: str | None = None  # visitor: ?token=
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    arrivals: list[int] = field(default_factory=list)  # ids in the order they were shown
    frames: list[dict[str, Any]] = field(default_factory=list)  # every frame received
    last_id: int = 0
    counters: Counters = field(default_factory=Counters)
    server_index: int = 0
    _ws: ClientConnection | None = None
    _reader: asyncio.Task[None] | None = None
    _closing: bool = False
    _connected: asyncio.Event = field(default_factory=asyncio.Event)
    # Cleared by a test to hold the client offline for a while (a phone in a tunnel).
    reconnect_allowed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.reconnect_allowed.set()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        for message in await asyncio.to_thread(self._fetch_after, 0):
            self._show(message)
        await self._connect()
        self._reader = asyncio.create_task(self._read_forever(), name=f"reader-{self.name}")

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def close_socket_and_reconnect(self) -> None:
        """Drop the socket (a network blip) and wait until the client is back."""
        assert self._ws is not None
        before = self.counters.reconnects
        await self._ws.close()
        await self.wait_until(lambda: self.counters.reconnects > before)

    @property
    def server(self) -> str:
        return self.servers[self.server_index % len(self.servers)]

    def ws_url(self) -> str:
        query = {"after": str(self.last_id)}
        if self.token:
            query["token"] = self.token
        base = self.server.replace("http://", "ws://", 1)
        return f"{base}/human-support/ws/{self.request_id}?{urllib.parse.urlencode(query)}"

    async def _connect(self) -> None:
        headers = {}
        if self.token is None:
            headers["Cookie"] = self.http.cookie_header()
        self._ws = await websockets.connect(
            self.ws_url(),
            origin=self.origin,  # type: ignore[arg-type]
            additional_headers=headers,
            proxy=None,
            open_timeout=5,
            close_timeout=2,
        )
        self._connected.set()

    async def _read_forever(self) -> None:
        while not self._closing:
            assert self._ws is not None
            try:
                async for raw in self._ws:
                    await self._handle(json.loads(raw))
            except websockets.ConnectionClosed:
                pass
            if self._closing:
                return
            if self._ws.close_code is not None:
                self.counters.close_codes.append(self._ws.close_code)
            self._connected.clear()
            await self._reconnect()

    async def _reconnect(self) -> None:
        """Back off and retry, moving to the next server each time, until the deadline."""
        await self.reconnect_allowed.wait()
        deadline = time.monotonic() + RECONNECT_DEADLINE
        delay = 0.1
        while time.monotonic() < deadline and not self._closing:
            self.server_index += 1
            try:
                await self._connect()
            except (OSError, websockets.InvalidHandshake, TimeoutError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            self.counters.reconnects += 1
            return
        raise RuntimeError(f"{self.name} could not reconnect within {RECONNECT_DEADLINE}s")

    # --- receiving ----------------------------------------------------------------------

    async def _handle(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        if frame.get("type") == "history":
            self.counters.history_frames += 1
            for message in frame["messages"]:
                await self._receive(message)
        elif frame.get("type") == "message":
            await self._receive(frame["message"])

    async def _receive(self, message: dict[str, Any]) -> None:
        if message["id"] <= self.last_id:
            self.counters.already_seen += 1
            return
        if message["id"] != self.last_id + 1:
            self.counters.gap_fetches += 1
            for missed in await asyncio.to_thread(self._fetch_after, self.last_id):
                self._show(missed)
            if message["id"] <= self.last_id:
                self.counters.already_seen += 1
                return
        self._show(message)

    def _show(self, message: dict[str, Any]) -> None:
        self.messages[message["id"]] = message
        self.arrivals.append(message["id"])
        self.last_id = max(self.last_id, message["id"])

    def _fetch_after(self, after: int) -> list[dict[str, Any]]:
        return messages_of(self.http.with_base(self.server), self.request_id, after=after)

    # --- sending ------------------------------------------------------------------------

    async def send(self, text: str, *, client_id: str) -> None:
        """Send once; raise ConnectionClosed if the socket is down."""
        assert self._ws is not None
        await self._ws.send(json.dumps({"type": "message", "text": text, "client_id": client_id}))

    async def send_typing(self, typing: bool) -> None:
        assert self._ws is not None
        await self._ws.send(json.dumps({"type": "typing", "typing": typing}))

    async def send_until_echoed(self, text: str, *, client_id: str, timeout: float = 60) -> None:
        """The widget's retry: no echo within a while (or no socket) → same client_id again."""
        deadline = time.monotonic() + timeout
        first = True
        while time.monotonic() < deadline:
            if not first:
                self.counters.resends += 1
            first = False
            with contextlib.suppress(websockets.ConnectionClosed):
                await asyncio.wait_for(self._connected.wait(), timeout=deadline - time.monotonic())
                await self.send(text, client_id=client_id)
            if await self.wait_until(lambda: self.has_client_id(client_id), timeout=2, fail=False):
                return
        raise AssertionError(f"{self.name}: {client_id} was never echoed")

    # --- reading the state --------------------------------------------------------------

    def has_client_id(self, client_id: str) -> bool:
        return any(m.get("client_id") == client_id for m in self.messages.values())

    def has_text(self, text: str) -> bool:
        return any(m["text"] == text for m in self.messages.values())

    def transcript(self) -> list[tuple[int, str, str]]:
        return [
            (i, self.messages[i]["sender_type"], self.messages[i]["text"]) for i in self.arrivals
        ]

    def statuses(self) -> list[str]:
        return [f["status"] for f in self.frames if f.get("type") == "status"]

    async def wait_until(
        self, condition: Callable[[], bool], *, timeout: float = 15, fail: bool = True
    ) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            if self._reader is not None and self._reader.done():
                self._reader.result()  # re-raise what stopped the reader
            await asyncio.sleep(0.02)
        if fail:
            raise AssertionError(
                f"{self.name}: condition not met in {timeout}s: {self.transcript()}"
            )
        return False
