"""export_visitor: exactly one visitor's data, as JSON."""

from __future__ import annotations

import json
from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from support.models import SupportRequest
from support.selectors import requests_of_visitor
from tests.support.privacy.conftest import VERA, PrivacyScene

pytestmark = pytest.mark.django_db


def export(email: str) -> dict[str, Any]:
    out = StringIO()
    call_command("export_visitor", email, stdout=out)
    return json.loads(out.getvalue())


def test_export_holds_the_visitors_requests_of_every_chatbot(privacy: PrivacyScene) -> None:
    exported = export(VERA)

    assert [r["request_id"] for r in exported["requests"]] == [
        privacy.vera.support_request.request_id,
        privacy.vera_elsewhere.support_request.request_id,
    ]
    assert {r["chatbot"]["name"] for r in exported["requests"]} == {"Shop bot", "Bank bot"}
    assert exported["email"] == VERA


def test_export_holds_messages_transcript_and_emails_of_each_request(
    privacy: PrivacyScene,
) -> None:
    shop = export(VERA)["requests"][0]

    assert [m["text"] for m in shop["messages"]] == [
        "first message of vera at the shop",
        "Alice joined",
        "answer to vera at the shop",
    ]
    assert [line["role"] for line in shop["transcript"]] == ["user", "bot"]
    assert shop["transcript"][0]["text"] == "bot question of vera at the shop"
    recipients = {(e["kind"], e["recipient"]) for e in shop["emails"]}
    assert ("admin_notification", privacy.chatbot.admin_email) in recipients
    assert ("visitor_confirmation", VERA) in recipients


def test_export_holds_nothing_of_visitors_with_similar_addresses(privacy: PrivacyScene) -> None:
    text = json.dumps(export(VERA))

    for lookalike in privacy.lookalikes:
        address = lookalike.support_request.user_email
        assert address is not None
        assert address not in text
        assert lookalike.support_request.request_id not in text
    assert "lookalike" not in text


def test_export_matches_the_address_whatever_its_case(privacy: PrivacyScene) -> None:
    # The seed's SQL may store an address as it was typed.
    SupportRequest.objects.filter(pk=privacy.vera_elsewhere.support_request.pk).update(
        user_email="Vera@Example.COM"
    )

    exported = export("  VERA@example.com ")

    assert len(exported["requests"]) == 2


def test_export_times_are_iso_8601_with_a_zone(privacy: PrivacyScene) -> None:
    shop = export(VERA)["requests"][0]

    for value in [
        shop["created_at"],
        shop["messages"][0]["created_at"],
        shop["emails"][0]["created_at"],
    ]:
        assert datetime.fromisoformat(value).tzinfo is not None


def test_export_of_an_unknown_address_is_empty_lists(privacy: PrivacyScene) -> None:
    exported = export("nobody@example.com")

    assert exported["requests"] == []
    assert exported["other_emails"] == []
    assert exported["erasures"] == []


def test_export_refuses_what_is_not_an_address(db: None) -> None:
    with pytest.raises(CommandError, match="not an email address"):
        export("vera at example")


def test_mails_to_the_address_about_others_requests_are_listed_apart(
    privacy: PrivacyScene,
) -> None:
    # An address that is also a chatbot's admin: the mails to it, not those requests.
    exported = export(privacy.chatbot.admin_email)

    assert exported["requests"] == []
    assert {e["kind"] for e in exported["other_emails"]} == {"admin_notification"}
    assert len(exported["other_emails"]) == 4  # vera and the three lookalikes, on `chatbot`
    assert "first message" not in json.dumps(exported)


def test_the_one_look_up_finds_only_that_address(privacy: PrivacyScene) -> None:
    found = requests_of_visitor(email=VERA)

    assert set(found) == {privacy.vera.support_request, privacy.vera_elsewhere.support_request}
