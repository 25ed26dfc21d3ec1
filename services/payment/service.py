"""Payment business logic: a charge that reaches the gateway exactly once, and a refund only for claimed orders.

The payments table row is the payment intent, recorded before the gateway is called; the paymentId (uuid5 of the
order id) is the gateway's idempotency key, so a retried or concurrent charge never charges twice. A repeated call
re-puts the event of the state it finds (same deterministic eventId); consumers de-duplicate.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aws_lambda_powertools import Logger

from payment import gateway as gateway_api
from payment.circuit_breaker import CircuitBreaker
from payment.gateway import SimulatedGateway
from shared import clock, events, observability
from shared.errors import (
    CircuitOpenError,
    IllegalTransition,
    InvalidTaskInput,
    OrderNotFound,
    PaymentGatewayUnavailable,
    RetryableError,
)
from shared.lifecycle import COMPENSABLE_STATUSES, OrderStatus, claim_of, is_terminal
from shared.models import money_str, parse_order_ref
from shared.repositories import OrdersRepository, PaymentsRepository
from shared.repositories.payments import DECLINED, PAID, PENDING, REFUNDED, VOIDED

logger = Logger(child=True)
orders = OrdersRepository()
payments = PaymentsRepository()

#: clock used by the default circuit breaker (tests monkeypatch this)
CLOCK: Callable[[], float] = time.time
ORDER_NOT_PAYABLE = "ORDER_NOT_PAYABLE"
NOT_PAYABLE = "NOT_PAYABLE"
RETRY_LATER = "RETRY_LATER"
NOT_CHARGED = "NOT_CHARGED"
NOT_COMPENSABLE = "NOT_COMPENSABLE"
MAX_RETRY_AFTER_SECONDS = 60
#: a row changes at most PENDING -> outcome -> REFUNDED: more races than that is contention, retried later
MAX_ROW_RACES = 4


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
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        value = int(raw.strip())
    if value is None or value < 0:
        raise InvalidTaskInput(f"attempt must be a non-negative integer, got {raw!r}")
    return value


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
    """Charge the stored order's server-priced total exactly once at the gateway.

    1. Record the intent: a PENDING row (conditional put) before the gateway is called, only while the order is
       PENDING. A compensation that came first left a VOIDED row: nothing is charged then.
    2. Authorize with the paymentId as the gateway's idempotency key (a retry never charges twice); an open
       circuit or a gateway fault answers RETRY_LATER (the workflow parks the order) instead of failing it.
    3. Record the outcome (PENDING -> PAID/DECLINED, conditional) and move the order PENDING -> PAID or claim it
       PAYMENT_FAILED. If a compensating path claimed the order meanwhile, its refund owns the money: NOT_PAYABLE.
    """
    ref = parse_order_ref(order_input)
    attempt_no = parse_attempt(attempt)
    observability.bind_order(ref.order_id, customerId=ref.customer_id, attempt=attempt_no)
    order = orders.get(ref.order_id, ref.customer_id)
    if order is None or order["customerId"] != ref.customer_id:
        raise OrderNotFound(ref.order_id)

    row = None
    if order["status"] == OrderStatus.PENDING:  # the first charge: record the intent, no read before (it is absent)
        intent = {
            "orderId": ref.order_id,
            "customerId": ref.customer_id,
            "status": PENDING,
            "paymentId": payment_id_for(ref.order_id),
            "amount": order["totalAmount"],  # the stored, server-priced total
            "attempt": attempt_no,
            "createdAt": clock.now_iso(),
        }
        row = intent if payments.put_if_absent(intent) else None
    if row is None:  # a charge again (retry, parking) or a compensation's tombstone: the recorded row decides
        row = payments.get(ref.order_id)
        if row is None:
            if order["status"] == OrderStatus.PENDING:  # pragma: no cover - rows are never deleted
                raise RetryableError(f"payment row of order {ref.order_id} vanished; retry")
            logger.warning("order not payable, not charging", extra={"status": order["status"]})
            return _not_payable(order)
    if row["status"] == PENDING:
        gateway = gateway or SimulatedGateway.from_config()
        breaker = breaker or CircuitBreaker.from_config(clock=CLOCK)
        try:
            authorization = breaker.call(
                gateway.authorize, row["paymentId"], ref.order_id, ref.customer_id, row["amount"], attempt_no
            )
        except (CircuitOpenError, PaymentGatewayUnavailable) as exc:
            return _retry_later(row, exc, attempt_no)
        # a key the gateway reports voided was closed by a compensation: the intent is VOIDED, not a decline
        voided = not authorization.approved and authorization.reason == gateway_api.VOIDED_REASON
        outcome = PAID if authorization.approved else (VOIDED if voided else DECLINED)
        decision = {"reason": authorization.reason, "decidedAt": clock.now_iso()}
        if payments.move(ref.order_id, PENDING, outcome, decision):
            observability.count(
                "PaymentsProcessed" if authorization.approved else "PaymentsVoided" if voided else "PaymentsDeclined"
            )
            logger.info("payment recorded", extra={"paymentStatus": outcome, "reason": authorization.reason})
            # what the conditional move wrote: a PENDING row changes only by a move, so it was the row we hold
            row = {**row, **decision, "status": outcome}
        else:
            row = payments.get(ref.order_id) or row  # another writer moved it first: its decision stands
    return _apply_to_order(order, row)


def _charge_answer(
    status: str,
    amount: Any,
    *,
    payment_id: str | None = None,
    reason: str | None = None,
    retry_after: int | None = None,
    claim: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The charge contract: every key always present (the workflow's ResultSelector reads each one)."""
    return {
        "status": status,
        "paymentId": payment_id,
        "amount": money_str(amount),
        "reason": reason,
        "retryAfterSeconds": retry_after,
        "claim": claim,
    }


