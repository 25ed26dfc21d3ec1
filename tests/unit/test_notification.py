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
    ("detail_type", "detail", "subject", "body"),
    [
        (
            events.PAYMENT_PROCESSED,
            {"amount": "39.98", "paymentId": "pay-1"},
            "Payment received for order order-123",
            HELLO + "we received your payment of 39.98 for order order-123 (payment pay-1).",
        ),
        (
            events.PAYMENT_PROCESSED,
            {"amount": "abc"},
            "Payment received for order order-123",
            HELLO + "we received your payment of n/a for order order-123 (payment None).",
        ),
        (
            events.PAYMENT_FAILED,
            {"amount": "5", "reason": "CARD"},
            "Payment failed for order order-123",
            HELLO + "your payment of 5.00 for order order-123 was declined (CARD).",
        ),
        (
            events.PAYMENT_FAILED,
            {"totalAmount": "7.5"},
            "Payment failed for order order-123",
            HELLO + "your payment of 7.50 for order order-123 was declined.",
        ),
        (
            events.PAYMENT_REFUNDED,
            {"amount": "39.98", "reason": "CUSTOMER"},
            "Refund issued for order order-123",
            HELLO + "we refunded 39.98 for order order-123 (CUSTOMER).",
        ),
        (
            events.PAYMENT_REFUNDED,
            {"amount": "39.98"},
            "Refund issued for order order-123",
            HELLO + "we refunded 39.98 for order order-123.",
        ),
        (
            events.ORDER_CANCELLATION_REQUESTED,
            {"previousStatus": "PAID"},
            "Cancellation received for order order-123",
            HELLO
            + "we received your request to cancel order order-123 (status was PAID). Any payment will be refunded.",
        ),
        (
            events.ORDER_COMPLETED,
            {"totalAmount": "39.98"},
            "Order order-123 completed",
            HELLO + "your order order-123 is complete. Total: 39.98.",
        ),
    ],
)
def test_event_texts(detail_type, detail, subject, body):
    assert templates.render_event(detail_type, {"orderId": "order-123", "customerId": "customer-1", **detail}) == (
        subject,
        body,
    )


def test_event_text_without_customer_greets_the_customer():
    assert templates.render_event(events.ORDER_COMPLETED, {"orderId": "o", "totalAmount": "1"})[1] == (
        "Hello customer,\n\nyour order o is complete. Total: 1.00."
    )


@pytest.mark.parametrize("detail_type", templates.EVENT_TYPES)
def test_eventbridge_notification_uses_event_id_key(cloud, lambda_context, detail_type):
    event = bus_event(
        detail_type, amount="39.98", paymentId="pay-1", reason="why", previousStatus="PAID", totalAmount="39.98"
    )
    event_id = event["detail"]["eventId"]

    result = handler.lambda_handler(event, lambda_context)

    key = f"notifications/order-123/events/{event_id}.json"
    assert result == {"status": "SENT", "key": key}
    message = cloud.s3_json(key)
    assert message["type"] == detail_type and message["eventId"] == event_id
    assert message["source"] == "payment.service" and message["detail"]["orderId"] == "order-123"
    assert "order-123" in message["subject"]
    # a redelivery / archive replay (new envelope id, same detail.eventId) writes nothing new
    replay = dict(event, id="envelope-2")
    assert handler.lambda_handler(replay, lambda_context) == {"status": "DUPLICATE", "key": key}
    assert cloud.s3_keys() == [key]


def test_event_without_detail_event_id_falls_back_to_envelope_id(cloud, lambda_context):
    event = bus_event(events.ORDER_COMPLETED, totalAmount="10.00")
    del event["detail"]["eventId"]
    result = handler.lambda_handler(event, lambda_context)
    assert result["key"] == "notifications/order-123/events/envelope-1.json"


def test_workflow_style_event_id_is_kept_verbatim(cloud, lambda_context):
    event = bus_event(events.ORDER_COMPLETED, eventId="order-123:order-completed", totalAmount="1.00")
    key = handler.lambda_handler(event, lambda_context)["key"]
    assert key == "notifications/order-123/events/order-123:order-completed.json"


@pytest.mark.parametrize("event_id", ["../x", "order-1|Order Completed", "a/b", "x" * 200])
def test_unsafe_event_ids_become_a_stable_key(cloud, lambda_context, event_id):
    event = bus_event(events.ORDER_COMPLETED, eventId=event_id, totalAmount="1.00")
    first = handler.lambda_handler(event, lambda_context)
    assert first["status"] == "SENT"
    assert first["key"] == f"notifications/order-123/events/{service.key_part(event_id)}.json"
    assert "/" not in service.key_part(event_id) and ".." not in first["key"]
    assert handler.lambda_handler(event, lambda_context)["status"] == "DUPLICATE"
    assert cloud.s3_json(first["key"])["eventId"] == event_id


def test_other_detail_types_are_ignored(cloud, lambda_context):
    result = handler.lambda_handler(bus_event("Inventory Reserved"), lambda_context)
    assert result == {"status": "IGNORED", "key": None}
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
        {"detail-type": events.PAYMENT_PROCESSED, "detail": {"orderId": "a/b", "eventId": "e"}},
        {"detail-type": events.PAYMENT_PROCESSED, "detail": {"orderId": "o1", "eventId": 42}},
        {"detail-type": events.PAYMENT_PROCESSED, "detail": {"orderId": "o1"}},
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
