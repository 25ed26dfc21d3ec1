"""The seed recipe's test order (customer-123, prod-001 x2 at 29.99, prod-002 x1 at 49.99, total 109.97) completes.

The recipe invoked the order Lambda; here the order goes through the public API. prod-001/prod-002 come from the
catalogue (`invoke seed`, run by `invoke e2e`), so stock is shared with anyone else using them: the test reads it
right before submitting and expects exactly this order's quantities to be taken.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from scripts.order_timeline import HAPPY_PATH, history_statuses
from scripts.polling import wait_until

SEED_ORDER = {
    "customerId": "customer-123",
    "items": [
        {"productId": "prod-001", "quantity": 2, "price": 29.99},
        {"productId": "prod-002", "quantity": 1, "price": 49.99},
    ],
    "totalAmount": 109.97,
}


@pytest.mark.express
def test_seed_order_completes(stack, scenario):
    before = {p: stack.stock(p) for p in ("prod-001", "prod-002")}
    assert before["prod-001"] is not None and before["prod-001"] >= 2, f"catalogue not seeded: {before}"
    assert before["prod-002"] is not None and before["prod-002"] >= 1, f"catalogue not seeded: {before}"

    sub = stack.submit(SEED_ORDER, label="seed test order")
    scenario.track(sub)
    assert sub.http_status == 201 and sub.response["status"] == "PENDING", sub.response

    order = stack.wait_terminal(scenario, [sub])[sub.order_id]
    assert order["status"] == "COMPLETED", order
    assert history_statuses(order) == list(HAPPY_PATH), order["statusHistory"]
    assert order["totalAmount"] == Decimal("109.97")

    # stock taken once, by exactly the ordered quantities
    assert stack.stock("prod-001") == before["prod-001"] - 2
    assert stack.stock("prod-002") == before["prod-002"] - 1
    reservation = stack.reservation(sub.order_id)
    assert reservation and reservation["status"] == "RESERVED", reservation
    assert sorted((i["productId"], int(i["quantity"])) for i in reservation["items"]) == [
        ("prod-001", 2),
        ("prod-002", 1),
    ]

    # one charge, PAID, for the order's total
    payment = stack.payment(sub.order_id)
    assert payment and payment["status"] == "PAID" and payment["amount"] == Decimal("109.97"), payment
    assert order.get("paymentId") == payment["paymentId"]

    # the customer notification from the workflow, with the order's figures
    oid = sub.order_id
    stack.wait_notification(oid, "order-completed")
    message = stack.notification_body(oid, "order-completed")
    assert {k: message[k] for k in ("orderId", "customerId", "type", "source", "subject")} == {
        "orderId": oid,
        "customerId": "customer-123",
        "type": "order-completed",
        "source": "workflow",
        "subject": f"Your order {oid} is confirmed",
    }, message
    assert "Total charged: 109.97." in message["body"], message["body"]
    assert "2 x prod-001 @ 29.99" in message["body"] and "1 x prod-002 @ 49.99" in message["body"], message["body"]
    # one message per outcome, from the workflow: no bus event is notified (no rule targets the notification
    # Lambda), so nothing lies under notifications/<orderId>/events/
    assert stack.notification_keys(oid) == [f"notifications/{oid}/order-completed.json"]

    # the execution: one, SUCCEEDED, the order's owner; OwnOrder (a DynamoDB write, no Lambda) -> payment ->
    # inventory once each without retries -> CompleteOrder (a DynamoDB transaction), PublishCompleted (EventBridge) and
    # ForgetCompletedEvent (a DynamoDB delete), no Lambda; then the finalize branch: notify (no compensation for
    # COMPLETED) and settle
    [execution] = stack.wait_executions(sub.order_id)
    assert execution["status"] == "SUCCEEDED", execution
    assert stack.order(sub.order_id, sub.customer_id)["executionId"] == execution["arn"]
    summary = stack.summary(execution["arn"])
    fns = stack.outputs["function_names"]
    called = stack.top_level_calls(execution["arn"])
    assert called == [fns["payment"], fns["inventory"]], summary["tasks"]
    first = summary["tasks"][0]
    assert (first["state"], first["resource"], first["outcome"]) == (
        "OwnOrder",
        "arn:aws:states:::dynamodb:updateItem",
        "SUCCEEDED",
    ), first
    assert [(t["state"], t["resource"]) for t in summary["tasks"][3:6]] == [
        ("CompleteOrder", "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"),
        ("PublishCompleted", "arn:aws:states:::events:putEvents"),
        ("ForgetCompletedEvent", "arn:aws:states:::dynamodb:deleteItem"),
    ], summary["tasks"]
    assert all(t["outcome"] == "SUCCEEDED" for t in summary["tasks"]) and not summary["retries"]
    finalized = stack.finalized(execution["arn"])
    assert finalized and "refund" not in finalized and "release" not in finalized, finalized
    assert finalized["notification"] == {"status": "SENT", "key": f"notifications/{sub.order_id}/order-completed.json"}
    assert finalized["settled"] == {"status": "SETTLED"} and stack.outbox(sub.order_id) == []
    assert stack.workflow_notifications(sub.order_id) == ["order-completed"]
    [entry] = stack.ledger(sub.order_id)  # the gateway holds the total once, under the payment's idempotency key
    assert entry["status"] == "AUTHORIZED" and entry["amount"] == Decimal("109.97"), entry
    assert entry["paymentId"] == payment["paymentId"]

    # the public read API agrees
    token = stack.token(sub.customer_id)  # customer-123's ID token: the API answers only the order's customer
    got = stack.api.get_order(sub.order_id, token=token)
    assert got.status == 200, got
    view = got.json
    assert view["status"] == "COMPLETED" and [h["status"] for h in view["statusHistory"]] == list(HAPPY_PATH)

    def listed() -> bool:
        page, pages = None, 0
        while pages < 100:
            resp = stack.api.request(
                "GET", "/customers/customer-123/orders?limit=100" + (f"&nextToken={page}" if page else ""), token=token
            )
            assert resp.status == 200, resp
            if any(o.get("orderId") == sub.order_id for o in resp.json["orders"]):
                return True
            page, pages = resp.json["nextToken"], pages + 1
            if not page:
                return False
        return False

    wait_until(listed, 15, "the order in GET /customers/customer-123/orders (GSI)")
