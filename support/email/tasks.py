"""Background tasks (Django's tasks API; worker: `python manage.py db_worker`).

Arguments are primary keys: the outbox row is the source of truth, a task only says
"look at it now". Running a task twice is harmless (see outbox.claim).
"""

from __future__ import annotations

from django.tasks import task

from support.email import outbox


@task()
def send_email_notification(notification_id: int) -> str:
    outcome = outbox.send_one(notification_id)
    return f"{outcome.status}: {outcome.detail}" if outcome.detail else outcome.status


@task()
def remind_if_pending(support_request_id: int) -> str:
    outcome = outbox.remind_if_pending(support_request_id)
    return f"{outcome.status}: {outcome.detail}" if outcome.detail else outcome.status
