"""The chatbot admin edits retention_days (empty: the installation's RETENTION_DAYS)."""

from __future__ import annotations

import pytest

from tests.chatbots.test_admin_languages import change_url, form, superuser_client
from tests.factories import ChatbotFactory

pytestmark = pytest.mark.django_db


def test_the_admin_sets_and_clears_a_chatbots_retention_days() -> None:
    chatbot = ChatbotFactory()
    client = superuser_client()

    assert client.post(change_url(chatbot), form(chatbot, retention_days="30")).status_code == 302
    chatbot.refresh_from_db()
    assert chatbot.retention_days == 30

    assert client.post(change_url(chatbot), form(chatbot, retention_days="")).status_code == 302
    chatbot.refresh_from_db()
    assert chatbot.retention_days is None
