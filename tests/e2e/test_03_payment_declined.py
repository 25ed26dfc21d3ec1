"""Declined payments end in PAYMENT_FAILED: no reservation, stock untouched, a payment-declined notification.

Two business declines (docs/architecture.md, payment Lambda): the customer on the decline list (`customer-declined`,
PAYMENT_DECLINE_CUSTOMERS' default) and an order above the limit (PAYMENT_CUSTOMER_LIMIT, default 5000.00).
"""

from __future__ import annotations

from e2e_support import lambda_calls
from scripts.e2e import history_statuses, order_payload


def test_payment_declined(stack, scenario):
    product = stack.name("declined")
    stack.set_stock(product, 10)
    subs = [
        stack.submit(order_payload("customer-declined", [(product, 1, "19.99")]), label="decline-listed customer"),
        stack.submit(order_payload(stack.name("c-over-limit"), [(product, 2, "2500.01")]), label="total 5000.02 > limit"),
    ]
    scenario.track(*subs)
    final = stack.wait_terminal(scenario, subs)
    for sub in subs:
        order = final[sub.order_id]
        assert order["status"] == "PAYMENT_FAILED", order
        assert history_statuses(order) == ["PENDING", "PAYMENT_FAILED"], order["statusHistory"]
        assert stack.reservation(sub.order_id) is None, "a declined order must not reserve stock"
        payment = stack.payment(sub.order_id)
        assert payment is None or payment["status"] == "DECLINED", payment
        stack.wait_notification(sub.order_id, "payment-declined")
        [execution] = stack.wait_executions(sub.order_id)
        assert execution["status"] == "SUCCEEDED", execution
        called = lambda_calls(stack.summary(execution["arn"]))
        assert stack.outputs["function_names"]["inventory"] not in called, called
    assert stack.stock(product) == 10
