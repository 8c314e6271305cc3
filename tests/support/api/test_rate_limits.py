"""Rate limits on everything a stranger can call: 429 with Retry-After, per IP and per session.

Rates are settings (REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], from RATE_* variables) read
at request time; counters live in Django's cache, which is Redis on the PostgreSQL+Redis
leg of the suite (settings.CACHES), so there these tests exercise Redis.
"""

from __future__ import annotations

import copy
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import override_settings
from django.urls import URLResolver, get_resolver
from rest_framework.test import APIClient

from chatbots.models import ChatMessage, ChatSession
from support.models import SupportMessage, SupportRequest
from tests.factories import FAQEntryFactory
from tests.helpers import Scene, VisitorClient, agent_client_with_csrf, join, visitor_client

pytestmark = pytest.mark.django_db

GENEROUS = "1000/min"
IP_A, IP_B = "203.0.113.10", "203.0.113.20"

SetRates = Callable[..., None]


@pytest.fixture
def set_rates(settings: Any) -> SetRates:
    """Lower some rates for one test, the way an operator would with RATE_* variables."""

    def set_(**rates: str) -> None:
        rest_framework = copy.deepcopy(settings.REST_FRAMEWORK)
        rest_framework["DEFAULT_THROTTLE_RATES"].update(rates)
        settings.REST_FRAMEWORK = rest_framework

    return set_


def assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    body = response.json()
    assert body["detail"]
    assert body["errors"] == {}


def start_session(key: str, ip: str) -> Any:
    return APIClient().post(f"/api/chatbots/{key}/sessions", REMOTE_ADDR=ip)


def bot_message(visitor: VisitorClient, ip: str) -> Any:
    return visitor.client.post(
        f"/api/sessions/{visitor.session.session_id}/messages",
        {"message": "When are you open?"},
        format="json",
        REMOTE_ADDR=ip,
    )


def create_request(visitor: VisitorClient, ip: str) -> Any:
    return visitor.client.post(
        "/human-support/request",
        {"session_id": visitor.session.session_id, "initial_message": "Hello"},
        format="json",
        REMOTE_ADDR=ip,
    )


def visitor_message(scene: Scene, ip: str, text: str = "Hello") -> Any:
    return scene.visitor.client.post(
        f"/human-support/requests/{scene.support_request.request_id}/messages",
        {"message": text},
        format="json",
        REMOTE_ADDR=ip,
    )


# --- session creation (per IP: there is no session yet) -----------------------------------


def test_session_creation_is_limited_per_ip(scene: Scene, set_rates: SetRates) -> None:
    set_rates(session_create_ip="2/min")
    key = scene.chatbot.key
    assert [start_session(key, IP_A).status_code for _ in range(2)] == [201, 201]
    before = ChatSession.objects.count()
    assert_throttled(start_session(key, IP_A))
    assert ChatSession.objects.count() == before
    assert start_session(key, IP_B).status_code == 201


def test_session_creation_uses_the_default_rate_when_none_is_lowered(scene: Scene) -> None:
    rate = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["session_create_ip"]
    allowed = int(rate.split("/")[0])
    codes = [start_session(scene.chatbot.key, IP_A).status_code for _ in range(allowed + 1)]
    assert codes == [201] * allowed + [429]


# --- bot messages ---------------------------------------------------------------------------


def test_bot_messages_are_limited_per_session_across_ips(scene: Scene, set_rates: SetRates) -> None:
    set_rates(bot_message_session="2/min", bot_message_ip=GENEROUS)
    FAQEntryFactory(chatbot=scene.chatbot)
    visitor = scene.visitor
    assert bot_message(visitor, IP_A).status_code == 200
    assert bot_message(visitor, IP_B).status_code == 200
    assert_throttled(bot_message(visitor, IP_A))
    assert ChatMessage.objects.filter(session=visitor.session).count() == 4
    assert bot_message(scene.other_visitor, IP_A).status_code == 200


