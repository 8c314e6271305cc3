"""Times in JSON answers: ISO 8601 with the zone (DESIGN.md §5)."""

from __future__ import annotations

from datetime import datetime


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
