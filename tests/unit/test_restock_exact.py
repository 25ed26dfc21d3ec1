"""Restock, exact effects: the idempotency record written whole (its 90-day expiry), the product item, the counter,
the bounds of every input and each refusal's message. Expected values are literals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from inventory import service
from shared import aws as shared_aws
from shared import clock
from shared.errors import InvalidTaskInput, InventoryContention

NOW = datetime(2026, 12, 4, 10, 0, 0, 123000, tzinfo=UTC)
NOW_EPOCH = 1796378400  # 2026-12-04T10:00:00Z
NINETY_DAYS = 7_776_000


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: NOW)


def test_the_epoch_literal_is_right():
    assert int(NOW.timestamp()) == NOW_EPOCH  # guards the literal above, not the code


def test_restock_writes_the_whole_record_and_product(cloud, counters):
    assert service.restock("lamp", 3, "evt-1") == {"status": "RESTOCKED", "available": 3}
    assert cloud.items("IDEMPOTENCY_TABLE") == [
        {
            "id": "restock#evt-1",
            "expiration": NOW_EPOCH + NINETY_DAYS,
            "status": "COMPLETED",
            "productId": "lamp",
            "quantity": 3,
            "createdAt": "2026-12-04T10:00:00.123Z",
        }
    ]
    assert cloud.product("lamp") == {"productId": "lamp", "name": "lamp", "available": 3, "reserved": 0}
    assert counters() == {"InventoryRestocked": 1}


def test_restock_adds_to_existing_stock_and_keeps_name_and_reservations(cloud):
    cloud.put_product("lamp", 2, price="10.00")
    table = cloud.table("INVENTORY_TABLE")
    table.update_item(
        Key={"productId": "lamp"},
        UpdateExpression="SET reserved = :r, #n = :n",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":r": 4, ":n": "Desk lamp"},
    )
    assert service.restock("lamp", 5, "evt-2", price="12.5") == {"status": "RESTOCKED", "available": 7}
    assert cloud.product("lamp") == {
        "productId": "lamp",
        "name": "Desk lamp",
        "available": 7,
        "reserved": 4,
        "price": Decimal("12.50"),
    }
    [record] = cloud.items("IDEMPOTENCY_TABLE")
    assert record["price"] == Decimal("12.50") and record["quantity"] == 5


def test_a_duplicate_changes_nothing_and_counts_nothing(cloud, counters):
    service.restock("lamp", 3, "evt-1")
    assert service.restock("lamp", 9, "evt-1", price="1.00") == {"status": "DUPLICATE", "available": 3}
    assert cloud.product("lamp") == {"productId": "lamp", "name": "lamp", "available": 3, "reserved": 0}
    assert len(cloud.items("IDEMPOTENCY_TABLE")) == 1
    assert counters() == {"InventoryRestocked": 1}


@pytest.mark.parametrize(
    ("quantity", "stored"), [(1, 1), (1_000_000, 1_000_000), ("12", 12), (" 7 ", 7), (3.0, 3), ("4.00", 4)]
)
def test_quantity_bounds_accepted(cloud, quantity, stored):
    assert service.restock("p", quantity, "e")["available"] == stored


@pytest.mark.parametrize("quantity", [0, 1_000_001, "1e7", 2.5, "", [], {"n": 1}, Decimal(3), "inf", "-1"])
def test_quantity_refusal_names_the_range(cloud, quantity):
    with pytest.raises(InvalidTaskInput) as info:
        service.restock("p", quantity, "e")
    assert str(info.value) == f"quantity must be an integer in 1..1000000, got {quantity!r}"
    assert cloud.items("IDEMPOTENCY_TABLE") == []


@pytest.mark.parametrize("event_id", ["x" * 256, " e ", "a"])
def test_event_id_bounds_accepted(cloud, event_id):
    assert service.restock("p", 1, event_id)["status"] == "RESTOCKED"
    assert cloud.items("IDEMPOTENCY_TABLE")[0]["id"] == f"restock#{event_id}"


@pytest.mark.parametrize("event_id", ["x" * 257, "   ", "", None, 5])
def test_event_id_refusal_says_what_is_required(cloud, event_id):
    with pytest.raises(InvalidTaskInput) as info:
        service.restock("p", 1, event_id)
    assert str(info.value) == f"eventId is required (string, <= 256 chars), got {event_id!r}"


def test_product_id_refusal(cloud):
    with pytest.raises(InvalidTaskInput) as info:
        service.restock("a b", 1, "e")
    assert str(info.value) == "productId is invalid: 'a b'"


@pytest.mark.parametrize(
    ("price", "stored"),
    [("99999999.99", "99999999.99"), (0, "0.00"), ("  3.1 ", "3.10"), (Decimal(7), "7.00"), (12.25, "12.25")],
)
def test_price_bounds_accepted(cloud, price, stored):
    service.restock("p", 1, "e", price=price)
    assert str(cloud.product("p")["price"]) == stored


@pytest.mark.parametrize("price", ["100000000", "100000000.00", "-0.01", "0.001", "abc", True, [], "1e400", "-inf"])
def test_price_refusal_names_the_rule(cloud, price):
    with pytest.raises(InvalidTaskInput) as info:
        service.restock("p", 1, "e", price=price)
    assert str(info.value) == f"price must be a number >= 0 with at most 2 decimal places and 10 digits, got {price!r}"
    assert cloud.items("INVENTORY_TABLE") == []


def test_the_transaction_is_guarded_and_names_both_tables(cloud, monkeypatch):
    seen = []
    client = shared_aws.dynamodb_client()
    real = client.transact_write_items

    def spy(**kwargs):
        seen.append(kwargs["TransactItems"])
        return real(**kwargs)

    monkeypatch.setattr(client, "transact_write_items", spy)
    service.restock("p", 2, "e")
    [[put, update]] = seen
    assert put["Put"]["TableName"] == "orderflow-test-idempotency"
    assert put["Put"]["ConditionExpression"] == "attribute_not_exists(id)"
    assert update["Update"]["TableName"] == "orderflow-test-inventory"


def _cancelled(*codes):
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": c} for c in codes],
        },
        "TransactWriteItems",
    )


def test_a_conflict_without_a_record_is_contention_named_by_event(cloud, monkeypatch):
    monkeypatch.setattr(
        shared_aws.dynamodb_client(),
        "transact_write_items",
        lambda **_: (_ for _ in ()).throw(_cancelled("TransactionConflict", "None")),
    )
    with pytest.raises(InventoryContention, match=r"^restock evt-7 conflicted; retry$"):
        service.restock("p", 1, "evt-7")


def test_a_condition_failure_is_a_duplicate_even_before_the_record_is_visible(cloud, monkeypatch):
    monkeypatch.setattr(
        shared_aws.dynamodb_client(),
        "transact_write_items",
        lambda **_: (_ for _ in ()).throw(_cancelled("ConditionalCheckFailed", "None")),
    )
    assert service.restock("p", 1, "evt-7") == {"status": "DUPLICATE", "available": 0}


def test_a_conflict_after_the_record_landed_is_a_duplicate(cloud, monkeypatch):
    service.restock("p", 2, "evt-7")
    monkeypatch.setattr(
        shared_aws.dynamodb_client(),
        "transact_write_items",
        lambda **_: (_ for _ in ()).throw(_cancelled("TransactionConflict", "None")),
    )
    assert service.restock("p", 2, "evt-7") == {"status": "DUPLICATE", "available": 2}


class _NumericText:
    """Not a number, but its text reads as one (as an enum member or a rendered template value may)."""

    def __str__(self) -> str:
        return "5.00"

    def __repr__(self) -> str:
        return "<numeric text>"


def test_a_price_is_taken_only_from_a_number_or_a_string_never_from_an_object_s_text(cloud):
    with pytest.raises(InvalidTaskInput) as info:
        service.restock("p", 1, "e", price=_NumericText())
    assert str(info.value) == (
        "price must be a number >= 0 with at most 2 decimal places and 10 digits, got <numeric text>"
    )
    assert cloud.items("INVENTORY_TABLE") == [] and cloud.items("IDEMPOTENCY_TABLE") == []
