"""Notification Lambda, exact effects: the stored object byte for byte, its content type, the counters, every
refusal's message, and the boundaries of the S3 key rule. Expected values are literals."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from notification import service
from shared import aws as shared_aws
from shared import clock
from shared.errors import InvalidTaskInput, NotificationConflict

from .conftest import ENV

NOW = "2026-12-04T10:00:00.000Z"
ORDER = {
    "orderId": "order-123",
    "customerId": "customer-1",
    "totalAmount": "39.98",
    "items": [{"productId": "prod-1", "quantity": 2, "price": "19.99"}],
}


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now_iso", lambda: NOW)


def stored_object(key: str) -> dict:
    obj = shared_aws.s3_client().get_object(Bucket=ENV["NOTIFICATIONS_BUCKET"], Key=key)
    return {"ContentType": obj["ContentType"], "Body": obj["Body"].read().decode("utf-8")}


def test_workflow_notification_is_stored_whole_as_compact_json(cloud, counters):
    result = service.notify_workflow({"type": "payment-declined", "order": ORDER, "details": {"reason": "LIMIT"}})

    key = "notifications/order-123/payment-declined.json"
    assert result == {"status": "SENT", "key": key}
    assert stored_object(key) == {
        "ContentType": "application/json",
        "Body": (
            '{"orderId":"order-123","customerId":"customer-1","type":"payment-declined",'
            '"subject":"Payment declined for order order-123",'
            '"body":"Hello customer-1,\\n\\nwe could not charge 39.98 for order order-123 (LIMIT). The order was not placed.",'
            '"source":"workflow","details":{"reason":"LIMIT"},"createdAt":"2026-12-04T10:00:00.000Z"}'
        ),
    }
    assert counters() == {"NotificationsSent": 1}


def test_workflow_details_that_are_not_an_object_are_dropped(cloud):
    service.notify_workflow({"type": "order-failed", "order": ORDER, "details": ["not", "a", "dict"]})
    assert '"details":{}' in stored_object("notifications/order-123/order-failed.json")["Body"]


def test_a_refused_conditional_put_counts_as_a_duplicate(cloud, monkeypatch, counters):
    monkeypatch.setattr(service, "_exists", lambda bucket, key: False)
    service.notify_workflow({"type": "order-failed", "order": ORDER})
    assert service.notify_workflow({"type": "order-failed", "order": ORDER})["status"] == "DUPLICATE"
    assert counters() == {"NotificationsSent": 1, "NotificationsDuplicate": 1}


class _Head:
    def __init__(self, code):
        self.code, self.puts = code, []

    def head_object(self, **_):
        raise ClientError({"Error": {"Code": self.code}}, "HeadObject")

    def put_object(self, **kwargs):
        self.puts.append(kwargs)


@pytest.mark.parametrize("code", ["404", "NoSuchKey", "NotFound"])
def test_every_not_found_code_means_absent(monkeypatch, code):
    fake = _Head(code)
    monkeypatch.setattr(shared_aws, "s3_client", lambda: fake)
    assert service.store_once("k", {"subject": "s"}) == "SENT"
    assert [(p["Key"], p["Body"], p["ContentType"], p["IfNoneMatch"]) for p in fake.puts] == [
        ("k", b'{"subject":"s"}', "application/json", "*")
    ]


@pytest.mark.parametrize("code", ["NotImplemented", "InvalidArgument", "InvalidRequest", "501"])
def test_every_unsupported_conditional_code_falls_back_to_a_plain_put(monkeypatch, code):
    puts = []

    class S3:
        def head_object(self, **_):
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")

        def put_object(self, **kwargs):
            puts.append(sorted(kwargs))
            if "IfNoneMatch" in kwargs:
                raise ClientError({"Error": {"Code": code}}, "PutObject")

    monkeypatch.setattr(shared_aws, "s3_client", lambda: S3())
    assert service.store_once("k", {}) == "SENT"
    assert puts == [["Body", "Bucket", "ContentType", "IfNoneMatch", "Key"], ["Body", "Bucket", "ContentType", "Key"]]


def test_a_concurrent_write_conflict_names_the_key(cloud, monkeypatch):
    class S3:
        def head_object(self, **_):
            raise ClientError({"Error": {"Code": "404"}}, "HeadObject")

        def put_object(self, **_):
            raise ClientError({"Error": {"Code": "ConditionalRequestConflict"}}, "PutObject")

    monkeypatch.setattr(shared_aws, "s3_client", lambda: S3())
    with pytest.raises(
        NotificationConflict, match=r"^concurrent write of notifications/order-123/order-failed\.json; retry$"
    ):
        service.notify_workflow({"type": "order-failed", "order": ORDER})


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            {"type": "order-shipped", "order": ORDER},
            (
                "type must be one of order-completed, payment-declined, order-cancelled, order-failed, order-expired, "
                "got 'order-shipped'"
            ),
        ),
        ({"type": "order-failed", "order": "order-123"}, "order.orderId is required"),
        ({"type": "order-failed", "order": {"orderId": "a/b"}}, "order.orderId is required"),
    ],
)
def test_workflow_refusals_say_what_is_wrong(cloud, event, message):
    with pytest.raises(InvalidTaskInput) as info:
        service.notify_workflow(event)
    assert str(info.value) == message
    assert cloud.s3_keys() == []


class _Failing:
    """S3 whose head_object / put_object raise a ClientError with no Error block at all."""

    def __init__(self, head_fails):
        self.head_fails, self.puts = head_fails, []
        self.error = ClientError({"ResponseMetadata": {"HTTPStatusCode": 400}}, "S3")

    def head_object(self, **_):
        if self.head_fails:
            raise self.error
        raise ClientError({"Error": {"Code": "404"}}, "HeadObject")

    def put_object(self, **kwargs):
        self.puts.append(sorted(kwargs))
        raise self.error


@pytest.mark.parametrize("head_fails", [True, False], ids=["head", "put"])
def test_an_s3_error_without_an_error_block_propagates_as_it_is(monkeypatch, counters, head_fails):
    fake = _Failing(head_fails)
    monkeypatch.setattr(shared_aws, "s3_client", lambda: fake)
    with pytest.raises(ClientError) as info:
        service.store_once("k", {"subject": "s"})
    assert info.value is fake.error
    assert fake.puts == ([] if head_fails else [["Body", "Bucket", "ContentType", "IfNoneMatch", "Key"]])
    assert counters() == {}
