"""order.saga through the order Lambda: claim and the stale-order sweep (find_stale). (OwnOrder, the ownership write,
and CompleteOrder, the completion, are DynamoDB integrations: tests/unit/test_own_order_task.py and
tests/unit/test_completion.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from order import handler, saga
from shared import aws as shared_aws
from shared import clock, outbox
from shared.errors import InvalidTaskInput, OrderNotFound, TransientAwsError, UnsupportedEvent
from shared.repositories import OrdersRepository

from .helpers import (
    expected_event_id,
    get_order,
    outbox_items,
    put_claimed_order,
    put_order,
    put_outbox,
)
from .test_completion import complete

LIVE = ["PENDING", "PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE"]
TERMINAL = ["COMPLETED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"]
CLAIM_TARGETS = ["CANCELLED", "FAILED", "EXPIRED"]
NOTIFICATION = {
    "CANCELLED": "order-cancelled",
    "FAILED": "order-failed",
    "EXPIRED": "order-expired",
    "COMPLETED": "order-completed",
    "PAYMENT_FAILED": "payment-declined",
}
REFUSAL = "order COMPLETED: its goods are reserved for delivery; a refund needs a return"
SUMMARY_ITEMS = [
    {"productId": "prod-1", "quantity": 2, "price": "19.99"},
    {"productId": "prod-2", "quantity": 1, "price": "69.99"},
]


def summary(order, status=None):
    return {
        "orderId": order["orderId"],
        "customerId": order["customerId"],
        "status": status or order["status"],
        "items": SUMMARY_ITEMS,
        "totalAmount": "109.97",
    }


def invoke(lambda_context, **event):
    return handler.lambda_handler(event, lambda_context)


def ref(order):
    return {"orderId": order["orderId"], "customerId": order["customerId"]}


def fail_put_events(monkeypatch):
    monkeypatch.setattr(
        shared_aws.events_client(),
        "put_events",
        lambda **_: {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]},
    )


@pytest.fixture
def later(monkeypatch):
    """Move the service clock forward (the sweep runs `seconds` after the writes)."""

    def shift(seconds):
        target = datetime.now(UTC) + timedelta(seconds=seconds)
        monkeypatch.setattr(clock, "utc_now", lambda: target)

    return shift


# ---------------------------------------------------------------------------------------------
# claim
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", LIVE)
@pytest.mark.parametrize("target", CLAIM_TARGETS)
def test_claim_from_each_live_status(cloud, lambda_context, status, target):
    order = put_order(status)
    oid = order["orderId"]

    answer = invoke(lambda_context, action="claim", order=ref(order), target=target, by="exec-1", reason="r")

    assert answer == {
        "claimed": True,
        "refused": None,
        "orderStatus": target,
        "order": summary(order, target),
        "claim": {"status": target, "notification": NOTIFICATION[target], "by": "exec-1", "reason": "r"},
    }
    stored = get_order(oid)
    assert stored["status"] == target and stored["version"] == 2
    assert stored["statusHistory"][-1] == {"status": target, "at": stored["updatedAt"], "reason": "r"}
    assert stored["claim"] == {"by": "exec-1", "status": target, "at": stored["updatedAt"]}
    assert outbox_items() == [
        {
            "id": f"{oid}#finalize",
            "kind": "finalize",
            "orderId": oid,
            "customerId": "customer-1",
            "status": target,
            "createdAt": stored["updatedAt"],
        }
    ]
    assert cloud.events() == []


@pytest.mark.parametrize("status", TERMINAL)
@pytest.mark.parametrize("target", CLAIM_TARGETS)
def test_claim_refused_for_a_terminal_order(cloud, lambda_context, status, target):
    order = put_claimed_order(status, by="someone-else")

    answer = invoke(lambda_context, action="claim", order=ref(order), target=target, by="exec-1")

    assert answer["claimed"] is False and answer["refused"] is None
    assert answer["orderStatus"] == status and answer["claim"]["by"] == "someone-else"
    assert get_order(order["orderId"]) == order  # no refundRefusal without a refund request
    assert outbox_items() == []


def test_claim_retry_by_the_same_claimer_is_still_the_claimer(cloud, lambda_context):
    order = put_order("PAID")
    first = invoke(lambda_context, action="claim", order=ref(order), target="FAILED", by="exec-1", reason="fault")
    stored = get_order(order["orderId"])
    again = invoke(lambda_context, action="claim", order=ref(order), target="FAILED", by="exec-1", reason="fault")
    assert again == first and again["claimed"] is True
    assert get_order(order["orderId"]) == stored
    other = invoke(lambda_context, action="claim", order=ref(order), target="FAILED", by="exec-2")
    assert other["claimed"] is False and other["claim"]["by"] == "exec-1"


def test_claim_with_unchanged_since(cloud, lambda_context):
    order = put_order("PAID", updated_at="2024-01-01T00:00:00.000Z")
    moved = invoke(
        lambda_context,
        action="claim",
        order=ref(order),
        target="EXPIRED",
        by="sweep-1",
        unchangedSince="2024-01-01T00:00:00.001Z",
    )
    assert moved["claimed"] is False and moved["orderStatus"] == "PAID"
    assert get_order(order["orderId"]) == order and outbox_items() == []

    seen = invoke(
        lambda_context,
        action="claim",
        order=ref(order),
        target="EXPIRED",
        by="sweep-1",
        unchangedSince="2024-01-01T00:00:00.000Z",
    )
    assert seen["claimed"] is True and seen["orderStatus"] == "EXPIRED"
    assert seen["claim"]["reason"] == "claimed expired"  # the default reason


def test_refund_request_of_a_completed_order_is_refused_and_recorded(cloud, lambda_context, capsys):
    order = put_claimed_order("COMPLETED", by="exec-1")

    answer = invoke(
        lambda_context,
        action="claim",
        order=ref(order),
        target="CANCELLED",
        by="operator:r-1",
        request="refund",
        reason="customer asked",
    )

    assert answer["claimed"] is False
    assert answer["refused"] == REFUSAL
    assert answer["orderStatus"] == "COMPLETED" and answer["claim"]["by"] == "exec-1"
    stored = get_order(order["orderId"])
    refusal = stored.pop("refundRefusal")
    assert refusal == {"at": refusal["at"], "by": "operator:r-1", "reason": REFUSAL}
    assert refusal["at"].endswith("Z") and refusal["at"] > order["updatedAt"]
    assert stored == order  # status, version, history, claim unchanged
    assert outbox_items() == [] and cloud.events() == []
    assert '"RefundRequestsRefused":[1.0]' in capsys.readouterr().out


def test_refund_request_of_an_order_claimed_by_another_is_not_a_refusal(cloud, lambda_context):
    order = put_claimed_order("CANCELLED", by="cancel:x")
    answer = invoke(
        lambda_context, action="claim", order=ref(order), target="CANCELLED", by="operator:r-1", request="refund"
    )
    assert answer["claimed"] is False and answer["refused"] is None
    assert "refundRefusal" not in get_order(order["orderId"])


def test_refund_request_of_a_live_order_claims_it(cloud, lambda_context):
    order = put_order("INVENTORY_RESERVED")
    answer = invoke(
        lambda_context,
        action="claim",
        order=ref(order),
        target="CANCELLED",
        by="operator:r-1",
        request="refund",
        reason="refund requested",
    )
    assert answer["claimed"] is True and answer["refused"] is None
    assert get_order(order["orderId"])["claim"]["by"] == "operator:r-1"


def test_claim_reason_is_truncated(cloud, lambda_context):
    order = put_order("PAID")
    invoke(lambda_context, action="claim", order=ref(order), target="FAILED", by="e", reason="x" * 300)
    assert get_order(order["orderId"])["statusHistory"][-1]["reason"] == "x" * 256


@pytest.mark.parametrize(
    "fields",
    [
        {"target": "COMPLETED", "by": "e"},
        {"target": "PAYMENT_FAILED", "by": "e"},
        {"target": "PAID", "by": "e"},
        {"target": "cancelled", "by": "e"},
        {"target": None, "by": "e"},
        {"by": "e"},
        {"target": "CANCELLED"},
        {"target": "CANCELLED", "by": None},
        {"target": "CANCELLED", "by": ""},
        {"target": "CANCELLED", "by": "  "},
        {"target": "CANCELLED", "by": 7},
        {"target": "CANCELLED", "by": "b" * 513},
        {"target": "CANCELLED", "by": "e", "unchangedSince": 5},
        {"target": "CANCELLED", "by": "e", "unchangedSince": ""},
    ],
)
def test_invalid_claim_input(cloud, lambda_context, fields):
    order = put_order("PAID")
    with pytest.raises(InvalidTaskInput):
        invoke(lambda_context, action="claim", order=ref(order), **fields)
    assert get_order(order["orderId"]) == order and outbox_items() == []


def test_claim_of_unknown_order(cloud, lambda_context):
    with pytest.raises(OrderNotFound):
        invoke(lambda_context, action="claim", order={"orderId": "nope", "customerId": "c"}, target="FAILED", by="e")


def test_settle_is_no_action_of_the_order_lambda(cloud, lambda_context):
    """The workflows settle with a DynamoDB deleteItem of the duty (workflow/fragments/finalize.asl.json), not here."""
    order = put_order("PAID")
    with pytest.raises(UnsupportedEvent, match="^unsupported order action 'settle'$"):
        invoke(lambda_context, action="settle", order=ref(order))


# ---------------------------------------------------------------------------------------------
# sweep (find_stale)
# ---------------------------------------------------------------------------------------------
def test_sweep_returns_the_ids_of_stale_live_orders_with_unchanged_since(cloud, lambda_context):
    stale = [put_order(s, updated_at="2024-01-01T00:00:00.000Z") for s in LIVE]
    stale.append(put_order("PAID", updated_at="2023-12-31T00:00:00.000Z"))
    for s in TERMINAL:
        put_claimed_order(s, updated_at="2024-01-01T00:00:00.000Z")
    put_order("PENDING", updated_at=clock.now_iso())  # fresh: not stale

    answer = invoke(lambda_context, action="find_stale", olderThanMinutes=None)

    assert set(answer) == {"orders", "nextToken", "resume", "republished"}
    assert (answer["nextToken"], answer["resume"], answer["republished"]) == (None, [], 0)
    key = lambda o: o["orderId"]
    assert sorted(answer["orders"], key=key) == sorted(
        [{"orderId": o["orderId"], "customerId": "customer-1", "unchangedSince": o["updatedAt"]} for o in stale],
        key=key,
    )


def test_sweep_uses_older_than_minutes_and_pages_by_limit(cloud, lambda_context):
    now = datetime.now(UTC)
    ten_min = put_order("PENDING", updated_at=clock.iso(now - timedelta(minutes=10)))
    hour = put_order("PAID", updated_at=clock.iso(now - timedelta(minutes=60)))
    old = put_order("INVENTORY_RESERVED", updated_at="2024-01-01T00:00:00.000Z")

    default = invoke(lambda_context, action="find_stale")  # STALE_ORDER_MINUTES=30
    assert {o["orderId"] for o in default["orders"]} == {hour["orderId"], old["orderId"]}
    five = invoke(lambda_context, action="find_stale", olderThanMinutes=5)
    assert {o["orderId"] for o in five["orders"]} == {ten_min["orderId"], hour["orderId"], old["orderId"]}
    limited = invoke(lambda_context, action="find_stale", olderThanMinutes=5, limit=2)
    assert len(limited["orders"]) == 2 and limited["nextToken"] is not None
    rest = invoke(lambda_context, action="find_stale", limit=2, nextToken=limited["nextToken"])
    assert len(rest["orders"]) == 1
    assert {o["orderId"] for o in limited["orders"] + rest["orders"]} == {o["orderId"] for o in (ten_min, hour, old)}
    one = invoke(lambda_context, action="find_stale", olderThanMinutes=5.0, limit=1)
    assert len(one["orders"]) == 1 and one["nextToken"] is not None


def test_a_swept_order_is_claimed_only_if_unchanged(cloud, lambda_context):
    order = put_order("PAID", updated_at="2024-01-01T00:00:00.000Z")
    [found] = invoke(lambda_context, action="find_stale")["orders"]
    OrdersRepository().transition(order["orderId"], "customer-1", "INVENTORY_RESERVED", "reserved meanwhile")
    answer = invoke(
        lambda_context,
        action="claim",
        order=found,
        target="EXPIRED",
        by="sweep",
        unchangedSince=found["unchangedSince"],
    )
    assert answer["claimed"] is False and answer["orderStatus"] == "INVENTORY_RESERVED"


def test_sweep_resumes_finalize_duties_after_the_grace_period(cloud, lambda_context, later):
    order = put_order("PAID", updated_at=clock.now_iso())
    invoke(lambda_context, action="claim", order=ref(order), target="FAILED", by="exec-1", reason="fault")

    assert invoke(lambda_context, action="find_stale")["resume"] == []  # the claimer may still finish

    later(121)  # OUTBOX_GRACE_SECONDS defaults to 120
    answer = invoke(lambda_context, action="find_stale")
    assert answer["resume"] == [
        {
            "order": summary(order, "FAILED"),
            "claim": {"status": "FAILED", "notification": "order-failed", "by": "exec-1", "reason": "fault"},
        }
    ]
    assert answer["orders"] == [] and answer["republished"] == 0
    assert len(outbox_items()) == 1  # the sweep reports a duty; the workflow's Settle deletes it

    shared_aws.table(outbox.config.outbox_table).delete_item(Key={"id": outbox.finalize_id(order["orderId"])})
    assert invoke(lambda_context, action="find_stale")["resume"] == []


def test_sweep_grace_period_is_configurable(cloud, lambda_context, later, monkeypatch):
    order = put_order("PAID", updated_at=clock.now_iso())
    invoke(lambda_context, action="claim", order=ref(order), target="CANCELLED", by="e")
    monkeypatch.setenv("OUTBOX_GRACE_SECONDS", "600")
    later(300)
    assert invoke(lambda_context, action="find_stale")["resume"] == []
    later(601)
    assert len(invoke(lambda_context, action="find_stale")["resume"]) == 1


def test_sweep_republishes_old_outbox_events(cloud, lambda_context, monkeypatch, later):
    order = put_order("INVENTORY_RESERVED", executionId="exec-1", updated_at=clock.now_iso())
    oid = order["orderId"]
    complete(order, at=clock.now_iso())  # CompleteOrder's transaction; the workflow's put did not happen
    assert cloud.events() == []
    event_id = expected_event_id(oid, "Order Completed")
    assert event_id in {e["id"] for e in outbox_items()}

    fresh = invoke(lambda_context, action="find_stale")  # too fresh: left to its writer
    assert fresh["republished"] == 0 and cloud.events() == []

    later(121)
    answer = invoke(lambda_context, action="find_stale")

    assert answer["republished"] == 1
    [event] = cloud.events()
    assert (event["source"], event["detail-type"]) == ("order.service", "Order Completed")
    assert event["detail"] == {"eventId": event_id, "orderId": oid, "customerId": "customer-1", "totalAmount": "109.97"}
    assert [e["id"] for e in outbox_items()] == [f"{oid}#finalize"]  # the event entry is gone
    assert [r["order"]["orderId"] for r in answer["resume"]] == [oid]
    assert invoke(lambda_context, action="find_stale")["republished"] == 0
    assert len(cloud.events()) == 1


def test_sweep_keeps_an_event_it_cannot_publish(cloud, lambda_context, monkeypatch):
    entry = put_outbox(
        outbox.event_entry(
            "o-1",
            "customer-1",
            "order.service",
            "Order Created",
            {"eventId": "evt-1", "orderId": "o-1"},
            "2024-01-01T00:00:00.000Z",
        )
    )
    fail_put_events(monkeypatch)
    assert invoke(lambda_context, action="find_stale")["republished"] == 0
    assert outbox_items() == [entry]


def test_sweep_skips_duties_without_a_terminal_order(cloud, lambda_context):
    live = put_order("PAID", updated_at=clock.now_iso())
    bad_customer = put_claimed_order("FAILED", customer_id="bad customer")
    at = "2024-01-01T00:00:00.000Z"
    for order_id, customer_id in (
        ("missing", "customer-1"),
        (live["orderId"], "customer-1"),
        (bad_customer["orderId"], "bad customer"),
    ):
        put_outbox(outbox.finalize_entry(order_id, customer_id, "FAILED", at))
    claimed = put_claimed_order("EXPIRED", by="sweep")
    # written last and a second later: the skipped duties come first (the sweep reads oldest first), so a sweep that
    # stopped at the first bad duty would miss it
    put_outbox(outbox.finalize_entry(claimed["orderId"], "customer-1", "EXPIRED", "2024-01-01T00:00:01.000Z"))

    answer = invoke(lambda_context, action="find_stale")

    assert [r["order"]["orderId"] for r in answer["resume"]] == [claimed["orderId"]]
    assert len(outbox_items()) == 4  # nothing deleted


@pytest.mark.parametrize(
    "fields",
    [
        {"olderThanMinutes": -1},
        {"olderThanMinutes": 525_601},
        {"olderThanMinutes": "5"},
        {"olderThanMinutes": True},
        {"olderThanMinutes": 1.5},
        {"limit": 0},
        {"limit": 1001},
        {"limit": "10"},
    ],
)
def test_sweep_rejects_bad_input(cloud, lambda_context, fields):
    with pytest.raises(InvalidTaskInput):
        invoke(lambda_context, action="find_stale", **fields)


# ---------------------------------------------------------------------------------------------
# dispatch
# ---------------------------------------------------------------------------------------------
def test_saga_actions_are_dispatched():
    assert set(handler.SAGA_ACTIONS) == {"claim", "find_stale"}
    assert saga.CLAIM_TARGETS == {"CANCELLED", "FAILED", "EXPIRED"}


@pytest.mark.parametrize("event", [{"action": "expire"}, {"action": 5}, {}])
def test_unsupported_order_action(cloud, lambda_context, event):
    with pytest.raises(UnsupportedEvent):
        handler.lambda_handler(event, lambda_context)


def test_throttled_dynamodb_in_a_saga_action_is_transient(cloud, lambda_context, monkeypatch):
    order = put_order("PAID")

    def throttled(**_):
        raise ClientError(
            {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
            "TransactWriteItems",
        )

    monkeypatch.setattr(shared_aws.dynamodb_client(), "transact_write_items", throttled)
    with pytest.raises(TransientAwsError) as info:
        invoke(lambda_context, action="claim", order=ref(order), target="FAILED", by="e")
    assert type(info.value).__name__ == "TransientAwsError"
    assert get_order(order["orderId"]) == order
