"""Live chat throughput and latency: Handoff against two baselines, in the same run.

N visitor/agent pairs. Visitors are on process A, agents on process B (so every message
crosses processes through Redis). Each visitor sends at a fixed rate for a fixed time,
open loop: sends are scheduled on a clock and never wait for replies, and latency is
measured from the *scheduled* send time, so a stalled server cannot hide its stall.
Every message carries its phase, pair, sequence number and scheduled time; the agents
count what arrives.

  B0  a plain `websockets` relay, one process (bench/baseline_ws_relay.py): the floor
  B1  a bare Channels consumer on two daphne processes and the same channels_redis layer,
      writing nothing (bench/baseline_channels.py)
  H   Handoff: two daphne processes, PostgreSQL (its own database, created and migrated
      here) and Redis, each message through services.message_post

    python bench/ws_chat.py [--pairs 200] [--rate 1] [--seconds 20] [--layer core|pubsub]

--console-readers N adds N agents reading console pages (the queue, conversations) in a
loop on both of Handoff's processes during the run, and prints their page latency: the
console's HTTP views and the live path share each process.

--ramp steps the total offered rate up (--steps, --step-seconds each) until a step is not
held (delivered < 95 % of offered, or p99 > 250 ms), for B1 and H, prints the highest
step each held and their ratio, then runs an overload step at twice Handoff's highest
held step (on H, and on B1 as the baseline):

    python bench/ws_chat.py --ramp [--steps 50,100,150,...] [--step-seconds 10]

A server that sheds load answers a message frame at once with
`{"type": "error", "code": "busy", "retry_after_ms": N, "client_id": ...}` and stores
nothing; the client then resends the same frame (same client_id) after N ms, as the
widget does. The message counts as delivered when it reaches the agent, its latency
still from its first scheduled time. A server that never sends `busy` reports 0
refusals.

Only 127.0.0.1 is used; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
import psycopg
import websockets

from bench.harness import (
    CUSTOMER_ORIGIN,
    DEFAULT_DATABASE_URL,
    LAYER_KINDS,
    DaphneServer,
    ProcessMeter,
    RedisServer,
    Usage,
    backend_pids,
    free_port,
    handoff_env,
    layer_env,
    lifted_message_limits,
    load_average,
    mib,
    percentile,
    raise_fd_limit,
    recreate_database,
    require_local,
    seed,
)
from tests.servers import PYTHON
from tests.support.realtime.processes.http import HttpClient

CONNECT_CONCURRENCY = 50
DEFAULT_WS_MESSAGES_PER_SECOND = 1.0  # settings.WS_MESSAGES_PER_SECOND's default
DEFAULT_STEPS = "50,100,150,200,300,400,600,800,1000,1200,1600,2000,2400,3200"
DEFAULT_RETRY_AFTER_MS = 1000  # a `busy` frame without a usable retry_after_ms
LATE_SENDS_WARNING = 0.01  # a step where the client itself fell behind on 1 % of sends


@dataclass
class Target:
    name: str
    visitor_url: Callable[[int], str]
    agent_url: Callable[[int], str]
    visitor_origin: str | None
    agent_origin: str | None
    agent_headers: dict[str, str]
    meter_groups: Callable[[], dict[str, list[int] | Callable[[], list[int]]]]
    # client_ids stored in the database starting with a prefix (H only)
    stored_client_ids: Callable[[str], set[str]] | None = None
    # console pages an agent reads during the run (--console-readers; H only)
    console_pages: list[tuple[HttpClient, str]] = field(default_factory=list)


@dataclass
class Phase:
    """One sending window at one total offered rate, and everything measured for it."""

    target: str
    key: int  # in every client_id (`b{key}-{pair}-{seq}`) and text of this phase
    label: str
    offered_per_second: float
    seconds: float
    t0: float = 0.0
    accepting_retries: bool = True
    scheduled: int = 0  # messages whose first send was due in the window
    sent: int = 0  # of which the first send went out (the socket was open)
    resends: int = 0  # frames sent again after a `busy` refusal
    echoed: set[str] = field(default_factory=set)  # came back to their sender (stored, for H)
    rejected: set[str] = field(default_factory=set)  # refused for good (an error other than busy)
    refusals: int = 0  # `busy` frames received
    refused_ids: set[str] = field(default_factory=set)  # messages refused busy at least once
    abandoned: set[str] = field(default_factory=set)  # refused busy after the phase's drain
    refusal_latencies: list[float] = field(default_factory=list)  # send -> busy frame
    frames: dict[str, tuple[int, str]] = field(default_factory=dict)  # client_id -> (pair, frame)
    last_send: dict[str, float] = field(default_factory=dict)
    latency_by_id: dict[str, float] = field(default_factory=dict)  # first delivery, from due
    duplicated: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    last_delivery: float = 0.0  # seconds from t0
    stored: int | None = None
    lost: int = 0
    not_live: int = 0
    elapsed: float = 0.0
    usage: dict[str, Usage] = field(default_factory=dict)
    late_sends: int = 0
    latencies: list[float] = field(default_factory=list)  # sorted at the end
    first_try_latencies: list[float] = field(default_factory=list)  # never refused busy
    # Counts as of the end of the phase (what the step is judged and reported on); a late
    # delivery still updates latency_by_id, which `lost` and `dup` are computed from.
    end_delivered: int | None = None
    end_acknowledged: int | None = None
    end_last_delivery: float | None = None

    @property
    def prefix(self) -> str:
        return f"b{self.key}-"

    @property
    def delivered(self) -> int:
        if self.end_delivered is not None:
            return self.end_delivered
        return len(self.latency_by_id)

    @property
    def acknowledged(self) -> int:
        if self.end_acknowledged is not None:
            return self.end_acknowledged
        return len(self.echoed - self.rejected)

    @property
    def unanswered(self) -> int:
        """Neither echoed nor rejected when the phase ended: a backlog (a client resends)."""
        return max(0, self.scheduled - self.acknowledged - len(self.rejected))

    @property
    def goodput(self) -> float:
        last = self.last_delivery if self.end_last_delivery is None else self.end_last_delivery
        return self.delivered / max(last, self.seconds)

    @property
    def delivered_fraction(self) -> float:
        return self.delivered / self.scheduled if self.scheduled else 0.0

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    def p_first_try(self, fraction: float) -> float:
        return percentile(self.first_try_latencies, fraction) * 1000

    def p_refusal(self, fraction: float) -> float:
        return percentile(self.refusal_latencies, fraction) * 1000

    def held(self, *, min_delivered: float, max_p99_ms: float) -> bool:
        return (
            self.scheduled > 0
            and self.delivered_fraction >= min_delivered
            and self.p(0.99) <= max_p99_ms
        )

    def client_late(self) -> bool:
        return self.late_sends > LATE_SENDS_WARNING * max(self.scheduled, 1)

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


def _retry_delay(frame: dict[str, object]) -> float:
    value = frame.get("retry_after_ms")
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return float(value) / 1000
    return DEFAULT_RETRY_AFTER_MS / 1000


class Driver:
    """The pairs' sockets of one target, kept open across phases (ramp steps)."""

    def __init__(self, target: Target, pairs: int) -> None:
        self.target = target
        self.pairs = pairs
        self.agents: list[websockets.ClientConnection | None] = []
        self.visitors: list[websockets.ClientConnection | None] = []
        self.live: list[int] = []
        self.phases: dict[int, Phase] = {}
        self.current: Phase | None = None
        self.connect_errors: Counter[str] = Counter()
        self.stopping = False
        self.readers: list[asyncio.Task[None]] = []
        self.resend_tasks: set[asyncio.Task[None]] = set()
        self.loop = asyncio.get_running_loop()

    # --- sockets ----------------------------------------------------------------------------

    async def connect(self) -> None:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one(
            url: str, origin: str | None, headers: dict[str, str]
        ) -> websockets.ClientConnection | None:
            async with gate:
                try:
                    return await _open(url, origin, headers)
                except Exception as error:  # counted, not raised: the run reports it
                    self.connect_errors[f"connect: {type(error).__name__}"] += 1
                    return None

        t = self.target
        self.agents = await asyncio.gather(
            *(one(t.agent_url(i), t.agent_origin, t.agent_headers) for i in range(self.pairs))
        )
        self.visitors = await asyncio.gather(
            *(one(t.visitor_url(i), t.visitor_origin, {}) for i in range(self.pairs))
        )
        self.live = [
            i
            for i in range(self.pairs)
            if self.agents[i] is not None and self.visitors[i] is not None
        ]
        if len(self.live) < self.pairs:
            self.connect_errors["pairs not connected"] += self.pairs - len(self.live)
        self.readers = [
            asyncio.create_task(self.read_agent(self.agents[i]))  # type: ignore[arg-type]
            for i in self.live
        ]
        self.readers += [
            asyncio.create_task(self.read_visitor(self.visitors[i]))  # type: ignore[arg-type]
            for i in self.live
        ]
        await asyncio.sleep(1)  # settle: every socket joined its groups

    async def close(self) -> None:
        self.stopping = True
        for task in self.resend_tasks:
            task.cancel()
        for ws in [*self.agents, *self.visitors]:
            if ws is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(ws.close(), 5)
        for reader in self.readers:
            reader.cancel()
        await asyncio.gather(*self.readers, *self.resend_tasks, return_exceptions=True)

    def _phase_of(self, client_id: object) -> Phase | None:
        if not isinstance(client_id, str) or not client_id.startswith("b"):
            return None
        key, _, _ = client_id[1:].partition("-")
        return self.phases.get(int(key)) if key.isdigit() else None

    def _error(self, what: str) -> None:
        if self.current is not None and not self.stopping:
            self.current.errors[what] += 1

    async def read_agent(self, ws: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") != "message" or frame["message"]["sender_type"] != "user":
                    continue
                try:
                    key, pair, seq, due = frame["message"]["text"].split(":")
                    phase = self.phases[int(key)]
                except (ValueError, KeyError):
                    continue  # the request's first message, not the benchmark's
                now = self.loop.time()
                client_id = f"b{key}-{pair}-{seq}"
                if client_id in phase.latency_by_id:
                    phase.duplicated += 1
                    continue
                phase.latency_by_id[client_id] = now - float(due)
                phase.last_delivery = max(phase.last_delivery, now - phase.t0)
        self._error("agent socket closed")

    async def read_visitor(self, ws: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    client_id = frame["message"].get("client_id")
                    phase = self._phase_of(client_id)
                    if phase is not None:
                        phase.echoed.add(client_id)
                elif kind == "error":
                    self.on_error_frame(ws, frame)
        self._error("visitor socket closed")

    def on_error_frame(self, ws: websockets.ClientConnection, frame: dict[str, object]) -> None:
        code = frame.get("code")
        client_id = frame.get("client_id")
        phase = self._phase_of(client_id)
        if phase is None or not isinstance(client_id, str):
            self._error(f"error frame without client_id: {code}")
            return
        if code != "busy":
            phase.errors[f"error frame: {code}"] += 1
            phase.rejected.add(client_id)
            return
        now = self.loop.time()
        phase.refusals += 1
        phase.refused_ids.add(client_id)
        if client_id in phase.last_send:
            phase.refusal_latencies.append(now - phase.last_send[client_id])
        if phase.accepting_retries:
            self.loop.call_later(_retry_delay(frame), self._spawn_resend, phase, client_id, ws)
        else:
            phase.abandoned.add(client_id)  # the run has moved on: not resent

    def _spawn_resend(self, phase: Phase, client_id: str, ws: websockets.ClientConnection) -> None:
        if not phase.accepting_retries or self.stopping:
            phase.abandoned.add(client_id)
            return
        task = asyncio.create_task(self._resend(phase, client_id, ws))
        self.resend_tasks.add(task)
        task.add_done_callback(self.resend_tasks.discard)

    async def _resend(self, phase: Phase, client_id: str, ws: websockets.ClientConnection) -> None:
        """The same frame, the same client_id: the server stores it at most once."""
        _, frame = phase.frames[client_id]
        phase.last_send[client_id] = self.loop.time()
        phase.resends += 1
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(frame)

    # --- one phase ----------------------------------------------------------------------------

    async def send_open_loop(self, phase: Phase, i: int, rate: float) -> None:
        ws = self.visitors[i]
        assert ws is not None
        interval = 1 / rate
        due = phase.t0 + random.random() * interval
        seq = 0
        socket_open = True
        while due < phase.t0 + phase.seconds:
            delay = due - self.loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -interval:
                phase.late_sends += 1  # the client itself could not keep the schedule
            client_id = f"{phase.prefix}{i}-{seq}"
            text = f"{phase.key}:{i}:{seq}:{due:.6f}"
            frame = json.dumps({"type": "message", "text": text, "client_id": client_id})
            phase.scheduled += 1
            if socket_open:
                phase.frames[client_id] = (i, frame)
                phase.last_send[client_id] = self.loop.time()
                try:
                    await ws.send(frame)
                    phase.sent += 1
                except websockets.ConnectionClosed:
                    socket_open = False
            seq += 1
            due += interval

    def answered(self, phase: Phase) -> bool:
        """Every message sent delivered and echoed, or rejected for good, or refused busy
        and no longer resent (the phase is over). Live counts, not the phase's frozen ones."""
        given_up = len(phase.rejected | (phase.abandoned - phase.echoed))
        return (
            len(phase.latency_by_id) + given_up >= phase.sent
            and len(phase.echoed) + given_up >= phase.sent
        )

    async def quiesce(self, timeout: float) -> None:
        """Wait (up to `timeout`) until the earlier phases' backlogs have been answered."""
        deadline = self.loop.time() + timeout
        while self.loop.time() < deadline and not all(
            self.answered(p) for p in self.phases.values()
        ):
            await asyncio.sleep(0.1)

    async def run_phase(
        self, *, label: str, total_rate: float, seconds: float, drain: float
    ) -> Phase:
        key = len(self.phases) + 1
        phase = Phase(
            target=self.target.name,
            key=key,
            label=label,
            offered_per_second=total_rate,
            seconds=seconds,
        )
        self.phases[key] = phase
        self.current = phase
        if not self.live:
            phase.errors["no pair connected"] += 1
            return phase
        per_visitor = total_rate / len(self.live)
        meter = ProcessMeter({**self.target.meter_groups(), "bench client": [psutil.Process().pid]})
        meter.start()
        phase.t0 = self.loop.time() + 0.2
        started = time.monotonic()
        await asyncio.gather(*(self.send_open_loop(phase, i, per_visitor) for i in self.live))
        deadline = self.loop.time() + drain
        while self.loop.time() < deadline and not self.answered(phase):
            await asyncio.sleep(0.05)
        phase.accepting_retries = False  # resends already under way still count
        phase.elapsed = time.monotonic() - started
        phase.usage = meter.stop()
        self.finish(phase)
        return phase

    def finish(self, phase: Phase) -> None:
        """Freeze what the phase is judged on: deliveries and echoes until its drain ended."""
        phase.latencies = sorted(phase.latency_by_id.values())
        phase.first_try_latencies = sorted(
            latency
            for client_id, latency in phase.latency_by_id.items()
            if client_id not in phase.refused_ids
        )
        phase.end_delivered = len(phase.latencies)
        phase.end_acknowledged = len(phase.echoed - phase.rejected)
        phase.end_last_delivery = phase.last_delivery

    def account(self, phase: Phase) -> None:
        """Lost and not delivered live, from everything received so far (call it last,
        after a quiesce: a delivery still on its way is late, not lost)."""
        delivered_ids = set(phase.latency_by_id)
        acknowledged = phase.echoed - phase.rejected
        if self.target.stored_client_ids is not None:
            stored = self.target.stored_client_ids(phase.prefix)
            phase.stored = len(stored)
            # An echo follows the commit: an acknowledged message must be in the database.
            phase.lost = len(acknowledged - stored)
            phase.not_live = len(stored - delivered_ids)
        else:
            # No database: what the sender saw echoed but the agent never got is gone.
            phase.lost = len(acknowledged - delivered_ids)


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
    for name in ("CHANNEL_CAPACITY", "CHANNEL_LAYER_KIND"):
        if name in extra_env:
            env[name] = extra_env[name]
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
    redis: RedisServer, database_url: str, *, pairs: int, extra_env: dict[str, str]
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

        def stored(prefix: str) -> set[str]:
            with psycopg.connect(database_url) as conn:
                rows = conn.execute(
                    "SELECT client_id FROM human_support_messages WHERE client_id LIKE %s",
                    (prefix + "%",),
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
            # The queue page and a few conversations, on both processes: the console's
            # views share each process with the live path.
            console_pages=[
                (agent.with_base(server.url), path)
                for server in servers
                for path in [
                    "/console/",
                    *(f"/console/requests/{h['request_id']}/" for h in handles[:5]),
                ]
            ],
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


def _problems(phase: Phase) -> str:
    problems = {k: v for k, v in phase.errors.items() if v}
    parts = []
    if problems:
        parts.append(f"errors {problems}")
    if phase.late_sends:
        parts.append(f"late sends by the client {phase.late_sends}")
    return ", ".join(parts)


def report(phases: list[Phase]) -> None:
    print()
    header = (
        f"{'target':42} {'msg/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'sent':>6} "
        f"{'acked':>6} {'unans':>6} {'deliv':>6} {'busy':>5} {'err':>4} {'lost':>4} "
        f"{'dup':>4} {'notlive':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in phases:
        print(
            f"{r.target:42} {r.goodput:7.1f} {r.p(0.5):8.1f} "
            f"{r.p(0.95):8.1f} {r.p(0.99):8.1f} {r.sent:6d} {r.acknowledged:6d} "
            f"{r.unanswered:6d} {r.delivered:6d} {r.refusals:5d} {sum(r.errors.values()):4d} "
            f"{r.lost:4d} {r.duplicated:4d} {r.not_live:7d}"
        )
    print(
        "msg/s: delivered to agents per second; acked: echoed back to the sender; unans: "
        "neither echoed nor refused at the end (backlog, the client would resend);\n"
        "busy: `busy` refusals (each resent with its client_id); lost: acknowledged but not "
        "stored (H) / not delivered (B0, B1); notlive: stored but not delivered live\n"
        "(a dropped broadcast, recovered by ?after= replay)"
    )
    print_usage(phases)
    for r in phases:
        if problems := _problems(r):
            print(f"{r.target}: {problems}")
    by_name = {r.target[:2]: r for r in phases}
    h, b1 = by_name.get("H "), by_name.get("B1")
    if h and b1:
        print()
        print("Handoff / B1:")
        for label, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            print(f"  latency {label:4} x{_ratio(h.p(fraction), b1.p(fraction))}")
        print(
            f"  daphne CPU per message x"
            f"{_ratio(h.cpu_ms_per_message('daphne'), b1.cpu_ms_per_message('daphne'))}"
        )
        print(f"  daphne RSS x{_ratio(h.usage['daphne'].rss_bytes, b1.usage['daphne'].rss_bytes)}")
        print(f"  delivered messages x{_ratio(h.delivered, b1.delivered)}")
    if h:
        print_verdict(h)


def print_usage(phases: list[Phase]) -> None:
    print()
    print(
        f"{'target':42} {'phase':>9} {'process':14} {'CPU s':>7} {'cores':>6} "
        f"{'CPU ms/msg':>10} {'RSS MiB':>8}"
    )
    for r in phases:
        for group, usage in r.usage.items():
            print(
                f"{r.target:42} {r.label:>9} {group:14} {usage.cpu_seconds:7.2f} "
                f"{usage.cpu_seconds / max(r.elapsed, 1e-9):6.2f} "
                f"{r.cpu_ms_per_message(group):10.3f} {mib(usage.rss_bytes):8.1f}"
            )


def print_verdict(h: Phase) -> None:
    verdict = "OK" if h.lost == 0 and h.duplicated == 0 else "FAILED"
    print(
        f"\nHandoff ({h.label}): {h.sent} sent, {h.acknowledged} acknowledged, {h.stored} "
        f"stored, lost {h.lost}, duplicated {h.duplicated}, not delivered live {h.not_live} "
        f"(replayable with ?after=), refused busy {h.refusals}, backlog {h.unanswered}: "
        f"{verdict}"
    )


def _ratio(a: float, b: float) -> str:
    if not b or math.isnan(a) or math.isnan(b):
        return "n/a"
    return f"{a / b:.2f}"


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def report_ramp(
    ramps: dict[str, list[Phase]],
    overloads: list[Phase],
    *,
    min_delivered: float,
    max_p99_ms: float,
    overload_factor: float = 2.0,
) -> None:
    names = list(ramps)
    rates = sorted({p.offered_per_second for steps in ramps.values() for p in steps})
    print()
    print(
        f"Ramp: a step is held when delivered >= {min_delivered:.0%} of offered and "
        f"p99 <= {max_p99_ms:g} ms (latency from the scheduled send time)"
    )
    line = f"{'offered':>8}"
    for name in names:
        line += f" | {name[:2].strip():>3} {'deliv%':>7} {'p50 ms':>8} {'p99 ms':>8} {'held':>5}"
    print(line)
    print("-" * len(line))
    for rate in rates:
        line = f"{rate:8g}"
        for name in names:
            step = next((p for p in ramps[name] if p.offered_per_second == rate), None)
            if step is None:
                line += f" | {'':>3} {'-':>7} {'-':>8} {'-':>8} {'-':>5}"
                continue
            mark = "yes" if step.held(min_delivered=min_delivered, max_p99_ms=max_p99_ms) else "NO"
            if step.client_late():
                mark += "*"
            line += (
                f" | {'':>3} {100 * step.delivered_fraction:7.1f} {_ms(step.p(0.5)):>8} "
                f"{_ms(step.p(0.99)):>8} {mark:>5}"
            )
        print(line)
    if any(p.client_late() for steps in ramps.values() for p in steps):
        print(
            f"* the bench client fell behind its own schedule on more than "
            f"{LATE_SENDS_WARNING:.0%} of that step's sends: the step measures the client too"
        )
    for steps in ramps.values():
        for step in steps:
            if problems := _problems(step):
                print(f"{step.target} at {step.label} msg/s: {problems}")
    held = {
        name: highest_held(steps, min_delivered=min_delivered, max_p99_ms=max_p99_ms)
        for name, steps in ramps.items()
    }
    print()
    print("Highest step held (msg/s offered in total):")
    for name, steps in ramps.items():
        top = held[name]
        capped = (
            top is not None
            and top == max(p.offered_per_second for p in steps)
            and all(p.held(min_delivered=min_delivered, max_p99_ms=max_p99_ms) for p in steps)
        )
        shown = (
            "none"
            if top is None
            else f"{top:g}" + (" (every step held: at least)" if capped else "")
        )
        print(f"  {name:42} {shown}")
    h = next((n for n in names if n.startswith("H ")), None)
    b1 = next((n for n in names if n.startswith("B1")), None)
    if h and b1:
        print(f"  Handoff / B1: x{_ratio(held[h] or 0.0, held[b1] or 0.0)}")

    if overloads:
        print()
        print(
            f"Overload step: {overloads[0].offered_per_second:g} msg/s offered for "
            f"{overloads[0].seconds:g} s ({overload_factor:g} x Handoff's highest held step, "
            "or the first step if none was held)"
        )
        header = (
            f"{'target':42} {'goodput':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99 1st':>8} "
            f"{'refused':>7} {'msgs':>5} {'ref p50':>8} {'ref p99':>8} {'resent':>6} "
            f"{'unans':>6} {'lost':>4} {'dup':>4} {'notlive':>7}"
        )
        print(header)
        print("-" * len(header))
        for o in overloads:
            print(
                f"{o.target:42} {o.goodput:8.1f} {_ms(o.p(0.5)):>8} {_ms(o.p(0.99)):>8} "
                f"{_ms(o.p_first_try(0.99)):>8} {o.refusals:7d} {len(o.refused_ids):5d} "
                f"{_ms(o.p_refusal(0.5)):>8} {_ms(o.p_refusal(0.99)):>8} {o.resends:6d} "
                f"{o.unanswered:6d} {o.lost:4d} {o.duplicated:4d} {o.not_live:7d}"
            )
        print(
            "goodput: messages delivered to agents per second; p50/p99: of every delivered "
            "message, resends included, from its first scheduled time;\n"
            "p99 1st: of the messages accepted at the first send; refused: `busy` frames "
            "(msgs: distinct messages); ref p50/p99: from a send to its `busy` frame;\n"
            "resent: frames sent again after retry_after_ms; lost: acknowledged but not "
            "stored (H) / not delivered (B1); dup: delivered twice to an agent"
        )
        for o in overloads:
            if problems := _problems(o):
                print(f"{o.target} overload: {problems}")
    all_phases = [p for steps in ramps.values() for p in steps] + overloads
    print_usage(all_phases)
    for o in overloads:
        if o.target.startswith("H "):
            print_verdict(o)


def highest_held(steps: list[Phase], *, min_delivered: float, max_p99_ms: float) -> float | None:
    top = None
    for step in steps:
        if not step.held(min_delivered=min_delivered, max_p99_ms=max_p99_ms):
            break
        top = step.offered_per_second
    return top


# --- main -------------------------------------------------------------------------------------


def parse_steps(text: str) -> list[float]:
    try:
        steps = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SystemExit("--steps: comma-separated numbers (msg/s in total)") from None
    if not steps or any(s <= 0 for s in steps) or steps != sorted(steps):
        raise SystemExit("--steps: positive and increasing")
    return steps


def server_env(args: argparse.Namespace, steps: list[float]) -> dict[str, str]:
    """The limits lifted so that a run measures the chat and not the limiters."""
    if args.ramp:
        peak_total = steps[-1] * args.overload_factor
        peak_per_visitor = peak_total / args.pairs
        # Resends after `busy` come on top of the schedule: twice the peak per socket.
        ws_limit = max(DEFAULT_WS_MESSAGES_PER_SECOND, 2 * peak_per_visitor)
    else:
        peak_total = args.pairs * args.rate
        peak_per_visitor = args.rate
        ws_limit = args.rate * 1.5 if args.rate > DEFAULT_WS_MESSAGES_PER_SECOND else None
    # Every simulated visitor comes from 127.0.0.1, and a visitor's socket messages count
    # against the HTTP message limits (per IP and per session): lift them, or the run
    # would measure the rate limiter. Each visitor's own socket budget still applies.
    env = lifted_message_limits(
        total_per_second=peak_total, per_visitor_per_second=peak_per_visitor
    )
    if ws_limit is not None:
        # The consumer's per-socket limit (support/realtime/limits.py) would refuse the excess.
        env["WS_MESSAGES_PER_SECOND"] = f"{ws_limit:g}"
    if args.channel_capacity:
        env["CHANNEL_CAPACITY"] = str(args.channel_capacity)
    env.update(layer_env(args.layer))
    return env


@dataclass
class ConsoleReads:
    """Console pages read by agents while the chat runs (--console-readers)."""

    readers: int
    latencies: list[float] = field(default_factory=list)  # ms
    failures: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def read_until(
        self, stop: threading.Event, pages: list[tuple[HttpClient, str]], n: int
    ) -> None:
        k = n
        while not stop.is_set():
            client, path = pages[k % len(pages)]
            k += self.readers
            started = time.perf_counter()
            try:
                answer = client.get(path)
            except OSError as error:
                self.failures[type(error).__name__] += 1
                continue
            if answer.status == 200:
                self.latencies.append((time.perf_counter() - started) * 1000)
            else:
                self.failures[str(answer.status)] += 1

    def report(self) -> None:
        done = sorted(self.latencies)
        print(
            f"\nconsole pages read during the run: {self.readers} agents in a loop, "
            f"{len(done) / max(self.seconds, 1e-9):.1f} pages/s, "
            f"p50 {percentile(done, 0.5):.1f} ms, p99 {percentile(done, 0.99):.1f} ms, "
            f"failed {dict(self.failures) or 0}"
        )


async def run_single(target: Target, args: argparse.Namespace) -> Phase:
    driver = Driver(target, args.pairs)
    await driver.connect()
    console = ConsoleReads(readers=args.console_readers)
    stop = threading.Event()
    readers = [
        threading.Thread(target=console.read_until, args=(stop, target.console_pages, n))
        for n in range(args.console_readers if target.console_pages else 0)
    ]
    try:
        started = time.monotonic()
        for reader in readers:
            reader.start()
        phase = await driver.run_phase(
            label="fixed",
            total_rate=len(driver.live) * args.rate if driver.live else args.pairs * args.rate,
            seconds=args.seconds,
            drain=args.drain,
        )
        phase.errors.update(driver.connect_errors)
        driver.account(phase)
        return phase
    finally:
        stop.set()
        for reader in readers:
            await asyncio.to_thread(reader.join)
        if readers:
            console.seconds = time.monotonic() - started
            console.report()
        await driver.close()


async def run_ramp(
    target: Target, args: argparse.Namespace, steps: list[float], overload_rate: float | None
) -> tuple[list[Phase], Phase | None]:
    driver = Driver(target, args.pairs)
    await driver.connect()
    done: list[Phase] = []
    overload = None
    try:
        for rate in steps:
            step = await driver.run_phase(
                label=f"{rate:g}", total_rate=rate, seconds=args.step_seconds, drain=args.step_drain
            )
            if not done:
                step.errors.update(driver.connect_errors)
            done.append(step)
            held = step.held(min_delivered=args.min_delivered, max_p99_ms=args.max_p99_ms)
            print(
                f"  {rate:7g} msg/s: delivered {100 * step.delivered_fraction:5.1f} %, "
                f"p50 {_ms(step.p(0.5))} ms, p99 {_ms(step.p(0.99))} ms, busy {step.refusals}"
                f"{', client late' if step.client_late() else ''}: "
                f"{'held' if held else 'NOT held'}",
                flush=True,
            )
            if not held:
                break
            await driver.quiesce(args.step_drain)
        if overload_rate is None:
            overload_rate = args.overload_factor * (
                highest_held(done, min_delivered=args.min_delivered, max_p99_ms=args.max_p99_ms)
                or steps[0]
            )
        await driver.quiesce(args.drain)  # the failed step's backlog first
        for step in done:
            driver.account(step)
        if args.overload_seconds > 0:
            overload = await driver.run_phase(
                label="overload",
                total_rate=overload_rate,
                seconds=args.overload_seconds,
                drain=args.drain,
            )
            driver.account(overload)
            print(
                f"  overload {overload_rate:g} msg/s: goodput {overload.goodput:.1f} msg/s, "
                f"p99 {_ms(overload.p(0.99))} ms, refused busy {overload.refusals}, "
                f"lost {overload.lost}, dup {overload.duplicated}",
                flush=True,
            )
        return done, overload
    finally:
        await driver.close()


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
    parser.add_argument(
        "--targets",
        default=None,
        help="comma-separated: b0, b1, h (default b0,b1,h; with --ramp b1,h)",
    )
    parser.add_argument(
        "--console-readers",
        type=int,
        default=0,
        help="agents reading console pages (queue, conversations) in a loop during the run (H)",
    )
    parser.add_argument(
        "--channel-capacity", type=int, default=None, help="CHANNEL_CAPACITY for B1 and H"
    )
    parser.add_argument(
        "--layer",
        choices=sorted(LAYER_KINDS),
        default="core",
        help="channels_redis layer of B1 and H (CHANNEL_LAYER_KIND); default core",
    )
    ramp = parser.add_argument_group("ramp (--ramp)")
    ramp.add_argument(
        "--ramp", action="store_true", help="step the offered rate up until a step is not held"
    )
    ramp.add_argument(
        "--steps",
        default=DEFAULT_STEPS,
        help=f"msg/s in total, increasing (default {DEFAULT_STEPS})",
    )
    ramp.add_argument("--step-seconds", type=float, default=10.0, help="sending time per step")
    ramp.add_argument(
        "--step-drain", type=float, default=5.0, help="max wait for a step's stragglers"
    )
    ramp.add_argument(
        "--min-delivered", type=float, default=0.95, help="held: delivered/offered at least this"
    )
    ramp.add_argument("--max-p99-ms", type=float, default=250.0, help="held: p99 at most this")
    ramp.add_argument(
        "--overload-factor",
        type=float,
        default=2.0,
        help="overload step = this x Handoff's highest held step",
    )
    ramp.add_argument(
        "--overload-seconds",
        type=float,
        default=20.0,
        help="sending time of the overload step (0: none)",
    )
    args = parser.parse_args()
    steps = parse_steps(args.steps)
    if not (
        0 < args.pairs <= 5000
        and 0 < args.rate <= 50
        and 0 < args.seconds <= 600
        and 0 <= args.drain <= 600
        and 0 < args.step_seconds <= 600
        and 0 <= args.step_drain <= 600
        and 0 <= args.overload_seconds <= 600
        and 1 <= args.overload_factor <= 10
        and 0 < args.min_delivered <= 1
        and 0 <= args.console_readers <= 50
    ):
        raise SystemExit(
            "--pairs 1..5000, --rate up to 50/s, --seconds/--step-seconds up to 600, "
            "--overload-factor 1..10, --min-delivered 0..1, --console-readers 0..50"
        )
    if args.ramp and steps[-1] * args.overload_factor / args.pairs > 100:
        raise SystemExit(
            "--steps too high for --pairs: the overload step may ask at most 100 msg/s "
            "per visitor (raise --pairs or lower --steps)"
        )
    require_local(args.database_url)
    raise_fd_limit()
    wanted = (args.targets or ("b1,h" if args.ramp else "b0,b1,h")).split(",")
    if unknown := set(wanted) - {"b0", "b1", "h"}:
        raise SystemExit(f"--targets: unknown {sorted(unknown)}")

    extra_env = server_env(args, steps)
    if args.ramp:
        print(
            f"ws_chat --ramp: {args.pairs} pairs, steps {', '.join(f'{s:g}' for s in steps)} "
            f"msg/s in total, {args.step_seconds:g} s each (+ up to {args.step_drain:g} s "
            f"drain); overload step {args.overload_factor:g} x Handoff's highest held step "
            f"for {args.overload_seconds:g} s",
            flush=True,
        )
    else:
        print(
            f"ws_chat: {args.pairs} pairs x {args.rate}/s for {args.seconds}s "
            f"(offered {args.pairs * args.rate:.0f} msg/s)",
            flush=True,
        )
    print(f"channel layer: {args.layer} ({LAYER_KINDS[args.layer]}) for B1 and H")
    print(f"server env {extra_env}")
    print(f"load average at the start {load_average()}", flush=True)

    redis = RedisServer().start()
    makers: dict[str, Callable[[], contextlib.AbstractContextManager[Target]]] = {
        "b0": b0_relay,
        "b1": lambda: b1_channels(redis, extra_env),
        "h": lambda: handoff(redis, args.database_url, pairs=args.pairs, extra_env=extra_env),
    }
    phases: list[Phase] = []
    ramps: dict[str, list[Phase]] = {}
    overloads: list[Phase] = []
    try:
        if not args.ramp:
            for key in ("b0", "b1", "h"):
                if key not in wanted:
                    continue
                with makers[key]() as target:
                    print(f"running {target.name} ...", flush=True)
                    phases.append(asyncio.run(run_single(target, args)))
        else:
            # Handoff first: the overload step's rate comes from its ramp, and the
            # baselines then run the same overload step.
            overload_rate = None
            for key in ("h", "b1", "b0"):
                if key not in wanted:
                    continue
                with makers[key]() as target:
                    print(f"ramping {target.name} ...", flush=True)
                    done, overload = asyncio.run(run_ramp(target, args, steps, overload_rate))
                ramps[target.name] = done
                if overload is not None:
                    overloads.append(overload)
                    overload_rate = overload.offered_per_second
    finally:
        redis.stop()
    if args.ramp:
        # Side by side in the order B0, B1, H.
        ramps = dict(sorted(ramps.items(), key=lambda item: item[0]))
        overloads.sort(key=lambda p: p.target)
        report_ramp(ramps, overloads, min_delivered=args.min_delivered, max_p99_ms=args.max_p99_ms)
        phases = [p for steps in ramps.values() for p in steps] + overloads
    else:
        report(phases)
    print(f"load average at the end {load_average()}")
    failed = any(p.lost or p.duplicated for p in phases if p.target.startswith("H"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
