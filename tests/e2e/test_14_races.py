"""Races that can be provoked from outside the stack, each judged by the invariants of the tables once it settled.

Every terminal status is a claim and only the claimer finalizes (docs/architecture.md, "Claims"), so whatever wins a
race, the order must end in exactly one of two consistent states:

* COMPLETED, everything held: the gateway ledger has exactly one entry for the order, AUTHORIZED for the catalogue
  total (= the payments row, PAID), the reservation is RESERVED and the stock is down by exactly the quantity, once;
* CANCELLED, nothing held: no AUTHORIZED ledger entry (at most one entry, VOIDED / REVERSED / REFUNDED), the payments
  row REFUNDED or VOIDED (the finalization always closes the intent), the reservation RELEASED or none, the stock
  back to what it was;

never a mix. In both: one workflow notification, the one of the status (`notifications/<orderId>/<type>.json`); the
claim names the winner; exactly one order-processing execution, the order's owner (`executionId`); nothing in the
outbox for the order. Races:

(a) a duplicate "Order Created" (the same detail, put with the order service's source) right after the first
    execution owned the order, while it runs: the duplicate ends in DuplicateExecution having invoked no Lambda;
    the order COMPLETED once.
(b) an operator "Refund Requested" (source orderflow.operator) 0, 150, 400 and 1000 ms after the API accepted the
    order, and as soon as the test sees the order PAID / INVENTORY_RESERVED: CANCELLED under the request's claim
    (`refund:<event id>`), or COMPLETED with `refundRefusal` recorded (money and stock kept).
(c) a customer DELETE at the same triggers: 202 and CANCELLED under `cancel:<orderId>` (a repeated DELETE answers
    the same 202), or 409 and COMPLETED.
(d) a wrongly named price: 409, nothing written -- test_13_server_prices.test_wrong_price_is_409_and_writes_nothing.

Each scenario has its own product with known stock and price, so the stock assertions are exact. The delays and the
status polls are waits *before an action* (to provoke the race at different points of the saga); every wait for a
result is a poll with a deadline. Which side won is recorded as a note; either outcome passes, a mix fails.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from e2e_support import Submitted

from scripts.api_client import order_payload
from scripts.order_timeline import HAPPY_PATH, history_statuses
from scripts.polling import wait_until

STOCK, QUANTITY, PRICE = 5, 2, "14.25"
TOTAL = Decimal(PRICE) * QUANTITY  # 28.50
DELAYS_MS = (0, 150, 400, 1000)
LIVE_PATH = ("PENDING", "PAID", "INVENTORY_RESERVED")
#: when the request goes in: a delay after the API accepted the order, or as soon as the order is seen in a status
#: (the fixed delays mostly land at PENDING or COMPLETED on an idle local cloud; these aim at the windows between)
TRIGGERS = [f"{ms}ms" for ms in DELAYS_MS] + ["at-PAID", "at-INVENTORY_RESERVED"]


def _provoke(stack, sub: Submitted, accepted: float, trigger: str) -> str:
    """Hold the request until its trigger (a delay before an action, not a wait for a result); returns the status
    the order had when the request went in (as far as the test saw it)."""
    if trigger.endswith("ms"):
        time.sleep(max(0.0, accepted + int(trigger[:-2]) / 1000 - time.monotonic()))
        return stack.order(sub.order_id, sub.customer_id)["status"]
    target = trigger.removeprefix("at-")
    later = set(HAPPY_PATH[HAPPY_PATH.index(target) :]) | {"CANCELLED", "FAILED", "EXPIRED", "PAYMENT_FAILED"}
    return wait_until(
        lambda: (s := stack.order(sub.order_id, sub.customer_id)["status"]) in later and s,
        stack.order_timeout,
        f"order {sub.order_id} at {target} or later",
        interval=0.01,
    )


def _order(stack, tag: str) -> tuple[str, dict[str, Any]]:
    product = stack.name(f"race-{tag}")
    stack.set_stock(product, STOCK, price=PRICE)
    return product, order_payload(stack.name(f"c-race-{tag}"), [(product, QUANTITY, PRICE)])


def _settle(stack, scenario, sub: Submitted) -> dict[str, Any]:
    """The order once terminal and settled, with its one order-processing execution finished."""
    stack.wait_executions(sub.order_id)
    return stack.wait_settled(scenario, [sub])[sub.order_id]


def assert_consistent(stack, sub: Submitted, product: str, order: dict[str, Any]) -> str:
    """The race invariants (module doc) for a settled order; returns its status."""
    oid, status = sub.order_id, order["status"]
    assert status in ("COMPLETED", "CANCELLED"), order
    ledger = stack.ledger(oid)
    payment, reservation, stock = stack.payment(oid), stack.reservation(oid), stack.stock(product)
    facts = {
        "status": status,
        "history": history_statuses(order),
        "claim": order.get("claim"),
        "ledger": [(e["status"], e["amount"]) for e in ledger],
        "payment": payment and payment["status"],
        "reservation": reservation and reservation["status"],
        "stock": stock,
    }

    [execution] = stack.executions_for(oid, "order-processing")  # exactly one acted (and no duplicate ran)
    assert order["executionId"] == execution["arn"] and execution["status"] == "SUCCEEDED", (facts, execution)
    assert order["totalAmount"] == TOTAL, order
    assert len(ledger) <= 1 and all(e["paymentId"] == (payment or {}).get("paymentId") for e in ledger), facts
    if status == "COMPLETED":
        assert history_statuses(order) == list(HAPPY_PATH), facts
        assert order["claim"]["by"] == execution["arn"], facts
        assert facts["ledger"] == [("AUTHORIZED", TOTAL)] and stack.held(oid) == TOTAL, facts
        assert (
            payment["status"] == "PAID" and payment["amount"] == TOTAL and order["paymentId"] == payment["paymentId"]
        ), facts
        assert reservation and reservation["status"] == "RESERVED", facts
        assert [(i["productId"], int(i["quantity"])) for i in reservation["items"]] == [(product, QUANTITY)], (
            reservation
        )
        assert stock == STOCK - QUANTITY, facts
        assert stack.last_state(execution["arn"]) == "OrderFinished", facts
    else:
        history = history_statuses(order)
        assert history[-1] == "CANCELLED" and history[:-1] == list(LIVE_PATH[: len(history) - 1]), facts
        assert stack.held(oid) == 0 and not any(e["status"] == "AUTHORIZED" for e in ledger), facts
        assert payment and payment["status"] in ("REFUNDED", "VOIDED"), facts
        assert reservation is None or reservation["status"] == "RELEASED", facts
        assert stock == STOCK, facts
        assert stack.last_state(execution["arn"]) == "ClaimedByAnother", facts  # it saw the claim and stood aside
    kind = {"COMPLETED": "order-completed", "CANCELLED": "order-cancelled"}[status]
    assert stack.workflow_notifications(oid) == [kind], (facts, stack.notification_keys(oid))
    assert stack.outbox(oid) == [], (facts, stack.outbox(oid))
    return status


def _finalized_by(stack, execution_arn: str, order: dict[str, Any]) -> None:
    """The claimer's execution finalized this order: it notified once and settled. A completion's claim is the
    finalizing execution's own: CompleteOrder hands the branch {status, notification, reason} (its transaction wrote
    the execution's ARN as the stored claim's `by`); every other claim names its claimer."""
    done = stack.finalized(execution_arn)
    assert done and done["claim"]["status"] == order["status"], done
    if order["status"] == "COMPLETED":
        assert "by" not in done["claim"] and order["claim"]["by"] == execution_arn, (done, order["claim"])
    else:
        assert done["claim"]["by"] == order["claim"]["by"], done
    assert done["notification"]["key"].endswith(f"/{done['claim']['notification']}.json") and done["settled"] == {
        "status": "SETTLED"
    }, done


# --- (a) duplicate Order Created while the first execution runs -----------------------------------------------------
@pytest.mark.express
def test_duplicate_order_created_while_running(stack, scenario):
    product, payload = _order(stack, "dup")
    sub = stack.submit(payload, label="Order Created twice more while the saga runs")
    scenario.track(sub)
    [first] = stack.wait_executions(sub.order_id, terminal=False)
    # the first execution owns the order as soon as its first state ran; the duplicates go in right then
    owner = wait_until(
        lambda: stack.order(sub.order_id, sub.customer_id).get("executionId"),
        30,
        "the first execution's ownership",
        interval=0.05,
    )
    assert owner == first["arn"], (owner, first)
    event = json.loads(first["input"])  # the event exactly as the bus delivered it
    assert event["source"] == "order.service" and event["detail-type"] == "Order Created", event
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: stack.put_event("order.service", "Order Created", event["detail"]), range(2)))
    running = stack.executions_reader.describe(first["arn"])["status"] == "RUNNING"
    scenario.note(f"duplicates put while the first execution was {'RUNNING' if running else 'already finished'}")

    executions = stack.wait_executions(sub.order_id, count=3)
    order = stack.wait_settled(scenario, [sub])[sub.order_id]
    assert order["status"] == "COMPLETED" and order["executionId"] == first["arn"], order
    for ex in executions:
        if ex["arn"] == first["arn"]:
            assert ex["status"] == "SUCCEEDED" and stack.last_state(ex["arn"]) == "OrderFinished", ex
        else:  # refused by OwnOrder's condition: no Lambda at all, so no charge, reservation, claim or notification
            assert ex["status"] == "SUCCEEDED" and stack.last_state(ex["arn"]) == "DuplicateExecution", ex
            assert stack.top_level_calls(ex["arn"]) == [] and stack.finalized(ex["arn"]) is None, ex
            tasks = [(t["state"], t["outcome"], t["error"]) for t in stack.summary(ex["arn"])["tasks"]]
            assert tasks == [("OwnOrder", "FAILED", "DynamoDB.ConditionalCheckFailedException")], (ex, tasks)
    assert len(executions) == 3, executions
    # the invariants, with the duplicates set aside: one acting execution
    [entry] = stack.ledger(sub.order_id)
    assert entry["status"] == "AUTHORIZED" and entry["amount"] == TOTAL, entry
    payment = stack.payment(sub.order_id)
    assert payment["status"] == "PAID" and payment["paymentId"] == entry["paymentId"] == order["paymentId"], payment
    assert history_statuses(order) == list(HAPPY_PATH), order["statusHistory"]
    assert stack.reservation(sub.order_id)["status"] == "RESERVED"
    assert stack.stock(product) == STOCK - QUANTITY
    assert stack.workflow_notifications(sub.order_id) == ["order-completed"]
    assert stack.outbox(sub.order_id) == []
    _finalized_by(stack, first["arn"], order)


# --- (b) operator refund request at several points of the saga ----------------------------------------------------
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_refund_request_races_the_saga(stack, scenario, trigger):
    product, payload = _order(stack, f"refund-{trigger}")
    sub = stack.submit(payload, label=f"Refund Requested {trigger}")
    accepted = time.monotonic()
    scenario.track(sub)
    seen = _provoke(stack, sub, accepted, trigger)
    event_id = stack.put_event(
        "orderflow.operator",
        "Refund Requested",
        {"eventId": stack.name(f"refund-{trigger}"), "orderId": sub.order_id, "customerId": sub.customer_id},
    )

    _settle(stack, scenario, sub)
    [request] = stack.wait_executions(sub.order_id, key="payment-processing")
    assert request["status"] == "SUCCEEDED", request
    order = stack.order(sub.order_id, sub.customer_id)
    status = assert_consistent(stack, sub, product, order)
    scenario.note(f"Refund Requested {trigger} (order seen {seen} just before the put): {status}")
    if status == "CANCELLED":
        assert order["claim"]["by"] == f"refund:{event_id}", order["claim"]
        assert "refundRefusal" not in order, order
        assert stack.last_state(request["arn"]) == "Compensated"
        _finalized_by(stack, request["arn"], order)
    else:  # refused: the order stays COMPLETED with its money and goods, the refusal is on the order
        refusal = order.get("refundRefusal")
        assert refusal and refusal["by"] == f"refund:{event_id}" and "COMPLETED" in refusal["reason"], order
        assert refusal["at"] >= order["statusHistory"][-1]["at"], (refusal, order["statusHistory"])
        assert stack.last_state(request["arn"]) == "RefundRefused"
        assert stack.output(request["arn"])["refused"] == refusal["reason"]
        _finalized_by(stack, stack.executions_for(sub.order_id)[0]["arn"], order)


# --- (c) customer DELETE at several points of the saga ------------------------------------------------------------
@pytest.mark.parametrize("trigger", TRIGGERS)
def test_cancel_races_the_saga(stack, scenario, trigger):
    product, payload = _order(stack, f"cancel-{trigger}")
    token = stack.token(payload["customerId"])
    sub = stack.submit(payload, label=f"DELETE {trigger}")
    accepted = time.monotonic()
    scenario.track(sub)
    seen = _provoke(stack, sub, accepted, trigger)
    resp = stack.api.cancel_order(sub.order_id, token=token)
    assert resp.status in (202, 409), resp

    _settle(stack, scenario, sub)
    order = stack.order(sub.order_id, sub.customer_id)
    status = assert_consistent(stack, sub, product, order)
    scenario.note(f"DELETE {trigger} (order seen {seen} just before): {resp.status} -> {status}")
    if resp.status == 202:
        assert resp.json == {"orderId": sub.order_id, "status": "CANCELLED"}, resp
        assert status == "CANCELLED" and order["claim"]["by"] == f"cancel:{sub.order_id}", order
        [compensation] = stack.wait_executions(sub.order_id, key="payment-processing")
        assert compensation["status"] == "SUCCEEDED" and stack.last_state(compensation["arn"]) == "Compensated"
        _finalized_by(stack, compensation["arn"], order)
        again = stack.api.cancel_order(sub.order_id, token=token)  # the same cancel again: the same answer
        assert again.status == 202 and again.json == resp.json, again
    else:  # too late: COMPLETED under the execution's claim, nothing published, nothing given back
        assert status == "COMPLETED" and (resp.json or {}).get("message"), (resp, order)
        assert not stack.executions_for(sub.order_id, "payment-processing"), "a refused DELETE publishes nothing"
        _finalized_by(stack, order["executionId"], order)
