"""The widget in the visitor's language: Arabic from the script tag's data-lang, laid out
right to left; German from the browser's language; times in the widget's language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from chatbots.models import Chatbot
from tests.e2e.browser import NewContext, PageWatch, screenshot
from tests.e2e.customer_site import CustomerSite
from tests.factories import ChatbotFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOX = """(root, selector) => {
  const r = root.shadowRoot.querySelector(selector).getBoundingClientRect();
  return [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)];
}"""

# The time a bubble shows, and the same instant formatted by Intl in `language`.
TIMES = """(root, language) => {
  const time = root.shadowRoot.querySelector(".log li.mine time");
  const date = new Date(time.getAttribute("datetime"));
  const options = {hour: "numeric", minute: "2-digit"};
  return {
    shown: time.textContent,
    widget: new Intl.DateTimeFormat(language, options).format(date),
    browser: new Intl.DateTimeFormat(undefined, options).format(date),
  };
}"""


def box(widget: Locator, selector: str) -> list[int]:
    return widget.evaluate(BOX, selector)


def widget_of(page: Page) -> Locator:
    return page.locator("[data-handoff-widget]")


def chatbot_for(site: CustomerSite) -> Chatbot:
    return ChatbotFactory(allowed_origins=[site.origin], welcome_text="Hello!")


def test_the_widget_in_arabic_is_laid_out_right_to_left(
    customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    chatbot = ChatbotFactory(
        allowed_origins=[customer_site.origin],
        welcome_text="Hello!",
        translations={"ar": {"welcome_text": "مرحبًا! كيف يمكنني مساعدتك؟"}},
    )
    # The same chatbot in English (the browser's language) and in Arabic, in contexts of
    # their own: the widget remembers an open panel per origin.
    english = watch.attach(new_context().new_page())
    english.goto(customer_site.url(chatbot.key))
    english_launcher = english.get_by_role("button", name="Open chat")
    expect(english_launcher).to_be_visible()
    english_launcher_box = english_launcher.bounding_box()
    english_launcher.click()
    english_widget = widget_of(english)
    expect(english_widget.get_by_role("log")).to_contain_text("Hello!")
    expect(english_widget).to_have_attribute("dir", "ltr")

    arabic = watch.attach(new_context().new_page())
    arabic.goto(customer_site.url(chatbot.key, lang="ar"))
    widget = widget_of(arabic)
    launcher = arabic.get_by_role("button", name="فتح المحادثة")
    expect(launcher).to_be_visible()
    expect(widget).to_have_attribute("dir", "rtl")
    expect(widget).to_have_attribute("lang", "ar")

    # The launcher mirrors: as far from the left edge as the English one is from the right.
    viewport = arabic.viewport_size
    assert viewport is not None
    left, right = launcher.bounding_box(), english_launcher_box
    assert left is not None
    assert right is not None
    assert round(left["x"]) == round(viewport["width"] - right["x"] - right["width"])
    assert round(left["y"]) == round(right["y"])

    launcher.click()
    log = widget.get_by_role("log", name="المحادثة")
    expect(log).to_contain_text("مرحبًا! كيف يمكنني مساعدتك؟")
    expect(widget.get_by_role("button", name="التحدث إلى موظف")).to_be_visible()
    expect(widget.get_by_role("textbox", name="الرسالة")).to_have_attribute(
        "placeholder", "اكتب رسالة…"
    )
    expect(widget.get_by_role("button", name="إرسال")).to_be_visible()

    # The panel and its rows mirror too: on the left, the send button left of the input.
    panel, english_panel = box(widget, ".panel"), box(english_widget, ".panel")
    assert panel[0] == viewport["width"] - english_panel[0] - english_panel[2]
    assert panel[1:] == english_panel[1:]
    send, field = box(widget, ".composer .send"), box(widget, ".composer textarea")
    assert send[0] + send[2] <= field[0]
    welcome = box(widget, ".log li:first-child")
    # The bot's bubble at the start (right); its width follows its text, hence the pixel.
    assert abs(welcome[0] + welcome[2] - (panel[0] + panel[2] - 12)) <= 1

    # The bot answers in Arabic (the widget names its language on every call), and the
    # visitor's bubble sits at the end (left) with a time in Arabic.
    message = widget.get_by_role("textbox", name="الرسالة")
    message.fill("xyzzy plugh")
    message.press("Enter")
    expect(log).to_contain_text("«التحدث إلى موظف»")
    mine = box(widget, ".log li.mine")
    assert mine[0] == panel[0] + 12
    times = widget.evaluate(TIMES, "ar")
    assert times["shown"] == times["widget"]
    assert times["shown"] != times["browser"]  # the browser itself is en-US
    screenshot(arabic, "widget-arabic")
    watch.assert_clean()


def test_the_widget_in_german_from_the_browsers_language(
    customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    chatbot = chatbot_for(customer_site)
    page = watch.attach(new_context(locale="de-DE").new_page())
    page.goto(customer_site.url(chatbot.key))
    widget = widget_of(page)

    page.get_by_role("button", name="Chat öffnen").click()
    expect(widget).to_have_attribute("dir", "ltr")
    expect(widget).to_have_attribute("lang", "de")
    expect(widget.get_by_role("dialog", name=f"Chat mit {chatbot.name}")).to_be_visible()
    widget.get_by_role("button", name="Mit einem Menschen sprechen").click()
    expect(widget.get_by_text("Hinterlassen Sie eine Nachricht")).to_be_visible()
    widget.get_by_role("textbox", name="Name").fill("Vera")
    widget.get_by_role("textbox", name="E-Mail").fill("keine-adresse")
    form = widget.get_by_role("form", name="Mit einem Menschen sprechen")
    form.get_by_role("button", name="Senden").click()
    expect(widget.get_by_role("textbox", name="E-Mail")).to_have_accessible_description(
        re.compile("Geben Sie eine gültige E-Mail-Adresse ein")
    )
    widget.get_by_role("textbox", name="E-Mail").fill("vera@example.com")
    form.get_by_role("textbox", name="Nachricht").fill("Mein Paket ist beschädigt")
    form.get_by_role("button", name="Senden").click()

    expect(widget.get_by_role("status")).to_have_text("Warten auf einen Mitarbeiter")
    expect(widget.get_by_role("button", name="Unterhaltung beenden")).to_be_visible()
    screenshot(page, "widget-german")
    watch.assert_clean()


def test_data_lang_wins_over_the_browsers_language(
    customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    chatbot = chatbot_for(customer_site)
    page = watch.attach(new_context(locale="fr-FR").new_page())
    page.goto(customer_site.url(chatbot.key, lang="de"))

    expect(page.get_by_role("button", name="Chat öffnen")).to_be_visible()
    watch.assert_clean()


def test_an_unshipped_browser_language_gets_the_chatbots_language(
    customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    chatbot = ChatbotFactory(allowed_origins=[customer_site.origin], language="es")
    page = watch.attach(new_context(locale="ja-JP").new_page())
    page.goto(customer_site.url(chatbot.key))

    expect(page.get_by_role("button", name="Abrir el chat")).to_be_visible()
    watch.assert_clean()
