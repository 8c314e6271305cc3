"""python manage.py create_chatbot NAME --admin-email EMAIL [--agent USER]... [--origin URL]...
[--welcome TEXT] [--language CODE]"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.exceptions import ValidationError

from chatbots import services
from chatbots.serializers import ChatbotSerializer


class _Superuser:
    is_superuser = True


class _OperatorRequest:
    """The command runs as the operator: allowed to set agents."""

    user = _Superuser()


def _messages(detail: Any) -> list[str]:
    """DRF nests list items' errors in dicts ({index: [...]}): flatten to plain texts."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]


class Command(BaseCommand):
    help = "Create a chatbot; prints its public key (for the embed snippet) on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--agent", action="append", default=[], metavar="USERNAME")
        parser.add_argument("--origin", action="append", default=[], metavar="URL")
        parser.add_argument("--welcome", default=None)
        parser.add_argument(
            "--language",
            default=None,
            help="The chatbot's default language (a code of settings.LANGUAGES, e.g. de).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects
        missing = [u for u in options["agent"] if not users.filter(username=u).exists()]
        if missing:
            raise CommandError(f"No such user: {', '.join(missing)}. Create the agents first.")
        data: dict[str, Any] = {
            "name": options["name"],
            "admin_email": options["admin_email"],
            "allowed_origins": options["origin"],
            "agents": options["agent"],
        }
        if options["welcome"] is not None:
            data["welcome_text"] = options["welcome"]
        if options["language"] is not None:
            data["language"] = options["language"]
        serializer = ChatbotSerializer(data=data, context={"request": _OperatorRequest()})
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError as exc:
            detail = cast("dict[str, Any]", exc.detail)  # a serializer's errors, by field
            problems = "; ".join(
                f"{field}: {' '.join(_messages(msgs))}" for field, msgs in detail.items()
            )
            raise CommandError(problems) from None
        # Its agents can open the admin for it at once: they join the "Agents" group when
        # they are made its agents (support/permissions.py).
        chatbot = services.chatbot_create(**serializer.validated_data)
        self.stdout.write(f"Created chatbot {chatbot.name!r} (id {chatbot.id}).")
        self.stdout.write(chatbot.key)
