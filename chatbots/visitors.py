"""Who is a visitor: whoever holds a chat session's token (DESIGN.md §4).

Over HTTP the token comes as `Authorization: Bearer <token>`; on a WebSocket as `?token=`
(support/realtime/admission.py), looked up by the same `session_for_token`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.request import Request

from chatbots.models import ChatSession
from chatbots.selectors import session_for_token
from core.actors import Agent
from core.errors import NOT_AUTHENTICATED
from core.http_auth import BearerAuthentication

ONLY_THE_VISITOR = "Only the visitor of this session may do this."


@dataclass(frozen=True)
class Visitor:
    session: ChatSession


# Who may act on a conversation: its visitor, or an agent of its chatbot.
Actor = Visitor | Agent


class VisitorBearerAuthentication(BearerAuthentication):
    """The visitor of the chat session whose token is the bearer.

    Listed first, so a visitor call from a browser that also holds an agent's cookie
    (same-site demo) is treated as the visitor's and needs no CSRF token.
    """

    def credentials_for(self, token: str) -> tuple[AnonymousUser, Visitor] | None:
        session = session_for_token(token)
        if session is None:
            return None
        return AnonymousUser(), Visitor(session=session)


def visitor_of(request: Request) -> Visitor | None:
    return request.auth if isinstance(request.auth, Visitor) else None


def require_visitor(request: Request) -> Visitor:
    visitor = visitor_of(request)
    if visitor is None:
        if request.user.is_authenticated:
            raise exceptions.PermissionDenied(ONLY_THE_VISITOR)
        raise exceptions.NotAuthenticated(NOT_AUTHENTICATED)
    return visitor
