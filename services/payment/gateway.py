"""Deterministic simulated payment gateway (documented in docs/api.md).

1. Fault injector: the call fails technically iff
   `random.Random(f"{PAYMENT_FAULT_SEED}:{orderId}:{attempt}").random() < PAYMENT_FAULT_RATE`
   -> PaymentGatewayUnavailable (retryable). Seeding with a str is stable across processes.
2. Decline rules (business outcome, not a fault), first match wins:
   customerId in PAYMENT_DECLINE_CUSTOMERS -> "CUSTOMER_DECLINED";
   totalAmount > PAYMENT_CUSTOMER_LIMIT -> "AMOUNT_OVER_LIMIT".
3. Otherwise approved.
The gateway has no side effects: the payments table row written afterwards is the charge.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from shared.config import config
from shared.errors import PaymentGatewayUnavailable

CUSTOMER_DECLINED = "CUSTOMER_DECLINED"
AMOUNT_OVER_LIMIT = "AMOUNT_OVER_LIMIT"


@dataclass(frozen=True)
class Authorization:
    approved: bool
    reason: str | None = None


@dataclass(frozen=True)
class SimulatedGateway:
    customer_limit: Decimal
    decline_customers: frozenset[str]
    fault_rate: float = 0.0
    fault_seed: str = "0"

    @classmethod
    def from_config(cls) -> "SimulatedGateway":
        return cls(
            customer_limit=config.payment_customer_limit,
            decline_customers=config.payment_decline_customers,
            fault_rate=config.payment_fault_rate,
            fault_seed=config.payment_fault_seed,
        )

    def is_fault(self, order_id: str, attempt: int) -> bool:
        return random.Random(f"{self.fault_seed}:{order_id}:{attempt}").random() < self.fault_rate

    def authorize(self, order_id: str, customer_id: str, amount: Decimal, attempt: int = 0) -> Authorization:
        if self.is_fault(order_id, attempt):
            raise PaymentGatewayUnavailable(
                f"payment gateway unavailable (simulated fault, order {order_id}, attempt {attempt})"
            )
        if customer_id in self.decline_customers:
            return Authorization(approved=False, reason=CUSTOMER_DECLINED)
        if amount > self.customer_limit:
            return Authorization(approved=False, reason=AMOUNT_OVER_LIMIT)
        return Authorization(approved=True)
