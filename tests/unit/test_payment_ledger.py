"""The payment service and the provider's ledger, request by request: which DynamoDB requests a charge makes on the
payments table, and a gateway move that succeeded answers from its own conditional write, without reading the
ledger back (a read that would fail cannot turn a done refund into an error). Expected values are literals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from payment import gateway as gw
from payment import service
from shared import clock

from .conftest import ENV
from .helpers import ledger_items, order_input, payment_row, put_order

NOW = "2026-12-04T10:00:00.000Z"
ORDER_ID = "3c9e1f2a-6b7d-4c8e-9f0a-1b2c3d4e5f60"
PAYMENT_ID = "pay-ledger-1"


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC))


@pytest.fixture
def requests_on(monkeypatch):
    """requests_on(env_name) -> the DynamoDB operations sent to that table so far, in order (successful or not)."""
    seen: list[tuple[str, str]] = []
    wrapped = BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.endpoint_prefix == "dynamodb":
            seen.append((params.get("TableName", ""), operation))
        return wrapped(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return lambda env_name: [operation for table, operation in seen if table == ENV[env_name]]


def gateway() -> gw.SimulatedGateway:
    return gw.SimulatedGateway(
        customer_limit=Decimal("5000.00"),
        decline_customers=frozenset({"customer-declined"}),
        fault_rate=0.0,
        fault_seed="0",
    )


def authorized_key(g: gw.SimulatedGateway) -> None:
    assert g.authorize(PAYMENT_ID, "order-1", "customer-1", Decimal("7.00")) == gw.Authorization(True, None)


def test_a_fresh_charge_sends_its_recorded_intent_to_the_gateway_without_reading_it_back(cloud, requests_on):
    """Payments table: the intent's conditional put (no read before: the order is PENDING, so a first charge finds no
    row) and the PENDING -> PAID move, no read after (the move that succeeded wrote what the row now is). The intent
    just put is the row the gateway is asked about: no read between put and call."""
    order = put_order("PENDING", order_id=ORDER_ID)
    before = len(requests_on("PAYMENTS_TABLE"))
    assert service.charge(order_input(order), gateway=gateway())["status"] == "PAID"
    assert requests_on("PAYMENTS_TABLE")[before:] == ["PutItem", "UpdateItem"]
    assert requests_on("PAYMENT_GATEWAY_TABLE") == ["GetItem", "PutItem"]
    assert payment_row(ORDER_ID)["status"] == "PAID"


def test_a_charge_again_after_parking_finds_the_recorded_intent(cloud, requests_on):
    """The gateway was away (RETRY_LATER, the intent stays PENDING); the parked charge's conditional put is refused
    (the intent exists), so it reads the recorded row, then moves it: put, read, move."""
    order = put_order("PENDING", order_id=ORDER_ID)
    away = gw.SimulatedGateway(
        customer_limit=Decimal("5000.00"), decline_customers=frozenset(), fault_rate=1.0, fault_seed="0"
    )
    assert service.charge(order_input(order), gateway=away)["status"] == "RETRY_LATER"
    assert payment_row(ORDER_ID)["status"] == "PENDING"
    before = len(requests_on("PAYMENTS_TABLE"))
    assert service.charge(order_input(order), attempt=1, gateway=gateway())["status"] == "PAID"
    assert requests_on("PAYMENTS_TABLE")[before:] == ["PutItem", "GetItem", "UpdateItem"]
    assert payment_row(ORDER_ID)["status"] == "PAID"
    assert payment_row(ORDER_ID)["attempt"] == 0  # the intent recorded by the first charge, not a second one


def test_a_refund_of_an_authorized_key_is_one_conditional_update(cloud, requests_on):
    g = gateway()
    authorized_key(g)
    before = len(requests_on("PAYMENT_GATEWAY_TABLE"))
    assert g.refund(PAYMENT_ID) == "REFUNDED"
    assert requests_on("PAYMENT_GATEWAY_TABLE")[before:] == ["UpdateItem"]
    assert ledger_items() == [
        {
            "paymentId": PAYMENT_ID,
            "orderId": "order-1",
            "amount": Decimal("7.00"),
            "status": "REFUNDED",
            "reason": None,
            "createdAt": NOW,
            "changedAt": NOW,
        }
    ]


def test_a_void_of_an_authorized_key_reverses_it_without_reading_it_again(cloud, requests_on):
    """The void's conditional put loses to the authorization, reads it (AUTHORIZED), reverses it: three requests."""
    g = gateway()
    authorized_key(g)
    before = len(requests_on("PAYMENT_GATEWAY_TABLE"))
    assert g.void(PAYMENT_ID, "order-1") == "REVERSED"
    assert requests_on("PAYMENT_GATEWAY_TABLE")[before:] == ["PutItem", "GetItem", "UpdateItem"]
    assert ledger_items() == [
        {
            "paymentId": PAYMENT_ID,
            "orderId": "order-1",
            "amount": Decimal("7.00"),
            "status": "REVERSED",
            "reason": None,
            "createdAt": NOW,
            "changedAt": NOW,
        }
    ]


def test_a_refund_done_is_reported_done_even_when_the_ledger_cannot_be_read(cloud, monkeypatch):
    """The money went back with the conditional update; a throttled ledger read afterwards changes nothing."""
    g = gateway()
    authorized_key(g)
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "GetItem"
    )

    def unreadable(self, payment_id):
        raise throttled

    monkeypatch.setattr(gw.SimulatedGateway, "entry", unreadable)
    assert g.refund(PAYMENT_ID) == "REFUNDED"
    assert [e["status"] for e in ledger_items()] == ["REFUNDED"]
