"""Which web origins may use a chatbot's widget (HTTP and WebSocket alike)."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from chatbots.models import Chatbot
from core.cache import CACHE_UNREACHABLE
from core.errors import ORIGIN_NOT_ALLOWED, Forbidden

logger = logging.getLogger(__name__)

_ALL_ORIGINS_CACHE_KEY = "chatbots:allowed-origins"
_ALL_ORIGINS_TTL_SECONDS = 30  # the cache only saves a query: see core/cache.py


def origin_is_allowed(*, chatbot: Chatbot, origin: str | None, own_origin: str | None) -> bool:
    """No Origin header (a server or a same-origin GET) or our own origin is always fine."""
    if not origin:
        return True
    if own_origin and origin.rstrip("/") == own_origin.rstrip("/"):
        return True
    return chatbot.allows_origin(origin)


def own_origin_of(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def ensure_origin_allowed(request: HttpRequest, chatbot: Chatbot) -> None:
    origin = request.headers.get("Origin")
    if not origin_is_allowed(chatbot=chatbot, origin=origin, own_origin=own_origin_of(request)):
        raise Forbidden(ORIGIN_NOT_ALLOWED)


def is_widget_path(path: str) -> bool:
    """The paths the widget calls cross-origin (settings.CORS_URLS_REGEX); nothing else
    (operator API, admin, console) ever answers another origin."""
    return re.match(settings.CORS_URLS_REGEX, path) is not None


def any_chatbot_allows(origin: str) -> bool:
    """For CORS preflights, which carry no body or token: the view checks precisely."""
    origins = _cached_allowed_origins()
    return "*" in origins or origin.rstrip("/") in origins


def _cached_allowed_origins() -> set[str]:
    try:
        origins = cache.get(_ALL_ORIGINS_CACHE_KEY)
    except CACHE_UNREACHABLE:
        logger.warning("allowed origins read from the database: the cache is unreachable")
        return _allowed_origins_from_database()
    if origins is None:
        origins = _allowed_origins_from_database()
        try:
            cache.set(_ALL_ORIGINS_CACHE_KEY, origins, _ALL_ORIGINS_TTL_SECONDS)
        except CACHE_UNREACHABLE:
            logger.warning("allowed origins not cached: the cache is unreachable")
    return origins


def _allowed_origins_from_database() -> set[str]:
    origins: set[str] = set()
    for allowed in Chatbot.objects.filter(is_active=True).values_list("allowed_origins", flat=True):
        origins.update(o.rstrip("/") for o in allowed or [])
    return origins


def forget_allowed_origins() -> None:
    try:
        cache.delete(_ALL_ORIGINS_CACHE_KEY)
    except CACHE_UNREACHABLE:
        # A stale entry written before the outage expires within its TTL.
        logger.warning("allowed origins not forgotten: the cache is unreachable")
