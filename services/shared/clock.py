"""Time helpers. Call through the module (`clock.utc_now()`) so tests can monkeypatch one place."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def epoch_seconds() -> float:
    return time.time()


def iso(dt: datetime) -> str:
    """ISO-8601 UTC with millisecond precision and a `Z` suffix, e.g. 2024-05-01T12:00:00.123Z.

    Fixed width, so strings sort chronologically (the Live-Index / CustomerId-Index range keys rely on it).
    """
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(utc_now())
