"""The body size limit (core/middleware.py): a body over MAX_BODY_BYTES is refused with a
JSON 413 before any view reads it, declared or chunked, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.text import format_lazy

from chatbots.models import ChatMessage
from core.middleware import TOO_LARGE
from support.models import SupportMessage, SupportRequest
from tests.helpers import Scene, VisitorClient, assert_error, bot_url, messages_url

pytestmark = pytest.mark.django_db


def oversized_body() -> str:
    return json.dumps({"message": "x" * (settings.MAX_BODY_BYTES + 1)})


def test_a_body_over_64_kib_is_413_json_on_messages(scene: Scene) -> None:
    before = SupportMessage.objects.count()
    response = scene.visitor.client.post(
        messages_url(scene), oversized_body(), content_type="application/json"
    )
    body = assert_error(response, 413)
    assert str(settings.MAX_BODY_BYTES) in body["detail"]
    assert body["code"] == "too_large"
    assert SupportMessage.objects.count() == before


def test_a_body_over_64_kib_is_413_json_on_request_creation(newcomer: VisitorClient) -> None:
    payload = json.dumps(
        {
            "session_id": newcomer.session.session_id,
            "initial_message": "x" * (settings.MAX_BODY_BYTES + 1),
        }
    )
    response = newcomer.client.post(
        "/human-support/request", payload, content_type="application/json"
    )
    assert_error(response, 413)
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


def test_a_body_over_64_kib_is_413_json_on_bot_messages(newcomer: VisitorClient) -> None:
    response = newcomer.client.post(
        bot_url(newcomer), oversized_body(), content_type="application/json"
    )
    assert_error(response, 413)
    assert not ChatMessage.objects.filter(session=newcomer.session).exists()


def asgi_post(path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> Any:
    """POST through the real ASGI application (as daphne calls it), body in chunks."""
    from asgiref.sync import async_to_sync
    from asgiref.testing import ApplicationCommunicator

    from config.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("localhost", 80),
    }

    async def exchange() -> tuple[int, bytes]:
        communicator = ApplicationCommunicator(application, scope)
        for n, chunk in enumerate(chunks):
            await communicator.send_input(
                {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
            )
        start = await communicator.receive_output(timeout=10)
        body = b""
        while True:
            message = await communicator.receive_output(timeout=10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        return start["status"], body

    return async_to_sync(exchange)()


def test_a_chunked_body_over_64_kib_without_content_length_is_413_json_over_asgi(
    db: None,
) -> None:
    chunk = b"x" * 16384
    status, body = asgi_post("/api/chatbots/no-such-key/sessions", [chunk] * 5, [])
    assert status == 413
    assert json.loads(body)["code"] == "too_large"


def test_a_small_chunked_body_over_asgi_reaches_the_view(db: None) -> None:
    # The control for the test above: the same path, a small body, the view's own 404.
    status, body = asgi_post("/api/chatbots/no-such-key/sessions", [b"{", b"}"], [])
    assert status == 404
    assert json.loads(body)["detail"] == "No chatbot with this key."


def test_a_declared_content_length_over_64_kib_is_413_json_over_asgi(db: None) -> None:
    length = str(settings.MAX_BODY_BYTES + 1).encode()
    status, body = asgi_post(
        "/api/chatbots/no-such-key/sessions",
        [b"x" * (settings.MAX_BODY_BYTES + 1)],
        [(b"content-length", length)],
    )
    assert status == 413
    assert json.loads(body)["code"] == "too_large"


def test_the_limit_is_64_kib_by_default() -> None:
    assert settings.MAX_BODY_BYTES == 64 * 1024


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_the_413_answers_in_the_accept_language(scene: Scene, language: str) -> None:
    # The guard runs before LocaleMiddleware: it negotiates the language itself.
    response = scene.visitor.client.post(
        messages_url(scene),
        oversized_body(),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE=language,
    )

    body = assert_error(response, 413)
    with translation.override(language):
        expected = str(format_lazy(TOO_LARGE, limit=settings.MAX_BODY_BYTES))
    assert (body["code"], body["detail"]) == ("too_large", expected)
