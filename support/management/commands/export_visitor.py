"""python manage.py export_visitor EMAIL: everything held about a visitor, as JSON on stdout."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from support.privacy.addresses import InvalidAddress, normalised_address
from support.privacy.export import visitor_export


class Command(BaseCommand):
    help = (
        "Print every support request, message, bot conversation and email of a visitor's "
        "address as JSON (empty lists when there is none)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The visitor's email address (case does not matter).")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        try:
            address = normalised_address(email)
        except InvalidAddress as exc:
            raise CommandError(f"Refused: {exc}.") from None
        self.stdout.write(json.dumps(visitor_export(address=address), indent=2, ensure_ascii=False))
