"""POST /orders bad input: status, message, field; nothing written, nothing published.

Every test runs with the unit-test catalogue (conftest.CATALOGUE: prod-1 at 19.99, prod-2 at 69.99); the catalogue
side of a request (unknown product 400, price / total differing from the catalogue 409) is also in test_pricing.py."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import pytest

from order import handler
from order.validation import CREATE_ORDER_SCHEMA, HTTP_CREATE_ORDER_SCHEMA, json_path, validate_payload
from shared.errors import OrderValidationError

from .helpers import http_event, order_body, response_json

#: every order test prices from the unit-test catalogue (conftest.CATALOGUE: prod-1 19.99, prod-2 69.99)
pytestmark = pytest.mark.usefixtures("catalogue")


def _items(n: int) -> list[dict[str, Any]]:
    return [{"productId": f"p{i}", "quantity": 1, "price": 1} for i in range(n)]


def _with_item(index: int = 0, **changes: Any) -> dict[str, Any]:
    body = order_body()
    item = dict(body["items"][index])
    for key, value in changes.items():
        if value is _DROP:
            item.pop(key)
        else:
            item[key] = value
    body["items"][index] = item
    return body


def _without(key: str) -> dict[str, Any]:
    body = order_body()
    body.pop(key)
    return body


_DROP = object()

# id, event kwargs, expected status, expected field, message fragment
BAD_REQUESTS: list[tuple[str, dict[str, Any], int, str, str]] = [
    # --- transport --------------------------------------------------------------------------
    ("no-content-type", {"body": order_body(), "content_type": None}, 415, "headers.content-type", "Content-Type"),
    (
        "text-plain",
        {"body": order_body(), "content_type": "text/plain"},
        415,
        "headers.content-type",
        "application/json",
    ),
    ("xml", {"body": order_body(), "content_type": "application/xml"}, 415, "headers.content-type", "application/json"),
    (
        "json-patch",
        {"body": order_body(), "content_type": "application/json-patch+json"},
        415,
        "headers.content-type",
        "application/json",
    ),
    ("too-large", {"raw_body": json.dumps(order_body()) + " " * 33000}, 413, "$", "exceeds 32768 bytes"),
    ("not-json", {"raw_body": "customerId=c1"}, 400, "$", "not valid JSON"),
    ("empty-body", {"raw_body": ""}, 400, "$", "body is required"),
    ("whitespace-body", {"raw_body": "   "}, 400, "$", "body is required"),
    ("truncated-json", {"raw_body": '{"customerId": "c1", '}, 400, "$", "not valid JSON"),
    ("nan-literal", {"raw_body": '{"customerId":"c1","items":[],"totalAmount":NaN}'}, 400, "$", "not valid JSON"),
    ("bad-base64", {"raw_body": "%%%not-base64%%%", "claims_base64": True}, 400, "$", "not valid base64"),
    ("body-array", {"body": [order_body()]}, 400, "$", "must be object"),
    ("body-string", {"body": "order"}, 400, "$", "must be object"),
    ("body-null", {"raw_body": "null"}, 400, "$", "must be object"),
    # --- top level ------------------------------------------------------------------------------
    # (a missing customerId is fine over HTTP, the token names the customer: test_order_auth.py; the direct invoke
    #  still requires it: test_direct_invoke_requires_customer_id below)
    ("missing-items", {"body": _without("items")}, 400, "$.items", "is required"),
    # (a missing totalAmount or item price is fine: the server prices the order, test_optional_prices_* below)
    ("extra-property", {"body": order_body(coupon="FREE")}, 400, "$.coupon", "not an allowed property"),
    ("customerId-number", {"body": order_body(customerId=42)}, 400, "$.customerId", "must be string"),
    ("customerId-null", {"body": order_body(customerId=None)}, 400, "$.customerId", "must be string"),
    ("customerId-empty", {"body": order_body(customerId="")}, 400, "$.customerId", "must match pattern"),
    ("customerId-space", {"body": order_body(customerId="customer 1")}, 400, "$.customerId", "must match pattern"),
    ("customerId-too-long", {"body": order_body(customerId="c" * 65)}, 400, "$.customerId", "must match pattern"),
    ("customerId-leading-dash", {"body": order_body(customerId="-c1")}, 400, "$.customerId", "must match pattern"),
    ("customerId-newline", {"body": order_body(customerId="c1\n")}, 400, "$.customerId", "must match pattern"),
    ("customerId-unicode", {"body": order_body(customerId="kundé")}, 400, "$.customerId", "must match pattern"),
    # --- items ------------------------------------------------------------------------------------
    ("items-object", {"body": order_body(items={"productId": "p"})}, 400, "$.items", "must be array"),
    ("items-null", {"body": order_body(items=None)}, 400, "$.items", "must be array"),
    ("items-empty", {"body": order_body(items=[], totalAmount=0)}, 400, "$.items", "at least 1 items"),
    (
        "items-51",
        {"body": order_body(items=_items(51), totalAmount=51)},
        400,
        "$.items",
        "less than or equal to 50 items",
    ),
    ("item-string", {"body": order_body(items=["prod-1"], totalAmount=0)}, 400, "$.items[0]", "must be object"),
    ("item-missing-productId", {"body": _with_item(0, productId=_DROP)}, 400, "$.items[0].productId", "is required"),
    ("item-missing-quantity", {"body": _with_item(0, quantity=_DROP)}, 400, "$.items[0].quantity", "is required"),
    ("item-extra-property", {"body": _with_item(0, discount=1)}, 400, "$.items[0].discount", "not an allowed"),
    ("productId-bad-chars", {"body": _with_item(0, productId="prod/1")}, 400, "$.items[0].productId", "pattern"),
    ("productId-number", {"body": _with_item(0, productId=7)}, 400, "$.items[0].productId", "must be string"),
    ("quantity-zero", {"body": _with_item(0, quantity=0)}, 400, "$.items[0].quantity", "bigger than or equal to 1"),
    ("quantity-negative", {"body": _with_item(0, quantity=-1)}, 400, "$.items[0].quantity", "bigger than or equal"),
    (
        "quantity-1001",
        {"body": _with_item(0, quantity=1001)},
        400,
        "$.items[0].quantity",
        "smaller than or equal to 1000",
    ),
    ("quantity-fraction", {"body": _with_item(0, quantity=1.5)}, 400, "$.items[0].quantity", "must be integer"),
    (
        "quantity-float-integral",
        {"raw_body": json.dumps(order_body()).replace('"quantity": 2', '"quantity": 2.0')},
        400,
        "$.items[0].quantity",
        "must be integer",
    ),
    (
        "quantity-exponent",
        {"raw_body": json.dumps(order_body()).replace('"quantity": 2', '"quantity": 2e0')},
        400,
        "$.items[0].quantity",
        "must be integer",
    ),
    ("quantity-string", {"body": _with_item(0, quantity="2")}, 400, "$.items[0].quantity", "must be integer"),
    ("quantity-bool", {"body": _with_item(0, quantity=True)}, 400, "$.items[0].quantity", "must be integer"),
    ("price-negative", {"body": _with_item(0, price=-1)}, 400, "$.items[0].price", "bigger than or equal to 0"),
    ("price-string", {"body": _with_item(0, price="19.99")}, 400, "$.items[0].price", "must be number"),
    ("price-null", {"body": _with_item(0, price=None)}, 400, "$.items[0].price", "must be number"),
    ("price-three-decimals", {"body": _with_item(0, price=19.999)}, 400, "$.items[0].price", "2 decimal places"),
    ("price-too-large", {"body": _with_item(0, price=1_000_000.01)}, 400, "$.items[0].price", "smaller than or equal"),
    # --- totals / duplicates ----------------------------------------------------------------------
    ("total-string", {"body": order_body(totalAmount="109.97")}, 400, "$.totalAmount", "must be number"),
    ("total-negative", {"body": order_body(totalAmount=-1)}, 400, "$.totalAmount", "bigger than or equal to 0"),
    ("total-three-decimals", {"body": order_body(totalAmount=109.971)}, 400, "$.totalAmount", "2 decimal places"),
    (
        "duplicate-productId",
        {
            "body": order_body(
                items=[{"productId": "p", "quantity": 1, "price": 5}, {"productId": "p", "quantity": 2, "price": 5}],
                totalAmount=15,
            )
        },
        400,
        "$.items[1].productId",
        "duplicate productId",
    ),
    # --- the catalogue (order.pricing): every product must be in it, with a price ---------------------------------
    ("unknown-product", {"body": _with_item(0, productId="prod-9")}, 400, "$.items[0].productId", "prod-9"),
    (
        "unknown-product-price-omitted",
        {"body": _with_item(1, productId="nope-2", price=_DROP)},
        400,
        "$.items[1].productId",
        "unknown product nope-2",
    ),
    (
        "unknown-product-wrong-total",
        {"body": order_body(items=[{"productId": "ghost", "quantity": 1}], totalAmount=1)},
        400,
        "$.items[0].productId",
        "unknown product ghost",
    ),
    # --- numbers Decimal cannot hold, extreme literals, deep nesting: 400, never 500 ---------------------------------
    (
        "price-exponent-beyond-decimal",
        {"raw_body": json.dumps(order_body()).replace("19.99", "0E-99999999999999999999")},
        400,
        "$",
        "request body has a number out of range",
    ),
    (
        "total-exponent-beyond-decimal",
        {"raw_body": json.dumps(order_body()).replace("109.97", "1E+99999999999999999999")},
        400,
        "$",
        "request body has a number out of range",
    ),
    (
        "price-40-significant-digits",
        {"raw_body": json.dumps(order_body()).replace("19.99", "0.1234567890123456789012345678901234567890")},
        400,
        "$.items[0].price",
        "at most 2 decimal places",
    ),
    (
        "price-tiny-exponent",
        {"raw_body": json.dumps(order_body()).replace("19.99", "1E-1000000000")},
        400,
        "$.items[0].price",
        "at most 2 decimal places",
    ),
    (
        "price-huge-exponent",
        {"raw_body": json.dumps(order_body()).replace("19.99", "1E+1000000000")},
        400,
        "$.items[0].price",
        "smaller than or equal to 1000000",
    ),
    (
        "body-nested-990-deep",
        {"raw_body": '{"items": ' + "[" * 989 + "]" * 989 + "}"},
        400,
        "$",
        "request body is nested more than 10 levels deep",
    ),
    (
        "idempotency-key-invalid",
        {"body": order_body(), "headers": {"Idempotency-Key": "has space"}},
        400,
        "headers.idempotency-key",
        "Idempotency-Key",
    ),
    (
        "idempotency-key-too-long",
        {"body": order_body(), "headers": {"Idempotency-Key": "k" * 129}},
        400,
        "headers.idempotency-key",
        "Idempotency-Key",
    ),
]


def test_there_are_at_least_40_bad_input_cases() -> None:
    assert len(BAD_REQUESTS) >= 40


@pytest.mark.parametrize(
    ("kwargs", "status", "field", "fragment"), [pytest.param(*case[1:], id=case[0]) for case in BAD_REQUESTS]
)
def test_bad_create_request_is_rejected_without_side_effects(cloud, lambda_context, kwargs, status, field, fragment):
    kwargs = dict(kwargs)
    claims_base64 = kwargs.pop("claims_base64", False)
    event = http_event("POST", "/orders", **kwargs)
    if claims_base64:
        event["isBase64Encoded"] = True  # says base64, is not

    response = handler.lambda_handler(event, lambda_context)

    assert response["statusCode"] == status
    body = response_json(response)
    assert body["field"] == field
    assert fragment in body["message"]
    assert set(body) == {"message", "field"}
    assert cloud.items("ORDERS_TABLE") == []
    assert cloud.items("IDEMPOTENCY_TABLE") == []
    assert cloud.events() == []


def test_base64_encoded_body_is_decoded(cloud, lambda_context):
    event = http_event("POST", "/orders", order_body(), base64_body=True)
    assert event["isBase64Encoded"] is True
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 201


def test_non_utf8_body_is_rejected(cloud, lambda_context):
    event = http_event("POST", "/orders", raw_body="x")
    event["body"] = base64.b64encode(b"\xff\xfe{}").decode()
    event["isBase64Encoded"] = True
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert response_json(response)["field"] == "$"
    assert cloud.items("ORDERS_TABLE") == []


def test_content_type_with_charset_is_accepted(cloud, lambda_context):
    event = http_event("POST", "/orders", order_body(), content_type="Application/JSON; charset=utf-8")
    assert handler.lambda_handler(event, lambda_context)["statusCode"] == 201


def test_body_of_exactly_32kb_is_accepted(cloud, lambda_context):
    raw = json.dumps(order_body())
    raw = raw + " " * (32 * 1024 - len(raw.encode()))
    assert len(raw.encode()) == 32 * 1024
    assert handler.lambda_handler(http_event("POST", "/orders", raw_body=raw), lambda_context)["statusCode"] == 201


def test_boundaries_are_accepted(cloud, lambda_context):
    for i in range(50):
        cloud.put_product(f"p{i}", 1000, price="0.01" if i == 0 else "0")
    body = {
        "customerId": "C" + "x" * 63,
        "items": [
            {"productId": f"p{i}", "quantity": 1000 if i == 0 else 1, "price": 0 if i else 0.01} for i in range(50)
        ],
        "totalAmount": 10,
    }
    response = handler.lambda_handler(http_event("POST", "/orders", body, customer=body["customerId"]), lambda_context)
    assert response["statusCode"] == 201, response["body"]
    [stored] = cloud.items("ORDERS_TABLE")
    assert stored["totalAmount"] == Decimal("10.00") and len(stored["items"]) == 50


def test_optional_prices_missing_total_is_accepted(cloud, lambda_context):
    """`totalAmount` is an optional expectation now: without it the server total is stored."""
    response = handler.lambda_handler(http_event("POST", "/orders", _without("totalAmount")), lambda_context)
    assert response["statusCode"] == 201, response["body"]
    [stored] = cloud.items("ORDERS_TABLE")
    assert stored["totalAmount"] == Decimal("109.97")


def test_optional_prices_missing_item_price_is_accepted(cloud, lambda_context):
    """An item's `price` is optional too: the catalogue's (69.99) is stored for the line that leaves it out."""
    response = handler.lambda_handler(http_event("POST", "/orders", _with_item(1, price=_DROP)), lambda_context)
    assert response["statusCode"] == 201, response["body"]
    [stored] = cloud.items("ORDERS_TABLE")
    assert stored["items"][1] == {"productId": "prod-2", "quantity": Decimal(1), "price": Decimal("69.99")}
    assert stored["totalAmount"] == Decimal("109.97")


@pytest.mark.parametrize(
    ("total", "fragment"),
    [(109.96, "totalAmount is 109.97, not 109.96"), (10, "totalAmount is 109.97, not 10.00")],
    ids=["total-off-by-a-cent", "total-way-off"],
)
def test_total_that_is_not_the_catalogue_sum_is_409(cloud, lambda_context, total, fragment):
    """Formerly 400 "sum of quantity * price": the total is compared with the server's (catalogue) total now."""
    response = handler.lambda_handler(http_event("POST", "/orders", order_body(totalAmount=total)), lambda_context)
    assert response["statusCode"] == 409
    body = response_json(response)
    assert body["field"] == "$.totalAmount" and fragment in body["message"]
    assert body["totalAmount"] == 109.97
    assert body["prices"] == [{"productId": "prod-1", "price": 19.99}, {"productId": "prod-2", "price": 69.99}]
    assert cloud.items("ORDERS_TABLE") == []
    assert cloud.items("IDEMPOTENCY_TABLE") == []
    assert cloud.events() == []


