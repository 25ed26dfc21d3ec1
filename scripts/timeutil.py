"""Times as the tooling and the suites read and write them: aware UTC datetimes, ISO-8601 with milliseconds and `Z`
(as the services write `createdAt` and statusHistory), and run ids."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_ts(value: Any) -> datetime | None:
    """An ISO-8601 string (with `Z` or an offset), epoch seconds or a datetime, as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return datetime.fromtimestamp(float(value), UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None


def new_run_id(prefix: str = "e2e") -> str:
    """Unique per run, short enough for resource names: <prefix>-<UTC yymmddHHMMSS>-<4 hex>."""
    return f"{prefix}-{utcnow().strftime('%y%m%d%H%M%S')}-{secrets.token_hex(2)}"
