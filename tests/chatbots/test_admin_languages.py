"""The chatbot admin edits the language, the offline message and the texts per language
as plain fields ("Welcome text (German)"), never as JSON."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from chatbots.models import Chatbot, FAQEntry
from tests.factories import ChatbotFactory, FAQEntryFactory, SuperuserFactory

pytestmark = pytest.mark.django_db


def change_url(chatbot: Chatbot) -> str:
    return reverse("admin:chatbots_chatbot_change", args=[chatbot.pk])


def superuser_client() -> Client:
    client = Client()
    client.force_login(SuperuserFactory())
    return client


def form(
    chatbot: Chatbot, faq: list[dict[str, Any]] | None = None, **changes: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": chatbot.name,
        "admin_email": chatbot.admin_email,
        "is_active": "on",
        "allowed_origins": "\n".join(chatbot.allowed_origins),
        "welcome_text": chatbot.welcome_text,
        "language": chatbot.language,
        "offline_message": chatbot.offline_message,
        "primary_color": chatbot.primary_color,
        "human_support_enabled": "on",
        "faq_entries-TOTAL_FORMS": str(len(faq or [])),
        "faq_entries-INITIAL_FORMS": "0",
        "faq_entries-MIN_NUM_FORMS": "0",
        "faq_entries-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, entry in enumerate(faq or []):
        for name, value in entry.items():
            data[f"faq_entries-{index}-{name}"] = value
    data.update(changes)
    return data


def test_the_change_page_shows_a_field_per_language_filled_from_the_translations() -> None:
    chatbot = ChatbotFactory(translations={"de": {"welcome_text": "Willkommen!"}})

    response = superuser_client().get(change_url(chatbot))

    assert response.status_code == 200
    assert "Welcome text (Arabic)" in response.text
    assert 'name="offline_message__pt_br"' in response.text
    assert response.context["adminform"].form["welcome_text__de"].value() == "Willkommen!"


def test_texts_per_language_are_saved_as_translations() -> None:
    chatbot = ChatbotFactory()

    response = superuser_client().post(
        change_url(chatbot),
        form(
            chatbot,
            language="fr",
            offline_message="Personne n'est disponible.",
            welcome_text="Bonjour !",
            welcome_text__de="Hallo!",
            offline_message__ar="لا يوجد أحد الآن.",
        ),
    )

    assert response.status_code == 302
    chatbot.refresh_from_db()
    assert (chatbot.language, chatbot.offline_message) == ("fr", "Personne n'est disponible.")
    assert chatbot.translations == {
        "de": {"welcome_text": "Hallo!"},
        "ar": {"offline_message": "لا يوجد أحد الآن."},
    }


def test_a_text_in_the_default_language_field_is_refused() -> None:
    chatbot = ChatbotFactory(language="de")

    response = superuser_client().post(change_url(chatbot), form(chatbot, welcome_text__de="Hallo"))

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert "the chatbot's default language" in " ".join(errors)
    chatbot.refresh_from_db()
    assert chatbot.translations == {}


def test_faq_entries_take_their_translations_from_the_inline() -> None:
    chatbot = ChatbotFactory()

    response = superuser_client().post(
        change_url(chatbot),
        form(
            chatbot,
            faq=[
                {
                    "question": "When are you open?",
                    "answer": "9 to 5.",
                    "question__es": "¿Cuándo abren?",
                    "answer__es": "De 9 a 17.",
                }
            ],
        ),
    )

    assert response.status_code == 302
    entry = FAQEntry.objects.get(chatbot=chatbot)
    assert entry.translations == {"es": {"question": "¿Cuándo abren?", "answer": "De 9 a 17."}}


def test_an_faq_answer_too_long_in_one_language_is_refused_by_its_field() -> None:
    chatbot = ChatbotFactory()
    FAQEntryFactory(chatbot=chatbot)

    response = superuser_client().post(
        change_url(chatbot),
        form(chatbot, faq=[{"question": "Q", "answer": "A", "answer__fr": "x" * 5001}]),
    )

    assert response.status_code == 200
    assert FAQEntry.objects.filter(chatbot=chatbot).count() == 1
