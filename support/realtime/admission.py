"""Who is on a socket, and may they be there. Synchronous: consumers call these through
channels.db.database_sync_to_async.

Visitors: `?token=` (the session's bearer token), from the chatbot's allowed origins.
Agents: the Django session cookie (AuthMiddlewareStack), from the site's own hosts only,
so that a page on another site cannot ride a logged-in agent's cookie (cross-site
WebSocket hijacking: browsers send cookies with cross-site WebSocket handshakes).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

from chatbots.ids import can_exist
from chatbots.models import Chatbot
from chatbots.origins import origin_is_allowed
from chatbots.selectors import session_for_token
from chatbots.visitors import Visitor
from core.actors import Agent, agent_for
from core.errors import NotFound
from support import languages, selectors
from support.models import SupportRequest
from support.realtime.frames import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED

# A Channels scope: read-only here (the consumers' `_ChannelScope` TypedDict fits).
Scope = Mapping[str, Any]


class Refused(Exception):
    """The connection is refused; the socket is closed with `code`."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RequestAdmission:
    actor: Visitor | Agent
    support_request: SupportRequest
    session_key: str | None  # the agent's Django session (None for visitors)
    language: str  # of the socket's error frames (support/languages.py)


@dataclass(frozen=True)
class QueueAdmission:
    agent: Agent
    chatbot_ids: frozenset[int]
    session_key: str | None
    language: str


# --- scope helpers ----------------------------------------------------------------------


def header(scope: Scope, name: str) -> str | None:
    wanted = name.lower().encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


