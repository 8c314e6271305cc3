"""System checks of `manage.py check --deploy` for Handoff's own settings."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


@register(Tags.security, deploy=True)
def frontend_url_is_public(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Every admin and agent email links to FRONTEND_URL: a localhost default would send
    them all to a page nobody can open."""
    url = urlsplit(settings.FRONTEND_URL)
    if url.scheme == "https" and url.hostname and url.hostname not in LOCAL_HOSTS:
        return []
    return [
        Warning(
            f"FRONTEND_URL is {settings.FRONTEND_URL!r}: the links in notification emails "
            "would not reach the console.",
            hint="Set FRONTEND_URL to the public HTTPS address, e.g. https://handoff.example.com.",
            id="handoff.W001",
        )
    ]
