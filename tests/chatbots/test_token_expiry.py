"""Visitor tokens expire after VISITOR_TOKEN_DAYS without use (chatbots/selectors.py),
over HTTP (401) and on sockets (4401); a use marks the session used, at most hourly."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chatbots.models import ChatSession
from core.actors import Agent
from support import services
from support.realtime.frames import CLOSE_UNAUTHENTICATED
from tests.helpers import Scene, assert_error
from tests.support.realtime.sockets import (
    async_test,
    db,
    opened,
    refused_with,
    visitor_socket,
)


def details_url(scene: Scene) -> str:
    return f"/human-support/requests/{scene.support_request.request_id}"


def last_used(scene: Scene, *, days_ago: float) -> None:
    ChatSession.objects.filter(pk=scene.visitor.session.pk).update(
        last_used_at=timezone.now() - timedelta(days=days_ago)
    )


@pytest.mark.django_db
def test_a_token_unused_for_longer_than_the_setting_answers_401(scene: Scene) -> None:
    last_used(scene, days_ago=30.01)

    assert_error(scene.visitor.client.get(details_url(scene)), 401)


@pytest.mark.django_db
def test_a_closed_requests_token_keeps_working_until_it_expires(scene: Scene) -> None:
    services.request_close(support_request=scene.support_request, actor=Agent(scene.agent))
    last_used(scene, days_ago=29.9)

    response = scene.visitor.client.get(details_url(scene))

    assert response.status_code == 200
    assert response.json()["status"] == "closed"


@pytest.mark.django_db
def test_a_use_keeps_the_token_alive_for_another_period(scene: Scene) -> None:
    last_used(scene, days_ago=29.9)
    assert scene.visitor.client.get(details_url(scene)).status_code == 200
    session = ChatSession.objects.get(pk=scene.visitor.session.pk)
    assert timezone.now() - session.last_used_at < timedelta(minutes=1)


@pytest.mark.django_db
def test_a_token_used_within_the_hour_is_not_written_again(scene: Scene) -> None:
    last_used(scene, days_ago=0.01)  # 14 minutes ago
    with CaptureQueriesContext(connection) as queries:
        assert scene.visitor.client.get(details_url(scene)).status_code == 200
    assert not [q for q in queries if "UPDATE" in q["sql"] and "chat_sessions" in q["sql"]]


@pytest.mark.django_db
def test_tokens_never_expire_with_the_setting_at_zero(scene: Scene, settings: Any) -> None:
    settings.VISITOR_TOKEN_DAYS = 0
    last_used(scene, days_ago=400)

    assert scene.visitor.client.get(details_url(scene)).status_code == 200


@pytest.mark.django_db(transaction=True)
@async_test
async def test_an_expired_token_opens_no_socket_4401(scene: Scene) -> None:
    rid, token = scene.support_request.request_id, scene.visitor.token
    await opened(visitor_socket(rid, token))
    await db(last_used)(scene, days_ago=31)

    assert await refused_with(visitor_socket(rid, token)) == CLOSE_UNAUTHENTICATED
