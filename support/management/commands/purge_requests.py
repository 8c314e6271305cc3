"""Delete closed requests past their chatbot's retention (RETENTION_DAYS by default).

python manage.py purge_requests             # each chatbot's retention_days, else RETENTION_DAYS
python manage.py purge_requests --days 90   # every chatbot: closed more than 90 days ago
python manage.py purge_requests --dry-run   # print what would go, delete nothing
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from support import services


class Command(BaseCommand):
    help = "Delete closed support requests older than their retention, with their data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=int,
            help="Purge requests closed more than this many days ago, for every chatbot.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only count; delete nothing.")

    def handle(self, *args: Any, days: int | None, dry_run: bool, **options: Any) -> None:
        if days is not None and days < 1:
            self.stderr.write("--days must be 1 or more")
            raise SystemExit(2)
        counts = services.purge_requests(now=timezone.now(), days=days, dry_run=dry_run)
        self.stdout.write(f"{'Would remove' if dry_run else 'Removed'} {counts}.")
