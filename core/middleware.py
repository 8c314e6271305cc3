"""Request-size guard for everything a stranger can call."""

import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

# The JSON API and the widget's endpoints: small bodies only. Elsewhere (the admin's
# forms, an email provider's batched tracking webhook) Django's DATA_UPLOAD_MAX_MEMORY_SIZE
# applies, which is larger.
LIMITED_PATHS = re.compile(r"^/(api|human-support)/")
TOO_LARGE = _("Request body is larger than {limit} bytes.")


class BodySizeLimitMiddleware:
    """Refuse API bodies over MAX_BODY_BYTES with 413 before any view parses them.

    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check answers 400 and only fires when
    `request.body` is read; the API contract promises 413 with a JSON detail.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PUT", "PATCH") and LIMITED_PATHS.match(request.path_info):
            limit = settings.MAX_BODY_BYTES
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                return _too_large(request, limit)
            try:
                # Reading enforces a limit on chunked bodies too (Django stops reading
                # past DATA_UPLOAD_MAX_MEMORY_SIZE); the length check brings it to ours.
                if len(request.body) > limit:
                    return _too_large(request, limit)
            except RequestDataTooBig:
                return _too_large(request, limit)
        return self.get_response(request)


def _too_large(request: HttpRequest, limit: int) -> JsonResponse:
    # This guard runs before LocaleMiddleware (nothing else should read a body first), so
    # it picks the language from the request itself, as LocaleMiddleware would.
    with translation.override(translation.get_language_from_request(request)):
        detail = str(format_lazy(TOO_LARGE, limit=limit))
    return JsonResponse(
        {
            "detail": detail,
            "errors": {},
            "code": "too_large",
        },
        status=413,
    )
