"""Customer cancellation (DELETE /orders/{id}) before payment, after payment, after reservation, and too late.

Deterministic, no race with the saga: while the "Order Created" rule is disabled, an order submitted through the API
stays PENDING (its event reaches no workflow). The test moves such stuck orders to PAID / INVENTORY_RESERVED itself
by invoking the payment and inventory Lambdas with the workflow's task contracts (docs/architecture.md), exactly
what order-processing would have done, then cancels them. The "Order Cancellation Requested" rule stays enabled, so
the payment-processing workflow compensates: refund when charged, release when reserved, notification
order-cancelled. A COMPLETED order cannot be cancelled: 409.
"""

from __future__ import annotations

from e2e_support import lambda_calls, wait_until
from scripts.e2e import history_statuses, order_payload


def test_customer_cancellation(stack, scenario):
    product = stack.name("cancel")
    stack.set_stock(product, 10)
    fns = stack.outputs["function_names"]
    cases = {}
    with stack.rule_disabled("Order Created", stack.sm_arn("order-processing")):
        for stage in ("PENDING", "PAID", "INVENTORY_RESERVED"):
            sub = stack.submit(order_payload(stack.name(f"c-cancel-{stage.lower()}"), [(product, 2, "15.00")]),
                               label=f"cancelled at {stage}")
            cases[stage] = sub
            if stage in ("PAID", "INVENTORY_RESERVED"):
                charged = stack.invoke("payment", {"action": "charge", "order": stack.task_order(sub), "attempt": 0})
                assert charged["status"] == "PAID", charged
            if stage == "INVENTORY_RESERVED":
                reserved = stack.invoke("inventory", {"action": "reserve", "order": stack.task_order(sub)})
                assert reserved["status"] == "RESERVED", reserved
            assert stack.order(sub.order_id, sub.customer_id)["status"] == stage
        scenario.track(*cases.values())
        assert stack.stock(product) == 8, "the INVENTORY_RESERVED order holds 2 units"
        for stage, sub in cases.items():
            resp = stack.api.cancel_order(sub.order_id, token=stack.token(sub.customer_id))
            assert resp.status == 202, f"DELETE at {stage}: {resp!r}"
            assert (resp.json or {}).get("status") == "CANCELLED", resp
            # a second DELETE of a cancelled order is refused
            again = stack.api.cancel_order(sub.order_id, token=stack.token(sub.customer_id))
            assert again.status == 409 and "message" in (again.json or {}), again

    final = stack.wait_terminal(scenario, list(cases.values()))
    for stage, sub in cases.items():
        order = final[sub.order_id]
        path = {"PENDING": ["PENDING"], "PAID": ["PENDING", "PAID"],
                "INVENTORY_RESERVED": ["PENDING", "PAID", "INVENTORY_RESERVED"]}[stage]
        assert history_statuses(order) == path + ["CANCELLED"], order["statusHistory"]
        assert not stack.executions_for(sub.order_id, "order-processing"), "the rule was disabled: no saga may run"
        [compensation] = stack.wait_executions(sub.order_id, key="payment-processing")
        assert compensation["status"] == "SUCCEEDED", compensation
        summary = stack.summary(compensation["arn"])
        calls = lambda_calls(summary)
        assert fns["payment"] in calls and fns["notification"] in calls, calls

        if stage == "PENDING":
            assert stack.payment(sub.order_id) is None, "never charged, yet a payment row"
        else:
            payment = wait_until(lambda: (p := stack.payment(sub.order_id)) and p["status"] == "REFUNDED" and p, 30,
                                 f"the refund of the order cancelled at {stage}")
            assert payment.get("refundId"), payment
        reservation = stack.reservation(sub.order_id)
        if stage == "INVENTORY_RESERVED":
            assert reservation and reservation["status"] == "RELEASED", reservation
        else:
            assert reservation is None, reservation
        stack.wait_notification(sub.order_id, "order-cancelled")
    assert stack.stock(product) == 10, "the released reservation must restore the stock"


def test_cancel_completed_order_conflicts(stack, scenario):
    product = stack.name("cancel-late")
    stack.set_stock(product, 3)
    sub = stack.submit(order_payload(stack.name("c-cancel-late"), [(product, 1, "9.99")]), label="cancel after COMPLETED")
    scenario.track(sub)
    assert stack.wait_terminal(scenario, [sub])[sub.order_id]["status"] == "COMPLETED"
    token = stack.token(sub.customer_id)
    resp = stack.api.cancel_order(sub.order_id, token=token)
    assert resp.status == 409 and (resp.json or {}).get("message"), resp
    assert stack.order(sub.order_id, sub.customer_id)["status"] == "COMPLETED"
    assert stack.payment(sub.order_id)["status"] == "PAID" and stack.stock(product) == 2
    missing = stack.api.cancel_order(stack.name("no-such-order"), token=token)
    assert missing.status == 404 and (missing.json or {}).get("message"), missing
