"""Run the scheduled upkeep jobs (support/upkeep/schedule.py) until SIGTERM or SIGINT.

python manage.py run_scheduler    # the Procfile's `scheduler`; `make run` starts one too

Two schedulers started by mistake are safe: only the holder of the database lease
(support/upkeep/lease.py) runs jobs; the other waits and takes over when it expires.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from support.upkeep.lease import lease_holder, lease_release, lease_take
from support.upkeep.schedule import Job, jobs

logger = logging.getLogger("support.upkeep.scheduler")

LEASE_NAME = "scheduler"


class Command(BaseCommand):
    help = "Run the scheduled upkeep jobs (email sweep, retention purge, task pruning)."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()

        def request_stop(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        lease_seconds = float(settings.SCHEDULER_LEASE_SECONDS)
        # Renew well before expiry, so a busy holder does not lose its lease between ticks.
        tick = max(0.2, min(5.0, lease_seconds / 3))
        schedule = jobs()
        due = dict.fromkeys((job.name for job in schedule), 0.0)  # monotonic; 0: now
        holding: bool | None = None  # unknown until the first try: its outcome is logged
        logger.info("scheduler %s: started (%s)", owner, describe(schedule))
        try:
            while not stop.is_set():
                close_old_connections()  # a long-lived process: drop broken connections
                now = timezone.now()
                held = lease_take(name=LEASE_NAME, owner=owner, now=now, seconds=lease_seconds)
                if held != holding:
                    holding = held
                    if held:
                        logger.info("scheduler %s: holds the lease; running jobs", owner)
                    else:
                        holder = lease_holder(name=LEASE_NAME, now=now)
                        logger.info("scheduler %s: lease held by %s; waiting", owner, holder)
                if held:
                    for job in schedule:
                        if stop.is_set():
                            break
                        if time.monotonic() >= due[job.name]:
                            run_job(job)
                            due[job.name] = time.monotonic() + job.every_seconds
                stop.wait(tick)
        finally:
            if holding:
                lease_release(name=LEASE_NAME, owner=owner, now=timezone.now())
            logger.info("scheduler %s: stopped", owner)


def run_job(job: Job) -> None:
    """Run one job and log its outcome in one line; a failing job does not stop the rest."""
    started = time.monotonic()
    try:
        outcome = job.run()
    except Exception:
        logger.exception("job %s: failed after %.1fs", job.name, time.monotonic() - started)
        close_old_connections()
        return
    logger.info("job %s: ok in %.1fs: %s", job.name, time.monotonic() - started, outcome)


def describe(schedule: list[Job]) -> str:
    return ", ".join(f"{job.name} every {job.every_seconds:g}s" for job in schedule)
