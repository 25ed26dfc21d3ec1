"""Latency statistics of `invoke bench` and the e2e report: percentiles and a summary."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], pct: float) -> float | None:
    """The pct-th percentile (0..100) by linear interpolation between closest ranks (numpy's default); None if empty."""
    data = sorted(float(v) for v in values if v is not None)
    if not data:
        return None
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, got {pct}")
    rank = (len(data) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def latency_summary(values: Iterable[float]) -> dict[str, float | int | None]:
    data = [float(v) for v in values if v is not None]
    return {
        "count": len(data),
        "p50": percentile(data, 50),
        "p95": percentile(data, 95),
        "p99": percentile(data, 99),
        "max": max(data) if data else None,
        "min": min(data) if data else None,
    }
