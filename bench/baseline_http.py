"""HB: a bare async Django JSON view on daphne, the floor of bench/http_post.py.

The same path and body as Handoff's `POST /human-support/requests/{request_id}/messages`
(`{"message", "client_id"}` → 201 and the message's JSON), none of the product: no
middleware, no authentication, no rate limit, no database, no channel layer. An async view
(Django runs it on the event loop, not in the thread a sync view needs); the id is a
process-local counter.

    python -m daphne -p 9002 bench.baseline_http:application
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-baseline-http",  # noqa: S106 - no sessions, nothing signed
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        USE_TZ=True,
    )
    django.setup()

from django.core.asgi import get_asgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path

ids = itertools.count(1)


async def post_message(request: HttpRequest, request_id: str) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"detail": "Method not allowed."}, status=405)
    try:
        body = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "A JSON body is required."}, status=400)
    message = body.get("message") if isinstance(body, dict) else None
    client_id = body.get("client_id") if isinstance(body, dict) else None
    if not isinstance(message, str) or not isinstance(client_id, str | None):
        return JsonResponse({"detail": "Invalid input.", "errors": {}}, status=400)
    return JsonResponse(
        {
            "id": next(ids),
            "sender_type": "user",
            "sender_name": "Visitor",
            "text": message,
            "client_id": client_id,
            "created_at": datetime.now(UTC).isoformat(),
        },
        status=201,
    )


async def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", health),
    path("human-support/requests/<str:request_id>/messages", post_message),
]

application = get_asgi_application()
