"""The bot responder: answers from the chatbot's FAQ entries by word overlap, offline.

Good enough to show the handoff: an unmatched question gets a fallback that offers a
human. A real deployment may swap this module for an LLM call behind the same function.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from chatbots.models import FAQEntry

FALLBACK_REPLY = (
    "I'm not sure I can answer that. Would you like to speak to a human? "
    'Press "Speak to a human" and someone from our team will join.'
)
HUMAN_REQUEST_REPLY = 'Of course. Press "Speak to a human" and someone from our team will join.'
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
_HUMAN_WORDS = frozenset({"human", "person", "agent", "someone", "operator", "representative"})
_WORD = re.compile(r"[a-z0-9]+")


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


def score(question: set[str], entry: FAQEntry) -> float:
    """Share of the visitor's words the entry covers, favouring tight entries."""
    entry_words = words_of(f"{entry.question} {entry.keywords}")
    if not question or not entry_words:
        return 0.0
    shared = len(question & entry_words)
    return shared / len(question) * 0.7 + shared / len(entry_words) * 0.3


def answer(text: str, entries: Iterable[FAQEntry]) -> BotAnswer:
    question = words_of(text)
    if question & _HUMAN_WORDS:
        return BotAnswer(HUMAN_REQUEST_REPLY, handoff_suggested=True)
    best, best_score = None, 0.0
    for entry in entries:
        s = score(question, entry)
        if s > best_score:
            best, best_score = entry, s
    if best is None or best_score < MIN_SCORE:
        return BotAnswer(FALLBACK_REPLY, handoff_suggested=True)
    return BotAnswer(best.answer, handoff_suggested=False)
