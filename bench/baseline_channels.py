"""B1: a bare Channels consumer relaying through the same channel layer, writing nothing.

The same transport as Handoff (daphne, Channels, channels_redis on the same Redis), none
of the product: no authentication, no database, no services. Each socket joins its pair's
group; a frame received is stamped with a process-local counter id and group_sent, so it
crosses processes exactly as Handoff's broadcasts do.

    REDIS_URL=redis://127.0.0.1:6379/0 daphne -p 9001 bench.baseline_channels:application
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any
from urllib.parse import parse_qs

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-baseline",  # noqa: S106 - no sessions, nothing signed
        ALLOWED_HOSTS=["127.0.0.1"],
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    # The same connection options as Handoff's settings.
                    "hosts": [
                        {
                            "address": os.environ["REDIS_URL"],
                            "socket_timeout": float(os.environ.get("REDIS_SOCKET_TIMEOUT", "30")),
                            "max_connections": int(os.environ.get("REDIS_MAX_CONNECTIONS", "1000")),
                        }
                    ],
                    "capacity": int(os.environ.get("CHANNEL_CAPACITY", "1000")),
                    "expiry": 60,
                    "prefix": "bench-b1",
                },
            }
        },
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

ids = itertools.count(1)


class RelayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.group = f"pair.{self.scope['url_route']['kwargs']['pair']}"
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.role = query.get("role", ["user"])[0]
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = json.loads(text_data or "{}")
        if frame.get("type") != "message":
            return
        message = {
            "id": next(ids),
            "sender_type": self.role,
            "text": frame.get("text"),
            "client_id": frame.get("client_id"),
        }
        await self.channel_layer.group_send(
            self.group, {"type": "relay.message", "message": message}
        )

    async def relay_message(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps({"type": "message", "message": event["message"]}))


async def health(scope: dict[str, Any], receive: Any, send: Any) -> None:
    status = 200 if scope["path"] == "/healthz" else 404
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b"ok\n"})


application = ProtocolTypeRouter(
    {
        "http": health,
        # The stubs' path() takes Django views, not ASGI apps (see support/realtime/routing.py).
        "websocket": URLRouter([path("relay/<str:pair>", RelayConsumer.as_asgi())]),  # type: ignore[list-item,arg-type]
    }
)
