"""JSON helpers that understand Decimal (DynamoDB numbers)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Integral values become JSON integers, others JSON numbers (money has <= 2 decimals, so the
        # float's shortest repr is exact: Decimal("19.99") -> 19.99).
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any, **kwargs: Any) -> str:
    kwargs.setdefault("separators", (",", ":"))
    return json.dumps(value, default=_default, **kwargs)


def plain(value: Any) -> Any:
    """Deep-convert Decimals to int/float so the value is plain JSON data."""
    return json.loads(dumps(value))
