"""The privacy tests' scene: one visitor with requests on two chatbots, and visitors whose
addresses look like theirs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from chatbots import services as chatbot_services
from chatbots.models import Chatbot
from core.actors import Agent
from support import services
from support.models import SupportRequest
from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory
from tests.helpers import VisitorClient, visitor_client

VERA = "vera@example.com"
# Someone else each: a +tag, a longer local part, another domain.
LOOKALIKES = ["vera+shop@example.com", "avera@example.com", "vera@example.org"]


@dataclass
class Visit:
    visitor: VisitorClient
    support_request: SupportRequest


@dataclass
class PrivacyScene:
    chatbot: Chatbot
    other_chatbot: Chatbot
    agent: Any
    other_agent: Any
    superuser: Any
    vera: Visit  # open, joined, on `chatbot`
    vera_elsewhere: Visit  # closed, on `other_chatbot`
    lookalikes: list[Visit]


def visit(
    chatbot: Chatbot, *, email: str | None, name: str, words: str, agent: Any = None
) -> Visit:
    """A visitor talks to the bot, asks for a human, and (with `agent`) gets an answer."""
    visitor = visitor_client(chatbot)
    chatbot_services.bot_message(session=visitor.session, text=f"bot question of {words}")
    support_request, _ = services.request_create(
        session=visitor.session,
        user_name=name,
        user_email=email,
        initial_message=f"first message of {words}",
    )
    if agent is not None:
        services.request_join(support_request=support_request, agent=Agent(agent))
        services.message_post(
            support_request=support_request, actor=Agent(agent), text=f"answer to {words}"
        )
    return Visit(visitor=visitor, support_request=support_request)


@pytest.fixture
def privacy(db: None) -> PrivacyScene:
    agent = AgentFactory(first_name="Alice")
    other_agent = AgentFactory(first_name="Bob")
    chatbot = ChatbotFactory(name="Shop bot", agents=[agent])
    other_chatbot = ChatbotFactory(name="Bank bot", agents=[other_agent])
    vera = visit(chatbot, email=VERA, name="Vera", words="vera at the shop", agent=agent)
    vera_elsewhere = visit(other_chatbot, email=VERA, name="Vera", words="vera at the bank")
    services.request_close(support_request=vera_elsewhere.support_request, actor=Agent(other_agent))
    lookalikes = [
        visit(chatbot, email=email, name=f"Look {n}", words=f"lookalike {n}", agent=agent)
        for n, email in enumerate(LOOKALIKES)
    ]
    return PrivacyScene(
        chatbot=chatbot,
        other_chatbot=other_chatbot,
        agent=agent,
        other_agent=other_agent,
        superuser=SuperuserFactory(),
        vera=vera,
        vera_elsewhere=vera_elsewhere,
        lookalikes=lookalikes,
    )
