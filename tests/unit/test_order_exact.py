"""Order service, exact effects with a fixed clock and order id: the order item written whole, its outbox entry
and event, the cancel's claim, history entry and event, the API view, the counters and the conflict message.
Expected values are literals (event ids: the documented uuid5 of the fixed order id, computed outside the code)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from order import service
from order.validation import CreateOrderItem, CreateOrderRequest
from shared import clock

from .helpers import get_order, outbox_items, put_claimed_order, put_order

ORDER_ID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
CREATED_EVENT_ID = "d73d0f47-6b51-5f26-af2d-c521921a8aca"  # uuid5(urn:orderflow:event, "<ORDER_ID>|Order Created")
COMPLETED_EVENT_ID = "575d7ee5-2211-5409-9bcf-442e8fd519e8"  # uuid5(urn:orderflow:event, "<ORDER_ID>|Order Completed")
CANCEL_EVENT_ID = "e74b5f6b-057a-519b-a3d4-29b1286850ef"  # ... "|Order Cancellation Requested"
NOW = "2026-12-04T10:00:00.000Z"
ITEMS = [
    {"productId": "prod-1", "quantity": 2, "price": Decimal("19.99")},
    {"productId": "prod-2", "quantity": 1, "price": Decimal("69.99")},
]
EVENT_ITEMS = [
    {"productId": "prod-1", "quantity": 2, "price": "19.99"},
    {"productId": "prod-2", "quantity": 1, "price": "69.99"},
]

pytestmark = pytest.mark.usefixtures("catalogue")


@pytest.fixture(autouse=True)
def _fixed_clock_and_id(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC))
    monkeypatch.setattr(service.uuid, "uuid4", lambda: uuid.UUID(ORDER_ID))


def request(total="109.97"):
    return CreateOrderRequest(
        customer_id="customer-1",
        items=(CreateOrderItem("prod-1", 2), CreateOrderItem("prod-2", 1)),
        total_amount=None if total is None else Decimal(total),
    )


def test_create_writes_the_whole_order_and_publishes_one_event(cloud, counters):
    assert service.create_order(request()) == {"orderId": ORDER_ID, "status": "PENDING"}
    assert get_order(ORDER_ID) == {
        "orderId": ORDER_ID,
        "customerId": "customer-1",
        "items": ITEMS,
        "totalAmount": Decimal("109.97"),
        "status": "PENDING",
        "statusHistory": [{"status": "PENDING", "at": NOW, "reason": "order created"}],
        "createdAt": NOW,
        "updatedAt": NOW,
        "version": 1,
        "liveShard": "live#6",
        "completedEventId": COMPLETED_EVENT_ID,  # what CompleteOrder gives "Order Completed" (it runs no Lambda)
    }  # live: Live-Index shard 6
    events = cloud.events()
    assert [(e["source"], e["detail-type"], e["detail"]) for e in events] == [
        (
            "order.service",
            "Order Created",
            {
                "eventId": CREATED_EVENT_ID,
                "orderId": ORDER_ID,
                "customerId": "customer-1",
                "items": EVENT_ITEMS,
                "totalAmount": "109.97",
                "createdAt": NOW,
            },
        )
    ]
    assert outbox_items() == []  # published: its outbox entry is gone
    assert counters() == {"OrdersCreated": 1}


def test_a_created_order_id_is_never_reused(cloud):
    service.create_order(request())
    with pytest.raises(ClientError) as info:  # attribute_not_exists(orderId): the transaction refuses a second put
        service.create_order(request())
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert len(cloud.items("ORDERS_TABLE")) == 1


def test_a_cancel_claims_the_order_and_publishes_its_request_once(cloud, counters):
    put_order("PAID", order_id=ORDER_ID)
    assert service.cancel_order(ORDER_ID, "customer-1") == {"orderId": ORDER_ID, "status": "CANCELLED"}
    stored = get_order(ORDER_ID)
    assert stored["claim"] == {"by": f"cancel:{ORDER_ID}", "status": "CANCELLED", "at": NOW}
    assert stored["statusHistory"][-1] == {"status": "CANCELLED", "at": NOW, "reason": "customer cancel"}
    assert [(e["detail-type"], e["detail"]) for e in cloud.events()] == [
        (
            "Order Cancellation Requested",
            {"eventId": CANCEL_EVENT_ID, "orderId": ORDER_ID, "customerId": "customer-1", "previousStatus": "PAID"},
        )
    ]
    assert counters() == {"OrdersCancelled": 1}
    # a repeated DELETE answers the same, counts nothing and publishes nothing new
    assert service.cancel_order(ORDER_ID, "customer-1") == {"orderId": ORDER_ID, "status": "CANCELLED"}
    assert len(cloud.events()) == 1 and counters() == {"OrdersCancelled": 1}


def test_a_cancel_of_an_order_claimed_by_someone_else_is_a_conflict_naming_the_status(cloud, counters):
    put_claimed_order("CANCELLED", by="exec-9", order_id=ORDER_ID)
    with pytest.raises(service.CancelConflict) as info:
        service.cancel_order(ORDER_ID, "customer-1")
    assert str(info.value) == f"order {ORDER_ID} cannot be cancelled in status CANCELLED"
    assert counters() == {}


def test_a_cancel_that_keeps_losing_races_is_a_conflict(cloud, monkeypatch):
    from shared.errors import IllegalTransition

    order = put_order("PAID", order_id=ORDER_ID)
    calls = []

    def always_moved(*args, **kwargs):
        calls.append(kwargs["expected_from"])
        raise IllegalTransition(ORDER_ID, "PAID", "CANCELLED", order=order)

    monkeypatch.setattr(service.orders, "transition", always_moved)
    with pytest.raises(service.CancelConflict) as info:
        service.cancel_order(ORDER_ID, "customer-1")
    assert calls == [["PAID"], ["PAID"], ["PAID"]]
    assert str(info.value) == f"order {ORDER_ID} cannot be cancelled in status PAID"


def test_a_cancel_losing_three_races_names_the_status_it_last_saw(cloud, monkeypatch):
    from shared.errors import IllegalTransition

    order = put_order("PENDING", order_id=ORDER_ID)
    seen = iter(["PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"])  # the workflow moves on every time
    calls = []

    def moved(*args, **kwargs):
        calls.append(kwargs["expected_from"])
        raise IllegalTransition(ORDER_ID, next(seen), "CANCELLED", order=order)

    monkeypatch.setattr(service.orders, "transition", moved)
    with pytest.raises(service.CancelConflict) as info:
        service.cancel_order(ORDER_ID, "customer-1")
    assert calls == [["PENDING"], ["PAID"], ["INVENTORY_RESERVED"]]
    assert str(info.value) == f"order {ORDER_ID} cannot be cancelled in status INVENTORY_UNAVAILABLE"
    assert get_order(ORDER_ID) == order and outbox_items() == []


def test_the_api_view_is_the_whole_public_order():
    order = {
        "orderId": "o",
        "customerId": "c",
        "status": "PAID",
        "totalAmount": Decimal("5.00"),
        "items": [{"productId": "p", "quantity": Decimal(2), "price": Decimal("2.50")}],
        "statusHistory": [{"status": "PAID", "at": NOW, "reason": "r"}],
        "createdAt": NOW,
        "updatedAt": NOW,
        "version": Decimal(3),
        "paymentId": "pay-1",
        "shortItems": [{"productId": "p"}],
        "claim": {"by": "x"},
        "executionId": "exec-1",
    }
    assert service.to_api(order) == {
        "orderId": "o",
        "customerId": "c",
        "status": "PAID",
        "totalAmount": Decimal("5.00"),
        "items": [{"productId": "p", "quantity": 2, "price": Decimal("2.50")}],
        "statusHistory": [{"status": "PAID", "at": NOW, "reason": "r"}],
        "createdAt": NOW,
        "updatedAt": NOW,
        "version": 3,
        "paymentId": "pay-1",
        "shortItems": [{"productId": "p"}],
    }
    minimal = {"orderId": "o", "customerId": "c", "totalAmount": Decimal("1.00")}
    assert service.to_api(minimal) == {
        "orderId": "o",
        "customerId": "c",
        "status": None,
        "items": [],
        "totalAmount": Decimal("1.00"),
        "statusHistory": [],
        "createdAt": None,
        "updatedAt": None,
        "version": 1,
    }
