"""The scheduled stale-order sweep expires stale orders and releases their stock.

Deterministic stale orders: with the "Order Created" rule disabled, one order stays PENDING and a second is moved to
INVENTORY_RESERVED by invoking the payment and inventory Lambdas with the workflow's task contracts; both then get an
`updatedAt` three hours in the past (the only field the test writes: the sweep's Live-Index sorts on it; its hash
key `liveShard` = `live#<sha256(orderId) mod 16>` is the order service's, present while the order is live and gone
once it is EXPIRED). The sweep event
is put on the bus exactly as the scheduler's target does (source orderflow.scheduler, "Stale Order Sweep Requested",
detail {"olderThanMinutes": 120}). The Scheduler schedule itself is checked with scheduler.get_schedule.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from scripts.api_client import order_payload
from scripts.polling import wait_until
from scripts.timeutil import iso, parse_ts, utcnow

SWEEP_MINUTES = 120


def test_schedule_exists(stack, scenario):
    scheduler = stack.client("scheduler")
    prefix = f"orderflow-{stack.env}-"
    names = [s["Name"] for s in scheduler.list_schedules(NamePrefix=prefix).get("Schedules", [])]
    sweeps = [n for n in names if "sweep" in n]
    assert sweeps, f"no sweep schedule among {names}"
    schedule = scheduler.get_schedule(Name=sweeps[0])
    target = schedule["Target"]
    assert schedule["State"] == "ENABLED", schedule
    assert schedule["ScheduleExpression"].startswith(("rate(", "cron(")), schedule["ScheduleExpression"]
    assert target["Arn"] == stack.outputs["event_bus_arn"], target
    params = target.get("EventBridgeParameters", {})
    assert (
        params.get("Source") == "orderflow.scheduler" and params.get("DetailType") == "Stale Order Sweep Requested"
    ), target
    assert target.get("DeadLetterConfig", {}).get("Arn"), "the schedule should dead-letter failed deliveries"
    scenario.note(
        f"schedule {schedule['Name']}: {schedule['ScheduleExpression']} -> {target['Arn'].rsplit('/', 1)[-1]}"
    )


@pytest.mark.express
def test_stale_order_sweep(stack, scenario):
    product = stack.name("stale")
    stack.set_stock(product, 10, price="3.00")
    with stack.rule_disabled("Order Created", stack.sm_arn("order-processing")):
        pending = stack.submit(
            order_payload(stack.name("c-stale-pending"), [(product, 1, "3.00")]), label="stale PENDING"
        )
        reserved = stack.submit(
            order_payload(stack.name("c-stale-reserved"), [(product, 2, "3.00")]), label="stale INVENTORY_RESERVED"
        )
        assert (
            stack.invoke("payment", {"action": "charge", "order": stack.task_order(reserved), "attempt": 0})["status"]
            == "PAID"
        )
        assert (
            stack.invoke("inventory", {"action": "reserve", "order": stack.task_order(reserved)})["status"]
            == "RESERVED"
        )
    subs = [pending, reserved]
    scenario.track(*subs)
    assert stack.stock(product) == 8

    old = iso(utcnow() - timedelta(hours=3))
    for sub, status in ((pending, "PENDING"), (reserved, "INVENTORY_RESERVED")):
        stack.ddb.update_item(
            TableName=stack.outputs["orders_table_name"],
            Key={"orderId": {"S": sub.order_id}, "customerId": {"S": sub.customer_id}},
            UpdateExpression="SET updatedAt = :old",
            ConditionExpression="#s = :status",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":old": {"S": old}, ":status": {"S": status}},
        )

        shard = f"live#{int(hashlib.sha256(sub.order_id.encode()).hexdigest(), 16) % 16}"
        stored = stack.ddb.get_item(
            TableName=stack.outputs["orders_table_name"],
            ConsistentRead=True,
            Key={"orderId": {"S": sub.order_id}, "customerId": {"S": sub.customer_id}},
        )
        assert stored["Item"]["liveShard"] == {"S": shard}, stored["Item"].get("liveShard")

        def indexed(sub=sub, shard=shard) -> bool:  # the GSI is eventually consistent on AWS
            items = stack.ddb.query(
                TableName=stack.outputs["orders_table_name"],
                IndexName="Live-Index",
                KeyConditionExpression="liveShard = :shard AND updatedAt = :old",
                ExpressionAttributeValues={":shard": {"S": shard}, ":old": {"S": old}},
            )["Items"]
            return any(i["orderId"]["S"] == sub.order_id for i in items)

        wait_until(indexed, 30, f"{sub.order_id} in Live-Index ({shard}) as a stale {status}")

    put_at = utcnow()
    stack.put_event("orderflow.scheduler", "Stale Order Sweep Requested", {"olderThanMinutes": SWEEP_MINUTES})
    final = stack.wait_terminal(scenario, subs)
    for sub in subs:
        assert final[sub.order_id]["status"] == "EXPIRED", final[sub.order_id]
        assert final[sub.order_id]["statusHistory"][-1]["status"] == "EXPIRED"
        stack.wait_notification(sub.order_id, "order-expired")
    wait_until(lambda: stack.stock(product) == 10, 30, "the expired reservation's stock back (10)")
    assert stack.reservation(reserved.order_id)["status"] == "RELEASED"
    assert stack.reservation(pending.order_id) is None
    payment = wait_until(
        lambda: (p := stack.payment(reserved.order_id)) and p["status"] == "REFUNDED" and p,
        30,
        "the expired order's refund",
    )
    assert payment.get("refundId")
    assert [e["status"] for e in stack.ledger(reserved.order_id)] == ["REFUNDED"]
    for sub in subs:
        assert final[sub.order_id]["claim"]["by"] == f"sweep:{sub.order_id}", final[sub.order_id]["claim"]
        assert "liveShard" not in final[sub.order_id], final[sub.order_id]  # left Live-Index with the claim
        wait_until(
            lambda sub=sub: stack.outbox(sub.order_id) == [], 30, f"the sweep's finalize duty of {sub.order_id} settled"
        )
        assert stack.workflow_notifications(sub.order_id) == ["order-expired"]
    # the PENDING order was never charged: its finalization closed the payment intent (a VOIDED row, amount 0), so a
    # charge arriving later charges nothing; the gateway never saw it
    voided = stack.payment(pending.order_id)
    assert voided and voided["status"] == "VOIDED" and voided["amount"] == 0, voided
    assert stack.ledger(pending.order_id) == []

    def sweep_execution():
        mine = [
            e
            for e in stack.executions("inventory-management", since=put_at - timedelta(seconds=2))
            if json.loads(e["input"] or "{}").get("detail", {}).get("olderThanMinutes") == SWEEP_MINUTES
            and (parse_ts(e["start"]) or put_at) >= put_at - timedelta(seconds=2)
        ]
        return mine if mine and all(e["status"] != "RUNNING" for e in mine) else None

    executions = wait_until(sweep_execution, 60, "the sweep's inventory-management execution")
    assert all(e["status"] == "SUCCEEDED" for e in executions), executions
    states = [s["name"] for s in stack.summary(executions[0]["arn"])["states"]]
    scenario.note(f"sweep execution {executions[0]['name']}: {' -> '.join(dict.fromkeys(states))}")
