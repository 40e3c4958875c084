"""The write limiter on a fake clock: exact pacing without sleeping."""

from __future__ import annotations

import pytest

from secoda_pipelines.secoda import WriteLimiter


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_allows_the_limit_then_waits_for_the_oldest_write_to_leave_the_window():
    clock = FakeClock()
    limiter = WriteLimiter(3, 60.0, margin=0.5, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(7):
        limiter.acquire()
        times.append(clock.now - 100.0)
    assert times == [0, 0, 0, 60.5, 60.5, 60.5, 121.0]


def test_estimates_the_time_a_number_of_writes_takes():
    limiter = WriteLimiter(30, 60.0, margin=0.0)
    assert limiter.seconds_for(30) == 0
    assert limiter.seconds_for(31) == 60
    assert limiter.seconds_for(90) == 120


def test_rejects_a_limit_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        WriteLimiter(0)
