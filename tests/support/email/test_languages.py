"""Each reader's email in their language: the visitor's confirmation in the language they
asked in, the admin's notification (and reminder) in the chatbot's."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.utils import translation

from support.email import outbox
from support.models import EmailKind, EmailNotification
from tests.factories import ChatbotFactory
from tests.helpers import create_request_over_http

pytestmark = pytest.mark.django_db

SHIPPED = [code for code, _name in settings.LANGUAGES]


def other_language(language: str) -> str:
    """A shipped language that is not `language`: the chatbot's, in these tests."""
    return SHIPPED[(SHIPPED.index(language) + 1) % len(SHIPPED)]


def in_language(text: str, language: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture
def locmem_mailer(settings: Any) -> None:
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


def sent(kind: str, support_request: Any) -> mail.EmailMultiAlternatives:
    row = EmailNotification.objects.get(support_request=support_request, kind=kind)
    before = len(mail.outbox)
    assert outbox.send_one(row.pk).status == "sent"
    [message] = mail.outbox[before:]
    assert isinstance(message, mail.EmailMultiAlternatives)
    return message


def html_of(message: mail.EmailMultiAlternatives) -> str:
    [(html, _mimetype)] = message.alternatives
    return str(html)


@pytest.mark.usefixtures("locmem_mailer")
@pytest.mark.parametrize("visitor_language", SHIPPED)
def test_the_visitor_reads_their_language_and_the_admin_the_chatbots(
    visitor_language: str,
) -> None:
    chatbot_language = other_language(visitor_language)
    chatbot = ChatbotFactory(name="Shop", language=chatbot_language)
    support_request = create_request_over_http(
        chatbot, user_name="Vera", accept_language=visitor_language
    )

    confirmation = sent(EmailKind.VISITOR_CONFIRMATION, support_request)
    notification = sent(EmailKind.ADMIN_NOTIFICATION, support_request)

    received = in_language("We received your request: {chatbot}", visitor_language)
    assert confirmation.subject == received.format(chatbot="Shop")
    ignore = in_language(
        "If you did not ask for help, you can ignore this email.", visitor_language
    )
    assert ignore in confirmation.body
    assert ignore in html_of(confirmation)
    assert f'lang="{visitor_language}"' in html_of(confirmation)

    new_request = in_language("[{chatbot}] New support request from {visitor}", chatbot_language)
    assert notification.subject == new_request.format(chatbot="Shop", visitor="Vera")
    assert in_language("Open the request in the console:", chatbot_language) in notification.body
    details = in_language("Open the request in the console", chatbot_language)
    assert details in html_of(notification)
    assert f'lang="{chatbot_language}"' in html_of(notification)


@pytest.mark.usefixtures("locmem_mailer")
def test_the_two_mails_are_really_in_two_languages() -> None:
    chatbot = ChatbotFactory(name="Shop", language="de")
    support_request = create_request_over_http(chatbot, accept_language="ar")

    confirmation = sent(EmailKind.VISITOR_CONFIRMATION, support_request)
    notification = sent(EmailKind.ADMIN_NOTIFICATION, support_request)

    assert confirmation.subject == "تلقّينا طلبك: Shop"
    assert 'dir="rtl"' in html_of(confirmation)
    assert notification.subject == "[Shop] Neue Support-Anfrage von Vera"
    assert 'dir="ltr"' in html_of(notification)
    assert "border-left:3px" in html_of(notification)


@pytest.mark.usefixtures("locmem_mailer")
def test_the_quote_bar_of_a_right_to_left_mail_is_on_the_right() -> None:
    chatbot = ChatbotFactory(name="Shop", language="ar")
    support_request = create_request_over_http(chatbot, accept_language="de")

    notification = sent(EmailKind.ADMIN_NOTIFICATION, support_request)

    assert 'dir="rtl"' in html_of(notification)
    assert "border-right:3px" in html_of(notification)


@pytest.mark.usefixtures("locmem_mailer")
def test_without_accept_language_the_visitor_gets_the_chatbots_language() -> None:
    chatbot = ChatbotFactory(name="Shop", language="fr")
    support_request = create_request_over_http(chatbot, accept_language=None)

    confirmation = sent(EmailKind.VISITOR_CONFIRMATION, support_request)

    assert confirmation.subject == "Nous avons bien reçu votre demande : Shop"


@pytest.mark.usefixtures("locmem_mailer")
def test_english_mails_stay_as_they_were() -> None:
    chatbot = ChatbotFactory(name="Shop")
    support_request = create_request_over_http(chatbot, accept_language=None)

    assert sent(EmailKind.VISITOR_CONFIRMATION, support_request).subject == (
        "We received your request: Shop"
    )
    assert sent(EmailKind.ADMIN_NOTIFICATION, support_request).subject == (
        "[Shop] New support request from Vera"
    )


@pytest.mark.usefixtures("locmem_mailer")
@pytest.mark.parametrize("language", SHIPPED)
def test_the_pending_reminder_is_in_the_chatbots_language(settings: Any, language: str) -> None:
    settings.PENDING_REMINDER_MINUTES = 10
    chatbot = ChatbotFactory(name="Shop", language=language)
    support_request = create_request_over_http(chatbot, accept_language=other_language(language))

    assert outbox.remind_if_pending(support_request.pk).status == "sent"

    reminder = mail.outbox[-1]
    expected = in_language(
        "[{chatbot}] Still waiting for an agent: request from {visitor}", language
    )
    assert reminder.subject == expected.format(chatbot="Shop", visitor="Vera")
