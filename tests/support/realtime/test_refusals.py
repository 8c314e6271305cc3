"""Frames the server refuses (bad JSON, unknown type, invalid fields, too long, too large)
answer an `error` frame with a stable code, and the socket stays open."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import Scene
from tests.support.realtime.sockets import (
    async_test,
    db,
    frame,
    opened,
    send,
    stored_texts,
    visitor_socket,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ('["message"]', "invalid_json"),
        ('{"text": "no type"}', "invalid_json"),
        ('{"type": "shout", "text": "hi"}', "unknown_type"),
        ('{"type": "message", "client_id": "x"}', "invalid"),
        ('{"type": "message", "text": 42}', "invalid"),
        ('{"type": "message", "text": "hi", "client_id": 7}', "invalid"),
        ('{"type": "message", "text": "hi", "client_id": "' + "c" * 65 + '"}', "invalid"),
        ('{"type": "message", "text": "   "}', "blank"),
        ('{"type": "message", "text": "' + "x" * 5001 + '"}', "too_long"),
        ('{"type": "message", "text": "' + "x" * 16 * 1024 + '"}', "too_large"),
        ('{"type": "typing", "typing": "yes"}', "invalid"),
        ('{"type": "message", "text": "a\\ud800b", "client_id": "s-1"}', "invalid"),
        ('{"type": "message", "text": "hi", "client_id": "\\udfff"}', "invalid"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 20 else None,
)
@async_test
async def test_refused_frame_answers_an_error_with_a_stable_code_and_keeps_the_socket(
    scene: Scene, raw: str, code: str
) -> None:
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))

    await visitor.send_to(text_data=raw)

    error = await frame(visitor)
    assert (error["type"], error["code"]) == ("error", code)
    assert isinstance(error["detail"], str)
    assert error["detail"]
    await send(visitor, type="message", text="still open", client_id="ok-1")
    assert (await frame(visitor))["message"]["text"] == "still open"


@async_test
async def test_deeply_nested_frame_answers_invalid_and_logs_one_line_without_traceback(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    visitor = await opened(visitor_socket(scene.support_request.request_id, scene.visitor.token))

    await visitor.send_to(text_data="[" * 15_000)  # within the 16 KiB frame limit

    assert (await frame(visitor))["code"] == "invalid"
    refused = [r for r in caplog.records if "nested too deeply" in r.getMessage()]
    assert len(refused) == 1
    assert refused[0].exc_info is None
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@async_test
async def test_a_lone_surrogate_in_a_message_is_refused_invalid_and_not_stored(
    scene: Scene,
) -> None:
    rid = scene.support_request.request_id
    visitor = await opened(visitor_socket(rid, scene.visitor.token))

    await visitor.send_to(text_data='{"type": "message", "text": "a\\ud800b", "client_id": "u-1"}')

    assert (await frame(visitor))["code"] == "invalid"
    assert await db(stored_texts)(rid) == ["My order is late"]


@async_test
async def test_binary_frame_answers_invalid_json(scene: Scene) -> None:
    visitor = await opened(visitor_socket(scene.support_request.request_id, scene.visitor.token))

    await visitor.send_to(bytes_data=b'{"type": "message", "text": "hi"}')

    assert (await frame(visitor))["code"] == "invalid_json"


@async_test
async def test_frame_of_exactly_the_limit_is_accepted(scene: Scene, settings: Any) -> None:
    settings.MAX_MESSAGE_CHARS = 20_000
    visitor = await opened(visitor_socket(scene.support_request.request_id, scene.visitor.token))
    envelope = json.dumps({"type": "message", "text": ""})
    text = "y" * (settings.WS_MAX_FRAME_BYTES - len(envelope))

    await visitor.send_to(text_data=json.dumps({"type": "message", "text": text}))

    assert (await frame(visitor))["message"]["text"] == text