def test_bot_messages_are_limited_per_ip_across_sessions(scene: Scene, set_rates: SetRates) -> None:
    set_rates(bot_message_ip="2/min", bot_message_session=GENEROUS)
    assert bot_message(scene.visitor, IP_A).status_code == 200
    assert bot_message(scene.other_visitor, IP_A).status_code == 200
    third = visitor_client(scene.chatbot)
    assert_throttled(bot_message(third, IP_A))
    assert not ChatMessage.objects.filter(session=third.session).exists()
    assert bot_message(third, IP_B).status_code == 200


# --- request creation -----------------------------------------------------------------------


def test_request_creation_is_limited_per_session_across_ips(
    scene: Scene, set_rates: SetRates
) -> None:
    set_rates(request_create_session="2/min", request_create_ip=GENEROUS)
    visitor = visitor_client(scene.chatbot)
    assert create_request(visitor, IP_A).status_code == 201
    assert create_request(visitor, IP_B).status_code == 200  # its open request, again
    assert_throttled(create_request(visitor, IP_A))
    assert create_request(visitor_client(scene.chatbot), IP_A).status_code == 201


def test_request_creation_is_limited_per_ip_across_sessions(
    scene: Scene, set_rates: SetRates
) -> None:
    set_rates(request_create_ip="2/min", request_create_session=GENEROUS)
    assert create_request(visitor_client(scene.chatbot), IP_A).status_code == 201
    assert create_request(visitor_client(scene.chatbot), IP_A).status_code == 201
    third = visitor_client(scene.chatbot)
    assert_throttled(create_request(third, IP_A))
    assert not SupportRequest.objects.filter(session=third.session).exists()
    assert create_request(third, IP_B).status_code == 201


# --- visitor messages -----------------------------------------------------------------------


def test_visitor_messages_are_limited_per_session_across_ips(
    scene: Scene, set_rates: SetRates
) -> None:
    set_rates(visitor_message_session="2/min", visitor_message_ip=GENEROUS)
    assert visitor_message(scene, IP_A).status_code == 201
    assert visitor_message(scene, IP_B).status_code == 201
    before = SupportMessage.objects.count()
    assert_throttled(visitor_message(scene, IP_A, "third"))
    assert SupportMessage.objects.count() == before


def test_visitor_messages_are_limited_per_ip_across_sessions(
    scene: Scene, set_rates: SetRates
) -> None:
    set_rates(visitor_message_ip="2/min", visitor_message_session=GENEROUS)
    assert visitor_message(scene, IP_A).status_code == 201
    assert visitor_message(scene, IP_A).status_code == 201
    other = scene.other_visitor
    other_request = other.client.post(
        "/human-support/request",
        {"session_id": other.session.session_id, "initial_message": "Hi"},
        format="json",
        REMOTE_ADDR=IP_B,
    ).json()["request_id"]
    url = f"/human-support/requests/{other_request}/messages"
    assert_throttled(other.client.post(url, {"message": "Hi"}, format="json", REMOTE_ADDR=IP_A))
    assert other.client.post(
        url, {"message": "Hi"}, format="json", REMOTE_ADDR=IP_B
    ).status_code == (201)


