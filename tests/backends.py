"""Authentication backend of the test process only (tests/settings.py)."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class AxesBackendAllowingClientLogin(AxesStandaloneBackend):
    """django-axes counts failures per request and refuses a call without one
    (`AxesBackendRequestParameterRequired`); `django.test.Client.login` authenticates
    without a request. Such a call has no client address to count, so it skips axes here;
    every login through a view (the console's and the admin's forms, which the lockout
    tests use) still goes through it."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
