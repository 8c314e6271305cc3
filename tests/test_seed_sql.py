"""The seed's SQL runs unchanged on whichever database this leg uses (SQLite or PostgreSQL)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.db import connection

from chatbots.models import Chatbot
from core.actors import Agent
from support import services
from support.models import SupportRequest
from tests.factories import AgentFactory, ChatbotFactory, make_session

pytestmark = pytest.mark.django_db

REQUEST_COLUMNS = [
    "id",
    "request_id",
    "chatbot_id",
    "session_id",
    "user_name",
    "user_email",
    "initial_message",
    "status",
    "admin_joined_at",
    "resolved_at",
    "created_at",
    "updated_at",
]
MESSAGE_COLUMNS = ["id", "support_request_id", "sender_type", "message", "created_at"]


def fetch(sql: str, params: list[Any] | None = None) -> list[dict[str, object]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_seed_update_of_a_chatbots_admin_email_changes_it() -> None:
    chatbot = ChatbotFactory(admin_email="old@example.com")
    other = ChatbotFactory(admin_email="other@example.com")

    with connection.cursor() as cursor:
        # The seed's statement, with the id written in as an operator would.
        cursor.execute(
            f"UPDATE chatbots SET admin_email = 'admin@yourdomain.com' WHERE id = {int(chatbot.id)};"  # noqa: S608
        )

    chatbot.refresh_from_db()
    other.refresh_from_db()
    assert chatbot.admin_email == "admin@yourdomain.com"
    assert other.admin_email == "other@example.com"


def test_seed_select_of_every_request_column_returns_the_rows_made_by_services() -> None:
    agent = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[agent])
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(
        session=session,
        user_name="Vera",
        user_email="vera@example.com",
        initial_message="My order is late",
    )
    services.request_join(support_request=support_request, agent=Agent(agent))
    services.request_resolve(support_request=support_request, agent=Agent(agent))

    rows = fetch(
        f"SELECT {', '.join(REQUEST_COLUMNS)} FROM human_support_requests "  # noqa: S608
        "WHERE request_id = %s",
        [support_request.request_id],
    )

    assert len(rows) == 1
    row = rows[0]
    assert list(row) == REQUEST_COLUMNS
    assert row["id"] == support_request.pk
    assert row["chatbot_id"] == chatbot.id
    assert row["session_id"] == session.session_id
    assert row["user_name"] == "Vera"
    assert row["user_email"] == "vera@example.com"
    assert row["initial_message"] == "My order is late"
    assert row["status"] == "resolved"
    for column in ("admin_joined_at", "resolved_at", "created_at", "updated_at"):
        assert row[column] is not None, column


def test_seed_select_of_a_request_without_name_or_email_finds_nulls() -> None:
    session, _ = make_session(ChatbotFactory())
    services.request_create(session=session, initial_message="Help")

    rows = fetch(
        "SELECT request_id FROM human_support_requests "
        "WHERE user_name IS NULL AND user_email IS NULL AND admin_joined_at IS NULL "
        "AND resolved_at IS NULL AND status = 'pending'"
    )

    assert len(rows) == 1


def test_seed_select_of_every_message_column_returns_the_conversation_in_order() -> None:
    agent = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[agent])
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(
        session=session, initial_message="My order is late"
    )
    services.request_join(support_request=support_request, agent=Agent(agent))
    services.message_post(support_request=support_request, actor=Agent(agent), text="Let me check")

    rows = fetch(
        f"SELECT {', '.join(MESSAGE_COLUMNS)} FROM human_support_messages "  # noqa: S608
        "WHERE support_request_id = %s ORDER BY id",
        [support_request.pk],
    )

    assert [list(r) for r in rows] == [MESSAGE_COLUMNS] * 3
    assert [(r["sender_type"], r["message"]) for r in rows] == [
        ("user", "My order is late"),
        ("system", "Alice joined"),
        ("admin", "Let me check"),
    ]
    assert {r["support_request_id"] for r in rows} == {support_request.pk}
    assert all(r["created_at"] is not None for r in rows)


def test_seed_join_of_requests_and_messages_runs() -> None:
    chatbot = ChatbotFactory()
    session, _ = make_session(chatbot)
    services.request_create(session=session, initial_message="Hello")

    rows = fetch(
        "SELECT r.request_id, r.status, m.sender_type, m.message, c.admin_email "
        "FROM human_support_requests r "
        "JOIN human_support_messages m ON m.support_request_id = r.id "
        "JOIN chatbots c ON c.id = r.chatbot_id "
        "JOIN chat_sessions s ON s.session_id = r.session_id "
        "WHERE c.id = %s",
        [chatbot.id],
    )

    assert [(r["status"], r["sender_type"], r["message"]) for r in rows] == [
        ("pending", "user", "Hello")
    ]
    assert rows[0]["admin_email"] == chatbot.admin_email


def test_plain_sql_insert_with_only_the_not_null_columns_gets_pending_and_timestamps() -> None:
    chatbot: Chatbot = ChatbotFactory()
    session, _ = make_session(chatbot)
    request_id = secrets.token_urlsafe(16)

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO human_support_requests "
            "(request_id, chatbot_id, session_id, initial_message) VALUES (%s, %s, %s, %s)",
            [request_id, chatbot.id, session.session_id, "Inserted by hand"],
        )

    row = fetch(
        "SELECT status, created_at, updated_at FROM human_support_requests WHERE request_id = %s",
        [request_id],
    )[0]
    assert row["status"] == "pending"
    assert row["created_at"] is not None
    assert row["updated_at"] is not None
    inserted = SupportRequest.objects.get(request_id=request_id)
    assert inserted.status == "pending"
    assert inserted.created_at is not None


def test_plain_sql_insert_of_a_message_gets_a_created_at() -> None:
    session, _ = make_session(ChatbotFactory())
    support_request, _ = services.request_create(session=session, initial_message="Hi")

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO human_support_messages (support_request_id, sender_type, message) "
            "VALUES (%s, 'admin', 'Typed in psql')",
            [support_request.pk],
        )

    row = fetch("SELECT created_at FROM human_support_messages WHERE message = 'Typed in psql'")[0]
    assert row["created_at"] is not None
