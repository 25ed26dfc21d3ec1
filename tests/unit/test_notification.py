"""Notification Lambda: rendering, S3 keys, exactly-once storage."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from notification import handler, service, templates
from shared import aws as shared_aws
from shared import events
from shared.errors import InvalidTaskInput, NotificationConflict, TransientAwsError, UnsupportedEvent

ORDER = {
    "orderId": "order-123",
    "customerId": "customer-1",
    "items": [{"productId": "prod-1", "quantity": 2, "price": "19.99"}, {"productId": "prod-2", "quantity": 1}],
    "totalAmount": "39.98",
}


def notify(kind, details=None, order=None):
    return {"action": "notify", "type": kind, "order": order or ORDER, "details": details or {}}


def bus_event(detail_type, **detail):
    base = {"orderId": "order-123", "customerId": "customer-1"}
    base.update(detail)
    base.setdefault("eventId", events.event_id(base["orderId"], detail_type))
    return {
        "version": "0",
        "id": "envelope-1",
        "source": "payment.service",
        "detail-type": detail_type,
        "detail": base,
    }


@pytest.mark.parametrize("kind", templates.WORKFLOW_TYPES)
def test_workflow_notification_is_stored_once(cloud, lambda_context, kind, capsys):
    result = handler.lambda_handler(notify(kind, {"reason": "CUSTOMER_DECLINED"}), lambda_context)

    key = f"notifications/order-123/{kind}.json"
    assert result == {"status": "SENT", "key": key}
    message = cloud.s3_json(key)
    assert message["orderId"] == "order-123" and message["customerId"] == "customer-1"
    assert message["type"] == kind and message["source"] == "workflow"
    assert message["subject"] and "order-123" in message["body"]
    assert message["details"] == {"reason": "CUSTOMER_DECLINED"}
    assert '"NotificationsSent":[1.0]' in capsys.readouterr().out

    again = handler.lambda_handler(notify(kind, {"reason": "other"}), lambda_context)
    assert again == {"status": "DUPLICATE", "key": key}
    assert cloud.s3_json(key)["details"] == {"reason": "CUSTOMER_DECLINED"}  # not overwritten
    assert cloud.s3_keys() == [key]


HELLO = "Hello customer-1,\n\n"
ITEMS = "\n\nItems:\n  - 2 x prod-1 @ 19.99\n  - 1 x prod-2"


@pytest.mark.parametrize(
    ("kind", "order", "details", "subject", "body"),
    [
        (
            "order-completed",
            ORDER,
            {},
            "Your order order-123 is confirmed",
            HELLO + "your order order-123 is complete. Total charged: 39.98." + ITEMS,
        ),
        (
            "order-completed",
            {"orderId": "o", "items": [{"quantity": 1}, "x"]},
            {},
            "Your order o is confirmed",
            "Hello customer,\n\nyour order o is complete. Total charged: n/a.",
        ),
        (
            "payment-declined",
            ORDER,
            {"reason": "AMOUNT_OVER_LIMIT"},
            "Payment declined for order order-123",
            HELLO + "we could not charge 39.98 for order order-123 (AMOUNT_OVER_LIMIT). The order was not placed.",
        ),
        (
            "payment-declined",
            {"orderId": "o"},
            {},
            "Payment declined for order o",
            "Hello customer,\n\nwe could not charge n/a for order o. The order was not placed.",
        ),
        (
            "payment-declined",
            {**ORDER, "totalAmount": "abc"},
            {"error": "Gateway"},
            "Payment declined for order order-123",
            HELLO + "we could not charge n/a for order order-123 (Gateway). The order was not placed.",
        ),
        (
            "order-cancelled",
            ORDER,
            {"cause": "CUSTOMER"},
            "Your order order-123 was cancelled",
            HELLO + "your order order-123 was cancelled (CUSTOMER). Any payment has been refunded.",
        ),
        (
            "order-cancelled",
            ORDER,
            {},
            "Your order order-123 was cancelled",
            HELLO + "your order order-123 was cancelled. Any payment has been refunded.",
        ),
        (
            "order-failed",
            ORDER,
            {},
            "We could not process order order-123",
            HELLO
            + "a technical problem stopped order order-123. Any payment has been refunded and reserved items released.",
        ),
        (
            "order-expired",
            ORDER,
            {},
            "Your order order-123 expired",
            HELLO + "your order order-123 was not completed in time and has expired. Any payment has been refunded.",
        ),
    ],
)
def test_workflow_texts(kind, order, details, subject, body):
    assert templates.render_workflow(kind, order, details) == (subject, body)


@pytest.mark.parametrize(
    "detail_type",
    [
        events.PAYMENT_PROCESSED,
        events.PAYMENT_FAILED,
        events.PAYMENT_REFUNDED,
        events.ORDER_CANCELLATION_REQUESTED,
        events.ORDER_COMPLETED,
        "Inventory Reserved",
    ],
)
def test_a_bus_event_is_refused_and_writes_nothing(cloud, lambda_context, detail_type):
    """No rule targets the function since the workflows notify each outcome once (issue 13): a bus event that reaches
    it anyway (a stray invoke) is refused, so it dead-letters instead of writing a second message."""
    event = bus_event(detail_type, amount="39.98", paymentId="pay-1", totalAmount="39.98")
    with pytest.raises(UnsupportedEvent, match=r"^unsupported notification event \(action=None\)$"):
        handler.lambda_handler(event, lambda_context)
    assert cloud.s3_keys() == []


def test_conditional_put_refused_is_a_duplicate(cloud, monkeypatch):
    # head_object says "missing" (race): the IfNoneMatch put is what stops the second write
    monkeypatch.setattr(service, "_exists", lambda bucket, key: False)
    assert service.notify_workflow(notify("order-failed"))["status"] == "SENT"
    assert service.notify_workflow(notify("order-failed"))["status"] == "DUPLICATE"
    assert cloud.s3_keys() == ["notifications/order-123/order-failed.json"]


class _S3Proxy:
    """Wraps the real S3 client; put_object with IfNoneMatch behaves like a given endpoint/SDK."""

    def __init__(self, real, failure):
        self._real = real
        self._failure = failure
        self.puts = []

    def __getattr__(self, name):
        return getattr(self._real, name)

    def put_object(self, **kwargs):
        self.puts.append(sorted(kwargs))
        if "IfNoneMatch" in kwargs:
            raise self._failure
        return self._real.put_object(**kwargs)


@pytest.mark.parametrize(
    "failure",
    [
        ParamValidationError(report="Unknown parameter in input: IfNoneMatch"),
        ClientError({"Error": {"Code": "NotImplemented"}}, "PutObject"),
        ClientError({"Error": {"Code": "InvalidArgument"}}, "PutObject"),
    ],
)
def test_endpoint_without_conditional_writes_falls_back_to_head_check(cloud, monkeypatch, failure):
    proxy = _S3Proxy(shared_aws.s3_client(), failure)
    monkeypatch.setattr(shared_aws, "s3_client", lambda: proxy)
    assert service.notify_workflow(notify("order-expired"))["status"] == "SENT"
    assert len(proxy.puts) == 2 and "IfNoneMatch" not in proxy.puts[1]
    assert service.notify_workflow(notify("order-expired"))["status"] == "DUPLICATE"  # head check
    assert len(proxy.puts) == 2


def test_conditional_write_conflict_is_retryable(cloud, monkeypatch):
    proxy = _S3Proxy(shared_aws.s3_client(), ClientError({"Error": {"Code": "ConditionalRequestConflict"}}, "Put"))
    monkeypatch.setattr(shared_aws, "s3_client", lambda: proxy)
    with pytest.raises(NotificationConflict):
        service.notify_workflow(notify("order-expired"))


def test_other_s3_errors_propagate(cloud, monkeypatch):
    proxy = _S3Proxy(shared_aws.s3_client(), ClientError({"Error": {"Code": "AccessDenied"}}, "PutObject"))
    monkeypatch.setattr(shared_aws, "s3_client", lambda: proxy)
    with pytest.raises(ClientError):
        service.notify_workflow(notify("order-expired"))

    class Forbidden:
        def head_object(self, **_):
            raise ClientError({"Error": {"Code": "403"}}, "HeadObject")

    monkeypatch.setattr(shared_aws, "s3_client", lambda: Forbidden())
    with pytest.raises(ClientError):
        service.notify_workflow(notify("order-expired"))


@pytest.mark.parametrize(
    "event",
    [
        {"action": "notify", "type": "order-shipped", "order": ORDER},
        {"action": "notify", "type": "order-completed"},
        {"action": "notify", "type": "order-completed", "order": {"orderId": "../etc"}},
    ],
)
def test_invalid_notification_input(cloud, lambda_context, event):
    with pytest.raises(InvalidTaskInput):
        handler.lambda_handler(event, lambda_context)
    assert cloud.s3_keys() == []


@pytest.mark.parametrize("event", [{"action": "email"}, {"detail-type": "X", "detail": None}, "text"])
def test_unsupported_notification_event(cloud, lambda_context, event):
    with pytest.raises(UnsupportedEvent):
        handler.lambda_handler(event, lambda_context)


@pytest.mark.parametrize("code", ["SlowDown", "ServiceUnavailable", "InternalError"])
def test_throttled_or_failing_s3_is_a_transient_error(cloud, lambda_context, monkeypatch, code):
    failure = ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject")
    proxy = _S3Proxy(shared_aws.s3_client(), failure)
    monkeypatch.setattr(shared_aws, "s3_client", lambda: proxy)
    with pytest.raises(TransientAwsError) as info:
        handler.lambda_handler(notify("order-cancelled"), lambda_context)
    assert type(info.value).__name__ == "TransientAwsError" and info.value.__cause__ is failure
    assert cloud.s3_keys() == []


def test_a_rejected_s3_write_is_not_transient(cloud, lambda_context, monkeypatch):
    failure = ClientError({"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "Put")
    proxy = _S3Proxy(shared_aws.s3_client(), failure)
    monkeypatch.setattr(shared_aws, "s3_client", lambda: proxy)
    with pytest.raises(ClientError) as info:
        handler.lambda_handler(notify("order-cancelled"), lambda_context)
    assert not isinstance(info.value, TransientAwsError)