def query_param(scope: Scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    found = values.get(name)
    return found[0] if found else None


def session_key_of(scope: Scope) -> str | None:
    session = scope.get("session")
    return getattr(session, "session_key", None) if session is not None else None


def session_fingerprint(session_key: str) -> str:
    """What an AccessEvent carries instead of the session key itself (a credential)."""
    return hashlib.sha256(session_key.encode()).hexdigest()


# --- origins ----------------------------------------------------------------------------


def agent_origin_allowed(scope: Scope) -> bool:
    """The site's own pages only: Origin's host and port are exactly the Host we were
    reached at, or the origin is listed in CSRF_TRUSTED_ORIGINS (behind a proxy that
    rewrites Host). Not ALLOWED_HOSTS: it matches host names without their port, and
    `.example.com` entries match every subdomain, while browsers send an agent's cookie on
    a handshake from another port or a sibling subdomain (same site, SameSite=Lax).

    No Origin header: not a browser (browsers always send one on WebSocket handshakes),
    so not a hijacking page; scripts and the test clients may connect.
    """
    origin = header(scope, "origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    if not parts.hostname:  # "null" (sandboxed frames, file://) and garbage
        return False
    host = header(scope, "host")
    if host and parts.netloc.lower() == host.lower():
        return True
    trusted = [o.rstrip("/").lower() for o in settings.CSRF_TRUSTED_ORIGINS]
    return origin.rstrip("/").lower() in trusted


def visitor_origin_allowed(scope: Scope, chatbot: Chatbot) -> bool:
    origin = header(scope, "origin")
    host = header(scope, "host")
    same_site = bool(origin and host and urlsplit(origin).netloc.lower() == host.lower())
    return origin_is_allowed(
        chatbot=chatbot, origin=origin, own_origin=origin if same_site else None
    )


# --- admission --------------------------------------------------------------------------


def _scope_agent(scope: Scope) -> Agent:
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        raise Refused(CLOSE_UNAUTHENTICATED)
    agent = agent_for(user)
    if agent is None:
        raise Refused(CLOSE_FORBIDDEN)
    if not agent_origin_allowed(scope):
        raise Refused(CLOSE_FORBIDDEN)
    return agent


def _request_exists(request_id: str) -> None:
    if (
        not can_exist(request_id)
        or not SupportRequest.objects.filter(request_id=request_id).exists()
    ):
        raise Refused(CLOSE_NOT_FOUND)


def admit_to_request(scope: Scope, request_id: str) -> RequestAdmission:
    """Credentials first (4401), then the origin (4403), existence (4404), ownership (4403).

    A `token` in the query makes the caller a visitor even when the browser also holds
    an agent's cookie (the demo page), as the bearer header does over HTTP.
    """
    token = query_param(scope, "token")
    if token is not None:
        session = session_for_token(token)
        if session is None:
            raise Refused(CLOSE_UNAUTHENTICATED)
        if not visitor_origin_allowed(scope, session.chatbot):
            raise Refused(CLOSE_FORBIDDEN)
        _request_exists(request_id)
        try:
            support_request = selectors.request_for_visitor(session=session, request_id=request_id)
        except NotFound:
            raise Refused(CLOSE_FORBIDDEN) from None
        # The browser's Accept-Language on the handshake is not the widget's chosen
        # language (scripts cannot set WebSocket headers): the request's stored one is.
        return RequestAdmission(
            actor=Visitor(session=session),
            support_request=support_request,
            session_key=None,
            language=languages.visitor_language(support_request),
        )
    agent = _scope_agent(scope)
    _request_exists(request_id)
    try:
        support_request = selectors.request_for_agent(user=agent.user, request_id=request_id)
    except NotFound:
        raise Refused(CLOSE_FORBIDDEN) from None
    return RequestAdmission(
        actor=agent,
        support_request=support_request,
        session_key=session_key_of(scope),
        language=_agent_socket_language(scope, agent),
    )


def admit_to_queue(scope: Scope) -> QueueAdmission:
    agent = _scope_agent(scope)
    chatbot_ids = frozenset(Chatbot.objects.served_by(agent.user).values_list("id", flat=True))
    return QueueAdmission(
        agent=agent,
        chatbot_ids=chatbot_ids,
        session_key=session_key_of(scope),
        language=_agent_socket_language(scope, agent),
    )


def _agent_socket_language(scope: Scope, agent: Agent) -> str:
    """The agent's console language, else the handshake's Accept-Language (the browser's,
    as for the console's pages)."""
    return languages.agent_language(agent.user, header(scope, "accept-language"))


# --- re-checks (on every write, and when an AccessEvent arrives) --------------------------


def current_agent(*, user_id: int, session_key: str | None) -> Agent | None:
    """The agent as the database has them now, if their login session still holds
    (Django's own `get_user`: the session names this user and carries the hash of their
    current password, under SECRET_KEY or one of SECRET_KEY_FALLBACKS)."""
    if session_key is None:
        user = get_user_model().objects.filter(pk=user_id).first()
    else:
        user = user_of_session(session_key)
        if user is None or user.pk != user_id:
            return None
    return agent_for(user)


def user_of_session(session_key: str | None) -> Any | None:
    """The user logged in with `session_key`, or None, as `django.contrib.auth.get_user`
    decides for an HTTP request carrying that session."""
    if not session_key:
        return None
    user = get_user(cast(HttpRequest, _SessionHolder(_check_only_session(session_key))))
    return user if user.is_authenticated else None


@dataclass
class _SessionHolder:
    """What `get_user` reads of a request: its session."""

    session: SessionBase


def _check_only_session(session_key: str) -> SessionBase:
    """The session, loaded for a check that must not write it.

    Verifying a session signed under a fallback key makes Django cycle it (a new key,
    the old one deleted), and a stale one is flushed. An HTTP answer hands the browser
    the new cookie; a socket cannot, so its check would log the agent out everywhere.
    The next page load cycles or flushes it as usual.
    """
    return _check_only_store(settings.SESSION_ENGINE)(session_key)


@functools.cache
def _check_only_store(engine_path: str) -> type[SessionBase]:
    engine = import_module(engine_path)

    class CheckOnlySession(engine.SessionStore):  # type: ignore[name-defined]
        # Sessions are signed with a salt named after the store's class: keep its name.
        __qualname__ = engine.SessionStore.__qualname__

        def cycle_key(self) -> None:
            pass

        def flush(self) -> None:
            self._session_cache: dict[str, Any] = {}

    return cast(type[SessionBase], CheckOnlySession)


class SessionUserMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware with Django's `get_user` (user_of_session) instead of
    Channels' copy of it, which knows no SECRET_KEY_FALLBACKS and deletes a session that
    a rotated key signed: rotating the key would close, and log out, every agent."""

    async def resolve_scope(self, scope: Scope) -> None:
        session = scope.get("session")
        user = await database_sync_to_async(user_of_session)(getattr(session, "session_key", None))
        scope["user"]._wrapped = user if user is not None else AnonymousUser()


def agent_request_access(
    *, user_id: int, session_key: str | None, request_id: str
) -> tuple[Agent, SupportRequest] | None:
    agent = current_agent(user_id=user_id, session_key=session_key)
    if agent is None:
        return None
    try:
        return agent, selectors.request_for_agent(user=agent.user, request_id=request_id)
    except NotFound:
        return None


def agent_chatbot_ids(*, user_id: int, session_key: str | None) -> frozenset[int] | None:
    agent = current_agent(user_id=user_id, session_key=session_key)
    if agent is None:
        return None
    return frozenset(Chatbot.objects.served_by(agent.user).values_list("id", flat=True))
