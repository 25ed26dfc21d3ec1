"""Inventory reserve and release, exact effects with a fixed clock: the reservation written whole, the product
items, the order's history entry, how many events (a repeat re-puts its event once more), the counters, and the
refusal messages. Expected values are literals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from inventory import service
from shared import aws as shared_aws
from shared import clock
from shared.errors import InventoryContention, OrderNotFound

from .helpers import expected_event_id, get_order, order_input, put_claimed_order, put_order

ORDER_ID = "3e2f1a0b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"
NOW = "2026-12-04T10:00:00.000Z"
ITEMS = [{"productId": "prod-1", "quantity": 2}, {"productId": "prod-2", "quantity": 1}]


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC))


@pytest.fixture
def stock(cloud):
    cloud.put_product("prod-1", 10)
    cloud.put_product("prod-2", 3)
    return lambda: {p["productId"]: (int(p["available"]), int(p["reserved"])) for p in cloud.items("INVENTORY_TABLE")}


def detail_types(cloud):
    return [e["detail-type"] for e in cloud.events()]


def test_a_reserve_writes_the_whole_reservation_and_history(cloud, stock, counters):
    order = put_order("PAID", order_id=ORDER_ID)
    assert service.reserve(order_input(order)) == {"status": "RESERVED", "shortItems": []}
    assert cloud.items("RESERVATIONS_TABLE") == [
        {"orderId": ORDER_ID, "customerId": "customer-1", "status": "RESERVED", "items": ITEMS, "createdAt": NOW}
    ]
    assert stock() == {"prod-1": (8, 2), "prod-2": (2, 1)}
    stored = get_order(ORDER_ID)
    assert stored["statusHistory"][-1] == {"status": "INVENTORY_RESERVED", "at": NOW, "reason": "inventory reserved"}
    assert (stored["status"], stored["updatedAt"], stored["version"]) == ("INVENTORY_RESERVED", NOW, 2)
    assert detail_types(cloud) == ["Inventory Reserved"]
    assert counters() == {"InventoryReserved": 1}


def test_a_repeated_reserve_re_puts_its_event_once_and_changes_nothing(cloud, stock, counters):
    order = put_order("PAID", order_id=ORDER_ID)
    service.reserve(order_input(order))
    service.reserve(order_input(order))
    events = cloud.events()
    assert [e["detail-type"] for e in events] == ["Inventory Reserved", "Inventory Reserved"]
    assert (
        events[0]["detail"]
        == events[1]["detail"]
        == {
            "eventId": "8b7bb1c7-819b-5396-9109-ef161554ce06",
            "orderId": ORDER_ID,
            "customerId": "customer-1",
            "items": ITEMS,
        }
    )  # eventId: uuid5(urn:orderflow:event namespace, "<ORDER_ID>|Inventory Reserved")
    assert stock() == {"prod-1": (8, 2), "prod-2": (2, 1)}
    assert counters() == {"InventoryReserved": 1}


def test_an_unavailable_order_records_its_short_items_and_a_repeat_re_puts_the_event(cloud, counters):
    cloud.put_product("prod-1", 1)
    order = put_order("PAID", order_id=ORDER_ID)
    short = [
        {"productId": "prod-1", "requested": 2, "available": 1},
        {"productId": "prod-2", "requested": 1, "available": 0},
    ]
    assert service.reserve(order_input(order)) == {"status": "UNAVAILABLE", "shortItems": short}
    stored = get_order(ORDER_ID)
    assert stored["shortItems"] == short
    assert stored["statusHistory"][-1] == {
        "status": "INVENTORY_UNAVAILABLE",
        "at": NOW,
        "reason": "insufficient stock: prod-1, prod-2",
    }
    assert service.reserve(order_input(order)) == {"status": "UNAVAILABLE", "shortItems": short}
    events = cloud.events()
    assert [e["detail-type"] for e in events] == ["Inventory Unavailable", "Inventory Unavailable"]
    assert events[1]["detail"]["shortItems"] == short and events[1]["detail"]["customerId"] == "customer-1"
    assert counters() == {"InventoryUnavailable": 1}
    assert cloud.items("RESERVATIONS_TABLE") == []


def test_negative_stock_is_reported_as_zero_available(cloud):
    cloud.put_product("prod-1", -3)
    cloud.put_product("prod-2", 5)
    order = put_order("PAID", order_id=ORDER_ID)
    assert service.reserve(order_input(order))["shortItems"] == [
        {"productId": "prod-1", "requested": 2, "available": 0}
    ]


@pytest.mark.parametrize("status", ["PENDING", "CANCELLED", "COMPLETED"])
def test_a_refused_reserve_counts_and_publishes_nothing(cloud, stock, counters, status):
    order = put_order(status, order_id=ORDER_ID)
    assert service.reserve(order_input(order)) == {"status": "ORDER_NOT_RESERVABLE", "shortItems": []}
    assert cloud.events() == [] and cloud.items("RESERVATIONS_TABLE") == []
    assert counters() == {"ReservationsRefused": 1}


def test_a_release_writes_the_whole_reservation_and_gives_back_exactly(cloud, stock, counters):
    order = put_order("PAID", order_id=ORDER_ID)
    service.reserve(order_input(order))
    cloud.events()
    put_claimed_order("CANCELLED", order_id=ORDER_ID)
    assert service.release(order_input(order)) == {"status": "RELEASED"}
    assert cloud.items("RESERVATIONS_TABLE") == [
        {
            "orderId": ORDER_ID,
            "customerId": "customer-1",
            "status": "RELEASED",
            "items": ITEMS,
            "createdAt": NOW,
            "releasedAt": NOW,
        }
    ]
    assert stock() == {"prod-1": (10, 0), "prod-2": (3, 0)}
    assert counters() == {"InventoryReserved": 1, "InventoryReleased": 1}
    assert service.release(order_input(order)) == {"status": "RELEASED"}  # a retried release
    released = [e for e in cloud.events() if e["detail-type"] == "Inventory Released"]
    assert len(released) == 2 and released[0]["detail"] == released[1]["detail"]
    assert released[0]["detail"]["items"] == ITEMS and released[0]["detail"]["customerId"] == "customer-1"
    assert stock() == {"prod-1": (10, 0), "prod-2": (3, 0)}
    assert counters() == {"InventoryReserved": 1, "InventoryReleased": 1}


def test_a_release_conflict_names_the_order_and_the_codes(cloud, stock, monkeypatch):
    order = put_order("PAID", order_id=ORDER_ID)
    service.reserve(order_input(order))
    put_claimed_order("CANCELLED", order_id=ORDER_ID)

    def conflict(**_):
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}, {"Code": "None"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(shared_aws.dynamodb_client(), "transact_write_items", conflict)
    with pytest.raises(InventoryContention) as info:
        service.release(order_input(order))
    assert str(info.value) == f"release of order {ORDER_ID} conflicted: ['None', 'TransactionConflict', 'None']"


def test_a_reserve_that_keeps_conflicting_names_the_order(cloud, stock, monkeypatch):
    order = put_order("PAID", order_id=ORDER_ID)
    calls = []

    def conflict(**_):
        calls.append(1)
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [
                    {"Code": "None"},
                    {"Code": "TransactionConflict"},
                    {"Code": "None"},
                    {"Code": "None"},
                ],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(shared_aws.dynamodb_client(), "transact_write_items", conflict)
    with pytest.raises(InventoryContention) as info:
        service.reserve(order_input(order))
    assert str(info.value) == f"reservation for order {ORDER_ID} kept conflicting; retry later"
    assert len(calls) == 3


def test_reserving_again_after_the_release_is_refused_without_short_items(cloud, stock, counters):
    order = put_order("PAID", order_id=ORDER_ID)
    service.reserve(order_input(order))
    put_claimed_order("CANCELLED", order_id=ORDER_ID)
    service.release(order_input(order))
    cloud.events()
    assert service.reserve(order_input(order)) == {"status": "ORDER_NOT_RESERVABLE", "shortItems": []}
    assert stock() == {"prod-1": (10, 0), "prod-2": (3, 0)}  # the released stock stays on sale
    assert [r["status"] for r in cloud.items("RESERVATIONS_TABLE")] == ["RELEASED"]
    assert detail_types(cloud) == ["Inventory Reserved", "Inventory Released"]  # nothing new for the refusal
    assert counters() == {"InventoryReserved": 1, "InventoryReleased": 1}


def test_a_product_with_exactly_the_requested_stock_is_not_short(cloud, counters):
    cloud.put_product("prod-1", 2)  # the order asks for exactly 2
    cloud.put_product("prod-2", 0)
    order = put_order("PAID", order_id=ORDER_ID)
    short = [{"productId": "prod-2", "requested": 1, "available": 0}]
    assert service.reserve(order_input(order)) == {"status": "UNAVAILABLE", "shortItems": short}
    stored = get_order(ORDER_ID)
    assert stored["shortItems"] == short
    assert stored["statusHistory"][-1] == {
        "status": "INVENTORY_UNAVAILABLE",
        "at": NOW,
        "reason": "insufficient stock: prod-2",
    }
    assert {p["productId"]: (int(p["available"]), int(p["reserved"])) for p in cloud.items("INVENTORY_TABLE")} == {
        "prod-1": (2, 0),
        "prod-2": (0, 0),
    }  # all or nothing: prod-1's 2 units were not taken
    assert counters() == {"InventoryUnavailable": 1}


def test_the_unavailable_event_names_the_order_and_its_short_items(cloud):
    cloud.put_product("prod-1", 1)
    cloud.put_product("prod-2", 5)
    order = put_order("PAID", order_id=ORDER_ID)
    short = [{"productId": "prod-1", "requested": 2, "available": 1}]
    service.reserve(order_input(order))
    service.reserve(order_input(order))  # a repeat re-puts the same event
    events = cloud.events()
    assert [(e["source"], e["detail-type"]) for e in events] == [("inventory.service", "Inventory Unavailable")] * 2
    for event in events:
        assert event["detail"] == {
            "eventId": expected_event_id(ORDER_ID, "Inventory Unavailable"),
            "orderId": ORDER_ID,
            "customerId": "customer-1",
            "shortItems": short,
        }


def test_the_reservation_and_the_order_s_history_record_one_instant(cloud, stock, monkeypatch):
    # a clock that moves 1 ms on every read: the reservation and the status change must share one reading
    ticks = iter(range(1000))
    monkeypatch.setattr(
        clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC) + timedelta(milliseconds=next(ticks))
    )
    order = put_order("PAID", order_id=ORDER_ID)
    service.reserve(order_input(order))
    [reservation] = cloud.items("RESERVATIONS_TABLE")
    stored = get_order(ORDER_ID)
    assert reservation["createdAt"] == "2026-12-04T10:00:00.000Z"
    assert stored["statusHistory"][-1] == {
        "status": "INVENTORY_RESERVED",
        "at": "2026-12-04T10:00:00.000Z",
        "reason": "inventory reserved",
    }
    assert stored["updatedAt"] == "2026-12-04T10:00:00.000Z"


def test_an_order_cancelled_before_the_transaction_is_never_marked_unavailable(cloud, monkeypatch):
    # stock is short AND the order left PAID: the order's refusal decides; the service must not go on to
    # read stock and try PAID -> INVENTORY_UNAVAILABLE on an order that is no longer PAID
    cloud.put_product("prod-1", 1)
    cloud.put_product("prod-2", 5)
    order = put_order("PAID", order_id=ORDER_ID)
    real_get, real_transition = service.orders.get, service.orders.transition
    reads, targets = [], []

    def stale_get(order_id, customer_id=None):
        current = real_get(order_id, customer_id)
        reads.append(order_id)
        if len(reads) == 1:  # we read PAID, then the customer cancels before our transaction
            real_transition(order_id, "customer-1", "CANCELLED", "customer cancel", claim_by=f"cancel:{order_id}")
        return current

    def spy_transition(order_id, customer_id, target, *args, **kwargs):
        targets.append(target)
        return real_transition(order_id, customer_id, target, *args, **kwargs)

    monkeypatch.setattr(service.orders, "get", stale_get)
    monkeypatch.setattr(service.orders, "transition", spy_transition)
    monkeypatch.setattr(service.inventory, "available", lambda ids: pytest.fail(f"stock read for {list(ids)}"))
    assert service.reserve(order_input(order)) == {"status": "ORDER_NOT_RESERVABLE", "shortItems": []}
    assert targets == []
    assert get_order(ORDER_ID)["status"] == "CANCELLED"
    assert cloud.items("RESERVATIONS_TABLE") == []
    assert {p["productId"]: int(p["available"]) for p in cloud.items("INVENTORY_TABLE")} == {"prod-1": 1, "prod-2": 5}


@pytest.mark.parametrize("action", ["reserve", "release"])
def test_an_unknown_order_is_named_in_the_refusal(cloud, action):
    with pytest.raises(OrderNotFound) as info:
        getattr(service, action)({"orderId": ORDER_ID, "customerId": "customer-1"})
    assert str(info.value) == f"order {ORDER_ID} not found"


@pytest.mark.parametrize("action", ["reserve", "release"])
def test_another_customer_s_order_is_not_found(cloud, action):
    put_claimed_order("CANCELLED", order_id=ORDER_ID)
    with pytest.raises(OrderNotFound) as info:
        getattr(service, action)({"orderId": ORDER_ID, "customerId": "customer-2"})
    assert str(info.value) == f"order {ORDER_ID} not found"


def test_a_product_item_without_reserved_counts_its_first_reservation_from_zero(cloud):
    cloud.table("INVENTORY_TABLE").put_item(Item={"productId": "prod-1", "available": 10, "name": "prod-1"})
    cloud.put_product("prod-2", 3)
    order = put_order("PAID", order_id=ORDER_ID)
    assert service.reserve(order_input(order)) == {"status": "RESERVED", "shortItems": []}
    assert cloud.product("prod-1") == {"productId": "prod-1", "name": "prod-1", "available": 8, "reserved": 2}
    assert (int(cloud.product("prod-2")["available"]), int(cloud.product("prod-2")["reserved"])) == (2, 1)


def test_a_product_item_without_available_is_short_with_zero_available(cloud, counters):
    cloud.table("INVENTORY_TABLE").put_item(Item={"productId": "bare", "name": "bare", "reserved": 0})
    order = put_order("PAID", order_id=ORDER_ID, items=[{"productId": "bare", "quantity": 1, "price": 5}])
    short = [{"productId": "bare", "requested": 1, "available": 0}]
    assert service.reserve(order_input(order)) == {"status": "UNAVAILABLE", "shortItems": short}
    assert get_order(ORDER_ID)["shortItems"] == short
    assert cloud.product("bare") == {"productId": "bare", "name": "bare", "reserved": 0}
    assert counters() == {"InventoryUnavailable": 1}
