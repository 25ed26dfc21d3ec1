"""shared: config, events publisher, JSON, models helpers, DynamoDB helpers, clock, errors, transient AWS errors."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from shared import aws as shared_aws
from shared import clock, events, jsonutil
from shared.config import config
from shared.errors import (
    RETRYABLE_ERROR_NAMES,
    ConfigurationError,
    EventPublishError,
    InvalidTaskInput,
    RetryableError,
    TransientAwsError,
)
from shared.models import (
    LineItem,
    aggregate_quantities,
    money_str,
    order_summary,
    parse_items,
    parse_order_ref,
    to_decimal,
)
from shared.repositories import InventoryRepository, _ddb

from .conftest import ENV


# ---------------------------------------------------------------------------------------------
# config
# ---------------------------------------------------------------------------------------------
def test_config_is_read_lazily(monkeypatch):
    assert config.orders_table == ENV["ORDERS_TABLE"]
    monkeypatch.setenv("ORDERS_TABLE", "changed")
    assert config.orders_table == "changed"
    assert config.inventory_table == ENV["INVENTORY_TABLE"]
    assert config.reservations_table == ENV["RESERVATIONS_TABLE"]
    assert config.idempotency_table == ENV["IDEMPOTENCY_TABLE"]
    assert config.circuit_breaker_table == ENV["CIRCUIT_BREAKER_TABLE"]
    assert config.notifications_bucket == ENV["NOTIFICATIONS_BUCKET"]
    assert config.payments_table == ENV["PAYMENTS_TABLE"]
    assert config.outbox_table == ENV["OUTBOX_TABLE"] == "orderflow-test-outbox"
    assert config.payment_gateway_table == ENV["PAYMENT_GATEWAY_TABLE"] == "orderflow-test-payment-gateway"
    assert config.event_bus_name == ENV["EVENT_BUS_NAME"]


def test_config_defaults(monkeypatch):
    for name in [
        "PAYMENT_CUSTOMER_LIMIT",
        "PAYMENT_DECLINE_CUSTOMERS",
        "PAYMENT_FAULT_RATE",
        "PAYMENT_FAULT_SEED",
        "CIRCUIT_FAILURE_THRESHOLD",
        "CIRCUIT_COOLDOWN_SECONDS",
        "STALE_ORDER_MINUTES",
    ]:
        monkeypatch.delenv(name)
    assert config.payment_customer_limit == Decimal("5000.00")
    assert config.payment_decline_customers == frozenset({"customer-declined"})
    assert config.payment_fault_rate == 0.0
    assert config.payment_fault_seed == "0"
    assert config.circuit_failure_threshold == 5
    assert config.circuit_cooldown_seconds == 30
    assert config.stale_order_minutes == 30
    assert config.outbox_grace_seconds == 120  # OUTBOX_GRACE_SECONDS unset in the baseline env
    monkeypatch.setenv("OUTBOX_GRACE_SECONDS", "0")
    assert config.outbox_grace_seconds == 0
    monkeypatch.setenv("PAYMENT_DECLINE_CUSTOMERS", "")
    assert config.payment_decline_customers == frozenset()


@pytest.mark.parametrize(
    ("name", "value", "attribute"),
    [
        ("ORDERS_TABLE", "", "orders_table"),
        ("PAYMENT_CUSTOMER_LIMIT", "lots", "payment_customer_limit"),
        ("PAYMENT_CUSTOMER_LIMIT", "-1", "payment_customer_limit"),
        ("PAYMENT_CUSTOMER_LIMIT", "Infinity", "payment_customer_limit"),
        ("PAYMENT_FAULT_RATE", "often", "payment_fault_rate"),
        ("PAYMENT_FAULT_RATE", "1.5", "payment_fault_rate"),
        ("CIRCUIT_FAILURE_THRESHOLD", "0", "circuit_failure_threshold"),
        ("CIRCUIT_COOLDOWN_SECONDS", "soon", "circuit_cooldown_seconds"),
        ("OUTBOX_GRACE_SECONDS", "-1", "outbox_grace_seconds"),
        ("OUTBOX_GRACE_SECONDS", "two minutes", "outbox_grace_seconds"),
        ("OUTBOX_TABLE", "", "outbox_table"),
        ("PAYMENT_GATEWAY_TABLE", "", "payment_gateway_table"),
    ],
)
def test_config_rejects_bad_values(monkeypatch, name, value, attribute):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError):
        getattr(config, attribute)


# ---------------------------------------------------------------------------------------------
# events
# ---------------------------------------------------------------------------------------------
def test_event_id_is_deterministic_uuid5():
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "urn:orderflow:event")
    assert events.event_id("o-1", "Order Created") == str(uuid.uuid5(namespace, "o-1|Order Created"))
    assert events.event_id("o-1", "Order Created") == events.event_id("o-1", "Order Created")
    assert events.event_id("o-1", "Order Created") != events.event_id("o-2", "Order Created")
    assert events.event_id("o-1", "X", "d") == str(uuid.uuid5(namespace, "o-1|X|d"))


def test_publish_puts_on_the_configured_bus(cloud):
    events.publish(events.ORDER_SERVICE, "Order Created", {"eventId": "e", "amount": Decimal("1.50"), "n": Decimal(2)})
    [event] = cloud.events()
    assert event["detail"] == {"eventId": "e", "amount": 1.5, "n": 2}


def test_publish_raises_retryable_on_failed_entries(cloud, monkeypatch):
    client = shared_aws.events_client()
    monkeypatch.setattr(client, "put_events", lambda **_: {"FailedEntryCount": 2, "Entries": []})
    with pytest.raises(EventPublishError, match="2 failed entries"):
        events.publish("s", "t", {"eventId": "e"})


def test_publish_wraps_client_errors(cloud, monkeypatch):
    def throttled(**_):
        raise ClientError({"Error": {"Code": "ThrottlingException"}}, "PutEvents")

    monkeypatch.setattr(shared_aws.events_client(), "put_events", throttled)
    with pytest.raises(EventPublishError):
        events.publish("s", "t", {"eventId": "e"})


def test_all_subclasses_walks_the_whole_tree_depth_first():
    from shared.errors import _all_subclasses

    class Root(Exception): ...

    class Child(Root): ...

    class Grandchild(Child): ...

    class Sibling(Root): ...

    assert _all_subclasses(Root) == [Child, Grandchild, Sibling]
    assert _all_subclasses(Grandchild) == []


def test_retryable_error_names_for_the_workflows():
    assert RETRYABLE_ERROR_NAMES == [
        "CircuitOpenError",
        "EventPublishError",
        "InventoryContention",
        "NotificationConflict",
        "PaymentGatewayUnavailable",
        "RetryableError",
        "TransientAwsError",
    ]


# ---------------------------------------------------------------------------------------------
# json / money / parsing
# ---------------------------------------------------------------------------------------------
def test_jsonutil():
    assert jsonutil.dumps({"a": Decimal("19.90"), "b": Decimal(3), "c": {1, 2}}) == '{"a":19.9,"b":3,"c":[1,2]}'
    assert jsonutil.plain([Decimal("0.10")]) == [0.1]
    with pytest.raises(TypeError):
        jsonutil.dumps(object())


def test_money_helpers():
    assert money_str(Decimal("109.9")) == "109.90"
    assert money_str(19.99) == "19.99"
    assert money_str("5") == "5.00"
    assert to_decimal(0.1) == Decimal("0.1")
    for bad in [None, True, "abc", float("inf"), "NaN", [1]]:
        with pytest.raises(InvalidTaskInput):
            to_decimal(bad)


def test_parse_order_ref_and_items():
    ref = parse_order_ref(
        {
            "orderId": "o1",
            "customerId": "c1",
            "totalAmount": "10.50",
            "items": [{"productId": "p1", "quantity": "2", "price": 5.25}, {"productId": "p2", "quantity": 1}],
        },
        require_amount=True,
        require_items=True,
    )
    assert ref.total_amount == Decimal("10.50")
    assert ref.items == (LineItem("p1", 2, Decimal("5.25")), LineItem("p2", 1, None))
    assert aggregate_quantities([*ref.items, LineItem("p1", 3)]) == {"p1": 5, "p2": 1}
    assert aggregate_quantities([{"productId": "x", "quantity": Decimal(2)}]) == {"x": 2}


@pytest.mark.parametrize(
    ("raw", "kwargs"),
    [
        ({"orderId": "o1", "customerId": "c1"}, {"require_amount": True}),
        ({"orderId": "o1", "customerId": "c1"}, {"require_items": True}),
        ({"orderId": 5, "customerId": "c1"}, {}),
        ({"orderId": "o1", "customerId": "c1", "items": "x"}, {}),
        ({"orderId": "o1", "customerId": "c1", "items": ["x"]}, {}),
        ({"orderId": "o1", "customerId": "c1", "items": [{"productId": "p", "quantity": 0}]}, {}),
        ({"orderId": "o1", "customerId": "c1", "items": [{"productId": "p", "quantity": True}]}, {}),
        ({"orderId": "o1", "customerId": "c1", "items": [{"productId": "p", "quantity": "two"}]}, {}),
        ({"orderId": "o1", "customerId": "c1", "items": [{"productId": "p", "quantity": 1.5}]}, {}),
        ({"orderId": "o1", "customerId": "c1", "items": [{"productId": "", "quantity": 1}]}, {}),
    ],
)
def test_parse_order_ref_rejects(raw, kwargs):
    with pytest.raises(InvalidTaskInput):
        parse_order_ref(raw, **kwargs)


def test_parse_items_requires_list():
    with pytest.raises(InvalidTaskInput):
        parse_items(None)


def test_order_summary():
    summary = order_summary(
        {
            "orderId": "o",
            "customerId": "c",
            "status": "PAID",
            "totalAmount": Decimal(3),
            "items": [{"productId": "p", "quantity": Decimal(1), "price": Decimal(3)}],
        }
    )
    assert summary == {
        "orderId": "o",
        "customerId": "c",
        "status": "PAID",
        "totalAmount": "3.00",
        "items": [{"productId": "p", "quantity": 1, "price": "3.00"}],
    }


# ---------------------------------------------------------------------------------------------
# dynamodb helpers / inventory repository / clock / aws cache
# ---------------------------------------------------------------------------------------------
def test_cancellation_codes_from_reasons_and_from_message():
    with_reasons = ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "x"},
            "CancellationReasons": [{"Code": "None"}, {"Code": "ConditionalCheckFailed"}],
        },
        "T",
    )
    assert _ddb.cancellation_codes(with_reasons, 3) == ["None", "ConditionalCheckFailed", "Unknown"]
    message_only = ClientError(
        {
            "Error": {
                "Code": "TransactionCanceledException",
                "Message": "Transaction cancelled [None, ConditionalCheckFailed]",
            }
        },
        "T",
    )
    assert _ddb.cancellation_codes(message_only, 2) == ["None", "ConditionalCheckFailed"]
    nothing = ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "no list"}}, "T")
    assert _ddb.cancellation_codes(nothing, 1) == ["Unknown"]
    assert _ddb.error_code(ValueError()) == ""
    assert _ddb.deserialize_map({"a": {"N": "1"}}) == {"a": Decimal(1)}


def test_inventory_repository_helpers(cloud):
    repo = InventoryRepository()
    repo.put_product("p1", 4, name="Widget")
    assert repo.get("p1") == {"productId": "p1", "available": 4, "reserved": 0, "name": "Widget"}
    assert repo.available(["p1", "missing"]) == {"p1": 4, "missing": 0}


def test_iso_format_and_clock():
    moment = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert clock.iso(moment) == "2024-01-02T03:04:05.678Z"
    assert clock.iso(moment.astimezone(timezone(timedelta(hours=2)))) == "2024-01-02T03:04:05.678Z"
    assert clock.now_iso().endswith("Z")
    assert clock.epoch_seconds() > 1_700_000_000


def test_aws_clients_are_cached_and_resettable(cloud):
    first = shared_aws.events_client()
    assert shared_aws.events_client() is first
    assert shared_aws.table(ENV["ORDERS_TABLE"]) is shared_aws.table(ENV["ORDERS_TABLE"])
    shared_aws.reset()
    assert shared_aws.events_client() is not first


def test_event_detail_serialization_roundtrip(cloud):
    detail = events.publish_order_event("x.y", "Thing Happened", "o-9", {"v": Decimal("0.30")})
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "urn:orderflow:event")
    assert detail == {
        "eventId": str(uuid.uuid5(namespace, "o-9|Thing Happened")),
        "orderId": "o-9",
        "v": Decimal("0.30"),
    }
    assert json.loads(jsonutil.dumps(detail))["v"] == 0.3
    [event] = cloud.events()
    assert (event["source"], event["detail-type"]) == ("x.y", "Thing Happened")
    assert event["detail"] == {"eventId": detail["eventId"], "orderId": "o-9", "v": 0.3}


# ---------------------------------------------------------------------------------------------
# aws.transient_as_retryable
# ---------------------------------------------------------------------------------------------
def _client_error(code, status=400, operation="UpdateItem"):
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


TRANSIENT = [
    _client_error("ThrottlingException"),
    _client_error("ProvisionedThroughputExceededException"),
    _client_error("RequestLimitExceeded"),
    _client_error("TransactionInProgressException"),
    _client_error("InternalServerError", 500),
    _client_error("SomethingNew", 503),
    _client_error("", 500),
    ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    ConnectionClosedError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
]
NOT_TRANSIENT = [
    _client_error("ConditionalCheckFailedException"),
    _client_error("TransactionCanceledException"),
    _client_error("ValidationException"),
    _client_error("AccessDeniedException", 403),
    _client_error("ResourceNotFoundException"),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__ + ":" + _ddb.error_code(e))
def test_transient_aws_errors_become_transient_aws_error(error):
    assert shared_aws.is_transient(error) is True

    @shared_aws.transient_as_retryable
    def call():
        raise error

    with pytest.raises(TransientAwsError) as info:
        call()
    assert type(info.value).__name__ == "TransientAwsError"
    assert isinstance(info.value, RetryableError)
    assert info.value.__cause__ is error
    assert str(info.value).startswith("transient AWS error: ")


@pytest.mark.parametrize("error", NOT_TRANSIENT, ids=lambda e: _ddb.error_code(e))
def test_other_aws_errors_pass_through_unchanged(error):
    assert shared_aws.is_transient(error) is False

    @shared_aws.transient_as_retryable
    def call():
        raise error

    with pytest.raises(ClientError) as info:
        call()
    assert info.value is error


def test_transient_as_retryable_keeps_results_names_and_other_exceptions():
    @shared_aws.transient_as_retryable
    def add(a, b=0):
        """doc"""
        return a + b

    assert add(1, b=2) == 3
    assert add.__name__ == "add" and add.__doc__ == "doc"

    @shared_aws.transient_as_retryable
    def bug():
        raise KeyError("x")

    with pytest.raises(KeyError):
        bug()
    assert shared_aws.is_transient(ValueError("x")) is False
    assert shared_aws.is_transient(ClientError({"Error": {"Code": "X"}}, "Op")) is False  # no HTTP status at all


def test_concurrent_first_uses_share_one_client():
    """Two threads asking for the same client at once get one object: the second, which waited on the lock while
    the first built it, must take the first's (a Lambda's threads share its clients)."""
    import threading

    made: list[object] = []
    building, waiting = threading.Event(), threading.Event()

    class ObservedLock:
        """The cache's lock, announcing a thread that is about to wait on it."""

        def __init__(self) -> None:
            self._lock = threading.RLock()

        def __enter__(self) -> None:
            if threading.current_thread().name == "second":
                waiting.set()
            self._lock.acquire()

        def __exit__(self, *exc: object) -> None:
            self._lock.release()

    def factory() -> object:
        if threading.current_thread().name == "first":
            building.set()
            assert waiting.wait(10), "the second thread never reached the lock"
        made.append(object())
        return made[-1]

    got: dict[str, object] = {}
    original = shared_aws._lock
    shared_aws._lock = ObservedLock()
    try:
        shared_aws.reset()
        first = threading.Thread(target=lambda: got.update(first=shared_aws.cached("k", factory)), name="first")
        second = threading.Thread(target=lambda: got.update(second=shared_aws.cached("k", factory)), name="second")
        first.start()
        assert building.wait(10), "the first thread never built"
        second.start()
        first.join(10)
        second.join(10)
    finally:
        shared_aws._lock = original
        shared_aws.reset()
    assert len(made) == 1
    assert got == {"first": made[0], "second": made[0]}


def test_each_thread_has_its_own_table_resource(cloud):
    """boto3 resources are not thread-safe: a Table object is cached per thread, never shared across threads."""
    import threading

    mine = shared_aws.table(ENV["ORDERS_TABLE"])
    theirs: list[object] = []
    thread = threading.Thread(target=lambda: theirs.append(shared_aws.table(ENV["ORDERS_TABLE"])))
    thread.start()
    thread.join(10)
    assert theirs and theirs[0] is not mine
    assert shared_aws.table(ENV["ORDERS_TABLE"]) is mine


def test_cancellation_codes_from_a_message_that_starts_with_the_list():
    at_start = ClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "[ConditionalCheckFailed, None]"}}, "T"
    )
    assert _ddb.cancellation_codes(at_start, 2) == ["ConditionalCheckFailed", "None"]


def test_a_business_counter_is_a_count_metric():
    from aws_lambda_powertools import Metrics

    from shared import observability

    observability.count("OrdersTestCounted", 2)
    assert Metrics().metric_set["OrdersTestCounted"] == {"Unit": "Count", "StorageResolution": 60, "Value": [2.0]}
