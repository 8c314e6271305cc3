"""Ids that arrive in URLs (chatbot keys, request ids), checked before any query."""

from __future__ import annotations


def can_exist(public_id: str) -> bool:
    """False for an id no row can have: PostgreSQL refuses a NUL character in any query
    (an error, so a 500), where SQLite would only find nothing. Callers answer "not found"
    without asking the database."""
    return "\x00" not in public_id
