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
        "Content-Type must be application/json",
        "headers.content-type",
        415,
    )


def test_body_decoding():
    assert validation.decode_body(None, False) == b""
    assert validation.decode_body(base64.b64encode(b'{"a":1}').decode(), True) == b'{"a":1}'
    assert validation.decode_body("é", False) == "é".encode()
    assert refused(validation.decode_body, "not base64!", True) == ("request body is not valid base64", "$", 400)
    # a lone surrogate in the event's body string (a hand-made event): 400, not the 500 of a UnicodeEncodeError
    assert refused(validation.decode_body, '{"items": "\ud800"}', False) == (
        "request body is not valid UTF-8",
        "$",
        400,
    )


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
        "headers.idempotency-key",
        400,
    )


def test_no_idempotency_key_is_none():
    assert validation.idempotency_key({"x": "y"}) is None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"customerId": "c", "items": [{"productId": "p", "quantity": 1, "price": 1.5}]},
            ("c", (validation.CreateOrderItem("p", 1, Decimal("1.50")),), None),
        ),
        (
            {"customerId": "c", "items": [{"productId": "p", "quantity": 3}], "totalAmount": 7},
            ("c", (validation.CreateOrderItem("p", 3, None),), Decimal("7.00")),
        ),
    ],
)
def test_a_valid_payload_is_normalized(payload, expected):
    request = validation.validate_payload(payload)
    assert (request.customer_id, request.items, request.total_amount) == expected
    # amounts keep two decimals (Decimal("7") == Decimal("7.00"), so compare the text too)
    assert [str(i.price) for i in request.items] == [str(i.price) for i in expected[1]]
    assert str(request.total_amount) == str(expected[2])


@pytest.mark.parametrize(
    ("payload", "message", "field"),
    [
        (
            {"customerId": "c", "items": [{"productId": "p", "quantity": 1, "price": 1.555}]},
            "price must have at most 2 decimal places",
            "$.items[0].price",
        ),
        (
            {"customerId": "c", "items": [{"productId": "p", "quantity": 1}], "totalAmount": 1.001},
            "totalAmount must have at most 2 decimal places",
            "$.totalAmount",
        ),
        (
            {"customerId": "c", "items": [{"productId": "p", "quantity": 1}, {"productId": "p", "quantity": 2}]},
            "duplicate productId 'p'",
            "$.items[1].productId",
        ),
    ],
)
def test_form_rules_name_the_field(payload, message, field):
    assert refused(validation.validate_payload, payload) == (message, field, 400)


def test_a_body_for_another_customer_is_403():
    assert refused(
        validation.validate_payload, {"customerId": "other", "items": [{"productId": "p", "quantity": 1}]}, "me"
    ) == ("customerId does not match the authenticated customer", "$.customerId", 403)
    request = validation.validate_payload({"items": [{"productId": "p", "quantity": 1}]}, "me")
    assert request.customer_id == "me"


def test_the_extra_property_named_is_the_one_not_allowed():
    payload = {"customerId": "c", "items": [{"productId": "p", "quantity": 1}], "zzz": 1}
    assert refused(validation.validate_payload, payload) == ("$.zzz is not an allowed property", "$.zzz", 400)
    nested = {"customerId": "c", "items": [{"productId": "p", "quantity": 1, "zz": 2}]}
    assert refused(validation.validate_payload, nested) == (
        "$.items[0].zz is not an allowed property",
        "$.items[0].zz",
        400,
    )


# ---------------------------------------------------------------------------------------------
# numbers Decimal cannot hold, and nesting: 400, never the 500 of an InvalidOperation or a RecursionError
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "literal",
    ["0E-99999999999999999999", "1E+99999999999999999999", "-1e1000000000000000000", "1.5e-10000000000000000000"],
)
def test_a_number_beyond_what_decimal_holds_is_400(literal):
    raw = f'{{"items": [{{"productId": "p", "quantity": 1, "price": {literal}}}]}}'.encode()
    assert refused(validation.parse_json, raw) == ("request body has a number out of range", "$", 400)


@pytest.mark.parametrize(
    ("literal", "parsed"),
    [("0E-1000", "0E-1000"), ("1E+999999999999999999", "1E+999999999999999999"), ("19.990", "19.990"), ("1e2", "1E+2")],
)
def test_numbers_decimal_holds_parse_exactly(literal, parsed):
    assert str(validation.parse_json(f'{{"n": {literal}}}'.encode())["n"]) == parsed


