"""`error` frames in the socket's language: a visitor's is the language their request was
created in (scripts cannot set a WebSocket's headers, so the handshake's Accept-Language
is the browser's, not the widget's); an agent's is their console language, else the
handshake's Accept-Language. `code`s never change."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation

from core.errors import JOIN_FIRST
from support import services
from support.models import AgentPreference
from support.realtime.frames import INVALID_JSON
from tests.factories import make_session
from tests.helpers import Scene
from tests.support.realtime.sockets import (
    agent_socket,
    async_test,
    db,
    frame,
    login,
    opened,
    send,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)

SHIPPED = [code for code, _name in settings.LANGUAGES]


def in_language(text: object, language: str) -> str:
    with translation.override(language):
        return str(text)


def other_language(language: str) -> str:
    return SHIPPED[(SHIPPED.index(language) + 1) % len(SHIPPED)]


@pytest.mark.parametrize("language", SHIPPED)
@async_test
async def test_a_visitors_error_frame_is_in_the_language_of_their_request(
    scene: Scene, language: str
) -> None:
    session, token = await db(make_session)(scene.chatbot)
    support_request, _ = await db(services.request_create)(
        session=session, initial_message="Help", language=language
    )
    visitor = await opened(
        visitor_socket(support_request.request_id, token, accept_language=other_language(language))
    )

    await visitor.send_to(text_data="{not json")

    error = await frame(visitor)
    assert (error["type"], error["code"]) == ("error", "invalid_json")
    assert error["detail"] == in_language(INVALID_JSON, language)


@pytest.mark.parametrize("language", SHIPPED)
@async_test
async def test_an_agents_error_frame_is_in_their_console_language(
    scene: Scene, language: str
) -> None:
    await db(AgentPreference.objects.create)(user=scene.agent, console_language=language)
    client = await db(login)(scene.agent)
    agent = await opened(
        agent_socket(
            scene.support_request.request_id, client, accept_language=other_language(language)
        )
    )

    # A refusal raised by the service, on a database thread: still the agent's language.
    await send(agent, type="message", text="Hello before joining", client_id="a-1")

    error = await frame(agent)
    assert (error["code"], error["client_id"]) == ("invalid_transition", "a-1")
    assert error["detail"] == in_language(JOIN_FIRST, language)


@pytest.mark.parametrize("language", SHIPPED)
@async_test
async def test_without_a_choice_an_agents_socket_follows_the_handshakes_language(
    scene: Scene, language: str
) -> None:
    client = await db(login)(scene.agent)
    agent = await opened(
        agent_socket(scene.support_request.request_id, client, accept_language=language)
    )

    await agent.send_to(text_data="[]")

    error = await frame(agent)
    assert error["code"] == "invalid_json"
    assert error["detail"] == in_language(INVALID_JSON, language)


@async_test
async def test_error_frames_are_really_translated(scene: Scene) -> None:
    session, token = await db(make_session)(scene.chatbot)
    support_request, _ = await db(services.request_create)(
        session=session, initial_message="Ayuda", language="es"
    )
    visitor = await opened(visitor_socket(support_request.request_id, token))

    await visitor.send_to(text_data="{not json")

    error = await frame(visitor)
    assert error["detail"] == "Una trama es un objeto JSON con una cadena `type`."
