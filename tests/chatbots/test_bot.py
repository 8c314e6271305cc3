"""The offline bot responder: best FAQ match by word overlap, else a fallback offering a human."""

from __future__ import annotations

from chatbots import bot
from chatbots.models import FAQEntry
from tests.factories import FAQEntryFactory


def faq() -> list[FAQEntry]:
    return [
        FAQEntryFactory.build(
            question="What are your opening hours?",
            answer="We are open 9:00 to 17:00.",
            keywords="hours open time",
        ),
        FAQEntryFactory.build(
            question="How long does shipping take?",
            answer="Shipping takes 2 to 4 working days.",
            keywords="delivery parcel dispatch",
        ),
        FAQEntryFactory.build(
            question="How do I return an item?",
            answer="Returns are free within 30 days.",
            keywords="refund return exchange",
        ),
    ]


def test_the_best_matching_entry_answers() -> None:
    answer = bot.answer("How long does shipping take to Spain?", faq())
    assert answer.text == "Shipping takes 2 to 4 working days."
    assert answer.handoff_suggested is False


def test_keywords_match_as_well_as_the_question() -> None:
    assert bot.answer("Where is my parcel?", faq()).text == "Shipping takes 2 to 4 working days."
    assert bot.answer("Can I get a refund?", faq()).text == "Returns are free within 30 days."


def test_matching_ignores_case_punctuation_and_plurals() -> None:
    answer = bot.answer("OPENING HOURS??!", faq())
    assert answer.text == "We are open 9:00 to 17:00."
    assert bot.answer("returns", faq()).text == "Returns are free within 30 days."


def test_the_entry_sharing_more_words_wins_over_one_sharing_fewer() -> None:
    entries = [
        FAQEntryFactory.build(question="Opening time", answer="generic", keywords=""),
        FAQEntryFactory.build(
            question="Opening time on public holidays", answer="holidays", keywords=""
        ),
    ]
    assert bot.answer("opening time on public holidays", entries).text == "holidays"
    assert bot.answer("opening time", entries).text == "generic"


def test_an_unmatched_question_gets_the_fallback_that_offers_a_human() -> None:
    answer = bot.answer("My cat ate the invoice", faq())
    assert answer.text == bot.FALLBACK_REPLY
    assert answer.handoff_suggested is True


def test_a_weak_overlap_below_the_threshold_gets_the_fallback() -> None:
    # One shared word out of many is not an answer.
    answer = bot.answer("purple elephants dance slowly during time signatures", faq())
    assert answer.handoff_suggested is True


def test_without_faq_entries_every_question_gets_the_fallback() -> None:
    answer = bot.answer("What are your opening hours?", [])
    assert (answer.text, answer.handoff_suggested) == (bot.FALLBACK_REPLY, True)


def test_a_question_of_stopwords_only_gets_the_fallback() -> None:
    assert bot.answer("what is it?", faq()).handoff_suggested is True


def test_asking_for_a_human_suggests_the_handoff_even_when_an_entry_matches() -> None:
    answer = bot.answer("Can a human tell me the opening hours?", faq())
    assert answer.text == bot.HUMAN_REQUEST_REPLY
    assert answer.handoff_suggested is True