def test_direct_invoke_requires_customer_id(cloud):
    """No token on the direct invoke: the payload must name the customer (rule 4 as before)."""
    with pytest.raises(OrderValidationError) as info:
        validate_payload(_without("customerId"))
    assert info.value.field == "$.customerId" and "is required" in info.value.message
    assert info.value.status_code == 400


def test_json_path_quotes_unusual_keys():
    assert json_path(["items", 0, "price"]) == "$.items[0].price"
    assert json_path(["we ird"]) == '$["we ird"]'


def test_unusual_extra_key_is_reported_with_bracket_path(cloud, lambda_context):
    response = handler.lambda_handler(http_event("POST", "/orders", order_body(**{"a b": 1})), lambda_context)
    assert response_json(response)["field"] == '$["a b"]'


def test_schema_is_strict():
    assert CREATE_ORDER_SCHEMA["additionalProperties"] is False
    assert CREATE_ORDER_SCHEMA["properties"]["items"]["items"]["additionalProperties"] is False
    # totalAmount and the items' price are optional expectations (the server prices the order)
    assert CREATE_ORDER_SCHEMA["required"] == ["customerId", "items"]
    assert CREATE_ORDER_SCHEMA["properties"]["items"]["items"]["required"] == ["productId", "quantity"]
    assert set(CREATE_ORDER_SCHEMA["properties"]["items"]["items"]["properties"]) == {"productId", "quantity", "price"}
    # over HTTP the customerId is optional too; everything else is the same schema
    assert HTTP_CREATE_ORDER_SCHEMA["required"] == ["items"]
    assert HTTP_CREATE_ORDER_SCHEMA["properties"] is CREATE_ORDER_SCHEMA["properties"]
    assert HTTP_CREATE_ORDER_SCHEMA["additionalProperties"] is False


