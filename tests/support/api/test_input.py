"""Bad input gets a clear JSON error and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from chatbots.models import ChatMessage
from core.errors import CHATBOT_INACTIVE
from support.models import RequestStatus, SupportMessage, SupportRequest
from tests.helpers import (
    Scene,
    VisitorClient,
    agent_client_with_csrf,
    assert_error,
    bot_url,
    join,
    messages_url,
)

pytestmark = pytest.mark.django_db

LIMIT = 5000


def create(visitor: VisitorClient, **body: Any) -> Any:
    payload = {"session_id": visitor.session.session_id, "initial_message": "Hello", **body}
    return visitor.client.post("/human-support/request", payload, format="json")


# --- creating a request -----------------------------------------------------------------


def test_unknown_fields_are_ignored(newcomer: VisitorClient) -> None:
    response = create(
        newcomer, status="closed", assigned_agent=1, request_id="chosen", colour="blue"
    )
    assert response.status_code == 201
    row = SupportRequest.objects.get(session=newcomer.session)
    assert row.status == RequestStatus.PENDING
    assert row.assigned_agent is None
    assert row.request_id != "chosen"


def test_missing_initial_message_is_400_naming_the_field(newcomer: VisitorClient) -> None:
    response = newcomer.client.post(
        "/human-support/request", {"session_id": newcomer.session.session_id}, format="json"
    )
    assert_error(response, 400, "initial_message")
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", "\x00\x07"])
def test_blank_initial_message_is_400_naming_the_field(newcomer: VisitorClient, blank: str) -> None:
    assert_error(create(newcomer, initial_message=blank), 400, "initial_message")
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


@pytest.mark.parametrize("bad", ["not-an-email", "a@", "@b.example", "x y@z.example"])
def test_invalid_email_is_400_naming_the_field(newcomer: VisitorClient, bad: str) -> None:
    assert_error(create(newcomer, user_email=bad), 400, "user_email")
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


# Valid by Django's validator; 254 characters is the most SMTP carries (RFC 5321).
LONGEST_EMAIL = "a" * 64 + "@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 57 + ".com"


def test_the_longest_deliverable_email_is_taken_and_queued_for_confirmation(
    newcomer: VisitorClient,
) -> None:
    assert len(LONGEST_EMAIL) == 254
    assert create(newcomer, user_email=LONGEST_EMAIL).status_code == 201
    request = SupportRequest.objects.get(session=newcomer.session)
    assert request.email_notifications.filter(recipient=LONGEST_EMAIL).count() == 1


def test_an_email_one_character_longer_is_400_naming_the_field(newcomer: VisitorClient) -> None:
    too_long = LONGEST_EMAIL.replace(".com", ".comm")
    assert_error(create(newcomer, user_email=too_long), 400, "user_email")
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


def test_email_is_optional_and_stored_lowercased(newcomer: VisitorClient) -> None:
    assert create(newcomer, user_email="").status_code == 201
    assert SupportRequest.objects.get(session=newcomer.session).user_email is None


def test_control_characters_are_stripped_from_the_name(newcomer: VisitorClient) -> None:
    response = create(newcomer, user_name="Ve\x00ra\r\nBcc: evil@example.com\x1b[31m\u2028")
    assert response.status_code == 201
    stored = SupportRequest.objects.get(session=newcomer.session).user_name
    assert stored is not None
    assert stored == response.json()["user_name"]
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in stored)
    assert stored.startswith("Ve ra Bcc: evil@example.com")


def test_control_characters_are_dropped_from_messages_but_newlines_kept(
    newcomer: VisitorClient,
) -> None:
    response = create(newcomer, initial_message="line one\r\nline\x00 two\x07")
    assert response.status_code == 201
    assert response.json()["initial_message"] == "line one\nline two"


def test_a_name_over_255_characters_is_400(newcomer: VisitorClient) -> None:
    assert_error(create(newcomer, user_name="x" * 256), 400, "user_name")


def test_an_initial_message_over_the_limit_is_400_naming_the_limit(
    newcomer: VisitorClient,
) -> None:
    body = assert_error(create(newcomer, initial_message="x" * (LIMIT + 1)), 400, "initial_message")
    assert str(LIMIT) in body["errors"]["initial_message"][0]
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


def test_an_initial_message_of_exactly_the_limit_is_accepted(newcomer: VisitorClient) -> None:
    assert create(newcomer, initial_message="x" * LIMIT).status_code == 201


def test_a_session_id_that_is_not_the_tokens_session_is_404(
    scene: Scene, newcomer: VisitorClient
) -> None:
    for session_id in ("no-such-session", scene.other_visitor.session.session_id):
        response = newcomer.client.post(
            "/human-support/request",
            {"session_id": session_id, "initial_message": "Hello"},
            format="json",
        )
        assert_error(response, 404)
    assert SupportRequest.objects.count() == 1


def test_a_missing_session_id_is_400_naming_the_field(newcomer: VisitorClient) -> None:
    response = newcomer.client.post(
        "/human-support/request", {"initial_message": "Hello"}, format="json"
    )
    assert_error(response, 400, "session_id")


def test_malformed_json_is_400(newcomer: VisitorClient) -> None:
    response = newcomer.client.post(
        "/human-support/request", '{"session_id": "x", ', content_type="application/json"
    )
    body = assert_error(response, 400)
    assert "JSON" in body["detail"]


def test_deeply_nested_json_is_400_parse_error_logged_in_one_line(
    newcomer: VisitorClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = newcomer.client.post(
        "/human-support/request", "[" * 20_000, content_type="application/json"
    )
    assert assert_error(response, 400)["code"] == "parse_error"
    refused = [r for r in caplog.records if "nested too deeply" in r.getMessage()]
    assert len(refused) == 1
    assert refused[0].exc_info is None
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_lone_surrogate_in_the_name_is_400_naming_the_field(newcomer: VisitorClient) -> None:
    response = newcomer.client.post(
        "/human-support/request",
        # json.dumps would write the surrogate as the same escape; spelled out to be plain.
        json.dumps({"session_id": newcomer.session.session_id, "initial_message": "Hi"})[:-1]
        + ', "user_name": "Ve\\ud800ra"}',
        content_type="application/json",
    )
    assert_error(response, 400, "user_name")
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


def test_bidirectional_controls_are_stripped_from_the_name(newcomer: VisitorClient) -> None:
    name = "\u202egnp.exe \u2066Vera\u2069 \u202aB\u202c"
    assert create(newcomer, user_name=name).status_code == 201
    assert SupportRequest.objects.get(session=newcomer.session).user_name == "gnp.exe Vera B"


def test_a_json_body_that_is_not_an_object_is_400(newcomer: VisitorClient) -> None:
    response = newcomer.client.post("/human-support/request", ["Hello"], format="json")
    assert_error(response, 400)


def test_an_inactive_chatbot_refuses_new_requests_with_403_and_a_detail(
    scene: Scene, newcomer: VisitorClient
) -> None:
    scene.chatbot.is_active = False
    scene.chatbot.save(update_fields=["is_active"])
    body = assert_error(create(newcomer), 403)
    assert body["detail"] == CHATBOT_INACTIVE
    assert not SupportRequest.objects.filter(session=newcomer.session).exists()


def test_a_chatbot_without_human_support_refuses_new_requests_with_403(
    scene: Scene, newcomer: VisitorClient
) -> None:
    scene.chatbot.human_support_enabled = False
    scene.chatbot.save(update_fields=["human_support_enabled"])
    body = assert_error(create(newcomer), 403)
    assert "not available" in body["detail"]


# --- messages -----------------------------------------------------------------------------


def test_a_message_over_the_limit_is_400_naming_the_limit(scene: Scene) -> None:
    before = SupportMessage.objects.count()
    response = scene.visitor.client.post(
        messages_url(scene), {"message": "x" * (LIMIT + 1)}, format="json"
    )
    body = assert_error(response, 400, "message")
    assert str(LIMIT) in body["errors"]["message"][0]
    assert SupportMessage.objects.count() == before


def test_an_agents_message_over_the_limit_is_400_too(scene: Scene) -> None:
    join(scene)
    before = SupportMessage.objects.count()
    response = agent_client_with_csrf(scene.agent).post(
        messages_url(scene), {"message": "x" * (LIMIT + 1)}, format="json"
    )
    assert_error(response, 400, "message")
    assert SupportMessage.objects.count() == before


def test_a_message_of_exactly_the_limit_is_accepted(scene: Scene) -> None:
    response = scene.visitor.client.post(
        messages_url(scene), {"message": "x" * LIMIT}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize("body", [{}, {"message": ""}, {"message": "  \n "}, {"message": None}])
def test_an_empty_message_is_400_naming_the_field(scene: Scene, body: dict[str, Any]) -> None:
    before = SupportMessage.objects.count()
    response = scene.visitor.client.post(messages_url(scene), body, format="json")
    assert_error(response, 400, "message")
    assert SupportMessage.objects.count() == before


def test_a_message_that_is_not_text_is_400(scene: Scene) -> None:
    response = scene.visitor.client.post(
        messages_url(scene), {"message": {"text": "hi"}}, format="json"
    )
    assert_error(response, 400, "message")


def test_a_client_id_over_64_characters_is_400_naming_the_field(scene: Scene) -> None:
    response = scene.visitor.client.post(
        messages_url(scene), {"message": "Hi", "client_id": "c" * 65}, format="json"
    )
    assert_error(response, 400, "client_id")


@pytest.mark.parametrize("client_id", ["a\x00b", "a\x07b", "line\nbreak"])
def test_a_client_id_with_control_characters_is_400_naming_the_field(
    scene: Scene, client_id: str
) -> None:
    before = SupportMessage.objects.count()
    response = scene.visitor.client.post(
        messages_url(scene), {"message": "Hi", "client_id": client_id}, format="json"
    )
    assert_error(response, 400, "client_id")
    assert SupportMessage.objects.count() == before


def test_a_nul_character_in_a_message_is_stripped_not_refused(scene: Scene) -> None:
    response = scene.visitor.client.post(
        messages_url(scene), {"message": "he\x00llo"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["text"] == "hello"
    assert SupportMessage.objects.get(pk=response.json()["id"]).message == "hello"


def test_unknown_fields_of_a_message_are_ignored(scene: Scene) -> None:
    response = scene.visitor.client.post(
        messages_url(scene),
        {"message": "Hi", "sender_type": "admin", "id": 1},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["sender_type"] == "user"


@pytest.mark.parametrize("after", ["abc", "-1", "1.5", "0x10", " 1", "²", "٣", "1" * 5000])
def test_a_bad_after_cursor_is_400_naming_it(scene: Scene, after: str) -> None:
    response = scene.visitor.client.get(messages_url(scene), {"after": after})
    assert_error(response, 400, "after")


def test_an_empty_after_cursor_means_from_the_start(scene: Scene) -> None:
    response = scene.visitor.client.get(messages_url(scene), {"after": ""})
    assert [m["text"] for m in response.json()["messages"]] == ["My order is late"]


@pytest.mark.parametrize("after", ["999999999", "9" * 19])
def test_an_after_cursor_beyond_the_last_message_answers_an_empty_list(
    scene: Scene, after: str
) -> None:
    response = scene.visitor.client.get(messages_url(scene), {"after": after})
    assert response.status_code == 200
    assert response.json() == {"messages": []}


def test_a_form_encoded_body_is_refused_with_a_json_error(scene: Scene) -> None:
    # The API speaks JSON only; DRF answers 415 (not in DESIGN.md §5's list of codes).
    response = scene.visitor.client.post(messages_url(scene), {"message": "Hi"})
    assert_error(response, 415)
    assert SupportMessage.objects.filter(message="Hi").count() == 0


# --- widget endpoints ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/chatbots/{key}/config", "/api/chatbots/{key}/sessions"])
def test_an_unknown_chatbot_key_is_404(db: None, path: str) -> None:
    client = APIClient()
    url = path.format(key="no-such-chatbot")
    response = client.get(url) if url.endswith("config") else client.post(url)
    assert_error(response, 404)


@pytest.mark.parametrize("path", ["/api/chatbots/{key}/config", "/api/chatbots/{key}/sessions"])
def test_an_inactive_chatbot_is_403_with_a_detail(scene: Scene, path: str) -> None:
    scene.chatbot.is_active = False
    scene.chatbot.save(update_fields=["is_active"])
    url = path.format(key=scene.chatbot.key)
    client = APIClient()
    response = client.get(url) if url.endswith("config") else client.post(url)
    body = assert_error(response, 403)
    assert body["detail"] == CHATBOT_INACTIVE


def test_an_inactive_chatbot_refuses_bot_messages_with_403(
    scene: Scene, newcomer: VisitorClient
) -> None:
    scene.chatbot.is_active = False
    scene.chatbot.save(update_fields=["is_active"])
    response = newcomer.client.post(bot_url(newcomer), {"message": "Hello"}, format="json")
    assert_error(response, 403)
    assert not ChatMessage.objects.filter(session=newcomer.session).exists()


def test_a_bot_message_over_the_limit_is_400_naming_the_limit(newcomer: VisitorClient) -> None:
    response = newcomer.client.post(
        bot_url(newcomer), {"message": "x" * (LIMIT + 1)}, format="json"
    )
    body = assert_error(response, 400, "message")
    assert str(LIMIT) in body["errors"]["message"][0]
    assert not ChatMessage.objects.filter(session=newcomer.session).exists()


def test_a_missing_bot_message_is_400_naming_the_field(newcomer: VisitorClient) -> None:
    response = newcomer.client.post(bot_url(newcomer), {}, format="json")
    assert_error(response, 400, "message")


def test_a_bot_message_to_an_unknown_session_is_404(newcomer: VisitorClient) -> None:
    response = newcomer.client.post(
        "/api/sessions/no-such-session/messages", {"message": "Hi"}, format="json"
    )
    assert_error(response, 404)


# --- ids no row can have ---------------------------------------------------------------------

NUL_ID = "a%00b"  # PostgreSQL refuses NUL in any query; the answer must still be 404


@pytest.mark.parametrize(
    ("caller", "method", "path"),
    [
        ("anonymous", "get", f"/api/chatbots/{NUL_ID}/config"),
        ("anonymous", "post", f"/api/chatbots/{NUL_ID}/sessions"),
        ("visitor", "get", f"/human-support/requests/{NUL_ID}"),
        ("visitor", "get", f"/human-support/requests/{NUL_ID}/messages"),
        ("visitor", "post", f"/human-support/requests/{NUL_ID}/close"),
        ("agent", "get", f"/human-support/requests/{NUL_ID}"),
        ("agent", "post", f"/human-support/requests/{NUL_ID}/join"),
        ("agent", "get", f"/api/chatbots/{NUL_ID}"),
    ],
)
def test_an_id_with_a_nul_character_is_404_not_a_server_error(
    scene: Scene, caller: str, method: str, path: str
) -> None:
    client = {
        "anonymous": APIClient(),
        "visitor": scene.visitor.client,
        "agent": agent_client_with_csrf(scene.agent),
    }[caller]
    response = getattr(client, method)(path)
    assert_error(response, 404)


def test_the_console_finds_nothing_for_an_id_with_a_nul_character(scene: Scene) -> None:
    client = Client()
    client.force_login(scene.agent)
    assert client.get(f"/console/requests/{NUL_ID}/").status_code == 404
    assert client.post(f"/console/requests/{NUL_ID}/join").status_code == 404
    listed = client.get("/console/requests/", {"q": "My order\x00"})
    assert listed.status_code == 200
    assert scene.support_request.request_id in listed.content.decode()
