"""The scheduler's pruning of finished task rows (django-tasks-db's table): rows finished
longer ago than TASK_RESULTS_KEEP_DAYS go; recent, waiting and running rows stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from support.upkeep import schedule

pytestmark = pytest.mark.django_db


def task_row(*, status: str, finished_days_ago: float | None) -> DBTaskResult:
    now = timezone.now()
    return DBTaskResult.objects.create(
        status=status,
        finished_at=None if finished_days_ago is None else now - timedelta(days=finished_days_ago),
        args_kwargs={"args": [1], "kwargs": {}},
        task_path="support.email.tasks.send_email_notification",
        backend_name="default",
        run_after=now - timedelta(days=40),
    )


def test_finished_task_rows_past_the_keep_days_are_pruned(settings: Any) -> None:
    settings.TASK_RESULTS_KEEP_DAYS = 14
    old_success = task_row(status=TaskResultStatus.SUCCESSFUL, finished_days_ago=30)
    recent_success = task_row(status=TaskResultStatus.SUCCESSFUL, finished_days_ago=2)
    waiting = task_row(status=TaskResultStatus.READY, finished_days_ago=None)
    running = task_row(status=TaskResultStatus.RUNNING, finished_days_ago=None)

    schedule.prune_tasks()

    kept = set(DBTaskResult.objects.values_list("id", flat=True))
    assert old_success.id not in kept
    assert {recent_success.id, waiting.id, running.id} <= kept
