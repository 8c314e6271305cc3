"""Who is an agent: the one rule, for HTTP, WebSocket, console, admin and email alike.

An agent is an active staff user, or an active superuser (who serves every chatbot).
Which chatbots an agent serves is `Chatbot.objects.served_by(user)`, built on this rule.
The visitor side (a chat session's token holder) lives with chat sessions in
`chatbots/visitors.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Q
from django.http import HttpRequest


@dataclass(frozen=True)
class Agent:
    user: User


class AgentRequest(HttpRequest):
    """For the type checker: a request whose user is a logged-in agent, as in a view behind
    the console's `agent_required` (an HttpRequest's user may be anonymous)."""

    user: User


def is_agent(user: AbstractBaseUser | AnonymousUser | Any | None) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and getattr(user, "is_active", False)
        and (getattr(user, "is_staff", False) or getattr(user, "is_superuser", False))
    )


def agent_for(user: AbstractBaseUser | AnonymousUser | Any | None) -> Agent | None:
    """The user as an Agent, or None when `is_agent` says no."""
    return Agent(user=cast(User, user)) if is_agent(user) else None


def agent_users(prefix: str = "") -> Q:
    """`is_agent` as a query filter on a user model (`prefix`: the path to it, e.g. "user__")."""
    return Q(**{f"{prefix}is_active": True}) & (
        Q(**{f"{prefix}is_staff": True}) | Q(**{f"{prefix}is_superuser": True})
    )
