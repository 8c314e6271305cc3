"""The agent's buttons on a request (Join, Resolve, Close), shared by the console and the
Django admin, so both offer the same moves and call the same services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.actors import Agent
from support import services
from support.models import SupportRequest


@dataclass(frozen=True)
class RequestAction:
    name: str  # in URLs and form posts
    label: str  # the button
    done: str  # "3 requests <done>."
    run: Callable[[SupportRequest, Agent], SupportRequest]


REQUEST_ACTIONS: dict[str, RequestAction] = {
    action.name: action
    for action in [
        RequestAction(
            name="join",
            label="Join",
            done="joined",
            run=lambda r, agent: services.request_join(support_request=r, agent=agent),
        ),
        RequestAction(
            name="resolve",
            label="Resolve",
            done="resolved",
            run=lambda r, agent: services.request_resolve(support_request=r, agent=agent),
        ),
        RequestAction(
            name="close",
            label="Close",
            done="closed",
            run=lambda r, agent: services.request_close(support_request=r, actor=agent),
        ),
    ]
}
