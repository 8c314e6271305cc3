"""Idle sockets on two daphne processes: memory per connection and idle CPU, per process.

Handoff (H): visitor sockets (`?token=...&after=0`, as the widget does) to two daphne
processes on PostgreSQL (its own database, created and migrated here) and a private
redis-server, half on each, each awaited until its `history` frame (fully admitted).
The baseline B1 (bench/baseline_channels.py: a bare Channels consumer that joins one
group per socket, same channel layer) gets the same number of sockets on its own two
daphne processes. Both are then left idle for a while (longer than daphne's 20 s ping
interval, so every socket is pinged and answers) and measured: RSS growth per socket,
and idle CPU as % of a core per 5,000 sockets, for each process.

    python bench/ws_idle.py [--target 10000] [--processes 2] [--requests 500]
                            [--idle-seconds 30] [--layer core|pubsub] [--targets b1,h]

The file-descriptor limit is raised to the hard limit (the daphne children inherit it);
a target the limit cannot hold is refused. Only 127.0.0.1 is used; every process started
here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
import websockets

from bench.harness import (
    CUSTOMER_ORIGIN,
    DEFAULT_DATABASE_URL,
    LAYER_KINDS,
    DaphneServer,
    ProcessMeter,
    RedisServer,
    backend_pids,
    handoff_env,
    layer_env,
    load_average,
    mib,
    raise_fd_limit,
    recreate_database,
    require_local,
    seed,
)

CPU_PER_SOCKETS = 5000  # idle CPU is printed per this many sockets
FD_MARGIN = 200  # descriptors a process needs besides its sockets


def rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            total += psutil.Process(pid).memory_info().rss
    return total


@dataclass
class Opened:
    sockets: list[list[websockets.ClientConnection]]  # per process
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.sockets)


async def open_sockets(
    urls: list[tuple[int, str]],
    *,
    processes: int,
    origin: str | None,
    await_history: bool,
    concurrency: int,
    max_seconds: float,
) -> Opened:
    """Open every (process index, url), `concurrency` handshakes at a time."""
    gate = asyncio.Semaphore(concurrency)
    opened = Opened(sockets=[[] for _ in range(processes)])
    deadline = time.monotonic() + max_seconds
    started = time.monotonic()

    async def one(process: int, url: str) -> None:
        async with gate:
            if time.monotonic() > deadline:
                opened.errors["not tried (time bound)"] += 1
                return
            try:
                ws = await websockets.connect(
                    url,
                    origin=origin,  # type: ignore[arg-type]
                    proxy=None,
                    compression=None,
                    ping_interval=None,  # daphne pings; the client answers
                    open_timeout=60,
                )
            except Exception as error:
                opened.errors[type(error).__name__] += 1
                return
            if await_history:
                try:
                    await asyncio.wait_for(ws.recv(), 30)  # the history frame: fully admitted
                except Exception as error:
                    opened.errors[f"history: {type(error).__name__}"] += 1
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(ws.close(), 5)
                    return
            opened.sockets[process].append(ws)

    await asyncio.gather(*(one(process, url) for process, url in urls))
    opened.seconds = time.monotonic() - started
    return opened


async def close_all(sockets: list[websockets.ClientConnection]) -> None:
    gate = asyncio.Semaphore(500)

    async def close(ws: websockets.ClientConnection) -> None:
        async with gate:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)

    await asyncio.gather(*(close(ws) for ws in sockets))


@dataclass
class Measured:
    name: str
    opened: int = 0
    per_process: list[int] = field(default_factory=list)
    still_open: list[int] = field(default_factory=list)
    open_seconds: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    rss_before: dict[str, int] = field(default_factory=dict)
    rss_after: dict[str, int] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    idle_seconds: float = 0.0

    def kib_per_socket(self, group: str, sockets: int) -> float:
        grown = self.rss_after[group] - self.rss_before[group]
        return grown / sockets / 1024 if sockets else float("nan")

    def cpu_percent(self, group: str) -> float:
        return 100 * self.cpu_seconds[group] / self.idle_seconds if self.idle_seconds else 0.0

    def cpu_percent_per_5000(self, group: str, sockets: int) -> float:
        if not sockets:
            return float("nan")
        return self.cpu_percent(group) * CPU_PER_SOCKETS / sockets


async def measure(
    name: str,
    servers: list[DaphneServer],
    urls: list[tuple[int, str]],
    *,
    others: dict[str, list[int]],
    backends: str | None,
    origin: str | None,
    await_history: bool,
    args: argparse.Namespace,
) -> Measured:
    """Open `urls` (process index, url) on `servers`, leave them idle, measure each process."""
    result = Measured(name=name)
    groups: dict[str, list[int]] = {
        f"daphne {n + 1}": [server.pid] for n, server in enumerate(servers)
    }
    groups.update(others)
    warm_urls = [next((p, u) for p, u in urls if p == n) for n in range(len(servers))]
    warm = await open_sockets(
        warm_urls,
        processes=len(servers),
        origin=origin,
        await_history=await_history,
        concurrency=1,
        max_seconds=60,
    )
    await asyncio.sleep(2)
    result.rss_before = {group: rss(pids) for group, pids in groups.items()}

    opened = await open_sockets(
        urls,
        processes=len(servers),
        origin=origin,
        await_history=await_history,
        concurrency=args.open_concurrency,
        max_seconds=args.max_open_seconds,
    )
    result.opened = opened.count
    result.per_process = [len(s) for s in opened.sockets]
    result.open_seconds = opened.seconds
    result.errors = opened.errors
    print(
        f"  opened {opened.count} of {len(urls)} sockets in {opened.seconds:.1f}s "
        f"({opened.count / max(opened.seconds, 1e-9):.0f}/s), per process "
        f"{result.per_process}; errors {dict(opened.errors)}",
        flush=True,
    )
    await asyncio.sleep(3)
    result.rss_after = {group: rss(pids) for group, pids in groups.items()}

    meter_groups: dict[str, list[int] | Callable[[], list[int]]] = dict(groups)
    if backends is not None:
        database_url = backends
        meter_groups["postgres"] = lambda: backend_pids(database_url)
    meter = ProcessMeter(meter_groups)
    meter.start()
    t0 = time.monotonic()
    print(f"  idle for {args.idle_seconds:g}s ...", flush=True)
    await asyncio.sleep(args.idle_seconds)
    usage = meter.stop()
    result.idle_seconds = time.monotonic() - t0
    result.cpu_seconds = {group: use.cpu_seconds for group, use in usage.items()}
    result.still_open = [
        sum(1 for ws in sockets if ws.state is websockets.protocol.State.OPEN)
        for sockets in opened.sockets
    ]
    every = [ws for sockets in [*warm.sockets, *opened.sockets] for ws in sockets]
    await close_all(every)
    return result


def report(results: list[Measured]) -> None:
    for r in results:
        processes = len(r.per_process)
        print()
        print(
            f"{r.name}: {r.opened} idle sockets on {processes} daphne processes "
            f"(+1 warm-up socket each), opened in {r.open_seconds:.1f}s; still open after "
            f"{r.idle_seconds:.0f}s idle: {sum(r.still_open)} {r.still_open}"
        )
        if problems := {k: v for k, v in r.errors.items() if v}:
            print(f"  errors while opening: {problems}")
        print(
            f"  {'process':10} {'sockets':>7} {'RSS before':>10} {'after MiB':>9} "
            f"{'KiB/socket':>10} {'idle CPU s':>10} {'% core':>7} {'% core/5000':>11}"
        )
        for n in range(processes):
            group = f"daphne {n + 1}"
            sockets = r.per_process[n]
            print(
                f"  {group:10} {sockets:7d} {mib(r.rss_before[group]):10.1f} "
                f"{mib(r.rss_after[group]):9.1f} {r.kib_per_socket(group, sockets):10.1f} "
                f"{r.cpu_seconds[group]:10.2f} {r.cpu_percent(group):7.2f} "
                f"{r.cpu_percent_per_5000(group, sockets):11.2f}"
            )
        for group in r.cpu_seconds:
            if group.startswith("daphne"):
                continue
            line = f"  {group:10} {'':>7} "
            if group in r.rss_before:
                line += (
                    f"{mib(r.rss_before[group]):10.1f} {mib(r.rss_after[group]):9.1f} "
                    f"{r.kib_per_socket(group, r.opened):10.2f} "
                )
            else:
                line += f"{'':>10} {'':>9} {'':>10} "
            line += (
                f"{r.cpu_seconds[group]:10.2f} {r.cpu_percent(group):7.2f} "
                f"{r.cpu_percent_per_5000(group, r.opened):11.2f}"
            )
            print(line)
    print(
        "\nKiB/socket: RSS growth while the sockets opened, divided by the sockets of that "
        "process (Redis, PostgreSQL: by all of them);\n% core/5000: the idle CPU as % of "
        f"one core, scaled to {CPU_PER_SOCKETS} sockets on that process"
    )
    by_name = {r.name[:2]: r for r in results}
    h, b1 = by_name.get("H "), by_name.get("B1")
    if h and b1:
        print("\nHandoff / B1 (the mean of the daphne processes):")

        def mean(r: Measured, value: Callable[[Measured, str, int], float]) -> float:
            values = [
                value(r, f"daphne {n + 1}", r.per_process[n]) for n in range(len(r.per_process))
            ]
            return sum(values) / len(values) if values else float("nan")

        h_mem = mean(h, Measured.kib_per_socket)
        b_mem = mean(b1, Measured.kib_per_socket)
        h_cpu = mean(h, Measured.cpu_percent_per_5000)
        b_cpu = mean(b1, Measured.cpu_percent_per_5000)
        print(f"  memory per socket {h_mem:.1f} / {b_mem:.1f} KiB = x{_ratio(h_mem, b_mem)}")
        print(
            f"  idle CPU per {CPU_PER_SOCKETS} sockets {h_cpu:.2f} / {b_cpu:.2f} % of a core "
            f"= x{_ratio(h_cpu, b_cpu)}"
        )


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b and b == b and a == a else "n/a"


def check_fd_limits(target: int, per_process: int) -> int:
    """The client holds every socket; each daphne process holds its share (and inherits
    the client's limit); the kernel holds both ends of each connection."""
    limit = raise_fd_limit()
    if target + FD_MARGIN > limit:
        raise SystemExit(f"fd limit {limit} is too low for {target} client sockets")
    if per_process + FD_MARGIN > limit:
        raise SystemExit(f"fd limit {limit} is too low for {per_process} sockets per process")
    with contextlib.suppress(OSError, ValueError):
        file_max = int(Path("/proc/sys/fs/file-max").read_text().split()[0])
        if 2 * target + 2 * FD_MARGIN > file_max:
            raise SystemExit(f"fs.file-max {file_max} is too low for {target} connections")
    return limit


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--target", type=int, default=10000, help="idle sockets in all, split over --processes"
    )
    parser.add_argument("--processes", type=int, default=2, help="daphne processes per target")
    parser.add_argument("--requests", type=int, default=500, help="requests they are spread over")
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--open-concurrency", type=int, default=100)
    parser.add_argument("--max-open-seconds", type=float, default=300.0)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--layer",
        choices=sorted(LAYER_KINDS),
        default="core",
        help="channels_redis layer of B1 and H (CHANNEL_LAYER_KIND); default core",
    )
    parser.add_argument("--targets", default="b1,h", help="comma-separated: b1, h")
    args = parser.parse_args()
    if not (
        0 < args.target <= 40000
        and 1 <= args.processes <= 8
        and args.processes <= args.target
        and 0 < args.requests <= args.target
        and 0 <= args.idle_seconds <= 600
    ):
        raise SystemExit(
            "--target 1..40000, --processes 1..8, --requests 1..target, --idle-seconds up to 600"
        )
    wanted = args.targets.split(",")
    if unknown := set(wanted) - {"b1", "h"}:
        raise SystemExit(f"--targets: unknown {sorted(unknown)}")
    require_local(args.database_url)
    per_process = -(-args.target // args.processes)
    limit = check_fd_limits(args.target, per_process)
    print(
        f"ws_idle: {args.target} sockets on {args.processes} daphne processes "
        f"({per_process} each at most) over {args.requests} requests, idle "
        f"{args.idle_seconds:g}s; fd limit {limit}"
    )
    print(f"channel layer: {args.layer} ({LAYER_KINDS[args.layer]}) for B1 and H")
    print(f"load average at the start {load_average()}", flush=True)

    results = []
    redis = RedisServer().start()
    try:
        if "b1" in wanted:
            results.append(run_b1(args, redis))
        if "h" in wanted:
            results.append(run_handoff(args, redis))
    finally:
        redis.stop()
    report(results)
    print(f"load average at the end {load_average()}")
    return 0


def _spread(target: int, processes: int, url: Callable[[int, int], str]) -> list[tuple[int, str]]:
    """Socket n on process n % processes (interleaved, so both fill at the same pace)."""
    return [(n % processes, url(n, n % processes)) for n in range(target)]


def run_b1(args: argparse.Namespace, redis: RedisServer) -> Measured:
    env = {"REDIS_URL": redis.url, "LOG_LEVEL": "WARNING", **layer_env(args.layer)}
    servers = [
        DaphneServer(env=env, application="bench.baseline_channels:application", name=f"B1-{n}")
        for n in range(args.processes)
    ]
    try:
        for server in servers:
            server.start()
        urls = _spread(
            args.target,
            args.processes,
            lambda n, p: f"{servers[p].ws_url}/relay/{n % args.requests}?role=user",
        )
        name = f"B1 bare Channels ({args.processes} daphne, Redis)"
        print(f"running {name} ...", flush=True)
        return asyncio.run(
            measure(
                name,
                servers,
                urls,
                others={"redis": [redis.pid]},
                backends=None,
                origin=None,
                await_history=False,  # accepted after group_add: fully admitted
                args=args,
            )
        )
    finally:
        for server in servers:
            server.stop()


def run_handoff(args: argparse.Namespace, redis: RedisServer) -> Measured:
    print(
        f"  creating and migrating {urllib.parse.urlsplit(args.database_url).path[1:]} ...",
        flush=True,
    )
    recreate_database(args.database_url)
    seeded = seed(args.database_url, requests=args.requests, join=False)
    handles = seeded["pairs"]
    env = handoff_env(args.database_url, redis.url, **layer_env(args.layer))
    servers = [DaphneServer(env=env, name=f"handoff-idle-{n}") for n in range(args.processes)]
    try:
        for server in servers:
            server.start()

        def url(n: int, p: int) -> str:
            handle = handles[n % len(handles)]
            query = urllib.parse.urlencode({"token": handle["token"], "after": 0})
            return f"{servers[p].ws_url}/human-support/ws/{handle['request_id']}?{query}"

        name = f"H Handoff ({args.processes} daphne, Redis, PostgreSQL)"
        print(f"running {name} ...", flush=True)
        return asyncio.run(
            measure(
                name,
                servers,
                _spread(args.target, args.processes, url),
                others={"redis": [redis.pid]},
                backends=args.database_url,
                origin=CUSTOMER_ORIGIN,
                await_history=True,
                args=args,
            )
        )
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
