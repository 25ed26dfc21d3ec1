"""Order lifecycle: every legal transition (pure table + conditional UpdateItem) and illegal samples."""

from __future__ import annotations

import itertools

import pytest

from shared.errors import IllegalTransition, OrderNotFound
from shared.models import (
    NON_TERMINAL_STATUSES,
    TERMINAL_STATUSES,
    TRANSITIONS,
    OrderStatus,
    can_transition,
    sources_for,
)
from shared.repositories import OrdersRepository
from shared.repositories.orders import build_transition

from .helpers import get_order, put_order

S = OrderStatus

# Written out from docs/architecture.md, independent of the implementation's table.
CONTRACT_EDGES = {
    (S.PENDING, S.PAID), (S.PAID, S.INVENTORY_RESERVED), (S.INVENTORY_RESERVED, S.COMPLETED),
    (S.PENDING, S.PAYMENT_FAILED),
    (S.PAID, S.INVENTORY_UNAVAILABLE), (S.INVENTORY_UNAVAILABLE, S.REFUNDED), (S.REFUNDED, S.CANCELLED),
    (S.PENDING, S.CANCELLED), (S.PAID, S.CANCELLED), (S.INVENTORY_RESERVED, S.CANCELLED),
    (S.PENDING, S.EXPIRED), (S.PAID, S.EXPIRED), (S.INVENTORY_RESERVED, S.EXPIRED),
    (S.INVENTORY_UNAVAILABLE, S.EXPIRED),
    (S.PENDING, S.FAILED), (S.PAID, S.FAILED), (S.INVENTORY_RESERVED, S.FAILED), (S.INVENTORY_UNAVAILABLE, S.FAILED),
    (S.REFUNDED, S.FAILED),
}
ALL_PAIRS = set(itertools.product(OrderStatus, OrderStatus))
ILLEGAL_SAMPLE = [
    (S.PENDING, S.INVENTORY_RESERVED), (S.PENDING, S.COMPLETED), (S.PENDING, S.REFUNDED), (S.PENDING, S.PENDING),
    (S.PAID, S.PAID), (S.PAID, S.PAYMENT_FAILED), (S.PAID, S.COMPLETED), (S.PAID, S.REFUNDED),
    (S.INVENTORY_RESERVED, S.REFUNDED), (S.INVENTORY_RESERVED, S.INVENTORY_UNAVAILABLE),
    (S.INVENTORY_UNAVAILABLE, S.CANCELLED), (S.INVENTORY_UNAVAILABLE, S.COMPLETED),
    (S.REFUNDED, S.EXPIRED), (S.REFUNDED, S.PAID),
    (S.COMPLETED, S.CANCELLED), (S.COMPLETED, S.FAILED), (S.PAYMENT_FAILED, S.PAID), (S.CANCELLED, S.PENDING),
    (S.CANCELLED, S.FAILED), (S.EXPIRED, S.PAID), (S.FAILED, S.FAILED), (S.FAILED, S.PENDING),
]


def test_transition_table_is_exactly_the_contract():
    implemented = {(src, dst) for src, targets in TRANSITIONS.items() for dst in targets}
    assert implemented == CONTRACT_EDGES
    assert TERMINAL_STATUSES == {S.COMPLETED, S.PAYMENT_FAILED, S.CANCELLED, S.EXPIRED, S.FAILED}
    assert all(not TRANSITIONS[t] for t in TERMINAL_STATUSES)
    assert set(NON_TERMINAL_STATUSES) == set(OrderStatus) - TERMINAL_STATUSES
    for pair in ALL_PAIRS:
        assert can_transition(*pair) is (pair in CONTRACT_EDGES)
    assert can_transition("PENDING", "SHIPPED") is False
    assert sources_for(S.EXPIRED) == {S.PENDING, S.PAID, S.INVENTORY_RESERVED, S.INVENTORY_UNAVAILABLE}


