"""A password hasher for the test settings (tests/settings.py)."""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """One iteration: tests make many users. The hash keeps the standard
    "pbkdf2_sha256$<iterations>$..." form, so daphne processes started by the tests
    (default hashers) still verify these passwords."""

    iterations = 1
