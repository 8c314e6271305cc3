"""Who is an agent: one rule (core/actors.py), and the chatbot queries built on it agree."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from chatbots.models import Chatbot
from chatbots.selectors import agents_of
from core.actors import agent_for, is_agent
from tests.factories import AgentFactory, ChatbotFactory, SuperuserFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "agent"),
    [
        ({"is_staff": True}, True),
        ({"is_staff": True, "is_superuser": True}, True),
        ({"is_staff": False, "is_superuser": True}, True),
        ({"is_staff": False}, False),
        ({"is_staff": True, "is_active": False}, False),
        ({"is_staff": True, "is_superuser": True, "is_active": False}, False),
    ],
)
def test_an_agent_is_an_active_staff_user_or_an_active_superuser(
    fields: dict[str, Any], agent: bool
) -> None:
    user = UserFactory(**fields)
    assert is_agent(user) is agent
    assert (agent_for(user) is not None) is agent


def test_anonymous_and_missing_users_are_not_agents() -> None:
    assert not is_agent(AnonymousUser())
    assert not is_agent(None)
    assert agent_for(AnonymousUser()) is None


def test_who_serves_a_chatbot_agrees_from_both_sides() -> None:
    listed = AgentFactory()
    listed_but_not_staff = UserFactory(is_staff=False)
    listed_but_inactive = AgentFactory(is_active=False)
    superuser = SuperuserFactory()
    superuser_not_staff = SuperuserFactory(is_staff=False)
    of_another_chatbot = AgentFactory()
    chatbot = ChatbotFactory(agents=[listed, listed_but_not_staff, listed_but_inactive])
    ChatbotFactory(agents=[of_another_chatbot])
    users = [
        listed,
        listed_but_not_staff,
        listed_but_inactive,
        superuser,
        superuser_not_staff,
        of_another_chatbot,
    ]

    serving = {u.pk for u in users if Chatbot.objects.served_by(u).filter(pk=chatbot.pk).exists()}

    assert serving == {listed.pk, superuser.pk, superuser_not_staff.pk}
    assert set(agents_of(chatbot.pk).values_list("pk", flat=True)) == serving