def _payload(price=None, total=None, items=None):
    item = {"productId": "p", "quantity": 1}
    if price is not None:
        item["price"] = validation.parse_json(price.encode())
    payload = {"customerId": "c", "items": items if items is not None else [item]}
    if total is not None:
        payload["totalAmount"] = validation.parse_json(total.encode())
    return payload


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("0.1234567890123456789012345678901234567890", "price must have at most 2 decimal places"),  # 40 digits
        ("19.9900000000000000000000000000000000001", "price must have at most 2 decimal places"),
        ("1E-1000000000", "price must have at most 2 decimal places"),
        ("1E+1000000000", "$.items[0].price must be smaller than or equal to 1000000"),
        ("1000000.0000000000000000000000000000001", "$.items[0].price must be smaller than or equal to 1000000"),
        ("-0E-1000", None),
    ],
)
def test_extreme_prices_are_refused_or_quantized(price, message):
    if message is None:
        assert str(validation.validate_payload(_payload(price=price)).items[0].price) == "0.00"
    else:
        assert refused(validation.validate_payload, _payload(price=price)) == (message, "$.items[0].price", 400)


@pytest.mark.parametrize(
    ("price", "stored"),
    [
        ("19.990000000000000000000000000000000000000", "19.99"),  # 41 significant digits, worth 19.99
        ("0E-1000", "0.00"),
        ("1000000.000000000000000000000000000000000", "1000000.00"),
        ("0.01", "0.01"),
    ],
)
def test_a_price_worth_whole_cents_is_kept_quantized_to_the_cent(price, stored):
    assert str(validation.validate_payload(_payload(price=price)).items[0].price) == stored


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (
            "99999999.999999999999999999999999999999999",
            ("totalAmount must have at most 2 decimal places", "$.totalAmount", 400),
        ),
        (
            "100000000.000000000000000000000000000000001",
            ("$.totalAmount must be smaller than or equal to 100000000", "$.totalAmount", 400),
        ),
        ("1E+99999999", ("$.totalAmount must be smaller than or equal to 100000000", "$.totalAmount", 400)),
    ],
)
def test_extreme_totals_are_refused(total, expected):
    assert refused(validation.validate_payload, _payload(total=total)) == expected


@pytest.mark.parametrize(
    ("total", "kept"), [("100000000.000000000000000000000000000000000", "100000000.00"), ("0E-99999", "0.00")]
)
def test_a_total_worth_whole_cents_is_kept_quantized(total, kept):
    assert str(validation.validate_payload(_payload(total=total)).total_amount) == kept


def _nested_lists(depth: int) -> bytes:
    """A body `depth` levels deep: the object, then depth - 1 arrays in `items`."""
    return ('{"items": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}").encode()


def _nested_objects(depth: int) -> bytes:
    return ('{"a": ' * (depth - 1) + "{}" + "}" * (depth - 1)).encode()


def test_a_body_nested_10_levels_deep_reaches_the_schema():
    assert refused(validation.validate_payload, validation.parse_json(_nested_lists(10)), "c") == (
        "$.items[0] must be object",
        "$.items[0]",
        400,
    )
    assert refused(validation.validate_payload, validation.parse_json(_nested_objects(10)), "c") == (
        "$.items is required",
        "$.items",
        400,
    )


@pytest.mark.parametrize(
    "raw",
    [_nested_lists(11), _nested_objects(11), _nested_lists(990), _nested_objects(990)],
    ids=["lists-11", "objects-11", "lists-990", "objects-990"],
)
def test_a_body_nested_deeper_than_10_levels_is_400(raw):
    assert refused(validation.validate_payload, validation.parse_json(raw), "c") == (
        "request body is nested more than 10 levels deep",
        "$",
        400,
    )


def test_nesting_is_counted_inside_objects_and_arrays_alike():
    deep_item = {"productId": "p", "quantity": 1, "x": [[[[[[[[]]]]]]]]}  # body 1, items 2, item 3, x 4..11
    assert refused(validation.validate_payload, {"customerId": "c", "items": [deep_item]}) == (
        "request body is nested more than 10 levels deep",
        "$",
        400,
    )
    deep_item["x"] = [[[[[[[]]]]]]]  # 10 levels: the schema answers
    assert refused(validation.validate_payload, {"customerId": "c", "items": [deep_item]}) == (
        "$.items[0].x is not an allowed property",
        "$.items[0].x",
        400,
    )
