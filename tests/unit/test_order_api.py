"""Order Lambda: HTTP routes, idempotency, cancel, direct invoke, find_stale."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from order import api, handler, saga, service
from shared import aws as shared_aws
from shared import clock, events
from shared.errors import IllegalTransition, InvalidTaskInput, OrderValidationError, UnsupportedEvent

from .helpers import get_order, http_event, order_body, put_order, response_json

#: uuid5(NAMESPACE_URL, "urn:orderflow:event"), the documented namespace of every eventId
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:orderflow:event")

#: every order test prices from the unit-test catalogue (conftest.CATALOGUE: prod-1 19.99, prod-2 69.99)
pytestmark = pytest.mark.usefixtures("catalogue")


def post(lambda_context, body=None, **kwargs):
    return handler.lambda_handler(http_event("POST", "/orders", body, **kwargs), lambda_context)


def fail_put_events(monkeypatch, error_code="InternalFailure"):
    client = shared_aws.events_client()
    calls = []

    def failing(**kwargs):
        calls.append(kwargs)
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": error_code, "ErrorMessage": "boom"}]}

    monkeypatch.setattr(client, "put_events", failing)
    return calls


class FixedClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now = self.now + timedelta(**delta)


@pytest.fixture
def fixed_clock(monkeypatch):
    fake = FixedClock(datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC))
    monkeypatch.setattr(clock, "utc_now", fake)
    return fake


# ---------------------------------------------------------------------------------------------
# POST /orders
# ---------------------------------------------------------------------------------------------
def test_create_order_writes_pending_order_and_publishes_order_created(cloud, lambda_context, capsys):
    response = post(lambda_context, order_body())

    assert response["statusCode"] == 201
    assert response["headers"]["Content-Type"] == "application/json"
    body = response_json(response)
    assert set(body) == {"orderId", "status"} and body["status"] == "PENDING"
    uuid.UUID(body["orderId"])

    [stored] = cloud.items("ORDERS_TABLE")
    assert stored["orderId"] == body["orderId"]
    assert stored["customerId"] == "customer-1"
    assert stored["totalAmount"] == Decimal("109.97")
    assert stored["items"][0] == {"productId": "prod-1", "quantity": Decimal(2), "price": Decimal("19.99")}
    assert stored["status"] == "PENDING"
    assert [h["status"] for h in stored["statusHistory"]] == ["PENDING"]
    assert stored["createdAt"] == stored["updatedAt"] and stored["createdAt"].endswith("Z")
    assert stored["version"] == 1

    [event] = cloud.events()
    assert event["source"] == "order.service"
    assert event["detail-type"] == "Order Created"
    detail = event["detail"]
    assert detail["eventId"] == events.event_id(body["orderId"], "Order Created")
    assert detail["orderId"] == body["orderId"]
    assert detail["customerId"] == "customer-1"
    assert detail["totalAmount"] == "109.97"
    assert detail["items"] == [
        {"productId": "prod-1", "quantity": 2, "price": "19.99"},
        {"productId": "prod-2", "quantity": 1, "price": "69.99"},
    ]
    assert detail["createdAt"] == stored["createdAt"]
    assert '"OrdersCreated":[1.0]' in capsys.readouterr().out


def test_create_order_keeps_the_order_and_its_event_when_put_events_reports_failed_entries(
    cloud, lambda_context, monkeypatch
):
    calls = fail_put_events(monkeypatch)

    response = post(lambda_context, order_body())

    assert response["statusCode"] == 201  # accepted: the outbox delivers the event
    order_id = response_json(response)["orderId"]
    assert len(calls) == 1
    assert [o["status"] for o in cloud.items("ORDERS_TABLE")] == ["PENDING"]
    [entry] = cloud.items("OUTBOX_TABLE")
    assert entry["kind"] == "event" and entry["detailType"] == "Order Created" and entry["orderId"] == order_id
    assert entry["id"] == str(uuid.uuid5(EVENT_NAMESPACE, f"{order_id}|Order Created"))
    assert cloud.events() == []


def test_create_order_deletes_the_outbox_entry_once_published(cloud, lambda_context):
    assert post(lambda_context, order_body())["statusCode"] == 201
    assert cloud.items("OUTBOX_TABLE") == []
    assert len(cloud.events("Order Created")) == 1


def test_put_events_api_error_leaves_the_event_in_the_outbox(cloud, lambda_context, monkeypatch):
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    assert post(lambda_context, order_body())["statusCode"] == 201
    assert len(cloud.items("ORDERS_TABLE")) == 1
    assert [e["detailType"] for e in cloud.items("OUTBOX_TABLE")] == ["Order Created"]


# ---------------------------------------------------------------------------------------------
# Idempotency-Key
# ---------------------------------------------------------------------------------------------
def test_same_idempotency_key_and_body_returns_same_response_and_one_order(cloud, lambda_context):
    headers = {"Idempotency-Key": "key-123"}
    first = post(lambda_context, order_body(), headers=headers)
    # same JSON, different formatting/key order -> same canonical body
    reordered = (
        '{"totalAmount": 109.970, "items": [{"price": 19.99, "quantity": 2, "productId": "prod-1"},'
        ' {"productId": "prod-2", "quantity": 1, "price": 69.99}], "customerId": "customer-1"}'
    )
    second = post(lambda_context, raw_body=reordered, headers=headers)

    assert first["statusCode"] == second["statusCode"] == 201
    assert response_json(first) == response_json(second)
    assert len(cloud.items("ORDERS_TABLE")) == 1
    assert len(cloud.events("Order Created")) == 1
    [record] = cloud.items("IDEMPOTENCY_TABLE")
    assert record["id"].startswith("orderflow-order-create#")
    assert record["status"] == "COMPLETED"
    # the documented replay window is 24 hours (docs/api.md)
    assert 86_400 - 60 <= int(record["expiration"]) - time.time() <= 86_400


def test_same_idempotency_key_different_body_is_409(cloud, lambda_context):
    headers = {"Idempotency-Key": "key-123"}
    assert post(lambda_context, order_body(), headers=headers)["statusCode"] == 201
    other = order_body(items=[{"productId": "prod-1", "quantity": 1, "price": 19.99}], totalAmount=19.99)

    response = post(lambda_context, other, headers=headers)

    assert response["statusCode"] == 409
    assert response_json(response) == {
        "message": "Idempotency-Key was already used with a different request body",
        "field": "headers.idempotency-key",
    }
    assert len(cloud.items("ORDERS_TABLE")) == 1
    assert len(cloud.events()) == 1


def test_different_idempotency_keys_create_different_orders(cloud, lambda_context):
    a = post(lambda_context, order_body(), headers={"Idempotency-Key": "a"})
    b = post(lambda_context, order_body(), headers={"Idempotency-Key": "b"})
    assert response_json(a)["orderId"] != response_json(b)["orderId"]
    assert len(cloud.items("ORDERS_TABLE")) == 2


def test_create_with_key_whose_publish_failed_is_not_created_twice(cloud, lambda_context, monkeypatch):
    headers = {"Idempotency-Key": "retry-me"}
    client = shared_aws.events_client()
    real = client.put_events
    fail_put_events(monkeypatch)
    first = post(lambda_context, order_body(), headers=headers)
    assert first["statusCode"] == 201
    monkeypatch.setattr(client, "put_events", real)

    second = post(lambda_context, order_body(), headers=headers)
    assert second["statusCode"] == 201 and response_json(second) == response_json(first)
    assert len(cloud.items("ORDERS_TABLE")) == 1


def test_idempotency_in_progress_is_409(cloud, lambda_context, monkeypatch):
    def in_progress(*_a, **_k):
        raise IdempotencyAlreadyInProgressError("busy")

    monkeypatch.setattr(api, "create_with_idempotency_key", in_progress)
    response = post(lambda_context, order_body(), headers={"Idempotency-Key": "k"})
    assert response["statusCode"] == 409
    assert "in progress" in response_json(response)["message"]


# ---------------------------------------------------------------------------------------------
# GET /orders/{orderId}
# ---------------------------------------------------------------------------------------------
def test_get_order_returns_order_with_numbers_and_history(cloud, lambda_context):
    order_id = response_json(post(lambda_context, order_body()))["orderId"]

    response = handler.lambda_handler(http_event("GET", f"/orders/{order_id}", content_type=None), lambda_context)

    assert response["statusCode"] == 200
    body = response_json(response)
    assert body["orderId"] == order_id
    assert body["status"] == "PENDING"
    assert body["totalAmount"] == 109.97
    assert body["items"][0] == {"productId": "prod-1", "quantity": 2, "price": 19.99}
    assert body["statusHistory"][0]["status"] == "PENDING"
    assert body["version"] == 1
    assert "paymentId" not in body


def test_get_order_includes_payment_id_and_short_items_when_present(cloud, lambda_context):
    order = put_order(
        "INVENTORY_UNAVAILABLE", paymentId="pay-1", shortItems=[{"productId": "prod-1", "requested": 2, "available": 1}]
    )
    body = response_json(handler.lambda_handler(http_event("GET", f"/orders/{order['orderId']}"), lambda_context))
    assert body["paymentId"] == "pay-1"
    assert body["shortItems"] == [{"productId": "prod-1", "requested": 2, "available": 1}]


def test_get_unknown_order_is_404(cloud, lambda_context):
    response = handler.lambda_handler(http_event("GET", "/orders/does-not-exist"), lambda_context)
    assert response["statusCode"] == 404
    assert response_json(response) == {"message": "order does-not-exist not found", "field": None}


# ---------------------------------------------------------------------------------------------
# GET /customers/{customerId}/orders
# ---------------------------------------------------------------------------------------------
def test_list_customer_orders_newest_first_with_pagination(cloud, lambda_context, fixed_clock):
    ids = []
    for _ in range(3):
        ids.append(response_json(post(lambda_context, order_body()))["orderId"])
        fixed_clock.advance(minutes=1)
    assert post(lambda_context, order_body(customerId="someone-else"), customer="someone-else")["statusCode"] == 201

    first = handler.lambda_handler(
        http_event("GET", "/customers/customer-1/orders", query={"limit": "2"}), lambda_context
    )
    page1 = response_json(first)
    assert first["statusCode"] == 200
    assert [o["orderId"] for o in page1["orders"]] == [ids[2], ids[1]]
    assert page1["nextToken"]

    second = handler.lambda_handler(
        http_event("GET", "/customers/customer-1/orders", query={"limit": "2", "nextToken": page1["nextToken"]}),
        lambda_context,
    )
    page2 = response_json(second)
    assert [o["orderId"] for o in page2["orders"]] == [ids[0]]
    assert page2["nextToken"] is None


def test_list_customer_orders_default_limit_and_empty(cloud, lambda_context):
    body = response_json(
        handler.lambda_handler(http_event("GET", "/customers/nobody/orders", customer="nobody"), lambda_context)
    )
    assert body == {"orders": [], "nextToken": None}


LIMIT_ERROR = {"message": "limit must be an integer between 1 and 100", "field": "queryStringParameters.limit"}
TOKEN_ERROR = {"message": "nextToken is invalid", "field": "queryStringParameters.nextToken"}


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"limit": "0"}, LIMIT_ERROR),
        ({"limit": "101"}, LIMIT_ERROR),
        ({"limit": "ten"}, LIMIT_ERROR),
        ({"limit": "²"}, LIMIT_ERROR),  # str.isdigit() is true for it; int() is not
        ({"limit": "1" * 5000}, LIMIT_ERROR),  # int() refuses more than 4,300 digits
        ({"limit": " 5"}, LIMIT_ERROR),
        ({"nextToken": "!!!"}, TOKEN_ERROR),
        ({"nextToken": "e30"}, TOKEN_ERROR),  # "{}"
        ({"nextToken": api.encode_token({"orderId": "o", "customerId": "other", "createdAt": "x"})}, TOKEN_ERROR),
    ],
)
def test_list_customer_orders_bad_query(cloud, lambda_context, query, error):
    response = handler.lambda_handler(http_event("GET", "/customers/customer-1/orders", query=query), lambda_context)
    assert response["statusCode"] == 400
    assert response_json(response) == error


@pytest.mark.parametrize("limit", ["1", "100"])
def test_list_customer_orders_accepts_the_limit_bounds(cloud, lambda_context, limit):
    for _ in range(2):
        assert post(lambda_context, order_body())["statusCode"] == 201
    response = handler.lambda_handler(
        http_event("GET", "/customers/customer-1/orders", query={"limit": limit}), lambda_context
    )
    assert response["statusCode"] == 200
    assert len(response_json(response)["orders"]) == min(int(limit), 2)


def test_next_token_is_unpadded_url_safe_base64_of_the_last_key():
    key = {"orderId": "o-12", "customerId": "c", "createdAt": "2024-05-01T12:00:00Z"}  # 70 JSON bytes: base64 pads "=="
    token = api.encode_token(key)
    assert token == "eyJvcmRlcklkIjoiby0xMiIsImN1c3RvbWVySWQiOiJjIiwiY3JlYXRlZEF0IjoiMjAyNC0wNS0wMVQxMjowMDowMFoifQ"
    assert api.decode_token(token, "c") == key
    assert api.encode_token(None) is None and api.encode_token({}) is None


def test_list_customer_orders_bad_customer_id(cloud, lambda_context):
    response = handler.lambda_handler(http_event("GET", "/customers/bad%20id/orders"), lambda_context)
    assert response["statusCode"] == 400
    assert response_json(response)["field"] == "pathParameters.customerId"


# ---------------------------------------------------------------------------------------------
# DELETE /orders/{orderId}
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["PENDING", "PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"])
def test_cancel_cancellable_order(cloud, lambda_context, status):
    order = put_order(status)

    response = handler.lambda_handler(http_event("DELETE", f"/orders/{order['orderId']}"), lambda_context)

    assert response["statusCode"] == 202
    assert response_json(response) == {"orderId": order["orderId"], "status": "CANCELLED"}
    stored = get_order(order["orderId"])
    assert stored["status"] == "CANCELLED"
    assert stored["statusHistory"][-1]["status"] == "CANCELLED"
    assert stored["statusHistory"][-1]["reason"] == "customer cancel"
    assert stored["version"] == 2
    assert stored["claim"]["by"] == f"cancel:{order['orderId']}" and stored["claim"]["status"] == "CANCELLED"
    assert [e["id"] for e in cloud.items("OUTBOX_TABLE")] == [f"{order['orderId']}#finalize"]  # the duty stays
    [event] = cloud.events()
    assert event["source"] == "order.service"
    assert event["detail-type"] == "Order Cancellation Requested"
    assert event["detail"] == {
        "eventId": events.event_id(order["orderId"], "Order Cancellation Requested"),
        "orderId": order["orderId"],
        "customerId": "customer-1",
        "previousStatus": status,
    }


@pytest.mark.parametrize("status", ["COMPLETED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"])
def test_cancel_not_cancellable_is_409(cloud, lambda_context, status):
    order = put_order(status)
    response = handler.lambda_handler(http_event("DELETE", f"/orders/{order['orderId']}"), lambda_context)
    assert response["statusCode"] == 409
    assert response_json(response) == {
        "message": f"order {order['orderId']} cannot be cancelled in status {status}",
        "field": "status",
    }
    assert get_order(order["orderId"])["status"] == status
    assert cloud.events() == []


def test_cancel_twice_answers_202_again_and_publishes_once(cloud, lambda_context):
    order = put_order("PENDING")
    event = http_event("DELETE", f"/orders/{order['orderId']}")
    assert handler.lambda_handler(event, lambda_context)["statusCode"] == 202
    assert handler.lambda_handler(event, lambda_context)["statusCode"] == 202
    assert len(cloud.events()) == 1
    assert get_order(order["orderId"])["version"] == 2


def test_cancel_unknown_order_is_404(cloud, lambda_context):
    response = handler.lambda_handler(http_event("DELETE", "/orders/nope"), lambda_context)
    assert response["statusCode"] == 404


def test_cancel_publish_failure_is_202_and_the_event_waits_in_the_outbox(cloud, lambda_context, monkeypatch):
    order = put_order("PAID")
    event = http_event("DELETE", f"/orders/{order['orderId']}")
    fail_put_events(monkeypatch)

    assert handler.lambda_handler(event, lambda_context)["statusCode"] == 202
    assert get_order(order["orderId"])["status"] == "CANCELLED"
    entries = {e["kind"]: e for e in cloud.items("OUTBOX_TABLE")}
    assert set(entries) == {"event", "finalize"}
    assert entries["event"]["detailType"] == "Order Cancellation Requested"
    assert '"previousStatus":"PAID"' in entries["event"]["detail"].replace(" ", "")
    assert cloud.events() == []


def test_cancel_retries_when_the_workflow_moves_the_order_meanwhile(cloud, monkeypatch):
    order = put_order("PENDING")
    real = service.orders.transition
    calls = []

    def racing(order_id, customer_id, target, reason, **kwargs):
        calls.append(kwargs["expected_from"])
        if len(calls) == 1:  # the payment Lambda got there first
            real(order_id, customer_id, "PAID", "payment approved")
        return real(order_id, customer_id, target, reason, **kwargs)

    monkeypatch.setattr(service.orders, "transition", racing)
    assert service.cancel_order(order["orderId"])["status"] == "CANCELLED"
    assert calls == [["PENDING"], ["PAID"]]
    assert cloud.events()[0]["detail"]["previousStatus"] == "PAID"


def test_cancel_gives_up_after_repeated_races(cloud, monkeypatch):
    order = put_order("PENDING")

    def always_racing(order_id, customer_id, target, reason, **kwargs):
        raise IllegalTransition(order_id, "PAID", target)

    monkeypatch.setattr(service.orders, "transition", always_racing)
    with pytest.raises(service.CancelConflict):
        service.cancel_order(order["orderId"])


# ---------------------------------------------------------------------------------------------
# routing errors
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/nope", 404, None),
        ("GET", "/orders/a/b", 404, None),
        ("POST", "/orders/", 404, None),
        ("GET", "/customers/c1/orders/", 404, None),
        ("PUT", "/orders", 405, "POST"),
        ("GET", "/orders", 405, "POST"),
        ("POST", "/orders/abc", 405, "GET, DELETE"),
        ("PATCH", "/orders/abc", 405, "GET, DELETE"),
        ("DELETE", "/customers/c1/orders", 405, "GET"),
    ],
)
def test_unknown_route_and_wrong_method(cloud, lambda_context, method, path, status, allow):
    response = handler.lambda_handler(http_event(method, path), lambda_context)
    assert response["statusCode"] == status
    body = response_json(response)
    assert set(body) == {"message", "field"}
    if allow:
        assert response["headers"]["Allow"] == allow
    assert cloud.items("ORDERS_TABLE") == []


def test_post_without_body_is_400(cloud, lambda_context):
    event = http_event("POST", "/orders")
    event.pop("body")
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400 and response_json(response)["message"] == "request body is required"


def test_header_lookup_without_headers():
    from order.validation import header

    assert header(None, "content-type") is None
    assert header({"Content-Type": ["a"]}, "content-type") is None


def test_unexpected_error_is_500_json(cloud, lambda_context, monkeypatch):
    def boom(*_args, **_kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(service, "get_order", boom)
    response = handler.lambda_handler(http_event("GET", "/orders/x"), lambda_context)
    assert response["statusCode"] == 500
    assert response_json(response) == {"message": "internal error", "field": None}


def test_named_stage_prefix_is_stripped(cloud, lambda_context):
    event = http_event("POST", "/prod/orders", order_body())
    event["requestContext"]["stage"] = "prod"
    assert handler.lambda_handler(event, lambda_context)["statusCode"] == 201


# ---------------------------------------------------------------------------------------------
# direct invoke (seed) and unsupported events
# ---------------------------------------------------------------------------------------------
def test_direct_invoke_creates_order_and_returns_plain_dict(cloud, lambda_context):
    result = handler.lambda_handler(order_body(), lambda_context)
    assert set(result) == {"orderId", "status"} and result["status"] == "PENDING"
    assert get_order(result["orderId"])["totalAmount"] == Decimal("109.97")
    assert len(cloud.events("Order Created")) == 1


def test_direct_invoke_invalid_payload_raises(cloud, lambda_context):
    with pytest.raises(OrderValidationError) as info:
        handler.lambda_handler(order_body(totalAmount=1), lambda_context)
    assert info.value.field == "$.totalAmount"
    assert cloud.items("ORDERS_TABLE") == [] and cloud.events() == []


@pytest.mark.parametrize("event", [{"action": "explode"}, {"hello": "world"}, ["list"]])
def test_unsupported_events_raise(cloud, lambda_context, event):
    with pytest.raises(UnsupportedEvent):
        handler.lambda_handler(event, lambda_context)


# ---------------------------------------------------------------------------------------------
# find_stale
# ---------------------------------------------------------------------------------------------
def test_find_stale_returns_old_live_orders(cloud, lambda_context, fixed_clock):
    old = "2024-05-01T11:00:00.000Z"  # 60 minutes before the fixed now
    fresh = "2024-05-01T11:50:00.000Z"  # 10 minutes before
    stale_ids = {
        s: put_order(s, updated_at=old)["orderId"]
        for s in ["PENDING", "PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"]
    }
    for terminal in ["COMPLETED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"]:
        put_order(terminal, updated_at=old)
    put_order("PENDING", updated_at=fresh)

    result = handler.lambda_handler({"action": "find_stale", "olderThanMinutes": None}, lambda_context)

    # ids only, in Live-Index shard order (tests/unit/test_saga_exact.py pins the order and the paging)
    assert sorted(result["orders"], key=lambda o: o["orderId"]) == sorted(
        [{"orderId": oid, "customerId": "customer-1", "unchangedSince": old} for oid in stale_ids.values()],
        key=lambda o: o["orderId"],
    )
    assert result["resume"] == [] and result["republished"] == 0 and result["nextToken"] is None

    recent = handler.lambda_handler({"action": "find_stale", "olderThanMinutes": 5}, lambda_context)
    assert len(recent["orders"]) == 5
    assert handler.lambda_handler({"action": "find_stale", "olderThanMinutes": 120}, lambda_context)["orders"] == []


def test_find_stale_respects_limit_and_paginates(cloud, fixed_clock, monkeypatch):
    for _ in range(5):
        put_order("PENDING", updated_at="2024-01-01T00:00:00.000Z")
    put_order("PAID", updated_at="2024-01-01T00:00:00.000Z")
    assert len(saga.sweep({"limit": 3})["orders"]) == 3
    assert len(saga.sweep({"limit": 5})["orders"]) == 5
    assert len(saga.sweep({})["orders"]) == 6
    # force DynamoDB pagination inside one status
    real_query = saga.orders._table.query
    monkeypatch.setattr(saga.orders.__class__, "_table", property(lambda self: _PagedTable(real_query)))
    assert len(saga.sweep({})["orders"]) == 6


class _PagedTable:
    def __init__(self, query):
        self._query = query

    def query(self, **kwargs):
        kwargs["Limit"] = min(kwargs.get("Limit", 2), 2)
        return self._query(**kwargs)


@pytest.mark.parametrize(
    "event",
    [
        {"olderThanMinutes": -1},
        {"olderThanMinutes": "10"},
        {"olderThanMinutes": True},
        {"olderThanMinutes": 1.5},
        {"limit": 0},
        {"limit": 5000},
    ],
)
def test_find_stale_rejects_bad_input(cloud, event):
    with pytest.raises(InvalidTaskInput):
        saga.sweep(event)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_direct_invoke_rejects_non_finite_numbers(cloud, lambda_context, bad):
    with pytest.raises(OrderValidationError) as info:
        handler.lambda_handler(order_body(totalAmount=bad), lambda_context)
    assert info.value.field == "$.totalAmount" and "must be number" in info.value.message


# ---------------------------------------------------------------------------------------------
# path ids and crafted nextTokens: 400 before anything reaches DynamoDB (which refuses keys over 2 KB, empty strings
# and start keys that are not the index's keys with a ValidationException; moto does not, so the answer is the test)
# ---------------------------------------------------------------------------------------------
ORDER_ID_ERROR = {"message": "orderId is invalid", "field": "pathParameters.orderId"}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize(
    "order_id", ["a" * 65, "a" * 3000, "é" * 1100, "%00", "a b", "-abc", "_abc", "abc.def", "ab%2Fc"]
)
def test_an_order_id_that_breaks_the_id_rule_is_400(cloud, lambda_context, method, order_id):
    order = put_order("PENDING")

    response = handler.lambda_handler(http_event(method, f"/orders/{order_id}"), lambda_context)

    assert response["statusCode"] == 400
    assert response_json(response) == ORDER_ID_ERROR
    assert cloud.items("ORDERS_TABLE") == [order] and cloud.items("OUTBOX_TABLE") == []
    assert cloud.events() == []


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_an_order_id_of_64_characters_is_looked_up(cloud, lambda_context, method):
    order_id = "A" + "b" * 62 + "9"  # the id rule's longest id: unknown, so 404 (not 400)
    response = handler.lambda_handler(http_event(method, f"/orders/{order_id}"), lambda_context)
    assert response["statusCode"] == 404
    assert response_json(response) == {"message": f"order {order_id} not found", "field": None}


def test_the_caller_is_checked_before_the_order_id(cloud, lambda_context):
    response = handler.lambda_handler(http_event("GET", "/orders/" + "a" * 65, customer=None), lambda_context)
    assert response["statusCode"] == 401


@pytest.mark.parametrize("customer_id", ["c" * 65, "-c", "kundé", "c%20d"])
def test_a_customer_id_that_breaks_the_id_rule_is_400(cloud, lambda_context, customer_id):
    response = handler.lambda_handler(http_event("GET", f"/customers/{customer_id}/orders"), lambda_context)
    assert response["statusCode"] == 400
    assert response_json(response) == {"message": "customerId is invalid", "field": "pathParameters.customerId"}


def _token(**key):
    """base64url (unpadded) of the JSON `key`, built here: a crafted token as a client could send it."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


