"""The API answers in the caller's Accept-Language; `code`s never change with it."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy

from core.errors import NOT_FOUND
from core.http_errors import INVALID_INPUT
from core.text import BLANK
from support.models import SupportRequest
from tests.factories import ChatbotFactory
from tests.helpers import Scene, assert_error, visitor_client

pytestmark = pytest.mark.django_db

SHIPPED = [code for code, _name in settings.LANGUAGES]
TRANSLATED = [code for code in SHIPPED if code != settings.LANGUAGE_CODE]


def in_language(text: object, language: str) -> str:
    with translation.override(language):
        return str(text)


@pytest.mark.parametrize("language", SHIPPED)
def test_a_not_found_answers_in_the_accept_language_with_the_same_code(
    scene: Scene, language: str
) -> None:
    response = scene.visitor.client.get(
        "/human-support/requests/no-such-request", HTTP_ACCEPT_LANGUAGE=language
    )

    body = assert_error(response, 404)
    assert body["code"] == "not_found"
    assert body["detail"] == in_language(NOT_FOUND, language)
    assert response["Content-Language"] == language


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_answer_is_really_translated(scene: Scene, language: str) -> None:
    response = scene.visitor.client.get(
        "/human-support/requests/no-such-request", HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.json()["detail"] != "Not found."


@pytest.mark.parametrize("language", SHIPPED)
def test_a_field_error_answers_in_the_accept_language(scene: Scene, language: str) -> None:
    response = scene.visitor.client.post(
        f"/human-support/requests/{scene.support_request.request_id}/messages",
        {"message": "   "},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )

    body = assert_error(response, 400, "message")
    assert body["code"] == "blank"
    assert body["detail"] == in_language(BLANK, language)
    assert body["errors"]["message"] == [in_language(BLANK, language)]


def test_without_accept_language_the_api_answers_in_english(scene: Scene) -> None:
    response = scene.visitor.client.get("/human-support/requests/no-such-request")

    assert response.json()["detail"] == "Not found."


def test_a_region_variant_gets_the_shipped_language(scene: Scene) -> None:
    response = scene.visitor.client.get(
        "/human-support/requests/no-such-request", HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9"
    )

    assert response.json()["detail"] == in_language(NOT_FOUND, "pt-br")


@pytest.mark.parametrize("language", SHIPPED)
def test_a_new_request_keeps_the_visitors_language(language: str) -> None:
    chatbot = ChatbotFactory(language="de" if language != "de" else "fr")
    visitor = visitor_client(chatbot)

    response = visitor.client.post(
        "/human-support/request",
        {"session_id": visitor.session.session_id, "initial_message": "Help"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 201
    stored = SupportRequest.objects.get(request_id=response.json()["request_id"])
    assert stored.language == language


def test_a_request_without_accept_language_takes_the_chatbots_language() -> None:
    chatbot = ChatbotFactory(language="es")
    visitor = visitor_client(chatbot)

    response = visitor.client.post(
        "/human-support/request",
        {"session_id": visitor.session.session_id, "initial_message": "Hola"},
        format="json",
    )

    assert SupportRequest.objects.get(request_id=response.json()["request_id"]).language == "es"


@pytest.mark.parametrize("language", TRANSLATED)
def test_serializer_errors_answer_in_the_accept_language(newcomer: Any, language: str) -> None:
    response = newcomer.client.post(
        "/human-support/request",
        {"session_id": newcomer.session.session_id},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )

    body = assert_error(response, 400, "initial_message")
    assert body["code"] == "invalid"
    assert body["detail"] == in_language(INVALID_INPUT, language) != "Invalid input."
    required = in_language(gettext_lazy("This field is required."), language)
    assert required != "This field is required."  # Django REST framework's own catalog
    assert body["errors"]["initial_message"] == [required]
