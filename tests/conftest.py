from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from chatbots.models import Chatbot, ChatSession
from core.actors import Agent
from support import services
from support.models import SupportRequest
from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory, make_session


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # Rate-limit counters live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@dataclass
class VisitorClient:
    session: ChatSession
    token: str
    client: APIClient


@dataclass
class Scene:
    """Two chatbots, each with its own agent, plus one visitor on the first with a request."""

    chatbot: Chatbot
    other_chatbot: Chatbot
    agent: Any
    other_agent: Any
    superuser: Any
    visitor: VisitorClient
    other_visitor: VisitorClient
    support_request: SupportRequest


def visitor_client(chatbot: Chatbot) -> VisitorClient:
    session, token = make_session(chatbot)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return VisitorClient(session=session, token=token, client=client)


def agent_client(user: Any) -> APIClient:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def agent_client_with_csrf(user: Any) -> APIClient:
    """A logged-in agent whose unsafe calls carry the CSRF token, as the console's do."""
    client = agent_client(user)
    client.get("/console/login/")  # sets the csrftoken cookie
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    return client


@pytest.fixture
def scene(db: None) -> Scene:
    agent = AgentFactory(first_name="Alice")
    other_agent = AgentFactory(first_name="Bob")
    chatbot = ChatbotFactory(agents=[agent])
    other_chatbot = ChatbotFactory(agents=[other_agent])
    visitor = visitor_client(chatbot)
    other_visitor = visitor_client(chatbot)
    support_request, _ = services.request_create(
        session=visitor.session, user_name="Vera", initial_message="My order is late"
    )
    return Scene(
        chatbot=chatbot,
        other_chatbot=other_chatbot,
        agent=agent,
        other_agent=other_agent,
        superuser=SuperuserFactory(),
        visitor=visitor,
        other_visitor=other_visitor,
        support_request=support_request,
    )


def join(scene: Scene) -> SupportRequest:
    return services.request_join(support_request=scene.support_request, agent=Agent(scene.agent))
