"""`invoke dlq` (scripts/dlq.py): decoding each DLQ format, the input transformer, and redrive delivering every
message once, to its own target, deleting it only after the target accepted it. SQS, Step Functions and the bus are
moto's; the Lambda client is a recorder (moto would need Docker to run a function)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from scripts import dlq
from scripts.common import UserError

ORDER_CREATED = {
    "version": "0",
    "id": "7f6c3a0e-0000-4000-8000-000000000001",
    "detail-type": "Order Created",
    "source": "orderflow.orders",
    "account": "123456789012",
    "time": "2026-12-06T10:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"orderId": "o-1", "customerId": "alice"},
}
#: The local-cloud-only sweep rule's transformer (terraform/main.tf, scheduler_event_fallback).
COMPAT_TRANSFORMER = {
    "input_paths": {"id": "$.id", "time": "$.time", "account": "$.account", "region": "$.region"},
    "input_template": '{"version":"0","id":<id>,"detail-type":"Stale Order Sweep Requested",'
    '"source":"orderflow.scheduler","account":<account>,"time":<time>,"region":<region>,"resources":[],"detail":{}}',
}


class RecordingLambda:
    def __init__(self, status: int = 202) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = status

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append({**kwargs, "Payload": json.loads(kwargs["Payload"])})
        return {"StatusCode": self.status}


@pytest.fixture
def queue(cloud):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=f"dlq-test-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    yield sqs, url
    sqs.delete_queue(QueueUrl=url)


def send(sqs, url, body: Any, **attributes: str) -> str:
    return sqs.send_message(
        QueueUrl=url,
        MessageBody=body if isinstance(body, str) else json.dumps(body),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )["MessageId"]


def depth(sqs, url) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def received(sqs, url) -> dict[str, Any]:
    [message] = sqs.receive_message(
        QueueUrl=url, VisibilityTimeout=0, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    return message


# --- decoding -----------------------------------------------------------------------------------------------------


def test_a_lambda_dlq_message_is_the_event_with_the_error_attributes(queue):
    sqs, url = queue
    message_id = send(sqs, url, ORDER_CREATED, RequestID="req-1", ErrorCode="200", ErrorMessage="boom")
    letter = dlq.decode(received(sqs, url))
    assert (letter.message_id, letter.payload, letter.error, letter.error_message, letter.attempts) == (
        message_id,
        ORDER_CREATED,
        "200",
        "boom",
        None,
    )
    assert letter.attributes == {"RequestID": "req-1", "ErrorCode": "200", "ErrorMessage": "boom"}
    assert letter.sent_at is not None and letter.sent_at.tzinfo is UTC


def test_an_eventbridge_dlq_message_names_its_error_and_attempts(queue):
    sqs, url = queue
    send(
        sqs,
        url,
        ORDER_CREATED,
        ERROR_CODE="SDK_CLIENT_ERROR",
        ERROR_MESSAGE="Unable to invoke",
        RETRY_ATTEMPTS="185",
        RULE_ARN="arn:aws:events:us-east-1:123456789012:rule/orderflow-dev-bus/orderflow-dev-order-created",
    )
    letter = dlq.decode(received(sqs, url))
    assert (letter.payload, letter.error, letter.error_message, letter.attempts) == (
        ORDER_CREATED,
        "SDK_CLIENT_ERROR",
        "Unable to invoke",
        185,
    )


def test_an_on_failure_record_is_unwrapped_to_the_request_payload(queue):
    """The record a Lambda on-failure destination gets (and what MiniStack 1.5.33 writes to a function's DLQ)."""
    sqs, url = queue
    record = {
        "requestContext": {
            "functionArn": "arn:...:notification",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": ORDER_CREATED,
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "UnsupportedEvent", "errorMessage": "unsupported detail-type"},
    }
    send(sqs, url, record)
    letter = dlq.decode(received(sqs, url))
    assert (letter.payload, letter.error, letter.error_message, letter.attempts) == (
        ORDER_CREATED,
        "UnsupportedEvent",
        "unsupported detail-type",
        3,
    )


def test_a_body_that_is_not_json_is_kept_as_text(queue):
    sqs, url = queue
    send(sqs, url, "not json {")
    assert dlq.decode(received(sqs, url)).payload == "not json {"


# --- the input transformer ----------------------------------------------------------------------------------------


def test_the_compat_transformer_builds_the_contract_sweep_event():
    scheduled = {"id": "e-1", "time": "2026-12-06T10:00:00Z", "account": "000000000000", "region": "us-east-1"}
    assert json.loads(dlq.transform(scheduled, COMPAT_TRANSFORMER)) == {
        "version": "0",
        "id": "e-1",
        "detail-type": "Stale Order Sweep Requested",
        "source": "orderflow.scheduler",
        "account": "000000000000",
        "time": "2026-12-06T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def test_a_quoted_placeholder_takes_the_text_and_a_bare_one_the_json():
    transformer = {
        "input_paths": {"order": "$.detail.orderId", "detail": "$.detail", "missing": "$.detail.nothing"},
        "input_template": '{"message": "order <order> failed", "id": "<order>", "d": <detail>, "m": <missing>}',
    }
    assert json.loads(dlq.transform(ORDER_CREATED, transformer)) == {
        "message": "order o-1 failed",
        "id": "o-1",
        "d": {"orderId": "o-1", "customerId": "alice"},
        "m": None,
    }


def test_without_a_transformer_the_input_is_the_event():
    assert json.loads(dlq.transform(ORDER_CREATED, None)) == ORDER_CREATED


# --- redrive --------------------------------------------------------------------------------------------------------


def test_redrive_to_a_function_invokes_it_async_with_each_payload_once_then_empties_the_queue(queue):
    sqs, url = queue
    payloads = [{**ORDER_CREATED, "id": f"event-{n}"} for n in range(12)]
    for payload in payloads:
        send(sqs, url, payload, ErrorCode="200", ErrorMessage="boom")
    functions = RecordingLambda()
    source = dlq.Source(kind="lambda", arn="arn:aws:lambda:us-east-1:123456789012:function:orderflow-dev-notification")

    result = dlq.redrive(sqs, url, dlq.Delivery(source, {"lambda": functions}.__getitem__))

    assert sorted(call["Payload"]["id"] for call in functions.calls) == sorted(f"event-{n}" for n in range(12))
    assert {(c["FunctionName"], c["InvocationType"]) for c in functions.calls} == {(source.arn, "Event")}
    assert (len(result.delivered), result.failed, result.repeats_deleted) == (12, [], 0)
    assert depth(sqs, url) == (0, 0)


def test_redrive_stops_after_max_messages(queue):
    sqs, url = queue
    for n in range(5):
        send(sqs, url, {"n": n})
    functions = RecordingLambda()
    source = dlq.Source(kind="lambda", arn="arn:aws:lambda:us-east-1:123456789012:function:f")
    result = dlq.redrive(sqs, url, dlq.Delivery(source, {"lambda": functions}.__getitem__), max_messages=2)
    assert (len(result.delivered), len(functions.calls)) == (2, 2)
    assert depth(sqs, url) == (3, 0)


def test_a_message_whose_delivery_fails_stays_in_the_queue_and_is_reported(queue):
    sqs, url = queue
    good = send(sqs, url, {"n": 1})
    bad = send(sqs, url, {"n": 2})

    def deliver(letter):
        if letter.message_id == bad:
            raise RuntimeError("throttled")
        return "ok"

    result = dlq.redrive(sqs, url, deliver)

    assert [d["messageId"] for d in result.delivered] == [good]
    assert result.failed == [{"messageId": bad, "error": "RuntimeError: throttled"}]
    assert depth(sqs, url) == (0, 1)  # invisible for REDRIVE_VISIBILITY_SECONDS, not deleted


def test_a_message_seen_again_after_a_lost_delete_is_deleted_without_a_second_delivery(queue, monkeypatch):
    sqs, url = queue
    message_id = send(sqs, url, {"n": 1})
    monkeypatch.setattr(dlq, "REDRIVE_VISIBILITY_SECONDS", 0)  # a lost delete: the message is back at once

    class LosesTheFirstDelete:
        lost = False

        def __getattr__(self, name):
            return getattr(sqs, name)

        def delete_message(self, **kwargs):
            if not self.lost:
                self.lost = True
                return {}
            return sqs.delete_message(**kwargs)

    deliveries = []
    result = dlq.redrive(LosesTheFirstDelete(), url, lambda letter: deliveries.append(letter.message_id) or "ok")

    assert deliveries == [message_id]
    assert (len(result.delivered), result.repeats_deleted) == (1, 1)
    assert depth(sqs, url) == (0, 0)


def test_a_non_202_async_invoke_is_a_failed_delivery(queue):
    sqs, url = queue
    send(sqs, url, {"n": 1})
    source = dlq.Source(kind="lambda", arn="arn:aws:lambda:us-east-1:123456789012:function:f")
    result = dlq.redrive(sqs, url, dlq.Delivery(source, {"lambda": RecordingLambda(status=200)}.__getitem__))
    assert [f["error"] for f in result.failed] == ["RuntimeError: the async invoke answered 200, not 202"]


def test_redrive_to_a_workflow_starts_one_execution_named_after_the_message(queue):
    sqs, url = queue
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=f"dlq-test-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    message_id = send(sqs, url, ORDER_CREATED, ERROR_CODE="SDK_CLIENT_ERROR")
    delivery = dlq.Delivery(dlq.Source(kind="state_machine", arn=machine), boto3.client)
    letter = dlq.decode(received(sqs, url))

    first, again = delivery(letter), delivery(letter)

    [execution] = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert execution["name"] == f"redrive-{message_id}"
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == ORDER_CREATED
    # Step Functions answers a repeated start of a running execution (same name and input) with the same execution
    assert first == again == f"started {machine.rsplit(':', 1)[-1]}:redrive-{message_id}"


def test_redrive_of_the_schedules_put_puts_the_detail_with_the_schedules_source(queue, cloud):
    sqs, url = queue
    send(sqs, url, {"olderThanMinutes": None}, ERROR_CODE="AWS.Scheduler.InternalServerError")
    bus_arn = boto3.client("events").describe_event_bus(Name="orderflow-test-bus")["Arn"]
    source = dlq.Source(
        kind="event_bus", arn=bus_arn, event_source="orderflow.scheduler", detail_type="Stale Order Sweep Requested"
    )

    result = dlq.redrive(sqs, url, dlq.Delivery(source, boto3.client))

    [event] = cloud.events("Stale Order Sweep Requested")
    assert (event["source"], event["detail"]) == ("orderflow.scheduler", {"olderThanMinutes": None})
    assert [d["outcome"] for d in result.delivered] == ["put Stale Order Sweep Requested on orderflow-test-bus"]
    assert depth(sqs, url) == (0, 0)


def test_redrive_of_a_replicated_event_puts_the_whole_event_back_as_it_was(queue, cloud):
    sqs, url = queue
    send(sqs, url, ORDER_CREATED)
    bus_arn = boto3.client("events").describe_event_bus(Name="orderflow-test-bus")["Arn"]
    dlq.redrive(sqs, url, dlq.Delivery(dlq.Source(kind="event_bus", arn=bus_arn), boto3.client))
    [event] = cloud.events("Order Created")
    assert (event["source"], event["detail"]) == ("orderflow.orders", ORDER_CREATED["detail"])


# --- list and the outputs -------------------------------------------------------------------------------------------


def outputs_for(url: str, **source: Any) -> dict[str, Any]:
    return {
        "dlq_urls": {"lambda-payment": url},
        "dlq_sources": {
            "lambda-payment": {
                "kind": "lambda",
                "arn": "arn:aws:lambda:us-east-1:123456789012:function:orderflow-dev-payment",
                "input_transformer": None,
                "event_source": None,
                "detail_type": None,
                **source,
            }
        },
    }


def test_list_counts_each_queue_and_ages_its_oldest_message(queue):
    sqs, url = queue
    send(sqs, url, {"n": 1})
    send(sqs, url, {"n": 2})
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"])
    oldest_ms = min(int(m["Attributes"]["SentTimestamp"]) for m in messages["Messages"])
    now = datetime.fromtimestamp(oldest_ms / 1000, UTC) + timedelta(seconds=90)

    [row] = dlq.queue_rows(outputs_for(url), sqs, now=now)

    assert row == {
        "queue": "lambda-payment",
        "depth": 2,
        "inFlight": 0,
        "oldestAgeSeconds": 90,
        "target": "lambda orderflow-dev-payment",
    }
    lines = dlq.list_text([row, {**row, "queue": "events-notifications", "depth": 0, "oldestAgeSeconds": None}])
    assert lines.splitlines() == [
        "queue                 depth  in flight  oldest  redrives to",
        "lambda-payment        2      0          1m      lambda orderflow-dev-payment",
        "events-notifications  0      0          -       lambda orderflow-dev-payment",
        "2 message(s) in 1 of 2 queue(s).",
    ]


def test_an_unknown_queue_names_the_known_ones():
    with pytest.raises(UserError, match=r"^There is no dead-letter queue 'nope': choose one of a, b\.$"):
        dlq.queue_url({"dlq_urls": {"b": "u", "a": "u"}}, "nope")


def test_outputs_without_dlq_sources_ask_for_a_deploy():
    with pytest.raises(UserError, match="run `invoke deploy --env <env>`"):
        dlq.sources({"dlq_urls": {}})
