"""Exact messages, counters and bounds that the coarser tests let through: what an operator reads in a task's
error cause, an API body or a dashboard counter. Expected values are literals."""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from order import api, auth, saga, validation
from shared import aws as shared_aws
from shared.errors import InvalidTaskInput, OrderValidationError

from .helpers import order_input, put_order


def test_api_and_auth_errors_read_as_their_message():
    assert (
        str(api.ApiError(400, "limit must be an integer", "queryStringParameters.limit")) == "limit must be an integer"
    )
    assert str(auth.Forbidden("not your order", "pathParameters.orderId")) == "not your order"


def test_a_json_constant_is_refused_by_name():
    with pytest.raises(OrderValidationError) as info:
        validation.parse_json(b'{"items": NaN}')
    assert (info.value.message, info.value.status_code) == (
        "request body is not valid JSON: NaN is not valid JSON",
        400,
    )


@pytest.mark.parametrize("by", [None, "", "  ", "x" * 513])
def test_a_claimer_refusal_names_the_field_and_the_bound(cloud, by):
    order = put_order("INVENTORY_RESERVED", executionId="exec-1")
    with pytest.raises(InvalidTaskInput) as info:
        saga.claim({"order": order_input(order), "target": "FAILED", "by": by})
    assert str(info.value) == "by is required (a string of at most 512 characters)"


def test_the_longest_claimer_is_accepted(cloud):
    order = put_order("INVENTORY_RESERVED", executionId="x" * 512)
    assert saga.claim({"order": order_input(order), "target": "FAILED", "by": "x" * 512})["claimed"] is True


@pytest.mark.parametrize(
    ("response", "transient"),
    [
        ({"ResponseMetadata": {"HTTPStatusCode": 503}}, True),  # no Error block at all
        ({"ResponseMetadata": {"HTTPStatusCode": 400}}, False),
        ({"Error": {"Code": "ThrottlingException"}}, True),
        ({"Error": {"Code": "ValidationException"}, "ResponseMetadata": {"HTTPStatusCode": 500}}, True),
        ({"Error": {"Code": "ValidationException"}, "ResponseMetadata": {"HTTPStatusCode": 499}}, False),
        ({}, False),
    ],
)
def test_transient_errors_by_code_or_status(response, transient):
    assert shared_aws.is_transient(ClientError(response, "PutItem")) is transient


def test_an_item_without_a_quantity_is_shown_with_a_question_mark():
    from notification import templates

    order = {"orderId": "o", "customerId": "c", "totalAmount": "5.00", "items": [{"productId": "lamp"}]}
    assert templates.render_workflow("order-completed", order, {})[1] == (
        "Hello c,\n\nyour order o is complete. Total charged: 5.00.\n\nItems:\n  - ? x lamp"
    )


def test_order_not_found_reads_as_its_message():
    from shared.errors import OrderNotFound

    assert str(OrderNotFound("o-1")) == "order o-1 not found"


class _Events:
    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.calls = answer, error, []

    def put_events(self, **kwargs):
        self.calls.append(kwargs)
        if self.error:
            raise self.error
        return self.answer


def _publish_with(monkeypatch, fake):
    from shared import events

    monkeypatch.setattr(shared_aws, "events_client", lambda: fake)
    return events.publish("order.service", "Order Created", {"eventId": "e-1", "n": 1})


def test_publish_sends_one_compact_entry_and_returns_its_id(monkeypatch):
    fake = _Events({"FailedEntryCount": 0, "Entries": [{"EventId": "bus-id-1"}]})
    assert _publish_with(monkeypatch, fake) == "bus-id-1"
    assert fake.calls == [
        {
            "Entries": [
                {
                    "Source": "order.service",
                    "DetailType": "Order Created",
                    "Detail": '{"eventId":"e-1","n":1}',
                    "EventBusName": "orderflow-test-bus",
                }
            ]
        }
    ]


