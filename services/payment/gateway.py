"""Deterministic simulated payment gateway (documented in docs/api.md) with a provider-side ledger.

A real provider keeps its own ledger and honours idempotency keys; the simulator keeps its ledger in
PAYMENT_GATEWAY_TABLE (key `paymentId` = the idempotency key) so that the same key never charges twice, even across
Lambda invocations:

- `authorize(paymentId, ...)`: first the fault injector — the call fails technically, before any effect, iff
  `random.Random(f"{PAYMENT_FAULT_SEED}:{orderId}:{attempt}").random() < PAYMENT_FAULT_RATE`
  (-> PaymentGatewayUnavailable). A key seen before returns its recorded outcome (a VOIDED or reversed key is
  declined with reason VOIDED). Otherwise the decline rules (first match wins): customerId in
  PAYMENT_DECLINE_CUSTOMERS -> CUSTOMER_DECLINED; amount > PAYMENT_CUSTOMER_LIMIT -> AMOUNT_OVER_LIMIT; else
  AUTHORIZED. The outcome is recorded with a conditional put, so two concurrent calls agree on one outcome.
- `void(paymentId)`: cancel the payment intent: an unseen key is recorded VOIDED (a later authorize is declined),
  an AUTHORIZED one is REVERSED (money back). Idempotent.
- `refund(paymentId)`: AUTHORIZED -> REFUNDED. Idempotent; a voided/reversed key has nothing left to refund.
Money held by the provider for a key: its amount while AUTHORIZED, nothing otherwise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from shared import aws, clock
from shared.config import config
from shared.errors import PaymentGatewayUnavailable
from shared.repositories import _ddb

CUSTOMER_DECLINED = "CUSTOMER_DECLINED"
AMOUNT_OVER_LIMIT = "AMOUNT_OVER_LIMIT"
VOIDED_REASON = "VOIDED"

# ledger statuses
AUTHORIZED = "AUTHORIZED"
DECLINED = "DECLINED"
VOIDED = "VOIDED"
REVERSED = "REVERSED"
REFUNDED = "REFUNDED"


@dataclass(frozen=True)
class Authorization:
    approved: bool
    reason: str | None = None


def _from_entry(entry: dict[str, Any]) -> Authorization:
    if entry["status"] == AUTHORIZED or entry["status"] == REFUNDED:
        return Authorization(approved=True)
    if entry["status"] == DECLINED:
        return Authorization(approved=False, reason=entry.get("reason"))
    return Authorization(approved=False, reason=VOIDED_REASON)


@dataclass(frozen=True)
class SimulatedGateway:
    customer_limit: Decimal
    decline_customers: frozenset[str]
    fault_rate: float = 0.0
    fault_seed: str = "0"

    @classmethod
    def from_config(cls) -> SimulatedGateway:
        return cls(
            customer_limit=config.payment_customer_limit,
            decline_customers=config.payment_decline_customers,
            fault_rate=config.payment_fault_rate,
            fault_seed=config.payment_fault_seed,
        )

    # --- ledger -------------------------------------------------------------------------------
    @staticmethod
    def _ledger() -> Any:
        return aws.table(config.payment_gateway_table)

    def entry(self, payment_id: str) -> dict[str, Any] | None:
        return self._ledger().get_item(Key={"paymentId": payment_id}, ConsistentRead=True).get("Item")

    def _record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Conditional put of a new key's outcome; the recorded entry wins a race."""
        try:
            self._ledger().put_item(Item=entry, ConditionExpression="attribute_not_exists(paymentId)")
            return entry
        except ClientError as exc:
            if not _ddb.is_conditional_failure(exc):
                raise
        recorded = self.entry(entry["paymentId"])
        if recorded is None:  # pragma: no cover - ledger entries are never deleted
            raise PaymentGatewayUnavailable(f"ledger entry {entry['paymentId']} vanished")
        return recorded

    def _move(self, payment_id: str, source: str, target: str) -> bool:
        try:
            self._ledger().update_item(
                Key={"paymentId": payment_id},
                UpdateExpression="SET #status = :target, changedAt = :at",
                ConditionExpression="#status = :source",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":target": target, ":source": source, ":at": clock.now_iso()},
            )
            return True
        except ClientError as exc:
            if _ddb.is_conditional_failure(exc):
                return False
            raise

    # --- provider API -------------------------------------------------------------------------
    def is_fault(self, order_id: str, attempt: int) -> bool:
        return random.Random(f"{self.fault_seed}:{order_id}:{attempt}").random() < self.fault_rate

    def decide(self, customer_id: str, amount: Decimal) -> Authorization:
        if customer_id in self.decline_customers:
            return Authorization(approved=False, reason=CUSTOMER_DECLINED)
        if amount > self.customer_limit:
            return Authorization(approved=False, reason=AMOUNT_OVER_LIMIT)
        return Authorization(approved=True)

    def authorize(
        self, payment_id: str, order_id: str, customer_id: str, amount: Decimal, attempt: int = 0
    ) -> Authorization:
        if self.is_fault(order_id, attempt):
            raise PaymentGatewayUnavailable(
                f"payment gateway unavailable (simulated fault, order {order_id}, attempt {attempt})"
            )
        known = self.entry(payment_id)
        if known is not None:
            return _from_entry(known)
        decision = self.decide(customer_id, amount)
        entry = {
            "paymentId": payment_id,
            "orderId": order_id,
            "amount": amount,
            "status": AUTHORIZED if decision.approved else DECLINED,
            "reason": decision.reason,
            "createdAt": clock.now_iso(),
        }
        return _from_entry(self._record(entry))

    def void(self, payment_id: str, order_id: str) -> str:
        """Cancel the intent; returns the key's final status (VOIDED, REVERSED, DECLINED or REFUNDED)."""
        entry = self._record(
            {
                "paymentId": payment_id,
                "orderId": order_id,
                "amount": Decimal(0),
                "status": VOIDED,
                "reason": None,
                "createdAt": clock.now_iso(),
            }
        )
        if entry["status"] == AUTHORIZED and self._move(payment_id, AUTHORIZED, REVERSED):
            return REVERSED
        return str((self.entry(payment_id) or entry)["status"])

    def refund(self, payment_id: str) -> str:
        """Give an authorization's money back; returns the key's final status."""
        if self._move(payment_id, AUTHORIZED, REFUNDED):
            return REFUNDED
        entry = self.entry(payment_id)
        return str(entry["status"]) if entry else VOIDED
