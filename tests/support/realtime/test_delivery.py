"""The delivered ids of a socket (support/realtime/delivery.py), on their own."""

from __future__ import annotations

from support.realtime.delivery import DeliveredIds


def test_delivered_ids_accept_late_ids_above_the_floor_once() -> None:
    delivered = DeliveredIds()
    delivered.cover_up_to(10)

    assert not delivered.first_time(10)
    assert delivered.first_time(12)
    assert delivered.first_time(11)  # out of order, not lost
    assert not delivered.first_time(11)
    assert not delivered.first_time(12)


def test_delivered_ids_stay_bounded_on_a_long_conversation() -> None:
    delivered = DeliveredIds()
    for message_id in range(1, 5001):
        assert delivered.first_time(message_id)

    assert not delivered.first_time(1)
    assert not delivered.first_time(5000)
    assert delivered.first_time(5001)
    assert len(delivered._ids) <= 1024
