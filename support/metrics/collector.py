"""Gauges read from the database when Prometheus scrapes: exact whatever the number of
processes (no process holds them), and right after a restart."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import Count, QuerySet
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from support.models import EmailNotification, EmailStatus, RequestStatus, SupportRequest

OPEN_STATUSES = [RequestStatus.PENDING, RequestStatus.ACTIVE, RequestStatus.RESOLVED]


class DatabaseGauges(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        open_requests = GaugeMetricFamily(
            "handoff_requests_open", "Requests not closed, by status.", labels=["status"]
        )
        counts = _counts(SupportRequest.objects.filter(status__in=OPEN_STATUSES), OPEN_STATUSES)
        for status, count in counts.items():
            open_requests.add_metric([status], count)
        yield open_requests

        outbox = GaugeMetricFamily(
            "handoff_email_outbox", "Email outbox rows, by status.", labels=["status"]
        )
        statuses = list(EmailStatus)
        for status, count in _counts(EmailNotification.objects.all(), statuses).items():
            outbox.add_metric([status], count)
        yield outbox


def _counts(rows: QuerySet[Any], statuses: Sequence[str]) -> dict[str, int]:
    found = dict(rows.order_by().values_list("status").annotate(n=Count("pk")))
    return {str(status): int(found.get(status, 0)) for status in statuses}
