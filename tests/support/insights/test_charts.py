"""The charts' geometry: bars in proportion, mirrored right to left."""

from __future__ import annotations

from datetime import date, timedelta

from support.insights import charts


def days(*counts: int) -> list[tuple[date, int]]:
    first = date(2026, 12, 1)
    return [(first + timedelta(days=n), count) for n, count in enumerate(counts)]


def test_the_busiest_day_fills_the_height_and_the_others_follow() -> None:
    chart = charts.requests_per_day(days(2, 4, 0), highlight_last=1, rtl=False)
    heights = [bar.height for bar in chart.bars]
    assert heights[1] > heights[0] > heights[2] == 0
    assert heights[0] == heights[1] / 2


def test_the_last_days_stand_out() -> None:
    chart = charts.requests_per_day(days(1, 1, 1), highlight_last=2, rtl=False)
    assert [bar.css for bar in chart.bars] == ["bar", "bar bar-recent", "bar bar-recent"]


def test_right_to_left_the_oldest_day_is_on_the_right() -> None:
    left_to_right = charts.requests_per_day(days(1, 2), highlight_last=1, rtl=False)
    right_to_left = charts.requests_per_day(days(1, 2), highlight_last=1, rtl=True)
    assert left_to_right.bars[0].x < left_to_right.bars[1].x
    assert right_to_left.bars[0].x > right_to_left.bars[1].x
    assert right_to_left.bars[0].x + right_to_left.bars[0].width == charts.WIDTH - (
        left_to_right.bars[0].x
    )


def test_each_bar_and_the_chart_are_named() -> None:
    chart = charts.requests_per_day(days(0, 3), highlight_last=1, rtl=False)
    assert chart.label == "Requests per day over the last 2 days: 3 requests in all"
    assert chart.bars[1].title.endswith(": 3 requests")


def test_a_meter_grows_from_the_reading_start_and_stays_in_its_box() -> None:
    assert charts.meter(0.25, title="t", rtl=False).bars[0].x == 0
    assert charts.meter(0.25, title="t", rtl=True).bars[0].x == charts.WIDTH * 0.75
    assert charts.meter(1.5, title="t", rtl=False).bars[0].width == charts.WIDTH
    assert charts.meter(None, title="t", rtl=False).bars[0].width == 0
