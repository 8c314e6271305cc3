"""HTTP authentication: visitors by bearer token, agents by Django session (DRF's own)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from chatbots.selectors import session_for_token
from support.actors import Agent, Visitor
from support.exceptions import NOT_AUTHENTICATED


class VisitorBearerAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <session token>` → the visitor of that chat session.

    Listed first, so a visitor call from a browser that also holds an agent's cookie
    (same-site demo) is treated as the visitor's and needs no CSRF token.
    """

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[AnonymousUser, Visitor] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED)
        try:
            token = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED) from None
        session = session_for_token(token)
        if session is None:
            raise exceptions.AuthenticationFailed(NOT_AUTHENTICATED)
        return AnonymousUser(), Visitor(session=session)

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def visitor_of(request: Request) -> Visitor | None:
    return request.auth if isinstance(request.auth, Visitor) else None


def agent_of(request: Request) -> Agent | None:
    user = request.user
    if user.is_authenticated and user.is_active and (user.is_staff or user.is_superuser):
        return Agent(user=user)
    return None


def require_visitor(request: Request) -> Visitor:
    visitor = visitor_of(request)
    if visitor is None:
        if request.user.is_authenticated:
            raise exceptions.PermissionDenied("Only the visitor of this session may do this.")
        raise exceptions.NotAuthenticated(NOT_AUTHENTICATED)
    return visitor


def require_agent(request: Request) -> Agent:
    agent = agent_of(request)
    if agent is None:
        if request.user.is_authenticated or visitor_of(request) is not None:
            raise exceptions.PermissionDenied("Only agents may do this.")
        raise exceptions.NotAuthenticated(NOT_AUTHENTICATED)
    return agent
