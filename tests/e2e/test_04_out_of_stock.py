"""Out of stock after payment: the workflow claims the order CANCELLED, and its finalization refunds it (compensation);
stock unchanged, payment REFUNDED, nothing held at the gateway. REFUNDED is not an order status: the payments row and
the gateway ledger say it."""

from __future__ import annotations

import pytest

from scripts.api_client import order_payload
from scripts.order_timeline import history_statuses


@pytest.mark.express
def test_out_of_stock_refunds(stack, scenario):
    product, other = stack.name("oos"), stack.name("oos-other")
    stack.set_stock(product, 1, price="12.50")
    stack.set_stock(other, 5, price="5.00")
    # all-or-nothing: the line that is in stock must not be reserved either
    sub = stack.submit(
        order_payload(stack.name("c-oos"), [(other, 1, "5.00"), (product, 2, "12.50")]), label="2 wanted, 1 in stock"
    )
    scenario.track(sub)
    order = stack.wait_terminal(scenario, [sub])[sub.order_id]
    assert order["status"] == "CANCELLED", order
    assert history_statuses(order) == ["PENDING", "PAID", "INVENTORY_UNAVAILABLE", "CANCELLED"], order["statusHistory"]
    [execution] = stack.wait_executions(sub.order_id)  # the CANCELLED claim comes before the finalization ends
    assert execution["status"] == "SUCCEEDED"
    assert order["claim"]["by"] == execution["arn"] == order["executionId"], order["claim"]
    assert stack.stock(product) == 1 and stack.stock(other) == 5
    assert stack.reservation(sub.order_id) is None, "all-or-nothing: nothing reserved"
    payment = stack.payment(sub.order_id)
    assert payment and payment["status"] == "REFUNDED" and payment.get("refundId"), payment
    [entry] = stack.ledger(sub.order_id)
    assert entry["status"] == "REFUNDED" and entry["paymentId"] == payment["paymentId"], entry
    stack.wait_notification(sub.order_id, "order-cancelled")
    assert stack.workflow_notifications(sub.order_id) == ["order-cancelled"]
    fns = stack.outputs["function_names"]
    called = stack.top_level_calls(execution["arn"])  # charge, reserve (short), claim CANCELLED (OwnOrder: no Lambda)
    assert called == [fns["payment"], fns["inventory"], fns["order"]], called
    finalized = stack.finalized(execution["arn"])  # then refund, release (nothing reserved), notify, settle
    assert (
        finalized
        and finalized["refund"] == {"status": "REFUNDED"}
        and finalized["release"] == {"status": "NOT_RESERVED"}
    ), finalized
    assert finalized["notification"]["key"] == f"notifications/{sub.order_id}/order-cancelled.json"
    assert finalized["settled"] == {"status": "SETTLED"} and stack.outbox(sub.order_id) == []