GOOD_KEY = {"orderId": "o-1", "customerId": "customer-1", "createdAt": "2024-05-01T12:00:00.000Z"}


@pytest.mark.parametrize(
    "token",
    [
        _token(**{**GOOD_KEY, "orderId": 5}),  # wrong types
        _token(**{**GOOD_KEY, "createdAt": 5}),
        _token(**{**GOOD_KEY, "customerId": ["customer-1"]}),
        _token(**{**GOOD_KEY, "orderId": ""}),  # empty strings: a ValidationException
        _token(**{**GOOD_KEY, "createdAt": ""}),
        _token(**{**GOOD_KEY, "orderId": "o" * 3000}),  # a key over 2 KB
        _token(**{**GOOD_KEY, "orderId": "o" * 65}),
        _token(**{**GOOD_KEY, "createdAt": "2024-05-01T12:00:00.000Z" + "0" * 2000}),
        _token(**{**GOOD_KEY, "createdAt": "2024-05-01 12:00:00.000Z"}),
        _token(**{**GOOD_KEY, "createdAt": "2024-05-01T12:00:00.0Z"}),
        _token(**{**GOOD_KEY, "createdAt": "yesterday"}),
        _token(**{**GOOD_KEY, "status": "PAID"}),  # extra key
        _token(orderId="o-1", customerId="customer-1"),  # missing key
        _token(**{**GOOD_KEY, "customerId": "customer-2"}),  # another customer's list
        _token(**{**GOOD_KEY, "customerId": "Customer-1"}),
        base64.urlsafe_b64encode(b'["o-1", "customer-1"]').decode(),  # JSON, not an object
        base64.urlsafe_b64encode(b"\xff\xfe\xfd\xfc").decode(),  # not UTF-8
        "A",  # impossible length (bad padding)
        _token(**GOOD_KEY) + "=",  # padded: not the token's alphabet
        _token(**GOOD_KEY)[:10] + "!" + _token(**GOOD_KEY)[10:],  # decodes the same if "!" were skipped
        _token(**GOOD_KEY)[:10] + "+" + _token(**GOOD_KEY)[11:],  # standard base64 alphabet
        _token(**GOOD_KEY)[:10] + "." + _token(**GOOD_KEY)[10:],
    ],
    ids=[
        "orderId-number",
        "createdAt-number",
        "customerId-list",
        "orderId-empty",
        "createdAt-empty",
        "orderId-3000",
        "orderId-65",
        "createdAt-long",
        "createdAt-space",
        "createdAt-1-digit-ms",
        "createdAt-word",
        "extra-key",
        "missing-key",
        "other-customer",
        "customer-case",
        "json-array",
        "not-utf8",
        "bad-padding",
        "padded",
        "bang",
        "plus",
        "dot",
    ],
)
def test_a_crafted_next_token_is_400(cloud, lambda_context, token):
    response = handler.lambda_handler(
        http_event("GET", "/customers/customer-1/orders", query={"nextToken": token}), lambda_context
    )
    assert response["statusCode"] == 400
    assert response_json(response) == TOKEN_ERROR


@pytest.mark.parametrize("created_at", ["2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00Z"])
def test_a_next_token_of_the_index_key_shape_starts_after_that_key(cloud, lambda_context, created_at):
    put_order("PAID", order_id="o-new", updated_at="2024-05-01T12:00:01.000Z")
    older = put_order("PAID", order_id="o-old", updated_at="2024-05-01T11:00:00.000Z")
    token = _token(orderId="o-1", customerId="customer-1", createdAt=created_at)

    response = handler.lambda_handler(
        http_event("GET", "/customers/customer-1/orders", query={"nextToken": token}), lambda_context
    )

    assert response["statusCode"] == 200
    assert [o["orderId"] for o in response_json(response)["orders"]] == [older["orderId"]]
    assert api.decode_token(token, "customer-1") == {
        "orderId": "o-1",
        "customerId": "customer-1",
        "createdAt": created_at,
    }
