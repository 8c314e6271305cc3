"""Request-size guard for everything a stranger can call."""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse


class BodySizeLimitMiddleware:
    """Refuse bodies over MAX_BODY_BYTES with 413 before any view parses them.

    Django's own DATA_UPLOAD_MAX_MEMORY_SIZE check answers 400 and only fires when
    `request.body` is read; the API contract promises 413 with a JSON detail.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PUT", "PATCH"):
            limit = settings.MAX_BODY_BYTES
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit:
                return _too_large(limit)
            try:
                request.body  # noqa: B018 - reading enforces the limit on chunked bodies
            except RequestDataTooBig:
                return _too_large(limit)
        return self.get_response(request)


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        {
            "detail": f"Request body is larger than {limit} bytes.",
            "errors": {},
            "code": "too_large",
        },
        status=413,
    )
