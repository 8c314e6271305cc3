"""The admin's "Export the visitor's data" and "Erase the visitor's data": superusers only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from support.models import ErasureAudit, SupportRequest
from support.services import ERASED_TEXT
from tests.support.privacy.conftest import VERA, PrivacyScene

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:support_supportrequest_changelist")
EXPORT = "export_visitor_data"
ERASE = "erase_visitor_data"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def run_action(client: Client, action: str, *requests: SupportRequest, **extra: str) -> Any:
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [r.pk for r in requests], **extra}
    )


def still_there(privacy: PrivacyScene) -> bool:
    return SupportRequest.objects.get(pk=privacy.vera.support_request.pk).user_email == VERA


# --- superuser -------------------------------------------------------------------------------


def test_superuser_downloads_the_visitors_data_as_json(privacy: PrivacyScene) -> None:
    response = run_action(logged_in(privacy.superuser), EXPORT, privacy.vera.support_request)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == 'attachment; filename="visitor-data.json"'
    exported = json.loads(response.content)
    assert exported["email"] == VERA
    assert len(exported["requests"]) == 2  # both chatbots'


def test_superuser_is_asked_to_confirm_before_anything_is_erased(privacy: PrivacyScene) -> None:
    response = run_action(logged_in(privacy.superuser), ERASE, privacy.vera.support_request)

    assert response.status_code == 200
    assert "Are you sure you want to erase the data of" in response.text
    assert f'<bdi dir="auto">{VERA}</bdi>' in response.text
    assert response.context["counts"].requests == 2
    assert 'name="post" value="yes"' in response.text
    assert still_there(privacy)
    assert not ErasureAudit.objects.exists()


def test_superuser_erases_once_confirmed(privacy: PrivacyScene) -> None:
    client = logged_in(privacy.superuser)

    response = run_action(client, ERASE, privacy.vera.support_request, post="yes")

    assert response.status_code == 302
    erased = SupportRequest.objects.get(pk=privacy.vera.support_request.pk)
    assert (erased.user_email, erased.initial_message) == (None, ERASED_TEXT)
    assert ErasureAudit.objects.get().operator == privacy.superuser.username
    page = client.get(CHANGELIST)
    assert "The visitor&#x27;s data was erased (2 requests anonymised)." in page.text


def test_erasure_from_the_requests_own_page_asks_and_erases(privacy: PrivacyScene) -> None:
    client = logged_in(privacy.superuser)
    url = reverse("admin:support_supportrequest_change", args=[privacy.vera.support_request.pk])
    fields = {"CHANGE_FORM-action": ERASE, "_selected_action": privacy.vera.support_request.pk}

    asked = client.post(url, fields)
    assert 'name="CHANGE_FORM-action" value="erase_visitor_data"' in asked.text
    assert still_there(privacy)

    client.post(url, {**fields, "post": "yes"})
    assert not still_there(privacy)


def test_the_confirmation_page_escapes_the_address(privacy: PrivacyScene) -> None:
    strange = '"<b>x</b>"@example.com'
    SupportRequest.objects.filter(pk=privacy.vera.support_request.pk).update(user_email=strange)

    response = run_action(logged_in(privacy.superuser), ERASE, privacy.vera.support_request)

    assert "<b>x</b>" not in response.text
    assert "&lt;b&gt;x&lt;/b&gt;" in response.text


def test_requests_of_two_visitors_are_refused_together(privacy: PrivacyScene) -> None:
    client = logged_in(privacy.superuser)

    run_action(
        client,
        ERASE,
        privacy.vera.support_request,
        privacy.lookalikes[0].support_request,
        post="yes",
    )

    assert still_there(privacy)
    assert "several email addresses" in client.get(CHANGELIST).text


def test_a_request_without_an_address_has_no_visitor_to_erase(privacy: PrivacyScene) -> None:
    SupportRequest.objects.filter(pk=privacy.vera.support_request.pk).update(user_email=None)
    client = logged_in(privacy.superuser)

    run_action(client, ERASE, privacy.vera.support_request, post="yes")

    assert not ErasureAudit.objects.exists()
    assert "no valid email address" in client.get(CHANGELIST).text


# --- agents and anonymous ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent", "other_agent"])
def test_agents_are_not_offered_the_visitor_data_actions(privacy: PrivacyScene, who: str) -> None:
    page = logged_in(getattr(privacy, who)).get(CHANGELIST)

    assert EXPORT not in page.text
    assert ERASE not in page.text


@pytest.mark.parametrize("who", ["agent", "other_agent"])
def test_agents_posting_the_erase_action_erase_nothing(privacy: PrivacyScene, who: str) -> None:
    client = logged_in(getattr(privacy, who))

    response = run_action(client, ERASE, privacy.vera.support_request, post="yes")

    assert response.status_code in {302, 403}
    assert still_there(privacy)
    assert not ErasureAudit.objects.exists()


@pytest.mark.parametrize("who", ["agent", "other_agent"])
def test_agents_posting_the_export_action_get_no_data(privacy: PrivacyScene, who: str) -> None:
    response = run_action(logged_in(getattr(privacy, who)), EXPORT, privacy.vera.support_request)

    assert response.status_code in {302, 403}
    assert b"first message of vera" not in response.content


def test_anonymous_is_sent_to_the_login(privacy: PrivacyScene) -> None:
    response = run_action(Client(), ERASE, privacy.vera.support_request, post="yes")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert still_there(privacy)


# --- the audit in the admin ------------------------------------------------------------------------


def test_superuser_finds_an_erasure_by_the_address(privacy: PrivacyScene) -> None:
    client = logged_in(privacy.superuser)
    run_action(client, ERASE, privacy.vera.support_request, post="yes")
    audits = reverse("admin:support_erasureaudit_changelist")

    def found(q: str) -> int:
        return int(client.get(audits, {"q": q}).context["cl"].result_count)

    assert found("VERA@example.com") == 1
    assert found("vera+shop@example.com") == 0
    assert found("not an address") == 0


@pytest.mark.parametrize("who", ["agent", "other_agent"])
def test_agents_cannot_read_the_audit(privacy: PrivacyScene, who: str) -> None:
    response = logged_in(getattr(privacy, who)).get(
        reverse("admin:support_erasureaudit_changelist")
    )

    assert response.status_code == 403
