"""HTTP authentication shared by the apps: the `Authorization: Bearer` scheme, and agents
by Django session (DRF's own SessionAuthentication)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from core.actors import Agent, agent_for
from core.errors import NOT_AUTHENTICATED

ONLY_AGENTS = _("Only agents may do this.")


class BearerAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` → whatever `credentials_for(token)` finds.

    A request without a bearer header is left to the next authentication class; a bearer
    header that is malformed or names nothing is refused (401), never ignored.
    """

    keyword = "Bearer"

    def credentials_for(self, token: str) -> tuple[Any, Any] | None:
        raise NotImplementedError

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED)
        try:
            token = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED) from None
        found = self.credentials_for(token)
        if found is None:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED)
        return found

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def agent_of(request: Request) -> Agent | None:
    return agent_for(request.user)


def require_agent(request: Request) -> Agent:
    """The agent calling, else 403 for anyone else who showed credentials, else 401."""
    agent = agent_of(request)
    if agent is None:
        if request.user.is_authenticated or request.auth is not None:
            raise exceptions.PermissionDenied(ONLY_AGENTS)
        raise exceptions.NotAuthenticated(NOT_AUTHENTICATED)
    return agent