def _not_payable(order: dict[str, Any]) -> dict[str, Any]:
    return _charge_answer(NOT_PAYABLE, order["totalAmount"], reason=ORDER_NOT_PAYABLE)


def _retry_later(row: dict[str, Any], exc: Exception, attempt: int) -> dict[str, Any]:
    """The gateway cannot answer now: the workflow waits `retryAfterSeconds` and charges again (same key)."""
    if isinstance(exc, CircuitOpenError) and exc.retry_after_seconds is not None:
        wait = max(1, math.ceil(exc.retry_after_seconds))
    else:
        wait = min(MAX_RETRY_AFTER_SECONDS, 2 ** min(attempt, 6))
    logger.warning("gateway unavailable: retry later", extra={"error": str(exc), "retryAfterSeconds": wait})
    observability.count("PaymentsParked")
    return _charge_answer(RETRY_LATER, row["amount"], reason=type(exc).__name__, retry_after=wait)


def _apply_to_order(order: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Move the order by the recorded outcome; a repeated call finds it moved already and answers the same."""
    order_id, customer_id = order["orderId"], order["customerId"]
    if row["status"] not in (PAID, DECLINED):  # VOIDED / REFUNDED: a claimer closed the intent
        logger.info("payment intent closed by a compensation", extra={"paymentStatus": row["status"]})
        return _not_payable(order)
    if row["status"] == PAID:
        try:
            # the lifecycle (shared.lifecycle) admits PAID only from PENDING
            orders.transition(
                order_id, customer_id, OrderStatus.PAID, "payment approved", extra_set={"paymentId": row["paymentId"]}
            )
        except IllegalTransition as exc:
            if is_terminal(exc.current):  # claimed meanwhile: the claimer's refund gives the money back
                logger.warning("order claimed during the charge", extra={"status": exc.current})
                return _not_payable(order)
        claim = None
    else:
        try:
            updated = orders.transition(
                order_id,
                customer_id,
                OrderStatus.PAYMENT_FAILED,
                f"payment declined: {row.get('reason')}",
                claim_by=f"payment:{row['paymentId']}",
            )
        except IllegalTransition as exc:
            logger.warning("order claimed during the charge", extra={"status": exc.current})
            return _not_payable(order)
        claim = claim_of(updated)
    approved = row["status"] == PAID
    events.publish_order_event(
        events.PAYMENT_SERVICE,
        events.PAYMENT_PROCESSED if approved else events.PAYMENT_FAILED,
        order_id,
        _payment_event_detail(row, row.get("reason")),
    )
    return _charge_answer(
        row["status"],
        row["amount"],
        payment_id=row["paymentId"] if approved else None,
        reason=row.get("reason"),
        claim=claim,
    )


# ---------------------------------------------------------------------------------------------
# refund
# ---------------------------------------------------------------------------------------------
def refund(order_input: Any, reason: Any = None, *, gateway: SimulatedGateway | None = None) -> dict[str, Any]:
    """Compensate the payment of a claimed order, exactly once at the gateway; idempotent.

    Only an order in a compensable terminal status (claimed) is refunded: anything else is NOT_COMPENSABLE and
    changes nothing, so no path can refund a COMPLETED or live order. No row: a VOIDED row closes the intent
    (a charge arriving later charges nothing). PENDING: the gateway voids the key (reversing an authorization that
    raced us) and the row becomes VOIDED. PAID: the gateway refunds, the row becomes REFUNDED.
    Contract shape `{"status": "REFUNDED"|"NOT_CHARGED"|"NOT_COMPENSABLE", "paymentId", "refundId"}`.
    """
    ref = parse_order_ref(order_input)
    reason_text = str(reason)[:256] if reason else "refund requested"
    observability.bind_order(ref.order_id, customerId=ref.customer_id)
    order = orders.get(ref.order_id, ref.customer_id)
    if order is None or order["customerId"] != ref.customer_id:
        raise OrderNotFound(ref.order_id)
    if order["status"] not in COMPENSABLE_STATUSES:
        logger.error("refund refused: order not claimed for compensation", extra={"status": order["status"]})
        return {"status": NOT_COMPENSABLE, "paymentId": None, "refundId": None}
    gateway = gateway or SimulatedGateway.from_config()
    payment_id = payment_id_for(ref.order_id)
    for _ in range(MAX_ROW_RACES):
        row = payments.get(ref.order_id)
        now = clock.now_iso()
        if row is None:
            tombstone = {
                "orderId": ref.order_id,
                "customerId": ref.customer_id,
                "status": VOIDED,
                "paymentId": payment_id,
                "amount": Decimal(0),
                "reason": reason_text,
                "createdAt": now,
            }
            if payments.put_if_absent(tombstone):
                logger.info("nothing charged: intent closed")
                return {"status": NOT_CHARGED, "paymentId": None, "refundId": None}
        elif row["status"] == PENDING:
            final = gateway.void(row["paymentId"], ref.order_id)
            if payments.move(
                ref.order_id, PENDING, VOIDED, {"gatewayStatus": final, "refundReason": reason_text, "voidedAt": now}
            ):
                logger.info("charge in flight voided", extra={"gatewayStatus": final})
                reversed_ = final == gateway_api.REVERSED
                return {
                    "status": REFUNDED if reversed_ else NOT_CHARGED,
                    "paymentId": row["paymentId"],
                    "refundId": None,
                }
        elif row["status"] == PAID:
            gateway.refund(row["paymentId"])
            if payments.move(
                ref.order_id,
                PAID,
                REFUNDED,
                {"refundId": refund_id_for(ref.order_id), "refundedAt": now, "refundReason": reason_text},
            ):
                observability.count("PaymentsRefunded")
                logger.info("payment refunded", extra={"reason": reason_text})
        elif row["status"] == REFUNDED:
            events.publish_order_event(
                events.PAYMENT_SERVICE,
                events.PAYMENT_REFUNDED,
                ref.order_id,
                _payment_event_detail(row, row.get("refundReason") or reason_text),
            )
            return {"status": REFUNDED, "paymentId": row.get("paymentId"), "refundId": row.get("refundId")}
        else:  # DECLINED / VOIDED: nothing was charged
            return {"status": NOT_CHARGED, "paymentId": None, "refundId": None}
    raise RetryableError(f"payment row of order {ref.order_id} kept changing; retry")
