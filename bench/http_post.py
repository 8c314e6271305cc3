"""HTTP message posts: Handoff against a bare async Django view, in the same run.

`POST /human-support/requests/{request_id}/messages` with a visitor's bearer token and
`{"message", "client_id"}`, by N concurrent clients (closed loop: each sends its next
request when the previous one is answered), each with its own visitor session and
request, over a kept-alive HTTP/1.1 connection to one of the daphne processes (clients
spread evenly):

  HB  a bare async Django JSON view on daphne (bench/baseline_http.py): the floor
  H   Handoff: daphne with production settings, PostgreSQL (its own database, created and
      migrated here) and a private redis-server; each post through the API view, its
      authentication, origin check, rate limits and services.message_post

    python bench/http_post.py [--clients 50] [--seconds 20] [--processes 2]

A 503 with Retry-After is an overload refusal: counted apart (with its latency), and
the client resends the same body (same client_id) after Retry-After, as a client would;
the request's latency runs from its first send. Other statuses are counted as errors.
Afterwards every acknowledged (2xx) client_id must be stored once.

Only 127.0.0.1 is used; every process started here is stopped here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
import psycopg

from bench.harness import (
    CUSTOMER_ORIGIN,
    DEFAULT_DATABASE_URL,
    LAYER_KINDS,
    DaphneServer,
    ProcessMeter,
    RedisServer,
    Usage,
    backend_pids,
    handoff_env,
    layer_env,
    lifted_message_limits,
    load_average,
    mib,
    percentile,
    recreate_database,
    require_local,
    seed,
)

# The visitor message limits are lifted to this many posts per second in all (and per
# session, its share times the clients): far above what a closed loop of 50 clients
# reaches on one machine; a 429 would show in the error counts.
ASSUMED_PEAK_PER_SECOND = 2500.0
DEFAULT_RETRY_AFTER_SECONDS = 1.0  # a 503 whose Retry-After is not a number of seconds
REQUEST_TIMEOUT = 30.0


@dataclass
class Client:
    """One simulated visitor: its request, its token, the process it talks to."""

    number: int
    host: str
    port: int
    path: str
    token: str | None


@dataclass
class Target:
    name: str
    clients: list[Client]
    origin: str | None
    meter_groups: Callable[[], dict[str, list[int] | Callable[[], list[int]]]]
    # (stored client_ids, client_ids stored more than once), H only
    stored: Callable[[str], tuple[set[str], int]] | None = None
    database_url: str | None = None  # H only: its connections are sampled


@dataclass
class Result:
    name: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # 2xx, from the first send
    created: int = 0  # 201
    replayed: int = 0  # 200: the same client_id again, answered from the database
    statuses: Counter[int] = field(default_factory=Counter)  # non-2xx other than refusals
    exceptions: Counter[str] = field(default_factory=Counter)
    refusals: int = 0  # 503 with Retry-After
    refused_ids: set[str] = field(default_factory=set)
    refusal_latencies: list[float] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    unfinished: int = 0  # still being retried when the drain ended
    window: float = 0.0  # first send to last answer
    usage: dict[str, Usage] = field(default_factory=dict)
    stored: int | None = None
    lost: int = 0
    duplicated: int = 0
    peak_connections: int | None = None  # PostgreSQL connections to the database, at most

    @property
    def ok(self) -> int:
        return self.created + self.replayed

    @property
    def per_second(self) -> float:
        return self.ok / self.window if self.window else 0.0

    def p(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000

    def p_refusal(self, fraction: float) -> float:
        return percentile(self.refusal_latencies, fraction) * 1000

    def cpu_ms_per_request(self, group: str) -> float:
        usage = self.usage.get(group)
        if usage is None or not self.ok:
            return float("nan")
        return usage.cpu_seconds * 1000 / self.ok


# --- a minimal HTTP/1.1 keep-alive client on asyncio streams ----------------------------------


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        answer: dict[str, str] = {}
        for line in header_lines:
            if ":" in line:
                name, _, value = line.partition(":")
                answer[name.strip().lower()] = value.strip()
        if "content-length" in answer:
            data = await self.reader.readexactly(int(answer["content-length"]))
        elif answer.get("transfer-encoding", "").lower() == "chunked":
            data = await self._chunked()
        else:
            data = await self.reader.read()  # until the server closes
            answer["connection"] = "close"
        if answer.get("connection", "").lower() == "close":
            await self.close()
        return status, answer, data

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while (await self.reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


def retry_after_seconds(headers: dict[str, str]) -> float | None:
    """Retry-After in seconds; None when the header is absent (then not a refusal)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS  # an HTTP date: not worth parsing here
    return seconds if math.isfinite(seconds) and seconds >= 0 else DEFAULT_RETRY_AFTER_SECONDS


