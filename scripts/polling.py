"""The one way the tooling and the suites wait for something: poll a check against a deadline.

No fixed sleeps: a wait ends as soon as its check holds, and never sleeps past its deadline (the check runs once
more at the deadline before the wait gives up)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """A point `seconds` from now on the monotonic clock."""

    def __init__(self, seconds: float):
        self.seconds, self.end = seconds, time.monotonic() + seconds

    @property
    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.end


def wait_until[T](check: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Call `check` every `interval` seconds until it returns a truthy value, and return that value. After `timeout`
    seconds raise TimeoutError naming `what` and the check's last value."""
    deadline = Deadline(timeout)
    while True:
        last = check()
        if last:
            return last
        if deadline.expired():
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
        time.sleep(min(interval, deadline.left))
