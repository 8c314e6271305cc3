"""The status machine of support/services.py: every legal move, every refused one.

A refused move raises a domain error that HTTP maps to 409 and leaves the request, its
timestamps, its messages and the published events exactly as they were.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from chatbots.visitors import Visitor
from core.actors import Agent
from core.errors import (
    ClientIdTaken,
    InvalidInput,
    InvalidTransition,
    RequestClosed,
)
from support import events, services
from support.models import RequestStatus, SenderType, SupportMessage, SupportRequest
from tests.factories import make_session
from tests.helpers import Published, Scene, capture_events

pytestmark = pytest.mark.django_db

# --- helpers ----------------------------------------------------------------------------


def fresh(support_request: SupportRequest) -> SupportRequest:
    return SupportRequest.objects.get(pk=support_request.pk)


def snapshot(support_request: SupportRequest) -> dict[str, Any]:
    """Everything a refused move must leave untouched."""
    row = fresh(support_request)
    return {
        "status": row.status,
        "assigned_agent_id": row.assigned_agent_id,
        "admin_joined_at": row.admin_joined_at,
        "first_response_at": row.first_response_at,
        "resolved_at": row.resolved_at,
        "closed_at": row.closed_at,
        "updated_at": row.updated_at,
        "messages": list(
            row.messages.order_by("id").values_list("id", "sender_type", "message", "client_id")
        ),
    }


def system_texts(support_request: SupportRequest) -> list[str]:
    return list(
        support_request.messages.filter(sender_type=SenderType.SYSTEM)
        .order_by("id")
        .values_list("message", flat=True)
    )


def summary(sent: list[Published]) -> list[tuple[str, str, str | None]]:
    """(group, event type, the detail that matters: action, status or sender)."""
    out = []
    for p in sent:
        event = p.event
        if event["type"] == "support.queue":
            detail = event["action"]
        elif event["type"] == "support.status":
            detail = event["status"]
        else:
            detail = event["message"]["sender_type"]
        out.append((p.group, event["type"], detail))
    return out


def join(scene: Scene) -> SupportRequest:
    return services.request_join(support_request=scene.support_request, agent=Agent(scene.agent))


def resolve(scene: Scene) -> SupportRequest:
    return services.request_resolve(support_request=scene.support_request, agent=Agent(scene.agent))


def close_by_agent(scene: Scene) -> SupportRequest:
    return services.request_close(support_request=scene.support_request, actor=Agent(scene.agent))


def visitor_says(scene: Scene, text: str, client_id: str | None = None) -> services.PostResult:
    return services.message_post(
        support_request=scene.support_request,
        actor=Visitor(scene.visitor.session),
        text=text,
        client_id=client_id,
    )


def agent_says(scene: Scene, text: str, client_id: str | None = None) -> services.PostResult:
    return services.message_post(
        support_request=scene.support_request,
        actor=Agent(scene.agent),
        text=text,
        client_id=client_id,
    )


def bring_to(scene: Scene, status: str) -> None:
    """Drive the scene's request to `status` through the services, as the product would."""
    if status == RequestStatus.PENDING:
        return
    if status == RequestStatus.CLOSED:
        close_by_agent(scene)
        return
    join(scene)
    if status == RequestStatus.RESOLVED:
        resolve(scene)


def request_group(scene: Scene) -> str:
    return events.request_group(scene.support_request.request_id)


def agents_group(scene: Scene) -> str:
    return events.chatbot_agents_group(scene.chatbot.id)


# --- create -------------------------------------------------------------------------------


def test_create_stores_a_pending_request_with_the_initial_message_as_first_message(
    scene: Scene,
) -> None:
    session, _ = make_session(scene.chatbot)
    support_request, created = services.request_create(
        session=session, user_name="Ann", user_email="Ann@Example.com", initial_message="Help"
    )
    row = fresh(support_request)
    assert created is True
    assert row.status == RequestStatus.PENDING
    assert (row.user_name, row.user_email, row.initial_message) == (
        "Ann",
        "ann@example.com",
        "Help",
    )
    assert row.assigned_agent is None
    assert (row.admin_joined_at, row.first_response_at, row.resolved_at, row.closed_at) == (
        None,
        None,
        None,
        None,
    )
    assert list(row.messages.values_list("sender_type", "message")) == [("user", "Help")]


