"""`invoke trace` (scripts/trace.py): the entries each source gives, the executions it looks at (only since the
order, only the order's), and the text it prints. The stores are moto's or small recorders."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from scripts import trace
from scripts.common import UserError

ORDER = {
    "orderId": "o-1",
    "customerId": "alice",
    "createdAt": "2026-12-06T10:00:00.000Z",
    "status": "COMPLETED",
    "totalAmount": "20.00",
    "statusHistory": [
        {"status": "PENDING", "at": "2026-12-06T10:00:00.000Z", "reason": "created"},
        {"status": "COMPLETED", "at": "2026-12-06T10:00:01.500Z", "reason": None},
    ],
}


def test_the_order_gives_its_creation_and_each_status_change():
    assert trace.order_entries(ORDER) == [
        {
            "at": "2026-12-06T10:00:00.000Z",
            "kind": "order",
            "source": "orders table",
            "what": "created for alice, total 20.00",
        },
        {"at": "2026-12-06T10:00:00.000Z", "kind": "status", "source": "orders table", "what": "PENDING (created)"},
        {"at": "2026-12-06T10:00:01.500Z", "kind": "status", "source": "orders table", "what": "COMPLETED"},
    ]


def test_the_api_request_is_the_order_lambdas_order_created_line():
    ms = int(datetime(2026, 12, 6, 10, 0, 0, 120000, tzinfo=UTC).timestamp() * 1000)
    lines = [
        {
            "timestamp": ms,
            "message": json.dumps({"message": "order created", "totalAmount": "20.00", "function_request_id": "r-1"}),
        },
        {"timestamp": ms + 5, "message": json.dumps({"message": "something else"})},
        {"timestamp": ms + 9, "message": "REPORT RequestId: r-1 Duration: 12.00 ms"},
    ]
    assert trace.api_entries(lines) == [
        {
            "at": "2026-12-06T10:00:00.120Z",
            "kind": "api",
            "source": "order Lambda",
            "what": "POST /orders -> 201 (order created, total 20.00)",
            "detail": {"request": "r-1"},
        }
    ]


class Executions:
    """list_executions (newest first) and describe_execution of three executions, one of another order and one older."""

    def __init__(self):
        self.described = []
        self.executions = [
            {"executionArn": "arn:e3", "startDate": datetime(2026, 12, 6, 10, 0, 2, tzinfo=UTC)},
            {"executionArn": "arn:e2", "startDate": datetime(2026, 12, 6, 10, 0, 1, tzinfo=UTC)},
            {"executionArn": "arn:e1", "startDate": datetime(2026, 12, 6, 9, 0, 0, tzinfo=UTC)},
        ]
        self.inputs = {
            "arn:e3": {"detail": {"orderId": "o-2"}},
            "arn:e2": {"detail": {"orderId": "o-1"}},
            "arn:e1": {"detail": {"orderId": "o-1"}},
        }

    def list_executions(self, stateMachineArn, maxResults, nextToken=None):
        if nextToken is None:
            return {"executions": self.executions[:2], "nextToken": "page-2"}
        assert nextToken == "page-2"
        return {"executions": self.executions[2:]}

    def describe_execution(self, executionArn):
        self.described.append(executionArn)
        return {"executionArn": executionArn, "input": json.dumps(self.inputs[executionArn])}


def test_only_the_orders_executions_since_it_was_created_are_read():
    sfn = Executions()
    found = trace.executions_of(sfn, "arn:sm", "o-1", datetime(2026, 12, 6, 9, 59, tzinfo=UTC))
    assert [e["executionArn"] for e in found] == ["arn:e2"]
    assert sfn.described == ["arn:e3", "arn:e2"]  # paging stops at the first execution older than the order


def test_an_execution_gives_its_event_states_failures_and_end():
    class History:
        def get_execution_history(self, **kwargs):
            if "nextToken" not in kwargs:
                return {
                    "events": [
                        {"type": "ExecutionStarted", "timestamp": datetime(2026, 12, 6, 10, 0, 0, 200000, tzinfo=UTC)},
                        {
                            "type": "TaskStateEntered",
                            "timestamp": datetime(2026, 12, 6, 10, 0, 0, 300000, tzinfo=UTC),
                            "stateEnteredEventDetails": {"name": "OwnOrder"},
                        },
                    ],
                    "nextToken": "t",
                }
            return {
                "events": [
                    {
                        "type": "TaskScheduled",
                        "timestamp": datetime(2026, 12, 6, 10, 0, 0, 310000, tzinfo=UTC),
                        "taskScheduledEventDetails": {"resource": "invoke", "resourceType": "lambda"},
                    },
                    {
                        "type": "TaskFailed",
                        "timestamp": datetime(2026, 12, 6, 10, 0, 0, 400000, tzinfo=UTC),
                        "taskFailedEventDetails": {"error": "Lambda.ServiceException", "cause": "busy"},
                    },
                ]
            }

    execution = {
        "executionArn": "arn:e2",
        "name": "e2",
        "status": "FAILED",
        "startDate": datetime(2026, 12, 6, 10, 0, 0, 200000, tzinfo=UTC),
        "stopDate": datetime(2026, 12, 6, 10, 0, 1, tzinfo=UTC),
        "input": json.dumps(
            {"id": "ev-1", "source": "orderflow.orders", "detail-type": "Order Created", "time": "2026-12-06T10:00:00Z"}
        ),
    }
    found = [(e["at"], e["kind"], e["what"]) for e in trace.execution_entries(History(), "order-processing", execution)]
    assert found == [
        ("2026-12-06T10:00:00.000Z", "event", "Order Created -> started order-processing (e2)"),
        ("2026-12-06T10:00:00.200Z", "execution", "e2 started"),
        ("2026-12-06T10:00:00.300Z", "state", "OwnOrder entered (Task)"),
        ("2026-12-06T10:00:00.400Z", "error", "OwnOrder: Lambda.ServiceException"),
        ("2026-12-06T10:00:01.000Z", "execution", "e2 FAILED"),
    ]


def test_rows_give_the_payment_and_the_reservation():
    payment = {"status": "PAID", "amount": "20.00", "paymentId": "p-1", "updatedAt": "2026-12-06T10:00:01Z"}
    reservation = {
        "status": "RESERVED",
        "items": [{"productId": "prod-1", "quantity": 2}],
        "createdAt": "2026-12-06T10:00:00.9Z",
    }
    assert [(e["kind"], e["what"]) for e in trace.row_entries(payment, reservation)] == [
        ("payment", "PAID 20.00 (payment p-1)"),
        ("reservation", "RESERVED: prod-1 x2"),
    ]
    assert trace.row_entries(None, None) == []


def test_notifications_come_from_the_bucket(cloud):
    s3 = boto3.client("s3")
    bucket = "orderflow-test-notifications"
    s3.put_object(Bucket=bucket, Key="notifications/o-1/order-completed.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="notifications/o-10/order-completed.json", Body=b"{}")
    found = sorted((e["kind"], e["source"], e["what"]) for e in trace.notification_entries(s3, bucket, "o-1"))
    assert found == [("notification", "notifications bucket", "notifications/o-1/order-completed.json")]


def test_an_unknown_order_is_one_sentence(cloud):
    outputs = {"orders_table_name": "orderflow-test-orders"}
    with pytest.raises(UserError) as info:
        trace.collect("o-404", outputs, boto3.client, boto3.resource)
    assert str(info.value) == (
        "There is no order o-404 in orderflow-test-orders: use the orderId that POST /orders answered."
    )


def test_the_text_is_one_line_per_entry_after_the_order():
    printed = trace.text(
        {
            "order": ORDER,
            "entries": [
                {"at": "2026-12-06T10:00:00.000Z", "kind": "status", "source": "orders table", "what": "PENDING"},
            ],
        }
    )
    assert printed.splitlines() == [
        "order o-1 (alice): COMPLETED, 1 entries",
        "10:00:00.000  status       orders table             PENDING",
    ]
