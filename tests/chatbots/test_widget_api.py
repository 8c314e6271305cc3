"""The widget's endpoints: public config, visitor sessions, the bot chat and its transcript.

The session token is the visitor's only credential: it is stored as a hash and never
appears in anything an agent can read.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from chatbots import bot
from chatbots.models import ChatMessage, ChatSession
from tests.factories import ChatbotFactory, FAQEntryFactory
from tests.helpers import Scene, agent_client_with_csrf, capture_events

pytestmark = pytest.mark.django_db


def start(key: str) -> dict[str, Any]:
    response = APIClient().post(f"/api/chatbots/{key}/sessions")
    assert response.status_code == 201
    return response.json()


def as_visitor(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def say(client: APIClient, session_id: str, text: str) -> Any:
    return client.post(f"/api/sessions/{session_id}/messages", {"message": text}, format="json")


# --- config -------------------------------------------------------------------------------


def test_config_shows_what_the_widget_needs_and_nothing_private(db: None) -> None:
    chatbot = ChatbotFactory(name="Shop", welcome_text="Hello!", primary_color="#112233")
    response = APIClient().get(f"/api/chatbots/{chatbot.key}/config")
    assert response.status_code == 200
    body = response.json()
    strings = body.pop("strings")
    assert body == {
        "key": chatbot.key,
        "name": "Shop",
        "welcome_text": "Hello!",
        "primary_color": "#112233",
        "human_support_enabled": True,
        "message_page_size": 500,
        "max_message_chars": 5000,
        "language": "en",
        "dir": "ltr",
        "offline_message": "",
    }
    assert strings["open_chat"] == "Open chat"  # the catalog: tests/chatbots/test_languages.py


def test_config_tells_the_widget_when_human_support_is_off(db: None) -> None:
    chatbot = ChatbotFactory(human_support_enabled=False)
    response = APIClient().get(f"/api/chatbots/{chatbot.key}/config")
    assert response.json()["human_support_enabled"] is False


# --- sessions and tokens ------------------------------------------------------------------


def test_a_session_gets_an_unguessable_token_of_at_least_128_bits(db: None) -> None:
    chatbot = ChatbotFactory()
    first, second = start(chatbot.key), start(chatbot.key)
    assert first["token"] != second["token"]
    assert first["session_id"] != second["session_id"]
    assert len(first["token"]) >= 22  # URL-safe base64: 22 characters carry 128 bits


def test_the_token_is_stored_only_as_its_sha256(db: None) -> None:
    chatbot = ChatbotFactory()
    started = start(chatbot.key)
    session = ChatSession.objects.get(session_id=started["session_id"])
    assert session.token_hash == hashlib.sha256(started["token"].encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM chat_sessions WHERE session_id = %s", [session.session_id])
        row = cursor.fetchone()
    assert all(started["token"] not in str(value) for value in row)


def test_a_wrong_token_does_not_open_the_session(db: None) -> None:
    chatbot = ChatbotFactory()
    started = start(chatbot.key)
    almost = started["token"][:-1] + ("A" if started["token"][-1] != "A" else "B")
    response = say(as_visitor(almost), started["session_id"], "Hello")
    assert response.status_code == 401
    assert not ChatMessage.objects.exists()


def test_the_session_remembers_the_origin_it_started_from(db: None) -> None:
    chatbot = ChatbotFactory(allowed_origins=["https://customer.example"])
    response = APIClient().post(
        f"/api/chatbots/{chatbot.key}/sessions", HTTP_ORIGIN="https://customer.example"
    )
    session = ChatSession.objects.get(session_id=response.json()["session_id"])
    assert session.origin == "https://customer.example"


# --- the bot chat ---------------------------------------------------------------------------


def test_the_bot_answers_from_the_faq_and_both_sides_are_stored(db: None) -> None:
    chatbot = ChatbotFactory()
    FAQEntryFactory(chatbot=chatbot)
    started = start(chatbot.key)
    response = say(as_visitor(started["token"]), started["session_id"], "When are you open?")
    assert response.status_code == 200
    body = response.json()
    assert body["reply"]["role"] == "bot"
    assert body["reply"]["text"] == "We are open 9:00 to 17:00, Monday to Friday."
    assert body["reply"]["created_at"]
    assert body["handoff_suggested"] is False
    stored = ChatMessage.objects.filter(session__session_id=started["session_id"]).order_by("id")
    assert [(m.role, m.text) for m in stored] == [
        ("user", "When are you open?"),
        ("bot", "We are open 9:00 to 17:00, Monday to Friday."),
    ]


def test_an_unmatched_question_gets_the_fallback_and_a_handoff_hint(db: None) -> None:
    chatbot = ChatbotFactory()
    FAQEntryFactory(chatbot=chatbot)
    started = start(chatbot.key)
    response = say(as_visitor(started["token"]), started["session_id"], "My parcel is broken")
    assert response.json()["reply"]["text"] == bot.FALLBACK_REPLY
    assert response.json()["handoff_suggested"] is True
    assert ChatMessage.objects.filter(session__session_id=started["session_id"]).count() == 2


def test_the_bot_only_uses_its_own_chatbots_faq(db: None) -> None:
    chatbot = ChatbotFactory()
    FAQEntryFactory(chatbot=ChatbotFactory())  # another chatbot's hours
    started = start(chatbot.key)
    response = say(as_visitor(started["token"]), started["session_id"], "When are you open?")
    assert response.json()["handoff_suggested"] is True


# --- the transcript on the agent's side -----------------------------------------------------


def chat_then_ask_for_a_human(scene: Scene) -> None:
    FAQEntryFactory(chatbot=scene.chatbot)
    visitor = scene.visitor
    say(visitor.client, visitor.session.session_id, "When are you open?")
    say(visitor.client, visitor.session.session_id, "My parcel is broken")
    say(scene.other_visitor.client, scene.other_visitor.session.session_id, "Unrelated")


def test_an_agent_reading_the_request_sees_the_bot_transcript_in_order(scene: Scene) -> None:
    chat_then_ask_for_a_human(scene)
    response = agent_client_with_csrf(scene.agent).get(
        f"/human-support/requests/{scene.support_request.request_id}"
    )
    transcript = response.json()["transcript"]
    assert [(line["role"], line["text"]) for line in transcript] == [
        ("user", "When are you open?"),
        ("bot", "We are open 9:00 to 17:00, Monday to Friday."),
        ("user", "My parcel is broken"),
        ("bot", bot.FALLBACK_REPLY),
    ]
    assert all(line["created_at"] for line in transcript)


def test_the_queue_lists_carry_the_transcript_for_agents(scene: Scene) -> None:
    chat_then_ask_for_a_human(scene)
    agent = agent_client_with_csrf(scene.agent)
    (pending,) = agent.get("/human-support/requests/pending").json()["requests"]
    assert len(pending["transcript"]) == 4
    agent.post(f"/human-support/requests/{scene.support_request.request_id}/join")
    (active,) = agent.get("/human-support/requests/active").json()["requests"]
    assert len(active["transcript"]) == 4


def test_a_very_long_bot_conversation_is_cut_to_its_last_messages_for_agents(
    scene: Scene, settings: Any
) -> None:
    # A stranger decides how long the conversation gets: lists and details stay bounded,
    # and what they keep is the end of it, in order.
    settings.TRANSCRIPT_MAX_MESSAGES = 5
    settings.TRANSCRIPT_LIST_MESSAGES = 3
    chat_then_ask_for_a_human(scene)
    visitor = scene.visitor
    say(visitor.client, visitor.session.session_id, "Last words")
    agent = agent_client_with_csrf(scene.agent)

    detail = agent.get(f"/human-support/requests/{scene.support_request.request_id}").json()
    (listed,) = agent.get("/human-support/requests/pending").json()["requests"]

    assert [line["text"] for line in detail["transcript"]] == [
        "We are open 9:00 to 17:00, Monday to Friday.",
        "My parcel is broken",
        bot.FALLBACK_REPLY,
        "Last words",
        bot.FALLBACK_REPLY,
    ]
    assert [line["text"] for line in listed["transcript"]] == [
        bot.FALLBACK_REPLY,
        "Last words",
        bot.FALLBACK_REPLY,
    ]


def test_the_visitor_never_gets_the_transcript_field(scene: Scene) -> None:
    chat_then_ask_for_a_human(scene)
    visitor = scene.visitor
    base = f"/human-support/requests/{scene.support_request.request_id}"
    created = visitor.client.post(
        "/human-support/request",
        {"session_id": visitor.session.session_id, "initial_message": "Hi"},
        format="json",
    )
    detail = visitor.client.get(base)
    closed = visitor.client.post(f"{base}/close")
    for response in (created, detail, closed):
        assert response.status_code in (200, 201)
        assert "transcript" not in response.json()


# --- the token stays with the visitor -------------------------------------------------------


def agent_facing_answers(scene: Scene) -> list[Any]:
    agent = agent_client_with_csrf(scene.agent)
    root = agent_client_with_csrf(scene.superuser)
    base = f"/human-support/requests/{scene.support_request.request_id}"
    answers = [
        agent.get("/human-support/requests/pending"),
        agent.post(f"{base}/join"),
        agent.get("/human-support/requests/active"),
        agent.get(base),
        agent.post(f"{base}/messages", {"message": "Hello"}, format="json"),
        agent.get(f"{base}/messages"),
        agent.post(f"{base}/resolve"),
        root.get(base),
        agent.get("/api/chatbots"),
        agent.get(f"/api/chatbots/{scene.chatbot.key}"),
        agent.post(f"{base}/close"),
    ]
    assert all(a.status_code in (200, 201) for a in answers), [a.status_code for a in answers]
    return answers


def test_the_session_token_and_its_hash_are_in_no_agent_facing_answer(scene: Scene) -> None:
    chat_then_ask_for_a_human(scene)
    token = scene.visitor.token
    token_hash = scene.visitor.session.token_hash
    for answer in agent_facing_answers(scene):
        text = answer.content.decode()
        assert token not in text
        assert token_hash not in text


def test_the_session_token_is_in_no_published_event(scene: Scene) -> None:
    with capture_events() as published:
        scene.visitor.client.post(
            f"/human-support/requests/{scene.support_request.request_id}/messages",
            {"message": "Hi"},
            format="json",
        )
        agent_facing_answers(scene)
    assert published  # the flow above did publish
    dumped = json.dumps([p.event for p in published])
    assert scene.visitor.token not in dumped
    assert scene.visitor.session.token_hash not in dumped


# --- times ----------------------------------------------------------------------------------


def test_every_time_in_the_answers_is_iso_8601_with_a_zone(scene: Scene) -> None:
    chat_then_ask_for_a_human(scene)
    agent = agent_client_with_csrf(scene.agent)
    base = f"/human-support/requests/{scene.support_request.request_id}"
    agent.post(f"{base}/join")
    agent.post(f"{base}/messages", {"message": "Hello"}, format="json")
    request = agent.get(base).json()
    messages = agent.get(f"{base}/messages").json()["messages"]
    times = [
        request["created_at"],
        request["admin_joined_at"],
        request["first_response_at"],
        *[line["created_at"] for line in request["transcript"]],
        *[message["created_at"] for message in messages],
    ]
    for value in times:
        assert datetime.fromisoformat(value).tzinfo is not None, value


def test_sender_names_are_the_agents_name_the_visitors_name_and_none_for_system(
    scene: Scene,
) -> None:
    agent = agent_client_with_csrf(scene.agent)
    base = f"/human-support/requests/{scene.support_request.request_id}"
    agent.post(f"{base}/join")
    agent.post(f"{base}/messages", {"message": "Hello"}, format="json")
    messages = scene.visitor.client.get(f"{base}/messages").json()["messages"]
    assert [(m["sender_type"], m["sender_name"]) for m in messages] == [
        ("user", "Vera"),
        ("system", None),
        ("admin", "Alice"),
    ]
