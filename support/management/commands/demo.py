"""python manage.py demo: a demo chatbot with FAQ entries and an agent (idempotent)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from chatbots import services as chatbots
from chatbots.models import FAQEntry
from chatbots.selectors import DEMO_CHATBOT_NAME, demo_chatbot
from support.permissions import grant_agent_permissions

DEMO_AGENT = "agent"
DEMO_AGENT_DEFAULT_PASSWORD = "handoff-demo-agent"  # noqa: S105 - development only, see below
PUBLIC_LOGIN_REFUSED = (
    "The demo agent's default password is public: with DEBUG off, set DEMO_AGENT_PASSWORD."
)
SUPERUSER_NAMED_AGENT = (
    f"A superuser named {DEMO_AGENT!r} exists: the demo will not reset its password. "
    "Rename that user or run the demo on another database."
)


DEMO_FAQ = [
    (
        "What are your opening hours?",
        "We are open 9:00 to 17:00, Monday to Friday.",
        "hours open time",
    ),
    (
        "How long does shipping take?",
        "Orders ship within 2 working days; delivery takes 3 to 5 days.",
        "delivery shipping ship order arrive",
    ),
    (
        "How do I return an item?",
        "You can return any item within 30 days from your account page.",
        "return refund exchange",
    ),
    (
        "Which payment methods do you accept?",
        "We accept cards, PayPal and bank transfer.",
        "pay payment card paypal",
    ),
]


class Command(BaseCommand):
    help = "Seed the demo chatbot, its FAQ and an agent; print the demo URL and the login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        password = os.environ.get("DEMO_AGENT_PASSWORD", "")
        if not password:
            if not settings.DEBUG:
                # A staff account with a password printed in the README must not reach
                # a production database.
                raise CommandError(PUBLIC_LOGIN_REFUSED)
            password = DEMO_AGENT_DEFAULT_PASSWORD
        user_model = get_user_model()
        agent, _ = user_model.objects.get_or_create(
            username=DEMO_AGENT, defaults={"first_name": "Alice", "is_staff": True}
        )
        if agent.is_superuser:
            # Its password would become the demo's, printed on the terminal.
            raise CommandError(SUPERUSER_NAMED_AGENT)
        agent.is_staff = True
        agent.is_active = True  # the printed login must work
        agent.set_password(password)
        agent.save()

        origins = [f"http://localhost:{port}", f"http://127.0.0.1:{port}"]
        # Names are not unique: another chatbot may carry the demo's name; take the oldest.
        chatbot = demo_chatbot()
        if chatbot is None:
            chatbot = chatbots.chatbot_create(
                name=DEMO_CHATBOT_NAME,
                admin_email="admin@demo.example",
                allowed_origins=origins,
                welcome_text="Hi! I'm the demo shop's bot. Ask me about hours, shipping or returns.",
                agents=[agent],
            )
        else:
            chatbots.chatbot_update(
                chatbot=chatbot,
                allowed_origins=sorted(set(chatbot.allowed_origins) | set(origins)),
                agents={*chatbot.agents.all(), agent},
            )
        for question, answer, keywords in DEMO_FAQ:
            FAQEntry.objects.get_or_create(
                chatbot=chatbot,
                question=question,
                defaults={"answer": answer, "keywords": keywords},
            )
        # Also when the agent served it already (no "agents" change signal then).
        grant_agent_permissions(agent)

        self.stdout.write(f"Demo page:     http://localhost:{port}/demo/")
        self.stdout.write(f"Agent console: http://localhost:{port}/console/")
        self.stdout.write(f"Agent login:   {DEMO_AGENT} / {password}")
        self.stdout.write(f"Chatbot key:   {chatbot.key}")
