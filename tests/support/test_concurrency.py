"""Races the services must win: two agents joining at once, two "Speak to a human" clicks.

Real threads, each with its own database connection, on the real database: PostgreSQL
serialises them with the request's row lock (and the partial unique index for creation);
the embedded SQLite with its IMMEDIATE transactions (one writer at a time, the other
waits on the busy timeout). Both legs run every test here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connections, transaction

from chatbots.models import ChatSession
from core.actors import Agent
from core.errors import InvalidTransition
from support import services
from support.models import RequestStatus, SenderType, SupportMessage, SupportRequest
from tests.factories import AgentFactory, ChatbotFactory, make_session

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
WAIT = 30  # seconds; only reached if something hangs


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None


@dataclass
class Race:
    outcomes: list[Outcome] = field(default_factory=list)


def run_together(*tasks: Callable[[], Any]) -> list[Outcome]:
    """Start every task in its own thread and release them at the same instant."""
    barrier = threading.Barrier(len(tasks))
    outcomes = [Outcome() for _ in tasks]

    def runner(task: Callable[[], Any], outcome: Outcome) -> None:
        try:
            barrier.wait(timeout=WAIT)
            outcome.value = task()
        except BaseException as exc:
            outcome.error = exc
        finally:
            connections.close_all()  # this thread's connections

    threads = [
        threading.Thread(target=runner, args=(task, outcome))
        for task, outcome in zip(tasks, outcomes, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
        assert not thread.is_alive(), "a racing thread hung"
    return outcomes


def two_agents_and_a_request() -> tuple[Any, Any, SupportRequest]:
    alice = AgentFactory(first_name="Alice")
    bob = AgentFactory(first_name="Bob")
    chatbot = ChatbotFactory(agents=[alice, bob])
    session, _ = make_session(chatbot)
    support_request, _ = services.request_create(session=session, initial_message="Help")
    return alice, bob, support_request


def joiner(agent: Any, pk: int) -> Callable[[], SupportRequest]:
    def join() -> SupportRequest:
        # Each thread loads its own copy, as two daphne workers would.
        return services.request_join(
            support_request=SupportRequest.objects.get(pk=pk), agent=Agent(agent)
        )

    return join


def joined_messages(support_request: SupportRequest) -> list[str]:
    return list(
        SupportMessage.objects.filter(
            support_request=support_request, sender_type=SenderType.SYSTEM
        ).values_list("message", flat=True)
    )


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_agents_joining_at_the_same_moment_exactly_one_wins(round_: int) -> None:
    alice, bob, support_request = two_agents_and_a_request()

    outcomes = run_together(joiner(alice, support_request.pk), joiner(bob, support_request.pk))

    winners = [o for o in outcomes if o.error is None]
    losers = [o for o in outcomes if o.error is not None]
    assert len(winners) == 1
    assert len(losers) == 1
    assert isinstance(losers[0].error, InvalidTransition)
    assert losers[0].error.http_status == 409
    row = SupportRequest.objects.get(pk=support_request.pk)
    assert row.status == RequestStatus.ACTIVE
    assert row.assigned_agent is not None
    winner_name = winners[0].value.assigned_agent.first_name
    assert row.assigned_agent.first_name == winner_name
    assert joined_messages(support_request) == [f"{winner_name} joined"]
    assert f"{winner_name} has already joined" in losers[0].error.detail


def test_a_join_waits_for_the_other_agents_uncommitted_join_and_then_gets_409() -> None:
    """Deterministic: Alice's join holds its transaction open while Bob tries.

    Without the lock Bob would read "pending" (Alice has not committed) and join too.
    """
    alice, bob, support_request = two_agents_and_a_request()
    alice_in = threading.Event()
    release = threading.Event()
    bob_outcome = Outcome()

    def alice_joins_and_holds() -> None:
        try:
            with transaction.atomic():
                services.request_join(
                    support_request=SupportRequest.objects.get(pk=support_request.pk),
                    agent=Agent(alice),
                )
                alice_in.set()
                release.wait(timeout=WAIT)
        finally:
            connections.close_all()

    bob_calling = threading.Event()

    def bob_joins() -> None:
        try:
            join = joiner(bob, support_request.pk)
            bob_calling.set()
            bob_outcome.value = join()
        except BaseException as exc:
            bob_outcome.error = exc
        finally:
            connections.close_all()

    alice_thread = threading.Thread(target=alice_joins_and_holds)
    alice_thread.start()
    assert alice_in.wait(timeout=WAIT)
    bob_thread = threading.Thread(target=bob_joins)
    bob_thread.start()
    assert bob_calling.wait(timeout=WAIT)
    bob_thread.join(timeout=0.5)  # Bob is inside the service: he must still be there
    bob_was_waiting = bob_thread.is_alive()
    release.set()
    alice_thread.join(timeout=WAIT)
    bob_thread.join(timeout=WAIT)

    assert bob_was_waiting, "Bob's join did not wait for Alice's transaction"
    assert isinstance(bob_outcome.error, InvalidTransition)
    assert "Alice has already joined" in bob_outcome.error.detail
    assert SupportRequest.objects.get(pk=support_request.pk).assigned_agent == alice
    assert joined_messages(support_request) == ["Alice joined"]


# --- two clicks on "Speak to a human" -------------------------------------------------------


def creator(session_pk: int, text: str) -> Callable[[], tuple[SupportRequest, bool]]:
    def create() -> tuple[SupportRequest, bool]:
        session = ChatSession.objects.select_related("chatbot").get(pk=session_pk)
        return services.request_create(session=session, initial_message=text)

    return create


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_creations_for_one_session_make_one_request(round_: int) -> None:
    chatbot = ChatbotFactory()
    session, _ = make_session(chatbot)

    outcomes = run_together(creator(session.pk, "first"), creator(session.pk, "second"))

    assert [o.error for o in outcomes] == [None, None]
    results = [o.value for o in outcomes]
    assert sorted(created for _, created in results) == [False, True]
    assert results[0][0].pk == results[1][0].pk
    assert SupportRequest.objects.filter(session=session).count() == 1
    only = SupportRequest.objects.get(session=session)
    assert list(only.messages.values_list("message", flat=True)) == [only.initial_message]


def test_a_creation_racing_an_uncommitted_one_returns_it_instead_of_a_second() -> None:
    """Deterministic: the first click's transaction is held open while the second runs."""
    chatbot = ChatbotFactory()
    session, _ = make_session(chatbot)
    first_in = threading.Event()
    release = threading.Event()
    first = Outcome()
    second = Outcome()

    def first_click() -> None:
        try:
            with transaction.atomic():
                first.value = creator(session.pk, "first")()
                first_in.set()
                release.wait(timeout=WAIT)
        finally:
            connections.close_all()

    def second_click() -> None:
        try:
            second.value = creator(session.pk, "second")()
        except BaseException as exc:
            second.error = exc
        finally:
            connections.close_all()

    first_thread = threading.Thread(target=first_click)
    first_thread.start()
    assert first_in.wait(timeout=WAIT)
    second_thread = threading.Thread(target=second_click)
    second_thread.start()
    second_thread.join(timeout=0.5)
    release.set()
    first_thread.join(timeout=WAIT)
    second_thread.join(timeout=WAIT)

    assert second.error is None, second.error
    (first_request, first_created), (second_request, second_created) = first.value, second.value
    assert (first_created, second_created) == (True, False)
    assert second_request.pk == first_request.pk
    assert SupportRequest.objects.filter(session=session).count() == 1
