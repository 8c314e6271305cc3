"""Encryption at rest of support data: rotation, look-ups by email, the confirmation limit,
the API and the seed's SQL (support/encryption.py, docs/operations.md)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from support import selectors, services
from support.email import outbox
from support.models import EmailKind, EmailNotification, SupportMessage, SupportRequest
from tests.factories import AgentFactory, ChatbotFactory, make_session
from tests.helpers import agent_client, create_request_over_http

pytestmark = pytest.mark.django_db

EMAIL = "vera@example.com"


def open_request(*, email: str = EMAIL, message: str = "My parcel arrived broken") -> Any:
    session, _ = make_session(ChatbotFactory())
    support_request, _ = services.request_create(
        session=session, user_name="Vera", user_email=email, initial_message=message
    )
    return support_request


def raw(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def raw_email_of(support_request: SupportRequest) -> str:
    return str(
        raw("SELECT user_email FROM human_support_requests WHERE id = %s", [support_request.pk])[0][
            0
        ]
    )


def rotate() -> str:
    out = StringIO()
    call_command("rotate_encryption_keys", batch_size=2, stdout=out)
    return out.getvalue()


# --- rotation -------------------------------------------------------------------------------


def test_rotation_puts_every_row_under_the_new_first_key(
    settings: Any, field_encryption: list[str]
) -> None:
    old = open_request(message="Old key's message")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *field_encryption]
    new = open_request(email="walter@example.com")
    assert SupportRequest.objects.get(pk=old.pk).initial_message == "Old key's message"

    rotate()
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key retired

    assert SupportRequest.objects.get(pk=old.pk).initial_message == "Old key's message"
    assert SupportRequest.objects.get(pk=new.pk).user_email == "walter@example.com"
    assert [m.message for m in SupportMessage.objects.filter(support_request=old)] == [
        "Old key's message"
    ]
    assert {n.recipient for n in EmailNotification.objects.filter(support_request=old)} >= {EMAIL}


def test_rotation_encrypts_rows_written_before_the_keys_and_fills_their_hashes(
    settings: Any,
) -> None:
    before = open_request()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.FIELD_HASH_KEY = "h" * 32
    assert list(selectors.requests_of_visitor(email=EMAIL)) == []  # no hash yet

    rotate()

    assert raw_email_of(before).startswith("gAAAAA")
    assert list(selectors.requests_of_visitor(email=EMAIL)) == [before]
    for (text,) in raw("SELECT text FROM chat_messages") + raw(
        "SELECT message FROM human_support_messages"
    ):
        assert text.startswith("gAAAAA")


def test_rotation_can_run_again_and_prints_its_progress(field_encryption: list[str]) -> None:
    support_request = open_request()
    open_request(email="walter@example.com")
    open_request(email="xavier@example.com")

    rotate()
    output = rotate()

    assert "human_support_requests: 2/3" in output
    assert "human_support_requests: 3/3" in output
    assert "human_support_messages: 3/3" in output
    assert SupportRequest.objects.get(pk=support_request.pk).user_email == EMAIL


def test_rotation_refuses_to_run_without_keys() -> None:
    with pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEYS is not set"):
        rotate()


def test_rotation_stops_on_a_row_no_key_decrypts(
    settings: Any, field_encryption: list[str]
) -> None:
    open_request()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(CommandError, match="no key of FIELD_ENCRYPTION_KEYS decrypts"):
        rotate()


# --- look-ups by email ------------------------------------------------------------------------


def test_requests_of_visitor_find_by_the_hash_whatever_the_case(
    field_encryption: list[str],
) -> None:
    mine = open_request()
    open_request(email="walter@example.com")

    assert list(selectors.requests_of_visitor(email=" Vera@Example.COM ")) == [mine]
    assert raw("SELECT user_email_hash FROM human_support_requests WHERE id = %s", [mine.pk]) != [
        ("",)
    ]


def test_an_erased_visitor_is_no_longer_found_by_their_address_while_encrypted(
    field_encryption: list[str],
) -> None:
    mine = open_request()
    other = open_request(email="walter@example.com")

    call_command("erase_visitor", EMAIL, "--yes", stdout=StringIO())

    assert not selectors.requests_of_visitor(email=EMAIL).exists()
    assert raw("SELECT user_email_hash FROM human_support_requests WHERE id = %s", [mine.pk]) == [
        ("",)
    ]
    assert list(selectors.requests_of_visitor(email="walter@example.com")) == [other]


def test_requests_of_visitor_match_the_address_in_any_case_without_keys() -> None:
    mine = open_request()
    open_request(email="walter@example.com")

    assert list(selectors.requests_of_visitor(email="VERA@example.com")) == [mine]
    assert SupportRequest.objects.get(pk=mine.pk).user_email_hash == ""


def test_the_confirmation_limit_holds_while_recipients_are_encrypted(
    settings: Any, field_encryption: list[str]
) -> None:
    settings.VISITOR_CONFIRMATION_INTERVAL_MINUTES = 60
    open_request(email="vic.tim+1@gmail.com")
    open_request(email="victim@googlemail.com")
    open_request(email="someone.else@example.com")

    confirmations = EmailNotification.objects.filter(kind=EmailKind.VISITOR_CONFIRMATION)
    assert sorted(c.recipient for c in confirmations) == [
        "someone.else@example.com",
        "vic.tim+1@gmail.com",
    ]
    assert all("@" not in c.recipient_key for c in confirmations)


def test_a_second_reminder_is_refused_while_recipients_are_encrypted(
    field_encryption: list[str],
) -> None:
    support_request = open_request()

    first = outbox.remind_if_pending(support_request.pk)
    second = outbox.remind_if_pending(support_request.pk)

    assert second.detail == "already reminded", first
    assert support_request.email_notifications.filter(kind=EmailKind.PENDING_REMINDER).count() == 1


# --- what people see --------------------------------------------------------------------------


def test_the_api_shows_the_clear_text_with_keys(field_encryption: list[str]) -> None:
    agent = AgentFactory()
    chatbot = ChatbotFactory(agents=[agent])
    support_request = create_request_over_http(chatbot, user_name="Vera", user_email=EMAIL)
    url = f"/human-support/requests/{support_request.request_id}"

    details = agent_client(agent).get(url).json()
    messages = agent_client(agent).get(f"{url}/messages").json()["messages"]

    assert (details["user_name"], details["user_email"], details["initial_message"]) == (
        "Vera",
        EMAIL,
        "My parcel arrived broken",
    )
    assert [m["text"] for m in messages] == ["My parcel arrived broken"]
    assert raw_email_of(support_request).startswith("gAAAAA")


def test_the_seeds_select_of_every_column_runs_and_returns_ciphertext(
    field_encryption: list[str],
) -> None:
    support_request = open_request()

    rows = raw("SELECT * FROM human_support_requests")
    messages = raw("SELECT * FROM human_support_messages")

    assert len(rows) == 1
    assert len(messages) == 1
    assert EMAIL not in repr(rows)
    assert "Vera" not in repr(rows)
    assert support_request.request_id in repr(rows)  # the other columns stay readable
