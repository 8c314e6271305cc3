"""django-axes on the console's and the admin's logins: a (username, address) pair is
locked after AXES_FAILURE_LIMIT failures, the page says so, an operator clears it."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, AgentFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

CONSOLE_LOGIN = "/console/login/"
ADMIN_LOGIN = "/admin/login/"
ADDRESS = "203.0.113.7"


def log_in(url: str, username: str, password: str, *, address: str = ADDRESS) -> int:
    response = Client(REMOTE_ADDR=address).post(url, {"username": username, "password": password})
    return int(response.status_code)


def fail_until_locked(url: str, username: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert log_in(url, username, "wrong password") in (200, 429)


def test_right_password_is_refused_with_the_lockout_page_after_five_failures() -> None:
    agent = AgentFactory()
    assert settings.AXES_FAILURE_LIMIT == 5
    fail_until_locked(CONSOLE_LOGIN, agent.username)

    response = Client(REMOTE_ADDR=ADDRESS).post(
        CONSOLE_LOGIN, {"username": agent.username, "password": PASSWORD}
    )

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "locked for 15 minutes" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_failures_below_the_limit_still_let_the_right_password_in() -> None:
    agent = AgentFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(CONSOLE_LOGIN, agent.username, "wrong password") == 200
    assert log_in(CONSOLE_LOGIN, agent.username, PASSWORD) == 302


def test_admin_login_is_locked_too() -> None:
    superuser = SuperuserFactory()
    fail_until_locked(ADMIN_LOGIN, superuser.username)
    assert log_in(ADMIN_LOGIN, superuser.username, PASSWORD) == 429


def test_another_username_from_the_same_address_is_not_locked() -> None:
    locked, other = AgentFactory(), AgentFactory()
    fail_until_locked(CONSOLE_LOGIN, locked.username)
    assert log_in(CONSOLE_LOGIN, other.username, PASSWORD) == 302


def test_the_same_username_from_another_address_is_not_locked() -> None:
    agent = AgentFactory()
    fail_until_locked(CONSOLE_LOGIN, agent.username)
    assert log_in(CONSOLE_LOGIN, agent.username, PASSWORD, address="198.51.100.9") == 302


def test_lockout_cleared_in_the_admin_lets_the_user_in_again() -> None:
    agent = AgentFactory()
    fail_until_locked(CONSOLE_LOGIN, agent.username)
    assert log_in(CONSOLE_LOGIN, agent.username, PASSWORD) == 429
    operator = Client()
    operator.force_login(SuperuserFactory())
    listing = operator.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200
    assert agent.username in listing.content.decode()
    attempt = AccessAttempt.objects.get(username=agent.username)

    cleared = operator.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )

    assert cleared.status_code == 302
    assert not AccessAttempt.objects.filter(username=agent.username).exists()
    assert log_in(CONSOLE_LOGIN, agent.username, PASSWORD) == 302
