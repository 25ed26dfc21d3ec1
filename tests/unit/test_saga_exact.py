"""The order Lambda's saga actions, exact: claim reasons, refusal records and counters, the sweep's bounds, limit
and counter, and each refusal message. Expected values are literals."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from order import saga
from shared import clock, outbox
from shared.errors import InvalidTaskInput

from .helpers import get_order, order_input, put_claimed_order, put_order, put_outbox

NOW = "2026-12-04T10:00:00.000Z"
OLD = "2026-12-01T00:00:00.000Z"


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC))


def refusal(fn, *args) -> str:
    with pytest.raises(InvalidTaskInput) as info:
        fn(*args)
    return str(info.value)


@pytest.mark.parametrize(
    ("target", "reason", "counter"),
    [
        ("CANCELLED", "claimed cancelled", "OrdersCancelled"),
        ("FAILED", "claimed failed", "OrdersFailed"),
        ("EXPIRED", "claimed expired", "OrdersExpired"),
    ],
)
def test_a_claim_without_a_reason_names_its_target_and_counts(cloud, counters, target, reason, counter):
    order = put_order("PAID")
    answer = saga.claim({"order": order_input(order), "target": target, "by": "exec-1"})
    assert answer["claimed"] is True and answer["refused"] is None
    assert get_order(order["orderId"])["statusHistory"][-1] == {"status": target, "at": NOW, "reason": reason}
    assert counters() == {counter: 1}


def test_a_claim_reason_is_cut_at_256_characters(cloud):
    order = put_order("PAID")
    saga.claim({"order": order_input(order), "target": "FAILED", "by": "exec-1", "reason": "x" * 300})
    assert get_order(order["orderId"])["statusHistory"][-1]["reason"] == "x" * 256


def test_a_refund_request_of_a_completed_order_is_recorded_once_per_request(cloud, counters):
    order = put_claimed_order("COMPLETED", by="exec-1")
    answer = saga.claim({"order": order_input(order), "target": "CANCELLED", "by": "refund:r-1", "request": "refund"})
    assert (answer["claimed"], answer["refused"]) == (False, saga.REFUND_REFUSED_REASON)
    assert get_order(order["orderId"])["refundRefusal"] == {
        "at": NOW,
        "by": "refund:r-1",
        "reason": saga.REFUND_REFUSED_REASON,
    }
    assert counters() == {"RefundRequestsRefused": 1}


def test_a_cancel_request_of_a_completed_order_is_refused_without_a_record(cloud, counters):
    order = put_claimed_order("COMPLETED", by="exec-1")
    answer = saga.claim({"order": order_input(order), "target": "CANCELLED", "by": "cancel:x"})
    assert (answer["claimed"], answer["refused"]) == (False, None)
    assert "refundRefusal" not in get_order(order["orderId"]) and counters() == {}


def test_claim_refusal_messages(cloud):
    order = put_order("PAID")
    assert refusal(saga.claim, {"order": order_input(order), "target": "COMPLETED", "by": "e"}) == (
        "target must be one of ['CANCELLED', 'EXPIRED', 'FAILED'], got 'COMPLETED'"
    )
    assert refusal(saga.claim, {"order": order_input(order), "target": "FAILED", "by": ""}) == (
        "by is required (a string of at most 512 characters)"
    )
    assert refusal(saga.claim, {"order": order_input(order), "target": "FAILED", "by": "e", "unchangedSince": 5}) == (
        "unchangedSince is required (a string of at most 512 characters)"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"olderThanMinutes": -1}, "olderThanMinutes must be between 0 and 525600, got -1"),
        ({"olderThanMinutes": 525_601}, "olderThanMinutes must be between 0 and 525600, got 525601"),
        ({"olderThanMinutes": "5"}, "olderThanMinutes must be an integer or null, got '5'"),
        ({"olderThanMinutes": 2.5}, "olderThanMinutes must be an integer or null, got 2.5"),
        ({"limit": 0}, "limit must be between 1 and 1000, got 0"),
        ({"limit": 1001}, "limit must be between 1 and 1000, got 1001"),
        ({"limit": True}, "limit must be an integer or null, got True"),
    ],
)
def test_sweep_refusal_messages(cloud, fields, message):
    assert refusal(saga.sweep, fields) == message


@pytest.mark.parametrize(
    "fields", [{"olderThanMinutes": 0}, {"olderThanMinutes": 525_600}, {"limit": 1}, {"limit": 1000}, {"limit": 7.0}]
)
def test_sweep_bounds_are_accepted(cloud, fields):
    assert saga.sweep(fields) == {"orders": [], "nextToken": None, "resume": [], "republished": 0}


def put_in_shard(order_id, status="PAID", updated_at=OLD):
    """Order ids of known Live-Index shards (sha256 mod 16): ord-032/058/060 -> 10, ord-008/031 -> 12, ord-003 -> 9,
    ord-001 -> 3, ord-000 -> 1."""
    return put_order(status, order_id=order_id, updated_at=updated_at)


def decode(token):
    return json.loads(base64.urlsafe_b64decode(token))


def test_the_first_shard_follows_the_run_time():
    assert saga.start_shard("2026-12-04T10:00:00.000Z") == 10
    assert saga.start_shard("2026-12-04T10:05:00.000Z") == 3
    assert saga.start_shard("2026-12-04T10:10:00.000Z") == 0


def test_the_sweep_pages_ids_shard_after_shard_with_an_exact_continuation(cloud, counters, monkeypatch):
    for n, oid in enumerate(["ord-032", "ord-058", "ord-060"]):
        put_in_shard(oid, updated_at=f"2026-12-01T00:00:0{n}.000Z")
    put_in_shard("ord-008", "INVENTORY_RESERVED")
    put_in_shard("ord-031", "PENDING", updated_at="2026-12-04T09:30:00.000Z")  # 30 minutes old: not stale at 60
    put_in_shard("ord-003", "PENDING")
    put_claimed_order("COMPLETED", order_id="ord-001", updated_at=OLD)  # terminal: not in Live-Index
    shards = []
    real = saga.orders.live_updated_before
    monkeypatch.setattr(
        saga.orders,
        "live_updated_before",
        lambda shard, cutoff, limit, after=None: shards.append((shard, limit)) or real(shard, cutoff, limit, after),
    )

    first = saga.sweep({"olderThanMinutes": 60, "limit": 2})
    assert first["orders"] == [
        {"orderId": "ord-032", "customerId": "customer-1", "unchangedSince": "2026-12-01T00:00:00.000Z"},
        {"orderId": "ord-058", "customerId": "customer-1", "unchangedSince": "2026-12-01T00:00:01.000Z"},
    ]
    assert decode(first["nextToken"]) == {
        "cutoff": "2026-12-04T09:00:00.000Z",
        "start": 10,
        "visited": 0,
        "after": {
            "orderId": "ord-058",
            "customerId": "customer-1",
            "liveShard": "live#10",
            "updatedAt": "2026-12-01T00:00:01.000Z",
        },
    }
    assert shards == [(10, 2)]

    shards.clear()
    second = saga.sweep({"olderThanMinutes": 0, "limit": 2, "nextToken": first["nextToken"]})  # the token's cutoff
    assert second["orders"] == [
        {"orderId": "ord-060", "customerId": "customer-1", "unchangedSince": "2026-12-01T00:00:02.000Z"},
        {"orderId": "ord-008", "customerId": "customer-1", "unchangedSince": OLD},
    ]
    assert decode(second["nextToken"]) == {
        "cutoff": "2026-12-04T09:00:00.000Z",
        "start": 10,
        "visited": 2,
        "after": {"orderId": "ord-008", "customerId": "customer-1", "liveShard": "live#12", "updatedAt": OLD},
    }
    assert shards == [(10, 2), (11, 1), (12, 1)]
    assert (second["resume"], second["republished"]) == ([], 0)

    shards.clear()
    third = saga.sweep({"limit": 2, "nextToken": second["nextToken"]})
    assert third == {
        "orders": [{"orderId": "ord-003", "customerId": "customer-1", "unchangedSince": OLD}],
        "nextToken": None,
        "resume": [],
        "republished": 0,
    }
    assert shards == [
        (12, 2),
        (13, 2),
        (14, 2),
        (15, 2),
        (0, 2),
        (1, 2),
        (2, 2),
        (3, 2),
        (4, 2),
        (5, 2),
        (6, 2),
        (7, 2),
        (8, 2),
        (9, 2),
    ]
    assert counters() == {"StaleOrdersFound": 5}


def test_a_page_that_ends_a_shard_continues_at_the_next_shard(cloud):
    """A query that fills the page without a LastEvaluatedKey (moto's answer at the end of a shard; DynamoDB may
    still return one, then the next page starts with an empty read of that shard) moves the cursor on."""
    put_in_shard("ord-032")
    put_in_shard("ord-003")  # shard 9: the last one a run from shard 10 reads
    page = saga.sweep({"olderThanMinutes": 60, "limit": 1})
    assert [o["orderId"] for o in page["orders"]] == ["ord-032"]
    assert decode(page["nextToken"]) == {"cutoff": "2026-12-04T09:00:00.000Z", "start": 10, "visited": 1, "after": None}
    assert page["nextToken"] == (  # compact JSON, sorted keys, base64url
        "eyJhZnRlciI6bnVsbCwiY3V0b2ZmIjoiMjAyNi0xMi0wNFQwOTowMDowMC4wMDBaIiwic3RhcnQiOjEwLCJ2aXNpdGVkIjoxfQ=="
    )
    last = saga.sweep({"limit": 1, "nextToken": page["nextToken"]})
    assert last == {
        "orders": [{"orderId": "ord-003", "customerId": "customer-1", "unchangedSince": OLD}],
        "nextToken": None,
        "resume": [],
        "republished": 0,
    }


def test_the_default_page_is_25_ids(cloud):
    for n in range(26):
        put_order("PENDING", order_id=f"p-{n:02d}", liveShard="live#10", updated_at=f"2026-12-01T00:00:{n:02d}.000Z")
    page = saga.sweep({})
    assert [o["orderId"] for o in page["orders"]] == [f"p-{n:02d}" for n in range(25)]
    assert decode(page["nextToken"])["after"]["orderId"] == "p-24"
    rest = saga.sweep({"nextToken": page["nextToken"]})
    assert [o["orderId"] for o in rest["orders"]] == ["p-25"] and rest["nextToken"] is None


def test_orders_the_last_run_could_not_expire_do_not_hold_back_the_next_run(cloud, monkeypatch):
    """Two orders in the first shard of the 10:00 run fill its page and stay live (their claims fail); the 10:05 run
    starts at shard 3 and reaches the others first."""
    put_in_shard("ord-032")
    put_in_shard("ord-058")
    put_in_shard("ord-001")
    put_in_shard("ord-000")
    assert [o["orderId"] for o in saga.sweep({"limit": 2})["orders"]] == ["ord-032", "ord-058"]
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 5, 0, tzinfo=UTC))
    assert [o["orderId"] for o in saga.sweep({"limit": 2})["orders"]] == ["ord-001", "ord-032"]


@pytest.mark.parametrize(
    "token",
    [
        "not base64 !",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(
            json.dumps({"cutoff": OLD, "start": 16, "visited": 0, "after": None}).encode()
        ).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"cutoff": OLD, "start": 0, "visited": -1, "after": None}).encode()
        ).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"cutoff": OLD, "start": True, "visited": 0, "after": None}).encode()
        ).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"cutoff": OLD, "start": "1", "visited": 0, "after": None}).encode()
        ).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"cutoff": OLD, "start": 0, "visited": 16, "after": None}).encode()
        ).decode(),
        base64.urlsafe_b64encode(json.dumps({"cutoff": 5, "start": 0, "visited": 0, "after": None}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"cutoff": OLD, "start": 0, "visited": 0}).encode()).decode(),
        base64.urlsafe_b64encode(
            json.dumps({"cutoff": OLD, "start": 0, "visited": 0, "after": {"orderId": "x"}}).encode()
        ).decode(),
        base64.urlsafe_b64encode(
            json.dumps(
                {
                    "cutoff": OLD,
                    "start": 0,
                    "visited": 0,
                    "after": {"orderId": "x", "customerId": "c", "liveShard": "live#0", "updatedAt": 5},
                }
            ).encode()
        ).decode(),
        base64.urlsafe_b64encode(json.dumps({"cutoff": OLD, "start": 0, "visited": 0, "after": [1]}).encode()).decode(),
    ],
)
def test_a_token_that_find_stale_did_not_write_is_refused(cloud, token):
    assert refusal(saga.sweep, {"nextToken": token}) == "nextToken is not a continuation token of find_stale"


@pytest.mark.parametrize("token", ["", 5, "x" * 513])
def test_a_token_must_be_a_short_string(cloud, token):
    assert refusal(saga.sweep, {"nextToken": token}) == "nextToken is required (a string of at most 512 characters)"


def test_the_last_shard_and_a_full_key_are_a_valid_token(cloud):
    put_in_shard("ord-003")  # shard 9
    token = base64.urlsafe_b64encode(
        json.dumps({"cutoff": "2026-12-04T09:00:00.000Z", "start": 10, "visited": 15, "after": None}).encode()
    ).decode()
    assert [o["orderId"] for o in saga.sweep({"nextToken": token})["orders"]] == ["ord-003"]
    after = {"orderId": "ord-003", "customerId": "customer-1", "liveShard": "live#9", "updatedAt": OLD}
    token = base64.urlsafe_b64encode(
        json.dumps({"cutoff": "2026-12-04T09:00:00.000Z", "start": 15, "visited": 10, "after": after}).encode()
    ).decode()
    assert saga.sweep({"nextToken": token})["orders"] == []


def test_outbox_work_happens_on_the_first_page_only(cloud, monkeypatch):
    asked = []
    real = saga.outbox.due
    monkeypatch.setattr(
        saga.outbox, "due", lambda older_than, limit: asked.append((older_than, limit)) or real(older_than, limit)
    )
    claimed = put_claimed_order("FAILED", by="exec-1")
    put_outbox(outbox.finalize_entry(claimed["orderId"], "customer-1", "FAILED", OLD))
    for oid in ("ord-032", "ord-058"):
        put_in_shard(oid)
    first = saga.sweep({"limit": 1})
    assert [r["order"]["orderId"] for r in first["resume"]] == [claimed["orderId"]]
    assert asked == [("2026-12-04T09:58:00.000Z", 100)]  # OUTBOX_GRACE_SECONDS 120, at most 100 entries
    second = saga.sweep({"limit": 1, "nextToken": first["nextToken"]})
    assert (second["resume"], second["republished"]) == ([], 0)
    assert [o["orderId"] for o in second["orders"]] == ["ord-058"]
    assert len(asked) == 1


def created(n: int) -> tuple:
    """outbox.event_entry's arguments for the "Order Created" event of order n (a detail its contract accepts)."""
    order_id = f"00000000-0000-4000-8000-{n:012d}"
    return (
        order_id,
        "customer-1",
        "order.service",
        "Order Created",
        {
            "eventId": f"00000000-0000-5000-8000-{n:012d}",
            "orderId": order_id,
            "customerId": "customer-1",
            "items": [{"productId": "prod-1", "quantity": 1, "price": "19.99"}],
            "totalAmount": "19.99",
            "createdAt": "2026-12-01T00:00:00.000Z",
        },
    )


