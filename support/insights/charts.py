"""The insights' charts as geometry that templates/console/insights_chart.html draws as SVG.

No script, no library: rectangles in a viewBox, each with its <title>, the chart with an
accessible name; the numbers stand in a table beside it. Colours come from the console's
CSS (Django admin's theme variables), so dark mode follows. Right to left (Arabic), the
bars run from the right: time and length grow in the reading direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils import formats
from django.utils.translation import ngettext

WIDTH = 300
DAY_CHART_HEIGHT = 80
METER_HEIGHT = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str
    css: str


@dataclass(frozen=True)
class Chart:
    label: str
    width: int
    height: int
    bars: list[Bar]


def _mirrored(x: float, width: float, *, rtl: bool) -> float:
    return WIDTH - x - width if rtl else x


def requests_per_day(daily: Sequence[tuple[date, int]], *, highlight_last: int, rtl: bool) -> Chart:
    """One bar per day, oldest first; the last `highlight_last` days stand out."""
    peak = max((count for _, count in daily), default=0) or 1
    slot = WIDTH / max(len(daily), 1)
    bars = []
    for index, (day, count) in enumerate(daily):
        height = (DAY_CHART_HEIGHT - 2) * count / peak
        width = slot * 0.8
        recent = index >= len(daily) - highlight_last
        bars.append(
            Bar(
                x=_mirrored(index * slot + slot * 0.1, width, rtl=rtl),
                y=DAY_CHART_HEIGHT - height,
                width=width,
                height=height,
                title=ngettext("%(day)s: %(count)s request", "%(day)s: %(count)s requests", count)
                % {"day": formats.date_format(day, "SHORT_DATE_FORMAT"), "count": count},
                css="bar bar-recent" if recent else "bar",
            )
        )
    total = sum(count for _, count in daily)
    label = ngettext(
        "Requests per day over the last %(days)s days: %(total)s request in all",
        "Requests per day over the last %(days)s days: %(total)s requests in all",
        total,
    ) % {"days": len(daily), "total": total}
    return Chart(label=label, width=WIDTH, height=DAY_CHART_HEIGHT, bars=bars)


def meter(share: float | None, *, title: str, rtl: bool) -> Chart:
    """One bar filling `share` (0..1) of the width, beside the number it draws."""
    width = WIDTH * min(max(share or 0.0, 0.0), 1.0)
    return Chart(
        label=title,
        width=WIDTH,
        height=METER_HEIGHT,
        bars=[
            Bar(
                x=_mirrored(0, width, rtl=rtl),
                y=0,
                width=width,
                height=METER_HEIGHT,
                title=title,
                css="bar",
            )
        ],
    )
