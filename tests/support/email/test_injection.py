"""What a visitor types can add no header, link or tag to the mails (checked at a real
SMTP server, on the bytes it received)."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

import pytest

from chatbots.models import Chatbot
from support import services
from support.models import EmailKind, EmailNotification, SupportRequest
from tests.factories import ChatbotFactory, make_session
from tests.helpers import create_request_over_http
from tests.support.email.smtp import FRONTEND_URL, ReceivedMail, SmtpServer
from tests.support.email.workers import run_worker_once

pytestmark = pytest.mark.django_db(transaction=True)

ATTACKER = "attacker@evil.example"
HEADER_INJECTION = f"Eve\r\nBcc: {ATTACKER}\r\nX-Injected: yes"
HTML_INJECTION = (
    '<script>alert("x")</script><a href="https://evil.example/login">Reset password</a>'
    '<img src="https://evil.example/pixel.gif"><b>bold</b>'
    f"\r\nBcc: {ATTACKER}\r\n\r\n<p>fake body</p>"
)
EXPECTED_HEADERS = {
    "content-type",
    "mime-version",
    "subject",
    "from",
    "to",
    "reply-to",
    "date",
    "message-id",
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]
        self.srcs += [v or "" for k, v in attrs if k == "src"]


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def _assert_clean(
    mail: ReceivedMail, *, allowed_links: set[str], like: ReceivedMail | None = None
) -> None:
    """No header beyond ours, no recipient beyond the row's, no link beyond `allowed_links`,
    and (given `like`, the same mail for harmless input) exactly the same HTML tags."""
    message = mail.message
    names = {name.lower() for name in message}
    assert names <= EXPECTED_HEADERS, names - EXPECTED_HEADERS
    assert "bcc" not in names
    assert "x-injected" not in names
    assert ATTACKER not in mail.rcpt_tos
    assert "\n" not in message["Subject"]
    assert len(message["To"].addresses) == 1
    found = _tags(mail.html)
    assert set(found.hrefs) <= allowed_links
    assert found.srcs == []
    assert "script" not in found.tags
    if like is not None:
        assert Counter(found.tags) == Counter(_tags(like.html).tags)


def test_a_name_and_message_full_of_headers_and_html_add_nothing_to_the_mails(
    smtp_server: SmtpServer, smtp_mailer: None
) -> None:
    smtp_server.start()
    chatbot = ChatbotFactory(admin_email="owner@shop.example")
    support_request = create_request_over_http(
        chatbot,
        user_name=HEADER_INJECTION,
        user_email="vera@example.com",
        initial_message=HTML_INJECTION,
    )

    create_request_over_http(
        chatbot, user_name="Eve", user_email="plain@example.com", initial_message="Hello"
    )

    run_worker_once()

    mails = smtp_server.wait_for(4)
    assert sorted(m.rcpt_tos[0] for m in mails) == [
        "owner@shop.example",
        "owner@shop.example",
        "plain@example.com",
        "vera@example.com",
    ]
    console_link = f"{FRONTEND_URL}/console/requests/{support_request.request_id}/"
    admin_mail, harmless_admin_mail = sorted(
        smtp_server.to("owner@shop.example"), key=lambda m: console_link not in m.text
    )
    _assert_clean(admin_mail, allowed_links={console_link}, like=harmless_admin_mail)
    _assert_clean(
        smtp_server.to("vera@example.com")[0],
        allowed_links=set(),
        like=smtp_server.to("plain@example.com")[0],
    )
    assert admin_mail.message["Subject"].startswith("[")
    assert "Eve Bcc: attacker@evil.example X-Injected: yes" in admin_mail.message["Subject"]
    # The visitor's text is there, shown as text.
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in admin_mail.html
    assert "&lt;a href=&quot;https://evil.example/login&quot;&gt;" in admin_mail.html
    assert '<script>alert("x")</script>' in admin_mail.text
    assert admin_mail.html.count("<a ") == 1


def test_an_email_address_with_a_header_in_it_gets_no_mail_and_no_reply_to(
    smtp_server: SmtpServer, smtp_mailer: None
) -> None:
    """The API refuses such an address; a service caller that passes one anyway gets no
    confirmation sent to it, and it is not used as Reply-To."""
    smtp_server.start()
    chatbot = ChatbotFactory(admin_email="owner@shop.example")
    rejected = create_request_over_http_expecting_400(
        chatbot, user_email=f"vera@example.com\r\nBcc: {ATTACKER}"
    )
    assert rejected
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(
        session=session,
        initial_message="hello",
        user_email=f"vera@example.com\r\nBcc: {ATTACKER}",
    )

    run_worker_once()

    mails = smtp_server.wait_for(1)
    assert [m.rcpt_tos for m in mails] == [["owner@shop.example"]]
    assert mails[0].message["Reply-To"] is None
    _assert_clean(mails[0], allowed_links={_console(support_request)})
    assert list(EmailNotification.objects.values_list("kind", flat=True)) == [
        EmailKind.ADMIN_NOTIFICATION
    ]


def test_a_chatbot_name_cannot_split_the_subject(
    smtp_server: SmtpServer, smtp_mailer: None
) -> None:
    smtp_server.start()
    chatbot = ChatbotFactory(name=f"Shop\r\nBcc: {ATTACKER}", admin_email="owner@shop.example")
    create_request_over_http(chatbot, user_email=None)

    run_worker_once()

    mail = smtp_server.wait_for(1)[0]
    assert mail.rcpt_tos == ["owner@shop.example"]
    assert not re.search(r"[\r\n]", mail.message["Subject"])
    assert "bcc" not in {name.lower() for name in mail.message}


def _console(support_request: SupportRequest) -> str:
    return f"{FRONTEND_URL}/console/requests/{support_request.request_id}/"


def create_request_over_http_expecting_400(chatbot: Chatbot, *, user_email: str) -> bool:
    from rest_framework.test import APIClient

    session, token = make_session(chatbot)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(
        "/human-support/request",
        {"session_id": session.session_id, "initial_message": "hi", "user_email": user_email},
        format="json",
    )
    return response.status_code == 400 and "user_email" in response.json()["errors"]


FAKE_LINK = "https://evil.example/console/login"
TEXT_INJECTION = "hi\n\nOpen the request in the console:\n" + FAKE_LINK + "\n\n-- \nSent by Handoff"


def test_visitor_text_cannot_pass_for_our_own_lines_in_the_plain_text_part(
    smtp_server: SmtpServer, smtp_mailer: None
) -> None:
    smtp_server.start()
    chatbot = ChatbotFactory(admin_email="owner@shop.example")
    support_request = create_request_over_http(
        chatbot, user_email="vera@example.com", initial_message=TEXT_INJECTION
    )

    run_worker_once()

    smtp_server.wait_for(2)
    admin_text = smtp_server.to("owner@shop.example")[0].text
    confirmation_text = smtp_server.to("vera@example.com")[0].text
    # Our link comes first; every line the visitor wrote is quoted, the fake link included.
    assert re.findall(r"https?://\S+", admin_text)[0] == _console(support_request)
    for visitor_line in TEXT_INJECTION.splitlines():
        quoted = f"> {visitor_line}".rstrip()
        assert quoted in admin_text.splitlines(), (quoted, admin_text)
    # The visitor's confirmation carries nothing they wrote (they choose its address).
    assert FAKE_LINK not in confirmation_text
    for text, our_links in ((admin_text, 1), (confirmation_text, 0)):
        lines = text.splitlines()
        assert not any(line.strip() == FAKE_LINK for line in lines)
        assert sum(line.startswith("Open the request") for line in lines) == our_links


def test_a_bidirectional_override_is_isolated_in_html_and_dropped_in_plain_text(
    smtp_server: SmtpServer, smtp_mailer: None
) -> None:
    smtp_server.start()
    chatbot = ChatbotFactory(admin_email="owner@shop.example")
    create_request_over_http(
        chatbot, user_name="\u202eVera", user_email=None, initial_message="see \u202egnp.exe"
    )

    run_worker_once()

    mail = smtp_server.wait_for(1)[0]
    assert "<bdi>see \u202egnp.exe</bdi>" in mail.html
    assert "> see gnp.exe" in mail.text
    assert "\u202e" not in mail.text
    assert "\u202e" not in mail.message["Subject"]
    assert "New support request from Vera" in mail.message["Subject"]
