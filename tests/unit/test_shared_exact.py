"""Exact behaviour of small shared pieces: the client cache's fast path, one client per service name, UTC clocks
whatever the machine's time zone, and the texts and attributes of configuration and domain errors."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared import aws as shared_aws
from shared import clock
from shared.config import ConfigurationError, config
from shared.errors import IllegalTransition, OrderNotFound, OrderValidationError
from shared.repositories import OrdersRepository


def test_a_cached_object_is_returned_without_taking_the_lock():
    """Double-checked: once built, every later call reads the cache without the lock (no contention on the hot
    path of every AWS call)."""
    acquired: list[str] = []

    class CountingLock:
        def __enter__(self) -> None:
            acquired.append(threading.current_thread().name)

        def __exit__(self, *exc: object) -> None:
            return None

    shared_aws.reset()
    original = shared_aws._lock
    shared_aws._lock = CountingLock()
    try:
        made = shared_aws.cached("k", object)
        assert len(acquired) == 1  # the first call builds under the lock
        assert [shared_aws.cached("k", object) for _ in range(3)] == [made, made, made]
        assert len(acquired) == 1  # the three later calls never took it
    finally:
        shared_aws._lock = original
        shared_aws.reset()


@pytest.mark.parametrize(
    "factory,service", [("dynamodb_client", "dynamodb"), ("events_client", "events"), ("s3_client", "s3")]
)
def test_each_service_has_one_client_of_its_own(cloud, factory, service):
    made = getattr(shared_aws, factory)()
    assert made.meta.service_model.service_name == service
    assert shared_aws.client(service) is made and getattr(shared_aws, factory)() is made


def test_the_clients_of_different_services_are_different(cloud):
    assert len({id(shared_aws.dynamodb_client()), id(shared_aws.events_client()), id(shared_aws.s3_client())}) == 3


@pytest.fixture
def tokyo(monkeypatch):
    """The process's local time zone set to UTC+9 (time.tzset), restored afterwards."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_iso_is_utc_whatever_the_local_time_zone(tokyo):
    assert os.environ["TZ"] == "Asia/Tokyo" and time.localtime(0).tm_hour == 9
    plus_two = timezone(timedelta(hours=2))
    assert clock.iso(datetime(2026, 12, 4, 12, 0, 0, 123456, tzinfo=plus_two)) == "2026-12-04T10:00:00.123Z"
    assert clock.iso(datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)) == "2026-12-04T10:00:00.000Z"


def test_utc_now_is_an_aware_utc_instant(tokyo):
    now = clock.utc_now()
    assert now.tzinfo is UTC
    assert abs(now.timestamp() - time.time()) < 5


def test_a_configured_integer_below_its_minimum_names_the_variable_and_the_bound(monkeypatch):
    monkeypatch.setenv("CIRCUIT_FAILURE_THRESHOLD", "0")
    with pytest.raises(ConfigurationError) as info:
        _ = config.circuit_failure_threshold
    assert str(info.value) == "CIRCUIT_FAILURE_THRESHOLD must be >= 1, got 0"


def test_an_illegal_transition_carries_its_order_and_statuses():
    error = IllegalTransition("order-1", "PAID", "COMPLETED", {"orderId": "order-1"})
    assert (error.order_id, error.current, error.target, error.order) == (
        "order-1",
        "PAID",
        "COMPLETED",
        {"orderId": "order-1"},
    )
    assert str(error) == "order order-1: illegal transition PAID -> COMPLETED"


def test_a_validation_error_names_its_field_only_when_it_has_one():
    assert str(OrderValidationError("quantity must be >= 1", "$.items[0].quantity")) == (
        "quantity must be >= 1 (field: $.items[0].quantity)"
    )
    assert str(OrderValidationError("body is not JSON")) == "body is not JSON"
    assert str(OrderValidationError("body is not JSON", "")) == "body is not JSON"


def test_require_names_the_missing_order(cloud):
    with pytest.raises(OrderNotFound) as info:
        OrdersRepository().require("3f0c6a52-8d4e-4b7a-9f1e-2c5d8a7b6e40", "customer-1")
    assert str(info.value) == "order 3f0c6a52-8d4e-4b7a-9f1e-2c5d8a7b6e40 not found"
