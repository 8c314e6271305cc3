"""Cross-origin calls: the widget runs on the customer's site, so the visitor endpoints
answer the chatbot's allowed origins (django-cors-headers), and the view itself refuses a
visitor call whose Origin the chatbot does not allow (403), whatever the browser does.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from chatbots.models import ChatMessage, ChatSession
from core.errors import ORIGIN_NOT_ALLOWED
from support.models import RequestStatus, SupportMessage, SupportRequest
from tests.factories import ChatbotFactory
from tests.helpers import Scene, agent_client_with_csrf, visitor_client

pytestmark = pytest.mark.django_db

ALLOWED = "https://customer.example"  # the factory's allowed origin
FOREIGN = "https://evil.example"
ACAO = "Access-Control-Allow-Origin"


def preflight(path: str, origin: str, method: str = "POST") -> Any:
    return APIClient().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def visitor_paths(scene: Scene) -> list[str]:
    request_id = scene.support_request.request_id
    return [
        f"/api/chatbots/{scene.chatbot.key}/config",
        f"/api/chatbots/{scene.chatbot.key}/sessions",
        f"/api/sessions/{scene.visitor.session.session_id}/messages",
        "/human-support/request",
        f"/human-support/requests/{request_id}",
        f"/human-support/requests/{request_id}/messages",
        f"/human-support/requests/{request_id}/close",
    ]


# --- preflights ---------------------------------------------------------------------------


def test_a_preflight_from_an_allowed_origin_is_answered_on_every_visitor_path(
    scene: Scene,
) -> None:
    for path in visitor_paths(scene):
        response = preflight(path, ALLOWED)
        assert response.status_code == 200, path
        assert response[ACAO] == ALLOWED, path
        assert "POST" in response["Access-Control-Allow-Methods"]
        allowed_headers = response["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed_headers
        assert "content-type" in allowed_headers
        assert "Access-Control-Allow-Credentials" not in response


def test_a_preflight_from_another_origin_gets_no_cors_headers(scene: Scene) -> None:
    for path in visitor_paths(scene):
        response = preflight(path, FOREIGN)
        assert ACAO not in response, path


def test_the_operator_api_and_the_admin_never_answer_cross_origin(scene: Scene) -> None:
    for path in ("/api/chatbots", f"/api/chatbots/{scene.chatbot.key}", "/admin/login/"):
        assert ACAO not in preflight(path, ALLOWED, method="GET"), path


def test_a_newly_allowed_origin_is_answered_at_once(scene: Scene) -> None:
    path = "/human-support/request"
    assert ACAO not in preflight(path, "https://new.example")
    root = agent_client_with_csrf(scene.superuser)
    patched = root.patch(
        f"/api/chatbots/{scene.chatbot.key}",
        {"allowed_origins": [ALLOWED, "https://new.example"]},
        format="json",
    )
    assert patched.status_code == 200
    assert preflight(path, "https://new.example")[ACAO] == "https://new.example"


def test_an_inactive_chatbots_origins_are_not_answered(db: None) -> None:
    ChatbotFactory(allowed_origins=["https://gone.example"], is_active=False)
    assert ACAO not in preflight("/human-support/request", "https://gone.example")


def test_a_wildcard_chatbot_answers_any_origin(scene: Scene) -> None:
    ChatbotFactory(allowed_origins=["*"])
    response = preflight("/human-support/request", "https://anyone.example")
    assert response[ACAO] == "https://anyone.example"


# --- actual calls ---------------------------------------------------------------------------


def test_actual_calls_from_an_allowed_origin_get_the_cors_header(scene: Scene) -> None:
    visitor = scene.visitor.client
    request_id = scene.support_request.request_id
    answers = [
        APIClient().get(f"/api/chatbots/{scene.chatbot.key}/config", HTTP_ORIGIN=ALLOWED),
        APIClient().post(f"/api/chatbots/{scene.chatbot.key}/sessions", HTTP_ORIGIN=ALLOWED),
        visitor.post(
            f"/api/sessions/{scene.visitor.session.session_id}/messages",
            {"message": "Hi"},
            format="json",
            HTTP_ORIGIN=ALLOWED,
        ),
        visitor.get(f"/human-support/requests/{request_id}", HTTP_ORIGIN=ALLOWED),
        visitor.post(
            f"/human-support/requests/{request_id}/messages",
            {"message": "Hi"},
            format="json",
            HTTP_ORIGIN=ALLOWED,
        ),
        visitor.get(f"/human-support/requests/{request_id}/messages", HTTP_ORIGIN=ALLOWED),
        visitor.post(f"/human-support/requests/{request_id}/close", HTTP_ORIGIN=ALLOWED),
    ]
    for answer in answers:
        assert answer.status_code in (200, 201), answer.json()
        assert answer[ACAO] == ALLOWED


def test_creating_a_request_from_an_allowed_origin_gets_the_cors_header(scene: Scene) -> None:
    newcomer = visitor_client(scene.chatbot)
    response = newcomer.client.post(
        "/human-support/request",
        {"session_id": newcomer.session.session_id, "initial_message": "Hi"},
        format="json",
        HTTP_ORIGIN=ALLOWED,
    )
    assert response.status_code == 201
    assert response[ACAO] == ALLOWED


def test_widget_calls_from_a_foreign_origin_are_refused_with_403(scene: Scene) -> None:
    config = APIClient().get(f"/api/chatbots/{scene.chatbot.key}/config", HTTP_ORIGIN=FOREIGN)
    sessions_before = ChatSession.objects.count()
    started = APIClient().post(f"/api/chatbots/{scene.chatbot.key}/sessions", HTTP_ORIGIN=FOREIGN)
    chatted = scene.visitor.client.post(
        f"/api/sessions/{scene.visitor.session.session_id}/messages",
        {"message": "Hi"},
        format="json",
        HTTP_ORIGIN=FOREIGN,
    )
    for answer in (config, started, chatted):
        assert answer.status_code == 403
        assert answer.json()["detail"] == ORIGIN_NOT_ALLOWED
        assert ACAO not in answer
    assert ChatSession.objects.count() == sessions_before
    assert not ChatMessage.objects.exists()


def test_visitor_calls_on_a_request_from_a_foreign_origin_are_refused_with_403(
    scene: Scene,
) -> None:
    visitor = scene.visitor.client
    request_id = scene.support_request.request_id
    messages_before = SupportMessage.objects.count()
    answers = [
        visitor.get(f"/human-support/requests/{request_id}", HTTP_ORIGIN=FOREIGN),
        visitor.get(f"/human-support/requests/{request_id}/messages", HTTP_ORIGIN=FOREIGN),
        visitor.post(
            f"/human-support/requests/{request_id}/messages",
            {"message": "Hi"},
            format="json",
            HTTP_ORIGIN=FOREIGN,
        ),
        visitor.post(f"/human-support/requests/{request_id}/close", HTTP_ORIGIN=FOREIGN),
    ]
    for answer in answers:
        assert answer.status_code == 403
        assert ACAO not in answer
    assert SupportMessage.objects.count() == messages_before
    assert SupportRequest.objects.get(pk=scene.support_request.pk).status == RequestStatus.PENDING


def test_creating_a_request_from_a_foreign_origin_is_refused_with_403(scene: Scene) -> None:
    newcomer = visitor_client(scene.chatbot)
    response = newcomer.client.post(
        "/human-support/request",
        {"session_id": newcomer.session.session_id, "initial_message": "Hi"},
        format="json",
        HTTP_ORIGIN=FOREIGN,
    )
    assert response.status_code == 403
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


def test_an_origin_allowed_by_another_chatbot_is_still_refused_by_the_view(
    scene: Scene,
) -> None:
    # The preflight cannot know the chatbot (no body, no token) and lets it through;
    # the view knows the session's chatbot and refuses.
    ChatbotFactory(allowed_origins=["https://other-customer.example"])
    assert preflight("/human-support/request", "https://other-customer.example")[ACAO]
    newcomer = visitor_client(scene.chatbot)
    response = newcomer.client.post(
        "/human-support/request",
        {"session_id": newcomer.session.session_id, "initial_message": "Hi"},
        format="json",
        HTTP_ORIGIN="https://other-customer.example",
    )
    assert response.status_code == 403
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


def test_our_own_origin_is_always_allowed(scene: Scene) -> None:
    # The demo page and the console are served by us: same origin, no CORS needed.
    response = scene.visitor.client.get(
        f"/human-support/requests/{scene.support_request.request_id}",
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 200


def test_agents_are_not_bound_by_the_chatbots_origins(scene: Scene) -> None:
    # The console is our own page; the origin rules are the widget's.
    response = agent_client_with_csrf(scene.agent).get(
        f"/human-support/requests/{scene.support_request.request_id}",
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 200
