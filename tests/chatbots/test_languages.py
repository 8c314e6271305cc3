"""The widget in the visitor's language: which language a visitor gets, the widget's
catalog (`strings`) in every shipped language, and what admins write per language."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from chatbots import bot
from chatbots.models import Chatbot
from chatbots.widget_strings import WIDGET_STRINGS
from tests.factories import ChatbotFactory, FAQEntryFactory
from tests.helpers import Scene, agent_client_with_csrf

pytestmark = pytest.mark.django_db

SHIPPED = [code for code, _name in settings.LANGUAGES]

# Texts that are rightly the same as the English in a language (a word both share).
SAME_AS_ENGLISH = {("de", "name_label")}


def config(chatbot: Chatbot, **headers: Any) -> dict[str, Any]:
    response = APIClient().get(f"/api/chatbots/{chatbot.key}/config", **headers)
    assert response.status_code == 200
    return response.json()


def config_for(chatbot: Chatbot, lang: str) -> dict[str, Any]:
    response = APIClient().get(f"/api/chatbots/{chatbot.key}/config", {"lang": lang})
    assert response.status_code == 200
    return response.json()


# --- the catalog --------------------------------------------------------------------------


@pytest.mark.parametrize("language", SHIPPED)
def test_config_answers_in_each_shipped_language_with_its_direction(language: str) -> None:
    body = config_for(ChatbotFactory(), language)

    assert body["language"] == language
    assert body["dir"] == ("rtl" if language == "ar" else "ltr")


@pytest.mark.parametrize("language", SHIPPED)
def test_every_shipped_language_has_every_widget_string(language: str) -> None:
    strings = config_for(ChatbotFactory(), language)["strings"]

    assert set(strings) == set(WIDGET_STRINGS)
    assert all(isinstance(text, str) and text.strip() for text in strings.values())


@pytest.mark.parametrize("language", [code for code in SHIPPED if code != "en"])
def test_every_widget_string_is_translated(language: str) -> None:
    chatbot = ChatbotFactory()
    english = config_for(chatbot, "en")["strings"]
    translated = config_for(chatbot, language)["strings"]

    untranslated = [
        key
        for key in english
        if translated[key] == english[key] and (language, key) not in SAME_AS_ENGLISH
    ]
    assert untranslated == []


@pytest.mark.parametrize("language", SHIPPED)
def test_placeholders_survive_translation(language: str) -> None:
    strings = config_for(ChatbotFactory(), language)["strings"]

    assert "{name}" in strings["chat_with"]
    assert "{name}" in strings["status_active_named"]
    assert "{name}" in strings["agent_typing_named"]
    assert "{status}" in strings["error_status"]


def test_the_two_human_buttons_keep_different_names_in_every_language() -> None:
    # Two buttons of one accessible name would clash (chatbot-widget.js, the hint's button).
    for language in SHIPPED:
        strings = config_for(ChatbotFactory(), language)["strings"]
        assert strings["speak_to_human"] != strings["talk_to_person"], language


# --- which language -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preferences", "expected"),
    [
        ("pt-BR", "pt-br"),
        ("pt_BR", "pt-br"),
        ("pt", "pt-br"),
        ("de-AT", "de"),
        ("DE", "de"),
        ("ar-EG", "ar"),
        ("xx,fr-CA,de", "fr"),
        ("zh-CN,ja", "es"),  # none shipped: the chatbot's language
        (" ,*", "es"),
    ],
)
def test_lang_preferences_pick_the_first_shipped_match(preferences: str, expected: str) -> None:
    chatbot = ChatbotFactory(language="es")

    assert config_for(chatbot, preferences)["language"] == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-AT,de;q=0.9,en;q=0.8", "de"),
        ("en;q=0.5,fr;q=0.9", "fr"),  # by quality, not by place
        ("pt-BR", "pt-br"),
        ("ko-KR", "fr"),
        ("", "fr"),
    ],
)
def test_without_lang_the_accept_language_header_decides(header: str, expected: str) -> None:
    chatbot = ChatbotFactory(language="fr")

    assert config(chatbot, HTTP_ACCEPT_LANGUAGE=header)["language"] == expected


def test_lang_wins_over_the_accept_language_header() -> None:
    chatbot = ChatbotFactory()
    response = APIClient().get(
        f"/api/chatbots/{chatbot.key}/config", {"lang": "ar"}, HTTP_ACCEPT_LANGUAGE="de"
    )

    assert response.json()["language"] == "ar"


def test_config_without_any_preference_is_in_the_chatbots_language() -> None:
    body = config(ChatbotFactory(language="de"))

    assert (body["language"], body["strings"]["open_chat"]) == ("de", "Chat öffnen")


def test_config_varies_by_accept_language() -> None:
    response = APIClient().get(f"/api/chatbots/{ChatbotFactory().key}/config")

    assert "Accept-Language" in response["Vary"]


# --- what admins write, per language --------------------------------------------------------


def test_welcome_text_and_offline_message_come_in_the_visitors_language() -> None:
    chatbot = ChatbotFactory(
        welcome_text="Hello!",
        offline_message="We are away.",
        translations={"de": {"welcome_text": "Hallo!", "offline_message": "Wir sind weg."}},
    )

    german = config_for(chatbot, "de")

    assert (german["welcome_text"], german["offline_message"]) == ("Hallo!", "Wir sind weg.")


def test_a_missing_translation_falls_back_to_the_chatbots_language() -> None:
    chatbot = ChatbotFactory(
        welcome_text="Hello!",
        offline_message="We are away.",
        translations={"de": {"welcome_text": "Hallo!"}},
    )

    german, french = config_for(chatbot, "de"), config_for(chatbot, "fr")

    assert german["offline_message"] == "We are away."
    assert (french["welcome_text"], french["offline_message"]) == ("Hello!", "We are away.")
    assert french["strings"]["open_chat"] == "Ouvrir le chat"  # the widget's own texts are


def visitor(chatbot: Chatbot, language: str | None) -> tuple[APIClient, str]:
    started = APIClient().post(f"/api/chatbots/{chatbot.key}/sessions").json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {started['token']}")
    if language:
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client, started["session_id"]


def ask(chatbot: Chatbot, text: str, language: str | None) -> dict[str, Any]:
    client, session_id = visitor(chatbot, language)
    response = client.post(f"/api/sessions/{session_id}/messages", {"message": text}, format="json")
    assert response.status_code == 200
    return response.json()


def test_the_bot_answers_from_the_faq_in_the_visitors_language() -> None:
    chatbot = ChatbotFactory()
    FAQEntryFactory(
        chatbot=chatbot,
        translations={
            "de": {
                "question": "Wann haben Sie geöffnet?",
                "answer": "Wir haben montags bis freitags von 9 bis 17 Uhr geöffnet.",
                "keywords": "öffnungszeiten geöffnet",
            }
        },
    )

    reply = ask(chatbot, "Wann haben Sie geöffnet?", "de")

    assert reply["reply"]["text"] == "Wir haben montags bis freitags von 9 bis 17 Uhr geöffnet."
    assert reply["handoff_suggested"] is False


def test_an_faq_entry_without_the_visitors_language_answers_in_the_default_one() -> None:
    chatbot = ChatbotFactory()
    FAQEntryFactory(chatbot=chatbot, translations={"de": {"question": "Öffnungszeiten?"}})

    reply = ask(chatbot, "What are your opening hours?", "fr")

    assert reply["reply"]["text"] == "We are open 9:00 to 17:00, Monday to Friday."


def test_a_question_matched_in_german_without_a_german_answer_gets_the_default_answer() -> None:
    chatbot = ChatbotFactory()
    FAQEntryFactory(chatbot=chatbot, translations={"de": {"question": "Öffnungszeiten"}})

    reply = ask(chatbot, "Öffnungszeiten", "de")

    assert reply["reply"]["text"] == "We are open 9:00 to 17:00, Monday to Friday."


def test_the_bots_own_replies_are_in_the_visitors_language() -> None:
    chatbot = ChatbotFactory()

    unknown = ask(chatbot, "Xyzzy plugh", "ar")
    person = ask(chatbot, "Ich möchte mit einem Mitarbeiter sprechen", "de")

    assert unknown["handoff_suggested"] is True
    assert "«التحدث إلى موظف»" in unknown["reply"]["text"]
    assert person["reply"]["text"].startswith("Gern.")
    assert "„Mit einem Menschen sprechen“" in person["reply"]["text"]


def test_without_a_language_the_bot_answers_in_the_chatbots_language() -> None:
    chatbot = ChatbotFactory(language="fr")

    reply = ask(chatbot, "Xyzzy plugh", None)

    assert reply["reply"]["text"].startswith("Je ne suis pas sûr")


def test_the_bot_still_answers_in_english_by_default() -> None:
    assert bot.answer("Xyzzy plugh", []).text == bot.FALLBACK_REPLY


# --- changing them over the API -------------------------------------------------------------


def patch(scene: Scene, body: dict[str, Any]) -> Any:
    return agent_client_with_csrf(scene.superuser).patch(
        f"/api/chatbots/{scene.chatbot.key}", body, format="json"
    )


def test_operators_set_the_language_offline_message_and_translations(scene: Scene) -> None:
    translations = {"ar": {"welcome_text": "مرحبًا!", "offline_message": "لسنا هنا الآن."}}

    response = patch(
        scene,
        {
            "language": "de",
            "offline_message": "Gerade ist niemand da.",
            "translations": translations,
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["language"], body["offline_message"]) == ("de", "Gerade ist niemand da.")
    assert body["translations"] == translations
    scene.chatbot.refresh_from_db()
    assert scene.chatbot.translations == translations


@pytest.mark.parametrize(
    ("translations", "complaint"),
    [
        ({"xx": {"welcome_text": "Hi"}}, '"xx" is not a shipped language'),
        ({"pt-BR": {"welcome_text": "Oi"}}, '"pt-BR" is not a shipped language'),
        ({"de": {"greeting": "Hallo"}}, '"de" has unknown keys: greeting'),
        ({"de": {"welcome_text": 42}}, '"de.welcome_text" must be a string'),
        ({"de": "Hallo"}, '"de" must be an object'),
        (["de"], "Give an object by language code"),
        ({"de": {"offline_message": "x" * 1001}}, "longer than 1000 characters"),
        ({"en": {"welcome_text": "Hi"}}, "is the chatbot's default language"),
    ],
)
def test_invalid_translations_are_refused_with_400_naming_the_problem(
    scene: Scene, translations: Any, complaint: str
) -> None:
    response = patch(scene, {"translations": translations})

    assert response.status_code == 400
    assert complaint in response.json()["errors"]["translations"][0]
    scene.chatbot.refresh_from_db()
    assert scene.chatbot.translations == {}


def test_switching_to_a_language_that_has_a_translation_is_refused(scene: Scene) -> None:
    patch(scene, {"translations": {"de": {"welcome_text": "Hallo"}}})

    response = patch(scene, {"language": "de"})

    assert response.status_code == 400
    assert "default language" in response.json()["errors"]["translations"][0]
    scene.chatbot.refresh_from_db()
    assert scene.chatbot.language == "en"


def test_an_unknown_language_is_refused(scene: Scene) -> None:
    response = patch(scene, {"language": "klingon"})

    assert response.status_code == 400
    assert "language" in response.json()["errors"]


def test_an_offline_message_over_1000_characters_is_refused(scene: Scene) -> None:
    response = patch(scene, {"offline_message": "x" * 1001})

    assert response.status_code == 400
    assert "offline_message" in response.json()["errors"]


def test_blank_translations_are_dropped(scene: Scene) -> None:
    response = patch(scene, {"translations": {"de": {"welcome_text": "  "}, "fr": {}}})

    assert response.status_code == 200
    assert response.json()["translations"] == {}


# --- the operator's command -------------------------------------------------------------------


def test_create_chatbot_takes_the_default_language() -> None:
    output = StringIO()
    call_command(
        "create_chatbot",
        "Laden",
        "--admin-email",
        "hilfe@laden.example",
        "--language",
        "de",
        stdout=output,
    )

    chatbot = Chatbot.objects.get(key=output.getvalue().strip().splitlines()[-1])
    assert chatbot.language == "de"


def test_create_chatbot_refuses_a_language_not_shipped() -> None:
    with pytest.raises(CommandError, match="language"):
        call_command("create_chatbot", "Shop", "--admin-email", "a@b.example", "--language", "tlh")


# --- the widget's own fallbacks ---------------------------------------------------------------

WIDGET_JS = Path(settings.BASE_DIR) / "static" / "widget" / "chatbot-widget.js"


def test_the_widgets_english_fallbacks_are_the_english_catalog() -> None:
    """The script keeps English only for a key an older server does not send: the same
    keys and texts as the catalog, so neither drifts from the other."""
    source = WIDGET_JS.read_text()
    block = re.search(r"var FALLBACK_STRINGS = \{(.*?)\n  \};", source, re.S)
    assert block is not None
    fallbacks = dict(re.findall(r'^\s+(\w+): "((?:[^"\\]|\\.)*)",$', block.group(1), re.M))

    assert fallbacks == config_for(ChatbotFactory(), "en")["strings"]


def test_a_new_chatbot_greets_in_its_own_language_by_default(scene: Scene) -> None:
    response = agent_client_with_csrf(scene.superuser).post(
        "/api/chatbots",
        {"name": "Laden", "admin_email": "hilfe@laden.example", "language": "de"},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["welcome_text"] == "Hallo! Wie kann ich Ihnen heute helfen?"
