"""Idle visitor sockets on one Handoff daphne process: memory per connection, idle CPU.

Opens visitor sockets (`?token=...&after=0`, as the widget does) to one daphne process on
PostgreSQL (its own database, created and migrated here) and a private redis-server,
until the target count, then leaves them idle for a while (longer than daphne's 20 s
ping interval, so every socket is pinged) and measures.

    python bench/ws_idle.py [--target 5000] [--requests 500] [--idle-seconds 30]

Only 127.0.0.1 is used; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
import websockets

from bench.harness import (
    CUSTOMER_ORIGIN,
    DEFAULT_DATABASE_URL,
    DaphneServer,
    ProcessMeter,
    RedisServer,
    backend_pids,
    handoff_env,
    mib,
    raise_fd_limit,
    recreate_database,
    require_local,
    seed,
)


def rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total


async def open_sockets(
    urls: list[str], *, concurrency: int, max_seconds: float
) -> tuple[list[websockets.ClientConnection], dict[str, int], float]:
    gate = asyncio.Semaphore(concurrency)
    errors: dict[str, int] = {}
    sockets: list[websockets.ClientConnection] = []
    deadline = time.monotonic() + max_seconds
    started = time.monotonic()

    async def one(url: str) -> None:
        async with gate:
            if time.monotonic() > deadline:
                errors["not tried (time bound)"] = errors.get("not tried (time bound)", 0) + 1
                return
            try:
                ws = await websockets.connect(
                    url,
                    origin=CUSTOMER_ORIGIN,  # type: ignore[arg-type]
                    proxy=None,
                    compression=None,
                    ping_interval=None,  # daphne pings; the client answers
                    open_timeout=60,
                )
                await asyncio.wait_for(ws.recv(), 30)  # the history frame: fully admitted
                sockets.append(ws)
            except Exception as error:
                key = type(error).__name__
                errors[key] = errors.get(key, 0) + 1

    await asyncio.gather(*(one(url) for url in urls))
    return sockets, errors, time.monotonic() - started


async def run(
    args: argparse.Namespace, server: DaphneServer, redis: RedisServer, urls: list[str]
) -> None:
    server_pids = {"daphne": [server.pid], "redis": [redis.pid]}
    warm, _, _ = await open_sockets(urls[:1], concurrency=1, max_seconds=30)
    await asyncio.sleep(2)
    before = {name: rss(pids) for name, pids in server_pids.items()}

    sockets, errors, took = await open_sockets(
        urls, concurrency=args.open_concurrency, max_seconds=args.max_open_seconds
    )
    opened = len(sockets)
    print(
        f"opened {opened} of {len(urls)} sockets in {took:.1f}s ({opened / took:.0f}/s); errors {errors}"
    )
    await asyncio.sleep(3)
    after = {name: rss(pids) for name, pids in server_pids.items()}

    database_url = args.database_url
    meter = ProcessMeter({**server_pids, "postgres": lambda: backend_pids(database_url)})
    meter.start()
    t0 = time.monotonic()
    await asyncio.sleep(args.idle_seconds)
    usage = meter.stop()
    idle = time.monotonic() - t0
    still_open = sum(1 for ws in sockets if ws.state is websockets.protocol.State.OPEN)

    print()
    print(f"idle sockets: {opened} on one daphne process (+1 warm-up socket)")
    print(f"still open after {idle:.0f}s idle: {still_open}")
    for name in server_pids:
        grown = after[name] - before[name]
        per = grown / opened / 1024 if opened else float("nan")
        print(
            f"{name:8} RSS {mib(before[name]):7.1f} -> {mib(after[name]):7.1f} MiB, "
            f"{per:6.1f} KiB per connection"
        )
    for name, use in usage.items():
        print(
            f"{name:8} idle CPU {use.cpu_seconds:6.2f} s in {idle:.0f} s = {100 * use.cpu_seconds / idle:5.1f}% of a core"
        )
    print(f"load average at the end {os.getloadavg()}")

    async def close(ws: websockets.ClientConnection) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 5)

    gate = asyncio.Semaphore(500)

    async def bounded_close(ws: websockets.ClientConnection) -> None:
        async with gate:
            await close(ws)

    await asyncio.gather(*(bounded_close(ws) for ws in [*warm, *sockets]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--target", type=int, default=5000, help="idle sockets to open")
    parser.add_argument("--requests", type=int, default=500, help="requests they are spread over")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--open-concurrency", type=int, default=100)
    parser.add_argument("--max-open-seconds", type=float, default=300.0)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    args = parser.parse_args()
    if not (
        0 < args.target <= 20000 and 0 < args.requests <= args.target and args.idle_seconds <= 600
    ):
        raise SystemExit("--target 1..20000, --requests 1..target, --idle-seconds up to 600")
    require_local(args.database_url)
    limit = raise_fd_limit()
    if args.target * 2 + 200 > limit:
        # Client and server run on this machine: every connection costs two descriptors.
        raise SystemExit(f"fd limit {limit} is too low for {args.target} sockets")
    print(f"ws_idle: {args.target} sockets over {args.requests} requests; fd limit {limit}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)

    recreate_database(args.database_url)
    seeded = seed(args.database_url, requests=args.requests, join=False)
    handles = seeded["pairs"]
    redis = RedisServer().start()
    server = DaphneServer(env=handoff_env(args.database_url, redis.url), name="handoff-idle")
    try:
        server.start()
        urls = []
        for n in range(args.target):
            handle = handles[n % len(handles)]
            query = urllib.parse.urlencode({"token": handle["token"], "after": 0})
            urls.append(f"{server.ws_url}/human-support/ws/{handle['request_id']}?{query}")
        asyncio.run(run(args, server, redis, urls))
    finally:
        server.stop()
        redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