def test_create_publishes_created_to_the_chatbot_agents_group_only(scene: Scene) -> None:
    session, _ = make_session(scene.chatbot)
    with capture_events() as published:
        support_request, _ = services.request_create(session=session, initial_message="Help")
    assert summary(published) == [(agents_group(scene), "support.queue", "created")]
    assert published[0].event["request"]["request_id"] == support_request.request_id
    assert published[0].event["chatbot_id"] == scene.chatbot.id


def test_create_returns_the_open_request_of_the_same_session_instead_of_a_second_one(
    scene: Scene,
) -> None:
    with capture_events() as published:
        again, created = services.request_create(
            session=scene.visitor.session, initial_message="Hello again"
        )
    assert created is False
    assert again.pk == scene.support_request.pk
    assert SupportRequest.objects.filter(session=scene.visitor.session).count() == 1
    assert fresh(again).initial_message == "My order is late"
    assert published == []


@pytest.mark.parametrize("status", [RequestStatus.ACTIVE, RequestStatus.RESOLVED])
def test_create_returns_the_open_request_whatever_its_open_status(
    scene: Scene, status: str
) -> None:
    bring_to(scene, status)
    again, created = services.request_create(session=scene.visitor.session, initial_message="Hi")
    assert (again.pk, created) == (scene.support_request.pk, False)


def test_create_after_close_opens_a_new_request_for_the_same_session(scene: Scene) -> None:
    close_by_agent(scene)
    second, created = services.request_create(
        session=scene.visitor.session, initial_message="Another question"
    )
    assert created is True
    assert second.pk != scene.support_request.pk
    assert second.status == RequestStatus.PENDING
    assert SupportRequest.objects.filter(session=scene.visitor.session).count() == 2


# --- join ---------------------------------------------------------------------------------


def test_join_makes_a_pending_request_active_and_assigns_the_agent(scene: Scene) -> None:
    before = timezone.now()
    join(scene)
    row = fresh(scene.support_request)
    assert row.status == RequestStatus.ACTIVE
    assert row.assigned_agent == scene.agent
    assert row.admin_joined_at is not None
    assert before <= row.admin_joined_at <= timezone.now()
    assert (row.first_response_at, row.resolved_at, row.closed_at) == (None, None, None)
    assert system_texts(row) == ["Alice joined"]


def test_join_publishes_message_and_status_to_the_request_and_joined_to_the_agents(
    scene: Scene,
) -> None:
    with capture_events() as published:
        join(scene)
    assert summary(published) == [
        (request_group(scene), "support.message", "system"),
        (request_group(scene), "support.status", "active"),
        (agents_group(scene), "support.queue", "joined"),
    ]
    assert published[0].event["message"]["text"] == "Alice joined"
    assert published[1].event["agent_name"] == "Alice"
    assert published[2].event["request"]["status"] == "active"


# --- resolve ------------------------------------------------------------------------------


def test_resolve_makes_an_active_request_resolved(scene: Scene) -> None:
    join(scene)
    before = timezone.now()
    resolve(scene)
    row = fresh(scene.support_request)
    assert row.status == RequestStatus.RESOLVED
    assert row.resolved_at is not None
    assert before <= row.resolved_at <= timezone.now()
    assert row.closed_at is None
    assert system_texts(row) == ["Alice joined", "Resolved by Alice"]


def test_resolve_publishes_message_and_status_to_the_request_and_resolved_to_the_agents(
    scene: Scene,
) -> None:
    join(scene)
    with capture_events() as published:
        resolve(scene)
    assert summary(published) == [
        (request_group(scene), "support.message", "system"),
        (request_group(scene), "support.status", "resolved"),
        (agents_group(scene), "support.queue", "resolved"),
    ]


