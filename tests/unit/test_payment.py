"""Payment Lambda: simulated gateway, idempotent charge/refund, order updates, events, breaker wiring."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from payment import gateway as gw
from payment import handler, service
from payment.circuit_breaker import OPEN, CircuitBreaker
from shared import events
from shared.errors import (
    CircuitOpenError,
    IllegalTransition,
    InvalidTaskInput,
    OrderNotFound,
    PaymentGatewayUnavailable,
    UnsupportedEvent,
)

from .conftest import ENV
from .helpers import get_order, order_input, put_order


def charge_event(order, attempt=None):
    event = {"action": "charge", "order": order_input(order)}
    if attempt is not None:
        event["attempt"] = attempt
    return event


def refund_event(order, reason="out of stock"):
    return {"action": "refund", "order": order_input(order), "reason": reason}


class SpyGateway(gw.SimulatedGateway):
    calls: list

    def authorize(self, *args, **kwargs):
        self.calls.append(args)
        return super().authorize(*args, **kwargs)


def spy_gateway(**overrides):
    params = {"customer_limit": Decimal("5000.00"), "decline_customers": frozenset({"customer-declined"}),
              "fault_rate": 0.0, "fault_seed": "0"}
    params.update(overrides)
    spy = SpyGateway(**params)
    object.__setattr__(spy, "calls", [])
    return spy


# ---------------------------------------------------------------------------------------------
# simulated gateway
# ---------------------------------------------------------------------------------------------
def test_gateway_rules():
    g = spy_gateway()
    assert g.authorize("o1", "c1", Decimal("5000.00")) == gw.Authorization(True, None)
    assert g.authorize("o1", "c1", Decimal("5000.01")) == gw.Authorization(False, gw.AMOUNT_OVER_LIMIT)
    assert g.authorize("o1", "customer-declined", Decimal("1")) == gw.Authorization(False, gw.CUSTOMER_DECLINED)
    # the decline list wins over the limit
    assert g.authorize("o1", "customer-declined", Decimal("9999")).reason == gw.CUSTOMER_DECLINED


def test_fault_injector_is_the_documented_seeded_formula():
    g = spy_gateway(fault_rate=0.5, fault_seed="42")
    for attempt in range(20):
        expected = random.Random(f"42:order-x:{attempt}").random() < 0.5
        assert g.is_fault("order-x", attempt) is expected
        assert g.is_fault("order-x", attempt) is expected  # deterministic
    assert not spy_gateway(fault_rate=0.0).is_fault("o", 0)
    assert all(spy_gateway(fault_rate=1.0).is_fault("o", a) for a in range(10))
    with pytest.raises(PaymentGatewayUnavailable):
        spy_gateway(fault_rate=1.0).authorize("o", "c", Decimal("1"))


def test_gateway_from_config(monkeypatch):
    monkeypatch.setenv("PAYMENT_CUSTOMER_LIMIT", "10")
    monkeypatch.setenv("PAYMENT_DECLINE_CUSTOMERS", " a, b ,,")
    monkeypatch.setenv("PAYMENT_FAULT_RATE", "0.25")
    monkeypatch.setenv("PAYMENT_FAULT_SEED", "s")
    g = gw.SimulatedGateway.from_config()
    assert g == gw.SimulatedGateway(Decimal("10"), frozenset({"a", "b"}), 0.25, "s")


def _fault_pattern(order_id: str, seed: str = "0", rate: float = 0.5) -> tuple[int, int]:
    """(a faulting attempt, the next non-faulting attempt) for this order id."""
    faulty = [random.Random(f"{seed}:{order_id}:{a}").random() < rate for a in range(50)]
    first = faulty.index(True)
    return first, faulty.index(False, first)


# ---------------------------------------------------------------------------------------------
# charge
# ---------------------------------------------------------------------------------------------
def test_charge_approved(cloud, lambda_context, capsys):
    order = put_order("PENDING")

    result = handler.lambda_handler(charge_event(order, attempt=0), lambda_context)

    payment_id = service.payment_id_for(order["orderId"])
    assert result == {"status": "PAID", "paymentId": payment_id, "amount": "109.97", "reason": None}
    [row] = cloud.items("PAYMENTS_TABLE")
    assert row["status"] == "PAID" and row["amount"] == Decimal("109.97") and row["paymentId"] == payment_id
    stored = get_order(order["orderId"])
    assert stored["status"] == "PAID" and stored["paymentId"] == payment_id
    assert [h["status"] for h in stored["statusHistory"]] == ["PENDING", "PAID"]
    [event] = cloud.events()
    assert (event["source"], event["detail-type"]) == ("payment.service", "Payment Processed")
    assert event["detail"] == {
        "eventId": events.event_id(order["orderId"], "Payment Processed"),
        "orderId": order["orderId"],
        "customerId": "customer-1",
        "paymentId": payment_id,
        "amount": "109.97",
        "reason": None,
    }
    assert '"PaymentsProcessed":[1.0]' in capsys.readouterr().out


def test_charge_declined_customer(cloud, lambda_context, capsys):
    order = put_order("PENDING", customer_id="customer-declined")

    result = handler.lambda_handler(charge_event(order), lambda_context)

    assert result == {"status": "DECLINED", "paymentId": None, "amount": "109.97", "reason": "CUSTOMER_DECLINED"}
    stored = get_order(order["orderId"])
    assert stored["status"] == "PAYMENT_FAILED"
    assert "CUSTOMER_DECLINED" in stored["statusHistory"][-1]["reason"]
    [event] = cloud.events()
    assert event["detail-type"] == "Payment Failed"
    assert event["detail"]["reason"] == "CUSTOMER_DECLINED" and event["detail"]["paymentId"] is None
    assert '"PaymentsDeclined":[1.0]' in capsys.readouterr().out


def test_charge_declined_over_limit_uses_the_stored_amount(cloud, lambda_context, monkeypatch):
    monkeypatch.setenv("PAYMENT_CUSTOMER_LIMIT", "100.00")
    order = put_order("PENDING")
    event = charge_event(order)
    event["order"]["totalAmount"] = "1.00"  # the stored order is authoritative
    result = handler.lambda_handler(event, lambda_context)
    assert result["status"] == "DECLINED" and result["reason"] == "AMOUNT_OVER_LIMIT"
    assert result["amount"] == "109.97"


def test_duplicate_charge_is_one_charge(cloud, lambda_context):
    order = put_order("PENDING")
    spy = spy_gateway()

    first = service.charge(order_input(order), 0, gateway=spy)
    second = service.charge(order_input(order), 3, gateway=spy)
    third = handler.lambda_handler(charge_event(order, attempt=1), lambda_context)

    assert first == second == third
    assert len(spy.calls) == 1  # the gateway saw a single charge
    assert len(cloud.items("PAYMENTS_TABLE")) == 1
    stored = get_order(order["orderId"])
    assert [h["status"] for h in stored["statusHistory"]] == ["PENDING", "PAID"]
    published = cloud.events("Payment Processed")
    assert len({e["detail"]["eventId"] for e in published}) == 1  # re-puts carry the same eventId


def test_repeated_charge_after_order_moved_on_is_not_an_error(cloud):
    order = put_order("PENDING")
    service.charge(order_input(order), gateway=spy_gateway())
    service.orders.transition(order["orderId"], "customer-1", "INVENTORY_RESERVED", "reserved")
    assert service.charge(order_input(order), gateway=spy_gateway())["status"] == "PAID"
    assert get_order(order["orderId"])["status"] == "INVENTORY_RESERVED"


def test_charge_technical_fault_is_retryable_and_records_nothing(cloud, lambda_context, monkeypatch):
    monkeypatch.setenv("PAYMENT_FAULT_RATE", "0.5")
    order = put_order("PENDING", order_id="order-faulty-1")
    bad, good = _fault_pattern("order-faulty-1")

    with pytest.raises(PaymentGatewayUnavailable):
        handler.lambda_handler(charge_event(order, attempt=bad), lambda_context)
    assert cloud.items("PAYMENTS_TABLE") == []
    assert get_order(order["orderId"])["status"] == "PENDING"
    assert cloud.events() == []
    assert CircuitBreaker.from_config().state()["failures"] == 1

    result = handler.lambda_handler(charge_event(order, attempt=good), lambda_context)
    assert result["status"] == "PAID"
    assert CircuitBreaker.from_config().state()["failures"] == 0


def test_open_circuit_fails_fast_without_calling_the_gateway(cloud, lambda_context, monkeypatch):
    monkeypatch.setattr(service, "CLOCK", lambda: 1000.0)
    cloud.table("CIRCUIT_BREAKER_TABLE").put_item(
        Item={"name": "payment-gateway", "state": OPEN, "failures": 5, "openedAt": Decimal("990")}
    )
    order = put_order("PENDING")
    spy = spy_gateway()

    with pytest.raises(CircuitOpenError):
        service.charge(order_input(order), gateway=spy)
    with pytest.raises(CircuitOpenError):
        handler.lambda_handler(charge_event(order), lambda_context)
    assert spy.calls == []
    assert cloud.items("PAYMENTS_TABLE") == []

    monkeypatch.setattr(service, "CLOCK", lambda: 1020.0)  # cool-down over: trial call closes it
    assert handler.lambda_handler(charge_event(order), lambda_context)["status"] == "PAID"
    assert CircuitBreaker.from_config().state()["state"] == "CLOSED"


def test_breaker_opens_from_repeated_gateway_faults(cloud, monkeypatch):
    monkeypatch.setenv("CIRCUIT_FAILURE_THRESHOLD", "3")
    monkeypatch.setattr(service, "CLOCK", lambda: 5000.0)
    failing = spy_gateway(fault_rate=1.0)
    for i in range(3):
        order = put_order("PENDING")
        with pytest.raises(PaymentGatewayUnavailable):
            service.charge(order_input(order), i, gateway=failing)
    order = put_order("PENDING")
    with pytest.raises(CircuitOpenError):
        service.charge(order_input(order), gateway=failing)
    assert len(failing.calls) == 3


def test_charge_of_order_that_is_no_longer_pending_is_refused(cloud):
    order = put_order("CANCELLED")
    spy = spy_gateway()
    result = service.charge(order_input(order), gateway=spy)
    assert result == {"status": "DECLINED", "paymentId": None, "amount": "109.97", "reason": "ORDER_NOT_PAYABLE"}
    assert spy.calls == [] and cloud.items("PAYMENTS_TABLE") == [] and cloud.events() == []


def test_charge_racing_with_customer_cancel_refunds_immediately(cloud):
    order = put_order("PENDING")

    class CancellingGateway(gw.SimulatedGateway):
        def authorize(self, *args, **kwargs):
            # the customer cancels while the gateway is working
            service.orders.transition(order["orderId"], "customer-1", "CANCELLED", "customer cancel")
            return super().authorize(*args, **kwargs)

    result = service.charge(order_input(order), gateway=CancellingGateway(Decimal("5000"), frozenset()))

    assert result["status"] == "PAID"
    [row] = cloud.items("PAYMENTS_TABLE")
    assert row["status"] == "REFUNDED" and "cancelled" in row["refundReason"]
    assert get_order(order["orderId"])["status"] == "CANCELLED"
    assert {e["detail-type"] for e in cloud.events()} == {"Payment Processed", "Payment Refunded"}


def test_concurrent_charge_loses_the_conditional_put(cloud, monkeypatch):
    order = put_order("PENDING")
    real_put = service.payments.put_if_absent

    def racing_put(row):
        winner = dict(row, paymentId="winner-payment", attempt=9)
        assert real_put(winner) is True  # another Lambda wrote first
        return real_put(row)

    monkeypatch.setattr(service.payments, "put_if_absent", racing_put)
    result = service.charge(order_input(order), gateway=spy_gateway())
    assert result["paymentId"] == "winner-payment"
    assert len(cloud.items("PAYMENTS_TABLE")) == 1


def test_charge_unknown_order(cloud):
    with pytest.raises(OrderNotFound):
        service.charge({"orderId": "missing", "customerId": "customer-1"})
    order = put_order("PENDING")
    with pytest.raises(OrderNotFound):
        service.charge({"orderId": order["orderId"], "customerId": "someone-else"})


@pytest.mark.parametrize(
    "event",
    [
        {"action": "charge"},
        {"action": "charge", "order": "o-1"},
        {"action": "charge", "order": {"orderId": "o 1", "customerId": "c"}},
        {"action": "charge", "order": {"orderId": "o1", "customerId": None}},
        {"action": "charge", "order": {"orderId": "o1", "customerId": "c"}, "attempt": -1},
        {"action": "charge", "order": {"orderId": "o1", "customerId": "c"}, "attempt": "x"},
        {"action": "charge", "order": {"orderId": "o1", "customerId": "c"}, "attempt": True},
        {"action": "charge", "order": {"orderId": "o1", "customerId": "c"}, "attempt": 1.5},
        {"action": "refund", "order": []},
    ],
)
def test_invalid_payment_input(cloud, lambda_context, event):
    with pytest.raises(InvalidTaskInput):
        handler.lambda_handler(event, lambda_context)


def test_attempt_parsing():
    assert service.parse_attempt(None) == 0
    assert service.parse_attempt(3) == 3
    assert service.parse_attempt(2.0) == 2
    assert service.parse_attempt(" 4 ") == 4


@pytest.mark.parametrize("event", [{"action": "pay"}, {}, ["charge"]])
def test_unsupported_payment_action(cloud, lambda_context, event):
    with pytest.raises(UnsupportedEvent):
        handler.lambda_handler(event, lambda_context)


# ---------------------------------------------------------------------------------------------
# refund
# ---------------------------------------------------------------------------------------------
def test_refund_of_inventory_unavailable_order(cloud, lambda_context, capsys):
    order = put_order("PENDING")
    service.charge(order_input(order), gateway=spy_gateway())
    service.orders.transition(order["orderId"], "customer-1", "INVENTORY_UNAVAILABLE", "short")
    capsys.readouterr()

    result = handler.lambda_handler(refund_event(order), lambda_context)

    payment_id = service.payment_id_for(order["orderId"])
    refund_id = service.refund_id_for(order["orderId"])
    assert result == {"status": "REFUNDED", "paymentId": payment_id, "refundId": refund_id}
    [row] = cloud.items("PAYMENTS_TABLE")
    assert row["status"] == "REFUNDED" and row["refundId"] == refund_id and row["refundReason"] == "out of stock"
    stored = get_order(order["orderId"])
    assert stored["status"] == "REFUNDED"
    assert stored["statusHistory"][-1] == {"status": "REFUNDED", "at": stored["updatedAt"], "reason": "out of stock"}
    [event] = cloud.events("Payment Refunded")
    assert event["detail"] == {
        "eventId": events.event_id(order["orderId"], "Payment Refunded"),
        "orderId": order["orderId"],
        "customerId": "customer-1",
        "paymentId": payment_id,
        "amount": "109.97",
        "reason": "out of stock",
    }
    assert '"PaymentsRefunded":[1.0]' in capsys.readouterr().out


def test_duplicate_refund_is_one_refund(cloud, lambda_context, capsys):
    order = put_order("PENDING")
    service.charge(order_input(order), gateway=spy_gateway())
    service.orders.transition(order["orderId"], "customer-1", "CANCELLED", "customer cancel")
    capsys.readouterr()

    first = handler.lambda_handler(refund_event(order, "customer cancel"), lambda_context)
    second = handler.lambda_handler(refund_event(order, "again"), lambda_context)

    assert first == second and first["status"] == "REFUNDED"
    out = capsys.readouterr().out
    assert out.count('"PaymentsRefunded":[1.0]') == 1
    [row] = cloud.items("PAYMENTS_TABLE")
    assert row["refundReason"] == "customer cancel"
    assert get_order(order["orderId"])["status"] == "CANCELLED"  # refund does not touch other statuses
    assert len({e["detail"]["eventId"] for e in cloud.events("Payment Refunded")}) == 1


def test_refund_without_charge_or_after_decline_is_not_charged(cloud, lambda_context):
    never = put_order("PENDING")
    declined = put_order("PENDING", customer_id="customer-declined")
    service.charge(order_input(declined), gateway=spy_gateway())
    before = len(cloud.events())

    for order in (never, declined):
        result = handler.lambda_handler(refund_event(order), lambda_context)
        assert result == {"status": "NOT_CHARGED", "paymentId": None, "refundId": None}
    assert len(cloud.events()) == before
    assert get_order(declined["orderId"])["status"] == "PAYMENT_FAILED"


def test_refund_default_reason_and_concurrent_refund(cloud, monkeypatch):
    order = put_order("PENDING")
    service.charge(order_input(order), gateway=spy_gateway())
    real = service.payments.mark_refunded

    def concurrent(order_id, refund_id, reason, at):
        assert real(order_id, refund_id, "the other Lambda", at)
        return real(order_id, refund_id, reason, at)

    monkeypatch.setattr(service.payments, "mark_refunded", concurrent)
    result = service.refund({"orderId": order["orderId"], "customerId": "customer-1"})
    assert result["status"] == "REFUNDED"
    assert cloud.items("PAYMENTS_TABLE")[0]["refundReason"] == "the other Lambda"


def test_refund_tolerates_order_changing_concurrently(cloud, monkeypatch):
    order = put_order("PENDING")
    service.charge(order_input(order), gateway=spy_gateway())
    service.orders.transition(order["orderId"], "customer-1", "INVENTORY_UNAVAILABLE", "short")

    def racing(order_id, customer_id, target, reason, **kwargs):
        raise IllegalTransition(order_id, "FAILED", target)

    monkeypatch.setattr(service.orders, "transition", racing)
    assert service.refund(order_input(order), "x")["status"] == "REFUNDED"


def test_payments_repository_propagates_unexpected_errors(cloud, monkeypatch):
    from botocore.exceptions import ClientError

    class Table:
        def put_item(self, **_):
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "PutItem")

        update_item = put_item

    monkeypatch.setattr(type(service.payments), "_table", property(lambda self: Table()))
    with pytest.raises(ClientError):
        service.payments.put_if_absent({"orderId": "x"})
    with pytest.raises(ClientError):
        service.payments.mark_refunded("x", "r", "why", "now")


def test_payment_table_name_from_env():
    assert service.payments.table_name == ENV["PAYMENTS_TABLE"]
