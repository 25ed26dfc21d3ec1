"""scripts.polling.wait_until: the one poller of the tooling and the suites (deadline-based, clear timeout)."""

from __future__ import annotations

import time

import pytest

from scripts.polling import Deadline, wait_until


def test_returns_the_first_truthy_value_as_soon_as_the_check_holds():
    answers = iter([None, 0, "", "ready", "later"])
    started = time.monotonic()
    assert wait_until(lambda: next(answers), 5, "the answer", interval=0.01) == "ready"
    assert time.monotonic() - started < 1


def test_times_out_naming_what_it_waited_for_and_the_last_value():
    calls = []
    started = time.monotonic()
    with pytest.raises(TimeoutError) as exc:
        wait_until(lambda: calls.append(1) or [], 0.2, "the queue to fill", interval=0.05)
    elapsed = time.monotonic() - started
    assert str(exc.value) == "timed out after 0.2s waiting for the queue to fill (last: [])"
    assert 0.2 <= elapsed < 0.2 + 0.5, "never sleeps past the deadline by a whole interval"
    assert len(calls) >= 3, "checks again until the deadline, once more at it"


def test_an_interval_longer_than_the_timeout_still_checks_at_the_deadline():
    calls = []
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        wait_until(lambda: calls.append(1), 0.1, "nothing", interval=10)
    assert time.monotonic() - started < 1 and len(calls) == 2


def test_deadline():
    deadline = Deadline(60)
    assert not deadline.expired() and 59 < deadline.left <= 60
    assert Deadline(0).expired() and Deadline(0).left == 0
