"""Figures in words a person reads, in the active language."""

from __future__ import annotations

from datetime import timedelta

from django.utils import formats, timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def no_data() -> str:
    return _("no data")


def humanize_duration(duration: timedelta | None) -> str:
    """ "45 seconds", "3 minutes", "2 hours, 5 minutes" (Django's own translated units)."""
    if duration is None:
        return no_data()
    seconds = max(0, round(duration.total_seconds()))
    if seconds < 60:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    end = timezone.now()
    return timesince(end - timedelta(seconds=seconds), end, depth=2)


def percent(rate: float | None) -> str:
    if rate is None:
        return no_data()
    return _("%(percent)s %%") % {"percent": formats.number_format(rate * 100, 1)}


def part_of_whole(part: int, whole: int) -> str:
    return _("%(part)s of %(whole)s") % {
        "part": count(part),
        "whole": count(whole),
    }


def count(number: int) -> str:
    """12,345 / 12.345 / 12 345: grouped as the reader's language groups."""
    return formats.number_format(number, force_grouping=True)
