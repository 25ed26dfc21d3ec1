"""Declined payments end in PAYMENT_FAILED: no reservation, stock untouched, a payment-declined notification.

Two business declines (docs/architecture.md, payment Lambda): the customer on the decline list (`customer-declined`,
PAYMENT_DECLINE_CUSTOMERS' default) and an order above the limit (PAYMENT_CUSTOMER_LIMIT, default 5000.00).
"""

from __future__ import annotations

import pytest

from scripts.api_client import order_payload
from scripts.order_timeline import history_statuses


@pytest.mark.express
def test_payment_declined(stack, scenario):
    product, pricey = stack.name("declined"), stack.name("declined-pricey")
    stack.set_stock(product, 10, price="19.99")
    stack.set_stock(pricey, 10, price="2500.01")
    subs = [
        stack.submit(order_payload("customer-declined", [(product, 1, "19.99")]), label="decline-listed customer"),
        stack.submit(
            order_payload(stack.name("c-over-limit"), [(pricey, 2, "2500.01")]), label="total 5000.02 > limit"
        ),
    ]
    scenario.track(*subs)
    final = stack.wait_terminal(scenario, subs)
    for sub in subs:
        order = final[sub.order_id]
        assert order["status"] == "PAYMENT_FAILED", order
        assert history_statuses(order) == ["PENDING", "PAYMENT_FAILED"], order["statusHistory"]
        assert stack.reservation(sub.order_id) is None, "a declined order must not reserve stock"
        # the intent is recorded before the gateway is called, then its outcome: DECLINED, nothing held
        payment = stack.payment(sub.order_id)
        assert payment and payment["status"] == "DECLINED", payment
        assert [e["status"] for e in stack.ledger(sub.order_id)] == ["DECLINED"] and stack.held(sub.order_id) == 0
        assert order["claim"]["by"] == f"payment:{payment['paymentId']}", order["claim"]
        stack.wait_notification(sub.order_id, "payment-declined")
        [execution] = stack.wait_executions(sub.order_id)
        assert execution["status"] == "SUCCEEDED", execution
        fns = stack.outputs["function_names"]
        called = stack.top_level_calls(execution["arn"])  # charge (declined), after OwnOrder (no Lambda): no reserve
        assert called == [fns["payment"]], called
        finalized = stack.finalized(execution["arn"])  # the execution finalizes the payment service's claim
        assert finalized and finalized["release"] == {"status": "NOT_RESERVED"}, finalized
        assert finalized["refund"] == {"status": "NOT_CHARGED"} and finalized["settled"] == {"status": "SETTLED"}, (
            finalized
        )
        assert stack.workflow_notifications(sub.order_id) == ["payment-declined"] and stack.outbox(sub.order_id) == []
    assert stack.stock(product) == 10 and stack.stock(pricey) == 10
