"""Out of stock after payment: refund (compensation), CANCELLED, stock unchanged, payment REFUNDED."""

from __future__ import annotations

from e2e_support import lambda_calls
from scripts.e2e import history_statuses, order_payload


def test_out_of_stock_refunds(stack, scenario):
    product, other = stack.name("oos"), stack.name("oos-other")
    stack.set_stock(product, 1)
    stack.set_stock(other, 5)
    # all-or-nothing: the line that is in stock must not be reserved either
    sub = stack.submit(order_payload(stack.name("c-oos"), [(other, 1, "5.00"), (product, 2, "12.50")]), label="2 wanted, 1 in stock")
    scenario.track(sub)
    order = stack.wait_terminal(scenario, [sub])[sub.order_id]
    assert order["status"] == "CANCELLED", order
    assert history_statuses(order) == ["PENDING", "PAID", "INVENTORY_UNAVAILABLE", "REFUNDED", "CANCELLED"], order["statusHistory"]
    assert stack.stock(product) == 1 and stack.stock(other) == 5
    reservation = stack.reservation(sub.order_id)
    assert reservation is None or reservation["status"] != "RESERVED", reservation
    payment = stack.payment(sub.order_id)
    assert payment and payment["status"] == "REFUNDED" and payment.get("refundId"), payment
    stack.wait_notification(sub.order_id, "order-cancelled")
    [execution] = stack.wait_executions(sub.order_id)
    assert execution["status"] == "SUCCEEDED"
    fns = stack.outputs["function_names"]
    called = lambda_calls(stack.summary(execution["arn"]))
    assert called == [fns["payment"], fns["inventory"], fns["payment"], fns["notification"]], called
