"""The scheduled jobs and how often each runs (SCHEDULER_*_SECONDS, README)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from support.email import outbox
from support.upkeep.retention import purge_requests

# As `resend_failed_emails --stale`: a queued row this old missed its on-commit enqueue.
STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: Callable[[], str]  # returns its outcome, one line for the log


def sweep() -> str:
    # Emails that should have gone out by now, and overdue pending reminders (docs/email.md).
    result = outbox.sweep_stale(older_than=STALE_AFTER)
    return f"resent {result.resent}, taken back {result.taken_back}, reminders {result.reminders}"


def purge() -> str:
    return f"removed {purge_requests(now=timezone.now())}"


def prune_tasks() -> str:
    # django-tasks-db's own pruning of finished task rows, on every queue.
    out = StringIO()
    call_command(
        "prune_db_task_results",
        queue_name="*",
        min_age_days=settings.TASK_RESULTS_KEEP_DAYS,
        stdout=out,
        verbosity=1,
    )
    return out.getvalue().strip().replace("\n", "; ") or "done"


def jobs() -> list[Job]:
    return [
        Job("sweep", settings.SCHEDULER_SWEEP_SECONDS, sweep),
        Job("purge", settings.SCHEDULER_PURGE_SECONDS, purge),
        Job("prune_tasks", settings.SCHEDULER_PRUNE_TASKS_SECONDS, prune_tasks),
    ]
