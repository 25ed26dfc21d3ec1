"""The inventory and reservations repositories on their own: the once-only guard of a reservation, the stock read
of product items that lack attributes, and the catalogue read's answer for unusable prices and for an answer
without a Responses block. Expected values are literals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from shared import aws as shared_aws
from shared.repositories import InventoryRepository, ReservationsRepository
from shared.repositories import inventory as inventory_module

ORDER_ID = "3e2f1a0b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"
FIRST = {
    "orderId": ORDER_ID,
    "customerId": "customer-1",
    "status": "RESERVED",
    "items": [{"productId": "prod-1", "quantity": 2}],
    "createdAt": "2026-12-04T10:00:00.000Z",
}


def test_a_second_reservation_of_the_same_order_is_refused_and_the_first_is_kept(cloud):
    # the guard is what makes "reserve" happen once per order: a second put must never overwrite the first
    client = shared_aws.dynamodb_client()
    repository = ReservationsRepository()
    client.transact_write_items(TransactItems=[repository.put_new(FIRST)])
    second = dict(
        FIRST,
        customerId="customer-2",
        items=[{"productId": "prod-2", "quantity": 9}],
        createdAt="2026-12-04T11:00:00.000Z",
    )
    with pytest.raises(ClientError) as info:
        client.transact_write_items(TransactItems=[repository.put_new(second)])
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in info.value.response["CancellationReasons"]] == ["ConditionalCheckFailed"]
    assert cloud.items("RESERVATIONS_TABLE") == [FIRST]


def test_a_reservation_of_another_order_is_not_refused(cloud):
    client = shared_aws.dynamodb_client()
    repository = ReservationsRepository()
    other = dict(FIRST, orderId="4e2f1a0b-5c6d-4e7f-8a9b-0c1d2e3f4a5b")
    client.transact_write_items(TransactItems=[repository.put_new(FIRST)])
    client.transact_write_items(TransactItems=[repository.put_new(other)])
    assert sorted(r["orderId"] for r in cloud.items("RESERVATIONS_TABLE")) == [ORDER_ID, other["orderId"]]


def test_available_reads_zero_for_an_item_without_available_and_for_an_unknown_product(cloud):
    cloud.table("INVENTORY_TABLE").put_item(Item={"productId": "bare", "name": "bare", "reserved": 0})
    cloud.put_product("stocked", 7)
    assert InventoryRepository().available(["bare", "stocked", "ghost"]) == {"bare": 0, "stocked": 7, "ghost": 0}


@pytest.mark.parametrize("stored", ["19.99", True, [Decimal(1)]], ids=["string", "bool", "list"])
def test_prices_answers_none_for_a_price_attribute_that_is_not_a_number(cloud, stored):
    cloud.table("INVENTORY_TABLE").put_item(Item={"productId": "odd", "available": 5, "reserved": 0, "price": stored})
    cloud.put_product("priced", 5, price="19.99")
    assert InventoryRepository().prices(["odd", "priced"]) == {"odd": None, "priced": Decimal("19.99")}


def test_prices_survives_an_answer_without_responses_and_asks_again(cloud, monkeypatch):
    # a fully throttled BatchGetItem may carry only UnprocessedKeys
    cloud.put_product("priced", 5, price="19.99")
    resource = shared_aws.dynamodb_resource()
    real = resource.batch_get_item
    calls, sleeps = [], []
    monkeypatch.setattr(inventory_module.time, "sleep", sleeps.append)

    def throttled_once(RequestItems):
        calls.append(RequestItems)
        if len(calls) == 1:
            return {"UnprocessedKeys": RequestItems}
        return real(RequestItems=RequestItems)

    monkeypatch.setattr(resource, "batch_get_item", throttled_once)
    assert InventoryRepository().prices(["priced"]) == {"priced": Decimal("19.99")}
    assert len(calls) == 2 and sleeps == [0.05]
