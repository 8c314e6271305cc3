"""Which web origins may use a chatbot's widget (HTTP and WebSocket alike)."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from chatbots.models import Chatbot
from support.exceptions import ORIGIN_NOT_ALLOWED, Forbidden

_ALL_ORIGINS_CACHE_KEY = "chatbots:allowed-origins"


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
    origins = cache.get(_ALL_ORIGINS_CACHE_KEY)
    if origins is None:
        origins = set()
        for allowed in Chatbot.objects.filter(is_active=True).values_list(
            "allowed_origins", flat=True
        ):
            origins.update(o.rstrip("/") for o in allowed or [])
        cache.set(_ALL_ORIGINS_CACHE_KEY, origins, 30)
    return "*" in origins or origin.rstrip("/") in origins


def forget_allowed_origins() -> None:
    cache.delete(_ALL_ORIGINS_CACHE_KEY)
