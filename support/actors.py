"""Who is acting: a visitor holding a session token, or an agent (a staff user)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractUser

from chatbots.models import ChatSession


@dataclass(frozen=True)
class Visitor:
    session: ChatSession


@dataclass(frozen=True)
class Agent:
    user: AbstractUser


Actor = Visitor | Agent
