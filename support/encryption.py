"""Re-encryption of every encrypted column under the first of FIELD_ENCRYPTION_KEYS
(`manage.py rotate_encryption_keys`, docs/operations.md).

Not a change of any request's state (no event, no `updated_at`): the same values are
written back, so it goes straight to the rows rather than through services.py. Each batch
is read with a row lock and written in one transaction, so a row changed meanwhile (an
erased visitor) is never written back from a stale copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import models, transaction

from chatbots.models import ChatMessage
from core.encryption import current_fernet
from support.email.outbox import recipient_key_of
from support.models import EmailNotification, SupportMessage, SupportRequest, email_hash


@dataclass(frozen=True)
class EncryptedColumns:
    model: type[models.Model]
    fields: tuple[str, ...]
    # The look-up hash kept beside them, computed again from the clear text (it fills the
    # hashes of rows written before the keys were set, and follows a new FIELD_HASH_KEY).
    hashes: tuple[str, ...] = ()


def _hash_request(row: models.Model) -> None:
    assert isinstance(row, SupportRequest)
    row.user_email_hash = email_hash(row.user_email)


def _hash_email(row: models.Model) -> None:
    assert isinstance(row, EmailNotification)
    row.recipient_key = recipient_key_of(row.recipient)


ENCRYPTED = (
    EncryptedColumns(
        SupportRequest, ("user_name", "user_email", "initial_message"), ("user_email_hash",)
    ),
    EncryptedColumns(SupportMessage, ("message",)),
    EncryptedColumns(ChatMessage, ("text",)),
    EncryptedColumns(EmailNotification, ("recipient",), ("recipient_key",)),
)
_REHASH: dict[type[models.Model], Callable[[models.Model], None]] = {
    SupportRequest: _hash_request,
    EmailNotification: _hash_email,
}


@dataclass(frozen=True)
class Progress:
    table: str
    done: int
    total: int


class EncryptionOff(Exception):
    pass


def rotate(*, batch_size: int = 500) -> Iterator[Progress]:
    """Write every encrypted column again under the first key, batch by batch, yielding
    the progress after each batch. Safe to stop and run again: a row read under any key
    (or in clear text, written before the keys were set) is written under the first."""
    if current_fernet() is None:
        raise EncryptionOff("FIELD_ENCRYPTION_KEYS is not set: there is no key to encrypt with.")
    for columns in ENCRYPTED:
        yield from _rotate_table(columns, batch_size=batch_size)


def _rotate_table(columns: EncryptedColumns, *, batch_size: int) -> Iterator[Progress]:
    model = columns.model
    manager = model._default_manager
    total = manager.count()
    table = model._meta.db_table
    rehash = _REHASH.get(model)
    done = 0
    last_pk = 0
    yield Progress(table, done, total)
    while True:
        with transaction.atomic():
            # Keyset pages, each locked while it is rewritten (a long-lived iterator would
            # hold one transaction, or write back rows changed since they were read).
            rows = list(
                manager.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")
                .only("pk", *columns.fields)[:batch_size]
            )
            if not rows:
                return
            if rehash is not None:
                for row in rows:
                    rehash(row)
            # The values were decrypted on read; the field encrypts them on write.
            manager.bulk_update(rows, [*columns.fields, *columns.hashes])
        last_pk = rows[-1].pk
        done += len(rows)
        yield Progress(table, done, max(total, done))
