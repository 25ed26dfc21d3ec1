"""The unit suite's AWS-call rules (conftest.aws_call_violations) refuse what they name, and let through the rest."""

from __future__ import annotations

import json

import pytest

from shared.repositories.orders import OrdersRepository

from .conftest import aws_call_violations

ORDERS = "orderflow-test-orders"


def test_a_call_outside_the_functions_role_is_a_violation():
    # the payment role may read an order by its full key (GetItem) but not query the table by orderId alone
    assert aws_call_violations(
        "payment", "payment", "dynamodb", "Query", {"TableName": ORDERS, "ConsistentRead": True}
    ) == ["the payment function calls dynamodb:Query on table/orders, which its role lacks"]
    assert (
        aws_call_violations("payment", "shared", "dynamodb", "GetItem", {"TableName": ORDERS, "ConsistentRead": True})
        == []
    )


ORDER_ID = "3e2f1a0b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"
PAYMENT_ID = "635dc451-5d42-58cc-999a-cd2c90ca8231"
PROCESSED = {
    "eventId": "273bd8f9-1887-58bd-a1e2-febe15871f92",
    "orderId": ORDER_ID,
    "customerId": "customer-1",
    "paymentId": PAYMENT_ID,
    "amount": "109.97",
    "reason": None,
}


def test_an_event_outside_the_functions_sources_is_a_violation():
    entries = [
        {
            "Source": "orderflow.operator",
            "DetailType": "Refund Requested",
            "Detail": json.dumps({"orderId": ORDER_ID, "customerId": "customer-1"}),
        },
        {"Source": "payment.service", "DetailType": "Payment Processed", "Detail": json.dumps(PROCESSED)},
    ]
    assert aws_call_violations("payment", "shared", "events", "PutEvents", {"Entries": entries}) == [
        "the payment function puts orderflow.operator / Refund Requested, which its role may not"
    ]


@pytest.mark.parametrize(
    "entry,problem",
    [
        (
            {
                "Source": "payment.service",
                "DetailType": "Payment Processed",
                "Detail": json.dumps({**PROCESSED, "amount": 109.97}),
            },
            "PaymentProcessed v1: data.detail.amount must be string",
        ),
        (
            {
                "Source": "payment.service",
                "DetailType": "Payment Processed",
                "Detail": json.dumps({k: v for k, v in PROCESSED.items() if k != "paymentId"}),
            },
            "PaymentProcessed v1: data.detail must contain ['paymentId'] properties",
        ),
        (
            {
                "Source": "payment.service",
                "DetailType": "Payment Processed",
                "Detail": json.dumps({**PROCESSED, "extra": 1}),
            },
            "PaymentProcessed v1: data.detail must not contain {'extra'} properties",
        ),
        (
            {"Source": "payment.service", "DetailType": "Payment Settled", "Detail": json.dumps(PROCESSED)},
            "no contract for source 'payment.service' / detail-type 'Payment Settled'",
        ),
    ],
)
def test_an_event_that_breaks_its_contract_is_a_violation(entry, problem):
    role = (
        ["the payment function puts payment.service / Payment Settled, which its role may not"]
        if entry["DetailType"] == "Payment Settled"
        else []
    )
    assert aws_call_violations("payment", "shared", "events", "PutEvents", {"Entries": [entry]}) == [
        *role,
        f"an event put by the payment function breaks its contract: {problem}",
    ]


def test_an_event_put_outside_a_function_is_not_held_to_the_contracts():
    entry = {"Source": "order.service", "DetailType": "Thing Happened", "Detail": "{}"}
    assert aws_call_violations(None, None, "events", "PutEvents", {"Entries": [entry]}) == []  # a test's own put
    assert aws_call_violations(None, "shared", "events", "PutEvents", {"Entries": [entry]}) == []  # the mechanics


@pytest.mark.parametrize(
    "operation,params",
    [
        ("GetItem", {"TableName": ORDERS}),
        ("GetItem", {"TableName": ORDERS, "ConsistentRead": False}),
        ("Query", {"TableName": ORDERS}),
        ("Scan", {"TableName": "orderflow-test-outbox"}),
        ("BatchGetItem", {"RequestItems": {"orderflow-test-inventory": {"Keys": []}}}),
    ],
)
def test_an_eventually_consistent_table_read_by_services_code_is_a_violation(operation, params):
    table = params.get("TableName") or next(iter(params["RequestItems"]))
    assert aws_call_violations(None, "shared", "dynamodb", operation, params) == [
        f"{operation} on {table} by services/ code is not strongly consistent"
    ]


def test_index_reads_and_the_tests_own_reads_are_not_held_to_consistency():
    assert (
        aws_call_violations(None, "shared", "dynamodb", "Query", {"TableName": ORDERS, "IndexName": "CustomerId-Index"})
        == []
    )
    assert aws_call_violations(None, None, "dynamodb", "GetItem", {"TableName": ORDERS}) == []


def _services_code(source: str, module: str) -> dict:
    """A function compiled as if it lived in services/ (its module name and a file outside tests/)."""
    namespace = {"__name__": module}
    exec(compile(source, f"<services/{module.replace('.', '/')}.py>", "exec"), namespace)  # noqa: S102
    return namespace


def test_the_autouse_check_records_what_services_code_calls(cloud, aws_calls_follow_the_rules):
    probe = _services_code(
        "def read(table, order_id):\n"
        "    return table.get_item(Key={'orderId': order_id, 'customerId': 'c'}, ConsistentRead=False)\n"
        "def query(table, order_id):\n"
        "    return table.query(KeyConditionExpression='orderId = :o',\n"
        "                       ExpressionAttributeValues={':o': order_id}, ConsistentRead=True)\n",
        "payment.probe",
    )
    table = OrdersRepository()._table
    probe["read"](table, "order-1")
    probe["query"](table, "order-1")
    assert aws_calls_follow_the_rules == [
        f"GetItem on {ORDERS} by services/ code is not strongly consistent",
        "the payment function calls dynamodb:Query on table/orders, which its role lacks",
    ]
    aws_calls_follow_the_rules.clear()  # recorded as expected: do not fail this test at teardown
    table.get_item(Key={"orderId": "order-1", "customerId": "c"})  # the test's own read: not services code
    assert aws_calls_follow_the_rules == []
