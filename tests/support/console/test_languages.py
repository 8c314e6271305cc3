"""Console pages in the agent's language: their chosen one (the picker, stored on their
preference), else the browser's; `<html lang dir>` follow, Arabic right to left."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from support import services
from support.models import AgentPreference
from tests.factories import make_session
from tests.helpers import Scene

pytestmark = pytest.mark.django_db

SHIPPED = [code for code, _name in settings.LANGUAGES]
DIRECTION = {code: "rtl" if code == "ar" else "ltr" for code in SHIPPED}


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html_tag(page: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)"', page)
    assert match, "no <html lang dir>"
    return match.group(1), match.group(2)


def in_language(text: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.mark.parametrize("language", SHIPPED)
def test_the_queue_follows_the_browsers_language(scene: Scene, language: str) -> None:
    page = logged_in(scene.agent).get("/console/", HTTP_ACCEPT_LANGUAGE=language)

    text = page.content.decode()
    assert html_tag(text) == (language, DIRECTION[language])
    assert f"<h1>{in_language('Requests waiting', language)}</h1>" in text
    assert in_language("No active conversations.", language) in text


@pytest.mark.parametrize("language", SHIPPED)
def test_the_agents_chosen_language_wins_over_the_browsers(scene: Scene, language: str) -> None:
    AgentPreference.objects.create(user=scene.agent, console_language=language)
    browser = "de" if language != "de" else "fr"

    page = logged_in(scene.agent).get(
        f"/console/requests/{scene.support_request.request_id}/",
        HTTP_ACCEPT_LANGUAGE=browser,
    )

    text = page.content.decode()
    assert html_tag(text) == (language, DIRECTION[language])
    assert in_language("Before the handoff (bot)", language) in text
    assert page["Content-Language"] == language


@pytest.mark.parametrize("language", [code for code in SHIPPED if code != "en"])
def test_console_texts_are_really_translated(scene: Scene, language: str) -> None:
    page = logged_in(scene.agent).get("/console/requests/", HTTP_ACCEPT_LANGUAGE=language)

    translated = in_language("All requests", language)
    assert translated != "All requests"
    assert f"<h1>{translated}</h1>" in page.content.decode()


def test_without_a_choice_or_accept_language_the_console_is_english(scene: Scene) -> None:
    page = logged_in(scene.agent).get("/console/")

    assert html_tag(page.content.decode()) == ("en", "ltr")
    assert "<h1>Requests waiting</h1>" in page.content.decode()


def test_the_picker_stores_the_choice_and_the_next_page_follows_it(scene: Scene) -> None:
    client = logged_in(scene.agent)

    response = client.post("/console/language", {"language": "ar", "next": "/console/requests/"})

    assert response.status_code == 302
    assert response["Location"] == "/console/requests/"
    assert AgentPreference.objects.get(user=scene.agent).console_language == "ar"
    page = client.get("/console/requests/", HTTP_ACCEPT_LANGUAGE="en")
    assert html_tag(page.content.decode()) == ("ar", "rtl")


def test_the_choice_survives_a_new_login(scene: Scene) -> None:
    logged_in(scene.agent).post("/console/language", {"language": "es"})

    page = logged_in(scene.agent).get("/console/", HTTP_ACCEPT_LANGUAGE="fr")

    assert html_tag(page.content.decode()) == ("es", "ltr")


def test_choosing_the_browsers_language_again_follows_accept_language(scene: Scene) -> None:
    client = logged_in(scene.agent)
    client.post("/console/language", {"language": "de"})

    client.post("/console/language", {"language": ""})

    assert AgentPreference.objects.get(user=scene.agent).console_language == ""
    page = client.get("/console/", HTTP_ACCEPT_LANGUAGE="fr")
    assert html_tag(page.content.decode()) == ("fr", "ltr")


def test_an_unknown_language_is_refused_and_nothing_is_stored(scene: Scene) -> None:
    client = logged_in(scene.agent)

    client.post("/console/language", {"language": "xx"})

    assert not AgentPreference.objects.filter(user=scene.agent).exists()


def test_the_picker_does_not_redirect_to_another_site(scene: Scene) -> None:
    response = logged_in(scene.agent).post(
        "/console/language", {"language": "de", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/console/"


def test_the_picker_needs_the_csrf_token(scene: Scene) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(scene.agent)

    assert client.post("/console/language", {"language": "de"}).status_code == 403


def test_the_console_script_catalog_is_in_the_agents_language(scene: Scene) -> None:
    AgentPreference.objects.create(user=scene.agent, console_language="fr")

    catalog = logged_in(scene.agent).get("/console/jsi18n/")

    assert catalog.status_code == 200
    assert "Hors ligne, reconnexion" in catalog.content.decode()


def test_a_visitor_call_keeps_its_own_language_in_an_agents_browser(scene: Scene) -> None:
    # The demo page: the widget runs in a browser where an agent is logged in.
    AgentPreference.objects.create(user=scene.agent, console_language="ar")
    client = logged_in(scene.agent)

    response = client.get(
        "/human-support/requests/no-such-request",
        HTTP_AUTHORIZATION=f"Bearer {scene.visitor.token}",
        HTTP_ACCEPT_LANGUAGE="es",
    )

    assert response.json()["detail"] == "No encontrado."


def test_the_conversation_page_names_the_visitors_language_in_the_agents(
    scene: Scene,
) -> None:
    session, _token = make_session(scene.chatbot)
    in_french, _ = services.request_create(
        session=session, initial_message="Bonjour", language="fr"
    )

    page = logged_in(scene.agent).get(
        f"/console/requests/{in_french.request_id}/", HTTP_ACCEPT_LANGUAGE="de"
    )

    assert '<dd id="visitor-language">Französisch</dd>' in page.content.decode()
