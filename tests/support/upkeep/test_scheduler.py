"""`manage.py run_scheduler` as real processes on the test database: it runs its jobs,
stops cleanly, and of two schedulers only the lease holder runs them until it dies."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from chatbots.models import Chatbot
from core.actors import Agent
from support import services
from support.management.commands.run_scheduler import run_job
from support.models import SupportRequest
from support.upkeep.lease import lease_holder, lease_release, lease_take
from support.upkeep.schedule import Job
from tests.factories import AgentFactory, ChatbotFactory, make_session
from tests.helpers import live_database_url, wait_until
from tests.servers import BASE_DIR, process_env

LEASE_SECONDS = 2


@dataclass
class Scheduler:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


StartScheduler = Callable[[], Scheduler]


@pytest.fixture
def start_scheduler(transactional_db: None) -> Iterator[StartScheduler]:
    started: list[Scheduler] = []

    def start() -> Scheduler:
        env = process_env(
            DEBUG="1",
            SECURE_SSL_REDIRECT="0",
            DATABASE_URL=live_database_url(),
            LOG_LEVEL="INFO",
            RETENTION_DAYS="30",
            SCHEDULER_SWEEP_SECONDS="0.5",
            SCHEDULER_PURGE_SECONDS="0.5",
            SCHEDULER_PRUNE_TASKS_SECONDS="0.5",
            SCHEDULER_LEASE_SECONDS=str(LEASE_SECONDS),
        )
        handle, name = tempfile.mkstemp(prefix="handoff-scheduler-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "manage.py", "run_scheduler"],
                cwd=BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        scheduler = Scheduler(process=process, log_path=log_path)
        started.append(scheduler)
        return scheduler

    yield start
    for scheduler in started:
        if scheduler.process.poll() is None:
            scheduler.process.kill()
            scheduler.process.wait(timeout=20)
        scheduler.log_path.unlink(missing_ok=True)


def old_closed_request(chatbot: Chatbot) -> SupportRequest:
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(session=session, initial_message="Hello")
    services.request_close(support_request=support_request, actor=Agent(AgentFactory()))
    SupportRequest.objects.filter(pk=support_request.pk).update(
        closed_at=timezone.now() - timedelta(days=31)
    )
    return support_request


def gone(support_request: SupportRequest) -> bool:
    return not SupportRequest.objects.filter(pk=support_request.pk).exists()


def test_the_scheduler_runs_each_job_and_stops_cleanly_on_sigterm(
    start_scheduler: StartScheduler,
) -> None:
    old = old_closed_request(ChatbotFactory())
    scheduler = start_scheduler()

    wait_until(lambda: gone(old), what="the purge job")
    wait_until(
        lambda: all(
            f"job {name}: ok" in scheduler.log() for name in ("sweep", "purge", "prune_tasks")
        ),
        what=f"every job logged: {scheduler.log()}",
    )

    assert scheduler.stop() == 0
    assert "stopped" in scheduler.log()
    assert lease_holder(name="scheduler", now=timezone.now()) is None  # released on stop


def test_of_two_schedulers_only_the_lease_holder_runs_jobs_until_it_is_killed(
    start_scheduler: StartScheduler,
) -> None:
    chatbot = ChatbotFactory()
    first = start_scheduler()
    wait_until(lambda: "holds the lease" in first.log(), what="the first scheduler's lease")
    second = start_scheduler()
    wait_until(lambda: "waiting" in second.log(), what="the second scheduler waiting")
    old = old_closed_request(chatbot)
    wait_until(lambda: gone(old), what="the first scheduler's purge")
    assert "job " not in second.log()

    first.process.kill()
    first.process.wait(timeout=20)
    wait_until(
        lambda: "holds the lease" in second.log(),
        timeout=LEASE_SECONDS + 20,
        what="the second scheduler taking over",
    )
    later = old_closed_request(chatbot)

    wait_until(lambda: gone(later), what="the second scheduler's purge")
    assert "job purge: ok" in second.log()


@pytest.mark.django_db
def test_a_held_lease_is_refused_to_another_owner_until_it_expires() -> None:
    now = timezone.now()

    assert lease_take(name="scheduler", owner="a", now=now, seconds=10)
    assert not lease_take(name="scheduler", owner="b", now=now, seconds=10)
    assert lease_take(name="scheduler", owner="a", now=now, seconds=10)  # a renewal
    assert lease_take(name="scheduler", owner="b", now=now + timedelta(seconds=11), seconds=10)


@pytest.mark.django_db
def test_a_released_lease_is_free_at_once() -> None:
    now = timezone.now()
    lease_take(name="scheduler", owner="a", now=now, seconds=10)

    lease_release(name="scheduler", owner="a", now=now)

    assert lease_take(name="scheduler", owner="b", now=now, seconds=10)


def test_a_job_that_raises_is_logged_and_does_not_stop_the_scheduler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> str:
        raise RuntimeError("the mail provider is down")

    with caplog.at_level(logging.INFO, logger="support.upkeep.scheduler"):
        run_job(Job("broken", 1, broken))
        run_job(Job("fine", 1, lambda: "all good"))

    assert "job broken: failed" in caplog.text
    assert "the mail provider is down" in caplog.text
    assert "job fine: ok" in caplog.text
