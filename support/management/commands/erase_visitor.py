"""python manage.py erase_visitor EMAIL [--yes]: erase a visitor's data (docs/operations.md)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from support.privacy.addresses import InvalidAddress, normalised_address
from support.privacy.erasure import (
    COMMAND_OPERATOR,
    ErasureCounts,
    erasure_preview,
    visitor_erase,
)


def _summary(counts: ErasureCounts) -> str:
    return (
        f"{counts.requests} request(s) anonymised and closed, {counts.messages} message(s), "
        f"{counts.transcript_messages} bot-conversation message(s) and {counts.emails} "
        f"email row(s) deleted, {counts.sessions} visitor session(s) signed out"
    )


class Command(BaseCommand):
    help = (
        "Erase a visitor's data: delete their messages, bot conversation and emails, "
        "anonymise and close their requests, end their session; writes an audit row."
    )
    # Tests (and scripts) hand the answer to the question in; a terminal types it.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The visitor's email address (case does not matter).")
        parser.add_argument(
            "--yes", action="store_true", help="Do not ask for confirmation (for scripts)."
        )

    def handle(self, *args: Any, email: str, yes: bool, **options: Any) -> None:
        try:
            address = normalised_address(email)
        except InvalidAddress as exc:
            raise CommandError(f"Refused: {exc}. Nothing erased.") from None
        if not yes:
            preview = erasure_preview(address=address)
            self.stdout.write(f"This will erase the data of {address}: {_summary(preview)}.")
            self.stdout.write("Type 'yes' to erase: ", ending="")
            self.stdout.flush()
            answer = (options.get("stdin") or sys.stdin).readline().strip().lower()
            if answer != "yes":
                raise CommandError("Not confirmed. Nothing erased.")
        counts = visitor_erase(address=address, operator=COMMAND_OPERATOR)
        self.stdout.write(f"Erased: {_summary(counts)}. An audit row records it (no address).")
