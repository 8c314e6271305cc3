"""Prometheus metrics (docs/operations.md): the series (series.py), where the domain's are
counted (recording.py, from support/signals.py and the consumers), the gauges read from the
database at scrape time (collector.py), the HTTP and database series
(instrumentation.py) and the token-guarded `/metrics` endpoint (views.py)."""
