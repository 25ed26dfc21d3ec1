"""Restock with an optional catalogue price: the `restock` action or an `Inventory Restocked` event may set the product's
`price` (>= 0, at most 2 decimal places, at most 10 digits) in the same idempotent transaction as the stock."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory import handler, service
from order import handler as order_handler
from shared.errors import InvalidTaskInput

from .helpers import http_event, response_json


def test_restock_action_sets_the_price(cloud, lambda_context):
    cloud.put_product("lamp", 2, price="10.00")
    event = {"action": "restock", "productId": "lamp", "quantity": 3, "eventId": "r-1", "price": 12.5}

    assert handler.lambda_handler(event, lambda_context) == {"status": "RESTOCKED", "available": 5}

    item = cloud.product("lamp")
    assert item["price"] == Decimal("12.50") and int(item["available"]) == 5
    [marker] = cloud.items("IDEMPOTENCY_TABLE")
    assert marker["price"] == Decimal("12.50")


def test_restock_event_sets_the_price_of_a_new_product_and_orders_use_it(cloud, lambda_context):
    event = {
        "id": "env-1",
        "source": "inventory.admin",
        "detail-type": "Inventory Restocked",
        "detail": {"eventId": "evt-p", "productId": "kettle", "quantity": 4, "price": "24.90"},
    }
    assert handler.lambda_handler(event, lambda_context) == {"status": "RESTOCKED", "available": 4}
    assert cloud.product("kettle")["price"] == Decimal("24.90")

    response = order_handler.lambda_handler(
        http_event("POST", "/orders", {"items": [{"productId": "kettle", "quantity": 2}]}), lambda_context
    )
    assert response["statusCode"] == 201, response["body"]
    [order] = cloud.items("ORDERS_TABLE")
    assert order["totalAmount"] == Decimal("49.80")


def test_a_duplicate_restock_changes_neither_stock_nor_price(cloud, lambda_context):
    cloud.put_product("lamp", 0, price="10.00")
    first = {"action": "restock", "productId": "lamp", "quantity": 1, "eventId": "r-2", "price": "11.00"}
    assert handler.lambda_handler(first, lambda_context)["status"] == "RESTOCKED"
    replay = dict(first, price="99.00")
    assert handler.lambda_handler(replay, lambda_context) == {"status": "DUPLICATE", "available": 1}
    assert cloud.product("lamp")["price"] == Decimal("11.00")


def test_a_restock_without_price_keeps_the_price(cloud, lambda_context):
    cloud.put_product("lamp", 1, price="10.00")
    event = {"action": "restock", "productId": "lamp", "quantity": 1, "eventId": "r-3"}
    assert handler.lambda_handler(event, lambda_context)["status"] == "RESTOCKED"
    assert cloud.product("lamp")["price"] == Decimal("10.00")
    assert "price" not in cloud.items("IDEMPOTENCY_TABLE")[0]


def test_a_restocked_price_answers_the_next_409(cloud, lambda_context):
    cloud.put_product("lamp", 5, price="10.00")
    service.restock("lamp", 1, "r-4", price="8.00")
    response = order_handler.lambda_handler(
        http_event("POST", "/orders", {"items": [{"productId": "lamp", "quantity": 1, "price": 10.00}]}), lambda_context
    )
    assert response["statusCode"] == 409
    assert response_json(response)["prices"] == [{"productId": "lamp", "price": 8}]


@pytest.mark.parametrize(
    ("price", "stored"),
    [
        (0, "0.00"),
        ("0", "0.00"),
        (Decimal("-0"), "0.00"),
        (19.9, "19.90"),
        ("19.990", "19.99"),
        (" 7.5 ", "7.50"),
        ("99999999.99", "99999999.99"),
    ],
)
def test_restock_accepts_valid_prices(cloud, price, stored):
    assert service.restock("lamp", 1, f"ok-{price!r}", price=price)["status"] == "RESTOCKED"
    assert str(cloud.product("lamp")["price"].quantize(Decimal("0.01"))) == stored


@pytest.mark.parametrize(
    "price",
    [-1, "-0.01", 1.999, "19.999", "100000000", 100000000.00, "1e10", "nan", "inf", "abc", "", True, [1], {"v": 1}],
)
def test_restock_rejects_bad_prices(cloud, price):
    with pytest.raises(InvalidTaskInput) as info:
        service.restock("lamp", 1, "bad-price", price=price)
    assert "price" in str(info.value)
    assert cloud.items("INVENTORY_TABLE") == [] and cloud.items("IDEMPOTENCY_TABLE") == []