# --- close --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [RequestStatus.PENDING, RequestStatus.ACTIVE, RequestStatus.RESOLVED]
)
def test_agent_closes_a_request_from_any_open_status(scene: Scene, status: str) -> None:
    bring_to(scene, status)
    resolved_at = fresh(scene.support_request).resolved_at
    before = timezone.now()
    close_by_agent(scene)
    row = fresh(scene.support_request)
    assert row.status == RequestStatus.CLOSED
    assert row.closed_at is not None
    assert before <= row.closed_at <= timezone.now()
    assert row.resolved_at == resolved_at
    assert system_texts(row)[-1] == "Closed by Alice"


@pytest.mark.parametrize(
    "status", [RequestStatus.PENDING, RequestStatus.ACTIVE, RequestStatus.RESOLVED]
)
def test_visitor_closes_a_request_from_any_open_status(scene: Scene, status: str) -> None:
    bring_to(scene, status)
    services.request_close(
        support_request=scene.support_request, actor=Visitor(scene.visitor.session)
    )
    row = fresh(scene.support_request)
    assert row.status == RequestStatus.CLOSED
    assert row.closed_at is not None
    assert system_texts(row)[-1] == "Closed by the visitor"


def test_close_publishes_message_and_status_to_the_request_and_closed_to_the_agents(
    scene: Scene,
) -> None:
    with capture_events() as published:
        close_by_agent(scene)
    assert summary(published) == [
        (request_group(scene), "support.message", "system"),
        (request_group(scene), "support.status", "closed"),
        (agents_group(scene), "support.queue", "closed"),
    ]


# --- messages and reopen ------------------------------------------------------------------


def test_visitor_writing_to_a_resolved_request_reopens_it(scene: Scene) -> None:
    bring_to(scene, RequestStatus.RESOLVED)
    visitor_says(scene, "One more thing")
    row = fresh(scene.support_request)
    assert row.status == RequestStatus.ACTIVE
    assert row.resolved_at is None
    assert row.assigned_agent == scene.agent
    texts = list(row.messages.order_by("id").values_list("sender_type", "message"))
    assert texts[-2:] == [("system", "Reopened by the visitor"), ("user", "One more thing")]


def test_reopen_publishes_status_to_the_request_and_reopened_to_the_agents(scene: Scene) -> None:
    bring_to(scene, RequestStatus.RESOLVED)
    with capture_events() as published:
        visitor_says(scene, "One more thing")
    assert summary(published) == [
        (request_group(scene), "support.message", "system"),
        (request_group(scene), "support.status", "active"),
        (agents_group(scene), "support.queue", "reopened"),
        (request_group(scene), "support.message", "user"),
    ]


@pytest.mark.parametrize("status", [RequestStatus.PENDING, RequestStatus.ACTIVE])
def test_visitor_message_on_an_unresolved_open_request_changes_no_status(
    scene: Scene, status: str
) -> None:
    bring_to(scene, status)
    visitor_says(scene, "Still there?")
    assert fresh(scene.support_request).status == status


def test_message_publishes_one_message_event_to_the_request_group_only(scene: Scene) -> None:
    with capture_events() as published:
        result = visitor_says(scene, "Hello?", client_id="v-1")
    assert summary(published) == [(request_group(scene), "support.message", "user")]
    assert published[0].event["message"]["id"] == result.message.id
    assert published[0].event["message"]["client_id"] == "v-1"
    assert published[0].event["message"]["sender_name"] == "Vera"


def test_first_agent_message_sets_first_response_at_and_later_ones_keep_it(
    scene: Scene,
) -> None:
    join(scene)
    first = agent_says(scene, "Hello Vera").message
    assert fresh(scene.support_request).first_response_at == first.created_at
    agent_says(scene, "Let me check")
    assert fresh(scene.support_request).first_response_at == first.created_at


def test_visitor_messages_do_not_set_first_response_at(scene: Scene) -> None:
    join(scene)
    visitor_says(scene, "Hello?")
    assert fresh(scene.support_request).first_response_at is None


def test_the_same_client_id_twice_stores_one_message_and_publishes_once(scene: Scene) -> None:
    with capture_events() as published:
        first = visitor_says(scene, "Hello?", client_id="v-1")
        second = visitor_says(scene, "Hello?", client_id="v-1")
    assert (first.created, second.created) == (True, False)
    assert second.message.pk == first.message.pk
    assert SupportMessage.objects.filter(client_id="v-1").count() == 1
    assert len(published) == 1


