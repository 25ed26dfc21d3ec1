"""A Lambda may die after any one of its effects (the write happened, the answer never came back) and is then run
again with the same input: at-least-once delivery. For every multi-step operation, crash after effect k for every
k, retry, and require the end state of an uninterrupted run: the same items in every table, the same events (each
id at least once, one payload per id, no other id), and one decision at the payment gateway.

The crash is a botocore `after-call` hook on the services' own clients that raises once the k-th successful
mutating call has returned; it is a BaseException, as a dying process is, so no `except Exception` can absorb it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from inventory import service as inventory
from order import saga
from payment import service as payment
from shared import aws as shared_aws
from shared import clock
from shared.repositories import OrdersRepository

from .conftest import ENV, TABLE_KEYS
from .helpers import expected_event_id, expected_payment_id, order_input, put_order
from .test_payment import SpyGateway, spy_gateway

MUTATING = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem", "PutEvents", "PutObject"}
FROZEN = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
orders = OrdersRepository()


class LambdaDied(BaseException):
    """The process ended right after an effect (a timeout, an OOM kill)."""


class CrashAfter:
    def __init__(self, effect: int | None) -> None:
        self.effect, self.effects = effect, 0

    def __call__(self, model: Any, http_response: Any, **_: Any) -> None:
        if model.name not in MUTATING or http_response.status_code != 200:
            return  # reads, and calls refused by a condition, change nothing
        self.effects += 1
        if self.effects == self.effect:
            raise LambdaDied(f"died after effect {self.effect} ({model.name})")


def _clients() -> list[Any]:
    return [
        shared_aws.dynamodb_client(),
        shared_aws.dynamodb_resource().meta.client,
        shared_aws.events_client(),
        shared_aws.s3_client(),
    ]


def run(operation: Callable[[], Any], crash: CrashAfter) -> Any:
    for client in _clients():
        client.meta.events.register("after-call", crash, unique_id="crash-after")
    try:
        return operation()
    finally:
        for client in _clients():
            client.meta.events.unregister("after-call", unique_id="crash-after")


def snapshot(cloud: Any) -> dict[str, Any]:
    state = {
        env_name: sorted(json.dumps(item, sort_keys=True, default=str) for item in cloud.items(env_name))
        for env_name in TABLE_KEYS
    }
    return state


def events_by_id(cloud: Any) -> tuple[dict[str, tuple[str, str]], dict[str, int]]:
    payloads: dict[str, set[tuple[str, str]]] = {}
    counts: dict[str, int] = {}
    for event in cloud.events():
        event_id = event["detail"]["eventId"]
        payloads.setdefault(event_id, set()).add((event["detail-type"], json.dumps(event["detail"], sort_keys=True)))
        counts[event_id] = counts.get(event_id, 0) + 1
    assert all(len(p) == 1 for p in payloads.values()), f"one event id, several payloads: {payloads}"
    return {event_id: next(iter(p)) for event_id, p in payloads.items()}, counts


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "utc_now", lambda: FROZEN)
    monkeypatch.setattr(clock, "epoch_seconds", lambda: FROZEN.timestamp())


# --- the operations: (setup, operation); setup runs uncrashed and returns what the operation needs ------------
def _products(cloud: Any, prod1: int = 10, prod2: int = 3) -> None:
    cloud.put_product("prod-1", prod1, price="19.99")
    cloud.put_product("prod-2", prod2, price="69.99")


def _pending(cloud: Any, customer: str = "customer-1") -> dict[str, Any]:
    _products(cloud)
    return put_order("PENDING", order_id="0a000000-0000-4000-8000-000000000001", customer_id=customer)


def _charged_then_claimed(cloud: Any) -> dict[str, Any]:
    order = _pending(cloud)
    payment.charge(order_input(order), gateway=spy_gateway())
    orders.transition(
        order["orderId"], "customer-1", "CANCELLED", "customer cancel", claim_by=f"cancel:{order['orderId']}"
    )
    return order


def _paid(cloud: Any, prod2: int = 3) -> dict[str, Any]:
    _products(cloud, prod2=prod2)
    return put_order("PAID", order_id="0a000000-0000-4000-8000-000000000002")


def _reserved_then_claimed(cloud: Any) -> dict[str, Any]:
    order = _paid(cloud)
    inventory.reserve(order_input(order))
    orders.transition(
        order["orderId"], "customer-1", "FAILED", "notification failed", claim_by="execution:arn:aws:states:test:1"
    )
    return order


GATEWAY: list[SpyGateway] = []


def _gateway() -> SpyGateway:
    return GATEWAY[-1]


OPERATIONS: dict[str, tuple[Callable[[Any], dict[str, Any]], Callable[[dict[str, Any]], Any]]] = {
    "charge approved (intent, gateway, row, order, event)": (
        _pending,
        lambda o: payment.charge(order_input(o), gateway=_gateway()),
    ),
    "charge declined (intent, gateway, row, PAYMENT_FAILED claim + duty, event)": (
        lambda c: _pending(c, customer="customer-declined"),
        lambda o: payment.charge(order_input(o), gateway=_gateway()),
    ),
    "refund of a claimed paid order (gateway, row, event)": (
        _charged_then_claimed,
        lambda o: payment.refund(order_input(o), "customer cancel", gateway=_gateway()),
    ),
    "reserve (reservation + stock + order, event)": (_paid, lambda o: inventory.reserve(order_input(o))),
    "reserve short (order INVENTORY_UNAVAILABLE, event)": (
        lambda c: _paid(c, prod2=0),
        lambda o: inventory.reserve(order_input(o)),
    ),
    "release of a claimed reserved order (reservation + stock, event)": (
        _reserved_then_claimed,
        lambda o: inventory.release(order_input(o)),
    ),
}


def _fresh(cloud: Any, name: str) -> tuple[dict[str, Any], Callable[[], Any]]:
    from .conftest import _wipe

    _wipe(cloud.queue_url)
    cloud._seen.clear()
    GATEWAY.append(spy_gateway())
    setup, operation = OPERATIONS[name]
    order = setup(cloud)
    cloud.events()  # setup's own events are not the operation's
    cloud._seen.clear()
    GATEWAY[-1] = spy_gateway()  # count only the operation's gateway decisions
    return order, lambda: operation(order)


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_retry_after_a_crash_after_any_effect_ends_as_an_uninterrupted_run(cloud, name):
    _order, operation = _fresh(cloud, name)
    clean = CrashAfter(None)
    expected_answer = run(operation, clean)
    expected_state, (expected_events, _) = snapshot(cloud), events_by_id(cloud)
    expected_decisions = len(_gateway().decisions)
    assert clean.effects >= 2, f"{name}: {clean.effects} effect(s); not a multi-step operation"
    assert expected_events, f"{name}: an uninterrupted run publishes its outcome"

    for k in range(1, clean.effects + 1):
        _order, operation = _fresh(cloud, name)
        with pytest.raises(LambdaDied):
            run(operation, CrashAfter(k))
        retried_answer = run(operation, CrashAfter(None))
        where = f"{name}, crash after effect {k} of {clean.effects}"
        assert snapshot(cloud) == expected_state, where
        events, counts = events_by_id(cloud)
        assert events == expected_events, where
        assert all(counts[event_id] <= 2 for event_id in counts), f"{where}: {counts}"
        assert len(_gateway().decisions) == expected_decisions, f"{where}: the gateway decided twice"
        assert retried_answer == expected_answer, where


# --- what the uninterrupted runs must be (literal expectations, so the comparison above cannot agree on a bug) ---
def test_the_uninterrupted_charge_pays_once_and_announces_it(cloud):
    order, operation = _fresh(cloud, "charge approved (intent, gateway, row, order, event)")
    answer = run(operation, CrashAfter(None))
    oid = order["orderId"]
    assert answer["status"] == "PAID" and answer["paymentId"] == expected_payment_id(oid)
    assert answer["amount"] == "109.97"
    assert _gateway().decisions == [("customer-1", Decimal("109.97"))]
    events, counts = events_by_id(cloud)
    assert set(events) == {expected_event_id(oid, "Payment Processed")}
    assert counts == {expected_event_id(oid, "Payment Processed"): 1}
    [stored] = [i for i in cloud.items("ORDERS_TABLE") if i["orderId"] == oid]
    assert stored["status"] == "PAID" and stored["paymentId"] == expected_payment_id(oid)


def test_the_uninterrupted_reserve_takes_the_stock_once(cloud):
    order, operation = _fresh(cloud, "reserve (reservation + stock + order, event)")
    assert run(operation, CrashAfter(None))["status"] == "RESERVED"
    assert {p["productId"]: (int(p["available"]), int(p["reserved"])) for p in cloud.items("INVENTORY_TABLE")} == {
        "prod-1": (8, 2),
        "prod-2": (2, 1),
    }
    events, _ = events_by_id(cloud)
    assert set(events) == {expected_event_id(order["orderId"], "Inventory Reserved")}


def test_the_uninterrupted_release_gives_the_stock_back_once(cloud):
    _order, operation = _fresh(cloud, "release of a claimed reserved order (reservation + stock, event)")
    assert run(operation, CrashAfter(None))["status"] == "RELEASED"
    assert {p["productId"]: (int(p["available"]), int(p["reserved"])) for p in cloud.items("INVENTORY_TABLE")} == {
        "prod-1": (10, 0),
        "prod-2": (3, 0),
    }
    [reservation] = cloud.items("RESERVATIONS_TABLE")
    assert reservation["status"] == "RELEASED"


def test_the_uninterrupted_refund_refunds_the_charged_amount(cloud):
    order, operation = _fresh(cloud, "refund of a claimed paid order (gateway, row, event)")
    answer = run(operation, CrashAfter(None))
    assert answer["status"] == "REFUNDED"
    [row] = cloud.items("PAYMENTS_TABLE")
    assert row["status"] == "REFUNDED" and row["amount"] == Decimal("109.97")
    events, _ = events_by_id(cloud)
    assert set(events) == {expected_event_id(order["orderId"], "Payment Refunded")}


def test_a_claim_retried_after_its_write_is_still_the_claimers(cloud):
    """One effect (the order and its claim in one write): the retry must answer claimed, or nobody compensates."""
    _products(cloud)
    order = put_order("PAID", order_id="0a000000-0000-4000-8000-000000000003")
    event = {
        "order": {"orderId": order["orderId"], "customerId": "customer-1"},
        "target": "CANCELLED",
        "by": f"cancel:{order['orderId']}",
        "reason": "customer",
    }
    with pytest.raises(LambdaDied):
        run(lambda: saga.claim(event), CrashAfter(1))
    answer = run(lambda: saga.claim(event), CrashAfter(None))
    assert answer["claimed"] is True and answer["orderStatus"] == "CANCELLED"
    assert answer["claim"]["by"] == f"cancel:{order['orderId']}"
    [stored] = cloud.items("ORDERS_TABLE")
    assert stored["status"] == "CANCELLED" and stored["version"] == 2  # one transition, not two


def test_the_crash_hook_crashes_after_the_effect(cloud):
    """The harness itself: a crash after effect 1 of a charge leaves the intent written, and nothing else."""
    _order, operation = _fresh(cloud, "charge approved (intent, gateway, row, order, event)")
    with pytest.raises(LambdaDied, match="effect 1"):
        run(operation, CrashAfter(1))
    [row] = cloud.items("PAYMENTS_TABLE")
    assert row["status"] == "PENDING"
    assert cloud.events() == [] and _gateway().decisions == []
    assert ENV["PAYMENTS_TABLE"].endswith("payments")
