"""When an agent's access ends, their open sockets must close (docs/events.md); when it
grows, their queue socket starts hearing the new chatbot.

Removed from a chatbot, deactivated (or no longer staff), deleted, or logged out: an
AccessEvent goes, on commit, to the user's group; each of their sockets re-checks its
own access against the database and closes with 4403 if it is gone. The re-check (not
the event) decides, so an event sent for a harmless change costs one query and no more.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from chatbots.models import Chatbot
from support import events
from support.realtime.admission import session_fingerprint


def _revoked(user_id: int, chatbot_id: int | None, *, ended_session: str | None = None) -> None:
    event = events.AccessEvent(
        type="support.access_revoked", user_id=user_id, chatbot_id=chatbot_id
    )
    if ended_session is not None:
        event["ended_session"] = ended_session
    events.publish_on_commit(events.user_group(user_id), event)


def _granted(group: str, chatbot_id: int) -> None:
    events.publish_on_commit(
        group, events.AccessGrantedEvent(type="support.access_granted", chatbot_id=chatbot_id)
    )


def agents_changed(*, instance: Any, action: str, reverse: bool, pk_set: set[int] | None) -> None:
    """Chatbot.agents lost members: `chatbot.agents.remove(user)`, `user.served_chatbots
    .remove(chatbot)`, or either side's `.clear()` (whose post_clear names nobody, hence
    pre_clear; the event still goes only after the commit). Members added: their queue
    sockets join the chatbot's group."""
    if action == "post_add":
        for other in pk_set or set():
            user_id, chatbot_id = (instance.pk, other) if reverse else (other, instance.pk)
            _granted(events.user_group(user_id), chatbot_id)
        return
    if action == "post_remove":
        removed = pk_set or set()
    elif action == "pre_clear":
        related = instance.served_chatbots if reverse else instance.agents
        removed = set(related.values_list("pk", flat=True))
    else:
        return
    for other in removed:
        user_id, chatbot_id = (instance.pk, other) if reverse else (other, instance.pk)
        _revoked(user_id, chatbot_id)


def chatbot_saved(*, instance: Chatbot, created: bool) -> None:
    if created:
        _granted(events.superusers_group(), instance.pk)


def user_saved(*, instance: Any, created: bool, update_fields: frozenset[str] | None) -> None:
    if created or (update_fields is not None and set(update_fields) == {"last_login"}):
        return  # a login's own save changes no access
    # Deactivated, no longer staff or superuser: the sockets' re-check decides.
    _revoked(instance.pk, None)


def user_deleted(*, instance: Any) -> None:
    _revoked(instance.pk, None)


def logged_out(*, request: HttpRequest, user: Any) -> None:
    if user is None:
        return
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    # Sent before Django deletes the session, so the sockets cannot re-check it: the
    # event names the ended session (by fingerprint) and its sockets close outright.
    _revoked(
        user.pk,
        None,
        ended_session=session_fingerprint(session_key) if session_key else None,
    )
