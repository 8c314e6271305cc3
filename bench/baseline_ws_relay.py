"""B0: a plain `websockets` relay, one process, nothing else.

`/relay/{pair}`: every frame a socket sends is stamped with a counter id and sent to every
socket of the same pair (the sender included), in Handoff's `message` frame shape. This is
the floor: no framework, no channel layer, no database.

    python bench/baseline_ws_relay.py --port 9000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import signal
from collections import defaultdict
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

rooms: dict[str, set[ServerConnection]] = defaultdict(set)
ids = itertools.count(1)


def health(connection: ServerConnection, request: Request) -> Response | None:
    if request.path == "/healthz":
        return connection.respond(HTTPStatus.OK, "ok\n")
    return None


async def relay(connection: ServerConnection) -> None:
    assert connection.request is not None
    url = urlsplit(connection.request.path)
    pair = url.path.rsplit("/", 1)[-1]
    role = parse_qs(url.query).get("role", ["user"])[0]
    room = rooms[pair]
    room.add(connection)
    try:
        async for raw in connection:
            frame = json.loads(raw)
            if frame.get("type") != "message":
                continue
            out = json.dumps(
                {
                    "type": "message",
                    "message": {
                        "id": next(ids),
                        "sender_type": role,
                        "text": frame.get("text"),
                        "client_id": frame.get("client_id"),
                    },
                }
            )
            broadcast(room, out)
    finally:
        room.discard(connection)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(relay, "127.0.0.1", args.port, process_request=health, compression=None):
        await stop


if __name__ == "__main__":
    asyncio.run(main())
