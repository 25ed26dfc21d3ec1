"""The payment provider's ledger and the payment service's counters, exact: the whole ledger entry a void writes,
a void that loses a race to a refund, a draw equal to the fault rate, every refusal's message, and which counter a
charge emits (the alarms and the dashboard read them by name). Expected values are literals."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from payment import gateway as gw
from payment import service
from shared import clock
from shared.errors import InvalidTaskInput, OrderNotFound, PaymentGatewayUnavailable

from .helpers import ledger_items, order_input, payment_row, put_claimed_order, put_order

NOW = "2026-12-04T10:00:00.000Z"
ORDER_ID = "5b2f9c1e-7a3d-4e8b-9c6f-0d1e2f3a4b5c"


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC))


def gateway(**overrides) -> gw.SimulatedGateway:
    params = {
        "customer_limit": Decimal("5000.00"),
        "decline_customers": frozenset({"customer-declined"}),
        "fault_rate": 0.0,
        "fault_seed": "0",
    }
    return gw.SimulatedGateway(**{**params, **overrides})


def test_a_void_of_an_unseen_key_writes_the_whole_ledger_entry(cloud):
    assert gateway().void("pay-1", "order-1") == "VOIDED"
    assert ledger_items() == [
        {
            "paymentId": "pay-1",
            "orderId": "order-1",
            "amount": Decimal(0),
            "status": "VOIDED",
            "reason": None,
            "createdAt": NOW,
        }
    ]


def test_a_refund_of_a_pending_intent_voids_the_key_under_its_order(cloud):
    order = put_order("PENDING", order_id=ORDER_ID)
    key = "9e2d4c1a-0b3f-4a5e-8d7c-6b5a4f3e2d1c"  # a payment id is a uuid (the task contract)
    intent = {
        "orderId": ORDER_ID,
        "customerId": "customer-1",
        "status": "PENDING",
        "paymentId": key,
        "amount": Decimal("109.97"),
        "attempt": 0,
        "createdAt": NOW,
    }
    assert service.payments.put_if_absent(intent)
    put_claimed_order("CANCELLED", order_id=ORDER_ID)
    service.refund(order_input(order), "too slow", gateway=gateway())
    assert ledger_items() == [
        {
            "paymentId": key,
            "orderId": ORDER_ID,
            "amount": Decimal(0),
            "status": "VOIDED",
            "reason": None,
            "createdAt": NOW,
        }
    ]


def test_a_void_that_loses_the_race_to_a_refund_answers_the_stored_status(cloud, monkeypatch):
    """The void finds the key AUTHORIZED, but a refund moves it before the void's reversal: the void reports what
    the ledger holds (REFUNDED), not the status it read."""
    g = gateway()
    g.authorize("pay-1", "order-1", "customer-1", Decimal("7.00"))
    real_record = gw.SimulatedGateway._record

    def record_then_refund(self, entry):
        recorded = real_record(self, entry)
        assert self.refund("pay-1") == "REFUNDED"  # the racing refund, between the read and the reversal
        return recorded

    monkeypatch.setattr(gw.SimulatedGateway, "_record", record_then_refund)
    assert g.void("pay-1", "order-1") == "REFUNDED"
    assert [e["status"] for e in ledger_items()] == ["REFUNDED"]


def test_a_ledger_entry_that_vanished_is_a_gateway_failure(cloud, monkeypatch):
    """The conditional put lost, yet the entry is not there to read (a provider losing data): retryable, named."""
    g = gateway()
    conflict = ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "exists"}}, "PutItem")

    class Ledger:
        def put_item(self, **kwargs):
            raise conflict

    monkeypatch.setattr(gw.SimulatedGateway, "_ledger", staticmethod(lambda: Ledger()))
    monkeypatch.setattr(gw.SimulatedGateway, "entry", lambda self, payment_id: None)
    with pytest.raises(PaymentGatewayUnavailable) as info:
        g.void("pay-7", "order-7")
    assert str(info.value) == "ledger entry pay-7 vanished"


def test_a_simulated_fault_names_the_order_and_the_attempt(cloud):
    with pytest.raises(PaymentGatewayUnavailable) as info:
        gateway(fault_rate=1.0).authorize("pay-1", "order-3", "customer-1", Decimal("1.00"), 4)
    assert str(info.value) == "payment gateway unavailable (simulated fault, order order-3, attempt 4)"
    assert ledger_items() == []


def test_a_draw_equal_to_the_fault_rate_is_not_a_fault():
    """A fault happens with probability `fault_rate`: draws in [0, rate) fail, so a draw of exactly the rate passes."""
    draw = random.Random("seed-1:order-1:0").random()  # the draw the gateway makes for this seed, order and attempt
    assert gateway(fault_seed="seed-1", fault_rate=draw).is_fault("order-1", 0) is False
    assert gateway(fault_seed="seed-1", fault_rate=draw + 1e-9).is_fault("order-1", 0) is True


@pytest.mark.parametrize("action", ["charge", "refund"])
def test_an_unknown_order_is_not_found_by_its_id(cloud, action):
    missing = {"orderId": ORDER_ID, "customerId": "customer-1"}
    with pytest.raises(OrderNotFound) as info:
        getattr(service, action)(missing, gateway=gateway())
    assert str(info.value) == f"order {ORDER_ID} not found"


@pytest.mark.parametrize("raw", [-1, "x", True, 1.5])
def test_a_bad_attempt_is_refused_by_name(raw):
    with pytest.raises(InvalidTaskInput) as info:
        service.parse_attempt(raw)
    assert str(info.value) == f"attempt must be a non-negative integer, got {raw!r}"


def test_a_parked_charge_counts_payments_parked(cloud, counters):
    order = put_order("PENDING", order_id=ORDER_ID)
    assert service.charge(order_input(order), gateway=gateway(fault_rate=1.0))["status"] == "RETRY_LATER"
    assert counters() == {"PaymentsParked": 1}


def test_a_charge_of_a_key_a_compensation_voided_counts_payments_voided(cloud, counters):
    order = put_order("PENDING", order_id=ORDER_ID)
    g = gateway()
    assert service.payments.put_if_absent(
        {
            "orderId": ORDER_ID,
            "customerId": "customer-1",
            "status": "PENDING",
            "paymentId": "pay-5",
            "amount": Decimal("109.97"),
            "attempt": 0,
            "createdAt": NOW,
        }
    )
    assert g.void("pay-5", ORDER_ID) == "VOIDED"
    service.charge(order_input(order), gateway=g)
    assert payment_row(ORDER_ID)["status"] == "VOIDED"
    assert counters() == {"PaymentsVoided": 1}


def test_a_charge_whose_outcome_another_invocation_recorded_counts_nothing(cloud, counters, monkeypatch):
    """Two invocations charge at once: the one whose PENDING -> PAID move loses counts nothing (the winner did)."""
    order = put_order("PENDING", order_id=ORDER_ID)
    g = gateway()
    real_authorize = gw.SimulatedGateway.authorize

    def authorize_while_the_other_records(self, *args, **kwargs):
        answer = real_authorize(self, *args, **kwargs)
        assert service.payments.move(ORDER_ID, "PENDING", "PAID", {"reason": None, "decidedAt": NOW})
        return answer

    monkeypatch.setattr(gw.SimulatedGateway, "authorize", authorize_while_the_other_records)
    assert service.charge(order_input(order), gateway=g)["status"] == "PAID"
    assert payment_row(ORDER_ID)["status"] == "PAID"
    assert counters() == {}


def test_an_authorization_without_an_attempt_number_is_the_first_attempt(cloud):
    def draw(seed: str, attempt: int) -> float:
        return random.Random(f"{seed}:order-1:{attempt}").random()

    # a seed whose first attempt draws high and whose second draws low, and a rate between the two
    seed = next(s for s in (f"seed-{n}" for n in range(100)) if draw(s, 0) > draw(s, 1))
    rate = (draw(seed, 0) + draw(seed, 1)) / 2
    g = gateway(fault_seed=seed, fault_rate=rate)
    assert g.authorize("pay-1", "order-1", "customer-1", Decimal("1.00")) == gw.Authorization(True, None)
    with pytest.raises(PaymentGatewayUnavailable):
        g.authorize("pay-2", "order-1", "customer-1", Decimal("1.00"), 1)
