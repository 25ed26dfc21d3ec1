"""The defects of the saga-correctness issue, put back one at a time, to show the simulation finds each of them.

Each mutant patches the running services, or the simulation cloud's rendered workflows, in a simulation process
(never the code on disk). `invoke simulate --mutant NAME` explores with it; tests/simulation/test_simulation_power.py requires every mutant to produce
violations within a few dozen schedules (a simulation that cannot fail would prove nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any


def _charge_key_per_call(_cloud: Any) -> None:
    """The gateway is called without a stable idempotency key (a new key per call: a retry charges twice)."""
    from payment.gateway import SimulatedGateway

    real = SimulatedGateway.authorize
    SimulatedGateway.authorize = lambda self, payment_id, *args, **kwargs: real(
        self, str(uuid.uuid4()), *args, **kwargs
    )


def _no_execution_claim(cloud: Any) -> None:
    """Every execution of the same order acts (no `executionId` claim): duplicates charge and reserve again.

    OwnOrder, the claim, is a DynamoDB integration of order-processing: the mutant drops its condition, so every
    execution's write succeeds (the last one owns the order) and each goes on to act."""
    cloud.definitions["order-processing"]["States"]["OwnOrder"]["Parameters"].pop("ConditionExpression")


def _claim_from_terminal(_cloud: Any) -> None:
    """A compensating path may claim an order that is already final (a refund request undoes a completed order)."""
    from shared import lifecycle
    from shared.repositories import orders

    real = orders.sources_for
    orders.sources_for = lambda target: real(target) | lifecycle.TERMINAL_STATUSES


def _no_outbox(_cloud: Any) -> None:
    """A publish that fails after the write is lost (the outbox entry is dropped instead of kept for the sweep)."""
    from shared import outbox
    from shared.errors import EventPublishError

    real = outbox.publish

    def lossy(entries: Any) -> int:
        entries = list(entries)
        try:
            return real(entries)
        except EventPublishError:
            for entry in entries:
                outbox._table().delete_item(Key={"id": entry["id"]})
            raise

    outbox.publish = lossy


def _no_void_of_a_charge_in_flight(_cloud: Any) -> None:
    """A compensation that finds the charge in flight leaves it alone (nothing closes the intent)."""
    from payment import service
    from shared.repositories.payments import PENDING

    real_get = service.payments.get

    def get(order_id: str) -> Any:
        row = real_get(order_id)
        return None if row is not None and row["status"] == PENDING else row

    real_refund = service.refund

    def refund(order_input: Any, reason: Any = None, **kwargs: Any) -> Any:
        service.payments.get = get
        try:
            return real_refund(order_input, reason, **kwargs)
        finally:
            service.payments.get = real_get

    service.refund = refund
    service.payments.put_if_absent = _skip_tombstones(service.payments.put_if_absent)


def _skip_tombstones(put: Callable[[dict[str, Any]], bool]) -> Callable[[dict[str, Any]], bool]:
    def put_if_absent(row: dict[str, Any]) -> bool:
        return True if row["status"] == "VOIDED" else put(row)

    return put_if_absent


#: name -> what puts the defect back, given the process's SimCloud
MUTANTS: dict[str, Callable[[Any], None]] = {
    "charge-key-per-call": _charge_key_per_call,
    "no-execution-claim": _no_execution_claim,
    "claim-from-terminal": _claim_from_terminal,
    "no-outbox": _no_outbox,
    "no-void-in-flight": _no_void_of_a_charge_in_flight,
}
