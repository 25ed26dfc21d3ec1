"""Order lifecycle (shared.lifecycle): the transition table, terminal/compensable sets, claims, notifications.

Pure tests: the writes that apply the table (conditions, claims, outbox) are in test_orders_repository.py.
"""

from __future__ import annotations

import itertools

import pytest

from notification import templates
from shared import lifecycle
from shared.lifecycle import (
    COMPENSABLE_STATUSES,
    NON_TERMINAL_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    OrderStatus,
    can_transition,
    claim_of,
    is_terminal,
    notification_for,
    sources_for,
)

S = OrderStatus

ALL_STATUSES = [
    "PENDING",
    "PAID",
    "PAYMENT_FAILED",
    "INVENTORY_RESERVED",
    "INVENTORY_UNAVAILABLE",
    "COMPLETED",
    "CANCELLED",
    "EXPIRED",
    "FAILED",
]
LIVE = {"PENDING", "PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"}
# target -> the statuses it may be entered from (written out by hand; REFUNDED is no longer an order status)
CONTRACT = {
    "PAID": {"PENDING"},
    "PAYMENT_FAILED": {"PENDING"},
    "INVENTORY_RESERVED": {"PAID"},
    "INVENTORY_UNAVAILABLE": {"PAID"},
    "COMPLETED": {"INVENTORY_RESERVED"},
    "CANCELLED": LIVE,
    "EXPIRED": LIVE,
    "FAILED": LIVE,
}
CONTRACT_EDGES = {(src, dst) for dst, sources in CONTRACT.items() for src in sources}
NOTIFICATIONS = {
    "COMPLETED": "order-completed",
    "PAYMENT_FAILED": "payment-declined",
    "CANCELLED": "order-cancelled",
    "EXPIRED": "order-expired",
    "FAILED": "order-failed",
}


def test_statuses_are_exactly_the_contract():
    assert [s.value for s in OrderStatus] == ALL_STATUSES
    assert "REFUNDED" not in {s.value for s in OrderStatus}
    with pytest.raises(ValueError):
        OrderStatus("REFUNDED")


def test_transition_table_is_exactly_the_contract():
    assert {t.value: {s.value for s in tr.sources} for t, tr in TRANSITIONS.items()} == CONTRACT
    assert all(target == tr.target for target, tr in TRANSITIONS.items())
    assert all(tr.writer for tr in TRANSITIONS.values())
    assert "PENDING" not in {t.value for t in TRANSITIONS}  # PENDING is only created


def test_terminal_and_compensable_sets():
    assert [s.value for s in NON_TERMINAL_STATUSES] == [
        "PENDING",
        "PAID",
        "INVENTORY_RESERVED",
        "INVENTORY_UNAVAILABLE",
    ]
    assert {s.value for s in TERMINAL_STATUSES} == {"COMPLETED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"}
    assert {s.value for s in COMPENSABLE_STATUSES} == {"PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"}
    for status in ALL_STATUSES:
        assert is_terminal(status) is (status not in LIVE)
    assert is_terminal(None) is False
    assert is_terminal("SHIPPED") is False


@pytest.mark.parametrize(("current", "target"), sorted(itertools.product(ALL_STATUSES, ALL_STATUSES)))
def test_can_transition_for_every_pair(current, target):
    assert can_transition(current, target) is ((current, target) in CONTRACT_EDGES)


def test_no_transition_leaves_a_terminal_status():
    for current in TERMINAL_STATUSES:
        assert not any(can_transition(current, t) for t in ALL_STATUSES)


def test_sources_for_and_unknown_statuses():
    assert sources_for("PENDING") == frozenset()
    assert {s.value for s in sources_for("CANCELLED")} == LIVE
    assert {s.value for s in sources_for(S.COMPLETED)} == {"INVENTORY_RESERVED"}
    assert can_transition("PENDING", "SHIPPED") is False
    assert can_transition("SHIPPED", "PAID") is False
    assert can_transition("REFUNDED", "CANCELLED") is False
    with pytest.raises(ValueError):
        sources_for("SHIPPED")


def test_notification_mapping():
    assert {s.value: notification_for(s) for s in TERMINAL_STATUSES} == NOTIFICATIONS
    # every notification a finalization sends is a type the notification Lambda renders
    assert set(NOTIFICATIONS.values()) == set(templates.WORKFLOW_TYPES)
    for status in ("PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"):
        with pytest.raises(ValueError, match="not terminal"):
            notification_for(status)
    with pytest.raises(KeyError):
        notification_for("PENDING")  # not even a transition target


@pytest.mark.parametrize("status", sorted(LIVE))
def test_claim_of_a_live_order_is_none(status):
    assert claim_of({"orderId": "o", "status": status, "statusHistory": [{"reason": "x"}]}) is None


@pytest.mark.parametrize("status", sorted(NOTIFICATIONS))
def test_claim_of_a_terminal_order(status):
    order = {
        "orderId": "o",
        "status": status,
        "claim": {"by": "exec-1", "status": status, "at": "2024-01-01T00:00:00.000Z"},
        "statusHistory": [{"status": "PENDING", "reason": "order created"}, {"status": status, "reason": "why"}],
    }
    assert claim_of(order) == {"status": status, "notification": NOTIFICATIONS[status], "by": "exec-1", "reason": "why"}


def test_claim_of_without_claim_or_history_reason():
    # an order made terminal without a recorded claim / reason still yields the keys the workflows read
    assert claim_of({"status": "EXPIRED"}) == {
        "status": "EXPIRED",
        "notification": "order-expired",
        "by": None,
        "reason": "expired",
    }
    assert claim_of({"status": "FAILED", "statusHistory": [{"status": "FAILED"}], "claim": {}}) == {
        "status": "FAILED",
        "notification": "order-failed",
        "by": None,
        "reason": "failed",
    }
    assert claim_of({"status": None}) is None
    assert claim_of({}) is None


def test_lifecycle_module_exports():
    assert lifecycle.S is OrderStatus


def test_architecture_doc_prints_the_lifecycle_table():
    """docs/architecture.md, "Order lifecycle", states the table shared.lifecycle defines: one fact, written twice
    only with this test keeping the two equal."""
    from pathlib import Path

    from shared.lifecycle import TRANSITIONS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text(encoding="utf-8")
    for t in TRANSITIONS.values():
        row = f"| {t.target} | {', '.join(sorted(t.sources))} | {t.writer} | {t.notification or '—'} |"
        assert row in doc, f"docs/architecture.md lacks the lifecycle row {row}"
