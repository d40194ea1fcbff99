"""StartPacer alone: additive increase, multiplicative decrease, driven by a clock of our own."""

from __future__ import annotations

import math

from activities.pacing import StartPacer
from webhook_gateway.contracts.highfreq import StartEventsPacing


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def pacer(clock: Clock, *, rate: float | None = None, concurrency: int = 64,
          **settings: float | None) -> StartPacer:  # fmt: skip
    defaults: dict[str, float | None] = {
        "initial_rate": 10.0, "min_rate": 1.0, "max_rate": None, "target_latency_ms": 100.0,
        "increase": 5.0, "decrease": 0.5,
    }  # fmt: skip
    pacing = StartEventsPacing(**(defaults | settings))  # type: ignore[arg-type]
    return StartPacer(pacing, rate=rate, concurrency=concurrency, clock=clock)


def run_for(p: StartPacer, clock: Clock, seconds: float, latency: float) -> int:
    """Back-to-back starts (each waits for its slot), each answered after `latency`."""
    end, sent = clock.now + seconds, 0
    while clock.now < end:
        slot = p.reserve()
        clock.now = max(clock.now, slot.at)
        p.record(slot, latency)
        sent += 1
    return sent


def test_slots_are_one_over_the_rate_apart() -> None:
    clock = Clock()
    p = pacer(clock, rate=4.0)

    slots = [p.reserve() for _ in range(3)]

    assert [s.at - clock.now for s in slots] == [0.0, 0.25, 0.5]
    assert [s.paced for s in slots] == [False, True, True]


def test_the_pace_rises_by_increase_per_second_while_starts_are_quick() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=10.0, increase=5.0)

    sent = run_for(p, clock, 4.0, latency=0.01)

    assert p.rate is not None and 28.0 < p.rate < 31.0  # 10 + 4 s x 5/s, give or take a step
    assert sent > 4 * 10


def test_a_refused_start_halves_the_pace() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=20.0)

    p.record(p.reserve(), 0.005, refused=True)

    assert p.rate == 10.0


def test_slow_starts_cut_the_pace_once_per_round_trip() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=40.0, target_latency_ms=100.0)
    in_flight = [p.reserve() for _ in range(8)]  # all sent before any answer
    clock.now += 0.5

    for slot in in_flight:
        p.record(slot, 0.5)
    after_first_cut = p.rate
    later = p.reserve()  # sent after the cut: its answer counts
    clock.now = later.at + 0.5
    p.record(later, 0.5)

    assert after_first_cut == 20.0
    assert p.rate == 10.0


def test_one_slow_start_among_quick_ones_does_not_cut_the_pace() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=20.0, target_latency_ms=100.0)
    run_for(p, clock, 1.0, latency=0.01)
    before = p.rate

    p.record(p.reserve(), 0.3)  # one outlier: the smoothed latency stays under the target

    assert p.rate == before
    assert p.latency is not None and p.latency < 0.1


def test_sustained_latency_over_the_target_brings_the_pace_down_to_the_floor() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=50.0, min_rate=2.0, target_latency_ms=100.0)

    run_for(p, clock, 10.0, latency=0.4)

    assert p.rate == 2.0


def test_the_pace_never_passes_max_rate() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=10.0, max_rate=12.0, increase=50.0)

    run_for(p, clock, 2.0, latency=0.001)

    assert p.rate == 12.0


def test_the_starting_pace_is_clamped_into_the_bounds() -> None:
    clock = Clock()

    assert pacer(clock, rate=500.0, max_rate=30.0).rate == 30.0
    assert pacer(clock, rate=0.1, min_rate=2.0).rate == 2.0
    assert pacer(clock, initial_rate=10.0, min_rate=5.0, max_rate=3.0).rate == 3.0


def test_quick_starts_that_never_waited_for_their_slot_leave_the_pace_alone() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=10.0)

    for _ in range(50):  # one start now and then: the pace is not what limits them
        clock.now += 1.0
        slot = p.reserve()
        p.record(slot, 0.001)

    assert p.rate == 10.0


def test_the_window_follows_the_pace_under_the_concurrency() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=20.0, target_latency_ms=500.0, concurrency=16)

    assert p.window == 16  # 2 x 20/s x 0.5 s = 20, capped at 16
    p.record(p.reserve(), 0.001, refused=True)
    assert p.window == 10
    assert pacer(clock, initial_rate=1.0, target_latency_ms=100.0).window == 1


def test_without_settings_the_pace_is_fixed_or_absent() -> None:
    clock = Clock()
    fixed = StartPacer(None, rate=2.0, concurrency=8, clock=clock)
    unpaced = StartPacer(None, rate=None, concurrency=8, clock=clock)

    run_for(fixed, clock, 3.0, latency=0.001)
    fixed.record(fixed.reserve(), 5.0, refused=True)
    slots = [unpaced.reserve() for _ in range(5)]

    assert fixed.rate == 2.0 and fixed.window == 8 and not fixed.adaptive
    assert unpaced.rate is None and unpaced.window == 8
    assert {s.at for s in slots} == {clock.now} and not any(s.paced for s in slots)
    assert math.isclose(fixed.latency or 0.0, 0.001 + 0.2 * (5.0 - 0.001), rel_tol=1e-3)


def test_workers_falling_behind_cut_the_pace_once_per_max_queue_seconds() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=40.0, max_queue_seconds=5.0)

    p.record_queue(6.0)
    clock.now += 1.0
    p.record_queue(7.0)  # the same backlog, a second later: it has not had time to shrink
    after_one_second = p.rate
    clock.now += 5.0
    p.record_queue(8.0)

    assert after_one_second == 20.0
    assert p.rate == 10.0


def test_a_queue_past_its_limit_that_shrinks_holds_the_pace_without_cutting_it() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=10.0, max_queue_seconds=4.0)
    p.record_queue(9.0)  # growing from nothing: cut
    clock.now += 10.0

    for age in (8.0, 8.0, 7.0, 6.0, 5.0):  # the workers catch up
        p.record_queue(age)
        clock.now += 10.0
        run_for(p, clock, 1.0, latency=0.01)

    assert p.rate == 5.0


def test_a_queue_past_its_limit_holds_the_pace_between_cuts() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=10.0, max_queue_seconds=4.0)

    p.record_queue(5.0)
    run_for(p, clock, 2.0, latency=0.01)  # quick starts, but the workers are behind
    held = p.rate
    p.record_queue(3.9)
    run_for(p, clock, 2.0, latency=0.01)

    assert held == 5.0  # cut once, then held
    assert p.rate is not None and p.rate > 10.0


def test_the_queue_is_not_asked_about_when_max_queue_seconds_is_none() -> None:
    clock = Clock()
    p = pacer(clock, initial_rate=10.0, max_queue_seconds=None)

    p.record_queue(3600.0)

    assert p.rate == 10.0