@pytest.mark.parametrize(("current", "target"), sorted(CONTRACT_EDGES))
def test_every_legal_transition_is_applied(cloud, current, target):
    order = put_order(current.value)
    repo = OrdersRepository()

    updated = repo.transition(order["orderId"], order["customerId"], target, f"to {target}")

    assert updated["status"] == target
    stored = get_order(order["orderId"])
    assert stored["status"] == target
    assert stored["version"] == 2
    assert stored["updatedAt"] > order["updatedAt"] and stored["updatedAt"].endswith("Z")
    assert stored["statusHistory"][-1] == {"status": target.value, "at": stored["updatedAt"], "reason": f"to {target}"}
    assert len(stored["statusHistory"]) == 2


@pytest.mark.parametrize(("current", "target"), ILLEGAL_SAMPLE)
def test_illegal_transitions_are_refused_and_logged(cloud, caplog, current, target):
    assert (current, target) not in CONTRACT_EDGES
    order = put_order(current.value)
    repo = OrdersRepository()

    with pytest.raises(IllegalTransition) as info:
        repo.transition(order["orderId"], order["customerId"], target, "nope")

    assert info.value.current == current and info.value.target == target
    stored = get_order(order["orderId"])
    assert stored == order  # untouched: status, history, version
    assert "illegal order transition refused" in caplog.text


def test_expected_from_narrows_the_condition(cloud):
    order = put_order("PAID")
    repo = OrdersRepository()
    with pytest.raises(IllegalTransition):
        repo.transition(order["orderId"], "customer-1", S.CANCELLED, "x", expected_from=[S.PENDING])
    with pytest.raises(IllegalTransition):  # no overlap with the legal sources at all
        build_transition("o", "c", S.COMPLETED, "x", expected_from=[S.PENDING])
    repo.transition(order["orderId"], "customer-1", S.CANCELLED, "x", expected_from=[S.PAID, S.PENDING])
    assert get_order(order["orderId"])["status"] == "CANCELLED"


def test_extra_attributes_are_set_and_removed(cloud):
    order = put_order("PENDING", scratch="x")
    repo = OrdersRepository()
    updated = repo.transition(order["orderId"], "customer-1", S.PAID, "paid",
                              extra_set={"paymentId": "p-1"}, extra_remove=["scratch"])
    assert updated["paymentId"] == "p-1" and "scratch" not in updated
    repo.update_attributes(order["orderId"], "customer-1")  # no-op
    repo.update_attributes(order["orderId"], "customer-1", set_={"note": "n"})
    assert get_order(order["orderId"])["note"] == "n"


def test_transition_of_missing_order(cloud):
    repo = OrdersRepository()
    with pytest.raises(OrderNotFound):
        repo.transition("missing", "customer-1", S.PAID, "x")
    with pytest.raises(OrderNotFound):  # nothing may enter PENDING: still reported as not found
        repo.transition("missing", "customer-1", S.PENDING, "x")
    order = put_order("PENDING")
    with pytest.raises(OrderNotFound):  # same orderId, other customer: not this order
        repo.transition(order["orderId"], "other", S.PAID, "x")


def test_transition_propagates_other_errors(cloud, monkeypatch):
    from botocore.exceptions import ClientError

    class Table:
        def update_item(self, **_):
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "UpdateItem")

        delete_item = update_item

    monkeypatch.setattr(OrdersRepository, "_table", property(lambda self: Table()))
    repo = OrdersRepository()
    with pytest.raises(ClientError):
        repo.transition("o", "c", S.PAID, "x")
    with pytest.raises(ClientError):
        repo.delete_unpublished("o", "c")


def test_full_happy_path_history(cloud):
    order = put_order("PENDING")
    repo = OrdersRepository()
    for target in (S.PAID, S.INVENTORY_RESERVED, S.COMPLETED):
        repo.transition(order["orderId"], "customer-1", target, target.lower())
    stored = get_order(order["orderId"])
    assert [h["status"] for h in stored["statusHistory"]] == ["PENDING", "PAID", "INVENTORY_RESERVED", "COMPLETED"]
    assert stored["version"] == 4
