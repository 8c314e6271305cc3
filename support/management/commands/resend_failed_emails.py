"""Queue failed emails again; with --stale, also re-enqueue rows that should have gone out.

python manage.py resend_failed_emails            # failed → queued, fresh attempts
python manage.py resend_failed_emails --stale    # and the stale sweep (cron / worker start)
python manage.py resend_failed_emails --stale --no-failed
"""

from __future__ import annotations

import argparse
import math
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from support.email import outbox


def _seconds(value: str) -> float:
    """A finite, non-negative number of seconds (argparse turns the error into usage)."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (0 or more)")
    return seconds


class Command(BaseCommand):
    help = "Requeue failed email notifications (and, with --stale, stuck queued/sending ones)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stale",
            action="store_true",
            help="Also enqueue a send task for queued rows older than --older-than, take "
            "back sending rows whose worker lease expired, and plan overdue reminders.",
        )
        parser.add_argument(
            "--older-than",
            type=_seconds,
            default=60.0,
            metavar="SECONDS",
            help="With --stale: how long a queued row may wait before it counts as stale "
            "(default: %(default)s).",
        )
        parser.add_argument(
            "--no-failed",
            dest="failed",
            action="store_false",
            help="Do not requeue failed rows (only the --stale sweep).",
        )

    def handle(
        self, *args: Any, stale: bool, older_than: float, failed: bool, **options: Any
    ) -> None:
        if failed:
            count = outbox.requeue_failed()
            self.stdout.write(f"Requeued {count} failed email(s).")
        if stale:
            result = outbox.sweep_stale(older_than=timedelta(seconds=older_than))
            self.stdout.write(
                f"Re-enqueued {result.resent} queued email(s), took back {result.taken_back} "
                f"interrupted send(s), planned {result.reminders} overdue reminder(s)."
            )
