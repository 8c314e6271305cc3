"""One mapping from errors to HTTP answers: `{"detail", "errors", "code"}`."""

from __future__ import annotations

import math
from typing import Any

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError

INVALID_INPUT = _("Invalid input.")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        # The texts in the request's language (LocaleMiddleware, Accept-Language); `code`
        # stays the same word in every language.
        detail, field_errors = exc.translated()
        answer = Response(
            {"detail": detail, "errors": field_errors, "code": exc.code},
            status=exc.http_status,
        )
        retry_after_ms = getattr(exc, "retry_after_ms", None)
        if retry_after_ms is not None:
            # Busy (core/workpool.py): whole seconds, as HTTP wants them.
            answer["Retry-After"] = str(max(1, math.ceil(retry_after_ms / 1000)))
        return answer
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"detail": str(INVALID_INPUT), "errors": errors, "code": "invalid"}
        return response
    detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, Http404):
        code = "not_found"
    if response.status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = "Bearer"
    response.data = {"detail": str(detail), "errors": {}, "code": code}
    return response
