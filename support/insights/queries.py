"""The insights' figures per chatbot and window, in a fixed number of queries.

Whatever the number of requests and chatbots, the page runs: the chatbots one serves,
the request figures (one GROUP BY chatbot with a FILTER per window), the requests per
day, the email figures, and on SQLite the durations for the percentiles. Every time is
measured from the request's creation, the handoff (never from the bot chat before it).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from chatbots.models import Chatbot
from support.models import EmailNotification, EmailStatus, SupportRequest

WINDOWS = (7, 30)  # days; the longest one bounds every query
LONGEST = max(WINDOWS)
FRACTIONS = (0.5, 0.9)  # median, p90
# The durations whose median and p90 are shown: name → the moment that ends it.
DURATIONS = {
    "join": "admin_joined_at",
    "response": "first_response_at",
    "resolution": "resolved_at",
}
# SQLite has no percentile function: the durations come to Python, the newest this many
# requests of the longest window at most, so that a big SQLite install stays bounded (its
# percentiles are then those of the newest requests, and the page says so).
SQLITE_PERCENTILE_ROWS = 50_000
# What the delivery rate divides by: emails handed to the provider, whatever came of them.
EMAIL_ATTEMPTED = (
    EmailStatus.SENT,
    EmailStatus.DELIVERED,
    EmailStatus.BOUNCED,
    EmailStatus.FAILED,
)


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont (interpolated, as `percentile_cont` below)."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    output_field = DurationField()

    def __init__(self, expression: Any, *, fraction: float, **extra: Any) -> None:
        # A float of ours, never user input: safe to write into the SQL.
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class Percentiles:
    median: timedelta | None = None
    p90: timedelta | None = None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class WindowFigures:
    days: int
    requests: int = 0
    resolved: int = 0
    # Requests resolved at least once (resolved now, or reopened since): the reopen
    # rate's base.
    ever_resolved: int = 0
    reopened: int = 0
    emails_delivered: int = 0
    emails_attempted: int = 0
    times: dict[str, Percentiles] = field(default_factory=dict)

    @property
    def resolution_rate(self) -> float | None:
        return _rate(self.resolved, self.requests)

    @property
    def reopen_rate(self) -> float | None:
        return _rate(self.reopened, self.ever_resolved)

    @property
    def delivery_rate(self) -> float | None:
        return _rate(self.emails_delivered, self.emails_attempted)

    def time(self, name: str) -> Percentiles:
        return self.times.get(name, Percentiles())


@dataclass
class ChatbotInsights:
    chatbot_id: int
    name: str
    windows: dict[int, WindowFigures]
    daily: list[tuple[date, int]]  # the last LONGEST days, oldest first, today last


@dataclass
class Insights:
    chatbots: list[ChatbotInsights]
    now: datetime
    # SQLite only: the percentiles were computed on the newest SQLITE_PERCENTILE_ROWS.
    percentiles_sampled: bool = False


def insights_for(
    *, user: Any, now: datetime | None = None, sqlite_rows: int = SQLITE_PERCENTILE_ROWS
) -> Insights:
    """The figures of the chatbots `user` serves (superusers: all; others: none).

    `sqlite_rows`: on SQLite, the most requests whose durations are read for percentiles."""
    now = now or timezone.now()
    chatbots = list(
        Chatbot.objects.served_by(user).order_by("name", "id").values_list("id", "name")
    )
    if not chatbots:
        return Insights(chatbots=[], now=now)
    ids = [chatbot_id for chatbot_id, _ in chatbots]
    since = {days: now - timedelta(days=days) for days in WINDOWS}
    figures = {
        chatbot_id: {days: WindowFigures(days=days) for days in WINDOWS} for chatbot_id in ids
    }
    in_db = connection.vendor == "postgresql"
    _request_figures(ids, since, figures, percentiles_in_db=in_db)
    _email_figures(ids, since, figures)
    sampled = False if in_db else _percentiles_in_python(ids, since, figures, limit=sqlite_rows)
    daily = _daily_counts(ids, now)
    return Insights(
        chatbots=[
            ChatbotInsights(
                chatbot_id=chatbot_id,
                name=name,
                windows=figures[chatbot_id],
                daily=daily[chatbot_id],
            )
            for chatbot_id, name in chatbots
        ],
        now=now,
        percentiles_sampled=sampled,
    )


def _window_requests(ids: Sequence[int], since: dict[int, datetime]) -> Any:
    return SupportRequest.objects.filter(chatbot_id__in=ids, created_at__gte=since[LONGEST])


def _duration(name: str) -> Any:
    return F(DURATIONS[name]) - F("created_at")


def _request_figures(
    ids: Sequence[int],
    since: dict[int, datetime],
    figures: dict[int, dict[int, WindowFigures]],
    *,
    percentiles_in_db: bool,
) -> None:
    resolved = Q(resolved_at__isnull=False)
    reopened = Q(reopened_count__gt=0)
    annotations: dict[str, Any] = {}
    for days in WINDOWS:
        in_window = Q(created_at__gte=since[days])
        annotations[f"requests_{days}"] = Count("id", filter=in_window)
        annotations[f"resolved_{days}"] = Count("id", filter=in_window & resolved)
        annotations[f"ever_resolved_{days}"] = Count("id", filter=in_window & (resolved | reopened))
        annotations[f"reopened_{days}"] = Count("id", filter=in_window & reopened)
        if percentiles_in_db:
            for name, end in DURATIONS.items():
                for fraction in FRACTIONS:
                    annotations[f"{name}_{fraction}_{days}"] = PercentileCont(
                        _duration(name),
                        fraction=fraction,
                        filter=in_window & Q(**{f"{end}__isnull": False}),
                    )
    rows: Iterable[dict[str, Any]] = (
        _window_requests(ids, since).values("chatbot_id").annotate(**annotations).order_by()
    )
    for row in rows:
        for days in WINDOWS:
            window = figures[row["chatbot_id"]][days]
            window.requests = row[f"requests_{days}"]
            window.resolved = row[f"resolved_{days}"]
            window.ever_resolved = row[f"ever_resolved_{days}"]
            window.reopened = row[f"reopened_{days}"]
            if percentiles_in_db:
                window.times = {
                    name: Percentiles(
                        median=row[f"{name}_{FRACTIONS[0]}_{days}"],
                        p90=row[f"{name}_{FRACTIONS[1]}_{days}"],
                    )
                    for name in DURATIONS
                }


def _email_figures(
    ids: Sequence[int], since: dict[int, datetime], figures: dict[int, dict[int, WindowFigures]]
) -> None:
    """The emails of the window's requests (the window is the request's, as elsewhere)."""
    delivered = Q(status=EmailStatus.DELIVERED)
    attempted = Q(status__in=EMAIL_ATTEMPTED)
    annotations: dict[str, Any] = {}
    for days in WINDOWS:
        in_window = Q(support_request__created_at__gte=since[days])
        annotations[f"delivered_{days}"] = Count("id", filter=in_window & delivered)
        annotations[f"attempted_{days}"] = Count("id", filter=in_window & attempted)
    # Annotated under computed names, which the stubs' TypedDict rows cannot spell.
    rows = cast(
        "Iterable[dict[str, Any]]",
        EmailNotification.objects.filter(
            support_request__chatbot_id__in=ids,
            support_request__created_at__gte=since[LONGEST],
        )
        .values("support_request__chatbot_id")
        .annotate(**annotations)
        .order_by(),
    )
    for row in rows:
        for days in WINDOWS:
            window = figures[row["support_request__chatbot_id"]][days]
            window.emails_delivered = row[f"delivered_{days}"]
            window.emails_attempted = row[f"attempted_{days}"]


def _percentiles_in_python(
    ids: Sequence[int],
    since: dict[int, datetime],
    figures: dict[int, dict[int, WindowFigures]],
    *,
    limit: int,
) -> bool:
    """SQLite: the window's durations in one bounded query; True when the bound cut it."""
    rows = list(
        _window_requests(ids, since)
        .order_by("-created_at")
        .values_list("chatbot_id", "created_at", *DURATIONS.values())[:limit]
    )
    samples: dict[tuple[int, int, str], list[timedelta]] = defaultdict(list)
    for chatbot_id, created_at, *ends in rows:
        for name, end in zip(DURATIONS, ends, strict=True):
            if end is None:
                continue
            for days in WINDOWS:
                if created_at >= since[days]:
                    samples[(chatbot_id, days, name)].append(end - created_at)
    for chatbot_id, windows in figures.items():
        for days, window in windows.items():
            window.times = {
                name: Percentiles(
                    *(
                        percentile_cont(samples.get((chatbot_id, days, name), []), fraction)
                        for fraction in FRACTIONS
                    )
                )
                for name in DURATIONS
            }
    return len(rows) == limit


def percentile_cont(values: Iterable[timedelta], fraction: float) -> timedelta | None:
    """PostgreSQL's percentile_cont: interpolated between the two nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _daily_counts(ids: Sequence[int], now: datetime) -> dict[int, list[tuple[date, int]]]:
    """Requests per calendar day (the current time zone) of the last LONGEST days."""
    today = timezone.localdate(now)
    days = [today - timedelta(days=back) for back in range(LONGEST - 1, -1, -1)]
    first = timezone.make_aware(datetime.combine(days[0], datetime.min.time()))
    rows = (
        SupportRequest.objects.filter(chatbot_id__in=ids, created_at__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values("chatbot_id", "day")
        .annotate(count=Count("id"))
        .order_by()
    )
    counts: dict[tuple[int, date], int] = {(r["chatbot_id"], r["day"]): r["count"] for r in rows}
    return {
        chatbot_id: [(day, counts.get((chatbot_id, day), 0)) for day in days] for chatbot_id in ids
    }
