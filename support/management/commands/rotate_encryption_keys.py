"""Encrypt every encrypted column under the first of FIELD_ENCRYPTION_KEYS.

python manage.py rotate_encryption_keys                  # after adding a new first key
python manage.py rotate_encryption_keys --batch-size 200 # smaller transactions

Also encrypts what was written before the keys were set and fills the look-up hashes.
Once it has finished, the keys after the first may be removed. Output stays English
(docs/languages.md: operators' output).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.encryption import UndecryptableValue
from support.encryption import EncryptionOff, rotate


class Command(BaseCommand):
    help = "Re-encrypt every encrypted column under the first key of FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows per transaction (default 500)."
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            for progress in rotate(batch_size=batch_size):
                self.stdout.write(f"{progress.table}: {progress.done}/{progress.total}")
        except (EncryptionOff, UndecryptableValue) as error:
            # What was written before stays; fix the keys (or the row) and run it again.
            raise CommandError(str(error)) from None
        self.stdout.write("Every encrypted column is now under the first key.")
