"""`invoke watch` (scripts/watch.py): the orders in flight are exactly the Live-Index's (every shard, oldest update
first), the counts are every order's status, the view says when the scan stopped early, and --order prints each
status change once, to the end. The table is moto's."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from rich.console import Console

from scripts import watch
from scripts.common import UserError

from .helpers import put_order

TABLE = "orderflow-test-orders"


@pytest.fixture
def orders(cloud):
    put_order("PENDING", order_id="o-live-2", customer_id="bob", updated_at="2026-12-06T10:00:02.000Z")
    put_order("PAID", order_id="o-live-1", customer_id="alice", updated_at="2026-12-06T10:00:01.000Z")
    put_order("INVENTORY_RESERVED", order_id="o-live-3", customer_id="carol", updated_at="2026-12-06T10:00:03.000Z")
    for n in range(3):
        put_order("COMPLETED", order_id=f"o-done-{n}", updated_at="2026-12-06T09:00:00.000Z")
    put_order("CANCELLED", order_id="o-cancelled", updated_at="2026-12-06T09:00:00.000Z")
    return boto3.client("dynamodb")


def test_the_orders_in_flight_are_the_live_ones_oldest_update_first(orders):
    assert watch.in_flight(orders, TABLE) == [
        {"orderId": "o-live-1", "customerId": "alice", "status": "PAID", "updatedAt": "2026-12-06T10:00:01.000Z"},
        {"orderId": "o-live-2", "customerId": "bob", "status": "PENDING", "updatedAt": "2026-12-06T10:00:02.000Z"},
        {
            "orderId": "o-live-3",
            "customerId": "carol",
            "status": "INVENTORY_RESERVED",
            "updatedAt": "2026-12-06T10:00:03.000Z",
        },
    ]


def test_the_counts_are_every_orders_status(orders):
    counts, scanned, truncated = watch.status_counts(orders, TABLE)
    assert dict(counts) == {"PENDING": 1, "PAID": 1, "INVENTORY_RESERVED": 1, "COMPLETED": 3, "CANCELLED": 1}
    assert (scanned, truncated) == (7, False)


def test_a_scan_stopped_at_its_limit_says_so(orders):
    counts, scanned, truncated = watch.status_counts(orders, TABLE, limit=4)
    assert (sum(counts.values()), scanned, truncated) == (4, 4, True)


def test_the_view_shows_live_and_terminal_counts_apart_and_the_oldest_live_orders(orders):
    console = Console(record=True, width=100)
    view = watch.snapshot(orders, TABLE)
    console.print(watch.render(view, datetime(2026, 12, 6, 10, 1, 31, tzinfo=UTC), "local"))
    text = console.export_text()
    lines = text.splitlines()
    assert lines[0] == "orderflow local  10:01:31Z  7 orders"
    assert lines[1] == "in flight: 3 (INVENTORY_RESERVED 1, PAID 1, PENDING 1)"
    assert lines[2] == "terminal:  CANCELLED 1, COMPLETED 3"
    rows = [line for line in lines if "o-live" in line]
    assert [row.split()[1] for row in rows] == ["o-live-1", "o-live-2", "o-live-3"]
    assert "1m30s" in rows[0] and "1m28s" in rows[2]


def test_following_an_order_prints_each_change_once_until_it_ends(monkeypatch):
    monkeypatch.setattr(watch.time, "sleep", lambda seconds: None)
    history = [
        {"status": "PENDING", "at": "t1", "reason": "order created"},
        {"status": "PAID", "at": "t2", "reason": None},
        {"status": "COMPLETED", "at": "t3", "reason": "order completed"},
    ]
    reads = iter(
        [
            {"orderId": "o-1", "status": "PENDING", "statusHistory": history[:1]},
            {"orderId": "o-1", "status": "PENDING", "statusHistory": history[:1]},
            {"orderId": "o-1", "status": "PAID", "statusHistory": history[:2]},
            {"orderId": "o-1", "status": "COMPLETED", "statusHistory": history},
        ]
    )
    printed: list[str] = []
    assert watch.follow(lambda: next(reads), printed.append, 0.01) == "COMPLETED"
    assert printed == [
        "t1  PENDING (order created)",
        "t2  PAID",
        "t3  COMPLETED (order completed)",
        "order o-1 is COMPLETED.",
    ]


def test_following_an_unknown_order_is_one_sentence():
    with pytest.raises(UserError, match=r"^That order does not exist: use the orderId that POST /orders answered\.$"):
        watch.follow(lambda: None, print, 0.01)
