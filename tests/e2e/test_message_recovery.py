"""Messages a client never got live are read back from the database, at once and in full.

A message learned from the answer to an HTTP POST moves a client's replay cursor as much as
one from the live stream, so it must raise the same gap check: otherwise a message whose
broadcast was dropped sits below the cursor, where no later `?after=` read looks.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from support.models import SenderType, SupportMessage, SupportRequest
from tests.e2e.browser import (
    NewContext,
    PageWatch,
    ask_for_a_human,
    csrf_token,
    log_in,
    open_widget,
    say,
)
from tests.e2e.customer_site import CustomerSite
from tests.factories import AgentFactory, ChatbotFactory
from tests.servers import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Shorter than the clients' 30 s catch-up: what shows within it came from the gap check.
SOONER_THAN_THE_SAFETY_NET = 10_000
MORE_THAN_A_PAGE = 600  # the MESSAGE_PAGE_SIZE setting is 500


def dropping_frames_with(text: str) -> Callable[[WebSocketRoute], None]:
    """A WebSocket route that relays both ways but loses server frames carrying `text`:
    what a dropped broadcast does (the same blip takes the sender's own echo too)."""

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            if text not in str(message):
                ws.send(message)

        server.on_message(to_page)
        ws.on_message(server.send)

    return route


def visitor_waiting(page: Page, site: CustomerSite) -> tuple[Locator, SupportRequest]:
    """Vera on the customer's site, waiting for an agent of a chatbot Alice serves."""
    alice = AgentFactory(first_name="Alice")
    chatbot = ChatbotFactory(agents=[alice], allowed_origins=[site.origin])
    widget = open_widget(page, site, chatbot.key)
    ask_for_a_human(widget, name="Vera", email="", message="Where is my parcel?")
    expect(widget.get_by_role("status")).to_have_text("Waiting for an agent")
    return widget, SupportRequest.objects.get(chatbot=chatbot)


def alice_logged_in(
    server: DaphneServer, new_context: NewContext, watch: PageWatch, support_request: SupportRequest
) -> Page:
    page = watch.attach(new_context().new_page())
    log_in(page, server, support_request.chatbot.agents.get().username)
    return page


def join_over_http(agent: Page, server: DaphneServer, support_request: SupportRequest) -> str:
    api = f"{server.url}/human-support/requests/{support_request.request_id}"
    assert agent.request.post(f"{api}/join", headers={"X-CSRFToken": csrf_token(agent)}).ok
    return api


def test_the_console_shows_a_visitor_message_whose_broadcast_was_lost_once_its_own_http_reply_skips_past_it(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    visitor = watch.attach(new_context().new_page())
    _, support_request = visitor_waiting(visitor, customer_site)
    agent = alice_logged_in(server, new_context, watch, support_request)
    join_over_http(agent, server, support_request)
    agent.route_web_socket("**/human-support/ws/**", dropping_frames_with("Hello Vera"))
    agent.goto(f"{server.url}/console/requests/{support_request.request_id}/")
    expect(agent.locator("#connection-state")).to_have_text("Live")
    thread = agent.locator("#thread")
    expect(thread).to_contain_text("Alice joined")
    agent.wait_for_timeout(1500)  # the reads that follow the socket's opening are done

    # Stored, but its broadcast never reached the console's server (a Redis blip).
    SupportMessage.objects.create(
        support_request=support_request, sender_type=SenderType.USER, message="Lost in transit"
    )
    agent.get_by_role("textbox", name="Message").fill("Hello Vera")
    agent.get_by_role("button", name="Send").click()
    expect(thread.locator("li[data-id]", has_text="Hello Vera")).to_have_count(1)

    expect(thread.locator("li[data-id]", has_text="Lost in transit")).to_have_count(
        1, timeout=SOONER_THAN_THE_SAFETY_NET
    )
    assert thread.locator("li[data-id] .text").all_inner_texts()[-2:] == [
        "Lost in transit",
        "Hello Vera",
    ]
    watch.assert_clean()


def test_the_widget_shows_an_agent_message_whose_broadcast_was_lost_once_its_own_http_send_skips_past_it(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    visitor = watch.attach(new_context().new_page())
    # The visitor's own echo is lost too, so the widget learns its message from the HTTP
    # retry's answer (after the echo timeout), never from the live stream.
    visitor.route_web_socket("**/human-support/ws/**", dropping_frames_with("Hello Alice"))
    widget, support_request = visitor_waiting(visitor, customer_site)
    agent = alice_logged_in(server, new_context, watch, support_request)
    join_over_http(agent, server, support_request)
    log = widget.get_by_role("log")
    expect(widget.get_by_role("status")).to_have_text("Alice joined")
    visitor.wait_for_timeout(1500)  # the read that follows the status frame is done

    SupportMessage.objects.create(
        support_request=support_request,
        sender_type=SenderType.ADMIN,
        sender=support_request.chatbot.agents.get(),
        message="Lost in transit",
    )
    say(widget, "Hello Alice")
    expect(log.locator("li[data-id]", has_text="Hello Alice")).to_have_count(1)

    expect(log.locator("li[data-id]", has_text="Lost in transit")).to_have_count(
        1, timeout=SOONER_THAN_THE_SAFETY_NET
    )
    assert log.locator("li[data-id] .text").all_inner_texts()[-2:] == [
        "Lost in transit",
        "Hello Alice",
    ]
    assert SupportMessage.objects.filter(message="Hello Alice").count() == 1
    watch.assert_clean()


def many_lost_messages(support_request: SupportRequest, sender_type: str) -> None:
    SupportMessage.objects.bulk_create(
        SupportMessage(
            support_request=support_request,
            sender_type=sender_type,
            message=f"Lost message {n:04d}",
        )
        for n in range(MORE_THAN_A_PAGE)
    )


def test_the_widget_reads_every_page_of_the_messages_behind_a_gap(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    visitor = watch.attach(new_context().new_page())
    widget, support_request = visitor_waiting(visitor, customer_site)
    agent = alice_logged_in(server, new_context, watch, support_request)
    api = join_over_http(agent, server, support_request)
    log = widget.get_by_role("log")
    expect(widget.get_by_role("status")).to_have_text("Alice joined")
    visitor.wait_for_timeout(1500)

    many_lost_messages(support_request, SenderType.ADMIN)
    posted = agent.request.post(
        f"{api}/messages", headers={"X-CSRFToken": csrf_token(agent)}, data={"message": "Last one"}
    )
    assert posted.status == 201

    expect(log).to_contain_text("Last one")
    expect(log.locator("li[data-id]", has_text="Lost message")).to_have_count(
        MORE_THAN_A_PAGE, timeout=SOONER_THAN_THE_SAFETY_NET
    )
    assert log.locator("li[data-id] .text").all_inner_texts()[-1] == "Last one"
    watch.assert_clean()


def test_the_console_reads_every_page_of_the_messages_behind_a_gap(
    server: DaphneServer, customer_site: CustomerSite, new_context: NewContext, watch: PageWatch
) -> None:
    visitor = watch.attach(new_context().new_page())
    widget, support_request = visitor_waiting(visitor, customer_site)
    agent = alice_logged_in(server, new_context, watch, support_request)
    join_over_http(agent, server, support_request)
    agent.goto(f"{server.url}/console/requests/{support_request.request_id}/")
    expect(agent.locator("#connection-state")).to_have_text("Live")
    thread = agent.locator("#thread")
    expect(thread).to_contain_text("Alice joined")
    agent.wait_for_timeout(1500)

    many_lost_messages(support_request, SenderType.USER)
    say(widget, "Last one")  # its live frame skips every lost id

    expect(thread).to_contain_text("Last one")
    expect(thread.locator("li[data-id]", has_text="Lost message")).to_have_count(
        MORE_THAN_A_PAGE, timeout=SOONER_THAN_THE_SAFETY_NET
    )
    assert thread.locator("li[data-id] .text").all_inner_texts()[-1] == "Last one"
    watch.assert_clean()
