"""Configuration from environment variables (names fixed by docs/architecture.md).

Every value is read lazily, on attribute access, so tests (and the Lambda runtime) can set the
environment after import. Nothing here is cached.
"""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation

from shared.errors import ConfigurationError

DEFAULT_PAYMENT_CUSTOMER_LIMIT = "5000.00"
DEFAULT_PAYMENT_DECLINE_CUSTOMERS = "customer-declined"
DEFAULT_CIRCUIT_FAILURE_THRESHOLD = 5
DEFAULT_CIRCUIT_COOLDOWN_SECONDS = 30
DEFAULT_STALE_ORDER_MINUTES = 30
DEFAULT_OUTBOX_GRACE_SECONDS = 120


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


def _optional(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value if value else default


def _int(name: str, default: int, minimum: int) -> int:
    raw = _optional(name, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
    return value


class _Config:
    """Attribute access reads the environment every time (lazy, test friendly)."""

    # --- resources -------------------------------------------------------------------------
    @property
    def orders_table(self) -> str:
        return _required("ORDERS_TABLE")

    @property
    def inventory_table(self) -> str:
        return _required("INVENTORY_TABLE")

    @property
    def reservations_table(self) -> str:
        return _required("RESERVATIONS_TABLE")

    @property
    def payments_table(self) -> str:
        return _required("PAYMENTS_TABLE")

    @property
    def idempotency_table(self) -> str:
        return _required("IDEMPOTENCY_TABLE")

    @property
    def circuit_breaker_table(self) -> str:
        return _required("CIRCUIT_BREAKER_TABLE")

    @property
    def outbox_table(self) -> str:
        return _required("OUTBOX_TABLE")

    @property
    def payment_gateway_table(self) -> str:
        """The simulated payment provider's ledger (payment.gateway); a real provider keeps its own."""
        return _required("PAYMENT_GATEWAY_TABLE")

    @property
    def event_bus_name(self) -> str:
        return _required("EVENT_BUS_NAME")

    @property
    def notifications_bucket(self) -> str:
        return _required("NOTIFICATIONS_BUCKET")

    # --- payment simulator -------------------------------------------------------------------
    @property
    def payment_customer_limit(self) -> Decimal:
        raw = _optional("PAYMENT_CUSTOMER_LIMIT", DEFAULT_PAYMENT_CUSTOMER_LIMIT)
        try:
            value = Decimal(raw)
        except InvalidOperation as exc:
            raise ConfigurationError(f"PAYMENT_CUSTOMER_LIMIT must be a decimal, got {raw!r}") from exc
        if not value.is_finite() or value < 0:
            raise ConfigurationError(f"PAYMENT_CUSTOMER_LIMIT must be a finite number >= 0, got {raw!r}")
        return value

    @property
    def payment_decline_customers(self) -> frozenset[str]:
        # An explicitly empty variable means "nobody is on the decline list".
        raw = os.environ.get("PAYMENT_DECLINE_CUSTOMERS")
        if raw is None:
            raw = DEFAULT_PAYMENT_DECLINE_CUSTOMERS
        return frozenset(part.strip() for part in raw.split(",") if part.strip())

    @property
    def payment_fault_rate(self) -> float:
        raw = _optional("PAYMENT_FAULT_RATE", "0")
        try:
            value = float(raw)
        except ValueError as exc:
            raise ConfigurationError(f"PAYMENT_FAULT_RATE must be a number in [0, 1], got {raw!r}") from exc
        if not 0.0 <= value <= 1.0:
            raise ConfigurationError(f"PAYMENT_FAULT_RATE must be in [0, 1], got {raw!r}")
        return value

    @property
    def payment_fault_seed(self) -> str:
        return _optional("PAYMENT_FAULT_SEED", "0")

    @property
    def circuit_failure_threshold(self) -> int:
        return _int("CIRCUIT_FAILURE_THRESHOLD", DEFAULT_CIRCUIT_FAILURE_THRESHOLD, minimum=1)

    @property
    def circuit_cooldown_seconds(self) -> int:
        return _int("CIRCUIT_COOLDOWN_SECONDS", DEFAULT_CIRCUIT_COOLDOWN_SECONDS, minimum=0)

    # --- order -------------------------------------------------------------------------------
    @property
    def stale_order_minutes(self) -> int:
        return _int("STALE_ORDER_MINUTES", DEFAULT_STALE_ORDER_MINUTES, minimum=0)

    @property
    def outbox_grace_seconds(self) -> int:
        """How old an outbox entry must be before the sweep takes it over from its writer."""
        return _int("OUTBOX_GRACE_SECONDS", DEFAULT_OUTBOX_GRACE_SECONDS, minimum=0)


config = _Config()