class ConnectionSampler:
    """The most PostgreSQL connections to one database seen, sampled every 0.2 s.

    Django under ASGI runs each request's sync code in a thread of its own, and database
    connections belong to threads: the count follows the concurrency, not the processes.
    The sampler's own connection is opened first and not counted.
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._conn: psycopg.Connection | None = None

    def __enter__(self) -> ConnectionSampler:
        self._conn = psycopg.connect(self.database_url, autocommit=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        if self._conn is not None:
            self._conn.close()

    def _run(self) -> None:
        assert self._conn is not None
        while not self._stop.wait(0.2):
            with contextlib.suppress(psycopg.Error):
                row = self._conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                ).fetchone()
                self.peak = max(self.peak, int(row[0]) if row else 0)


# --- driving one target ------------------------------------------------------------------------


async def run_client(
    client: Client,
    result: Result | None,
    *,
    prefix: str,
    origin: str | None,
    until: float,
    drain_until: float,
) -> None:
    """Post one message after the other until `until`; retry refusals until `drain_until`.

    `result` None: a warm-up, nothing recorded."""
    loop = asyncio.get_running_loop()
    connection = Connection(client.host, client.port)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if client.token:
        headers["Authorization"] = f"Bearer {client.token}"
    if origin:
        headers["Origin"] = origin
    seq = 0
    try:
        while loop.time() < until:
            client_id = f"{prefix}{client.number}-{seq}"
            body = json.dumps(
                {"message": f"bench {client.number}:{seq}", "client_id": client_id}
            ).encode()
            seq += 1
            first = loop.time()
            while True:
                sent = loop.time()
                try:
                    status, answer, _ = await asyncio.wait_for(
                        connection.request("POST", client.path, headers, body), REQUEST_TIMEOUT
                    )
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
                    await connection.close()
                    if result is not None:
                        result.exceptions[type(error).__name__] += 1
                    break
                now = loop.time()
                retry = retry_after_seconds(answer) if status == 503 else None
                if retry is not None:
                    if result is not None:
                        result.refusals += 1
                        result.refused_ids.add(client_id)
                        result.refusal_latencies.append(now - sent)
                    if now + retry > drain_until:
                        if result is not None:
                            result.unfinished += 1
                        break
                    await asyncio.sleep(retry)
                    continue  # the same body, the same client_id
                if result is not None:
                    if status in (200, 201):
                        result.latencies.append(now - first)
                        result.acknowledged.add(client_id)
                        if status == 201:
                            result.created += 1
                        else:
                            result.replayed += 1
                    else:
                        result.statuses[status] += 1
                break
    finally:
        await connection.close()


async def drive(target: Target, args: argparse.Namespace) -> Result:
    loop = asyncio.get_running_loop()
    if args.warmup > 0:
        # Django's lazy set-up (URL resolver, first connections) out of the figures.
        until = loop.time() + args.warmup
        await asyncio.gather(
            *(
                run_client(
                    c, None, prefix="w", origin=target.origin, until=until, drain_until=until + 5
                )
                for c in target.clients
            )
        )
    result = Result(name=target.name, clients=len(target.clients), seconds=args.seconds)
    meter = ProcessMeter({**target.meter_groups(), "bench client": [psutil.Process().pid]})
    sampler = (
        ConnectionSampler(target.database_url) if target.database_url else contextlib.nullcontext()
    )
    with sampler:
        meter.start()
        started = loop.time()
        until = started + args.seconds
        await asyncio.gather(
            *(
                run_client(
                    c,
                    result,
                    prefix="h",
                    origin=target.origin,
                    until=until,
                    drain_until=until + args.drain,
                )
                for c in target.clients
            )
        )
        result.window = loop.time() - started
        result.usage = meter.stop()
    if isinstance(sampler, ConnectionSampler):
        result.peak_connections = sampler.peak
    result.latencies.sort()
    result.refusal_latencies.sort()
    if target.stored is not None:
        stored, duplicated = target.stored("h")
        result.stored = len(stored)
        result.lost = len(result.acknowledged - stored)
        result.duplicated = duplicated
    return result


# --- the two targets ---------------------------------------------------------------------------


def _spread(
    servers: list[DaphneServer],
    count: int,
    path: Callable[[int], str],
    token: Callable[[int], str | None],
) -> list[Client]:
    """Client n talks to process n % processes."""
    clients = []
    for n in range(count):
        server = servers[n % len(servers)]
        clients.append(
            Client(number=n, host="127.0.0.1", port=server.port, path=path(n), token=token(n))
        )
    return clients


@contextlib.contextmanager
def baseline(args: argparse.Namespace) -> Iterator[Target]:
    servers = [
        DaphneServer(
            env={"LOG_LEVEL": "WARNING"},
            application="bench.baseline_http:application",
            name=f"HB-{n}",
        )
        for n in range(args.processes)
    ]
    try:
        for server in servers:
            server.start()
        yield Target(
            name=f"HB bare async Django view ({args.processes} daphne)",
            clients=_spread(
                servers,
                args.clients,
                lambda n: f"/human-support/requests/bench-{n}/messages",
                lambda n: None,
            ),
            origin=None,
            meter_groups=lambda: {"daphne": [s.pid for s in servers]},
        )
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def handoff(
    args: argparse.Namespace, redis: RedisServer, extra_env: dict[str, str]
) -> Iterator[Target]:
    database_url = args.database_url
    print(
        f"  creating and migrating {urllib.parse.urlsplit(database_url).path[1:]} ...", flush=True
    )
    recreate_database(database_url)
    # One visitor session and request per client, joined by the agent (a live chat).
    seeded = seed(database_url, requests=args.clients, join=True)
    handles = seeded["pairs"]
    env = handoff_env(database_url, redis.url, **extra_env)
    servers = [DaphneServer(env=env, name=f"handoff-http-{n}") for n in range(args.processes)]

    def stored(prefix: str) -> tuple[set[str], int]:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                "SELECT client_id, count(*) FROM human_support_messages "
                "WHERE client_id LIKE %s GROUP BY client_id",
                (prefix + "%",),
            ).fetchall()
        return {row[0] for row in rows}, sum(row[1] - 1 for row in rows)

    try:
        for server in servers:
            server.start()
        yield Target(
            name=f"H Handoff ({args.processes} daphne, Redis, PostgreSQL)",
            clients=_spread(
                servers,
                args.clients,
                lambda n: f"/human-support/requests/{handles[n]['request_id']}/messages",
                lambda n: handles[n]["token"],
            ),
            origin=CUSTOMER_ORIGIN,
            meter_groups=lambda: {
                "daphne": [s.pid for s in servers],
                "redis": [redis.pid],
                "postgres": lambda: backend_pids(database_url),
            },
            stored=stored,
            database_url=database_url,
        )
    finally:
        for server in servers:
            server.stop()


# --- report ----------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def _ratio(a: float, b: float) -> str:
    if not b or math.isnan(a) or math.isnan(b):
        return "n/a"
    return f"{a / b:.2f}"


def report(results: list[Result]) -> None:
    print()
    header = (
        f"{'target':42} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'201':>6} "
        f"{'200':>4} {'503 ref':>7} {'ref p50':>7} {'ref p99':>7} {'unfin':>5} {'errors':>6} "
        f"{'lost':>4} {'dup':>4}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        errors = sum(r.statuses.values()) + sum(r.exceptions.values())
        lost = "-" if r.stored is None else str(r.lost)
        dup = "-" if r.stored is None else str(r.duplicated)
        print(
            f"{r.name:42} {r.per_second:7.1f} {_ms(r.p(0.5)):>7} {_ms(r.p(0.95)):>7} "
            f"{_ms(r.p(0.99)):>7} {r.created:6d} {r.replayed:4d} {r.refusals:7d} "
            f"{_ms(r.p_refusal(0.5)):>7} {_ms(r.p_refusal(0.99)):>7} {r.unfinished:5d} "
            f"{errors:6d} {lost:>4} {dup:>4}"
        )
    print(
        "req/s: answered 2xx per second; latency of the 2xx answers from the first send "
        "(refusals and their waits included);\n201: stored; 200: the same client_id answered "
        "from the database; 503 ref: refusals with Retry-After (each resent after it), "
        "ref p50/p99 their latency;\nunfin: still refused when the drain ended; lost: "
        "acknowledged but not stored; dup: client_ids stored more than once"
    )
    for r in results:
        if r.statuses or r.exceptions:
            print(
                f"{r.name}: errors by status {dict(sorted(r.statuses.items()))}, "
                f"exceptions {dict(r.exceptions)}"
            )
    print()
    print(
        f"{'target':42} {'process':14} {'CPU s':>7} {'cores':>6} {'CPU ms/req':>10} {'RSS MiB':>8}"
    )
    for r in results:
        for group, usage in r.usage.items():
            print(
                f"{r.name:42} {group:14} {usage.cpu_seconds:7.2f} "
                f"{usage.cpu_seconds / max(r.window, 1e-9):6.2f} "
                f"{r.cpu_ms_per_request(group):10.3f} {mib(usage.rss_bytes):8.1f}"
            )
    if any("postgres" in r.usage for r in results):
        print(
            "postgres: the backends alive at the end; one that ended during the run (a "
            "connection closed by Django) is not counted"
        )
    for r in results:
        if r.peak_connections is not None:
            print(f"{r.name}: at most {r.peak_connections} PostgreSQL connections at once")
    by_name = {r.name[:2]: r for r in results}
    h, base = by_name.get("H "), by_name.get("HB")
    if h and base:
        print()
        print("Handoff / baseline:")
        print(f"  requests per second x{_ratio(h.per_second, base.per_second)}")
        for label, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            print(f"  latency {label:4} x{_ratio(h.p(fraction), base.p(fraction))}")
        print(
            f"  daphne CPU per request x"
            f"{_ratio(h.cpu_ms_per_request('daphne'), base.cpu_ms_per_request('daphne'))}"
        )
    if h:
        verdict = "OK" if h.lost == 0 and h.duplicated == 0 else "FAILED"
        print(
            f"\nHandoff: {len(h.acknowledged)} acknowledged, {h.stored} stored, lost {h.lost}, "
            f"stored twice {h.duplicated}, refused {h.refusals} times "
            f"({len(h.refused_ids)} posts): {verdict}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=20.0, help="time to send for")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="unmeasured posts first, for this long"
    )
    parser.add_argument(
        "--drain", type=float, default=30.0, help="max time for retries after --seconds"
    )
    parser.add_argument("--processes", type=int, default=2, help="daphne processes per target")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--targets", default="base,h", help="comma-separated: base, h")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="CONN_MAX_AGE for Handoff (default: its production setting, 60 s)",
    )
    parser.add_argument(
        "--layer",
        choices=sorted(LAYER_KINDS),
        default="core",
        help="Handoff's channels_redis layer (CHANNEL_LAYER_KIND); default core",
    )
    args = parser.parse_args()
    if not (
        0 < args.clients <= 1000
        and 0 < args.seconds <= 600
        and 0 <= args.warmup <= 60
        and 0 <= args.drain <= 600
        and 1 <= args.processes <= 8
    ):
        raise SystemExit(
            "--clients 1..1000, --seconds up to 600, --warmup up to 60, --processes 1..8"
        )
    wanted = args.targets.split(",")
    if unknown := set(wanted) - {"base", "h"}:
        raise SystemExit(f"--targets: unknown {sorted(unknown)}")
    require_local(args.database_url)

    # Every client comes from 127.0.0.1: lift the visitor message limits (per IP and per
    # session), or the run would measure the rate limiter.
    extra_env = lifted_message_limits(
        total_per_second=ASSUMED_PEAK_PER_SECOND,
        per_visitor_per_second=ASSUMED_PEAK_PER_SECOND / args.clients,
    )
    extra_env.update(layer_env(args.layer))
    if args.conn_max_age is not None:
        extra_env["CONN_MAX_AGE"] = str(args.conn_max_age)
    print(
        f"http_post: {args.clients} concurrent clients, closed loop, {args.seconds:g}s "
        f"(after {args.warmup:g}s warm-up) on {args.processes} daphne processes per target"
    )
    print(f"channel layer: {args.layer} ({LAYER_KINDS[args.layer]}) for Handoff")
    print(f"server env {extra_env}")
    print(f"load average at the start {load_average()}", flush=True)

    results = []
    redis = RedisServer().start()
    try:
        makers: dict[str, Callable[[], contextlib.AbstractContextManager[Target]]] = {
            "base": lambda: baseline(args),
            "h": lambda: handoff(args, redis, extra_env),
        }
        for key in ("base", "h"):
            if key not in wanted:
                continue
            with makers[key]() as target:
                print(f"running {target.name} ...", flush=True)
                results.append(asyncio.run(drive(target, args)))
    finally:
        redis.stop()
    report(results)
    print(f"load average at the end {load_average()}")
    failed = any(r.lost or r.duplicated for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
