"""Sending through an Anymail ESP (Postmark; only its remote HTTP API is replaced) and
the tracking webhook that marks our rows delivered or bounced."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from django.test import Client

from support.models import EmailKind, EmailNotification, EmailStatus
from tests.factories import ChatbotFactory
from tests.helpers import create_request_over_http
from tests.support.email.smtp import FRONTEND_URL
from tests.support.email.workers import run_worker_once

WEBHOOK_SECRET = "postmark-hook:Zx8s0M2nQ4"
TRACKING_URL = "/anymail/postmark/tracking/"


@dataclass
class FakePostmarkApi:
    """Stands in for api.postmarkapp.com: records each call, answers like Postmark does."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    next_id: int = 0

    def request(self, session: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        payload = json.loads(kwargs["data"])
        self.calls.append({"method": method, "url": url, "payload": payload, **kwargs})
        self.next_id += 1
        response = requests.Response()
        response.status_code = 200
        response.url = url
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(
            {
                "To": payload["To"],
                "SubmittedAt": "2026-11-24T08:30:00.0000000Z",
                "MessageID": f"0a129aee-e1cd-480d-b08d-4f48548ff{self.next_id:03d}",
                "ErrorCode": 0,
                "Message": "OK",
            }
        ).encode()
        return response


@pytest.fixture
def postmark(settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakePostmarkApi:
    settings.MAILERS = {"default": {"BACKEND": "anymail.backends.postmark.EmailBackend"}}
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "server-token-123",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    settings.FRONTEND_URL = FRONTEND_URL
    api = FakePostmarkApi()
    # The network edge only: Anymail's backend, our task and templates all run for real.
    monkeypatch.setattr(
        requests.Session,
        "request",
        lambda session, method, url, **kw: api.request(session, method, url, **kw),
    )
    return api


def _basic(secret: str) -> str:
    return "Basic " + base64.b64encode(secret.encode()).decode()


def _post_event(event: dict[str, Any], *, auth: str | None) -> Any:
    headers: dict[str, Any] = {"HTTP_AUTHORIZATION": auth} if auth else {}
    return Client().post(
        TRACKING_URL, data=json.dumps(event), content_type="application/json", **headers
    )


def _delivery(message_id: str, recipient: str) -> dict[str, Any]:
    # Postmark's Delivery webhook, as documented.
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageStream": "outbound",
        "MessageID": message_id,
        "Recipient": recipient,
        "Tag": "",
        "DeliveredAt": "2026-11-24T08:31:02Z",
        "Details": "Test delivery webhook details",
        "Metadata": {},
    }


def _bounce(message_id: str, recipient: str) -> dict[str, Any]:
    # Postmark's Bounce webhook, as documented.
    return {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": recipient,
        "From": "noreply@handoff.example",
        "BouncedAt": "2026-11-24T08:31:09.9070259Z",
        "DumpAvailable": False,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "We received your request",
    }


@pytest.mark.django_db(transaction=True)
def test_an_anymail_esp_receives_the_mails_with_the_right_fields(
    postmark: FakePostmarkApi,
) -> None:
    chatbot = ChatbotFactory(name="Parcel Bot", admin_email="owner@shop.example")
    support_request = create_request_over_http(
        chatbot, user_name="Vera", user_email="vera@example.com"
    )

    run_worker_once()

    assert len(postmark.calls) == 2
    by_recipient = {call["payload"]["To"]: call for call in postmark.calls}
    admin_call = by_recipient["owner@shop.example"]
    assert admin_call["method"] == "POST"
    assert admin_call["url"] == "https://api.postmarkapp.com/email"
    assert admin_call["headers"]["X-Postmark-Server-Token"] == "server-token-123"
    payload = admin_call["payload"]
    assert payload["Subject"] == "[Parcel Bot] New support request from Vera"
    assert payload["ReplyTo"] == "vera@example.com"
    link = f"{FRONTEND_URL}/console/requests/{support_request.request_id}/"
    assert link in payload["TextBody"]
    assert f'href="{link}"' in payload["HtmlBody"]
    assert "My parcel arrived broken" in payload["TextBody"]
    assert "Handoff" in payload["From"]
    visitor_payload = by_recipient["vera@example.com"]["payload"]
    assert visitor_payload["Subject"] == "We received your request: Parcel Bot"

    rows = {r.recipient: r for r in EmailNotification.objects.all()}
    assert rows["owner@shop.example"].status == EmailStatus.SENT
    assert rows["owner@shop.example"].provider_message_id.startswith("0a129aee-")
    assert rows["owner@shop.example"].provider_message_id != (
        rows["vera@example.com"].provider_message_id
    )


@pytest.mark.django_db(transaction=True)
def test_a_signed_delivered_event_marks_the_row_delivered(postmark: FakePostmarkApi) -> None:
    create_request_over_http(ChatbotFactory(admin_email="owner@shop.example"), user_email=None)
    run_worker_once()
    row = EmailNotification.objects.get()

    response = _post_event(
        _delivery(row.provider_message_id, "owner@shop.example"), auth=_basic(WEBHOOK_SECRET)
    )

    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == EmailStatus.DELIVERED
    assert row.tracked_at is not None
    assert row.tracked_at.isoformat().startswith("2026-11-24T08:31:02")


@pytest.mark.django_db(transaction=True)
def test_a_tracking_event_larger_than_the_api_body_limit_is_still_taken(
    postmark: FakePostmarkApi, settings: Any
) -> None:
    # The 64 KiB limit guards the API and the widget; providers batch or pad their events.
    create_request_over_http(ChatbotFactory(admin_email="owner@shop.example"), user_email=None)
    run_worker_once()
    row = EmailNotification.objects.get()
    event = _delivery(row.provider_message_id, "owner@shop.example")
    event["Details"] = "x" * (settings.MAX_BODY_BYTES * 2)

    response = _post_event(event, auth=_basic(WEBHOOK_SECRET))

    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == EmailStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_a_signed_bounce_marks_the_row_bounced_with_the_reason(
    postmark: FakePostmarkApi,
) -> None:
    create_request_over_http(ChatbotFactory(), user_email="nobody@example.com")
    run_worker_once()
    row = EmailNotification.objects.get(kind=EmailKind.VISITOR_CONFIRMATION)
    other = EmailNotification.objects.get(kind=EmailKind.ADMIN_NOTIFICATION)

    response = _post_event(
        _bounce(row.provider_message_id, "nobody@example.com"), auth=_basic(WEBHOOK_SECRET)
    )

    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == EmailStatus.BOUNCED
    assert "unable to deliver" in row.last_error
    other.refresh_from_db()
    assert other.status == EmailStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_a_delivered_event_after_a_bounce_does_not_hide_it(postmark: FakePostmarkApi) -> None:
    create_request_over_http(ChatbotFactory(admin_email="owner@shop.example"), user_email=None)
    run_worker_once()
    row = EmailNotification.objects.get()
    _post_event(_bounce(row.provider_message_id, row.recipient), auth=_basic(WEBHOOK_SECRET))

    _post_event(_delivery(row.provider_message_id, row.recipient), auth=_basic(WEBHOOK_SECRET))

    row.refresh_from_db()
    assert row.status == EmailStatus.BOUNCED


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "auth",
    [None, _basic("postmark-hook:wrong"), "Bearer " + WEBHOOK_SECRET],
    ids=["unsigned", "wrong-secret", "not-basic"],
)
def test_an_unsigned_or_wrongly_signed_event_is_refused_and_changes_nothing(
    postmark: FakePostmarkApi, auth: str | None
) -> None:
    create_request_over_http(ChatbotFactory(admin_email="owner@shop.example"), user_email=None)
    run_worker_once()
    row = EmailNotification.objects.get()

    response = _post_event(_bounce(row.provider_message_id, row.recipient), auth=auth)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT


