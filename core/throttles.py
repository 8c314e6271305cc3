"""Rate limits for everything a stranger can call, on Django's cache (Redis in production).

Rates are settings (`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`, each an environment
variable); DRF answers 429 with `Retry-After`.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import cast

from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

from core.cache import CACHE_UNREACHABLE

logger = logging.getLogger(__name__)


class RateFromSettingsThrottle(SimpleRateThrottle):
    """Reads its rate from the settings at each request.

    DRF binds `SimpleRateThrottle.THROTTLE_RATES` to the rates dict of whatever settings
    were current when `rest_framework.throttling` was first imported; a later change
    (override_settings, a test's `settings` fixture) would never be seen.
    """

    def get_rate(self) -> str | None:
        # Rates are strings ("5/min"); the stubs type the setting's values as numbers.
        rates = cast("dict[str, str | None]", api_settings.DEFAULT_THROTTLE_RATES)
        if self.scope not in rates:
            raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r}.")
        return rates[self.scope]

    def allow_request(self, request: Request, view: APIView) -> bool:
        # Fail open: with the cache (Redis) down, a visitor's message must still reach the
        # database rather than answer 500. The limit resumes when the cache is back.
        try:
            return super().allow_request(request, view)
        except CACHE_UNREACHABLE:
            logger.warning("rate limit %s not applied: the cache is unreachable", self.scope)
            return True


class PerIPThrottle(RateFromSettingsThrottle):
    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PerSessionThrottle(RateFromSettingsThrottle):
    """Keyed by the visitor's chat session (from the bearer token), else not applied."""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        session = getattr(request.auth, "session", None)
        if session is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": session.session_id}


def client_ip(*, remote_addr: str | None, forwarded_for: str | None) -> str | None:
    """The client's address as the HTTP throttles see it (DRF's `get_ident`: NUM_PROXIES
    and X-Forwarded-For), for a caller that is not a DRF request, e.g. a WebSocket scope.
    Behind a proxy the socket's own peer is the proxy: every visitor would share its budget."""
    headers = {} if forwarded_for is None else {"x-forwarded-for": forwarded_for}
    request = SimpleNamespace(META={"REMOTE_ADDR": remote_addr}, headers=headers)
    return BaseThrottle().get_ident(request)  # type: ignore[arg-type]


def per_ip(scope_name: str) -> type[PerIPThrottle]:
    return type(f"{scope_name}_ip", (PerIPThrottle,), {"scope": f"{scope_name}_ip"})


def per_session(scope_name: str) -> type[PerSessionThrottle]:
    return type(f"{scope_name}_session", (PerSessionThrottle,), {"scope": f"{scope_name}_session"})
