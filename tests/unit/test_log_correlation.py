"""Every log line of an invocation carries the order it is about (correlation_id and orderId) and the keys its
handler binds (docs/architecture.md, Observability): the keys a Logs Insights search by order or customer uses.
Asserted on the JSON lines the handlers print; expected values are literals."""

from __future__ import annotations

import io
import json
import logging

import pytest

from inventory import handler as inventory_handler
from notification import handler as notification_handler
from order import handler as order_handler
from payment import handler as payment_handler

from .helpers import http_event, order_body, order_input, put_claimed_order, put_order

ORDER_ID = "0f6d3a52-6a2b-4c1e-9a55-2b8e8f7c1d10"


@pytest.fixture
def handler_logs(monkeypatch):
    """The JSON lines of the handlers' Powertools logger (its stream handler was bound to stdout at import)."""
    stream = io.StringIO()
    for handler in logging.getLogger("orderflow-unit").handlers:
        if isinstance(handler, logging.StreamHandler):
            monkeypatch.setattr(handler, "stream", stream)
    return stream


def log_lines(stream: io.StringIO) -> list[dict]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith('{"level"')]
    stream.seek(0)
    stream.truncate()
    assert lines, "the invocation logged nothing"
    return lines


def bound(line: dict, *keys: str) -> dict:
    return {key: line.get(key) for key in ("correlation_id", "orderId", *keys)}


def message(lines: list[dict], text: str) -> dict:
    [line] = [line for line in lines if line["message"] == text]
    return line


@pytest.mark.usefixtures("cloud")
def test_a_workflow_notification_logs_its_order_and_type(lambda_context, handler_logs):
    notification_handler.lambda_handler(
        {"action": "notify", "type": "order-failed", "order": {"orderId": ORDER_ID, "customerId": "customer-1"}},
        lambda_context,
    )
    line = message(log_lines(handler_logs), "notification stored")
    assert bound(line, "notificationType") == {
        "correlation_id": ORDER_ID,
        "orderId": ORDER_ID,
        "notificationType": "order-failed",
    }


@pytest.mark.usefixtures("catalogue")
def test_an_order_creation_logs_the_new_order_and_its_caller(lambda_context, handler_logs):
    response = order_handler.lambda_handler(http_event("POST", "/orders", order_body()), lambda_context)
    order_id = json.loads(response["body"])["orderId"]
    line = message(log_lines(handler_logs), "order created")
    assert bound(line, "customerId", "callerId", "callerAdmin") == {
        "correlation_id": order_id,
        "orderId": order_id,
        "customerId": "customer-1",
        "callerId": "customer-1",
        "callerAdmin": False,
    }


@pytest.mark.usefixtures("cloud")
def test_a_refused_cancel_logs_the_order_and_its_customer(lambda_context, handler_logs):
    order = put_order("COMPLETED", order_id=ORDER_ID)
    order_handler.lambda_handler(http_event("DELETE", f"/orders/{order['orderId']}", content_type=None), lambda_context)
    line = message(log_lines(handler_logs), "cancel refused")
    assert bound(line, "customerId") == {"correlation_id": ORDER_ID, "orderId": ORDER_ID, "customerId": "customer-1"}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.usefixtures("cloud")
def test_a_rejected_request_for_an_order_logs_that_order(lambda_context, handler_logs, method):
    order_handler.lambda_handler(http_event(method, f"/orders/{ORDER_ID}", content_type=None), lambda_context)
    line = message(log_lines(handler_logs), "order not found")
    assert bound(line, "callerId") == {"correlation_id": ORDER_ID, "orderId": ORDER_ID, "callerId": "customer-1"}


@pytest.mark.usefixtures("cloud")
def test_a_refused_claim_logs_the_order_and_customer(lambda_context, handler_logs):
    order = put_order("COMPLETED", order_id=ORDER_ID, executionId="exec-1")
    order_handler.lambda_handler(
        {"action": "claim", "order": order_input(order), "target": "FAILED", "by": "exec-2"}, lambda_context
    )
    line = message(log_lines(handler_logs), "claim refused")
    assert bound(line, "customerId") == {"correlation_id": ORDER_ID, "orderId": ORDER_ID, "customerId": "customer-1"}


@pytest.mark.usefixtures("cloud")
def test_a_charge_logs_the_order_customer_and_attempt(lambda_context, handler_logs):
    order = put_order("PENDING", order_id=ORDER_ID)
    payment_handler.lambda_handler({"action": "charge", "order": order_input(order), "attempt": 2}, lambda_context)
    line = message(log_lines(handler_logs), "payment recorded")
    assert bound(line, "customerId", "attempt") == {
        "correlation_id": ORDER_ID,
        "orderId": ORDER_ID,
        "customerId": "customer-1",
        "attempt": 2,
    }


@pytest.mark.usefixtures("cloud")
def test_a_refund_logs_the_order_and_customer(lambda_context, handler_logs):
    order = put_claimed_order("CANCELLED", order_id=ORDER_ID)
    payment_handler.lambda_handler({"action": "refund", "order": order_input(order)}, lambda_context)
    line = message(log_lines(handler_logs), "nothing charged: intent closed")
    assert bound(line, "customerId") == {"correlation_id": ORDER_ID, "orderId": ORDER_ID, "customerId": "customer-1"}


def test_a_reserve_and_a_release_log_the_order_and_customer(cloud, lambda_context, handler_logs):
    cloud.put_product("prod-1", 10)
    cloud.put_product("prod-2", 10)
    order = put_order("PAID", order_id=ORDER_ID)
    inventory_handler.lambda_handler({"action": "reserve", "order": order_input(order)}, lambda_context)
    line = message(log_lines(handler_logs), "inventory reserved")
    assert bound(line, "customerId") == {"correlation_id": ORDER_ID, "orderId": ORDER_ID, "customerId": "customer-1"}
    put_claimed_order("CANCELLED", order_id=ORDER_ID)
    inventory_handler.lambda_handler({"action": "release", "order": order_input(order)}, lambda_context)
    line = message(log_lines(handler_logs), "inventory released")
    assert bound(line, "customerId") == {"correlation_id": ORDER_ID, "orderId": ORDER_ID, "customerId": "customer-1"}


@pytest.mark.usefixtures("cloud")
def test_a_restock_logs_its_product_and_event_not_an_order(lambda_context, handler_logs):
    inventory_handler.lambda_handler(
        {"action": "restock", "productId": "lamp", "quantity": 1, "eventId": "r-9"}, lambda_context
    )
    line = message(log_lines(handler_logs), "product restocked")
    assert bound(line, "productId", "restockEventId") == {
        "correlation_id": "lamp",
        "orderId": None,
        "productId": "lamp",
        "restockEventId": "r-9",
    }


@pytest.mark.usefixtures("cloud")
def test_the_cancel_binds_its_order_itself(handler_logs):
    """cancel_order is the service call behind DELETE; its own log lines name the order without the route's help."""
    from order import service

    put_order("COMPLETED", order_id=ORDER_ID)
    with pytest.raises(service.CancelConflict):
        service.cancel_order(ORDER_ID, "customer-1")
    line = message(log_lines(handler_logs), "cancel refused")
    assert bound(line, "customerId") == {"correlation_id": ORDER_ID, "orderId": ORDER_ID, "customerId": "customer-1"}
