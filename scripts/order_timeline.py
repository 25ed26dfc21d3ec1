"""An order's way through its statuses, read from its statusHistory (as the orders table and the API hold it): when
it entered each status, how long each stage and the whole order took. The statuses are shared.lifecycle's."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from scripts.common import services_module
from scripts.timeutil import parse_ts

TERMINAL_STATUSES = frozenset(str(s) for s in services_module("shared.lifecycle").TERMINAL_STATUSES)
HAPPY_PATH = ("PENDING", "PAID", "INVENTORY_RESERVED", "COMPLETED")
# Stages reported by `invoke bench` and the e2e report, from an order's statusHistory.
STAGES = tuple(itertools.pairwise(HAPPY_PATH))


def history_statuses(order: dict[str, Any]) -> list[str]:
    return [entry.get("status") for entry in order.get("statusHistory") or []]


def status_time(order: dict[str, Any], status: str) -> datetime | None:
    """When the order first entered `status`, from its statusHistory."""
    for entry in order.get("statusHistory") or []:
        if entry.get("status") == status:
            return parse_ts(entry.get("at"))
    return None


def terminal_time(order: dict[str, Any]) -> datetime | None:
    status = order.get("status")
    if status not in TERMINAL_STATUSES:
        return None
    return status_time(order, status) or parse_ts(order.get("updatedAt"))


def end_to_end_seconds(order: dict[str, Any]) -> float | None:
    """API accepted (createdAt, written by the order Lambda) -> terminal status (its statusHistory entry)."""
    created, done = parse_ts(order.get("createdAt")), terminal_time(order)
    return None if created is None or done is None else (done - created).total_seconds()


def stage_seconds(order: dict[str, Any]) -> dict[str, float]:
    """Seconds spent in each stage of STAGES that the order went through, e.g. {"PENDING->PAID": 0.41}."""
    out: dict[str, float] = {}
    for a, b in STAGES:
        ta, tb = status_time(order, a), status_time(order, b)
        if ta and tb:
            out[f"{a}->{b}"] = (tb - ta).total_seconds()
    return out
