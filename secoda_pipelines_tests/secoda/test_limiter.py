"""The write limiter on a fake clock: exact pacing without sleeping."""

from __future__ import annotations

import pytest

from secoda_pipelines.secoda import WriteLimiter
from secoda_pipelines.secoda.limiter import Write


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


def test_an_answered_write_counts_from_its_answer_not_from_when_it_was_sent():
    # The server counted each write somewhere between its sending and its answer: a write
    # whose answer came late (a slow server, a paused client) holds its place that long.
    clock = FakeClock()
    limiter = WriteLimiter(2, 60.0, margin=0.5, clock=clock, sleep=clock.sleep)
    first = limiter.reserve()
    second = limiter.reserve()
    clock.now += 3.0
    limiter.answered(first)  # answered 3 s after it was sent
    clock.now += 1.0
    limiter.answered(second)  # 4 s after
    assert (first.sent_at - 100.0, first.waited) == (0.0, 0.0)
    times = []
    for _ in range(3):
        write = limiter.reserve()
        times.append(write.sent_at - 100.0)
        limiter.answered(write)  # at once
    assert times == [63.5, 64.5, 124.0]
    assert [t - 100.0 for t in limiter.granted()] == [0, 0, 63.5, 64.5, 124.0]


def test_a_write_in_flight_longer_than_the_window_counts_from_its_answer():
    clock = FakeClock()
    limiter = WriteLimiter(1, 10.0, margin=0.0, clock=clock, sleep=clock.sleep)
    slow = limiter.reserve()
    clock.now += 25.0
    limiter.answered(slow)  # its first count left the window long ago
    assert limiter.reserve().sent_at - 100.0 == 35.0


def test_estimates_the_time_a_number_of_writes_takes():
    limiter = WriteLimiter(30, 60.0, margin=0.0)
    assert limiter.seconds_for(30) == 0
    assert limiter.seconds_for(31) == 60
    assert limiter.seconds_for(90) == 120


def test_rejects_a_limit_below_one():
    with pytest.raises(ValueError, match="at least 1"):
        WriteLimiter(0)


def test_records_when_it_let_each_write_go():
    clock = FakeClock()
    limiter = WriteLimiter(2, 10.0, margin=0.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        limiter.acquire()
    assert [t - 100.0 for t in limiter.granted()] == [0, 0, 10, 10, 20]


def test_keeps_only_the_last_writes_in_its_record():
    limiter = WriteLimiter(100, 60.0, history=3)
    for _ in range(5):
        limiter.acquire()
    assert len(limiter.granted()) == 3


def test_a_bounded_wait_gives_up_without_counting_the_write():
    clock = FakeClock()
    limiter = WriteLimiter(1, 60.0, margin=0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    with pytest.raises(TimeoutError, match=r"in 60\.0 s"):
        limiter.acquire(timeout=59.0)
    assert clock.now == 100.0, "it did not sleep"
    assert limiter.acquire(timeout=60.0) == 60.0
    assert [t - 100.0 for t in limiter.granted()] == [0, 60]


def test_writes_made_elsewhere_count_in_the_window_until_they_age_out():
    clock = [1000.0]
    limiter = WriteLimiter(3, period=60.0, margin=0.0, clock=lambda: clock[0])
    assert limiter.seed([10.0, 20.0, 75.0]) == 2, "a write 75 s ago is out of the window"
    limiter.acquire(timeout=0)
    with pytest.raises(TimeoutError, match="the next write fits the pace of 3 per 60 s only in"):
        limiter.acquire(timeout=0)
    clock[0] += 41.0  # the write seeded as 20 s ago is now 61 s old
    limiter.acquire(timeout=0)


class RecordingJournal:
    """A journal that keeps its events in a list, and can be told to fail."""

    def __init__(self, fail: BaseException | None = None):
        self.events: list[tuple[str, object, float]] = []
        self.fail = fail

    def sent(self, at: float) -> str:
        if self.fail is not None:
            raise self.fail
        token = f"w{sum(event == 'sent' for event, _, _ in self.events)}"
        self.events.append(("sent", token, at))
        return token

    def answered(self, token, at: float) -> None:
        self.events.append(("answered", token, at))


def test_a_journaled_write_is_on_record_before_it_is_let_go_and_again_when_answered():
    clock = FakeClock()
    wall = [1_700_000_000.0]
    limiter = WriteLimiter(
        1, 10.0, margin=0.0, clock=clock, sleep=clock.sleep, wall_clock=lambda: wall[0]
    )
    journal = RecordingJournal()
    with limiter.journaled(journal):
        first = limiter.reserve()
        assert journal.events == [("sent", "w0", 1_700_000_000.0)], "recorded before return"
        wall[0] += 2.5
        limiter.answered(first)
        wall[0] += 20.0
        second = limiter.reserve()  # waits 10 s of the pace's clock
        limiter.answered(second)
    assert (first.token, second.token, second.waited) == ("w0", "w1", 10.0)
    assert journal.events == [
        ("sent", "w0", 1_700_000_000.0),
        ("answered", "w0", 1_700_000_002.5),
        ("sent", "w1", 1_700_000_022.5),
        ("answered", "w1", 1_700_000_022.5),
    ]
    after = limiter.reserve()  # the block is over: the journal is detached
    limiter.answered(after)
    assert after.token is None
    assert len(journal.events) == 4


def test_a_write_the_journal_cannot_record_is_not_let_go_nor_counted():
    clock = FakeClock()
    limiter = WriteLimiter(1, 10.0, margin=0.0, clock=clock, sleep=clock.sleep)
    broken = RecordingJournal(fail=OSError("journal's disk is full"))
    with limiter.journaled(broken), pytest.raises(OSError, match="journal's disk is full"):
        limiter.reserve()
    assert limiter.granted() == []
    assert limiter.reserve(timeout=0).waited == 0.0, "the failed write took no place"


def test_an_answer_the_journal_cannot_record_raises_after_the_pace_counted_it():
    clock = FakeClock()
    limiter = WriteLimiter(1, 10.0, margin=0.0, clock=clock, sleep=clock.sleep)

    class FailsOnAnswer(RecordingJournal):
        def answered(self, token, at: float) -> None:
            raise OSError("the journal went away")

    with limiter.journaled(FailsOnAnswer()):
        write = limiter.reserve()
        clock.now += 4.0
        with pytest.raises(OSError, match="the journal went away"):
            limiter.answered(write)
    assert limiter.reserve().sent_at - 100.0 == 14.0, "counted from its answer"


def test_one_journal_at_a_time():
    limiter = WriteLimiter(5, 10.0)
    with (
        limiter.journaled(RecordingJournal()),
        pytest.raises(RuntimeError, match="a journal belongs to one run"),
        limiter.journaled(RecordingJournal()),
    ):
        pass
    with limiter.journaled(RecordingJournal()) as attached:
        assert isinstance(attached, RecordingJournal)


def test_a_write_is_still_built_from_its_time_and_wait():
    assert Write(1.0, 0.5) == (1.0, 0.5, None)
