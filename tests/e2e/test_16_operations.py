"""Operators' tools against the deployed stack (docs/operations.md): `invoke dlq` lists, shows and redrives the
dead-letter queues; `invoke redrive-execution` redrives a failed execution where the cloud can, and restarts it
with the same input otherwise.

The DLQ test dead-letters a real failure (an asynchronous `notify` invoke the notification Lambda rejects on every
attempt, as in test_11) and shows it decoded; it then redrives a healthy `notify` request put in the same queue in the
format AWS writes to a Lambda DLQ (the event as the body, RequestID/ErrorCode/ErrorMessage attributes) and checks the
effect: the notification written to S3 exactly once, and the message gone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from scripts import dlq, executions
from scripts.common import UserError
from scripts.polling import wait_until


def _mine(letter, marker: str) -> bool:
    """The dead letter is the test's own `notify` request (its order's customerId or orderId is `marker`)."""
    order = letter.payload.get("order") if isinstance(letter.payload, dict) else None
    return isinstance(order, dict) and marker in (order.get("customerId"), order.get("orderId"))


def _take(sqs, url: str, event_id: str) -> None:
    """Delete the message carrying `event_id` (the test's own poison's marker), wherever SQS hands it out."""

    def deleted() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5).get(
            "Messages", []
        ):
            if event_id in message["Body"]:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                return True
        return False

    wait_until(deleted, 30, f"the poison {event_id} received for deletion")


def test_dlq_shows_a_dead_lettered_invoke_and_redrives_a_healthy_message_once(stack, scenario):
    url = stack.outputs["dlq_urls"]["lambda-notification"]
    sqs = stack.client("sqs")
    function = stack.outputs["function_names"]["notification"]
    poison_id = stack.name("dlq-poison")
    poison = {
        "action": "notify",
        "type": "order-failed",
        "order": {"orderId": "not a valid id!", "customerId": poison_id},
    }
    assert (
        stack.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(poison))[
            "StatusCode"
        ]
        == 202
    )

    timeout = 60 if stack.local else 420  # AWS retries an async invoke after ~1 and ~2 more minutes
    [letter] = wait_until(
        lambda: [m for m in dlq.peek(sqs, url, 10) if _mine(m, poison_id)],
        timeout,
        "the poisoned invoke in the lambda-notification DLQ",
    )
    assert letter.payload == poison
    assert letter.error, "the DLQ message names the failure"
    rows = {row["queue"]: row for row in dlq.queue_rows(stack.outputs, sqs, datetime.now(UTC))}
    assert set(rows) == set(stack.outputs["dlq_urls"])
    assert rows["lambda-notification"]["depth"] >= 1
    assert rows["lambda-notification"]["target"] == f"lambda {function}"
    assert rows["lambda-notification"]["oldestAgeSeconds"] is not None
    scenario.note(f"dlq list: lambda-notification depth {rows['lambda-notification']['depth']}; show: {letter.error}")
    _take(sqs, url, poison_id)

    order_id, request = stack.dead_letter_a_healthy_event("dlq-e2e")

    summary = dlq.run(stack.env, "redrive", "lambda-notification")

    mine = [d for d in summary["delivered"] if d["outcome"] == f"invoked {function} (async)"]
    assert mine and not summary["failed"]
    key = f"notifications/{order_id}/payment-declined.json"
    bucket = stack.outputs["notifications_bucket"]
    wait_until(
        lambda: stack.client("s3").list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"), 60, f"{key} written"
    )
    stored = json.loads(stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert (stored["orderId"], stored["customerId"], stored["type"], stored["details"]) == (
        order_id,
        "dlq-e2e",
        "payment-declined",
        request["details"],
    )
    assert stack.notification_keys(order_id) == [key]  # delivered once
    assert not [m for m in dlq.peek(sqs, url, 10) if _mine(m, order_id)]
    scenario.note(f"dlq redrive: {len(summary['delivered'])} delivered; {key} written once")


def test_redrive_execution_redrives_or_restarts_a_stopped_execution(stack, scenario):
    """An order-processing execution started with an input it cannot work on, stopped at once (ABORTED, which Step
    Functions redrives like FAILED). AWS redrives it; the local cloud has no RedriveExecution (tests/emulator guard),
    so the task says to restart, and --restart starts the same machine with the same input as <name>-restart-1."""
    if stack.order_workflow_type == "EXPRESS" and not stack.local:
        pytest.skip("AWS serves StopExecution, DescribeExecution and RedriveExecution for Standard executions only")
    sfn = stack.client("stepfunctions")
    machine = stack.outputs["state_machine_arns"]["order-processing"]
    name = stack.name("redrive")[:60]
    stopped_arn = sfn.start_execution(stateMachineArn=machine, name=name, input='{"not": "an event"}')["executionArn"]
    sfn.stop_execution(executionArn=stopped_arn, error="e2e", cause="stopped to be redriven")
    wait_until(
        lambda: sfn.describe_execution(executionArn=stopped_arn)["status"] == "ABORTED", 30, f"{name} to be aborted"
    )

    if stack.local:
        with pytest.raises(UserError, match="^This cloud does not implement RedriveExecution: run it again with"):
            executions.run(stack.env, stopped_arn)
    else:
        assert executions.run(stack.env, stopped_arn)["action"] == "redriven"
        sfn.stop_execution(executionArn=stopped_arn, error="e2e", cause="redriven; stopped again")

    restarted = executions.run(stack.env, stopped_arn, restart=True)

    try:
        described = sfn.describe_execution(executionArn=restarted["executionArn"])
        assert (described["name"], described["stateMachineArn"], json.loads(described["input"])) == (
            f"{name}-restart-1",
            machine,
            {"not": "an event"},
        )
    finally:
        sfn.stop_execution(executionArn=restarted["executionArn"], error="e2e", cause="restart checked")
    scenario.note(
        f"redrive-execution: {'unsupported locally; ' if stack.local else ''}restarted as {described['name']}"
    )


def test_logs_show_the_orders_lines_of_a_service_and_its_workflow(stack, scenario):
    """An order placed here: `invoke logs payment --order ID` prints the payment Lambda's structured lines of that
    order (and none of another); `invoke logs order-processing --order ID` prints its execution, from the history
    API where the cloud writes no execution logs (the local emulator)."""
    from scripts import logs

    product = stack.name("ops-logs")
    stack.set_stock(product, 5, price="10.00")
    sub = stack.submit({"customerId": stack.name("ops-customer"), "items": [{"productId": product, "quantity": 1}]})
    scenario.track(sub)
    assert stack.wait_terminal(scenario, [sub])[sub.order_id]["status"] == "COMPLETED"

    def payment_lines() -> list[str]:
        lines: list[str] = []
        logs.run(stack.env, "payment", order_id=sub.order_id, since="15m", say=lines.append)
        return [line for line in lines if f"orderId={sub.order_id}" in line]

    lines = wait_until(payment_lines, 60, f"payment log lines of {sub.order_id}")
    assert all(" [payment] " in line for line in lines), lines  # POWERTOOLS_SERVICE_NAME of the payment Lambda
    workflow: list[str] = []
    logs.run(stack.env, "order-processing", order_id=sub.order_id, since="15m", say=workflow.append)
    executions = [line for line in workflow if " SUCCEEDED: " in line]
    assert len(executions) == 1, workflow
    assert executions[0].split(": ", 1)[1].startswith("OwnOrder > "), executions[0]
    if stack.local:
        assert workflow[0].startswith("The order-processing workflow wrote no execution logs"), workflow[0]
    scenario.note(f"logs: {len(lines)} payment line(s) of the order; workflow: {executions[0]}")


def test_trace_shows_the_orders_api_request_events_states_and_notifications(stack, scenario):
    """`invoke trace ORDER_ID`: the timeline of an order placed here holds its API request, the Order Created event
    that started order-processing, the states it entered, the payment and reservation rows and the notification;
    in time order. An unknown id is one sentence."""
    from scripts import trace as order_trace

    product = stack.name("ops-trace")
    stack.set_stock(product, 5, price="10.00")
    sub = stack.submit({"customerId": stack.name("ops-trace-c"), "items": [{"productId": product, "quantity": 2}]})
    scenario.track(sub)
    assert stack.wait_terminal(scenario, [sub])[sub.order_id]["status"] == "COMPLETED"
    stack.wait_notification(sub.order_id, "order-completed")

    def complete_trace() -> dict | None:
        found = order_trace.run(stack.env, sub.order_id, as_json=True)
        kinds = {e["kind"] for e in found["entries"]}
        return found if {"api", "event", "state", "notification", "payment", "reservation"} <= kinds else None

    trace = wait_until(complete_trace, 60, f"a trace of {sub.order_id} with every kind of entry")
    whats = [(e["kind"], e["what"]) for e in trace["entries"]]
    assert ("api", "POST /orders -> 201 (order created, total 20.00)") in whats, whats
    assert any(k == "event" and w.startswith("Order Created -> started order-processing") for k, w in whats), whats
    assert ("state", "OwnOrder entered (Task)") in whats, whats
    assert any(k == "status" and w.startswith("COMPLETED") for k, w in whats), whats
    assert ("notification", f"notifications/{sub.order_id}/order-completed.json") in whats, whats
    assert any(k == "payment" and w.startswith("PAID 20.00 ") for k, w in whats), whats
    assert ("reservation", f"RESERVED: {product} x2") in whats, whats
    assert [e["at"] for e in trace["entries"]] == sorted(e["at"] for e in trace["entries"])
    scenario.note(f"trace of {sub.order_id}: {len(trace['entries'])} entries, kinds {sorted({k for k, _ in whats})}")

    unknown = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(UserError, match=f"^There is no order {unknown} in .*: use the orderId that POST /orders"):
        order_trace.run(stack.env, unknown)


def test_watch_follows_an_order_to_its_end_and_counts_it(stack, scenario, capsys):
    """`invoke watch --order ID` prints the order's status changes to its terminal status; `invoke watch --once`
    counts it among the terminal orders and no longer lists it in flight."""
    from scripts import watch

    product = stack.name("ops-watch")
    stack.set_stock(product, 5, price="10.00")
    sub = stack.submit({"customerId": stack.name("ops-watch-c"), "items": [{"productId": product, "quantity": 1}]})
    scenario.track(sub)

    assert watch.run(stack.env, order_id=sub.order_id, interval=0.2) == "COMPLETED"
    printed = capsys.readouterr().out.splitlines()
    assert [line.split("  ", 1)[1].split(" (")[0] for line in printed[:-1]] == [
        "PENDING",
        "PAID",
        "INVENTORY_RESERVED",
        "COMPLETED",
    ]
    assert printed[-1] == f"order {sub.order_id} is COMPLETED."

    view = watch.run(stack.env, once=True)
    assert view.counts["COMPLETED"] >= 1
    assert sub.order_id not in {o["orderId"] for o in view.in_flight}
    scenario.note(f"watch: {sum(view.counts.values())} orders counted, {len(view.in_flight)} in flight")