def test_one_run_resumes_at_most_25_duties_oldest_first_and_still_republishes(cloud):
    for n in range(26):
        order = put_claimed_order("FAILED", by="exec-1", order_id=f"done-{n:02d}")
        put_outbox(outbox.finalize_entry(order["orderId"], "customer-1", "FAILED", f"2026-12-01T00:00:{n:02d}.000Z"))
    put_outbox(outbox.event_entry(*created(1), "2026-12-01T00:01:00.000Z"))  # after them
    answer = saga.sweep({})
    assert [r["order"]["orderId"] for r in answer["resume"]] == [f"done-{n:02d}" for n in range(25)]
    assert answer["republished"] == 1


def test_the_default_staleness_is_thirty_minutes(cloud):
    put_order("PENDING", updated_at="2026-12-04T09:30:00.001Z")  # 29m59.999s old: not yet stale
    old = put_order("PENDING", updated_at="2026-12-04T09:29:59.999Z")
    assert [o["orderId"] for o in saga.sweep({})["orders"]] == [old["orderId"]]


def test_a_refusal_without_the_current_order_reads_it(cloud, monkeypatch):
    """An IllegalTransition that carries no order (the repository's contract allows it) is answered from a read."""
    from shared.errors import IllegalTransition

    order = put_claimed_order("COMPLETED", by="exec-1", executionId="exec-1")

    def refused(*args, **kwargs):
        raise IllegalTransition(order["orderId"], "COMPLETED", "COMPLETED")

    monkeypatch.setattr(saga.orders, "transition", refused)
    answer = saga.claim({"order": order_input(order), "target": "FAILED", "by": "exec-1"})
    assert (answer["claimed"], answer["orderStatus"]) == (False, "COMPLETED")
    assert answer["order"]["orderId"] == order["orderId"]


def test_every_due_event_is_republished_and_counted(cloud):
    for n in (1, 2):
        put_outbox(outbox.event_entry(*created(n), f"2026-12-01T00:0{n}:00.000Z"))
    assert saga.sweep({})["republished"] == 2
    assert sorted(e["detail"]["eventId"] for e in cloud.events("Order Created")) == [
        "00000000-0000-5000-8000-000000000001",
        "00000000-0000-5000-8000-000000000002",
    ]


def test_an_unknown_order_is_not_found_by_its_id(cloud):
    from shared.errors import OrderNotFound

    missing = {"orderId": "3f0c6a52-8d4e-4b7a-9f1e-2c5d8a7b6e40", "customerId": "customer-1"}
    with pytest.raises(OrderNotFound) as info:
        saga.claim({"order": missing, "target": "FAILED", "by": "exec-1"})
    assert str(info.value) == "order 3f0c6a52-8d4e-4b7a-9f1e-2c5d8a7b6e40 not found"