def test_a_zero_price_with_a_huge_negative_exponent_is_zero_cents(cloud, lambda_context):
    """`0E-1000` is 0.00: compared with the catalogue (prod-1 at 19.99) like any price, so 409, not a 500."""
    raw = json.dumps(order_body()).replace("19.99", "0E-1000")
    response = handler.lambda_handler(http_event("POST", "/orders", raw_body=raw), lambda_context)
    assert response["statusCode"] == 409
    assert response_json(response) == {
        "message": "the price of prod-1 is 19.99, not 0.00",
        "field": "$.items[0].price",
        "prices": [{"productId": "prod-1", "price": 19.99}, {"productId": "prod-2", "price": 69.99}],
        "totalAmount": 109.97,
    }
    assert cloud.items("ORDERS_TABLE") == [] and cloud.events() == []


def test_a_price_with_40_significant_digits_worth_whole_cents_is_stored_as_cents(cloud, lambda_context):
    raw = json.dumps(order_body()).replace("19.99", "19.99000000000000000000000000000000000000")
    response = handler.lambda_handler(http_event("POST", "/orders", raw_body=raw), lambda_context)
    assert response["statusCode"] == 201
    [stored] = cloud.items("ORDERS_TABLE")
    assert [str(i["price"]) for i in stored["items"]] == ["19.99", "69.99"]
    assert str(stored["totalAmount"]) == "109.97"


def test_direct_invoke_of_a_deeply_nested_payload_is_a_validation_error(cloud, lambda_context):
    payload = order_body()
    node = payload["items"][0]
    for _ in range(995):  # the runtime parsed it: no JSON depth limit on this path
        node["x"] = {}
        node = node["x"]
    with pytest.raises(OrderValidationError) as info:
        handler.lambda_handler(payload, lambda_context)
    assert (info.value.message, info.value.field, info.value.status_code) == (
        "request body is nested more than 10 levels deep",
        "$",
        400,
    )
    assert cloud.items("ORDERS_TABLE") == [] and cloud.events() == []
