"""The bot responder: answers from the chatbot's FAQ entries by word overlap, offline.

Good enough to show the handoff: an unmatched question gets a fallback that offers a
human. A real deployment may swap this module for an LLM call behind the same function.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from chatbots.languages import translated
from chatbots.models import FAQEntry

# English here (tests compare with them); the visitor reads them through gettext, each
# naming the widget's "Speak to a human" button as its catalog translates it
# (chatbots/widget_strings.py).
FALLBACK_REPLY = gettext_noop(
    "I'm not sure I can answer that. Would you like to speak to a human? "
    'Press "Speak to a human" and someone from our team will join.'
)
HUMAN_REQUEST_REPLY = gettext_noop(
    'Of course. Press "Speak to a human" and someone from our team will join.'
)
MIN_SCORE = 0.34

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "have",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "that",
        "the",
        "their",
        "there",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "yours",
    ]
)
# English words, and the same request in the other shipped languages (lower case).
_HUMAN_WORDS = frozenset(
    {
        "human",
        "person",
        "agent",
        "someone",
        "operator",
        "representative",
        "mensch",
        "mitarbeiter",
        "humain",
        "conseiller",
        "humano",
        "persona",
        "pessoa",
        "atendente",
        "إنسان",
        "موظف",
    }
)
# Letters of any script: FAQ entries and questions may be German, Arabic, ...
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class BotAnswer:
    text: str
    handoff_suggested: bool


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def words_of(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def score(question: set[str], entry: FAQEntry, language: str, default_language: str) -> float:
    """Share of the visitor's words the entry covers, favouring tight entries."""

    def text(field: str) -> str:
        return translated(entry, field, language, default_language=default_language)

    entry_words = words_of(f"{text('question')} {text('keywords')}")
    if not question or not entry_words:
        return 0.0
    shared = len(question & entry_words)
    return shared / len(question) * 0.7 + shared / len(entry_words) * 0.3


def answer(
    text: str,
    entries: Iterable[FAQEntry],
    *,
    language: str | None = None,
    default_language: str | None = None,
) -> BotAnswer:
    """The bot's answer in `language`: FAQ entries in that language where they have it,
    else in `default_language` (the chatbot's), in which their fields are written. Both
    default to the site's LANGUAGE_CODE."""
    default_language = default_language or settings.LANGUAGE_CODE
    language = language or default_language
    question = words_of(text)
    with translation.override(language):
        if question & _HUMAN_WORDS:
            return BotAnswer(gettext(HUMAN_REQUEST_REPLY), handoff_suggested=True)
        best, best_score = None, 0.0
        for entry in entries:
            s = score(question, entry, language, default_language)
            if s > best_score:
                best, best_score = entry, s
        if best is None or best_score < MIN_SCORE:
            return BotAnswer(gettext(FALLBACK_REPLY), handoff_suggested=True)
        reply = translated(best, "answer", language, default_language=default_language)
        return BotAnswer(reply, handoff_suggested=False)