def test_reading_messages_is_not_limited(scene: Scene, set_rates: SetRates) -> None:
    set_rates(visitor_message_ip="1/min", visitor_message_session="1/min")
    url = f"/human-support/requests/{scene.support_request.request_id}/messages"
    codes = [scene.visitor.client.get(url, REMOTE_ADDR=IP_A).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    assert visitor_message(scene, IP_A).status_code == 201


def test_agents_messages_are_not_limited(scene: Scene, set_rates: SetRates) -> None:
    set_rates(visitor_message_ip="1/min", visitor_message_session="1/min")
    join(scene)
    agent = agent_client_with_csrf(scene.agent)
    url = f"/human-support/requests/{scene.support_request.request_id}/messages"
    codes = [
        agent.post(url, {"message": f"m{n}"}, format="json", REMOTE_ADDR=IP_A).status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 201]


# --- where the counters live ----------------------------------------------------------------


def test_throttle_counters_live_in_the_shared_cache(scene: Scene, set_rates: SetRates) -> None:
    set_rates(session_create_ip="5/min")
    start_session(scene.chatbot.key, IP_A)
    history = cache.get(f"throttle_session_create_ip_{IP_A}")
    assert isinstance(history, list)
    assert len(history) == 1
    if django_settings.REDIS_URL:
        import redis

        raw = redis.Redis.from_url(django_settings.REDIS_URL)
        assert raw.keys(f"*throttle_session_create_ip_{IP_A}")


def test_the_cache_is_redis_when_redis_url_is_set() -> None:
    backend = django_settings.CACHES["default"]["BACKEND"]
    if django_settings.REDIS_URL:
        assert backend == "django.core.cache.backends.redis.RedisCache"
    else:
        assert backend == "django.core.cache.backends.locmem.LocMemCache"


# --- configuration ----------------------------------------------------------------------------


def test_every_throttled_view_has_a_configured_rate() -> None:
    def views(patterns: list[Any]) -> list[Any]:
        found = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found += views(pattern.url_patterns)
            elif hasattr(pattern.callback, "cls"):
                found.append(pattern.callback.cls)
        return found

    scopes = {
        scope
        for view in views(get_resolver().url_patterns)
        for throttle in getattr(view, "throttle_classes", [])
        # A budget shared with the sockets (core/ratelimit.py) checks two scopes at once.
        for scope in getattr(throttle, "scopes", None) or [throttle.scope]
    }
    assert scopes == {
        "session_create_ip",
        "bot_message_ip",
        "bot_message_session",
        "request_create_ip",
        "request_create_session",
        "visitor_message_ip",
        "visitor_message_session",
    }
    rates = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert scopes <= set(rates)


def test_rates_are_read_from_the_environment() -> None:
    env = {
        **os.environ,
        "RATE_SESSION_CREATE_IP": "7/hour",
        "RATE_VISITOR_MESSAGE_SESSION": "3/second",
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "r = settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']; "
        "print(r['session_create_ip'], r['visitor_message_session'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"},
        capture_output=True,
        text=True,
        check=True,
        cwd=django_settings.BASE_DIR,
    )
    assert result.stdout.split() == ["7/hour", "3/second"]


@pytest.fixture
def dead_cache() -> Iterator[None]:
    """A Redis cache on a port nothing listens on: every call fails like an outage would."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead_redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{dead_port}/0",
        }
    }
    with override_settings(CACHES=dead_redis):
        yield


def test_visitor_messages_are_still_stored_when_the_rate_limit_cache_is_down(
    scene: Scene, dead_cache: None
) -> None:
    answer = scene.visitor.client.post(
        f"/human-support/requests/{scene.support_request.request_id}/messages",
        {"message": "Are you there?"},
        format="json",
    )
    assert answer.status_code == 201
    assert scene.support_request.messages.filter(message="Are you there?").count() == 1


def test_a_cross_origin_message_is_stored_and_answered_once_while_the_cache_is_down(
    scene: Scene, dead_cache: None
) -> None:
    # The allowed-origins list (CORS) is cached too: it falls back to the database rather
    # than answer 500 after the message is stored (the widget would then retry it).
    answer = scene.visitor.client.post(
        f"/human-support/requests/{scene.support_request.request_id}/messages",
        {"message": "From the customer's site", "client_id": "c-1"},
        format="json",
        HTTP_ORIGIN="https://customer.example",
    )
    assert answer.status_code == 201
    assert answer["Access-Control-Allow-Origin"] == "https://customer.example"
    assert scene.support_request.messages.filter(client_id="c-1").count() == 1


def test_a_chatbot_can_be_saved_while_the_cache_is_down(scene: Scene, dead_cache: None) -> None:
    scene.chatbot.allowed_origins = ["https://new.example"]
    scene.chatbot.save()
    scene.chatbot.refresh_from_db()
    assert scene.chatbot.allowed_origins == ["https://new.example"]
