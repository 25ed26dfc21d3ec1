"""`invoke seed` stores the catalogue prices (shared.repositories.inventory.ensure_product), idempotently."""

from __future__ import annotations

from decimal import Decimal

import boto3

from scripts import seed
from shared.repositories.inventory import ensure_product

from .conftest import ENV


def test_seed_creates_products_with_stock_and_price(cloud):
    ddb, table = boto3.client("dynamodb"), ENV["INVENTORY_TABLE"]
    assert ensure_product(ddb, table, "prod-001", "Wireless Mouse", 1000, "29.99") == "created"
    item = cloud.product("prod-001")
    assert item["price"] == Decimal("29.99") and int(item["available"]) == 1000 and item["name"] == "Wireless Mouse"
    assert ensure_product(ddb, table, "prod-001", "Wireless Mouse", 1000, "29.99") == "unchanged"


def test_seed_prices_an_existing_product_without_price_and_keeps_an_existing_price(cloud):
    ddb, table = boto3.client("dynamodb"), ENV["INVENTORY_TABLE"]
    cloud.put_product("prod-002", 3)  # seeded before prices existed, stock consumed
    assert ensure_product(ddb, table, "prod-002", "Mechanical Keyboard", 1000, "49.99") == "topped up, priced"
    assert cloud.product("prod-002")["price"] == Decimal("49.99")

    cloud.put_product("prod-003", 600, price="35.00")  # an operator's restock changed the price
    assert ensure_product(ddb, table, "prod-003", "USB-C Hub", 500, "39.99") == "unchanged"
    assert cloud.product("prod-003")["price"] == Decimal("35.00")

    cloud.put_product("prod-004", 500)
    assert ensure_product(ddb, table, "prod-004", "27in Monitor", 200, "299.99") == "priced"


def test_every_catalogue_product_has_a_two_decimal_price():
    assert seed.catalogue_price("prod-001") == "29.99"
    for _name, price, _floor in seed.CATALOGUE.values():
        assert Decimal(price) == Decimal(price).quantize(Decimal("0.01")) and Decimal(price) > 0


def test_a_topped_up_product_keeps_its_name_and_reserved_and_gets_both_when_missing(cloud):
    """The top-up writes `name` and `reserved` only where they are missing: an item written before either existed
    (only productId and available) gets the catalogue's name and reserved 0; an item with both keeps them."""
    ddb, table = boto3.client("dynamodb"), ENV["INVENTORY_TABLE"]
    ddb.put_item(TableName=table, Item={"productId": {"S": "prod-9"}, "available": {"N": "2"}})
    assert ensure_product(ddb, table, "prod-9", "Cable", 50, "4.99") == "topped up, priced"
    item = cloud.product("prod-9")
    assert (item["name"], int(item["available"]), int(item["reserved"]), item["price"]) == (
        "Cable",
        50,
        0,
        Decimal("4.99"),
    )

    cloud.put_product("prod-8", 1, reserved=4, price="1.00")  # named after its id
    assert ensure_product(ddb, table, "prod-8", "New name", 10, "2.00") == "topped up"
    item = cloud.product("prod-8")
    assert (item["name"], int(item["available"]), int(item["reserved"]), item["price"]) == (
        "prod-8",
        10,
        4,
        Decimal("1.00"),
    )


def test_put_product_writes_the_whole_item_with_a_low_level_client(cloud):
    from shared.repositories.inventory import put_product

    put_product(boto3.client("dynamodb"), ENV["INVENTORY_TABLE"], "prod-7", 12, name="Lamp", price="15.50")
    assert cloud.product("prod-7") == {
        "productId": "prod-7",
        "name": "Lamp",
        "available": Decimal(12),
        "reserved": Decimal(0),
        "price": Decimal("15.50"),
    }
