"""support/languages.py: whose language a text is in, one rule per party."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput
from support import languages, services
from support.models import AgentPreference
from tests.factories import AgentFactory, ChatbotFactory, make_session
from tests.helpers import Scene

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("code", "expected"),
    [("pt-BR", "pt-br"), ("de-AT", "de"), ("ar", "ar"), ("ja", None), ("", None), (None, None)],
)
def test_shipped_maps_a_code_to_a_shipped_language_or_none(
    code: str | None, expected: str | None
) -> None:
    assert languages.shipped(code) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [("fr-CA,fr;q=0.9,en;q=0.5", "fr"), ("ja,ar;q=0.5", "ar"), ("ja", "en"), (None, "en")],
)
def test_accept_language_is_negotiated_as_for_http(header: str | None, expected: str) -> None:
    assert languages.from_accept_language(header) == expected


def test_a_request_without_a_language_of_its_own_speaks_the_chatbots() -> None:
    chatbot = ChatbotFactory(language="es")
    session, _token = make_session(chatbot)
    support_request, _ = services.request_create(session=session, initial_message="Hola")

    assert support_request.language == "es"
    assert languages.visitor_language(support_request) == "es"


def test_the_visitor_and_the_admin_each_keep_their_language() -> None:
    chatbot = ChatbotFactory(language="de")
    session, _token = make_session(chatbot)
    support_request, _ = services.request_create(
        session=session, initial_message="Bonjour", language="fr"
    )

    assert languages.visitor_language(support_request) == "fr"
    assert languages.chatbot_language(support_request) == "de"


def test_an_agents_choice_wins_over_their_browser(scene: Scene) -> None:
    languages.set_console_language(user=scene.agent, language="ar")

    assert languages.agent_language(scene.agent, "de") == "ar"


def test_without_a_choice_the_agent_gets_their_browsers_language() -> None:
    agent = AgentFactory()

    assert languages.agent_language(agent, "es-MX,es;q=0.9") == "es"
    assert not AgentPreference.objects.filter(user=agent).exists()


def test_an_unshipped_console_language_is_refused() -> None:
    agent = AgentFactory()

    with pytest.raises(InvalidInput) as refused:
        languages.set_console_language(user=agent, language="ja")

    assert refused.value.code == "invalid_choice"
    assert not AgentPreference.objects.filter(user=agent).exists()
