"""Server-side prices (order.pricing, InventoryRepository.prices): the catalogue prices every line and the server
computes totalAmount; the client's price / totalAmount are optional expectations (409 when they differ), an unknown or
unpriced product is 400. Expected amounts are literals, never computed with the code under test."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from order import api, handler, pricing
from order.validation import CreateOrderItem, CreateOrderRequest, validate_payload
from shared import aws as shared_aws
from shared.errors import InventoryContention, OrderValidationError
from shared.repositories import InventoryRepository
from shared.repositories import inventory as inventory_module

from .helpers import http_event, response_json


def post(lambda_context, body, **kwargs):
    return handler.lambda_handler(http_event("POST", "/orders", body, **kwargs), lambda_context)


def assert_nothing_written(cloud):
    assert cloud.items("ORDERS_TABLE") == []
    assert cloud.items("IDEMPOTENCY_TABLE") == []
    assert cloud.events() == []


@pytest.fixture
def shop(cloud):
    """A small catalogue: a mouse at 29.99, a monitor at 299.99, a 0.10 and a 0.20 part, and one product without a
    price attribute."""
    cloud.put_product("mouse", 100, price="29.99")
    cloud.put_product("monitor", 100, price="299.99")
    cloud.put_product("part-a", 100, price="0.10")
    cloud.put_product("part-b", 100, price="0.20")
    cloud.put_product("unpriced", 100)
    return cloud


# ---------------------------------------------------------------------------------------------
# prices omitted: the catalogue's are stored and published
# ---------------------------------------------------------------------------------------------
def test_prices_omitted_the_catalogue_prices_are_stored_and_published(shop, lambda_context):
    response = post(lambda_context, {"items": [{"productId": "mouse", "quantity": 2}]})

    assert response["statusCode"] == 201, response["body"]
    order_id = response_json(response)["orderId"]
    [stored] = shop.items("ORDERS_TABLE")
    assert stored["orderId"] == order_id
    assert stored["items"] == [{"productId": "mouse", "quantity": Decimal(2), "price": Decimal("29.99")}]
    assert stored["totalAmount"] == Decimal("59.98")
    [event] = shop.events("Order Created")
    assert event["detail"]["items"] == [{"productId": "mouse", "quantity": 2, "price": "29.99"}]
    assert event["detail"]["totalAmount"] == "59.98"


def test_the_server_total_is_exact_to_the_cent(shop, lambda_context):
    """3 x 0.10 + 1 x 0.20 is 0.50 exactly (binary floats would make it 0.5000000000000001)."""
    body = {"items": [{"productId": "part-a", "quantity": 3}, {"productId": "part-b", "quantity": 1}]}
    assert post(lambda_context, body)["statusCode"] == 201
    [stored] = shop.items("ORDERS_TABLE")
    assert stored["totalAmount"] == Decimal("0.50")
    assert [i["price"] for i in stored["items"]] == [Decimal("0.10"), Decimal("0.20")]
    assert shop.events("Order Created")[0]["detail"]["totalAmount"] == "0.50"


@pytest.mark.parametrize(
    "body",
    [
        {
            "items": [
                {"productId": "mouse", "quantity": 2, "price": 29.99},
                {"productId": "monitor", "quantity": 1, "price": 299.99},
            ],
            "totalAmount": 359.97,
        },
        {"items": [{"productId": "mouse", "quantity": 2, "price": 29.99}, {"productId": "monitor", "quantity": 1}]},
        {
            "items": [{"productId": "mouse", "quantity": 2}, {"productId": "monitor", "quantity": 1}],
            "totalAmount": 359.97,
        },
        # As the client sent it: a Python float would drop the trailing zeros before the handler sees them.
        (
            '{"items": [{"productId": "mouse", "quantity": 2, "price": 29.990}, '
            '{"productId": "monitor", "quantity": 1, "price": 299.99}], "totalAmount": 359.970}'
        ),
    ],
    ids=["all-given", "total-omitted", "prices-omitted", "trailing-zeros"],
)
def test_matching_expectations_are_accepted(shop, lambda_context, body):
    response = post(lambda_context, None, raw_body=body) if isinstance(body, str) else post(lambda_context, body)
    assert response["statusCode"] == 201, response["body"]
    [stored] = shop.items("ORDERS_TABLE")
    assert [(i["productId"], i["price"]) for i in stored["items"]] == [
        ("mouse", Decimal("29.99")),
        ("monitor", Decimal("299.99")),
    ]
    assert stored["totalAmount"] == Decimal("359.97")
    [event] = shop.events("Order Created")
    assert event["detail"]["totalAmount"] == "359.97"
    assert [i["price"] for i in event["detail"]["items"]] == ["29.99", "299.99"]


# ---------------------------------------------------------------------------------------------
# 409: an expectation differs from the catalogue
# ---------------------------------------------------------------------------------------------
def test_the_zero_price_order_of_the_issue_is_409_with_the_current_prices(shop, lambda_context):
    """POST /orders {"items":[{..."quantity":5,"price":0}],"totalAmount":0} used to be charged 0."""
    response = post(lambda_context, {"items": [{"productId": "monitor", "quantity": 5, "price": 0}], "totalAmount": 0})

    assert response["statusCode"] == 409
    assert response["headers"]["Content-Type"] == "application/json"
    assert response_json(response) == {
        "message": "the price of monitor is 299.99, not 0.00",
        "field": "$.items[0].price",
        "prices": [{"productId": "monitor", "price": 299.99}],
        "totalAmount": 1499.95,
    }
    assert_nothing_written(shop)


def test_a_mismatched_line_price_is_409_naming_the_first_wrong_line(shop, lambda_context, capsys):
    body = {
        "items": [
            {"productId": "mouse", "quantity": 1, "price": 29.99},
            {"productId": "part-a", "quantity": 2, "price": 0.09},
            {"productId": "monitor", "quantity": 1, "price": 1},
        ]
    }

    response = post(lambda_context, body)

    assert response["statusCode"] == 409
    payload = response_json(response)
    assert payload["field"] == "$.items[1].price"
    assert "part-a" in payload["message"] and "0.10" in payload["message"]
    assert payload["prices"] == [
        {"productId": "mouse", "price": 29.99},
        {"productId": "part-a", "price": 0.1},
        {"productId": "monitor", "price": 299.99},
    ]
    assert payload["totalAmount"] == 330.18
    assert_nothing_written(shop)
    assert '"OrdersRejected":[1.0]' in capsys.readouterr().out


def test_a_mismatched_total_is_409(shop, lambda_context):
    response = post(lambda_context, {"items": [{"productId": "mouse", "quantity": 2}], "totalAmount": 59.97})

    assert response["statusCode"] == 409
    assert response_json(response) == {
        "message": "totalAmount is 59.98, not 59.97",
        "field": "$.totalAmount",
        "prices": [{"productId": "mouse", "price": 29.99}],
        "totalAmount": 59.98,
    }
    assert_nothing_written(shop)


def test_the_line_price_answers_before_the_total(shop, lambda_context):
    body = {"items": [{"productId": "mouse", "quantity": 2, "price": 25.00}], "totalAmount": 50.00}
    response = post(lambda_context, body)
    assert response["statusCode"] == 409 and response_json(response)["field"] == "$.items[0].price"
    assert_nothing_written(shop)


# ---------------------------------------------------------------------------------------------
# 400: unknown product, product without a price
# ---------------------------------------------------------------------------------------------
def test_an_unknown_product_is_400_naming_it(shop, lambda_context):
    body = {"items": [{"productId": "mouse", "quantity": 1}, {"productId": "prod-missing", "quantity": 1}]}
    response = post(lambda_context, body)
    assert response["statusCode"] == 400
    assert response_json(response) == {"message": "unknown product prod-missing", "field": "$.items[1].productId"}
    assert_nothing_written(shop)


def test_a_product_without_a_price_is_400_naming_it(shop, lambda_context):
    response = post(lambda_context, {"items": [{"productId": "unpriced", "quantity": 1, "price": 1.00}]})
    assert response["statusCode"] == 400
    assert response_json(response) == {"message": "product unpriced has no price", "field": "$.items[0].productId"}
    assert_nothing_written(shop)


def test_unknown_products_answer_before_price_mismatches(shop, lambda_context):
    body = {"items": [{"productId": "mouse", "quantity": 1, "price": 1}, {"productId": "ghost", "quantity": 1}]}
    response = post(lambda_context, body)
    assert response["statusCode"] == 400 and response_json(response)["field"] == "$.items[1].productId"


@pytest.mark.parametrize("stored", [Decimal(-1), Decimal("1.005"), "19.99"], ids=["negative", "3-decimals", "string"])
def test_an_unusable_catalogue_price_counts_as_no_price(cloud, lambda_context, stored):
    cloud.table("INVENTORY_TABLE").put_item(Item={"productId": "odd", "available": 5, "reserved": 0, "price": stored})
    response = post(lambda_context, {"items": [{"productId": "odd", "quantity": 1}]})
    assert response["statusCode"] == 400
    assert response_json(response) == {"message": "product odd has no price", "field": "$.items[0].productId"}
    assert_nothing_written(cloud)


def test_a_server_total_above_the_maximum_is_400(cloud, lambda_context):
    cloud.put_product("yacht", 10, price="99999999.99")  # a valid catalogue price (10 digits); 2 exceed 100,000,000
    response = post(lambda_context, {"items": [{"productId": "yacht", "quantity": 2}]})
    assert response["statusCode"] == 400
    assert response_json(response) == {
        "message": "the order's total 199999999.98 exceeds 100000000",
        "field": "$.items",
    }
    assert post(lambda_context, {"items": [{"productId": "yacht", "quantity": 1}]})["statusCode"] == 201


def test_apply_catalogue_is_pure():
    request = CreateOrderRequest("c1", (CreateOrderItem("a", 3, None), CreateOrderItem("b", 1, Decimal("2.50"))))
    priced = pricing.apply_catalogue(request, {"a": Decimal("1.1"), "b": Decimal("2.5"), "other": None})
    assert priced == pricing.PricedOrder(
        "c1",
        (pricing.PricedItem("a", 3, Decimal("1.10")), pricing.PricedItem("b", 1, Decimal("2.50"))),
        Decimal("5.80"),
    )
    with pytest.raises(OrderValidationError) as info:
        pricing.apply_catalogue(request, {"a": Decimal("1E+30"), "b": Decimal("2.50")})
    assert info.value.status_code == 400 and info.value.field == "$.items"
    with pytest.raises(OrderValidationError) as info:
        pricing.apply_catalogue(request, {"a": Decimal("NaN"), "b": Decimal("2.50")})
    assert info.value.message == "product a has no price"


# ---------------------------------------------------------------------------------------------
# direct invoke (seed): the same rules, OrderValidationError with status_code
# ---------------------------------------------------------------------------------------------
def test_direct_invoke_prices_from_the_catalogue(shop, lambda_context):
    result = handler.lambda_handler(
        {"customerId": "customer-9", "items": [{"productId": "mouse", "quantity": 2}]}, lambda_context
    )
    assert result["status"] == "PENDING"
    [stored] = shop.items("ORDERS_TABLE")
    assert stored["orderId"] == result["orderId"] and stored["totalAmount"] == Decimal("59.98")
    assert stored["items"][0]["price"] == Decimal("29.99")
    assert shop.events("Order Created")[0]["detail"]["totalAmount"] == "59.98"


def test_direct_invoke_with_a_wrong_price_raises_409(shop, lambda_context):
    payload = {
        "customerId": "customer-9",
        "items": [{"productId": "mouse", "quantity": 1, "price": 99.99}],
        "totalAmount": 99.99,
    }
    with pytest.raises(OrderValidationError) as info:
        handler.lambda_handler(payload, lambda_context)
    assert info.value.status_code == 409 and info.value.field == "$.items[0].price"
    assert info.value.details == {
        "prices": [{"productId": "mouse", "price": Decimal("29.99")}],
        "totalAmount": Decimal("29.99"),
    }
    assert "29.99" in str(info.value)
    assert_nothing_written(shop)


def test_direct_invoke_with_an_unknown_product_raises_400(shop, lambda_context):
    with pytest.raises(OrderValidationError) as info:
        handler.lambda_handler(
            {"customerId": "customer-9", "items": [{"productId": "nope", "quantity": 1}]}, lambda_context
        )
    assert info.value.status_code == 400 and info.value.field == "$.items[0].productId"
    assert "nope" in info.value.message
    assert_nothing_written(shop)


# ---------------------------------------------------------------------------------------------
# idempotency: the unit is still the request body
# ---------------------------------------------------------------------------------------------
def test_idempotent_repeat_returns_the_first_response_even_after_a_price_change(shop, lambda_context):
    headers = {"Idempotency-Key": "price-key"}
    body = {"items": [{"productId": "mouse", "quantity": 2}]}
    first = post(lambda_context, body, headers=headers)
    shop.put_product("mouse", 100, price="31.00")

    second = post(lambda_context, body, headers=headers)

    assert first["statusCode"] == second["statusCode"] == 201
    assert response_json(first) == response_json(second)
    [stored] = shop.items("ORDERS_TABLE")
    assert stored["totalAmount"] == Decimal("59.98")
    assert len(shop.events("Order Created")) == 1


def test_a_body_with_prices_is_another_body_than_one_without(shop, lambda_context):
    headers = {"Idempotency-Key": "k-1"}
    assert (
        post(lambda_context, {"items": [{"productId": "mouse", "quantity": 2}]}, headers=headers)["statusCode"] == 201
    )
    response = post(lambda_context, {"items": [{"productId": "mouse", "quantity": 2, "price": 29.99}]}, headers=headers)
    assert response["statusCode"] == 409
    assert response_json(response)["field"] == "headers.idempotency-key"
    assert len(shop.items("ORDERS_TABLE")) == 1


def test_a_409_keeps_no_idempotency_record_and_the_key_can_be_reused(shop, lambda_context):
    headers = {"Idempotency-Key": "fix-the-price"}
    wrong = {"items": [{"productId": "mouse", "quantity": 1, "price": 20.00}]}
    assert post(lambda_context, wrong, headers=headers)["statusCode"] == 409
    assert_nothing_written(shop)

    right = {"items": [{"productId": "mouse", "quantity": 1, "price": 29.99}]}
    assert post(lambda_context, right, headers=headers)["statusCode"] == 201
    assert [o["totalAmount"] for o in shop.items("ORDERS_TABLE")] == [Decimal("29.99")]


def test_canonical_body_keeps_omitted_amounts_omitted():
    without = validate_payload({"customerId": "c", "items": [{"productId": "p", "quantity": 1}]})
    assert without.canonical == '{"customerId":"c","items":[{"productId":"p","quantity":1}]}'
    with_all = validate_payload(
        {"customerId": "c", "items": [{"productId": "p", "quantity": 1, "price": 1.5}], "totalAmount": 1.5}
    )
    assert with_all.canonical == (
        '{"customerId":"c","items":[{"price":"1.50","productId":"p","quantity":1}],"totalAmount":"1.50"}'
    )


# ---------------------------------------------------------------------------------------------
# the catalogue read (InventoryRepository.prices)
# ---------------------------------------------------------------------------------------------
def test_prices_reads_known_products_consistently(shop, monkeypatch):
    resource = shared_aws.dynamodb_resource()
    real = resource.batch_get_item
    requests = []

    def spy(**kwargs):
        requests.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(resource, "batch_get_item", spy)

    prices = InventoryRepository().prices(["mouse", "unpriced", "ghost", "mouse"])

    assert prices == {"mouse": Decimal("29.99"), "unpriced": None}  # unknown products are absent
    [request] = requests
    [(_table, spec)] = request["RequestItems"].items()
    assert spec["ConsistentRead"] is True
    assert spec["Keys"] == [{"productId": "mouse"}, {"productId": "unpriced"}, {"productId": "ghost"}]


def test_prices_splits_into_batches_of_100(cloud):
    for i in range(130):
        cloud.put_product(f"bulk-{i}", 1, price=f"{i}.00")
    prices = InventoryRepository().prices(f"bulk-{i}" for i in range(130))
    assert len(prices) == 130 and prices["bulk-129"] == Decimal(129)


def test_prices_requests_unprocessed_keys_again(shop, monkeypatch):
    resource = shared_aws.dynamodb_resource()
    real = resource.batch_get_item
    calls = []
    sleeps = []
    monkeypatch.setattr(inventory_module.time, "sleep", sleeps.append)

    def throttled(RequestItems):
        calls.append(RequestItems)
        if len(calls) == 1:  # DynamoDB answers one key and leaves the other unprocessed
            [(table, spec)] = RequestItems.items()
            first = real(RequestItems={table: {**spec, "Keys": spec["Keys"][:1]}})
            return {**first, "UnprocessedKeys": {table: {**spec, "Keys": spec["Keys"][1:]}}}
        return real(RequestItems=RequestItems)

    monkeypatch.setattr(resource, "batch_get_item", throttled)

    assert InventoryRepository().prices(["mouse", "monitor"]) == {
        "mouse": Decimal("29.99"),
        "monitor": Decimal("299.99"),
    }
    assert len(calls) == 2 and sleeps == [0.05]
    assert [k["productId"] for k in next(iter(calls[1].values()))["Keys"]] == ["monitor"]


def test_prices_gives_up_with_a_retryable_error_and_the_api_answers_503(shop, lambda_context, monkeypatch):
    resource = shared_aws.dynamodb_resource()
    sleeps = []
    monkeypatch.setattr(inventory_module.time, "sleep", sleeps.append)
    monkeypatch.setattr(
        resource, "batch_get_item", lambda RequestItems: {"Responses": {}, "UnprocessedKeys": RequestItems}
    )
    with pytest.raises(InventoryContention, match=r"^catalogue read left unprocessed keys; retry$"):
        InventoryRepository().prices(["mouse"])
    assert sleeps == [0.05, 0.1, 0.2, 0.4]

    response = post(lambda_context, {"items": [{"productId": "mouse", "quantity": 1}]})
    assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "1"
    assert_nothing_written(shop)


def test_the_api_error_body_carries_details_only_when_there_are_some():
    assert json.loads(api.error_response(400, "bad", "$").body) == {"message": "bad", "field": "$"}
    assert json.loads(api.error_response(409, "x", "$.totalAmount", details={"totalAmount": Decimal("1.50")}).body) == {
        "message": "x",
        "field": "$.totalAmount",
        "totalAmount": 1.5,
    }
