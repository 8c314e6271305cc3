"""Login protection (django-axes): the client address it counts failures by, and the page
a locked-out person sees. Wired in config/settings.py (AXES_*)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.throttles import client_ip

LOCKOUT_TEMPLATE = "axes/lockout.html"
LOCKOUT_STATUS = 429


def request_client_ip(request: HttpRequest) -> str | None:
    """The address the rate limits use too (NUM_PROXIES and X-Forwarded-For): behind a
    proxy, the socket's peer is the proxy, and everyone would share one lockout."""
    return client_ip(
        remote_addr=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.headers.get("x-forwarded-for"),
    )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    cooloff = settings.AXES_COOLOFF_TIME
    return render(
        request,
        LOCKOUT_TEMPLATE,
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff_minutes": round(cooloff.total_seconds() / 60),
        },
        status=LOCKOUT_STATUS,
    )
