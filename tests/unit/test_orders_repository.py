"""shared.repositories.orders: the one writer of an order's status (conditions, claims, outbox, create, own)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from shared import aws as shared_aws
from shared import outbox
from shared.errors import IllegalTransition, OrderNotFound
from shared.repositories import OrdersRepository
from shared.repositories.orders import LIVE_SHARDS, AlreadyClaimed, build_transition, live_shard

from .helpers import expected_event_id, get_order, outbox_items, put_order, put_outbox

LIVE = ["PENDING", "PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"]
TERMINAL = ["COMPLETED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"]
# the legal edges, written out (see test_lifecycle.CONTRACT)
NON_TERMINAL_EDGES = [("PENDING", "PAID"), ("PAID", "INVENTORY_RESERVED"), ("PAID", "INVENTORY_UNAVAILABLE")]
TERMINAL_EDGES = [("INVENTORY_RESERVED", "COMPLETED"), ("PENDING", "PAYMENT_FAILED")] + [
    (src, dst) for dst in ("CANCELLED", "EXPIRED", "FAILED") for src in LIVE
]
ILLEGAL = [
    ("PENDING", "INVENTORY_RESERVED"),
    ("PENDING", "COMPLETED"),
    ("PENDING", "INVENTORY_UNAVAILABLE"),
    ("PAID", "PAID"),
    ("PAID", "PAYMENT_FAILED"),
    ("PAID", "COMPLETED"),
    ("INVENTORY_RESERVED", "PAID"),
    ("INVENTORY_UNAVAILABLE", "COMPLETED"),
    ("INVENTORY_UNAVAILABLE", "INVENTORY_RESERVED"),
] + [(src, dst) for src in TERMINAL for dst in ("PAID", "COMPLETED", "CANCELLED", "EXPIRED", "FAILED")]

repo = OrdersRepository()


def claim_args(target):
    return {"claim_by": "claimer-1"} if target in TERMINAL else {}


def fail_put_events(monkeypatch):
    calls = []

    def failing(**kwargs):
        calls.append(kwargs)
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]}

    monkeypatch.setattr(shared_aws.events_client(), "put_events", failing)
    return calls


# ---------------------------------------------------------------------------------------------
# transition: version, history, claim, finalize duty
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("current", "target"), NON_TERMINAL_EDGES)
def test_live_transition_bumps_version_and_appends_history(cloud, current, target):
    order = put_order(current)

    updated = repo.transition(order["orderId"], "customer-1", target, f"to {target}")

    stored = get_order(order["orderId"])
    assert updated == stored
    assert stored["status"] == target
    assert stored["version"] == 2
    assert stored["updatedAt"] > order["updatedAt"] and stored["updatedAt"].endswith("Z")
    assert stored["statusHistory"] == [
        order["statusHistory"][0],
        {"status": target, "at": stored["updatedAt"], "reason": f"to {target}"},
    ]
    assert "claim" not in stored
    assert outbox_items() == []  # a live status owes nothing
    assert cloud.events() == []


@pytest.mark.parametrize(("current", "target"), TERMINAL_EDGES)
def test_terminal_transition_writes_claim_and_finalize_duty(cloud, current, target):
    order = put_order(current)

    updated = repo.transition(order["orderId"], "customer-1", target, "claimed", claim_by="claimer-1")

    stored = get_order(order["orderId"])
    assert updated == stored
    at = stored["updatedAt"]
    assert stored["status"] == target and stored["version"] == 2
    assert stored["statusHistory"][-1] == {"status": target, "at": at, "reason": "claimed"}
    assert len(stored["statusHistory"]) == 2
    assert stored["claim"] == {"by": "claimer-1", "status": target, "at": at}
    assert outbox_items() == [
        {
            "id": f"{order['orderId']}#finalize",
            "kind": "finalize",
            "orderId": order["orderId"],
            "customerId": "customer-1",
            "status": target,
            "createdAt": at,
        }
    ]
    assert cloud.events() == []  # a finalize duty is not an event


def test_version_counts_every_transition(cloud):
    order = put_order("PENDING")
    repo.transition(order["orderId"], "customer-1", "PAID", "paid")
    repo.transition(order["orderId"], "customer-1", "INVENTORY_RESERVED", "reserved")
    repo.transition(order["orderId"], "customer-1", "COMPLETED", "done", claim_by="exec-1")
    stored = get_order(order["orderId"])
    assert stored["version"] == 4
    assert [(h["status"], h["reason"]) for h in stored["statusHistory"]] == [
        ("PENDING", "test setup"),
        ("PAID", "paid"),
        ("INVENTORY_RESERVED", "reserved"),
        ("COMPLETED", "done"),
    ]


def test_version_starts_from_zero_when_missing(cloud):
    order = put_order("PENDING")
    cloud.table("ORDERS_TABLE").update_item(
        Key={"orderId": order["orderId"], "customerId": "customer-1"}, UpdateExpression="REMOVE version, statusHistory"
    )
    updated = repo.transition(order["orderId"], "customer-1", "PAID", "paid")
    assert updated["version"] == 1
    assert updated["statusHistory"] == [{"status": "PAID", "at": updated["updatedAt"], "reason": "paid"}]


@pytest.mark.parametrize(
    ("target", "claim_by"), [("CANCELLED", None), ("COMPLETED", None), ("PAID", "x"), ("INVENTORY_RESERVED", "x")]
)
def test_claim_by_is_required_exactly_for_terminal_targets(cloud, target, claim_by):
    order = put_order("PENDING")
    with pytest.raises(ValueError, match="claim_by"):
        repo.transition(order["orderId"], "customer-1", target, "x", claim_by=claim_by)
    assert get_order(order["orderId"]) == order


# ---------------------------------------------------------------------------------------------
# refusals
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_refused_transition_raises_with_the_current_order(cloud, caplog, current, target):
    order = put_order(current)

    with pytest.raises(IllegalTransition) as info:
        repo.transition(order["orderId"], "customer-1", target, "nope", **claim_args(target))

    assert (info.value.current, info.value.target) == (current, target)
    assert info.value.order == order
    assert get_order(order["orderId"]) == order  # untouched: status, history, version
    assert outbox_items() == []  # the refused transaction wrote no duty either
    assert "illegal order transition refused" in caplog.text


def test_nothing_enters_pending(cloud):
    order = put_order("PAID")
    with pytest.raises(IllegalTransition) as info:
        repo.transition(order["orderId"], "customer-1", "PENDING", "again")
    assert info.value.current == "PAID" and info.value.order == order


def test_expected_from_narrows_the_condition(cloud):
    order = put_order("PAID")
    with pytest.raises(IllegalTransition) as info:  # legal from PAID, but the caller expected PENDING
        repo.transition(order["orderId"], "customer-1", "CANCELLED", "x", expected_from=["PENDING"], claim_by="c")
    assert info.value.current == "PAID" and info.value.order == order
    with pytest.raises(IllegalTransition) as info:  # no overlap with the legal sources at all
        repo.transition(order["orderId"], "customer-1", "COMPLETED", "x", expected_from=["PENDING"], claim_by="c")
    assert info.value.order == order
    assert get_order(order["orderId"]) == order and outbox_items() == []
    repo.transition(order["orderId"], "customer-1", "CANCELLED", "x", expected_from=["PAID", "PENDING"], claim_by="c")
    assert get_order(order["orderId"])["status"] == "CANCELLED"


def test_build_transition_without_any_source_raises():
    with pytest.raises(IllegalTransition) as info:
        build_transition("o", "c", "COMPLETED", "x", expected_from=["PENDING", "PAID"])
    assert (info.value.current, info.value.target) == ("PAID,PENDING", "COMPLETED")
    with pytest.raises(IllegalTransition) as info:
        build_transition("o", "c", "PENDING", "x")
    assert info.value.current is None


def test_extra_condition_is_anded(cloud):
    order = put_order("INVENTORY_RESERVED", executionId="exec-1")
    owner = ("executionId = :owner", {}, {":owner": "exec-2"})
    with pytest.raises(IllegalTransition) as info:
        repo.transition(order["orderId"], "customer-1", "COMPLETED", "x", extra_condition=owner, claim_by="exec-2")
    assert info.value.order == order and outbox_items() == []
    owner = ("executionId = :owner", {}, {":owner": "exec-1"})
    assert (
        repo.transition(order["orderId"], "customer-1", "COMPLETED", "x", extra_condition=owner, claim_by="exec-1")[
            "status"
        ]
        == "COMPLETED"
    )


def test_same_claimer_retry_returns_the_order_unchanged(cloud):
    order = put_order("PAID")
    first = repo.transition(order["orderId"], "customer-1", "CANCELLED", "cancel", claim_by="cancel:x")
    duty = outbox_items()

    again = repo.transition(order["orderId"], "customer-1", "CANCELLED", "cancel again", claim_by="cancel:x")

    assert again == first == get_order(order["orderId"])
    assert again["version"] == 2 and len(again["statusHistory"]) == 2
    assert outbox_items() == duty


def test_another_claimer_is_refused(cloud):
    order = put_order("PAID")
    claimed = repo.transition(order["orderId"], "customer-1", "CANCELLED", "cancel", claim_by="cancel:x")
    for target in ("CANCELLED", "FAILED", "EXPIRED"):
        with pytest.raises(IllegalTransition) as info:
            repo.transition(order["orderId"], "customer-1", target, "mine", claim_by="exec-1")
        assert info.value.current == "CANCELLED" and info.value.order == claimed
    with pytest.raises(IllegalTransition):  # the same claimer but another target is not a retry
        repo.transition(order["orderId"], "customer-1", "FAILED", "x", claim_by="cancel:x")
    assert get_order(order["orderId"]) == claimed


def test_already_claimed_carries_the_order():
    exc = AlreadyClaimed({"orderId": "o1", "claim": {"by": "me"}})
    assert exc.order == {"orderId": "o1", "claim": {"by": "me"}}
    assert str(exc) == "order o1 already claimed by me"


def test_transition_of_missing_order(cloud):
    with pytest.raises(OrderNotFound):
        repo.transition("missing", "customer-1", "PAID", "x")
    with pytest.raises(OrderNotFound):
        repo.transition("missing", "customer-1", "CANCELLED", "x", claim_by="c")
    with pytest.raises(OrderNotFound):  # nothing may enter PENDING: still reported as not found
        repo.transition("missing", "customer-1", "PENDING", "x")
    order = put_order("PENDING")
    with pytest.raises(OrderNotFound):  # same orderId, other customer: not this order
        repo.transition(order["orderId"], "other", "PAID", "x")
    with pytest.raises(OrderNotFound):
        repo.transition(order["orderId"], "other", "CANCELLED", "x", claim_by="c")
    assert get_order(order["orderId"]) == order
    assert outbox_items() == []


def test_transition_propagates_other_errors(cloud, monkeypatch):
    class Table:
        def update_item(self, **_):
            raise ClientError({"Error": {"Code": "InternalServerError"}}, "UpdateItem")

    order = put_order("PENDING")
    monkeypatch.setattr(OrdersRepository, "_table", property(lambda self: Table()))
    with pytest.raises(ClientError):
        repo.transition(order["orderId"], "customer-1", "PAID", "x")

    def throttled(**_):
        raise ClientError({"Error": {"Code": "ThrottlingException"}}, "TransactWriteItems")

    monkeypatch.setattr(shared_aws.dynamodb_client(), "transact_write_items", throttled)
    with pytest.raises(ClientError):
        repo.transition(order["orderId"], "customer-1", "CANCELLED", "x", claim_by="c")


def test_order_and_outbox_are_written_atomically(cloud, monkeypatch):
    """When the outbox Put of the transaction fails, the order does not change either."""
    order = put_order("PAID")
    existing = put_outbox(
        {
            "id": f"{order['orderId']}#finalize",
            "kind": "finalize",
            "orderId": order["orderId"],
            "customerId": "customer-1",
            "status": "OLD",
            "createdAt": "2024-01-01T00:00:00.000Z",
        }
    )
    real = outbox.put_action

    def refusing(entry, table_name=None):
        action = real(entry, table_name)
        action["Put"]["ConditionExpression"] = "attribute_not_exists(id)"  # the entry exists: this Put fails
        return action

    monkeypatch.setattr(outbox, "put_action", refusing)
    with pytest.raises(ClientError) as info:
        repo.transition(order["orderId"], "customer-1", "CANCELLED", "x", claim_by="c")
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert get_order(order["orderId"]) == order
    assert outbox_items() == [existing]


# ---------------------------------------------------------------------------------------------
# events_to_publish
# ---------------------------------------------------------------------------------------------
def _event(order_id, detail_type="Order Cancellation Requested"):
    return (
        "order.service",
        detail_type,
        {
            "eventId": expected_event_id(order_id, detail_type),
            "orderId": order_id,
            "customerId": "customer-1",
            "amount": Decimal("1.50"),
        },
    )


def test_events_are_published_and_leave_the_outbox(cloud):
    order = put_order("PAID")
    oid = order["orderId"]

    repo.transition(oid, "customer-1", "CANCELLED", "x", claim_by="c", events_to_publish=[_event(oid)])

    [event] = cloud.events()
    assert (event["source"], event["detail-type"]) == ("order.service", "Order Cancellation Requested")
    assert event["detail"] == {
        "eventId": expected_event_id(oid, "Order Cancellation Requested"),
        "orderId": oid,
        "customerId": "customer-1",
        "amount": 1.5,
    }
    assert [e["id"] for e in outbox_items()] == [f"{oid}#finalize"]  # only the duty is left


def test_events_of_a_live_transition_go_through_the_outbox(cloud):
    order = put_order("PENDING")
    oid = order["orderId"]
    updated = repo.transition(oid, "customer-1", "PAID", "paid", events_to_publish=[_event(oid, "Thing Happened")])
    assert updated["status"] == "PAID" and updated["version"] == 2
    assert [e["detail-type"] for e in cloud.events()] == ["Thing Happened"]
    assert outbox_items() == []


def test_events_stay_in_the_outbox_when_put_events_fails(cloud, monkeypatch):
    order = put_order("PAID")
    oid = order["orderId"]
    calls = fail_put_events(monkeypatch)

    updated = repo.transition(oid, "customer-1", "CANCELLED", "x", claim_by="c", events_to_publish=[_event(oid)])

    assert updated["status"] == "CANCELLED"  # the transition stands
    assert len(calls) == 1
    entries = {e["id"]: e for e in outbox_items()}
    event_id = expected_event_id(oid, "Order Cancellation Requested")
    assert set(entries) == {f"{oid}#finalize", event_id}
    entry = entries[event_id]
    assert {k: v for k, v in entry.items() if k != "detail"} == {
        "id": event_id,
        "kind": "event",
        "orderId": oid,
        "customerId": "customer-1",
        "source": "order.service",
        "detailType": "Order Cancellation Requested",
        "createdAt": updated["updatedAt"],
    }
    assert json.loads(entry["detail"]) == {
        "eventId": event_id,
        "orderId": oid,
        "customerId": "customer-1",
        "amount": 1.5,
    }


def test_events_stay_when_publish_raises(cloud, monkeypatch):
    from shared import events
    from shared.errors import EventPublishError

    def broken(*_args, **_kwargs):
        raise EventPublishError("bus down")

    monkeypatch.setattr(events, "publish", broken)
    order = put_order("PAID")
    repo.transition(
        order["orderId"], "customer-1", "CANCELLED", "x", claim_by="c", events_to_publish=[_event(order["orderId"])]
    )
    assert len(outbox_items()) == 2


def test_a_retried_claim_does_not_publish_again(cloud):
    order = put_order("PAID")
    oid = order["orderId"]
    repo.transition(oid, "customer-1", "CANCELLED", "x", claim_by="c", events_to_publish=[_event(oid)])
    repo.transition(oid, "customer-1", "CANCELLED", "x", claim_by="c", events_to_publish=[_event(oid)])
    assert len(cloud.events()) == 1
    assert [e["id"] for e in outbox_items()] == [f"{oid}#finalize"]


def test_a_refused_transition_queues_no_event(cloud):
    order = put_order("COMPLETED")
    with pytest.raises(IllegalTransition):
        repo.transition(
            order["orderId"], "customer-1", "CANCELLED", "x", claim_by="c", events_to_publish=[_event(order["orderId"])]
        )
    assert outbox_items() == [] and cloud.events() == []


# ---------------------------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------------------------
def _new_order(order_id="order-new-1"):
    at = "2024-03-01T10:00:00.000Z"
    return {
        "orderId": order_id,
        "customerId": "customer-1",
        "items": [{"productId": "prod-1", "quantity": 1, "price": Decimal("19.99")}],
        "totalAmount": Decimal("19.99"),
        "status": "PENDING",
        "statusHistory": [{"status": "PENDING", "at": at, "reason": "order created"}],
        "createdAt": at,
        "updatedAt": at,
        "version": 1,
    }


def _created(order_id):
    return (
        "order.service",
        "Order Created",
        {"eventId": expected_event_id(order_id, "Order Created"), "orderId": order_id, "totalAmount": "19.99"},
    )


def test_create_writes_the_order_and_publishes_its_event(cloud):
    order = _new_order()
    repo.create(order, [_created("order-new-1")])
    assert get_order("order-new-1") == {**order, "liveShard": "live#8"}  # live: in Live-Index, shard 8
    [event] = cloud.events()
    assert (event["source"], event["detail-type"]) == ("order.service", "Order Created")
    assert event["detail"] == {
        "eventId": expected_event_id("order-new-1", "Order Created"),
        "orderId": "order-new-1",
        "totalAmount": "19.99",
    }
    assert outbox_items() == []


def test_create_keeps_the_order_and_the_event_when_publish_fails(cloud, monkeypatch):
    calls = fail_put_events(monkeypatch)
    order = _new_order()

    repo.create(order, [_created("order-new-1")])

    assert len(calls) == 1
    assert get_order("order-new-1") == {**order, "liveShard": "live#8"}
    [entry] = outbox_items()
    event_id = expected_event_id("order-new-1", "Order Created")
    assert {k: v for k, v in entry.items() if k != "detail"} == {
        "id": event_id,
        "kind": "event",
        "orderId": "order-new-1",
        "customerId": "customer-1",
        "source": "order.service",
        "detailType": "Order Created",
        "createdAt": "2024-03-01T10:00:00.000Z",
    }
    assert json.loads(entry["detail"]) == {"eventId": event_id, "orderId": "order-new-1", "totalAmount": "19.99"}
    assert cloud.events() == []


def test_create_refuses_an_existing_order_id_and_writes_nothing(cloud):
    existing = put_order("PAID", order_id="order-new-1")
    with pytest.raises(ClientError) as info:
        repo.create(_new_order(), [_created("order-new-1")])
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert get_order("order-new-1") == existing
    assert outbox_items() == [] and cloud.events() == []


# ---------------------------------------------------------------------------------------------
# attributes / reads
# ---------------------------------------------------------------------------------------------
def test_extra_attributes_are_set_and_removed(cloud):
    order = put_order("PENDING", scratch="x")
    updated = repo.transition(
        order["orderId"], "customer-1", "PAID", "paid", extra_set={"paymentId": "p-1"}, extra_remove=["scratch"]
    )
    assert updated["paymentId"] == "p-1" and "scratch" not in updated


def test_update_attributes(cloud):
    order = put_order("PENDING", scratch="x")
    repo.update_attributes(order["orderId"], "customer-1")  # no-op
    assert get_order(order["orderId"]) == order
    repo.update_attributes(order["orderId"], "customer-1", set_={"note": "n"}, remove=["scratch"])
    stored = get_order(order["orderId"])
    assert stored["note"] == "n" and "scratch" not in stored
    assert stored["status"] == "PENDING" and stored["version"] == 1
    repo.update_attributes(order["orderId"], "customer-1", remove=["note"])
    assert "note" not in get_order(order["orderId"])
    repo.update_attributes(order["orderId"], "customer-1", set_={"a": 1, "b": "two"})
    repo.update_attributes(order["orderId"], "customer-1", set_={"c": 3}, remove=["a", "b"])
    stored = get_order(order["orderId"])
    assert (stored["c"], "a" in stored, "b" in stored) == (3, False, False)
    with pytest.raises(ClientError):
        repo.update_attributes("missing", "customer-1", set_={"note": "n"})


def test_list_by_customer_pages_newest_first(cloud):
    made = [put_order("PENDING", updated_at=f"2024-01-0{d}T00:00:00.000Z") for d in (1, 2, 3)]
    put_order("PENDING", customer_id="customer-2")
    page, last = repo.list_by_customer("customer-1", 2)
    assert [o["orderId"] for o in page] == [made[2]["orderId"], made[1]["orderId"]]
    assert last is not None
    rest, _ = repo.list_by_customer("customer-1", 2, last)
    assert [o["orderId"] for o in rest] == [made[0]["orderId"]]


def test_live_shard_is_the_sha256_of_the_order_id_mod_16():
    assert [
        live_shard(o)
        for o in (
            "order-new-1",
            "9c8b7a6f-5e4d-4c3b-8a29-1f0e9d8c7b6a",
            "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
            "a",
            "b",
        )
    ] == ["live#8", "live#8", "live#6", "live#11", "live#13"]
    assert LIVE_SHARDS == 16
    assert {live_shard(f"o-{i}") for i in range(400)} == {f"live#{n}" for n in range(16)}


def test_live_updated_before_reads_one_shard_oldest_first_before_the_cutoff(cloud):
    put_order("PAID", order_id="b", updated_at="2024-01-02T00:00:00.000Z")  # live#13
    put_order("PAID", order_id="a", updated_at="2024-01-01T00:00:00.000Z")  # live#11
    put_order("PENDING", order_id="b-2", liveShard="live#13", updated_at="2024-01-31T00:00:00.000Z")  # at the cutoff
    put_order("PENDING", order_id="b-3", liveShard="live#13", updated_at="2024-01-01T12:00:00.000Z")
    put_order("COMPLETED", order_id="b-4", updated_at="2024-01-01T00:00:00.000Z")  # terminal: not indexed
    assert "liveShard" not in get_order("b-4")
    items, last = repo.live_updated_before(13, "2024-01-31T00:00:00.000Z", 10)
    assert [(i["orderId"], i["updatedAt"]) for i in items] == [
        ("b-3", "2024-01-01T12:00:00.000Z"),
        ("b", "2024-01-02T00:00:00.000Z"),
    ]
    assert last is None
    items, last = repo.live_updated_before(11, "2024-01-31T00:00:00.000Z", 10)
    assert [i["orderId"] for i in items] == ["a"] and last is None
    assert repo.live_updated_before(11, "2024-01-01T00:00:00.000Z", 10) == ([], None)  # strictly before


def test_live_updated_before_pages_with_the_last_evaluated_key(cloud):
    for n in range(3):
        put_order("PAID", order_id=f"o-{n}", liveShard="live#5", updated_at=f"2024-01-0{n + 1}T00:00:00.000Z")
    first, last = repo.live_updated_before(5, "2024-02-01T00:00:00.000Z", 2)
    assert [i["orderId"] for i in first] == ["o-0", "o-1"]
    assert last == {
        "orderId": "o-1",
        "customerId": "customer-1",
        "liveShard": "live#5",
        "updatedAt": "2024-01-02T00:00:00.000Z",
    }
    rest, last = repo.live_updated_before(5, "2024-02-01T00:00:00.000Z", 2, last)
    assert [i["orderId"] for i in rest] == ["o-2"] and last is None


def test_live_updated_before_asks_for_exactly_its_limit(monkeypatch):
    asked = []

    class Recording:
        def query(self, **kwargs):
            asked.append(kwargs)
            return {"Items": []}

    monkeypatch.setattr(OrdersRepository, "_table", property(lambda self: Recording()))
    repo.live_updated_before(7, "2024-02-01T00:00:00.000Z", 25)
    repo.live_updated_before(0, "2024-02-01T00:00:00.000Z", 1, {"orderId": "x"})
    assert [(a["IndexName"], a["Limit"], a["ScanIndexForward"], a.get("ExclusiveStartKey")) for a in asked] == [
        ("Live-Index", 25, True, None),
        ("Live-Index", 1, True, {"orderId": "x"}),
    ]
    condition = asked[0]["KeyConditionExpression"].get_expression()
    assert condition["operator"] == "AND"
    first, second = condition["values"]
    assert (first.get_expression()["operator"], [getattr(v, "name", v) for v in first.get_expression()["values"]]) == (
        "=",
        ["liveShard", "live#7"],
    )
    assert (
        second.get_expression()["operator"],
        [getattr(v, "name", v) for v in second.get_expression()["values"]],
    ) == ("<", ["updatedAt", "2024-02-01T00:00:00.000Z"])


def test_require_and_table_name(cloud):
    from .conftest import ENV

    assert repo.table_name == ENV["ORDERS_TABLE"]
    with pytest.raises(OrderNotFound):
        repo.require("missing", "customer-1")
    assert repo.find("missing") is None


def test_the_index_names_come_from_the_tables_one_definition():
    from shared import contracts
    from shared.repositories import orders

    assert (orders.CUSTOMER_INDEX, orders.LIVE_INDEX) == ("CustomerId-Index", "Live-Index")
    assert contracts.index_on("orders", "liveShard") == "Live-Index"
    with pytest.raises(KeyError, match="orders has 0 indexes on status, not one"):
        contracts.index_on("orders", "status")
