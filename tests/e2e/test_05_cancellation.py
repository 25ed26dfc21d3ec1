"""Customer cancellation (DELETE /orders/{id}) before payment, after payment, after reservation, and too late.

Deterministic, no race with the saga: while the "Order Created" rule is disabled, an order submitted through the API
stays PENDING (its event reaches no workflow). The test moves such stuck orders to PAID / INVENTORY_RESERVED itself
by invoking the payment and inventory Lambdas with the workflow's task contracts (docs/architecture.md), exactly
what order-processing would have done, then cancels them. The DELETE claims the order CANCELLED (claim by
`cancel:<orderId>`); a repeated DELETE of that order answers the same 202. The "Order Cancellation Requested" rule
stays enabled, so the payment-processing workflow confirms the claim and finalizes: refund when charged (a never
charged order gets a VOIDED payments row, so a late charge charges nothing), release when reserved, notification
order-cancelled, the outbox duty settled. A COMPLETED order cannot be cancelled: 409.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from scripts.api_client import order_payload
from scripts.order_timeline import history_statuses


@pytest.mark.express
def test_customer_cancellation(stack, scenario):
    product = stack.name("cancel")
    stack.set_stock(product, 10, price="15.00")
    fns = stack.outputs["function_names"]
    cases = {}
    with stack.rule_disabled("Order Created", stack.sm_arn("order-processing")):
        for stage in ("PENDING", "PAID", "INVENTORY_RESERVED"):
            sub = stack.submit(
                order_payload(stack.name(f"c-cancel-{stage.lower()}"), [(product, 2, "15.00")]),
                label=f"cancelled at {stage}",
            )
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
            # a repeated DELETE of the order this cancel claimed answers the same (idempotent)
            again = stack.api.cancel_order(sub.order_id, token=stack.token(sub.customer_id))
            assert again.status == 202 and again.json == {"orderId": sub.order_id, "status": "CANCELLED"}, again

    final = stack.wait_terminal(scenario, list(cases.values()))
    for stage, sub in cases.items():
        order = final[sub.order_id]
        path = {
            "PENDING": ["PENDING"],
            "PAID": ["PENDING", "PAID"],
            "INVENTORY_RESERVED": ["PENDING", "PAID", "INVENTORY_RESERVED"],
        }[stage]
        assert history_statuses(order) == path + ["CANCELLED"], order["statusHistory"]
        assert order["claim"]["by"] == f"cancel:{sub.order_id}", order["claim"]
        assert not stack.executions_for(sub.order_id, "order-processing"), "the rule was disabled: no saga may run"
        [compensation] = stack.wait_executions(sub.order_id, key="payment-processing")
        assert compensation["status"] == "SUCCEEDED", compensation
        assert stack.top_level_calls(compensation["arn"]) == [fns["order"]]  # the claim, confirmed
        finalized = stack.finalized(compensation["arn"])
        assert finalized, f"payment-processing did not finalize the order cancelled at {stage}"
        assert finalized["refund"] == {"status": "NOT_CHARGED" if stage == "PENDING" else "REFUNDED"}, finalized
        assert finalized["release"] == {"status": "RELEASED" if stage == "INVENTORY_RESERVED" else "NOT_RESERVED"}, (
            finalized
        )
        assert finalized["settled"] == {"status": "SETTLED"}, finalized

        payment = stack.payment(sub.order_id)
        if stage == "PENDING":  # never charged: the refund closed the intent, the gateway never saw the order
            assert payment and payment["status"] == "VOIDED" and payment["amount"] == 0, payment
            assert stack.ledger(sub.order_id) == []
        else:
            assert payment and payment["status"] == "REFUNDED" and payment.get("refundId"), payment
            assert [e["status"] for e in stack.ledger(sub.order_id)] == ["REFUNDED"]
        assert stack.held(sub.order_id) == 0
        reservation = stack.reservation(sub.order_id)
        if stage == "INVENTORY_RESERVED":
            assert reservation and reservation["status"] == "RELEASED", reservation
        else:
            assert reservation is None, reservation
        stack.wait_notification(sub.order_id, "order-cancelled")
        assert stack.workflow_notifications(sub.order_id) == ["order-cancelled"]
        assert stack.outbox(sub.order_id) == [], "the cancel event was delivered and the duty settled"
    assert stack.stock(product) == 10, "the released reservation must restore the stock"


@pytest.mark.express
def test_cancel_completed_order_conflicts(stack, scenario):
    product = stack.name("cancel-late")
    stack.set_stock(product, 3, price="9.99")
    sub = stack.submit(
        order_payload(stack.name("c-cancel-late"), [(product, 1, "9.99")]), label="cancel after COMPLETED"
    )
    scenario.track(sub)
    assert stack.wait_terminal(scenario, [sub])[sub.order_id]["status"] == "COMPLETED"
    token = stack.token(sub.customer_id)
    resp = stack.api.cancel_order(sub.order_id, token=token)
    assert resp.status == 409 and (resp.json or {}).get("message"), resp
    assert stack.order(sub.order_id, sub.customer_id)["status"] == "COMPLETED"
    assert stack.payment(sub.order_id)["status"] == "PAID" and stack.stock(product) == 2
    assert stack.held(sub.order_id) == Decimal("9.99")
    assert not stack.executions_for(sub.order_id, "payment-processing"), "a refused DELETE publishes nothing"
    missing = stack.api.cancel_order(stack.name("no-such-order"), token=token)
    assert missing.status == 404 and (missing.json or {}).get("message"), missing
