"""INVENTORY_RESERVED -> COMPLETED: shared.repositories.orders.completion_write, the one definition that
scripts/render.py renders into order-processing's CompleteOrder task (a TransactWriteItems integration, no Lambda).
Here it is built with an order's values and run as that task runs it (TransactWriteItems on the moto cloud); the
rendering itself is tests/workflow/test_render.py's, the workflow around it the simulation's."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from shared import aws as shared_aws
from shared.repositories import orders as orders_module

from .helpers import expected_event_id, get_order, outbox_items, put_claimed_order, put_order

AT = "2026-12-07T08:00:00.123Z"


def complete(order, execution="exec-1", event_id=None, at=AT):
    """What CompleteOrder sends for `order` when `execution` runs it at `at`."""
    update, entries = orders_module.completion_write(
        order["orderId"],
        order["customerId"],
        execution,
        "109.97",
        event_id or expected_event_id(order["orderId"], "Order Completed"),
        at,
    )
    shared_aws.dynamodb_client().transact_write_items(TransactItems=orders_module.transaction_items(update, entries))


def test_the_owner_completes_the_order_and_queues_its_event_and_duty(cloud):
    order = put_order("INVENTORY_RESERVED", executionId="exec-1", liveShard="live#3")
    oid = order["orderId"]

    complete(order)

    stored = get_order(oid)
    assert stored["status"] == "COMPLETED" and stored["version"] == 2
    assert stored["claim"] == {"by": "exec-1", "status": "COMPLETED", "at": AT}
    assert stored["updatedAt"] == AT
    assert stored["statusHistory"][-1] == {"status": "COMPLETED", "at": AT, "reason": "order completed"}
    assert len(stored["statusHistory"]) == len(order["statusHistory"]) + 1
    assert "liveShard" not in stored  # leaves Live-Index in the same write
    event_id = expected_event_id(oid, "Order Completed")
    event, duty = sorted(outbox_items(), key=lambda e: e["kind"])
    assert event == {
        "id": event_id,
        "kind": "event",
        "orderId": oid,
        "customerId": "customer-1",
        "source": "order.service",
        "detailType": "Order Completed",
        "detail": json.dumps(
            {"eventId": event_id, "orderId": oid, "customerId": "customer-1", "totalAmount": "109.97"},
            separators=(",", ":"),
        ),
        "createdAt": AT,
    }
    assert duty == {
        "id": f"{oid}#finalize",
        "kind": "finalize",
        "orderId": oid,
        "customerId": "customer-1",
        "status": "COMPLETED",
        "createdAt": AT,
    }
    assert cloud.events() == []  # the workflow's PublishCompleted puts it, not the write


@pytest.mark.parametrize(
    ("status", "owner"),
    [
        ("INVENTORY_RESERVED", "exec-2"),
        ("INVENTORY_RESERVED", None),
        ("PAID", "exec-1"),
        ("PENDING", "exec-1"),
        ("INVENTORY_UNAVAILABLE", "exec-1"),
        ("COMPLETED", "exec-1"),  # a retry after the write: refused too (the sweep finishes the duty)
    ],
)
def test_completion_is_refused_for_a_non_owner_or_another_status_and_writes_nothing(cloud, status, owner):
    order = put_order(status, **({"executionId": owner} if owner else {}))

    with pytest.raises(ClientError) as refused:
        complete(order)

    error = refused.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["ConditionalCheckFailed", "None", "None"]
    assert get_order(order["orderId"]) == order
    assert outbox_items() == []


def test_completion_is_refused_for_an_order_a_cancel_claimed(cloud):
    order = put_claimed_order("CANCELLED", by="cancel:abc", executionId="exec-1")
    with pytest.raises(ClientError):
        complete(order)
    assert get_order(order["orderId"]) == order and outbox_items() == []


def test_completion_of_a_missing_order_writes_nothing(cloud):
    with pytest.raises(ClientError):
        complete({"orderId": "00000000-0000-4000-8000-000000000000", "customerId": "customer-1"})
    assert outbox_items() == []


def test_the_completed_event_is_the_contract_detail():
    assert orders_module.completed_event("o-1", "c-1", "5.00", "e-1") == {
        "eventId": "e-1",
        "orderId": "o-1",
        "customerId": "c-1",
        "totalAmount": "5.00",
    }