def test_a_retry_with_a_different_text_still_returns_the_first_message(scene: Scene) -> None:
    first = visitor_says(scene, "Hello?", client_id="v-1")
    retry = visitor_says(scene, "Hello??", client_id="v-1")
    assert retry.created is False
    assert retry.message.message == first.message.message == "Hello?"


def test_a_client_id_the_agent_used_is_refused_to_the_visitor_and_drops_nothing(
    scene: Scene,
) -> None:
    join(scene)
    agent_message = agent_says(scene, "Hello Vera", client_id="x1").message
    before = snapshot(scene.support_request)
    with pytest.raises(ClientIdTaken) as refused:
        visitor_says(scene, "My own words", client_id="x1")
    assert refused.value.http_status == 409
    assert snapshot(scene.support_request) == before
    assert list(SupportMessage.objects.filter(client_id="x1")) == [agent_message]
    # The visitor's retry with a fresh id is stored.
    assert visitor_says(scene, "My own words", client_id="x2").created


def test_a_client_id_the_visitor_used_is_refused_to_an_agent_and_to_another_agent(
    scene: Scene,
) -> None:
    join(scene)
    visitor_says(scene, "Hi", client_id="v-1")
    agent_says(scene, "Hello", client_id="a-1")
    for actor, client_id in ((Agent(scene.agent), "v-1"), (Agent(scene.superuser), "a-1")):
        with pytest.raises(ClientIdTaken):
            services.message_post(
                support_request=scene.support_request, actor=actor, text="Mine", client_id=client_id
            )
    assert SupportMessage.objects.filter(message="Mine").count() == 0


def test_the_same_client_id_on_two_requests_stores_two_messages(scene: Scene) -> None:
    session, _ = make_session(scene.chatbot)
    other, _ = services.request_create(session=session, initial_message="Hi")
    visitor_says(scene, "Hello?", client_id="same")
    services.message_post(
        support_request=other, actor=Visitor(session), text="Hello?", client_id="same"
    )
    assert SupportMessage.objects.filter(client_id="same").count() == 2


def test_a_retry_after_close_returns_the_stored_message_instead_of_409(scene: Scene) -> None:
    # The visitor's send reached the database but the echo was lost; the request was
    # closed before the retry. The retry must not turn a delivered message into an error.
    first = visitor_says(scene, "Thanks, bye", client_id="v-9")
    close_by_agent(scene)
    retry = visitor_says(scene, "Thanks, bye", client_id="v-9")
    assert (retry.created, retry.message.pk) == (False, first.message.pk)


@pytest.mark.parametrize("client_id", ["a\x00b", "tab\there", "x" * 65])
def test_a_client_id_that_is_too_long_or_not_printable_is_refused(
    scene: Scene, client_id: str
) -> None:
    before = snapshot(scene.support_request)
    with pytest.raises(InvalidInput) as refused:
        visitor_says(scene, "Hello?", client_id=client_id)
    assert refused.value.errors.keys() == {"client_id"}
    assert refused.value.http_status == 400
    assert snapshot(scene.support_request) == before


# --- refused moves ----------------------------------------------------------------------

REFUSED = [
    # (status the request is in, the move, the domain error's code)
    (RequestStatus.ACTIVE, "join", "invalid_transition"),
    (RequestStatus.RESOLVED, "join", "invalid_transition"),
    (RequestStatus.CLOSED, "join", "closed"),
    (RequestStatus.PENDING, "resolve", "invalid_transition"),
    (RequestStatus.RESOLVED, "resolve", "invalid_transition"),
    (RequestStatus.CLOSED, "resolve", "closed"),
    (RequestStatus.CLOSED, "agent close", "closed"),
    (RequestStatus.CLOSED, "visitor close", "closed"),
    (RequestStatus.PENDING, "agent message", "invalid_transition"),
    (RequestStatus.CLOSED, "agent message", "closed"),
    (RequestStatus.CLOSED, "visitor message", "closed"),
]


