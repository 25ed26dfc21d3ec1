"""Operators' tools against the deployed stack (docs/operations.md): `invoke dlq` lists, shows and redrives the
dead-letter queues; `invoke redrive-execution` redrives a failed execution where the cloud can, and restarts it
with the same input otherwise.

The DLQ test dead-letters a real failure (an asynchronous invoke the notification Lambda rejects on every attempt,
as in test_11) and shows it decoded; it then redrives a healthy message put in the same queue in the format AWS
writes to a Lambda DLQ (the event as the body, RequestID/ErrorCode/ErrorMessage attributes) and checks the effect:
the notification written to S3 exactly once, and the message gone.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from scripts import dlq, executions
from scripts.common import UserError
from scripts.polling import wait_until


def _event(stack, detail_type: str, detail: dict, event_id: str) -> dict:
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": "payment.service",
        "account": "000000000000",
        "time": "2026-12-06T10:00:00Z",
        "region": stack.outputs["region"],
        "resources": [],
        "detail": detail,
    }


def _take(sqs, url: str, event_id: str) -> None:
    """Delete the message carrying event `event_id` (the test's own poison), wherever SQS hands it out."""

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
    poison = _event(
        stack, "Payment Failed", {"orderId": "not a valid id!", "customerId": "c-1", "eventId": poison_id}, poison_id
    )
    assert (
        stack.client("lambda").invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(poison))[
            "StatusCode"
        ]
        == 202
    )

    timeout = 60 if stack.local else 420  # AWS retries an async invoke after ~1 and ~2 more minutes
    [letter] = wait_until(
        lambda: [m for m in dlq.peek(sqs, url, 10) if isinstance(m.payload, dict) and m.payload.get("id") == poison_id],
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

    order_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
    detail = {
        "eventId": event_id,
        "orderId": order_id,
        "customerId": "dlq-e2e",
        "paymentId": str(uuid.uuid4()),
        "amount": "12.50",
        "reason": "declined",
    }
    healthy = _event(stack, "Payment Failed", detail, event_id)
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(healthy),
        MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "String", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": "e2e: a failure that has since been fixed"},
        },
    )

    summary = dlq.run(stack.env, "redrive", "lambda-notification")

    mine = [d for d in summary["delivered"] if d["outcome"] == f"invoked {function} (async)"]
    assert mine and not summary["failed"]
    key = f"notifications/{order_id}/events/{event_id}.json"
    bucket = stack.outputs["notifications_bucket"]
    wait_until(
        lambda: stack.client("s3").list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"), 60, f"{key} written"
    )
    stored = json.loads(stack.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    assert (stored["orderId"], stored["eventId"], stored["type"], stored["detail"]) == (
        order_id,
        event_id,
        "Payment Failed",
        detail,
    )
    assert not [m for m in dlq.peek(sqs, url, 10) if isinstance(m.payload, dict) and m.payload.get("id") == event_id]
    scenario.note(f"dlq redrive: {len(summary['delivered'])} delivered; {key} written once")


def test_redrive_execution_redrives_or_restarts_a_failed_execution(stack, scenario):
    """An order-processing execution started with an input it cannot read fails at once. AWS redrives it; the local
    cloud has no RedriveExecution (tests/emulator guard), so the task says to restart, and --restart starts the
    same machine with the same input under the name <name>-restart-1."""
    sfn = stack.client("stepfunctions")
    machine = stack.outputs["state_machine_arns"]["order-processing"]
    name = stack.name("redrive")[:60]
    failed_arn = sfn.start_execution(stateMachineArn=machine, name=name, input='{"not": "an event"}')["executionArn"]
    wait_until(lambda: sfn.describe_execution(executionArn=failed_arn)["status"] == "FAILED", 60, f"{name} to fail")

    if stack.local:
        with pytest.raises(UserError, match="^This cloud does not implement RedriveExecution: run it again with"):
            executions.run(stack.env, failed_arn)
    else:
        assert executions.run(stack.env, failed_arn)["action"] == "redriven"

    restarted = executions.run(stack.env, failed_arn, restart=True)

    described = sfn.describe_execution(executionArn=restarted["executionArn"])
    assert (described["name"], described["stateMachineArn"], json.loads(described["input"])) == (
        f"{name}-restart-1",
        machine,
        {"not": "an event"},
    )
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
