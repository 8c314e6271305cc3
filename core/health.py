"""Liveness (`/healthz`) and readiness (`/readyz`) of a web process.

Liveness answers while the process runs and touches nothing, so a slow database never
gets a process restarted. Readiness asks the database, the cache and the channel layer,
each within a short budget, and whether every migration is applied: a load balancer takes
a process that cannot serve out of rotation. The answer names the checks and says ok or
failed, nothing more (no exception text: it is public).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import uuid

from channels.layers import get_channel_layer
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.utils.cache import add_never_cache_headers
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable

# Each check's budget: a stopped Redis or database answers 503 within a few seconds
# (django-health-check adds one second for the check's own client to report first).
CHECK_TIMEOUT = datetime.timedelta(seconds=2)


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration this code knows is applied (a process started before `migrate`
    finished would serve a schema it does not match)."""

    alias: str = DEFAULT_DB_ALIAS
    timeout: datetime.timedelta = dataclasses.field(default=CHECK_TIMEOUT, repr=False)

    # Applied migrations stay applied: once seen complete, the process stops asking.
    _complete = False

    def run(self) -> None:
        if Migrations._complete:
            return
        connection = connections[self.alias]
        with connection.temporary_connection():
            executor = MigrationExecutor(connection)
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            raise ServiceUnavailable("unapplied migrations")
        Migrations._complete = True


@dataclasses.dataclass
class ChannelLayer(HealthCheck):
    """The channel layer takes a group membership and gives it back: one round trip to
    Redis each (or to the in-memory layer)."""

    alias: str = "default"
    timeout: datetime.timedelta = dataclasses.field(default=CHECK_TIMEOUT, repr=False)

    async def run(self) -> None:
        layer = get_channel_layer(self.alias)
        if layer is None:
            raise ServiceUnavailable("no channel layer")
        group = f"health.{uuid.uuid4().hex}"
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        await layer.group_discard(group, channel)


# Public names of the checks: what /readyz answers and operators alert on.
READINESS_CHECKS: dict[str, HealthCheck] = {
    "database": Database(),
    "cache": Cache(timeout=CHECK_TIMEOUT),
    "migrations": Migrations(),
    "channel_layer": ChannelLayer(),
}


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No database, cache or session is touched."""
    response = JsonResponse({"status": "ok"})
    add_never_cache_headers(response)
    return response


@transaction.non_atomic_requests
async def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every check passes, else 503 naming the failed ones."""
    results = await asyncio.gather(*(check.get_result() for check in READINESS_CHECKS.values()))
    checks = {
        name: "failed" if result.error else "ok"
        for name, result in zip(READINESS_CHECKS, results, strict=True)
    }
    ready = all(state == "ok" for state in checks.values())
    response = JsonResponse(
        {"status": "ok" if ready else "failed", "checks": checks}, status=200 if ready else 503
    )
    add_never_cache_headers(response)
    return response
