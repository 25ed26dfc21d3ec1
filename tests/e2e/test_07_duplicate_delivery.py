"""The same "Order Created" event delivered three more times: twice re-put with the identical detail while the first
execution runs, once replayed from the archive (scripts/replay.py) after it finished.

Expected: one charge (the payments row, its paymentId unchanged), one reservation, stock taken once, one
order-completed notification (its S3 object not rewritten), a statusHistory without repeats. One execution owns the
order (its `executionId`, set by the first state, OwnOrder) and ends in OrderFinished; every other execution of the
same order fails OwnOrder's condition and ends at once in DuplicateExecution, invoking no Lambda (OwnOrder is a
DynamoDB task).
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from scripts import replay
from scripts.api_client import order_payload
from scripts.order_timeline import HAPPY_PATH, history_statuses
from scripts.polling import wait_until
from scripts.timeutil import utcnow


@pytest.mark.express
def test_duplicate_delivery(stack, scenario):
    product = stack.name("dup")
    stack.set_stock(product, 10, price="7.50")
    window_start = utcnow() - timedelta(seconds=2)  # MiniStack stores event times in whole seconds
    archived = replay.archive_event_count(stack.env)
    sub = stack.submit(order_payload(stack.name("c-dup"), [(product, 3, "7.50")]), label="delivered 4 times")
    scenario.track(sub)

    # the event exactly as the bus delivered it: the first execution's input
    [first] = stack.wait_executions(sub.order_id, terminal=False)
    event = json.loads(first["input"])
    assert event["detail-type"] == "Order Created" and event["detail"]["orderId"] == sub.order_id, event
    for _ in range(2):
        stack.put_event(event["source"], event["detail-type"], event["detail"])
    stack.wait_executions(sub.order_id, count=3)
    order = stack.wait_terminal(scenario, [sub])[sub.order_id]
    assert order["status"] == "COMPLETED", order
    payment = stack.payment(sub.order_id)
    completed = stack.wait_notification(sub.order_id, "order-completed")

    # and once more from the archive: every event of this short window (other rules' consumers are idempotent too).
    # AWS archives with a delay: wait until the archive holds at least the three Order Created puts (its count grows
    # by every event on the bus; ours are among them), then replay; AWS replays in one-minute slices, so a replay
    # that still finds nothing is repeated.
    scenario.note(
        f"archive: {archived} events before, {replay.wait_archived(stack.env, archived + 3)} before the replay"
    )
    rule = stack.rule_for("Order Created", stack.sm_arn("order-processing"))
    executions = []
    for attempt in range(1 if stack.local else 4):
        window_end = utcnow() + timedelta(seconds=1)
        result = replay.replay(stack.env, window_start, window_end, filter_arns=[rule["Arn"]], quiet=True)
        scenario.note(f"replay {result['name']}: {result['state']} in {result['seconds']}s, window {result['window']}")
        try:
            executions = stack.wait_executions(sub.order_id, count=4, timeout=60 if stack.local else 180)
            break
        except TimeoutError:
            if stack.local or attempt == 3:
                raise
    scenario.note(f"{len(executions)} executions for one order")

    # exactly-once effects
    final = stack.order(sub.order_id, sub.customer_id)
    assert history_statuses(final) == list(HAPPY_PATH), final["statusHistory"]
    assert stack.payment(sub.order_id) == payment, "the charge must not change"
    assert payment["status"] == "PAID"
    [entry] = stack.ledger(sub.order_id)  # one authorization at the gateway, under the payment's idempotency key
    assert entry["status"] == "AUTHORIZED" and entry["paymentId"] == payment["paymentId"], entry
    assert entry["amount"] == payment["amount"] == Decimal("22.50"), entry
    assert stack.reservation(sub.order_id)["status"] == "RESERVED"
    assert stack.stock(product) == 7
    assert stack.notification(sub.order_id, "order-completed") == completed, "the notification was written again"
    done = [e for e in executions if e["status"] == "SUCCEEDED"]
    assert len(done) == len(executions), [(e["name"], e["status"]) for e in executions]
    exits = {ex["arn"]: stack.last_state(ex["arn"]) for ex in executions}
    assert list(exits.values()).count("OrderFinished") == 1, exits
    owner = next(arn for arn, last in exits.items() if last == "OrderFinished")
    assert final["executionId"] == owner, (final["executionId"], exits)
    for arn, last in exits.items():
        if arn != owner:
            assert last == "DuplicateExecution", exits
            # OwnOrder is a DynamoDB task, no Lambda: a duplicate invokes no function at all; its one task is the
            # ownership write, refused by its condition (caught at once, not retried)
            assert stack.top_level_calls(arn) == [], f"a duplicate execution did more than OwnOrder: {arn}"
            tasks = [(t["state"], t["outcome"], t["error"]) for t in stack.summary(arn)["tasks"]]
            assert tasks == [("OwnOrder", "FAILED", "DynamoDB.ConditionalCheckFailedException")], (arn, tasks)
    assert stack.outbox(sub.order_id) == [] and stack.workflow_notifications(sub.order_id) == ["order-completed"]
    exits = list(exits.values())
    scenario.note("execution exits: " + ", ".join(str(e) for e in exits))
    wait_until(lambda: stack.notification(sub.order_id, "order-completed") == completed, 5, "notification unchanged")
