"""The agent's buttons on a request (Join, Resolve, Close), shared by the console and the
Django admin, so both offer the same moves and call the same services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_stubs_ext import StrOrPromise

from core.actors import Agent
from support import services
from support.models import SupportRequest


@dataclass(frozen=True)
class RequestAction:
    name: str  # in URLs and form posts
    label: StrOrPromise  # the button
    # "3 requests joined.": ngettext_lazy keyed by "count", filled with `done % {"count": n}`
    # (Arabic has six plural forms: a singular and a plural string would not do).
    done: StrOrPromise
    run: Callable[[SupportRequest, Agent], SupportRequest]


REQUEST_ACTIONS: dict[str, RequestAction] = {
    action.name: action
    for action in [
        RequestAction(
            name="join",
            label=_("Join"),
            done=ngettext_lazy("%(count)d request joined.", "%(count)d requests joined.", "count"),
            run=lambda r, agent: services.request_join(support_request=r, agent=agent),
        ),
        RequestAction(
            name="resolve",
            label=_("Resolve"),
            done=ngettext_lazy(
                "%(count)d request resolved.", "%(count)d requests resolved.", "count"
            ),
            run=lambda r, agent: services.request_resolve(support_request=r, agent=agent),
        ),
        RequestAction(
            name="close",
            label=_("Close"),
            done=ngettext_lazy("%(count)d request closed.", "%(count)d requests closed.", "count"),
            run=lambda r, agent: services.request_close(support_request=r, actor=agent),
        ),
    ]
}
