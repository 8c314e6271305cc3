"""Who is on a socket, and may they be there. Synchronous: consumers call these through
channels.db.database_sync_to_async.

Visitors: `?token=` (the session's bearer token), from the chatbot's allowed origins.
Agents: the Django session cookie (AuthMiddlewareStack), from the site's own hosts only,
so that a page on another site cannot ride a logged-in agent's cookie (cross-site
WebSocket hijacking: browsers send cookies with cross-site WebSocket handshakes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare

from chatbots.ids import can_exist
from chatbots.models import Chatbot
from chatbots.origins import origin_is_allowed
from chatbots.selectors import session_for_token
from support import selectors
from support.actors import Agent, Visitor
from support.exceptions import NotFound
from support.models import SupportRequest
from support.ws_frames import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED

Scope = dict[str, Any]


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


@dataclass(frozen=True)
class QueueAdmission:
    agent: Agent
    chatbot_ids: frozenset[int]
    session_key: str | None


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


def agent_for(user: Any) -> Agent | None:
    """The same rule as HTTP (support.http_auth.agent_of): an active staff user."""
    if (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and (user.is_staff or user.is_superuser)
    ):
        return Agent(user=user)
    return None


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
        return RequestAdmission(
            actor=Visitor(session=session), support_request=support_request, session_key=None
        )
    agent = _scope_agent(scope)
    _request_exists(request_id)
    try:
        support_request = selectors.request_for_agent(user=agent.user, request_id=request_id)
    except NotFound:
        raise Refused(CLOSE_FORBIDDEN) from None
    return RequestAdmission(
        actor=agent, support_request=support_request, session_key=session_key_of(scope)
    )


def admit_to_queue(scope: Scope) -> QueueAdmission:
    agent = _scope_agent(scope)
    chatbot_ids = frozenset(Chatbot.objects.served_by(agent.user).values_list("id", flat=True))
    return QueueAdmission(agent=agent, chatbot_ids=chatbot_ids, session_key=session_key_of(scope))


# --- re-checks (on every write, and when an AccessEvent arrives) --------------------------


def current_agent(*, user_id: int, session_key: str | None) -> Agent | None:
    """The agent as the database has them now, if their login session still holds.

    The session check mirrors django.contrib.auth.get_user: the session must still exist,
    name this user, and carry the hash of their current password.
    """
    user = get_user_model().objects.filter(pk=user_id).first()
    agent = agent_for(user)
    if agent is None:
        return None
    if session_key is not None and not _session_is_current(session_key, agent.user):
        return None
    return agent


def _session_is_current(session_key: str, user: Any) -> bool:
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    data = store.load()
    if str(data.get(SESSION_KEY)) != str(user.pk):
        return False
    stored_hash = data.get(HASH_SESSION_KEY) or ""
    return constant_time_compare(stored_hash, user.get_session_auth_hash())


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
