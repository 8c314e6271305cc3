"""Encryption at rest of the columns that hold what visitors wrote (docs/operations.md).

Opt-in: with FIELD_ENCRYPTION_KEYS set (Fernet keys, the first encrypts, all decrypt) an
EncryptedTextField stores a Fernet token; unset, it stores and reads text as a TextField
does. The settings are read at each call, not at import, so a test's `settings` fixture
(and an operator's restart with new keys) take effect at once.

Look-ups cannot compare ciphertext (each encryption is randomised), so a column that must
be found by value gets a keyed hash beside it (`keyed_hash`, HMAC-SHA256 under
FIELD_HASH_KEY): a separate key, so rotating the Fernet keys leaves every hash valid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import FieldError
from django.db import models


class UndecryptableValue(Exception):
    """A stored token that none of FIELD_ENCRYPTION_KEYS decrypts (a key was removed, or
    the row was damaged): raised rather than shown, so ciphertext never reads as text."""


class EncryptedFieldNotSearchable(FieldError):
    """A filter on an encrypted column: it would compare ciphertext and find nothing."""


# Fernet's layout: version 0x80, 8-byte time, 16-byte IV, AES blocks, 32-byte HMAC.
_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_-]+={0,2}")
_TOKEN_OVERHEAD = 1 + 8 + 16 + 32
_BLOCK = 16


def encryption_enabled() -> bool:
    return bool(settings.FIELD_ENCRYPTION_KEYS)


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def current_fernet() -> MultiFernet | None:
    """The keys as configured now; None when encryption is off."""
    keys = settings.FIELD_ENCRYPTION_KEYS
    if not keys:
        return None
    return _fernet_for(tuple(keys))


def looks_like_token(value: str) -> bool:
    """Whether `value` has a Fernet token's shape. Text written before the keys were set
    has not (a visitor would have to type 100 characters of exact base64 on purpose)."""
    if not _TOKEN.fullmatch(value):
        return False
    try:
        raw = base64.urlsafe_b64decode(value)
    except (binascii.Error, ValueError):
        return False
    body = len(raw) - _TOKEN_OVERHEAD
    return body >= _BLOCK and body % _BLOCK == 0


def encrypt(value: str) -> str:
    fernet = current_fernet()
    if fernet is None:
        return value
    return fernet.encrypt(value.encode()).decode("ascii")


def decrypt(value: str, *, column: str = "") -> str:
    """Clear text of a stored value. A token no key decrypts raises UndecryptableValue;
    text that is no token (written before the keys were set) is returned as it is, and
    `rotate_encryption_keys` encrypts it."""
    fernet = current_fernet()
    if fernet is None or not looks_like_token(value):
        return value
    try:
        return fernet.decrypt(value.encode("ascii")).decode()
    except InvalidToken:
        raise UndecryptableValue(
            f"{column or 'a column'} holds a token that no key of FIELD_ENCRYPTION_KEYS "
            "decrypts (was a key removed before rotate_encryption_keys ran?)"
        ) from None


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of `value` under FIELD_HASH_KEY, hex: equal values, equal hashes, for
    look-ups; without the key it tells nothing (an unkeyed hash of an email address is
    reversed by hashing a list of addresses)."""
    key = settings.FIELD_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


class EncryptedTextField(models.TextField):
    """A text column that holds a Fernet token while FIELD_ENCRYPTION_KEYS is set.

    NULL and "" are stored as they are (they say only what the NULL would). Filters other
    than `isnull` raise EncryptedFieldNotSearchable while encryption is on: a search must
    use a keyed hash column or say that it is unavailable.
    """

    description = "Text, encrypted at rest when FIELD_ENCRYPTION_KEYS is set"

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value or not settings.FIELD_ENCRYPTION_KEYS:
            return value
        return encrypt(value)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if not value or not settings.FIELD_ENCRYPTION_KEYS:
            return value
        return decrypt(value, column=f"{self.model._meta.db_table}.{self.column}")

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull" and settings.FIELD_ENCRYPTION_KEYS:
            raise EncryptedFieldNotSearchable(
                f"{self.model.__name__}.{self.name} is encrypted (FIELD_ENCRYPTION_KEYS): "
                f"it cannot be filtered with {lookup_name!r}"
            )
        return super().get_lookup(lookup_name)
