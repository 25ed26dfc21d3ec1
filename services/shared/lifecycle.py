"""The order lifecycle: the one definition of statuses, transitions, who writes them and what they owe.

Every writer of an order's status goes through `shared.repositories.orders.OrdersRepository`, which builds its
conditions from this table; docs/architecture.md prints it (tests/unit/test_lifecycle.py keeps the two equal).

Rules (docs/architecture.md, "Order lifecycle"):
- A transition is allowed only from the statuses listed for it (`Transition.sources`); DynamoDB enforces it with a
  condition, so two racing writers cannot both win.
- Every transition bumps `version` by one (`if_not_exists(version, 0) + 1`) and appends to `statusHistory`.
- A live order carries `liveShard` (`live#<n>`: its partition of the sparse Live-Index the stale sweep reads); the
  write that enters a terminal status removes it, so the index holds exactly the live orders.
- Entering a terminal status is a *claim*: the same atomic write records `claim = {by, status, at}` and a finalize
  duty in the outbox table (shared.outbox). Only the claim's holder finalizes (compensates, notifies, settles);
  when it cannot finish, the stale-order sweep resumes the duty. Compensation (refund + release, both idempotent and
  both always called) happens only for a claimed, compensable order: never for COMPLETED.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    PAID = "PAID"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    INVENTORY_RESERVED = "INVENTORY_RESERVED"
    INVENTORY_UNAVAILABLE = "INVENTORY_UNAVAILABLE"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    FAILED = "FAILED"


S = OrderStatus

#: Statuses an order holds while its saga runs.
NON_TERMINAL_STATUSES: tuple[OrderStatus, ...] = (S.PENDING, S.PAID, S.INVENTORY_RESERVED, S.INVENTORY_UNAVAILABLE)
TERMINAL_STATUSES: frozenset[OrderStatus] = frozenset(set(OrderStatus) - set(NON_TERMINAL_STATUSES))
#: Terminal statuses whose finalization compensates (refund + release): everything but COMPLETED.
COMPENSABLE_STATUSES: frozenset[OrderStatus] = TERMINAL_STATUSES - {S.COMPLETED}


@dataclass(frozen=True)
class Transition:
    """Entering `target` is allowed from `sources`, written only by `writer` (who/what, for the docs)."""

    target: OrderStatus
    sources: frozenset[OrderStatus]
    writer: str
    #: notification type the finalization of this terminal status sends (None: not terminal)
    notification: str | None = None


_ANY_LIVE = frozenset(NON_TERMINAL_STATUSES)

TRANSITIONS: dict[OrderStatus, Transition] = {
    t.target: t
    for t in (
        Transition(S.PAID, frozenset({S.PENDING}), "payment service (charge approved)"),
        Transition(S.PAYMENT_FAILED, frozenset({S.PENDING}), "payment service (charge declined)", "payment-declined"),
        Transition(S.INVENTORY_RESERVED, frozenset({S.PAID}), "inventory service (reserve transaction)"),
        Transition(S.INVENTORY_UNAVAILABLE, frozenset({S.PAID}), "inventory service (short stock)"),
        Transition(
            S.COMPLETED,
            frozenset({S.INVENTORY_RESERVED}),
            "order-processing's CompleteOrder (a TransactWriteItems rendered from `completion_write`), for the execution that owns the order",
            "order-completed",
        ),
        Transition(
            S.CANCELLED,
            _ANY_LIVE,
            "order service: customer DELETE, operator refund request, out-of-stock claim",
            "order-cancelled",
        ),
        Transition(S.EXPIRED, _ANY_LIVE, "order service `claim` for the stale-order sweep", "order-expired"),
        Transition(S.FAILED, _ANY_LIVE, "order service `claim` for the owning execution after a fault", "order-failed"),
    )
}


def sources_for(target: str) -> frozenset[OrderStatus]:
    """All statuses from which `target` may be entered (empty for PENDING: only created)."""
    transition = TRANSITIONS.get(OrderStatus(target))
    return transition.sources if transition else frozenset()


def can_transition(current: str, target: str) -> bool:
    try:
        return OrderStatus(current) in sources_for(target)
    except ValueError:
        return False


def is_terminal(status: str | None) -> bool:
    return status in TERMINAL_STATUSES


def notification_for(status: str) -> str:
    """The notification type that finalizing a terminal `status` sends."""
    transition = TRANSITIONS[OrderStatus(status)]
    if transition.notification is None:
        raise ValueError(f"{status} is not terminal")
    return transition.notification


def claim_of(order: dict[str, Any]) -> dict[str, Any] | None:
    """What finalizing a terminal order needs: its status, the notification to send, who claimed it and why.

    The workflows' finalize fragment reads exactly these keys; None for a live order.
    """
    status = order.get("status")
    if not is_terminal(status):
        return None
    history = order.get("statusHistory") or [{}]
    return {
        "status": status,
        "notification": notification_for(status),
        "by": (order.get("claim") or {}).get("by"),
        "reason": str(history[-1].get("reason") or status.lower()),
    }
