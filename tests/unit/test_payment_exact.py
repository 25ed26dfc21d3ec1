"""Payment, exact effects with a fixed clock: each payment row written whole (intent, outcome, refund, void,
tombstone), the order's history entry, how many events and which, the counters. Ids are the documented uuid5
literals of a fixed order id, never computed with the code under test."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from payment import service
from shared import clock

from .helpers import get_order, ledger_items, order_input, payment_row, put_claimed_order, put_order

ORDER_ID = "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
PAYMENT_ID = "635dc451-5d42-58cc-999a-cd2c90ca8231"  # uuid5(urn:orderflow:event namespace, "<ORDER_ID>|payment")
REFUND_ID = "9499a0d9-6549-53c2-995d-39282ae87d2c"  # uuid5(..., "<ORDER_ID>|refund")
NOW = "2026-12-04T10:00:00.000Z"


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC))


def test_the_id_literals_are_the_documented_uuid5():
    import uuid

    namespace = uuid.uuid5(uuid.NAMESPACE_URL, "urn:orderflow:event")
    assert (PAYMENT_ID, REFUND_ID) == (
        str(uuid.uuid5(namespace, f"{ORDER_ID}|payment")),
        str(uuid.uuid5(namespace, f"{ORDER_ID}|refund")),
    )


def events_of(cloud):
    return [(e["source"], e["detail-type"], e["detail"]) for e in cloud.events()]


def test_an_approved_charge_writes_the_whole_row_history_and_one_event(cloud, counters):
    assert service.charge(order_input(put_order("PENDING", order_id=ORDER_ID)), 3)["status"] == "PAID"
    assert payment_row(ORDER_ID) == {
        "orderId": ORDER_ID,
        "customerId": "customer-1",
        "status": "PAID",
        "paymentId": PAYMENT_ID,
        "amount": Decimal("109.97"),
        "attempt": 3,
        "createdAt": NOW,
        "reason": None,
        "decidedAt": NOW,
    }
    order = get_order(ORDER_ID)
    assert order["statusHistory"][-1] == {"status": "PAID", "at": NOW, "reason": "payment approved"}
    assert order["paymentId"] == PAYMENT_ID
    assert events_of(cloud) == [
        (
            "payment.service",
            "Payment Processed",
            {
                "eventId": "273bd8f9-1887-58bd-a1e2-febe15871f92",
                "orderId": ORDER_ID,
                "customerId": "customer-1",
                "paymentId": PAYMENT_ID,
                "amount": "109.97",
                "reason": None,
            },
        )
    ]
    assert counters() == {"PaymentsProcessed": 1}


def test_a_repeated_charge_re_puts_the_same_event_once_more_and_counts_nothing(cloud, counters):
    order = put_order("PENDING", order_id=ORDER_ID)
    service.charge(order_input(order))
    first = cloud.events()
    service.charge(order_input(order))
    events = cloud.events()
    assert len(events) == 2 and events[1]["detail"] == first[0]["detail"]
    assert counters() == {"PaymentsProcessed": 1}
    assert len(ledger_items()) == 1


def test_a_declined_charge_writes_the_whole_row_and_claims_the_order(cloud, counters):
    order = put_order("PENDING", order_id=ORDER_ID, customer_id="customer-declined")
    answer = service.charge(order_input(order))
    assert answer["claim"] == {
        "status": "PAYMENT_FAILED",
        "notification": "payment-declined",
        "by": f"payment:{PAYMENT_ID}",
        "reason": "payment declined: CUSTOMER_DECLINED",
    }
    assert payment_row(ORDER_ID) == {
        "orderId": ORDER_ID,
        "customerId": "customer-declined",
        "status": "DECLINED",
        "paymentId": PAYMENT_ID,
        "amount": Decimal("109.97"),
        "attempt": 0,
        "createdAt": NOW,
        "reason": "CUSTOMER_DECLINED",
        "decidedAt": NOW,
    }
    assert get_order(ORDER_ID)["statusHistory"][-1] == {
        "status": "PAYMENT_FAILED",
        "at": NOW,
        "reason": "payment declined: CUSTOMER_DECLINED",
    }
    assert [e["detail-type"] for e in cloud.events()] == ["Payment Failed"]
    assert counters() == {"PaymentsDeclined": 1}


def test_a_refund_of_a_paid_order_writes_the_whole_row_and_one_event(cloud, counters):
    order = put_order("PENDING", order_id=ORDER_ID)
    service.charge(order_input(order))
    cloud.events()
    put_claimed_order("CANCELLED", order_id=ORDER_ID)
    assert service.refund(order_input(order), "customer asked") == {
        "status": "REFUNDED",
        "paymentId": PAYMENT_ID,
        "refundId": REFUND_ID,
    }
    assert payment_row(ORDER_ID) == {
        "orderId": ORDER_ID,
        "customerId": "customer-1",
        "status": "REFUNDED",
        "paymentId": PAYMENT_ID,
        "amount": Decimal("109.97"),
        "attempt": 0,
        "createdAt": NOW,
        "reason": None,
        "decidedAt": NOW,
        "refundId": REFUND_ID,
        "refundedAt": NOW,
        "refundReason": "customer asked",
    }
    refunded = [e for e in cloud.events() if e["detail-type"] == "Payment Refunded"]
    assert [e["detail"]["reason"] for e in refunded] == ["customer asked"]
    assert refunded[0]["detail"]["amount"] == "109.97" and refunded[0]["detail"]["paymentId"] == PAYMENT_ID
    assert counters() == {"PaymentsProcessed": 1, "PaymentsRefunded": 1}
    # a retried refund: no second gateway refund, no second count, the same event once more
    assert service.refund(order_input(order), "another reason")["status"] == "REFUNDED"
    again = [e for e in cloud.events() if e["detail-type"] == "Payment Refunded"]
    assert [e["detail"]["reason"] for e in again] == ["customer asked", "customer asked"]
    assert counters() == {"PaymentsProcessed": 1, "PaymentsRefunded": 1}


def test_a_refund_reason_is_cut_at_256_characters(cloud):
    order = put_claimed_order("CANCELLED", order_id=ORDER_ID)
    service.refund(order_input(order), "r" * 300)
    assert payment_row(ORDER_ID)["reason"] == "r" * 256


def test_a_refund_without_a_row_writes_the_whole_tombstone(cloud):
    order = put_claimed_order("EXPIRED", order_id=ORDER_ID)
    assert service.refund(order_input(order)) == {"status": "NOT_CHARGED", "paymentId": None, "refundId": None}
    assert payment_row(ORDER_ID) == {
        "orderId": ORDER_ID,
        "customerId": "customer-1",
        "status": "VOIDED",
        "paymentId": PAYMENT_ID,
        "amount": Decimal(0),
        "reason": "refund requested",
        "createdAt": NOW,
    }
    assert cloud.events() == []


def test_a_refund_of_a_pending_intent_writes_the_whole_voided_row(cloud, monkeypatch):
    order = put_order("PENDING", order_id=ORDER_ID)
    intent = {
        "orderId": ORDER_ID,
        "customerId": "customer-1",
        "status": "PENDING",
        "paymentId": PAYMENT_ID,
        "amount": Decimal("109.97"),
        "attempt": 0,
        "createdAt": NOW,
    }
    assert service.payments.put_if_absent(intent)
    put_claimed_order("CANCELLED", order_id=ORDER_ID)
    assert service.refund(order_input(order), "too slow") == {
        "status": "NOT_CHARGED",
        "paymentId": PAYMENT_ID,
        "refundId": None,
    }
    assert payment_row(ORDER_ID) == {
        **intent,
        "status": "VOIDED",
        "gatewayStatus": "VOIDED",
        "refundReason": "too slow",
        "voidedAt": NOW,
    }
