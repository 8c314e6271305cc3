"""The whole life of a support request over HTTP, as a client would drive it."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, AgentFactory, ChatbotFactory, FAQEntryFactory

pytestmark = pytest.mark.django_db


def test_a_visitor_and_an_agent_go_through_the_whole_life_of_a_request() -> None:
    agent = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[agent])
    FAQEntryFactory(chatbot=chatbot)
    anonymous = APIClient()

    config = anonymous.get(f"/api/chatbots/{chatbot.key}/config")
    assert config.status_code == 200
    assert config.json()["human_support_enabled"] is True

    started = anonymous.post(f"/api/chatbots/{chatbot.key}/sessions")
    assert started.status_code == 201
    session_id, token = started.json()["session_id"], started.json()["token"]
    visitor = APIClient()
    visitor.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    faq = visitor.post(
        f"/api/sessions/{session_id}/messages", {"message": "When are you open?"}, format="json"
    )
    assert faq.status_code == 200
    assert "9:00" in faq.json()["reply"]["text"]
    assert faq.json()["handoff_suggested"] is False
    unknown = visitor.post(
        f"/api/sessions/{session_id}/messages", {"message": "My parcel is broken"}, format="json"
    )
    assert unknown.json()["handoff_suggested"] is True

    created = visitor.post(
        "/human-support/request",
        {"session_id": session_id, "user_name": "Vera", "initial_message": "Parcel broken"},
        format="json",
    )
    assert created.status_code == 201
    request_id = created.json()["request_id"]
    assert created.json()["status"] == "pending"

    agent_client = APIClient(enforce_csrf_checks=True)
    login = agent_client.get("/console/login/")
    csrf = login.cookies["csrftoken"].value
    logged_in = agent_client.post(
        "/console/login/",
        {"username": agent.username, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
    )
    assert logged_in.status_code == 302
    csrf = agent_client.cookies["csrftoken"].value
    headers: dict[str, Any] = {"HTTP_X_CSRFTOKEN": csrf}

    pending = agent_client.get("/human-support/requests/pending").json()["requests"]
    assert [r["request_id"] for r in pending] == [request_id]
    assert [line["role"] for line in pending[0]["transcript"]] == ["user", "bot", "user", "bot"]

    assert agent_client.post(f"/human-support/requests/{request_id}/join").status_code == 403
    joined = agent_client.post(f"/human-support/requests/{request_id}/join", **headers)
    assert joined.status_code == 200
    assert joined.json()["status"] == "active"
    assert joined.json()["agent_name"] == "Alice"

    url = f"/human-support/requests/{request_id}/messages"
    first = agent_client.post(
        url, {"message": "Hello Vera", "client_id": "a-1"}, format="json", **headers
    )
    again = agent_client.post(
        url, {"message": "Hello Vera", "client_id": "a-1"}, format="json", **headers
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    reply = visitor.post(url, {"message": "Hi!", "client_id": "v-1"}, format="json")
    assert reply.status_code == 201

    resolved = agent_client.post(f"/human-support/requests/{request_id}/resolve", **headers)
    assert resolved.json()["status"] == "resolved"
    reopened = visitor.post(url, {"message": "One more thing"}, format="json")
    assert reopened.status_code == 201
    assert visitor.get(f"/human-support/requests/{request_id}").json()["status"] == "active"
    agent_client.post(f"/human-support/requests/{request_id}/resolve", **headers)
    closed = visitor.post(f"/human-support/requests/{request_id}/close")
    assert closed.json()["status"] == "closed"

    refused = visitor.post(url, {"message": "Hello?"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "closed"

    messages = visitor.get(url).json()["messages"]
    assert [(m["sender_type"], m["text"]) for m in messages] == [
        ("user", "Parcel broken"),
        ("system", "Alice joined"),
        ("admin", "Hello Vera"),
        ("user", "Hi!"),
        ("system", "Resolved by Alice"),
        ("system", "Reopened by the visitor"),
        ("user", "One more thing"),
        ("system", "Resolved by Alice"),
        ("system", "Closed by the visitor"),
    ]
    later = visitor.get(url, {"after": messages[-3]["id"]}).json()["messages"]
    assert [m["id"] for m in later] == [m["id"] for m in messages[-2:]]
