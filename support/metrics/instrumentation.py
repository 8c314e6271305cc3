"""HTTP and database series: what django-prometheus would give, which Django 6.1 cannot use
(its release 2.5.0 requires Django < 6.1; docs/decisions.md). A middleware counts and times
requests by route (the URL pattern, a bounded set: never the path with its ids); an
execute wrapper on every database connection counts and times statements."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

from support.metrics import series

UNMATCHED = "<unmatched>"


class MetricsMiddleware:
    """First in MIDDLEWARE, so that the time covers every other middleware."""

    async_capable = True
    sync_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        started = time.perf_counter()
        response = self.get_response(request)
        _record(request, response, started)
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = await self.get_response(request)
        _record(request, response, started)
        return response


def _record(request: HttpRequest, response: HttpResponseBase, started: float) -> None:
    match = getattr(request, "resolver_match", None)
    route = (match.route or match.view_name) if match is not None else UNMATCHED
    method = request.method or ""
    series.http_requests.labels(method=method, route=route, status=response.status_code).inc()
    series.http_request_seconds.labels(method=method, route=route).observe(
        time.perf_counter() - started
    )


class _StatementTimer:
    def __init__(self, alias: str, vendor: str) -> None:
        self.alias, self.vendor = alias, vendor

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: dict[str, Any],
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except Exception as error:
            series.db_errors.labels(
                alias=self.alias, vendor=self.vendor, type=type(error).__name__
            ).inc()
            raise
        finally:
            series.db_queries.labels(alias=self.alias, vendor=self.vendor).inc()
            series.db_query_seconds.labels(alias=self.alias, vendor=self.vendor).observe(
                time.perf_counter() - started
            )


@receiver(connection_created, dispatch_uid="support.metrics.connection_created")
def time_statements(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Each connection object gets one timer (the signal fires on every reconnect)."""
    if not any(isinstance(wrapper, _StatementTimer) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.append(_StatementTimer(connection.alias, connection.vendor))
