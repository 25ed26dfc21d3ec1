"""Workflow input parsing and money helpers, exact: every refusal's message (the Cause a failed task shows), the
parsed values, the boundaries. Expected values are literals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.errors import InvalidTaskInput
from shared.models import (
    LineItem,
    OrderRef,
    aggregate_quantities,
    money_str,
    order_summary,
    parse_items,
    parse_order_ref,
    to_decimal,
)


def refusal(fn, *args, **kwargs) -> str:
    with pytest.raises(InvalidTaskInput) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_an_order_ref_is_parsed_whole():
    assert parse_order_ref(
        {
            "orderId": "o-1",
            "customerId": "c-1",
            "totalAmount": "10.5",
            "items": [{"productId": "p", "quantity": "2", "price": 1.25}, {"productId": "q", "quantity": 1.0}],
        }
    ) == OrderRef(
        order_id="o-1",
        customer_id="c-1",
        total_amount=Decimal("10.5"),
        items=(LineItem("p", 2, Decimal("1.25")), LineItem("q", 1, None)),
    )
    assert parse_order_ref({"orderId": "o-1", "customerId": "c-1"}) == OrderRef("o-1", "c-1", None, ())


@pytest.mark.parametrize(
    ("raw", "kwargs", "message"),
    [
        ("o-1", {}, "`order` must be an object"),
        ({"orderId": 5, "customerId": "c"}, {}, "order.orderId is invalid: 5"),
        ({"orderId": "a/b", "customerId": "c"}, {}, "order.orderId is invalid: 'a/b'"),
        ({"orderId": "o", "customerId": None}, {}, "order.customerId is invalid: None"),
        ({"orderId": "o", "customerId": "c"}, {"require_amount": True}, "order.totalAmount is required"),
        ({"orderId": "o", "customerId": "c"}, {"require_items": True}, "order.items is required"),
        ({"orderId": "o", "customerId": "c", "totalAmount": "x"}, {}, "order.totalAmount must be a number, got 'x'"),
        ({"orderId": "o", "customerId": "c", "totalAmount": True}, {}, "order.totalAmount must be a number, got True"),
        (
            {"orderId": "o", "customerId": "c", "totalAmount": "Infinity"},
            {},
            "order.totalAmount must be finite, got 'Infinity'",
        ),
    ],
)
def test_order_ref_refusals(raw, kwargs, message):
    assert refusal(parse_order_ref, raw, **kwargs) == message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"p": 1}, "order.items must be a list"),
        (["x"], "order.items[0] must be an object"),
        (
            [{"productId": "p", "quantity": 1}, {"productId": "", "quantity": 1}],
            "order.items[1].productId is invalid: ''",
        ),
        ([{"productId": "p", "quantity": True}], "order.items[0].quantity must be an integer"),
        ([{"productId": "p", "quantity": "two"}], "order.items[0].quantity must be an integer"),
        ([{"productId": "p", "quantity": 0}], "order.items[0].quantity must be an integer >= 1, got 0"),
        ([{"productId": "p", "quantity": 1.5}], "order.items[0].quantity must be an integer >= 1, got 1.5"),
        ([{"productId": "p", "quantity": "NaN"}], "order.items[0].quantity must be an integer >= 1, got 'NaN'"),
        ([{"productId": "p", "quantity": 1, "price": "abc"}], "order.items[0].price must be a number, got 'abc'"),
    ],
)
def test_item_refusals(raw, message):
    assert refusal(parse_items, raw) == message


def test_the_items_path_names_the_caller():
    assert refusal(parse_items, "x", "detail.items") == "detail.items must be a list"


def test_the_smallest_quantity_is_one():
    assert parse_items([{"productId": "p", "quantity": 1}]) == (LineItem("p", 1, None),)


def test_money_helpers():
    assert money_str(Decimal("109.9")) == "109.90" and money_str(3) == "3.00" and money_str(0.1) == "0.10"
    assert to_decimal(0.1) == Decimal("0.1")  # a float goes through its shortest repr
    assert refusal(to_decimal, None) == "amount must be a number, got None"
    assert refusal(to_decimal, [1], "x") == "x must be a number, got [1]"


def test_quantities_are_summed_in_first_seen_order():
    assert list(
        aggregate_quantities([LineItem("b", 1), {"productId": "a", "quantity": Decimal(2)}, LineItem("b", 3)]).items()
    ) == [("b", 4), ("a", 2)]


def test_the_order_summary_is_whole():
    assert order_summary(
        {
            "orderId": "o",
            "customerId": "c",
            "status": "PAID",
            "totalAmount": Decimal("7.5"),
            "items": [{"productId": "p", "quantity": Decimal(3), "price": Decimal("2.5")}],
            "claim": {"by": "x"},
        }
    ) == {
        "orderId": "o",
        "customerId": "c",
        "status": "PAID",
        "items": [{"productId": "p", "quantity": 3, "price": "2.50"}],
        "totalAmount": "7.50",
    }
    assert order_summary({"orderId": "o", "customerId": "c", "totalAmount": 1}) == {
        "orderId": "o",
        "customerId": "c",
        "status": None,
        "items": [],
        "totalAmount": "1.00",
    }


# --- DynamoDB error classification (shared.repositories._ddb) ------------------------------------------------------

from botocore.exceptions import ClientError

from shared.repositories import _ddb


def _cancelled(message="Transaction cancelled", reasons=None):
    response = {"Error": {"Code": "TransactionCanceledException", "Message": message}}
    if reasons is not None:
        response["CancellationReasons"] = reasons
    return ClientError(response, "TransactWriteItems")


@pytest.mark.parametrize(
    ("exc", "codes"),
    [
        (
            _cancelled(reasons=[{"Code": "None"}, {"Code": "ConditionalCheckFailed"}, {}]),
            ["None", "ConditionalCheckFailed", "None"],
        ),
        (_cancelled(reasons=[{"Code": "None"}]), ["None", "Unknown", "Unknown"]),
        (_cancelled(reasons=[{"Code": "A"}, {"Code": "B"}, {"Code": "C"}, {"Code": "D"}]), ["A", "B", "C"]),
        (
            _cancelled(
                "Transaction cancelled, please refer cancellation reasons for specific reasons "
                "[None, ConditionalCheckFailed , TransactionConflict]"
            ),
            ["None", "ConditionalCheckFailed", "TransactionConflict"],
        ),
        (_cancelled("reasons [x] then [None, ConditionalCheckFailed]"), ["None", "ConditionalCheckFailed", "Unknown"]),
        (_cancelled("no list here"), ["Unknown", "Unknown", "Unknown"]),
        (_cancelled("backwards ] ["), ["Unknown", "Unknown", "Unknown"]),
        (ClientError({}, "TransactWriteItems"), ["Unknown", "Unknown", "Unknown"]),
    ],
)
def test_cancellation_codes_per_action(exc, codes):
    assert _ddb.cancellation_codes(exc, 3) == codes


def test_error_codes_are_read_only_from_client_errors():
    assert _ddb.error_code(ClientError({"Error": {"Code": "X"}}, "op")) == "X"
    assert _ddb.error_code(ClientError({}, "op")) == ""
    assert _ddb.error_code(ValueError("X")) == ""
    assert _ddb.is_conditional_failure(ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "op"))
    assert not _ddb.is_conditional_failure(_cancelled())
    assert _ddb.is_transaction_cancelled(_cancelled())
    assert not _ddb.is_transaction_cancelled(ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "op"))
