"""Encrypted text columns (core/encryption.py), on the models that use them."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection

from chatbots import services as chatbot_services
from chatbots.models import ChatMessage
from core.encryption import (
    EncryptedFieldNotSearchable,
    UndecryptableValue,
    decrypt,
    keyed_hash,
)
from support import services
from support.models import EmailNotification, SupportMessage, SupportRequest
from tests.factories import ChatbotFactory, make_session

pytestmark = pytest.mark.django_db

NAME = "Vera Visitor"
EMAIL = "vera@example.com"
FIRST = "My parcel arrived broken"
BOT_QUESTION = "when are you open?"

# (table, column, the clear text written) for each encrypted column.
COLUMNS = [
    ("human_support_requests", "user_name", NAME),
    ("human_support_requests", "user_email", EMAIL),
    ("human_support_requests", "initial_message", FIRST),
    ("human_support_messages", "message", FIRST),
    ("chat_messages", "text", BOT_QUESTION),
    ("email_notifications", "recipient", EMAIL),
]


def make_request() -> SupportRequest:
    chatbot = ChatbotFactory()
    session, _ = make_session(chatbot)
    chatbot_services.bot_message(session=session, text=BOT_QUESTION)
    support_request, _ = services.request_create(
        session=session, user_name=NAME, user_email=EMAIL, initial_message=FIRST
    )
    return support_request


def raw_values(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 - names from COLUMNS
        return [row[0] for row in cursor.fetchall() if row[0] is not None]


@pytest.mark.parametrize(("table", "column", "text"), COLUMNS)
def test_with_keys_the_column_holds_no_clear_text(
    field_encryption: list[str], table: str, column: str, text: str
) -> None:
    make_request()

    values = raw_values(table, column)
    assert values
    assert all(text not in value and value.startswith("gAAAAA") for value in values)


@pytest.mark.parametrize(("table", "column", "text"), COLUMNS)
def test_without_keys_the_column_holds_the_clear_text(table: str, column: str, text: str) -> None:
    make_request()

    assert text in raw_values(table, column)


def test_with_keys_the_models_read_the_clear_text(field_encryption: list[str]) -> None:
    support_request = make_request()

    stored = SupportRequest.objects.get(pk=support_request.pk)
    assert (stored.user_name, stored.user_email, stored.initial_message) == (NAME, EMAIL, FIRST)
    assert SupportMessage.objects.get(support_request=stored).message == FIRST
    assert ChatMessage.objects.filter(text__isnull=False).first().text == BOT_QUESTION  # type: ignore[union-attr]
    assert EMAIL in {n.recipient for n in EmailNotification.objects.all()}


def test_a_token_no_key_decrypts_raises_instead_of_showing_ciphertext(
    settings: Any, field_encryption: list[str]
) -> None:
    support_request = make_request()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(UndecryptableValue, match=r"human_support_requests\.user_name"):
        SupportRequest.objects.get(pk=support_request.pk)


def test_an_older_key_after_the_first_still_decrypts(
    settings: Any, field_encryption: list[str]
) -> None:
    support_request = make_request()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *field_encryption]

    assert SupportRequest.objects.get(pk=support_request.pk).user_name == NAME


def test_a_row_written_before_the_keys_were_set_reads_as_it_was_written(settings: Any) -> None:
    support_request = make_request()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    settings.FIELD_HASH_KEY = "h" * 32

    assert SupportRequest.objects.get(pk=support_request.pk).initial_message == FIRST


def test_a_missing_name_stays_null_with_keys(field_encryption: list[str]) -> None:
    session, _ = make_session(ChatbotFactory())
    services.request_create(session=session, initial_message=FIRST)

    assert raw_values("human_support_requests", "user_name") == []
    assert SupportRequest.objects.filter(user_name__isnull=True).count() == 1


def test_filtering_an_encrypted_column_raises_while_keys_are_set(
    field_encryption: list[str],
) -> None:
    make_request()

    with pytest.raises(EncryptedFieldNotSearchable, match="user_email"):
        SupportRequest.objects.filter(user_email=EMAIL).exists()


def test_filtering_an_encrypted_column_works_without_keys() -> None:
    make_request()

    assert SupportRequest.objects.filter(user_email__iexact=EMAIL.upper()).exists()


def test_the_keyed_hash_follows_the_hash_key_and_not_the_fernet_keys(settings: Any) -> None:
    settings.FIELD_HASH_KEY = "a" * 32
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    before = keyed_hash(EMAIL)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert keyed_hash(EMAIL) == before
    settings.FIELD_HASH_KEY = "b" * 32
    assert keyed_hash(EMAIL) != before


def test_text_that_merely_starts_like_a_token_is_not_taken_for_one(
    field_encryption: list[str],
) -> None:
    assert decrypt("gAAAAA is how I spell my scream") == "gAAAAA is how I spell my scream"
