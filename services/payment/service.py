"""Payment business logic: idempotent charge and refund.

The payments table row (PutItem attribute_not_exists(orderId)) IS the charge: a repeated charge returns the
stored result and never calls the gateway again. Every call re-puts the event of the state it finds (same
deterministic eventId), so a publish lost to a crash/retry is recovered and consumers de-duplicate.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable

from aws_lambda_powertools import Logger

from payment.circuit_breaker import CircuitBreaker
from payment.gateway import SimulatedGateway
from shared import clock, events, observability
from shared.errors import IllegalTransition, InvalidTaskInput, OrderNotFound, RetryableError
from shared.models import OrderStatus, money_str, parse_order_ref
from shared.repositories import OrdersRepository, PaymentsRepository
from shared.repositories.payments import DECLINED, PAID, REFUNDED

logger = Logger(child=True)
orders = OrdersRepository()
payments = PaymentsRepository()

#: clock used by the default circuit breaker (tests monkeypatch this)
CLOCK: Callable[[], float] = time.time
ORDER_NOT_PAYABLE = "ORDER_NOT_PAYABLE"
NOT_CHARGED = "NOT_CHARGED"
#: order statuses in which a charge that raced with the order being closed is refunded right away
CLOSED_WITHOUT_PAYMENT = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FAILED})


def payment_id_for(order_id: str) -> str:
    return str(uuid.uuid5(events.EVENT_ID_NAMESPACE, f"{order_id}|payment"))


def refund_id_for(order_id: str) -> str:
    return str(uuid.uuid5(events.EVENT_ID_NAMESPACE, f"{order_id}|refund"))


def parse_attempt(raw: Any) -> int:
    """Workflow retry attempt (default 0): a non-negative integer (int, integral float or digit string)."""
    if raw is None:
        return 0
    value: int | None = None
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str) and raw.strip().isdigit():
        value = int(raw.strip())
    if value is None or value < 0:
        raise InvalidTaskInput(f"attempt must be a non-negative integer, got {raw!r}")
    return value


def charge_result(row: dict[str, Any]) -> dict[str, Any]:
    """Contract shape: {"status": "PAID"|"DECLINED", "paymentId", "amount": "109.97", "reason"}.

    A row that was refunded later still reports its original charge outcome (PAID).
    """
    declined = row["status"] == DECLINED
    return {
        "status": DECLINED if declined else PAID,
        "paymentId": None if declined else row.get("paymentId"),
        "amount": money_str(row["amount"]),
        "reason": row.get("reason"),
    }


def _payment_event_detail(row: dict[str, Any], reason: str | None) -> dict[str, Any]:
    return {
        "customerId": row["customerId"],
        "paymentId": row.get("paymentId"),
        "amount": money_str(row["amount"]),
        "reason": reason,
    }


# ---------------------------------------------------------------------------------------------
# charge
# ---------------------------------------------------------------------------------------------
def charge(
    order_input: Any,
    attempt: Any = 0,
    *,
    gateway: SimulatedGateway | None = None,
    breaker: CircuitBreaker | None = None,
) -> dict[str, Any]:
    ref = parse_order_ref(order_input)
    attempt_no = parse_attempt(attempt)
    observability.bind_order(ref.order_id, customerId=ref.customer_id, attempt=attempt_no)
    order = orders.get(ref.order_id)
    if order is None or order["customerId"] != ref.customer_id:
        raise OrderNotFound(ref.order_id)

    row = payments.get(ref.order_id)
    if row is None:
        if order["status"] != OrderStatus.PENDING:
            # never charge an order that was cancelled/expired/failed before we got to it
            logger.warning("order not payable, not charging", extra={"status": order["status"]})
            return {"status": DECLINED, "paymentId": None, "amount": money_str(order["totalAmount"]),
                    "reason": ORDER_NOT_PAYABLE}
        gateway = gateway or SimulatedGateway.from_config()
        breaker = breaker or CircuitBreaker.from_config(clock=CLOCK)
        amount = order["totalAmount"]  # the stored order is authoritative
        authorization = breaker.call(gateway.authorize, ref.order_id, ref.customer_id, amount, attempt_no)
        new_row: dict[str, Any] = {
            "orderId": ref.order_id,
            "customerId": ref.customer_id,
            "status": PAID if authorization.approved else DECLINED,
            "paymentId": payment_id_for(ref.order_id) if authorization.approved else None,
            "amount": amount,
            "reason": authorization.reason,
            "attempt": attempt_no,
            "createdAt": clock.now_iso(),
        }
        if payments.put_if_absent(new_row):
            row = new_row
            observability.count("PaymentsProcessed" if authorization.approved else "PaymentsDeclined")
            logger.info("payment recorded", extra={"paymentStatus": row["status"], "reason": row["reason"]})
        else:  # a concurrent charge of the same order won: its row is the charge
            row = payments.get(ref.order_id)
            if row is None:  # pragma: no cover - rows are never deleted
                raise RetryableError(f"payment row of order {ref.order_id} vanished; retry")
    else:
        logger.info("repeated charge: returning the recorded result", extra={"paymentStatus": row["status"]})

    result = charge_result(row)
    _apply_charge_to_order(order, row, result)
    detail_type = events.PAYMENT_PROCESSED if result["status"] == PAID else events.PAYMENT_FAILED
    events.publish_order_event(
        events.PAYMENT_SERVICE, detail_type, ref.order_id, _payment_event_detail(row, result["reason"])
    )
    return result


def _apply_charge_to_order(order: dict[str, Any], row: dict[str, Any], result: dict[str, Any]) -> None:
    """PENDING -> PAID / PAYMENT_FAILED. An order already past PENDING (repeated call) is left alone, except
    that a PAID charge on an order closed meanwhile (CANCELLED/EXPIRED/FAILED) is refunded at once."""
    target = OrderStatus.PAID if result["status"] == PAID else OrderStatus.PAYMENT_FAILED
    current = order["status"]
    if current == OrderStatus.PENDING:
        extra = {"paymentId": row["paymentId"]} if target == OrderStatus.PAID else None
        reason = "payment approved" if target == OrderStatus.PAID else f"payment declined: {result['reason']}"
        try:
            orders.transition(
                order["orderId"], order["customerId"], target, reason,
                expected_from=[OrderStatus.PENDING], extra_set=extra,
            )
            return
        except IllegalTransition as exc:
            current = exc.current
    logger.info("order already past PENDING; status left as is", extra={"status": current})
    if row["status"] == PAID and current in CLOSED_WITHOUT_PAYMENT:
        logger.warning("charged order was closed meanwhile: refunding", extra={"status": current})
        refund({"orderId": order["orderId"], "customerId": order["customerId"]},
               f"order {str(current).lower()} during charge")


# ---------------------------------------------------------------------------------------------
# refund
# ---------------------------------------------------------------------------------------------
def refund(order_input: Any, reason: Any = None) -> dict[str, Any]:
    """Idempotent refund: PAID -> REFUNDED once; no row / DECLINED -> NOT_CHARGED.

    Contract shape `{"status": "REFUNDED"|"NOT_CHARGED", "paymentId", "refundId"}`; an order in
    INVENTORY_UNAVAILABLE moves to REFUNDED.
    """
    ref = parse_order_ref(order_input)
    reason_text = str(reason) if reason else "refund requested"
    observability.bind_order(ref.order_id, customerId=ref.customer_id)
    row = payments.get(ref.order_id)
    if row is None or row["status"] == DECLINED:
        logger.info("nothing to refund", extra={"paymentStatus": row["status"] if row else None})
        return {"status": NOT_CHARGED, "paymentId": None, "refundId": None}

    if row["status"] == PAID:
        refund_id = refund_id_for(ref.order_id)
        if payments.mark_refunded(ref.order_id, refund_id, reason_text, clock.now_iso()):
            observability.count("PaymentsRefunded")
            logger.info("payment refunded", extra={"refundId": refund_id, "reason": reason_text})
        row = payments.get(ref.order_id) or row
    else:
        logger.info("repeated refund: already refunded", extra={"refundId": row.get("refundId")})

    order = orders.get(ref.order_id)
    if order is not None and order["status"] == OrderStatus.INVENTORY_UNAVAILABLE:
        try:
            orders.transition(ref.order_id, order["customerId"], OrderStatus.REFUNDED, reason_text,
                              expected_from=[OrderStatus.INVENTORY_UNAVAILABLE])
        except IllegalTransition:
            logger.info("order changed concurrently; leaving its status")

    events.publish_order_event(
        events.PAYMENT_SERVICE,
        events.PAYMENT_REFUNDED,
        ref.order_id,
        _payment_event_detail(row, row.get("refundReason") or reason_text),
    )
    return {"status": REFUNDED, "paymentId": row.get("paymentId"), "refundId": row.get("refundId")}
