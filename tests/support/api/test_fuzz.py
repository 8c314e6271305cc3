"""A bounded schemathesis run over the HTTP API (through Django's WSGI handler, on the test
database): generated calls, anonymous and as a visitor, never answer 5xx nor a status the
OpenAPI schema does not document (support/api/schema.py). Bounded: a fixed number of
examples per operation, derandomized, so a CI run takes seconds and repeats itself."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.factories import ChatbotFactory, SuperuserFactory
from tests.helpers import visitor_client

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Caller:
    headers: dict[str, str]
    cookies: dict[str, str]


# Per operation: enough to reach every branch of input checking, few enough for CI.
EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    # As Django's test client does: a finished request must not close the connection
    # that holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def visitor_token(db: None) -> str:
    return visitor_client(ChatbotFactory()).token


@pytest.fixture
def superuser(db: None) -> Caller:
    """A logged-in superuser's cookies and CSRF token: every agent endpoint, and chatbots'
    creation and changes, take generated bodies too."""
    client = Client()
    client.force_login(SuperuserFactory())
    csrf = "c" * 32
    return Caller(
        headers={"X-CSRFToken": csrf},
        cookies={"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf},
    )


# schemathesis's own pytest plugin does not run under pytest 9: its cases are drawn here.
def test_generated_calls_get_only_documented_statuses_and_no_server_error(
    api_schema: Any, visitor_token: str, superuser: Caller
) -> None:
    checks = [not_a_server_error, status_code_conformance]
    callers = [
        Caller(headers={}, cookies={}),
        Caller(headers={"Authorization": f"Bearer {visitor_token}"}, cookies={}),
        superuser,
    ]
    for found in api_schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def calls(case: Any) -> None:
            generated = dict(case.cookies or {})
            for caller in callers:
                # The transport's cookie jar would drop a Cookie header: cookies go here.
                case.cookies = {**generated, **caller.cookies}
                case.call_and_validate(headers=caller.headers, checks=checks)

        calls()
