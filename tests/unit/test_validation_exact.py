"""Create-order request validation, exact: each refusal's message, field and status, and the boundaries (body
size, Idempotency-Key length, media type). Expected values are literals."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest

from order import validation
from shared.errors import OrderValidationError


def refused(fn, *args) -> tuple[str, str | None, int]:
    with pytest.raises(OrderValidationError) as info:
        fn(*args)
    return info.value.message, info.value.field, info.value.status_code


def test_headers_are_found_case_insensitively_and_only_as_strings():
    assert validation.header({"Content-TYPE": "a"}, "content-type") == "a"
    assert validation.header({"content-type": 5}, "Content-Type") is None
    assert validation.header({}, "x") is None and validation.header(None, "x") is None


@pytest.mark.parametrize("value", ["application/json", "Application/JSON; charset=utf-8", " application/json ;x=y"])
def test_json_media_types_are_accepted(value):
    validation.check_content_type({"content-type": value})


@pytest.mark.parametrize("headers", [{"content-type": "application/jsonx"}, {"content-type": "text/plain"}, {}])
def test_other_media_types_are_415(headers):
    assert refused(validation.check_content_type, headers) == (
        "Content-Type must be application/json", "headers.content-type", 415)


def test_body_decoding():
    assert validation.decode_body(None, False) == b""
    assert validation.decode_body(base64.b64encode(b'{"a":1}').decode(), True) == b'{"a":1}'
    assert validation.decode_body("é", False) == "é".encode()
    assert refused(validation.decode_body, "not base64!", True) == ("request body is not valid base64", "$", 400)


def test_the_body_size_bound_is_32_kib():
    at_limit = b'{"a":"' + b"x" * (32 * 1024 - 8) + b'"}'
    assert len(at_limit) == 32 * 1024
    assert validation.parse_json(at_limit) == {"a": "x" * (32 * 1024 - 8)}
    assert refused(validation.parse_json, at_limit + b" ") == ("request body exceeds 32768 bytes", "$", 413)


@pytest.mark.parametrize("raw", [b"", b"  \n"])
def test_an_empty_body_is_required(raw):
    assert refused(validation.parse_json, raw) == ("request body is required", "$", 400)


def test_json_numbers_parse_as_decimals():
    assert validation.parse_json(b'{"p": 19.99, "q": 2}') == {"p": Decimal("19.99"), "q": 2}


def test_json_paths():
    assert validation.json_path([]) == "$"
    assert validation.json_path(["items", 0, "price"]) == "$.items[0].price"
    assert validation.json_path(["a b", "_x1", "1x"]) == '$["a b"]._x1["1x"]'


@pytest.mark.parametrize("key", ["a", "A" + "b" * 127, "9.x:y-z_"])
def test_idempotency_keys_accepted(key):
    assert validation.idempotency_key({"Idempotency-Key": key}) == key


@pytest.mark.parametrize("key", ["", "a" * 129, "-a", "a b", "ä"])
def test_idempotency_keys_refused(key):
    assert refused(validation.idempotency_key, {"idempotency-key": key}) == (
        "Idempotency-Key must be 1-128 characters [A-Za-z0-9_.:-], starting with a letter or digit",
        "headers.idempotency-key", 400)


def test_no_idempotency_key_is_none():
    assert validation.idempotency_key({"x": "y"}) is None


@pytest.mark.parametrize(("payload", "expected"), [
    ({"customerId": "c", "items": [{"productId": "p", "quantity": 1, "price": 1.5}]},
     ("c", (validation.CreateOrderItem("p", 1, Decimal("1.50")),), None)),
    ({"customerId": "c", "items": [{"productId": "p", "quantity": 3}], "totalAmount": 7},
     ("c", (validation.CreateOrderItem("p", 3, None),), Decimal("7.00"))),
])
def test_a_valid_payload_is_normalized(payload, expected):
    request = validation.validate_payload(payload)
    assert (request.customer_id, request.items, request.total_amount) == expected
    # amounts keep two decimals (Decimal("7") == Decimal("7.00"), so compare the text too)
    assert [str(i.price) for i in request.items] == [str(i.price) for i in expected[1]]
    assert str(request.total_amount) == str(expected[2])


@pytest.mark.parametrize(("payload", "message", "field"), [
    ({"customerId": "c", "items": [{"productId": "p", "quantity": 1, "price": 1.555}]},
     "price must have at most 2 decimal places", "$.items[0].price"),
    ({"customerId": "c", "items": [{"productId": "p", "quantity": 1}], "totalAmount": 1.001},
     "totalAmount must have at most 2 decimal places", "$.totalAmount"),
    ({"customerId": "c", "items": [{"productId": "p", "quantity": 1}, {"productId": "p", "quantity": 2}]},
     "duplicate productId 'p'", "$.items[1].productId"),
])
def test_form_rules_name_the_field(payload, message, field):
    assert refused(validation.validate_payload, payload) == (message, field, 400)


def test_a_body_for_another_customer_is_403():
    assert refused(validation.validate_payload, {"customerId": "other", "items": [{"productId": "p", "quantity": 1}]},
                   "me") == ("customerId does not match the authenticated customer", "$.customerId", 403)
    request = validation.validate_payload({"items": [{"productId": "p", "quantity": 1}]}, "me")
    assert request.customer_id == "me"


def test_the_extra_property_named_is_the_one_not_allowed():
    payload = {"customerId": "c", "items": [{"productId": "p", "quantity": 1}], "zzz": 1}
    assert refused(validation.validate_payload, payload) == ("$.zzz is not an allowed property", "$.zzz", 400)
    nested = {"customerId": "c", "items": [{"productId": "p", "quantity": 1, "zz": 2}]}
    assert refused(validation.validate_payload, nested) == ("$.items[0].zz is not an allowed property",
                                                            "$.items[0].zz", 400)
