"""The per-socket budgets (support/realtime/limits.py), on their own with a fake clock."""

from __future__ import annotations

from support.realtime.limits import TokenBucket, TypingThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_message_budget_refills_at_its_rate_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=2, per_second=0.5, clock=clock)

    assert [bucket.take(), bucket.take(), bucket.take()] == [True, True, False]
    clock.now = 2.0  # one token back
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now = 100.0  # never more than the burst
    assert [bucket.take(), bucket.take(), bucket.take()] == [True, True, False]


def test_typing_relay_repeats_a_state_only_after_the_interval() -> None:
    clock = FakeClock()
    throttle = TypingThrottle(interval=2.0, clock=clock)

    assert throttle.should_relay(True)
    clock.now = 1.0
    assert not throttle.should_relay(True)
    assert throttle.should_relay(False)
    clock.now = 3.5
    assert throttle.should_relay(False)
