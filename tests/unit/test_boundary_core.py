"""The create-order boundary's pure parts, exact: schema-error paths and messages (also for what the validator leaves
unset), media types with several parameters, strict base64, non-finite floats of a direct invoke, catalogue prices at
the top of the range, totals that overflow, and the money parser's accepted types. Expected values are literals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastjsonschema import JsonSchemaValueException

from order import pricing, validation
from order.validation import CreateOrderItem, CreateOrderRequest
from shared.errors import InvalidTaskInput, OrderValidationError
from shared.models import parse_order_ref, to_decimal


def refused(fn, *args) -> tuple[str, str | None, int]:
    with pytest.raises(OrderValidationError) as info:
        fn(*args)
    return info.value.message, info.value.field, info.value.status_code


def answer(error: OrderValidationError) -> tuple[str, str | None, int]:
    return error.message, error.field, error.status_code


def refusal(fn, *args) -> str:
    with pytest.raises(InvalidTaskInput) as info:
        fn(*args)
    return str(info.value)


# ---------------------------------------------------------------------------------------------
# media type and body decoding
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["application/json; charset=utf-8; boundary=x", "application/json;a=1;b=2;c=3"])
def test_a_json_media_type_with_several_parameters_is_accepted(value):
    assert validation.check_content_type({"content-type": value}) is None


@pytest.mark.parametrize("body", ["eyJhIjoxfQ==!", "eyJh*IjoxfQ==", "eyJhIjox fQ==", "eyJhIjoxfQ==\n"])
def test_base64_with_a_character_outside_the_alphabet_is_400(body):
    assert refused(validation.decode_body, body, True) == ("request body is not valid base64", "$", 400)


# ---------------------------------------------------------------------------------------------
# schema error paths: list indexes at any depth, and the fallbacks for what an error leaves unset
# ---------------------------------------------------------------------------------------------
def test_indexes_are_told_from_keys_at_every_depth():
    assert validation._typed_parts([[10, 20]], ["0", "1"]) == [0, 1]
    assert validation._typed_parts({"a": [[1], [2, 3]]}, ["a", "0", "0"]) == ["a", 0, 0]
    assert validation.json_path(validation._typed_parts([[10, 20]], ["0", "1"])) == "$[0][1]"


def test_a_path_past_the_payload_keeps_its_remaining_parts_as_given():
    assert validation._typed_parts([], ["3"]) == [3]  # an index beyond the list: no element to walk into
    assert validation._typed_parts({"a": "text"}, ["a", "b"]) == ["a", "b"]  # a key below a string
    assert validation._typed_parts(["x"], ["0", "1"]) == [0, "1"]  # below a string element: a key, not an index


def test_a_schema_error_without_a_message_reads_invalid_value_at_its_path():
    exc = JsonSchemaValueException(None, value=5, name="data.items", definition={"type": "array"}, rule="type")
    assert answer(validation._schema_error(exc, {"items": 5})) == ("invalid value", "$.items", 400)
    assert answer(validation._schema_error(JsonSchemaValueException(""), {})) == ("invalid value", "$", 400)


def test_a_schema_error_without_a_name_is_about_the_whole_body():
    exc = JsonSchemaValueException("data must be object", value=[], definition={"type": "object"}, rule="type")
    assert answer(validation._schema_error(exc, [])) == ("$ must be object", "$", 400)


def test_a_required_error_naming_nothing_missing_keeps_the_validators_message():
    exc = JsonSchemaValueException(
        "data must contain ['a'] properties",
        value={"a": 1},
        name="data",
        definition={"required": ["a"]},
        rule="required",
    )
    assert answer(validation._schema_error(exc, {"a": 1})) == ("$ must contain ['a'] properties", "$", 400)
    bare = JsonSchemaValueException("data must contain properties", value={}, name="data", rule="required")
    assert answer(validation._schema_error(bare, {})) == ("$ must contain properties", "$", 400)


def test_an_object_that_allows_no_property_names_the_first_extra_one():
    exc = JsonSchemaValueException(
        "data must not contain {'x', 'b'} properties",
        value={"x": 1, "b": 2},
        name="data.items[0]",
        definition={"additionalProperties": False},
        rule="additionalProperties",
    )
    assert answer(validation._schema_error(exc, {"items": [{"x": 1, "b": 2}]})) == (
        "$.items[0].b is not an allowed property",
        "$.items[0].b",
        400,
    )


# ---------------------------------------------------------------------------------------------
# a direct invoke's floats (the Lambda runtime parses NaN and Infinity literals, and 1e999, as floats)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_float_is_no_customer_id(bad):
    payload = {"customerId": bad, "items": [{"productId": "prod-1", "quantity": 1}]}
    assert refused(validation.validate_payload, payload) == ("$.customerId must be string", "$.customerId", 400)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_float_is_no_product_id(bad):
    payload = {
        "customerId": "customer-1",
        "items": [{"productId": "prod-1", "quantity": 1}, {"productId": bad, "quantity": 1}],
    }
    assert refused(validation.validate_payload, payload) == (
        "$.items[1].productId must be string",
        "$.items[1].productId",
        400,
    )


@pytest.mark.parametrize("bad", [float("nan"), float("-inf")])
def test_a_non_finite_float_is_no_price(bad):
    payload = {"customerId": "customer-1", "items": [{"productId": "prod-1", "quantity": 1, "price": bad}]}
    assert refused(validation.validate_payload, payload) == ("$.items[0].price must be number", "$.items[0].price", 400)


# ---------------------------------------------------------------------------------------------
# pricing at the top of the range
# ---------------------------------------------------------------------------------------------
def order_of(*items: CreateOrderItem, total: str | None = None) -> CreateOrderRequest:
    return CreateOrderRequest("customer-1", tuple(items), None if total is None else Decimal(total))


def test_a_catalogue_price_of_exactly_the_largest_total_is_kept_to_the_cent():
    price = pricing._catalogue_price(Decimal(100000000))
    assert str(price) == "100000000.00"
    priced = pricing.apply_catalogue(order_of(CreateOrderItem("p", 1)), {"p": Decimal(100000000)})
    assert [str(i.price) for i in priced.items] == ["100000000.00"] and str(priced.total_amount) == "100000000.00"


def test_a_price_mismatch_at_the_largest_price_names_it_to_the_cent():
    assert refused(
        pricing.apply_catalogue, order_of(CreateOrderItem("p", 1, Decimal("1.00"))), {"p": Decimal(100000000)}
    ) == ("the price of p is 100000000.00, not 1.00", "$.items[0].price", 409)


@pytest.mark.parametrize(
    ("price", "quantity", "total"),
    [
        ("100000001", 1, "100000001.00"),
        ("1E+9", 2, "2000000000.00"),
        ("50000000.01", 2, "100000000.02"),
    ],
)
def test_a_total_beyond_the_largest_is_400_naming_it_to_the_cent(price, quantity, total):
    assert refused(pricing.apply_catalogue, order_of(CreateOrderItem("p", quantity)), {"p": Decimal(price)}) == (
        f"the order's total {total} exceeds 100000000",
        "$.items",
        400,
    )


# ---------------------------------------------------------------------------------------------
# shared.models.to_decimal: int, float, Decimal and str only
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [[0, [1], -2], (0, (1, 2), -2), (1, (5,), 0), {"a": 1}, b"1", 1j, object()])
def test_a_value_of_another_type_is_not_a_number(value):
    assert refusal(to_decimal, value, "x") == f"x must be a number, got {value!r}"


def test_an_array_is_no_total_amount_of_a_workflow_order():
    raw = {"orderId": "o-1", "customerId": "c-1", "totalAmount": [0, [1, 0, 0], -2]}
    assert refusal(parse_order_ref, raw) == "order.totalAmount must be a number, got [0, [1, 0, 0], -2]"


def test_an_array_is_no_item_price_of_a_workflow_order():
    raw = {"orderId": "o-1", "customerId": "c-1", "items": [{"productId": "p", "quantity": 1, "price": [0, [5], 0]}]}
    assert refusal(parse_order_ref, raw) == "order.items[0].price must be a number, got [0, [5], 0]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, "7"),
        (Decimal("19.990"), "19.990"),
        ("-0.50", "-0.50"),
        (0.5, "0.5"),
        (Decimal("-0"), "-0"),
    ],
)
def test_the_four_accepted_types_parse_exactly(value, expected):
    assert str(to_decimal(value)) == expected


def test_an_int_of_any_size_is_exact():
    # str() of an int refuses more than 4,300 digits; Decimal(int) is exact at any size
    assert to_decimal(10**5000) == Decimal("1E+5000")
    assert str(to_decimal(-(10**5000) - 1)) == "-1" + "0" * 4999 + "1"
