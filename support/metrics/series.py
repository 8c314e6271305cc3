"""Every series Handoff exports. Counters, histograms and the socket gauge live in each
process; with PROMETHEUS_MULTIPROC_DIR set, prometheus-client keeps them in files there and
`/metrics` adds up every process's (docs/operations.md). Labels carry ids and fixed words
only, never a name or an address."""

from __future__ import annotations

import atexit
import os

from prometheus_client import Counter, Gauge, Histogram, multiprocess

# Waiting and conversation times: seconds to hours.
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
# HTTP handling and database statements: milliseconds to seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

requests_created = Counter(
    "handoff_requests_created_total", "Support requests created.", ["chatbot"]
)
wait_seconds = Histogram(
    "handoff_wait_seconds",
    "Seconds from a request's creation to an agent joining it.",
    buckets=DURATION_BUCKETS,
)
first_response_seconds = Histogram(
    "handoff_first_response_seconds",
    "Seconds from a request's creation to the first agent message.",
    buckets=DURATION_BUCKETS,
)
resolution_seconds = Histogram(
    "handoff_resolution_seconds",
    "Seconds from a request's creation to its resolution (each resolve).",
    buckets=DURATION_BUCKETS,
)
messages = Counter(
    "handoff_messages_total", "Support messages stored, by sender type.", ["sender_type"]
)
websocket_connections = Gauge(
    "handoff_websocket_connections",
    "Open WebSocket connections, by kind (visitor, agent, queue).",
    ["kind"],
    multiprocess_mode="livesum",
)
emails = Counter(
    "handoff_emails_total",
    "Emails by kind and outcome (sent, failed, delivered, bounced).",
    ["kind", "result"],
)

http_requests = Counter(
    "django_http_requests_total",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
)
http_request_seconds = Histogram(
    "django_http_request_duration_seconds",
    "Seconds to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
db_queries = Counter(
    "django_db_execute_total", "Database statements executed.", ["alias", "vendor"]
)
db_errors = Counter(
    "django_db_errors_total", "Database statements that raised.", ["alias", "vendor", "type"]
)
db_query_seconds = Histogram(
    "django_db_query_duration_seconds",
    "Seconds a database statement took.",
    ["alias", "vendor"],
    buckets=LATENCY_BUCKETS,
)

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # This process's live gauges (open sockets) stop counting when it exits.
    atexit.register(multiprocess.mark_process_dead, os.getpid())
