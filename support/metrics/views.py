"""`GET /metrics`: Prometheus's text format, for a caller with `Bearer $METRICS_TOKEN`."""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from support.metrics.collector import DatabaseGauges

_database_gauges = CollectorRegistry(auto_describe=False)
_database_gauges.register(DatabaseGauges())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404  # metrics are off: as if the endpoint did not exist
    sent = request.headers.get("authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(
        _process_series() + generate_latest(_database_gauges), content_type=CONTENT_TYPE_LATEST
    )


def _process_series() -> bytes:
    """Every process's series (added up from PROMETHEUS_MULTIPROC_DIR), else this one's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
