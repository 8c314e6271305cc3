"""Durations and rates in the reader's language."""

from __future__ import annotations

from datetime import timedelta

from django.utils import translation

from support.insights.formatting import humanize_duration, part_of_whole, percent


def test_short_durations_are_told_in_seconds() -> None:
    assert humanize_duration(timedelta(seconds=45)) == "45 seconds"
    assert humanize_duration(timedelta(seconds=1)) == "1 second"


def test_longer_durations_keep_their_two_largest_units() -> None:
    words = humanize_duration(timedelta(hours=3, minutes=5, seconds=9)).replace("\xa0", " ")
    assert words == "3 hours, 5 minutes"


def test_durations_and_rates_are_translated() -> None:
    with translation.override("de"):
        assert humanize_duration(timedelta(minutes=2)).replace("\xa0", " ") == "2 Minuten"
        assert humanize_duration(None) == "keine Daten"
        assert percent(0.125) == "12,5 %"
        assert part_of_whole(1, 8) == "1 von 8"


def test_a_rate_without_a_base_has_no_data() -> None:
    assert percent(None) == "no data"


def test_counts_are_grouped_as_the_reader_s_language_groups() -> None:
    with translation.override("de"):
        assert part_of_whole(1234, 56789) == "1.234 von 56.789"
