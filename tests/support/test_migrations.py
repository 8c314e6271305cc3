"""Migrations: the seed's "rollback" (migrate support zero) and back, and none missing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from support import services
from tests.factories import ChatbotFactory, make_session
from tests.servers import BASE_DIR, process_env

ROOT = BASE_DIR
SUPPORT_TABLES = {"human_support_requests", "human_support_messages"}
CHATBOT_TABLES = {"chatbots", "chat_sessions", "chat_messages", "faq_entries"}


def tables() -> set[str]:
    return set(connection.introspection.table_names())


@pytest.fixture
def migrated_back(transactional_db: None) -> Iterator[None]:
    """Whatever the test does to the schema, the next test finds it fully migrated."""
    yield
    call_command("migrate", verbosity=0)


def test_migrate_support_zero_drops_the_support_tables_and_migrate_brings_them_back(
    migrated_back: None,
) -> None:
    assert tables() >= SUPPORT_TABLES | CHATBOT_TABLES

    call_command("migrate", "support", "zero", verbosity=0)

    assert tables().isdisjoint(SUPPORT_TABLES)
    assert tables() >= CHATBOT_TABLES

    call_command("migrate", verbosity=0)

    assert tables() >= SUPPORT_TABLES
    # The restored schema works for the services and keeps its database defaults.
    session, _ = make_session(ChatbotFactory())
    support_request, created = services.request_create(session=session, initial_message="Back")
    assert created
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO human_support_requests (request_id, chatbot_id, session_id, "
            "initial_message) VALUES ('by-hand', %s, %s, 'x')",
            [support_request.chatbot_id, make_session(support_request.chatbot)[0].session_id],
        )
        cursor.execute("SELECT status FROM human_support_requests WHERE request_id = 'by-hand'")
        assert cursor.fetchone() == ("pending",)


def test_migrate_support_zero_keeps_the_chatbots(migrated_back: None) -> None:
    chatbot = ChatbotFactory(name="Survivor")

    call_command("migrate", "support", "zero", verbosity=0)
    call_command("migrate", verbosity=0)

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM chatbots WHERE id = %s", [chatbot.id])
        assert cursor.fetchone() == ("Survivor",)


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration() -> None:
    out = StringIO()

    # --check exits non-zero (SystemExit) when a model change has no migration.
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)

    assert "No changes detected" in out.getvalue()


def test_the_rollback_command_works_from_the_shell(tmp_path: Path) -> None:
    env = process_env(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")

    def manage(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    manage("migrate", "--noinput")
    manage("migrate", "support", "zero", "--noinput")
    after_rollback = manage("showmigrations", "support")
    manage("migrate", "--noinput")
    after_migrate = manage("showmigrations", "support")

    assert "[X]" not in after_rollback
    assert "[ ]" in after_rollback
    assert "[ ]" not in after_migrate
    assert "[X] 0001_initial" in after_migrate