@pytest.mark.parametrize("answer", [{}, {"Entries": []}, {"Entries": [None]}, {"Entries": [{}]}])
def test_publish_without_an_entry_id_returns_an_empty_id(monkeypatch, answer):
    assert _publish_with(monkeypatch, _Events(answer)) == ""


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (
            {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]},
            "PutEvents 'Order Created': 1 failed entry (InternalFailure: boom)",
        ),
        ({"FailedEntryCount": 2, "Entries": []}, "PutEvents 'Order Created': 2 failed entries (None: None)"),
        ({"FailedEntryCount": 3}, "PutEvents 'Order Created': 3 failed entries (None: None)"),
    ],
)
def test_failed_entries_are_named_in_the_error(monkeypatch, answer, text):
    from shared.errors import EventPublishError

    with pytest.raises(EventPublishError) as info:
        _publish_with(monkeypatch, _Events(answer))
    assert str(info.value) == text


def test_a_client_error_is_named_in_the_error(monkeypatch):
    from shared.errors import EventPublishError

    error = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutEvents")
    with pytest.raises(EventPublishError) as info:
        _publish_with(monkeypatch, _Events(error=error))
    assert str(info.value) == (
        "PutEvents 'Order Created' failed: An error occurred (ThrottlingException) when "
        "calling the PutEvents operation: slow down"
    )
    assert info.value.__cause__ is error


def test_an_order_total_of_exactly_the_maximum_is_accepted():
    from order import pricing
    from order.validation import CreateOrderItem, CreateOrderRequest

    request = CreateOrderRequest(customer_id="c", items=(CreateOrderItem("p", 2),))
    assert pricing.apply_catalogue(request, {"p": Decimal("50000000.00")}).total_amount == Decimal("100000000.00")
    with pytest.raises(OrderValidationError) as info:
        pricing.apply_catalogue(request, {"p": Decimal("50000000.01")})
    assert info.value.message == "the order's total 100000000.02 exceeds 100000000"


def test_a_missing_identity_says_how_to_authenticate():
    with pytest.raises(auth.Unauthenticated) as info:
        auth.caller_from_event({"requestContext": {}})
    assert str(info.value) == "authentication required: send an ID token as `Authorization: Bearer <token>`"


def test_a_value_json_cannot_hold_is_named_by_type():
    from shared import jsonutil

    with pytest.raises(TypeError) as info:
        jsonutil.dumps({"x": object()})
    assert str(info.value) == "Object of type object is not JSON serializable"
    assert jsonutil.dumps({"s": {3, 1}, "d": Decimal(2), "f": Decimal("2.50")}) == '{"s":[1,3],"d":2,"f":2.5}'


@pytest.mark.parametrize("factory", ["dynamodb_client", "dynamodb_resource", "events_client", "s3_client"])
def test_every_client_retries_in_standard_mode_with_short_timeouts(factory):
    shared_aws.reset()
    made = getattr(shared_aws, factory)()
    config = (made.meta.client if factory == "dynamodb_resource" else made).meta.config
    assert (config.retries, config.connect_timeout, config.read_timeout) == (
        {"mode": "standard", "total_max_attempts": 4},
        5,
        10,
    )
    assert getattr(shared_aws, factory)() is made  # cached


def test_configuration_errors_name_the_variable(monkeypatch):
    from shared.config import ConfigurationError, config

    monkeypatch.delenv("ORDERS_TABLE")
    with pytest.raises(ConfigurationError) as info:
        _ = config.orders_table
    assert str(info.value) == "environment variable ORDERS_TABLE is not set"
    monkeypatch.setenv("ORDERS_TABLE", "   ")
    with pytest.raises(ConfigurationError):
        _ = config.orders_table
    monkeypatch.setenv("STALE_ORDER_MINUTES", "soon")
    with pytest.raises(ConfigurationError) as info:
        _ = config.stale_order_minutes
    assert str(info.value) == "STALE_ORDER_MINUTES must be an integer, got 'soon'"