def attempt(scene: Scene, move: str) -> None:
    other = Agent(scene.superuser)  # a second agent: the refusal is not about who asks
    if move == "join":
        services.request_join(support_request=scene.support_request, agent=other)
    elif move == "resolve":
        services.request_resolve(support_request=scene.support_request, agent=other)
    elif move == "agent close":
        services.request_close(support_request=scene.support_request, actor=other)
    elif move == "visitor close":
        services.request_close(
            support_request=scene.support_request, actor=Visitor(scene.visitor.session)
        )
    elif move == "agent message":
        agent_says(scene, "Hello", client_id="refused-1")
    elif move == "visitor message":
        visitor_says(scene, "Hello", client_id="refused-1")
    else:
        raise AssertionError(move)


@pytest.mark.parametrize(
    ("status", "move", "code"), REFUSED, ids=[f"{m} when {s}" for s, m, _ in REFUSED]
)
def test_a_refused_move_raises_a_409_domain_error_and_changes_nothing(
    scene: Scene,
    status: str,
    move: str,
    code: str,
) -> None:
    bring_to(scene, status)
    before = snapshot(scene.support_request)
    with (
        capture_events() as published,
        pytest.raises(InvalidTransition) as refused,
    ):
        attempt(scene, move)
    assert refused.value.http_status == 409
    assert refused.value.code == code
    assert refused.value.detail
    assert snapshot(scene.support_request) == before
    assert published == []


def test_second_join_names_the_agent_who_joined_first(scene: Scene) -> None:
    join(scene)
    with pytest.raises(InvalidTransition, match="Alice has already joined"):
        services.request_join(support_request=scene.support_request, agent=Agent(scene.superuser))


def test_any_message_on_a_closed_request_is_refused_with_request_closed(scene: Scene) -> None:
    close_by_agent(scene)
    with pytest.raises(RequestClosed):
        visitor_says(scene, "Hello?")
    with pytest.raises(RequestClosed):
        agent_says(scene, "Hello?")


def test_a_stale_request_object_is_checked_against_the_database_not_its_own_status(
    scene: Scene,
) -> None:
    stale = fresh(scene.support_request)
    close_by_agent(scene)
    assert stale.status == RequestStatus.PENDING
    with pytest.raises(RequestClosed):
        services.request_join(support_request=stale, agent=Agent(scene.agent))
    assert fresh(scene.support_request).status == RequestStatus.CLOSED


# --- transactions -------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_a_rolled_back_transaction_publishes_nothing_and_keeps_nothing(scene: Scene) -> None:
    before = snapshot(scene.support_request)

    def join_answer_then_fail() -> None:
        with transaction.atomic():
            join(scene)
            agent_says(scene, "Hello")
            raise Boom

    with capture_events() as published, pytest.raises(Boom):
        join_answer_then_fail()
    assert published == []
    assert snapshot(scene.support_request) == before


def test_a_rolled_back_create_publishes_nothing_and_keeps_no_request(scene: Scene) -> None:
    session, _ = make_session(scene.chatbot)

    def create_then_fail() -> None:
        with transaction.atomic():
            services.request_create(session=session, initial_message="Help")
            raise Boom

    with capture_events() as published, pytest.raises(Boom):
        create_then_fail()
    assert published == []
    assert not SupportRequest.objects.filter(session=session).exists()


@pytest.mark.parametrize(
    ("field", "fields"),
    [
        ("user_name", {"user_name": "Ve\ud800ra", "initial_message": "Hi"}),
        ("user_email", {"user_email": "v\udfff@example.com", "initial_message": "Hi"}),
        ("initial_message", {"initial_message": "a\ud800b"}),
    ],
)
def test_a_lone_surrogate_anywhere_a_request_takes_text_is_refused(
    scene: Scene, field: str, fields: dict[str, str]
) -> None:
    session, _ = make_session(scene.chatbot)
    with pytest.raises(InvalidInput) as refused:
        services.request_create(session=session, **fields)
    assert field in refused.value.errors
    assert not SupportRequest.objects.filter(session=session).exists()


def test_a_lone_surrogate_in_a_message_is_refused(scene: Scene) -> None:
    with pytest.raises(InvalidInput):
        services.message_post(
            support_request=scene.support_request,
            actor=Visitor(scene.visitor.session),
            text="a\ud800b",
        )
