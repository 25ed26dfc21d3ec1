"""Payment Lambda: the payment intent, the gateway ledger (idempotency key), RETRY_LATER, claims and refunds."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from payment import gateway as gw
from payment import handler, service
from payment.circuit_breaker import HALF_OPEN, OPEN, CircuitBreaker
from shared.errors import (
    InvalidTaskInput,
    OrderNotFound,
    PaymentGatewayUnavailable,
    RetryableError,
    TransientAwsError,
    UnsupportedEvent,
)
from shared.repositories import OrdersRepository

from .conftest import ENV
from .helpers import (
    expected_event_id,
    expected_payment_id,
    expected_refund_id,
    get_order,
    ledger_items,
    order_input,
    outbox_items,
    payment_row,
    put_claimed_order,
    put_order,
)

orders = OrdersRepository()
LIVE = ["PENDING", "PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"]
COMPENSABLE = ["PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"]


def charge_event(order, attempt=None):
    event = {"action": "charge", "order": order_input(order)}
    if attempt is not None:
        event["attempt"] = attempt
    return event


def refund_event(order, reason="out of stock"):
    return {"action": "refund", "order": order_input(order), "reason": reason}


class SpyGateway(gw.SimulatedGateway):
    """The simulator, counting what reaches it (authorize calls, decisions, voids, refunds)."""

    def authorize(self, *args, **kwargs):
        self.calls.append(args)
        return super().authorize(*args, **kwargs)

    def decide(self, customer_id, amount):
        self.decisions.append((customer_id, amount))
        return super().decide(customer_id, amount)


def spy_gateway(cls=None, **overrides):
    params = {
        "customer_limit": Decimal("5000.00"),
        "decline_customers": frozenset({"customer-declined"}),
        "fault_rate": 0.0,
        "fault_seed": "0",
    }
    params.update(overrides)
    spy = (cls or SpyGateway)(**params)
    object.__setattr__(spy, "calls", [])
    object.__setattr__(spy, "decisions", [])
    return spy


def answer(status, amount="109.97", payment_id=None, reason=None, retry_after=None, claim=None):
    """The charge contract: every key present."""
    return {
        "status": status,
        "paymentId": payment_id,
        "amount": amount,
        "reason": reason,
        "retryAfterSeconds": retry_after,
        "claim": claim,
    }


NOT_PAYABLE = answer("NOT_PAYABLE", reason="ORDER_NOT_PAYABLE")


def claim(order, target="CANCELLED", by=None):
    return orders.transition(
        order["orderId"], order["customerId"], target, "customer cancel", claim_by=by or f"cancel:{order['orderId']}"
    )


def ledger_entry(payment_id):
    return next((e for e in ledger_items() if e["paymentId"] == payment_id), None)


# ---------------------------------------------------------------------------------------------
# simulated gateway and its ledger
# ---------------------------------------------------------------------------------------------
def test_gateway_decline_rules():
    g = spy_gateway()
    assert g.decide("c1", Decimal("5000.00")) == gw.Authorization(True, None)
    assert g.decide("c1", Decimal("5000.01")) == gw.Authorization(False, "AMOUNT_OVER_LIMIT")
    assert g.decide("customer-declined", Decimal(1)) == gw.Authorization(False, "CUSTOMER_DECLINED")
    assert g.decide("customer-declined", Decimal(9999)).reason == "CUSTOMER_DECLINED"  # first rule wins


def test_authorize_records_one_ledger_entry_per_key(cloud):
    g = spy_gateway()
    assert g.authorize("pay-1", "o1", "c1", Decimal("10.00")) == gw.Authorization(True, None)
    [entry] = ledger_items()
    assert entry == {
        "paymentId": "pay-1",
        "orderId": "o1",
        "amount": Decimal("10.00"),
        "status": "AUTHORIZED",
        "reason": None,
        "createdAt": entry["createdAt"],
    }
    # the same key answers its recorded outcome, whatever the second call says
    assert g.authorize("pay-1", "o1", "customer-declined", Decimal(99999)) == gw.Authorization(True, None)
    assert ledger_items() == [entry]
    assert g.decisions == [("c1", Decimal("10.00"))]


def test_declined_authorization_is_recorded(cloud):
    g = spy_gateway()
    assert g.authorize("pay-1", "o1", "customer-declined", Decimal(1)) == gw.Authorization(False, "CUSTOMER_DECLINED")
    assert g.authorize("pay-1", "o1", "c1", Decimal(1)) == gw.Authorization(False, "CUSTOMER_DECLINED")
    [entry] = ledger_items()
    assert (entry["status"], entry["reason"]) == ("DECLINED", "CUSTOMER_DECLINED")
    assert len(g.decisions) == 1


def test_void_of_an_unseen_key_closes_it(cloud):
    g = spy_gateway()
    assert g.void("pay-1", "o1") == "VOIDED"
    assert g.authorize("pay-1", "o1", "c1", Decimal(1)) == gw.Authorization(False, "VOIDED")
    [entry] = ledger_items()
    assert (entry["status"], entry["amount"]) == ("VOIDED", Decimal(0))
    assert g.decisions == []
    assert g.void("pay-1", "o1") == "VOIDED"  # idempotent


def test_void_of_an_authorization_reverses_it(cloud):
    g = spy_gateway()
    g.authorize("pay-1", "o1", "c1", Decimal("7.00"))
    assert g.void("pay-1", "o1") == "REVERSED"
    assert g.void("pay-1", "o1") == "REVERSED"
    assert g.authorize("pay-1", "o1", "c1", Decimal("7.00")) == gw.Authorization(False, "VOIDED")
    [entry] = ledger_items()
    assert (entry["status"], entry["amount"]) == ("REVERSED", Decimal("7.00")) and "changedAt" in entry
    assert g.refund("pay-1") == "REVERSED"  # nothing left to refund
    g.authorize("pay-2", "o2", "customer-declined", Decimal(1))
    assert g.void("pay-2", "o2") == "DECLINED"


def test_refund_of_an_authorization(cloud):
    g = spy_gateway()
    assert g.refund("unseen") == "VOIDED"
    assert ledger_items() == []  # a refund creates no entry
    g.authorize("pay-1", "o1", "c1", Decimal("7.00"))
    assert g.refund("pay-1") == "REFUNDED"
    assert g.refund("pay-1") == "REFUNDED"
    assert g.void("pay-1", "o1") == "REFUNDED"
    assert g.authorize("pay-1", "o1", "c1", Decimal("7.00")) == gw.Authorization(True, None)
    [entry] = ledger_items()
    assert entry["status"] == "REFUNDED"


def test_concurrent_authorize_agrees_on_the_recorded_outcome(cloud):
    class Racing(SpyGateway):
        def entry(self, payment_id):
            if not self.raced:
                self.raced.append(1)
                # another Lambda records DECLINED between our read and our conditional put
                self._ledger().put_item(
                    Item={
                        "paymentId": payment_id,
                        "orderId": "o1",
                        "amount": Decimal(1),
                        "status": "DECLINED",
                        "reason": "CUSTOMER_DECLINED",
                    }
                )
                return None
            return super().entry(payment_id)

    g = spy_gateway(Racing)
    object.__setattr__(g, "raced", [])
    assert g.authorize("pay-1", "o1", "c1", Decimal(1)) == gw.Authorization(False, "CUSTOMER_DECLINED")
    assert [e["status"] for e in ledger_items()] == ["DECLINED"]


def test_ledger_errors_propagate(cloud, monkeypatch):
    class Ledger:
        def put_item(self, **_):
            raise ClientError({"Error": {"Code": "AccessDeniedException"}}, "PutItem")

        update_item = put_item

    monkeypatch.setattr(gw.SimulatedGateway, "_ledger", staticmethod(lambda: Ledger()))
    g = spy_gateway()
    with pytest.raises(ClientError):
        g.void("pay-1", "o1")
    with pytest.raises(ClientError):
        g.refund("pay-1")


def test_fault_injector_is_the_documented_seeded_formula(cloud):
    g = spy_gateway(fault_rate=0.5, fault_seed="42")
    for attempt in range(20):
        expected = random.Random(f"42:order-x:{attempt}").random() < 0.5
        assert g.is_fault("order-x", attempt) is expected
    assert not spy_gateway(fault_rate=0.0).is_fault("o", 0)
    assert all(spy_gateway(fault_rate=1.0).is_fault("o", a) for a in range(10))
    with pytest.raises(PaymentGatewayUnavailable):
        spy_gateway(fault_rate=1.0).authorize("pay-1", "o", "c", Decimal(1))
    assert ledger_items() == []  # a fault happens before any effect


def test_gateway_from_config(monkeypatch):
    monkeypatch.setenv("PAYMENT_CUSTOMER_LIMIT", "10")
    monkeypatch.setenv("PAYMENT_DECLINE_CUSTOMERS", " a, b ,,")
    monkeypatch.setenv("PAYMENT_FAULT_RATE", "0.25")
    monkeypatch.setenv("PAYMENT_FAULT_SEED", "s")
    assert gw.SimulatedGateway.from_config() == gw.SimulatedGateway(Decimal(10), frozenset({"a", "b"}), 0.25, "s")


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
    oid = order["orderId"]
    pid = expected_payment_id(oid)

    result = handler.lambda_handler(charge_event(order, attempt=0), lambda_context)

    assert result == answer("PAID", payment_id=pid)
    row = payment_row(oid)
    assert {k: row[k] for k in ("orderId", "customerId", "status", "paymentId", "amount", "attempt", "reason")} == {
        "orderId": oid,
        "customerId": "customer-1",
        "status": "PAID",
        "paymentId": pid,
        "amount": Decimal("109.97"),
        "attempt": 0,
        "reason": None,
    }
    [entry] = ledger_items()
    assert (entry["paymentId"], entry["orderId"], entry["status"], entry["amount"]) == (
        pid,
        oid,
        "AUTHORIZED",
        Decimal("109.97"),
    )
    stored = get_order(oid)
    assert stored["status"] == "PAID" and stored["paymentId"] == pid and stored["version"] == 2
    assert [h["status"] for h in stored["statusHistory"]] == ["PENDING", "PAID"]
    assert "claim" not in stored and outbox_items() == []
    [event] = cloud.events()
    assert (event["source"], event["detail-type"]) == ("payment.service", "Payment Processed")
    assert event["detail"] == {
        "eventId": expected_event_id(oid, "Payment Processed"),
        "orderId": oid,
        "customerId": "customer-1",
        "paymentId": pid,
        "amount": "109.97",
        "reason": None,
    }
    assert '"PaymentsProcessed":[1.0]' in capsys.readouterr().out


def test_intent_is_recorded_before_the_gateway_is_called(cloud):
    order = put_order("PENDING")
    oid = order["orderId"]
    seen = []

    class Observing(SpyGateway):
        def authorize(self, payment_id, *args, **kwargs):
            seen.append(payment_row(oid))  # what the table holds when the gateway is reached
            raise PaymentGatewayUnavailable("gateway timed out")

    g = spy_gateway(Observing)
    result = service.charge(order_input(order), 2, gateway=g)

    pid = expected_payment_id(oid)
    assert result == answer("RETRY_LATER", reason="PaymentGatewayUnavailable", retry_after=4)
    [row_at_call] = seen
    expected_row = {
        "orderId": oid,
        "customerId": "customer-1",
        "status": "PENDING",
        "paymentId": pid,
        "amount": Decimal("109.97"),
        "attempt": 2,
        "createdAt": row_at_call["createdAt"],
    }
    assert row_at_call == expected_row
    assert payment_row(oid) == expected_row  # the intent stays for the next attempt
    assert get_order(oid) == order and cloud.events() == [] and ledger_items() == []


def test_unexpected_gateway_error_leaves_the_intent(cloud):
    order = put_order("PENDING")

    class Broken(SpyGateway):
        def authorize(self, *args, **kwargs):
            raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        service.charge(order_input(order), gateway=spy_gateway(Broken))
    assert payment_row(order["orderId"])["status"] == "PENDING"
    assert get_order(order["orderId"]) == order


def test_retried_charge_is_one_charge(cloud, lambda_context):
    order = put_order("PENDING")
    oid = order["orderId"]
    spy = spy_gateway()

    first = service.charge(order_input(order), 0, gateway=spy)
    second = service.charge(order_input(order), 3, gateway=spy)
    third = handler.lambda_handler(charge_event(order, attempt=1), lambda_context)

    assert first == second == third == answer("PAID", payment_id=expected_payment_id(oid))
    assert len(spy.calls) == 1 and len(spy.decisions) == 1
    assert len(ledger_items()) == 1
    assert len(cloud.items("PAYMENTS_TABLE")) == 1
    stored = get_order(oid)
    assert [h["status"] for h in stored["statusHistory"]] == ["PENDING", "PAID"] and stored["version"] == 2
    published = cloud.events("Payment Processed")
    assert len(published) == 3  # each call re-puts the event of the state it finds...
    assert {e["detail"]["eventId"] for e in published} == {expected_event_id(oid, "Payment Processed")}  # ...same id


def test_charge_declined(cloud, lambda_context, capsys):
    order = put_order("PENDING", customer_id="customer-declined")
    oid = order["orderId"]
    pid = expected_payment_id(oid)

    result = handler.lambda_handler(charge_event(order), lambda_context)

    assert result == answer(
        "DECLINED",
        reason="CUSTOMER_DECLINED",
        claim={
            "status": "PAYMENT_FAILED",
            "notification": "payment-declined",
            "by": f"payment:{pid}",
            "reason": "payment declined: CUSTOMER_DECLINED",
        },
    )
    stored = get_order(oid)
    assert stored["status"] == "PAYMENT_FAILED" and stored["version"] == 2
    assert stored["claim"] == {"by": f"payment:{pid}", "status": "PAYMENT_FAILED", "at": stored["updatedAt"]}
    assert outbox_items() == [
        {
            "id": f"{oid}#finalize",
            "kind": "finalize",
            "orderId": oid,
            "customerId": "customer-declined",
            "status": "PAYMENT_FAILED",
            "createdAt": stored["updatedAt"],
        }
    ]
    row = payment_row(oid)
    assert (row["status"], row["reason"]) == ("DECLINED", "CUSTOMER_DECLINED")
    [entry] = ledger_items()
    assert (entry["status"], entry["reason"]) == ("DECLINED", "CUSTOMER_DECLINED")
    [event] = cloud.events()
    assert (event["source"], event["detail-type"]) == ("payment.service", "Payment Failed")
    assert event["detail"] == {
        "eventId": expected_event_id(oid, "Payment Failed"),
        "orderId": oid,
        "customerId": "customer-declined",
        "paymentId": pid,
        "amount": "109.97",
        "reason": "CUSTOMER_DECLINED",
    }
    assert '"PaymentsDeclined":[1.0]' in capsys.readouterr().out

    again = handler.lambda_handler(charge_event(order, attempt=1), lambda_context)  # a retried task
    assert again == result
    assert get_order(oid) == stored and len(outbox_items()) == 1 and len(ledger_items()) == 1
    assert {e["detail"]["eventId"] for e in cloud.events()} == {expected_event_id(oid, "Payment Failed")}


def test_charge_declined_over_limit_uses_the_stored_amount(cloud, lambda_context, monkeypatch):
    monkeypatch.setenv("PAYMENT_CUSTOMER_LIMIT", "100.00")
    order = put_order("PENDING")
    event = charge_event(order)
    event["order"]["totalAmount"] = "1.00"  # the stored order is authoritative
    result = handler.lambda_handler(event, lambda_context)
    assert (result["status"], result["reason"], result["amount"]) == ("DECLINED", "AMOUNT_OVER_LIMIT", "109.97")
    assert ledger_items()[0]["amount"] == Decimal("109.97")


@pytest.mark.parametrize(("now", "wait"), [(1000.0, 20), (1000.5, 20), (1019.5, 1), (1015.2, 5)])
def test_open_circuit_answers_retry_later_with_the_remaining_cooldown(cloud, lambda_context, monkeypatch, now, wait):
    monkeypatch.setattr(service, "CLOCK", lambda: now)
    cloud.table("CIRCUIT_BREAKER_TABLE").put_item(
        Item={"name": "payment-gateway", "state": OPEN, "failures": 5, "openedAt": Decimal(990)}
    )
    order = put_order("PENDING")
    spy = spy_gateway()

    result = service.charge(order_input(order), gateway=spy)

    assert result == answer("RETRY_LATER", reason="CircuitOpenError", retry_after=wait)
    assert spy.calls == [] and ledger_items() == []
    assert payment_row(order["orderId"])["status"] == "PENDING"
    assert get_order(order["orderId"]) == order and cloud.events() == []


def test_charge_after_the_cooldown_completes_the_same_intent(cloud, lambda_context, monkeypatch):
    monkeypatch.setattr(service, "CLOCK", lambda: 1000.0)
    cloud.table("CIRCUIT_BREAKER_TABLE").put_item(
        Item={"name": "payment-gateway", "state": OPEN, "failures": 5, "openedAt": Decimal(990)}
    )
    order = put_order("PENDING")
    assert handler.lambda_handler(charge_event(order), lambda_context)["status"] == "RETRY_LATER"
    intent = payment_row(order["orderId"])

    monkeypatch.setattr(service, "CLOCK", lambda: 1020.0)  # cool-down over: the trial call closes it
    result = handler.lambda_handler(charge_event(order, attempt=1), lambda_context)

    assert result == answer("PAID", payment_id=intent["paymentId"])
    row = payment_row(order["orderId"])
    assert row["status"] == "PAID" and row["createdAt"] == intent["createdAt"] and row["attempt"] == 0
    assert CircuitBreaker.from_config().state()["state"] == "CLOSED"
    assert len(ledger_items()) == 1


def test_half_open_circuit_answers_retry_later_for_the_full_cooldown(cloud, monkeypatch):
    monkeypatch.setattr(service, "CLOCK", lambda: 1000.0)
    cloud.table("CIRCUIT_BREAKER_TABLE").put_item(
        Item={"name": "payment-gateway", "state": HALF_OPEN, "failures": 5, "trialStartedAt": Decimal(995)}
    )
    order = put_order("PENDING")
    assert service.charge(order_input(order), gateway=spy_gateway()) == answer(
        "RETRY_LATER", reason="CircuitOpenError", retry_after=30
    )


@pytest.mark.parametrize(("attempt", "wait"), [(0, 1), (1, 2), (3, 8), (5, 32), (6, 60), (10, 60)])
def test_gateway_fault_answers_retry_later_with_backoff(cloud, attempt, wait):
    order = put_order("PENDING")
    result = service.charge(order_input(order), attempt, gateway=spy_gateway(fault_rate=1.0))
    assert result == answer("RETRY_LATER", reason="PaymentGatewayUnavailable", retry_after=wait)
    assert payment_row(order["orderId"])["status"] == "PENDING"
    assert ledger_items() == [] and cloud.events() == []
    assert get_order(order["orderId"]) == order
    assert CircuitBreaker.from_config().state()["failures"] == 1


def test_breaker_opens_from_repeated_gateway_faults(cloud, monkeypatch):
    monkeypatch.setenv("CIRCUIT_FAILURE_THRESHOLD", "3")
    monkeypatch.setattr(service, "CLOCK", lambda: 5000.0)
    failing = spy_gateway(fault_rate=1.0)
    for i in range(3):
        order = put_order("PENDING")
        assert service.charge(order_input(order), i, gateway=failing)["reason"] == "PaymentGatewayUnavailable"
    order = put_order("PENDING")
    assert service.charge(order_input(order), gateway=failing) == answer(
        "RETRY_LATER", reason="CircuitOpenError", retry_after=30
    )
    assert len(failing.calls) == 3
    assert CircuitBreaker.from_config().state()["state"] == OPEN


def test_fault_then_success_through_the_handler(cloud, lambda_context, monkeypatch):
    monkeypatch.setenv("PAYMENT_FAULT_RATE", "0.5")
    order = put_order("PENDING", order_id="0f4a1c2e-7b3d-4e5f-8a9b-1c2d3e4f5a6b")
    bad, good = _fault_pattern("0f4a1c2e-7b3d-4e5f-8a9b-1c2d3e4f5a6b")

    assert handler.lambda_handler(charge_event(order, attempt=bad), lambda_context)["status"] == "RETRY_LATER"
    assert CircuitBreaker.from_config().state()["failures"] == 1
    assert handler.lambda_handler(charge_event(order, attempt=good), lambda_context)["status"] == "PAID"
    assert CircuitBreaker.from_config().state()["failures"] == 0
    assert len(ledger_items()) == 1


@pytest.mark.parametrize("status", ["PAID", "INVENTORY_RESERVED", "CANCELLED", "EXPIRED", "FAILED", "COMPLETED"])
def test_not_payable_when_the_order_left_pending_before_any_row(cloud, status):
    order = put_order(status)
    spy = spy_gateway()
    assert service.charge(order_input(order), gateway=spy) == NOT_PAYABLE
    assert spy.calls == [] and ledger_items() == []
    assert cloud.items("PAYMENTS_TABLE") == [] and cloud.events() == []
    assert get_order(order["orderId"]) == order


def test_not_payable_when_a_compensation_voided_the_intent(cloud):
    order = put_order("PENDING")
    claim(order)
    assert service.refund(order_input(order), "customer cancel")["status"] == "NOT_CHARGED"
    spy = spy_gateway()
    assert service.charge(order_input(order), gateway=spy) == NOT_PAYABLE
    assert spy.calls == [] and ledger_items() == []  # the gateway never saw the key
    assert payment_row(order["orderId"])["status"] == "VOIDED"


def test_charge_landing_after_a_claim_does_not_move_the_order_and_the_refund_gives_the_money_back(cloud):
    order = put_order("PENDING")
    oid = order["orderId"]
    pid = expected_payment_id(oid)

    class ClaimedMeanwhile(SpyGateway):
        def authorize(self, *args, **kwargs):
            claim(order)  # the customer cancels while the gateway is working
            return super().authorize(*args, **kwargs)

    result = service.charge(order_input(order), gateway=spy_gateway(ClaimedMeanwhile))

    assert result == NOT_PAYABLE
    stored = get_order(oid)
    assert stored["status"] == "CANCELLED" and stored["claim"]["by"] == f"cancel:{oid}"
    assert "paymentId" not in stored and stored["version"] == 2
    assert payment_row(oid)["status"] == "PAID"
    assert ledger_entry(pid)["status"] == "AUTHORIZED"  # money held until the claimer's refund
    assert cloud.events() == []

    refunded = service.refund(order_input(order), "customer cancel")

    assert refunded == {"status": "REFUNDED", "paymentId": pid, "refundId": expected_refund_id(oid)}
    assert ledger_entry(pid)["status"] == "REFUNDED"
    row = payment_row(oid)
    assert (row["status"], row["refundId"], row["refundReason"]) == (
        "REFUNDED",
        expected_refund_id(oid),
        "customer cancel",
    )
    [event] = cloud.events("Payment Refunded")
    assert event["detail"]["amount"] == "109.97"
    assert get_order(oid) == stored


def test_refund_during_the_charge_voids_the_key_and_the_charge_is_not_payable(cloud):
    order = put_order("PENDING")
    oid = order["orderId"]

    class CompensatedMeanwhile(SpyGateway):
        def authorize(self, *args, **kwargs):
            claim(order, "FAILED", by="exec-1")
            assert service.refund(order_input(order), "fault", gateway=spy_gateway())["status"] == "NOT_CHARGED"
            return super().authorize(*args, **kwargs)

    g = spy_gateway(CompensatedMeanwhile)
    assert service.charge(order_input(order), gateway=g) == NOT_PAYABLE
    [entry] = ledger_items()
    assert entry["status"] == "VOIDED" and g.decisions == []  # nothing was ever authorized
    row = payment_row(oid)
    assert (row["status"], row["gatewayStatus"]) == ("VOIDED", "VOIDED")
    assert get_order(oid)["status"] == "FAILED"
    assert cloud.events() == []


def test_crash_between_gateway_and_row_completes_consistently(cloud):
    order = put_order("PENDING")
    oid = order["orderId"]
    pid = expected_payment_id(oid)
    spy = spy_gateway()
    # the first attempt recorded the intent and reached the gateway, then the Lambda died
    service.payments.put_if_absent(
        {
            "orderId": oid,
            "customerId": "customer-1",
            "status": "PENDING",
            "paymentId": pid,
            "amount": Decimal("109.97"),
            "attempt": 0,
            "createdAt": "2024-01-01T00:00:00.000Z",
        }
    )
    spy.authorize(pid, oid, "customer-1", Decimal("109.97"), 0)

    result = service.charge(order_input(order), 1, gateway=spy)

    assert result == answer("PAID", payment_id=pid)
    assert len(spy.calls) == 2 and len(spy.decisions) == 1  # the retry got the recorded outcome
    [entry] = ledger_items()
    assert entry["status"] == "AUTHORIZED"
    assert payment_row(oid)["status"] == "PAID"
    assert get_order(oid)["status"] == "PAID" and get_order(oid)["paymentId"] == pid


def test_crash_between_row_and_order_completes_without_the_gateway(cloud):
    order = put_order("PENDING")
    oid = order["orderId"]
    pid = expected_payment_id(oid)
    service.payments.put_if_absent(
        {
            "orderId": oid,
            "customerId": "customer-1",
            "status": "PAID",
            "paymentId": pid,
            "amount": Decimal("109.97"),
            "attempt": 0,
            "reason": None,
            "createdAt": "2024-01-01T00:00:00.000Z",
        }
    )
    spy = spy_gateway()
    assert service.charge(order_input(order), gateway=spy) == answer("PAID", payment_id=pid)
    assert spy.calls == []
    assert get_order(oid)["status"] == "PAID"


def test_declined_charge_of_an_order_claimed_meanwhile_is_not_payable(cloud):
    order = put_order("PENDING", customer_id="customer-declined")

    class ClaimedMeanwhile(SpyGateway):
        def authorize(self, *args, **kwargs):
            claim(order)
            return super().authorize(*args, **kwargs)

    g = spy_gateway(ClaimedMeanwhile)
    assert service.charge(order_input(order), gateway=g) == NOT_PAYABLE
    stored = get_order(order["orderId"])
    assert stored["status"] == "CANCELLED" and stored["claim"]["by"] == f"cancel:{order['orderId']}"
    assert cloud.events() == []


def test_repeated_charge_after_order_moved_on_is_not_an_error(cloud):
    order = put_order("PENDING")
    service.charge(order_input(order), gateway=spy_gateway())
    orders.transition(order["orderId"], "customer-1", "INVENTORY_RESERVED", "reserved")
    assert service.charge(order_input(order), gateway=spy_gateway())["status"] == "PAID"
    assert get_order(order["orderId"])["status"] == "INVENTORY_RESERVED"


def test_concurrent_charge_loses_the_conditional_put(cloud, monkeypatch):
    order = put_order("PENDING")
    real_put = service.payments.put_if_absent

    def racing_put(row):
        winner = dict(row, paymentId="9a1b2c3d-0000-5000-8000-000000000009", attempt=9)
        assert real_put(winner) is True  # another Lambda wrote first
        return real_put(row)

    monkeypatch.setattr(service.payments, "put_if_absent", racing_put)
    spy = spy_gateway()
    result = service.charge(order_input(order), gateway=spy)
    assert result["paymentId"] == "9a1b2c3d-0000-5000-8000-000000000009"
    assert [c[0] for c in spy.calls] == ["9a1b2c3d-0000-5000-8000-000000000009"]
    assert len(cloud.items("PAYMENTS_TABLE")) == 1


def test_charge_unknown_order(cloud):
    with pytest.raises(OrderNotFound):
        service.charge({"orderId": "missing", "customerId": "customer-1"})
    order = put_order("PENDING")
    with pytest.raises(OrderNotFound):
        service.charge({"orderId": order["orderId"], "customerId": "someone-else"})
    with pytest.raises(OrderNotFound):
        service.refund({"orderId": "missing", "customerId": "customer-1"})


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


def test_ids_are_the_documented_uuid5():
    assert service.payment_id_for("o-1") == expected_payment_id("o-1")
    assert service.refund_id_for("o-1") == expected_refund_id("o-1")


# ---------------------------------------------------------------------------------------------
# refund
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", LIVE + ["COMPLETED"])
def test_refund_not_compensable_changes_nothing(cloud, lambda_context, status):
    order = put_order("PENDING")
    service.charge(order_input(order), gateway=spy_gateway())
    order = put_order(status, order_id=order["orderId"])  # wherever the order is now, it is not claimed
    row, ledger, published = payment_row(order["orderId"]), ledger_items(), len(cloud.events())

    result = handler.lambda_handler(refund_event(order), lambda_context)

    assert result == {"status": "NOT_COMPENSABLE", "paymentId": None, "refundId": None}
    assert payment_row(order["orderId"]) == row and row["status"] == "PAID"
    assert ledger_items() == ledger and ledger[0]["status"] == "AUTHORIZED"
    assert len(cloud.events()) == published
    assert get_order(order["orderId"]) == order


@pytest.mark.parametrize("status", LIVE + ["COMPLETED"])
def test_refund_not_compensable_writes_no_tombstone(cloud, status):
    order = put_order(status)
    assert service.refund(order_input(order))["status"] == "NOT_COMPENSABLE"
    assert cloud.items("PAYMENTS_TABLE") == [] and ledger_items() == []


@pytest.mark.parametrize("status", ["CANCELLED", "EXPIRED", "FAILED"])
def test_refund_without_a_row_writes_a_voided_tombstone(cloud, lambda_context, status):
    order = put_claimed_order(status)
    oid = order["orderId"]

    result = handler.lambda_handler(refund_event(order, "customer cancel"), lambda_context)

    assert result == {"status": "NOT_CHARGED", "paymentId": None, "refundId": None}
    row = payment_row(oid)
    assert row == {
        "orderId": oid,
        "customerId": "customer-1",
        "status": "VOIDED",
        "paymentId": expected_payment_id(oid),
        "amount": Decimal(0),
        "reason": "customer cancel",
        "createdAt": row["createdAt"],
    }
    assert ledger_items() == [] and cloud.events() == []
    # a charge arriving later charges nothing, and the gateway never sees the key
    spy = spy_gateway()
    assert service.charge(order_input(order), gateway=spy) == NOT_PAYABLE
    assert spy.calls == [] and ledger_items() == []
    assert handler.lambda_handler(refund_event(order), lambda_context)["status"] == "NOT_CHARGED"
    assert payment_row(oid) == row


def test_refund_of_a_pending_intent_voids_it_at_the_gateway(cloud):
    order = put_order("PENDING")
    oid = order["orderId"]
    pid = expected_payment_id(oid)
    assert service.charge(order_input(order), gateway=spy_gateway(fault_rate=1.0))["status"] == "RETRY_LATER"
    claim(order, "EXPIRED", by="sweep")

    result = service.refund(order_input(order), "expired")

    assert result == {"status": "NOT_CHARGED", "paymentId": pid, "refundId": None}
    row = payment_row(oid)
    assert (row["status"], row["gatewayStatus"], row["refundReason"]) == ("VOIDED", "VOIDED", "expired")
    [entry] = ledger_items()
    assert (entry["paymentId"], entry["status"], entry["amount"]) == (pid, "VOIDED", Decimal(0))
    spy = spy_gateway()
    assert service.charge(order_input(order), 1, gateway=spy) == NOT_PAYABLE  # the parked charge resumes
    assert spy.calls == [] and [e["status"] for e in ledger_items()] == ["VOIDED"]
    assert cloud.events() == []


def test_refund_of_a_pending_intent_reverses_an_authorization_that_happened(cloud):
    order = put_order("PENDING")
    oid = order["orderId"]
    pid = expected_payment_id(oid)
    service.payments.put_if_absent(
        {
            "orderId": oid,
            "customerId": "customer-1",
            "status": "PENDING",
            "paymentId": pid,
            "amount": Decimal("109.97"),
            "attempt": 0,
            "createdAt": "2024-01-01T00:00:00.000Z",
        }
    )
    spy_gateway().authorize(pid, oid, "customer-1", Decimal("109.97"))  # authorized, the row not yet moved
    claim(order, "FAILED", by="exec-1")

    result = service.refund(order_input(order), "fault")

    assert result == {"status": "REFUNDED", "paymentId": pid, "refundId": None}
    row = payment_row(oid)
    assert (row["status"], row["gatewayStatus"]) == ("VOIDED", "REVERSED")
    [entry] = ledger_items()
    assert (entry["status"], entry["amount"]) == ("REVERSED", Decimal("109.97"))
    assert service.charge(order_input(order), 1, gateway=spy_gateway()) == NOT_PAYABLE
    assert [e["status"] for e in ledger_items()] == ["REVERSED"]
    assert get_order(oid)["status"] == "FAILED"


def test_refund_of_a_paid_order_refunds_once(cloud, lambda_context, capsys):
    order = put_order("PENDING")
    oid = order["orderId"]
    pid = expected_payment_id(oid)
    service.charge(order_input(order), gateway=spy_gateway())
    claimed = claim(order)
    capsys.readouterr()
    cloud.events()  # drain the charge's event
    charge_events = len(cloud.events())

    first = handler.lambda_handler(refund_event(order, "customer cancel"), lambda_context)

    assert first == {"status": "REFUNDED", "paymentId": pid, "refundId": expected_refund_id(oid)}
    row = payment_row(oid)
    assert (row["status"], row["refundId"], row["refundReason"], row["amount"]) == (
        "REFUNDED",
        expected_refund_id(oid),
        "customer cancel",
        Decimal("109.97"),
    )
    assert row["refundedAt"].endswith("Z")
    [entry] = ledger_items()
    assert entry["status"] == "REFUNDED"
    refund_events = cloud.events("Payment Refunded")
    assert len(refund_events) == 1
    assert refund_events[0]["source"] == "payment.service"
    assert refund_events[0]["detail"] == {
        "eventId": expected_event_id(oid, "Payment Refunded"),
        "orderId": oid,
        "customerId": "customer-1",
        "paymentId": pid,
        "amount": "109.97",
        "reason": "customer cancel",
    }
    ledger = ledger_items()

    second = handler.lambda_handler(refund_event(order, "again"), lambda_context)

    assert second == first
    assert payment_row(oid) == row and ledger_items() == ledger
    again = cloud.events("Payment Refunded")
    assert len(again) == 2 and again[1]["detail"] == refund_events[0]["detail"]  # the same eventId re-put
    assert len(cloud.events()) == charge_events + 2
    assert capsys.readouterr().out.count('"PaymentsRefunded":[1.0]') == 1
    assert get_order(oid) == claimed  # a refund never changes the order


def test_refund_after_a_decline_is_not_charged(cloud, lambda_context):
    order = put_order("PENDING", customer_id="customer-declined")
    service.charge(order_input(order), gateway=spy_gateway())
    row, ledger, published = payment_row(order["orderId"]), ledger_items(), len(cloud.events())
    result = handler.lambda_handler(refund_event(order), lambda_context)
    assert result == {"status": "NOT_CHARGED", "paymentId": None, "refundId": None}
    assert payment_row(order["orderId"]) == row and ledger_items() == ledger
    assert len(cloud.events()) == published
    assert get_order(order["orderId"])["status"] == "PAYMENT_FAILED"


def test_refund_default_reason(cloud):
    order = put_claimed_order("CANCELLED")
    service.refund({"orderId": order["orderId"], "customerId": "customer-1"})
    assert payment_row(order["orderId"])["reason"] == "refund requested"


def test_tombstone_losing_to_a_charge_voids_the_intent(cloud, monkeypatch):
    order = put_claimed_order("CANCELLED")
    oid = order["orderId"]
    real_put = service.payments.put_if_absent

    def charge_first(row):
        assert real_put(
            {
                "orderId": oid,
                "customerId": "customer-1",
                "status": "PENDING",
                "paymentId": expected_payment_id(oid),
                "amount": Decimal("109.97"),
                "attempt": 0,
                "createdAt": "2024-01-01T00:00:00.000Z",
            }
        )
        return real_put(row)

    monkeypatch.setattr(service.payments, "put_if_absent", charge_first)
    assert service.refund(order_input(order))["status"] == "NOT_CHARGED"
    assert payment_row(oid)["status"] == "VOIDED"
    assert [e["status"] for e in ledger_items()] == ["VOIDED"]


def test_concurrent_refund_is_one_refund(cloud, monkeypatch):
    order = put_order("PENDING")
    service.charge(order_input(order), gateway=spy_gateway())
    claim(order)
    real = service.payments.move

    def other_lambda_first(order_id, source, target, fields=None):
        assert real(order_id, source, target, dict(fields or {}, refundReason="the other Lambda"))
        return real(order_id, source, target, fields)

    monkeypatch.setattr(service.payments, "move", other_lambda_first)
    assert service.refund(order_input(order), "mine")["status"] == "REFUNDED"
    assert payment_row(order["orderId"])["refundReason"] == "the other Lambda"
    assert len(cloud.events("Payment Refunded")) == 1


def test_a_row_that_keeps_changing_is_retryable(cloud, monkeypatch):
    order = put_order("PENDING")
    service.charge(order_input(order), gateway=spy_gateway())
    claim(order)
    monkeypatch.setattr(service.payments, "move", lambda *_args, **_kwargs: False)
    with pytest.raises(RetryableError, match="kept changing"):
        service.refund(order_input(order))
    assert payment_row(order["orderId"])["status"] == "PAID"
    assert cloud.events("Payment Refunded") == []


def test_payments_repository_propagates_unexpected_errors(cloud, monkeypatch):
    class Table:
        def put_item(self, **_):
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "PutItem")

        update_item = put_item

    monkeypatch.setattr(type(service.payments), "_table", property(lambda self: Table()))
    with pytest.raises(ClientError):
        service.payments.put_if_absent({"orderId": "x"})
    with pytest.raises(ClientError):
        service.payments.move("x", "PAID", "REFUNDED", {"refundId": "r"})


def test_payment_table_names_from_env():
    assert service.payments.table_name == ENV["PAYMENTS_TABLE"]


def test_throttled_dynamodb_is_a_transient_error(cloud, lambda_context, monkeypatch):
    order = put_order("PENDING")

    class Throttled:
        def get_item(self, **_):
            raise ClientError(
                {
                    "Error": {"Code": "ProvisionedThroughputExceededException"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "GetItem",
            )

        def put_item(self, **_):  # a first charge's first payments call: the intent's conditional put
            raise ClientError(
                {
                    "Error": {"Code": "ProvisionedThroughputExceededException"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "PutItem",
            )

    monkeypatch.setattr(type(service.payments), "_table", property(lambda self: Throttled()))
    with pytest.raises(TransientAwsError) as info:
        handler.lambda_handler(charge_event(order), lambda_context)
    assert type(info.value).__name__ == "TransientAwsError"
    assert isinstance(info.value.__cause__, ClientError)
    assert get_order(order["orderId"]) == order


def test_charge_whose_key_a_compensation_voided_first_leaves_the_intent_voided(cloud):
    """The refund voided the key at the gateway before the charge's authorize, and the charge records its answer
    first: the row ends VOIDED (a closed intent), not DECLINED, and the order is not claimed PAYMENT_FAILED."""
    order = put_order("PENDING")
    payment_id = expected_payment_id(order["orderId"])
    gateway = spy_gateway()
    # the intent exists, the claimer voids the key at the gateway, then the charge authorizes and records
    service.payments.put_if_absent(
        {
            "orderId": order["orderId"],
            "customerId": "customer-1",
            "status": "PENDING",
            "paymentId": payment_id,
            "amount": Decimal("109.97"),
            "attempt": 0,
            "createdAt": "2024-05-01T12:00:00.000Z",
        }
    )
    claim(order)
    assert gateway.void(payment_id, order["orderId"]) == "VOIDED"
    result = service.charge(order_input(order), gateway=gateway)

    assert result == NOT_PAYABLE
    assert payment_row(order["orderId"])["status"] == "VOIDED"
    assert ledger_entry(payment_id)["status"] == "VOIDED" and gateway.decisions == []
    assert get_order(order["orderId"])["status"] == "CANCELLED"
