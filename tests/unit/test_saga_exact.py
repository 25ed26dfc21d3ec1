"""The order Lambda's saga actions, exact: claim reasons, refusal records and counters, the sweep's bounds, limit
and counter, and each refusal message. Expected values are literals."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from order import saga
from shared import clock
from shared.errors import InvalidTaskInput

from .helpers import get_order, order_input, put_claimed_order, put_order

NOW = "2026-12-04T10:00:00.000Z"
OLD = "2026-12-01T00:00:00.000Z"


@pytest.fixture(autouse=True)
def _fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "utc_now", lambda: datetime(2026, 12, 4, 10, 0, 0, tzinfo=timezone.utc))


def refusal(fn, *args) -> str:
    with pytest.raises(InvalidTaskInput) as info:
        fn(*args)
    return str(info.value)


@pytest.mark.parametrize(("target", "reason", "counter"), [("CANCELLED", "claimed cancelled", "OrdersCancelled"),
                                                            ("FAILED", "claimed failed", "OrdersFailed"),
                                                            ("EXPIRED", "claimed expired", "OrdersExpired")])
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
    assert get_order(order["orderId"])["refundRefusal"] == {"at": NOW, "by": "refund:r-1",
                                                            "reason": saga.REFUND_REFUSED_REASON}
    assert counters() == {"RefundRequestsRefused": 1}


def test_a_cancel_request_of_a_completed_order_is_refused_without_a_record(cloud, counters):
    order = put_claimed_order("COMPLETED", by="exec-1")
    answer = saga.claim({"order": order_input(order), "target": "CANCELLED", "by": "cancel:x"})
    assert (answer["claimed"], answer["refused"]) == (False, None)
    assert "refundRefusal" not in get_order(order["orderId"]) and counters() == {}


def test_claim_refusal_messages(cloud):
    order = put_order("PAID")
    assert refusal(saga.claim, {"order": order_input(order), "target": "COMPLETED", "by": "e"}) == (
        "target must be one of ['CANCELLED', 'EXPIRED', 'FAILED'], got 'COMPLETED'")
    assert refusal(saga.claim, {"order": order_input(order), "target": "FAILED", "by": ""}) == (
        "by is required (a string of at most 512 characters)")
    assert refusal(saga.claim, {"order": order_input(order), "target": "FAILED", "by": "e", "unchangedSince": 5}) == (
        "unchangedSince is required (a string of at most 512 characters)")


def test_only_a_terminal_order_settles(cloud):
    order = put_order("PAID")
    assert refusal(saga.settle, order_input(order)) == f"order {order['orderId']} is PAID: only a terminal order settles"
    done = put_claimed_order("FAILED")
    assert saga.settle(order_input(done)) == {"status": "SETTLED", "orderStatus": "FAILED"}


@pytest.mark.parametrize(("fields", "message"), [
    ({"olderThanMinutes": -1}, "olderThanMinutes must be between 0 and 525600, got -1"),
    ({"olderThanMinutes": 525_601}, "olderThanMinutes must be between 0 and 525600, got 525601"),
    ({"olderThanMinutes": "5"}, "olderThanMinutes must be an integer or null, got '5'"),
    ({"olderThanMinutes": 2.5}, "olderThanMinutes must be an integer or null, got 2.5"),
    ({"limit": 0}, "limit must be between 1 and 1000, got 0"),
    ({"limit": 1001}, "limit must be between 1 and 1000, got 1001"),
    ({"limit": True}, "limit must be an integer or null, got True"),
])
def test_sweep_refusal_messages(cloud, fields, message):
    assert refusal(saga.sweep, fields) == message


@pytest.mark.parametrize("fields", [{"olderThanMinutes": 0}, {"olderThanMinutes": 525_600}, {"limit": 1},
                                    {"limit": 1000}, {"limit": 7.0}])
def test_sweep_bounds_are_accepted(cloud, fields):
    assert saga.sweep(fields) == {"orders": [], "resume": [], "republished": 0}


def test_the_sweep_stops_at_the_limit_across_statuses_and_counts_what_it_found(cloud, counters):
    pending = [put_order("PENDING", updated_at=f"2026-12-01T00:00:0{i}.000Z") for i in range(3)]
    put_order("PAID", updated_at=OLD)
    answer = saga.sweep({"limit": 2, "olderThanMinutes": 60})
    assert [o["orderId"] for o in answer["orders"]] == [pending[0]["orderId"], pending[1]["orderId"]]
    assert [o["unchangedSince"] for o in answer["orders"]] == ["2026-12-01T00:00:00.000Z", "2026-12-01T00:00:01.000Z"]
    assert counters() == {"StaleOrdersFound": 2}
    assert len(saga.sweep({"limit": 4, "olderThanMinutes": 60})["orders"]) == 4


def test_the_default_staleness_is_thirty_minutes(cloud):
    put_order("PENDING", updated_at="2026-12-04T09:30:00.001Z")  # 29m59.999s old: not yet stale
    old = put_order("PENDING", updated_at="2026-12-04T09:29:59.999Z")
    assert [o["orderId"] for o in saga.sweep({})["orders"]] == [old["orderId"]]


def test_complete_refusal_names_the_field(cloud):
    order = put_order("INVENTORY_RESERVED", executionId="exec-1")
    for execution_id in (None, "", "x" * 513):
        assert refusal(saga.complete, order_input(order), execution_id) == (
            "executionId is required (a string of at most 512 characters)")


@pytest.mark.parametrize("action", ["complete", "claim"])
def test_a_refusal_without_the_current_order_reads_it(cloud, monkeypatch, action):
    """An IllegalTransition that carries no order (the repository's contract allows it) is answered from a read."""
    from shared.errors import IllegalTransition

    order = put_claimed_order("COMPLETED", by="exec-1", executionId="exec-1")

    def refused(*args, **kwargs):
        raise IllegalTransition(order["orderId"], "COMPLETED", "COMPLETED")

    monkeypatch.setattr(saga.orders, "transition", refused)
    if action == "complete":
        answer = saga.complete(order_input(order), "exec-1")
        assert (answer["status"], answer["orderStatus"]) == ("NOT_COMPLETABLE", "COMPLETED")
    else:
        answer = saga.claim({"order": order_input(order), "target": "FAILED", "by": "exec-1"})
        assert (answer["claimed"], answer["orderStatus"]) == (False, "COMPLETED")
    assert answer["order"]["orderId"] == order["orderId"]
