"""The one writer of an order's status, exact: the conditional update it builds (whole), the item it leaves
(history entry, version from nothing, removed attributes, claim), every refusal's exception and message, and the
direct-update path versus the transaction path. Expected values are literals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import clock
from shared.errors import IllegalTransition, OrderNotFound
from shared.repositories import OrdersRepository
from shared.repositories.orders import TransitionUpdate, build_transition

from .helpers import get_order, outbox_items, put_order

ORDER_ID = "9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a"
NOW = "2026-12-04T10:00:00.000Z"
orders = OrdersRepository()


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC))


def test_the_update_is_built_whole():
    update = build_transition(
        ORDER_ID,
        "c-1",
        "PAID",
        "payment approved",
        expected_from=["PENDING", "PAID"],
        extra_set={"paymentId": "p-1"},
        extra_remove=["shortItems", "claim"],
        extra_condition=("executionId = :owner", {"#o": "owner"}, {":owner": "exec-1"}),
    )
    assert update == TransitionUpdate(
        key={"orderId": ORDER_ID, "customerId": "c-1"},
        update_expression=(
            "SET #status = :target, "
            "statusHistory = list_append(if_not_exists(statusHistory, :empty), :history), "
            "updatedAt = :now, version = if_not_exists(version, :zero) + :one, #x0 = :x0 "
            "REMOVE #r0, #r1"
        ),
        condition_expression="attribute_exists(orderId) AND #status IN (:from0) AND (executionId = :owner)",
        names={"#status": "status", "#x0": "paymentId", "#r0": "shortItems", "#r1": "claim", "#o": "owner"},
        values={
            ":target": "PAID",
            ":history": [{"status": "PAID", "at": NOW, "reason": "payment approved"}],
            ":empty": [],
            ":now": NOW,
            ":zero": 0,
            ":one": 1,
            ":from0": "PENDING",
            ":x0": "p-1",
            ":owner": "exec-1",
        },
    )


def test_every_lifecycle_source_is_allowed_in_sorted_order():
    update = build_transition(ORDER_ID, "c-1", "CANCELLED", "r", at=NOW)
    assert update.condition_expression == "attribute_exists(orderId) AND #status IN (:from0, :from1, :from2, :from3)"
    assert [update.values[f":from{i}"] for i in range(4)] == [
        "INVENTORY_RESERVED",
        "INVENTORY_UNAVAILABLE",
        "PAID",
        "PENDING",
    ]
    assert update.update_expression == (
        "SET #status = :target, "
        "statusHistory = list_append(if_not_exists(statusHistory, :empty), :history), "
        "updatedAt = :now, version = if_not_exists(version, :zero) + :one "
        "REMOVE #r0"
    )
    assert update.names == {"#status": "status", "#r0": "liveShard"}  # a terminal status leaves Live-Index


@pytest.mark.parametrize("target", ["COMPLETED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"])
def test_a_terminal_transition_removes_the_live_shard_after_the_callers_removes(target):
    update = build_transition(ORDER_ID, "c-1", target, "r", extra_remove=["shortItems"], at=NOW)
    assert update.update_expression.endswith("version = if_not_exists(version, :zero) + :one REMOVE #r0, #r1")
    assert (update.names["#r0"], update.names["#r1"]) == ("shortItems", "liveShard")


@pytest.mark.parametrize("target", ["PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"])
def test_a_live_transition_keeps_the_live_shard(target):
    update = build_transition(ORDER_ID, "c-1", target, "r", at=NOW)
    assert update.update_expression.endswith("version = if_not_exists(version, :zero) + :one")
    assert "REMOVE" not in update.update_expression and "liveShard" not in update.names.values()


def test_the_order_leaves_live_index_in_the_write_that_ends_it(cloud):
    put_order("PAID", order_id=ORDER_ID)
    assert get_order(ORDER_ID)["liveShard"] == "live#8"
    moved = orders.transition(ORDER_ID, "customer-1", "INVENTORY_RESERVED", "reserved")
    assert moved["liveShard"] == "live#8" and moved["updatedAt"] == NOW
    ended = orders.transition(ORDER_ID, "customer-1", "EXPIRED", "stale", claim_by="sweep:x")
    assert "liveShard" not in ended and "liveShard" not in get_order(ORDER_ID)
    assert ended["status"] == "EXPIRED"


def test_an_impossible_expected_from_is_refused_before_any_write():
    with pytest.raises(IllegalTransition) as info:
        build_transition(ORDER_ID, "c-1", "PAID", "r", expected_from=["COMPLETED", "CANCELLED"])
    assert str(info.value) == f"order {ORDER_ID}: illegal transition CANCELLED,COMPLETED -> PAID"
    with pytest.raises(IllegalTransition) as info:
        build_transition(ORDER_ID, "c-1", "PAID", "r", expected_from=[])
    assert str(info.value) == f"order {ORDER_ID}: illegal transition None -> PAID"


def test_a_direct_transition_leaves_the_whole_item(cloud):
    put_order("PENDING", order_id=ORDER_ID, shortItems=[{"productId": "x"}])
    cloud.table("ORDERS_TABLE").update_item(
        Key={"orderId": ORDER_ID, "customerId": "customer-1"}, UpdateExpression="REMOVE version"
    )
    updated = orders.transition(
        ORDER_ID, "customer-1", "PAID", "payment approved", extra_set={"paymentId": "p-1"}, extra_remove=["shortItems"]
    )
    assert updated == get_order(ORDER_ID)
    assert {k: updated[k] for k in ("status", "updatedAt", "version", "paymentId")} == {
        "status": "PAID",
        "updatedAt": NOW,
        "version": 1,
        "paymentId": "p-1",
    }
    assert "shortItems" not in updated and "claim" not in updated
    assert updated["statusHistory"] == [
        {"status": "PENDING", "at": "2024-01-01T00:00:00.000Z", "reason": "test setup"},
        {"status": "PAID", "at": NOW, "reason": "payment approved"},
    ]
    assert outbox_items() == [] and cloud.events() == []


def test_a_claim_records_who_and_writes_the_finalize_duty(cloud):
    put_order("PAID", order_id=ORDER_ID)
    updated = orders.transition(ORDER_ID, "customer-1", "FAILED", "boom", claim_by="exec-1")
    assert updated["claim"] == {"by": "exec-1", "status": "FAILED", "at": NOW}
    assert updated["version"] == 2
    assert outbox_items() == [
        {
            "id": f"{ORDER_ID}#finalize",
            "kind": "finalize",
            "orderId": ORDER_ID,
            "customerId": "customer-1",
            "status": "FAILED",
            "createdAt": NOW,
        }
    ]


@pytest.mark.parametrize(("target", "claim_by"), [("FAILED", None), ("PAID", "exec-1")])
def test_claim_by_is_required_exactly_for_terminal_targets(cloud, target, claim_by):
    put_order("PENDING", order_id=ORDER_ID)
    with pytest.raises(ValueError) as info:
        orders.transition(ORDER_ID, "customer-1", target, "r", claim_by=claim_by)
    assert str(info.value) == f"{target}: claim_by is required exactly for terminal statuses"
    assert get_order(ORDER_ID)["version"] == 1


def test_a_refused_transition_names_both_statuses_and_carries_the_order(cloud):
    put_order("COMPLETED", order_id=ORDER_ID)
    with pytest.raises(IllegalTransition) as info:
        orders.transition(ORDER_ID, "customer-1", "PAID", "r")
    assert str(info.value) == f"order {ORDER_ID}: illegal transition COMPLETED -> PAID"
    assert (info.value.current, info.value.target, info.value.order["status"]) == ("COMPLETED", "PAID", "COMPLETED")


@pytest.mark.parametrize("claim_by", [None, "exec-1"])
def test_a_transition_of_a_missing_order_is_not_found(cloud, claim_by):
    target = "FAILED" if claim_by else "PAID"
    with pytest.raises(OrderNotFound) as info:
        orders.transition(ORDER_ID, "customer-1", target, "r", claim_by=claim_by)
    assert str(info.value) == f"order {ORDER_ID} not found"


def test_a_claim_held_by_another_claimer_is_refused(cloud):
    put_order("PAID", order_id=ORDER_ID)
    orders.transition(ORDER_ID, "customer-1", "CANCELLED", "r", claim_by="cancel:x")
    with pytest.raises(IllegalTransition):
        orders.transition(ORDER_ID, "customer-1", "CANCELLED", "r", claim_by="exec-2")
    again = orders.transition(ORDER_ID, "customer-1", "CANCELLED", "r", claim_by="cancel:x")  # the same claimer
    assert again["claim"]["by"] == "cancel:x" and again["version"] == 2


class _RecordingTable:
    def __init__(self):
        self.calls = []

    def get_item(self, **kwargs):
        self.calls.append(("get_item", kwargs))
        return {}

    def query(self, **kwargs):
        self.calls.append(("query", kwargs))
        return {"Items": []}


def test_reads_are_strongly_consistent_and_a_read_by_id_asks_for_one_item(monkeypatch):
    table = _RecordingTable()
    monkeypatch.setattr(OrdersRepository, "_table", property(lambda self: table))
    assert orders.get(ORDER_ID, "customer-1") is None
    assert orders.find(ORDER_ID) is None
    [(get, get_kwargs), (query, query_kwargs)] = table.calls
    assert (get, get_kwargs) == (
        "get_item",
        {"Key": {"orderId": ORDER_ID, "customerId": "customer-1"}, "ConsistentRead": True},
    )
    assert query == "query" and {k: v for k, v in query_kwargs.items() if k != "KeyConditionExpression"} == {
        "ConsistentRead": True,
        "Limit": 1,
    }


def test_each_thread_gets_its_own_dynamodb_resource():
    import threading

    from shared import aws as shared_aws

    mine = shared_aws.dynamodb_resource()
    theirs = []
    worker = threading.Thread(target=lambda: theirs.append(shared_aws.dynamodb_resource()))
    worker.start()
    worker.join()
    assert theirs[0] is not mine and shared_aws.dynamodb_resource() is mine


def test_a_transition_no_status_may_make_is_refused_from_the_stored_order(cloud):
    """expected_from names no status that may enter the target: refused before any write, with the stored status
    and the target named, and the order unchanged."""
    put_order("PENDING", order_id=ORDER_ID)
    with pytest.raises(IllegalTransition) as info:
        orders.transition(ORDER_ID, "customer-1", "PAID", "r", expected_from=["COMPLETED"])
    assert str(info.value) == f"order {ORDER_ID}: illegal transition PENDING -> PAID"
    assert (info.value.current, info.value.target, info.value.order["customerId"]) == ("PENDING", "PAID", "customer-1")
    assert get_order(ORDER_ID)["version"] == 1 and outbox_items() == []
