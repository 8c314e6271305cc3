"""A database lease, so that only one scheduler runs the jobs even when two are started.

One conditional UPDATE takes or renews it (or an INSERT on first use): atomic on SQLite
and PostgreSQL alike, with no advisory-lock function that only one of them has. A holder
that dies simply stops renewing; the lease is free once `expires_at` passes."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q

from support.models import SchedulerLease


def lease_take(*, name: str, owner: str, now: datetime, seconds: float) -> bool:
    """Take or renew lease `name` for `owner` until now + seconds; False while another
    owner holds an unexpired one."""
    until = now + timedelta(seconds=seconds)
    if (
        SchedulerLease.objects.filter(Q(owner=owner) | Q(expires_at__lte=now), name=name).update(
            owner=owner, expires_at=until
        )
        == 1
    ):
        return True
    try:
        # Its own savepoint: a second scheduler inserting at the same moment fails here.
        with transaction.atomic():
            SchedulerLease.objects.create(name=name, owner=owner, expires_at=until)
    except IntegrityError:
        return False
    return True


def lease_release(*, name: str, owner: str, now: datetime) -> None:
    """Give the lease up at once (a clean stop), so another scheduler need not wait."""
    SchedulerLease.objects.filter(name=name, owner=owner).update(expires_at=now)


def lease_holder(*, name: str, now: datetime) -> str | None:
    lease = SchedulerLease.objects.filter(name=name, expires_at__gt=now).first()
    return lease.owner if lease else None