@pytest.mark.django_db
def test_without_a_configured_secret_the_webhook_refuses_everything(settings: Any) -> None:
    settings.ANYMAIL = {}

    response = _post_event(_delivery("any-id", "owner@shop.example"), auth=_basic("a:b"))

    assert response.status_code == 403


@pytest.mark.django_db
def test_an_event_for_an_unknown_message_is_accepted_and_changes_nothing(
    settings: Any,
) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": WEBHOOK_SECRET}
    from support import services
    from tests.factories import make_session

    session, _ = make_session(ChatbotFactory())
    services.request_create(session=session, initial_message="Hello")

    response = _post_event(
        _delivery("00000000-0000-0000-0000-000000000000", "x@example.com"),
        auth=_basic(WEBHOOK_SECRET),
    )

    assert response.status_code == 200
    assert set(EmailNotification.objects.values_list("status", flat=True)) == {"queued"}


@pytest.mark.django_db(transaction=True)
def test_a_bounce_finds_its_row_by_the_recipient_key_while_recipients_are_encrypted(
    postmark: FakePostmarkApi, field_encryption: list[str]
) -> None:
    create_request_over_http(ChatbotFactory(admin_email="owner@shop.example"))
    run_worker_once()
    confirmation = EmailNotification.objects.get(kind=EmailKind.VISITOR_CONFIRMATION)
    admin_row = EmailNotification.objects.get(kind=EmailKind.ADMIN_NOTIFICATION)

    response = _post_event(
        _bounce(confirmation.provider_message_id, "Vera@Example.com"), auth=_basic(WEBHOOK_SECRET)
    )

    assert response.status_code == 200
    confirmation.refresh_from_db()
    admin_row.refresh_from_db()
    assert confirmation.status == EmailStatus.BOUNCED
    assert admin_row.status == EmailStatus.SENT
