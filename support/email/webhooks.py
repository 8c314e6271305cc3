"""ESP tracking webhooks: `/anymail/{esp}/tracking/` marks outbox rows delivered / bounced.

Anymail's own views parse each ESP's payload and send its `tracking` signal; its
receiver (support/signals.py) calls `record_tracking_event`, which finds the row by the
provider's message id. In front of Anymail's
views, one guard makes basic auth (ANYMAIL_WEBHOOK_SECRET, "user:password") mandatory:
without a configured secret Anymail only warns and accepts anyone's events, and a wrong
secret would answer 400 where an HTTP client expects 401.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from anymail import urls as anymail_urls
from anymail.signals import AnymailTrackingEvent, EventType
from anymail.utils import get_request_basic_auth
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt

from core.encryption import encryption_enabled
from support.email.outbox import recipient_key_of
from support.metrics import recording
from support.models import EmailNotification, EmailStatus

logger = logging.getLogger(__name__)

app_name = "anymail"  # reverse("anymail:postmark_tracking_webhook") as with Anymail's urls

DELIVERED_EVENTS = {EventType.DELIVERED}
BOUNCED_EVENTS = {EventType.BOUNCED, EventType.REJECTED, EventType.FAILED}
# A late "delivered" must not hide a bounce, nor a duplicate event change anything.
_TRACKABLE = [EmailStatus.SENT, EmailStatus.DELIVERED]


def record_tracking_event(*, event: AnymailTrackingEvent, esp_name: str) -> None:
    """Anymail's `tracking` signal (support/signals.py): mark the row delivered / bounced."""
    if not event.message_id:
        return
    rows = EmailNotification.objects.filter(provider_message_id=str(event.message_id))
    if event.recipient:
        # One ESP message may have several recipients; ours have one each.
        if encryption_enabled():
            rows = rows.filter(recipient_key=recipient_key_of(event.recipient))
        else:
            rows = rows.filter(recipient__iexact=event.recipient)
    when = event.timestamp or timezone.now()
    if event.event_type in DELIVERED_EVENTS:
        _mark(
            rows.filter(status=EmailStatus.SENT),
            status=EmailStatus.DELIVERED,
            tracked_at=when,
            updated_at=timezone.now(),
        )
    elif event.event_type in BOUNCED_EVENTS:
        reason = event.description or event.mta_response or event.reject_reason or ""
        _mark(
            rows.filter(Q(status__in=_TRACKABLE)),
            status=EmailStatus.BOUNCED,
            tracked_at=when,
            last_error=f"{esp_name} {event.event_type}: {reason}"[:2000],
            updated_at=timezone.now(),
        )


def _mark(rows: QuerySet[EmailNotification], *, status: str, **changes: object) -> None:
    """Change the rows' status and count each (by kind) once the change commits."""
    with transaction.atomic():
        kinds = dict(rows.select_for_update().values_list("pk", "kind"))
        EmailNotification.objects.filter(pk__in=kinds).update(status=status, **changes)
        for kind in kinds.values():
            recording.email_finished(kind=kind, result=status)


def _webhook_secrets() -> list[str]:
    # The same setting, and the same shapes, as Anymail's own check behind this guard.
    secret = getattr(settings, "ANYMAIL", {}).get("WEBHOOK_SECRET") or []
    return [secret] if isinstance(secret, str) else list(secret)


def require_basic_auth(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        secrets = _webhook_secrets()
        if not secrets:
            return HttpResponse("Webhooks are off: set ANYMAIL_WEBHOOK_SECRET.", status=403)
        given = get_request_basic_auth(request) or ""
        if not any(constant_time_compare(given, secret) for secret in secrets):
            response = HttpResponse("Basic authentication required.", status=401)
            response["WWW-Authenticate"] = 'Basic realm="anymail webhooks"'
            return response
        return view(request, *args, **kwargs)

    return csrf_exempt(guarded)


def _tracking_patterns() -> list[URLPattern]:
    patterns = []
    for pattern in anymail_urls.urlpatterns:
        if isinstance(pattern, URLPattern) and "tracking" in (pattern.name or ""):
            patterns.append(
                URLPattern(
                    pattern.pattern,
                    require_basic_auth(pattern.callback),
                    pattern.default_args,
                    pattern.name,
                )
            )
    return patterns


# Only tracking webhooks: Handoff receives no inbound mail.
urlpatterns = _tracking_patterns()
