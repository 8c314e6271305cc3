"""Live chat throughput and latency: Handoff against two baselines, in the same run.

N visitor/agent pairs. Visitors are on process A, agents on process B (so every message
crosses processes through Redis). Each visitor sends at a fixed rate for a fixed time,
open loop: sends are scheduled on a clock and never wait for replies, and latency is
measured from the *scheduled* send time, so a stalled server cannot hide its stall.
Every message carries its pair and sequence number; the agents count what arrives.

  B0  a plain `websockets` relay, one process (bench/baseline_ws_relay.py): the floor
  B1  a bare Channels consumer on two daphne processes and the same channels_redis layer,
      writing nothing (bench/baseline_channels.py)
  H   Handoff: two daphne processes, PostgreSQL (its own database, created and migrated
      here) and Redis, each message through services.message_post

    python bench/ws_chat.py [--pairs 200] [--rate 1] [--seconds 20]

Only 127.0.0.1 is used; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
import psycopg
import websockets

from bench.harness import (
    CUSTOMER_ORIGIN,
    DEFAULT_DATABASE_URL,
    DaphneServer,
    ProcessMeter,
    RedisServer,
    Usage,
    backend_pids,
    free_port,
    handoff_env,
    mib,
    percentile,
    raise_fd_limit,
    recreate_database,
    require_local,
    seed,
)
from tests.realtime.http import HttpClient
from tests.realtime.servers import PYTHON

CONNECT_CONCURRENCY = 50
DEFAULT_WS_MESSAGES_PER_SECOND = 1.0  # settings.WS_MESSAGES_PER_SECOND's default


@dataclass
class Target:
    name: str
    visitor_url: Callable[[int], str]
    agent_url: Callable[[int], str]
    visitor_origin: str | None
    agent_origin: str | None
    agent_headers: dict[str, str]
    meter_groups: Callable[[], dict[str, list[int] | Callable[[], list[int]]]]
    stored_client_ids: Callable[[], set[str]] | None = None


@dataclass
class Result:
    name: str
    pairs: int
    offered_per_second: float
    sent: int = 0
    acknowledged: int = 0  # the sender saw its own message come back (stored, for H)
    unanswered: int = 0  # neither echoed nor refused when the run ended: backlog
    delivered: int = 0
    duplicated: int = 0
    refused: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    stored: int | None = None
    lost: int = 0
    not_live: int = 0  # stored but never delivered live (a dropped broadcast; replayable)
    last_delivery: float = 0.0  # seconds from the first scheduled send
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    usage: dict[str, Usage] = field(default_factory=dict)
    late_sends: int = 0

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    def cpu_ms_per_message(self, group: str) -> float:
        usage = self.usage.get(group)
        if usage is None or not self.delivered:
            return float("nan")
        return usage.cpu_seconds * 1000 / self.delivered


# --- driving one target -----------------------------------------------------------------


async def _open(
    url: str, origin: str | None, headers: dict[str, str]
) -> websockets.ClientConnection:
    return await websockets.connect(
        url,
        origin=origin,  # type: ignore[arg-type]
        additional_headers=headers,
        proxy=None,
        compression=None,
        ping_interval=None,  # daphne pings; the client answers
        open_timeout=30,
        max_queue=None,
    )


async def drive(target: Target, *, pairs: int, rate: float, seconds: float, drain: float) -> Result:
    result = Result(name=target.name, pairs=pairs, offered_per_second=pairs * rate)
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(
        url: str, origin: str | None, headers: dict[str, str]
    ) -> websockets.ClientConnection | None:
        async with gate:
            try:
                return await _open(url, origin, headers)
            except Exception as error:  # counted, not raised: the run reports it
                result.errors[f"connect: {type(error).__name__}"] += 1
                return None

    agents = await asyncio.gather(
        *(
            connect(target.agent_url(i), target.agent_origin, target.agent_headers)
            for i in range(pairs)
        )
    )
    visitors = await asyncio.gather(
        *(connect(target.visitor_url(i), target.visitor_origin, {}) for i in range(pairs))
    )
    live = [i for i in range(pairs) if agents[i] is not None and visitors[i] is not None]

    sent: dict[int, int] = defaultdict(int)
    refused: set[str] = set()
    echoed: set[str] = set()
    seen: dict[int, set[int]] = defaultdict(set)
    t0 = 0.0
    loop = asyncio.get_running_loop()

    async def read_agent(i: int, ws: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") != "message" or frame["message"]["sender_type"] != "user":
                    continue
                try:
                    pair, seq, due = frame["message"]["text"].split(":")
                except ValueError:
                    continue  # the request's first message, not the benchmark's
                now = loop.time()
                if int(seq) in seen[int(pair)]:
                    result.duplicated += 1
                    continue
                seen[int(pair)].add(int(seq))
                result.delivered += 1
                result.latencies.append(now - float(due))
                result.last_delivery = now - t0
        if not stopping:
            result.errors["agent socket closed"] += 1

    async def read_visitor(ws: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "message" and frame["message"].get("client_id"):
                    echoed.add(frame["message"]["client_id"])
                elif frame.get("type") == "error":
                    result.errors[f"error frame: {frame.get('code')}"] += 1
                    if frame.get("client_id"):
                        refused.add(frame["client_id"])
        if not stopping:
            result.errors["visitor socket closed"] += 1

    async def send_open_loop(i: int, ws: websockets.ClientConnection, t0: float) -> None:
        interval = 1 / rate
        due = t0 + random.random() * interval
        seq = 0
        while due < t0 + seconds:
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -interval:
                result.late_sends += 1  # the client itself could not keep the schedule
            frame = {"type": "message", "text": f"{i}:{seq}:{due:.6f}", "client_id": f"b{i}-{seq}"}
            try:
                await ws.send(json.dumps(frame))
            except websockets.ConnectionClosed:
                return
            sent[i] += 1
            seq += 1
            due += interval

    stopping = False
    # `live` holds the pairs whose two sockets opened: none of theirs is None.
    readers = [
        asyncio.create_task(read_agent(i, cast(websockets.ClientConnection, agents[i])))
        for i in live
    ]
    readers += [
        asyncio.create_task(read_visitor(cast(websockets.ClientConnection, visitors[i])))
        for i in live
    ]
    await asyncio.sleep(1)  # settle: every socket joined its groups

    meter = ProcessMeter({**target.meter_groups(), "bench client": [psutil.Process().pid]})
    meter.start()
    t0 = loop.time() + 0.2  # read by read_agent through the closure
    started = time.monotonic()
    await asyncio.gather(
        *(send_open_loop(i, cast(websockets.ClientConnection, visitors[i]), t0) for i in live)
    )
    deadline = loop.time() + drain
    total_sent = sum(sent.values())
    while loop.time() < deadline and (
        result.delivered + len(refused) < total_sent or len(echoed) + len(refused) < total_sent
    ):
        await asyncio.sleep(0.05)
    result.elapsed = time.monotonic() - started
    result.usage = meter.stop()

    stopping = True
    for ws in [*agents, *visitors]:
        if ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)

    result.sent = total_sent
    result.refused = len(refused)
    result.acknowledged = len(echoed - refused)
    result.unanswered = total_sent - result.acknowledged - result.refused
    result.latencies.sort()
    delivered_ids = {f"b{pair}-{seq}" for pair, seqs in seen.items() for seq in seqs}
    if target.stored_client_ids is not None:
        stored = target.stored_client_ids()
        result.stored = len(stored)
        # An echo follows the commit: an acknowledged message must be in the database.
        result.lost = len((echoed - refused) - stored)
        result.not_live = len(stored - delivered_ids)
    else:
        # No database: what the sender saw echoed but the agent never got is gone.
        result.lost = len((echoed - refused) - delivered_ids)
    result.errors["pairs not connected"] += pairs - len(live)
    return result


# --- the three targets --------------------------------------------------------------------


@contextlib.contextmanager
def b0_relay() -> Iterator[Target]:
    port = free_port()
    process = psutil.Popen(
        [PYTHON, "bench/baseline_ws_relay.py", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        base = f"ws://127.0.0.1:{port}/relay"
        yield Target(
            name="B0 websockets relay (1 process)",
            visitor_url=lambda i: f"{base}/{i}?role=user",
            agent_url=lambda i: f"{base}/{i}?role=admin",
            visitor_origin=None,
            agent_origin=None,
            agent_headers={},
            meter_groups=lambda: {"server": [process.pid]},
        )
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def b1_channels(redis: RedisServer, extra_env: dict[str, str]) -> Iterator[Target]:
    env = {"REDIS_URL": redis.url, "LOG_LEVEL": "WARNING"}
    if "CHANNEL_CAPACITY" in extra_env:
        env["CHANNEL_CAPACITY"] = extra_env["CHANNEL_CAPACITY"]
    servers = [
        DaphneServer(env=env, application="bench.baseline_channels:application", name=f"B1-{n}")
        for n in "AB"
    ]
    try:
        for server in servers:
            server.start()
        a, b = servers
        yield Target(
            name="B1 bare Channels relay (2 daphne, Redis)",
            visitor_url=lambda i: f"{a.ws_url}/relay/{i}?role=user",
            agent_url=lambda i: f"{b.ws_url}/relay/{i}?role=admin",
            visitor_origin=None,
            agent_origin=None,
            agent_headers={},
            meter_groups=lambda: {"daphne": [a.pid, b.pid], "redis": [redis.pid]},
        )
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def handoff(
    redis: RedisServer, database_url: str, *, pairs: int, rate: float, extra_env: dict[str, str]
) -> Iterator[Target]:
    print(
        f"  creating and migrating {urllib.parse.urlsplit(database_url).path[1:]} ...", flush=True
    )
    recreate_database(database_url)
    seeded = seed(database_url, requests=pairs, join=True)
    env = handoff_env(database_url, redis.url, **extra_env)
    servers = [DaphneServer(env=env, name=f"handoff-{n}") for n in "AB"]
    try:
        for server in servers:
            server.start()
        a, b = servers
        agent = HttpClient(base_url=b.url)
        agent.login(seeded["agent"]["username"], seeded["agent"]["password"])
        handles = seeded["pairs"]

        def visitor_url(i: int) -> str:
            query = urllib.parse.urlencode({"token": handles[i]["token"]})
            return f"{a.ws_url}/human-support/ws/{handles[i]['request_id']}?{query}"

        def stored() -> set[str]:
            with psycopg.connect(database_url) as conn:
                rows = conn.execute(
                    "SELECT client_id FROM human_support_messages WHERE client_id LIKE 'b%%'"
                ).fetchall()
            return {row[0] for row in rows}

        yield Target(
            name="H Handoff (2 daphne, Redis, PostgreSQL)",
            visitor_url=visitor_url,
            agent_url=lambda i: f"{b.ws_url}/human-support/ws/{handles[i]['request_id']}",
            visitor_origin=CUSTOMER_ORIGIN,
            agent_origin=b.origin,
            agent_headers={"Cookie": agent.cookie_header()},
            meter_groups=lambda: {
                "daphne": [a.pid, b.pid],
                "redis": [redis.pid],
                "postgres": lambda: backend_pids(database_url),
            },
            stored_client_ids=stored,
        )
    finally:
        for server in servers:
            server.stop()


def _wait_http(url: str, timeout: float = 30) -> None:
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), opener.open(url, timeout=1) as answer:
            if answer.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


# --- report ---------------------------------------------------------------------------------


def report(results: list[Result], *, seconds: float) -> None:
    print()
    header = (
        f"{'target':42} {'msg/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'sent':>6} "
        f"{'acked':>6} {'unans':>6} {'deliv':>6} {'err':>4} {'lost':>4} {'dup':>4} {'notlive':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:42} {r.delivered / max(r.last_delivery, seconds):7.1f} {r.p(0.5):8.1f} "
            f"{r.p(0.95):8.1f} {r.p(0.99):8.1f} {r.sent:6d} {r.acknowledged:6d} "
            f"{r.unanswered:6d} {r.delivered:6d} {sum(r.errors.values()):4d} {r.lost:4d} "
            f"{r.duplicated:4d} {r.not_live:7d}"
        )
    print(
        "msg/s: delivered to agents per second; acked: echoed back to the sender; unans: "
        "neither echoed nor refused at the end (backlog, the client would resend);\n"
        "lost: acknowledged but not stored (H) / not delivered (B0, B1); notlive: stored "
        "but not delivered live (a dropped broadcast, recovered by ?after= replay)"
    )
    print()
    print(
        f"{'target':42} {'process':14} {'CPU s':>7} {'cores':>6} {'CPU ms/msg':>10} {'RSS MiB':>8}"
    )
    for r in results:
        for group, usage in r.usage.items():
            print(
                f"{r.name:42} {group:14} {usage.cpu_seconds:7.2f} "
                f"{usage.cpu_seconds / r.elapsed:6.2f} {r.cpu_ms_per_message(group):10.3f} "
                f"{mib(usage.rss_bytes):8.1f}"
            )
    for r in results:
        problems = {k: v for k, v in r.errors.items() if v}
        if problems or r.late_sends:
            print(f"{r.name}: errors {problems}, late sends by the client {r.late_sends}")
    by_name = {r.name[:2]: r for r in results}
    h, b1 = by_name.get("H "), by_name.get("B1")
    if h and b1:
        print()
        print("Handoff / B1:")
        for label, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            print(f"  latency {label:4} x{h.p(fraction) / b1.p(fraction):.2f}")
        print(
            f"  daphne CPU per message x"
            f"{h.cpu_ms_per_message('daphne') / b1.cpu_ms_per_message('daphne'):.2f}"
        )
        print(f"  daphne RSS x{h.usage['daphne'].rss_bytes / b1.usage['daphne'].rss_bytes:.2f}")
        print(f"  delivered messages x{h.delivered / max(b1.delivered, 1):.2f}")
    if h:
        verdict = "OK" if h.lost == 0 and h.duplicated == 0 else "FAILED"
        print(
            f"\nHandoff: {h.sent} sent, {h.acknowledged} acknowledged, {h.stored} stored, "
            f"lost {h.lost}, duplicated {h.duplicated}, not delivered live {h.not_live} "
            f"(replayable with ?after=), backlog {h.unanswered}: {verdict}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per visitor")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--drain", type=float, default=60.0, help="max wait for the backlog after sending"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--targets", default="b0,b1,h", help="comma-separated: b0, b1, h")
    parser.add_argument(
        "--channel-capacity", type=int, default=None, help="CHANNEL_CAPACITY for B1 and H"
    )
    args = parser.parse_args()
    if not (
        0 < args.pairs <= 5000
        and 0 < args.rate <= 50
        and 0 < args.seconds <= 600
        and args.drain <= 600
    ):
        raise SystemExit("--pairs 1..5000, --rate up to 50/s, --seconds up to 600")
    require_local(args.database_url)
    raise_fd_limit()

    # Every simulated visitor comes from 127.0.0.1, and a visitor's socket messages count
    # against the HTTP message limits (per IP and per session): lift them, or the run
    # would measure the rate limiter. Each visitor's own socket budget still applies.
    per_minute = int(args.pairs * args.rate * 60 * 2) + 60
    extra_env: dict[str, str] = {
        "RATE_VISITOR_MESSAGE_IP": f"{per_minute}/min",
        "RATE_VISITOR_MESSAGE_SESSION": f"{int(args.rate * 60 * 2) + 60}/min",
    }
    if args.rate > DEFAULT_WS_MESSAGES_PER_SECOND:
        # The consumer's per-socket limit (support/realtime/limits.py) would refuse the excess.
        extra_env["WS_MESSAGES_PER_SECOND"] = str(args.rate * 1.5)
    if args.channel_capacity:
        extra_env["CHANNEL_CAPACITY"] = str(args.channel_capacity)
    wanted = set(args.targets.split(","))
    print(
        f"ws_chat: {args.pairs} pairs x {args.rate}/s for {args.seconds}s "
        f"(offered {args.pairs * args.rate:.0f} msg/s); server env {extra_env}",
        flush=True,
    )

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
    results = []
    redis = RedisServer().start()
    try:
        runs: list[tuple[str, Callable[[], contextlib.AbstractContextManager[Target]]]] = [
            ("b0", b0_relay),
            ("b1", lambda: b1_channels(redis, extra_env)),
            (
                "h",
                lambda: handoff(
                    redis, args.database_url, pairs=args.pairs, rate=args.rate, extra_env=extra_env
                ),
            ),
        ]
        for key, make in runs:
            if key not in wanted:
                continue
            with make() as target:
                print(f"running {target.name} ...", flush=True)
                results.append(
                    asyncio.run(
                        drive(
                            target,
                            pairs=args.pairs,
                            rate=args.rate,
                            seconds=args.seconds,
                            drain=args.drain,
                        )
                    )
                )
    finally:
        redis.stop()
    report(results, seconds=args.seconds)
    print(f"load average at the end {os.getloadavg()}")
    failed = any(r.lost or r.duplicated for r in results if r.name.startswith("H"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
