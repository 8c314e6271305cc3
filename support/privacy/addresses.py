"""The address a visitor's data is asked for: checked, normalised, and hashed for the audit."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.crypto import salted_hmac

# Keys the audit hash apart from every other HMAC made with SECRET_KEY.
_HASH_SALT = "handoff.privacy.erasure-audit"


class InvalidAddress(ValueError):
    pass


def normalised_address(raw: str) -> str:
    """`raw` stripped and lowercase, as services.request_create stores a visitor's email;
    InvalidAddress unless it is one address. Nothing more is folded (no `+tag`, no Gmail
    dots): a similar address may be somebody else's, and their data must not go."""
    address = (raw or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidAddress(f"not an email address: {raw!r}") from None
    return address


def address_hash(address: str) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY) of a normalised address: what the audit
    keeps instead of the address. Without the key nobody can test guesses against it."""
    return salted_hmac(_HASH_SALT, address, algorithm="sha256").hexdigest()


def address_hashes(address: str) -> list[str]:
    """The address's hash under SECRET_KEY and each of SECRET_KEY_FALLBACKS: audit rows
    written before a key rotation are still found."""
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [
        salted_hmac(_HASH_SALT, address, secret=key, algorithm="sha256").hexdigest() for key in keys
    ]
