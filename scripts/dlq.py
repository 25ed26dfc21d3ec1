"""`invoke dlq --env E [list | show QUEUE | redrive QUEUE]`: the stack's dead-letter queues.

Terraform names every DLQ (output `dlq_urls`) and where its messages were going (output `dlq_sources`): a function's
failed async invocation, a rule's undeliverable event (its target: a workflow or a function), the schedule's failed
put on the bus. `list` shows each queue's depth and the age of the oldest message seen; `show` decodes messages
without consuming them; `redrive` delivers each message again to exactly its source's target and deletes it only
after the target accepted it.

SQS `StartMessageMoveTask` moves messages back to a *source queue*; these DLQs have none (their sources are Lambda,
EventBridge and Scheduler), so redrive re-invokes / re-starts / re-puts instead. Each message is delivered once per
run: a message seen again (its delete was lost) is deleted without a second delivery, and a workflow start is named
after the message, so a repeated start of the same message is refused by Step Functions (ExecutionAlreadyExists). A
function's async invocation has no such key: consumers are idempotent (docs/architecture.md), which makes a rare
second delivery across runs harmless.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scripts.common import UserError

#: Seconds a message stays invisible to others while redrive delivers it: long enough for one delivery call.
REDRIVE_VISIBILITY_SECONDS = 60
#: Messages `show` decodes by default, and the most one `list` peeks at per queue for the oldest age.
SHOW_DEFAULT = 10
PEEK_MESSAGES = 10


@dataclass(frozen=True)
class Source:
    """Where a DLQ's messages were going (one entry of the `dlq_sources` output)."""

    kind: str  # "lambda" | "state_machine" | "event_bus"
    arn: str
    input_transformer: dict[str, Any] | None = None
    event_source: str | None = None
    detail_type: str | None = None


@dataclass
class DeadLetter:
    """One DLQ message, decoded: the payload that failed, and what the sender said about the failure."""

    message_id: str
    receipt_handle: str
    payload: Any
    sent_at: datetime | None
    error: str | None
    error_message: str | None
    attempts: int | None
    attributes: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "sentAt": self.sent_at.isoformat().replace("+00:00", "Z") if self.sent_at else None,
            "error": self.error,
            "errorMessage": self.error_message,
            "attempts": self.attempts,
            "attributes": self.attributes,
            "payload": self.payload,
        }


def sources(outputs: dict[str, Any]) -> dict[str, Source]:
    """DLQ key -> its Source, from the deploy's outputs."""
    raw = outputs.get("dlq_sources")
    if not isinstance(raw, dict):
        raise UserError("The deployed outputs have no dlq_sources: run `invoke deploy --env <env>` with this version.")
    return {key: Source(**value) for key, value in raw.items()}


def queue_url(outputs: dict[str, Any], key: str) -> str:
    urls = outputs.get("dlq_urls") or {}
    if key not in urls:
        raise UserError(f"There is no dead-letter queue '{key}': choose one of {', '.join(sorted(urls))}.")
    return urls[key]


def _attribute(message: dict[str, Any], *names: str) -> str | None:
    attributes = message.get("MessageAttributes") or {}
    for name in names:
        if name in attributes:
            return attributes[name].get("StringValue")
    return None


def decode(message: dict[str, Any]) -> DeadLetter:
    """An SQS message of any of the stack's DLQs: a Lambda DLQ (body = the event; RequestID/ErrorCode/ErrorMessage
    attributes), an EventBridge or Scheduler DLQ (body = the event or the schedule's input; ERROR_CODE,
    ERROR_MESSAGE, RETRY_ATTEMPTS attributes), or a Lambda on-failure record (body = {requestContext,
    requestPayload, responseContext, responsePayload}, which the local cloud writes to a Lambda DLQ)."""
    body = message.get("Body", "")
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = body
    error = _attribute(message, "ErrorCode", "ERROR_CODE")
    error_message = _attribute(message, "ErrorMessage", "ERROR_MESSAGE")
    attempts_text = _attribute(message, "RETRY_ATTEMPTS")
    attempts = int(attempts_text) if attempts_text and attempts_text.isdigit() else None
    if isinstance(payload, dict) and {"requestContext", "requestPayload"} <= payload.keys():
        record, payload = payload, payload["requestPayload"]
        response = record.get("responsePayload") if isinstance(record.get("responsePayload"), dict) else {}
        error = error or response.get("errorType") or (record.get("responseContext") or {}).get("functionError")
        error_message = error_message or response.get("errorMessage") or record["requestContext"].get("condition")
        attempts = attempts or record["requestContext"].get("approximateInvokeCount")
    sent = (message.get("Attributes") or {}).get("SentTimestamp")
    return DeadLetter(
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        payload=payload,
        sent_at=datetime.fromtimestamp(int(sent) / 1000, UTC) if sent else None,
        error=error,
        error_message=error_message,
        attempts=attempts,
        attributes={k: v.get("StringValue", "") for k, v in (message.get("MessageAttributes") or {}).items()},
    )


def _receive(sqs: Any, url: str, count: int, visibility: int) -> list[dict[str, Any]]:
    return sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(count, 10)),
        VisibilityTimeout=visibility,
        WaitTimeSeconds=0,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])


def peek(sqs: Any, url: str, count: int) -> list[DeadLetter]:
    """Up to `count` messages, left in the queue (visibility 0): SQS returns a sample, not an ordered prefix."""
    seen: dict[str, DeadLetter] = {}
    for _ in range(max(1, (count + 9) // 10)):
        batch = _receive(sqs, url, count - len(seen), visibility=0)
        new = [decode(m) for m in batch if m["MessageId"] not in seen]
        if not new:
            break
        seen.update((letter.message_id, letter) for letter in new)
        if len(seen) >= count:
            break
    return list(seen.values())[:count]


def queue_rows(outputs: dict[str, Any], sqs: Any, now: datetime) -> list[dict[str, Any]]:
    """One row per DLQ: key, depth (visible), in flight, the age in seconds of the oldest message seen, target."""
    targets = sources(outputs)
    rows = []
    for key, url in sorted((outputs.get("dlq_urls") or {}).items()):
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        depth = int(attributes.get("ApproximateNumberOfMessages", 0))
        sent = [letter.sent_at for letter in peek(sqs, url, PEEK_MESSAGES) if letter.sent_at] if depth else []
        target = targets.get(key)
        rows.append(
            {
                "queue": key,
                "depth": depth,
                "inFlight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                "oldestAgeSeconds": round((now - min(sent)).total_seconds()) if sent else None,
                "target": f"{target.kind} {target.arn.rsplit(':', 1)[-1].rsplit('/', 1)[-1]}" if target else "?",
            }
        )
    return rows


# --- delivery ---------------------------------------------------------------------------------------------------------


def _path_value(event: Any, path: str) -> Any:
    """The value at an input path of EventBridge's simple form `$.a.b` (None where it does not exist)."""
    if path == "$":
        return event
    value = event
    for part in path.removeprefix("$.").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def transform(event: Any, input_transformer: dict[str, Any] | None) -> str:
    """The target input EventBridge builds from `event` (InputTransformer): inside a JSON string a placeholder takes
    the value's text, outside one the value's JSON; without a transformer the input is the event itself."""
    if not input_transformer:
        return json.dumps(event)
    values = {name: _path_value(event, path) for name, path in (input_transformer.get("input_paths") or {}).items()}
    template, out, in_string, i = input_transformer["input_template"], [], False, 0
    while i < len(template):
        char = template[i]
        match = re.match(r"<([A-Za-z0-9_.-]+)>", template[i:]) if char == "<" else None
        if match and match.group(1) in values:
            value = values[match.group(1)]
            text = json.dumps(value if isinstance(value, str) else json.dumps(value)) if in_string else None
            out.append(text[1:-1] if text is not None else json.dumps(value))
            i += len(match.group(0))
            continue
        if in_string and char == "\\":
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        i += 1
    return "".join(out)


def execution_name(message_id: str) -> str:
    """A workflow start's name for one DLQ message: the same message cannot start two executions."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"redrive-{message_id}")[:80]


class Delivery:
    """Delivers a dead letter's payload to its source's target again; raises when the target does not accept it."""

    def __init__(self, source: Source, clients: Any) -> None:
        self.source = source
        self.clients = clients  # callable: service name -> boto3 client

    def __call__(self, letter: DeadLetter) -> str:
        kind = self.source.kind
        if kind == "lambda":
            response = self.clients("lambda").invoke(
                FunctionName=self.source.arn, InvocationType="Event", Payload=json.dumps(letter.payload).encode()
            )
            if response.get("StatusCode") != 202:
                raise RuntimeError(f"the async invoke answered {response.get('StatusCode')}, not 202")
            return f"invoked {self.source.arn.rsplit(':', 1)[-1]} (async)"
        if kind == "state_machine":
            sfn = self.clients("stepfunctions")
            name = execution_name(letter.message_id)
            try:
                arn = sfn.start_execution(
                    stateMachineArn=self.source.arn,
                    name=name,
                    input=transform(letter.payload, self.source.input_transformer),
                )["executionArn"]
            except sfn.exceptions.ExecutionAlreadyExists:
                return f"already started as {name}"
            return f"started {arn.rsplit(':', 2)[-2]}:{arn.rsplit(':', 1)[-1]}"
        if kind == "event_bus":
            if self.source.event_source:  # the schedule's put: the message is the detail
                entry = {"Source": self.source.event_source, "DetailType": self.source.detail_type}
                detail = letter.payload
            else:  # a whole event (replication)
                entry = {"Source": letter.payload["source"], "DetailType": letter.payload["detail-type"]}
                detail = letter.payload.get("detail", {})
            response = self.clients("events").put_events(
                Entries=[{**entry, "Detail": json.dumps(detail), "EventBusName": self.source.arn}]
            )
            if response.get("FailedEntryCount"):
                raise RuntimeError(f"PutEvents refused the entry: {response['Entries'][0].get('ErrorMessage')}")
            return f"put {entry['DetailType']} on {self.source.arn.rsplit('/', 1)[-1]}"
        raise UserError(f"Unknown DLQ source kind '{kind}': update scripts/dlq.py with the Terraform output.")


@dataclass
class RedriveResult:
    delivered: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    repeats_deleted: int = 0


def redrive(sqs: Any, url: str, deliver: Any, max_messages: int | None = None) -> RedriveResult:
    """Receive, deliver, then delete, until the queue has no visible message (or `max_messages` were delivered). A
    failed delivery leaves its message in the queue (visible again after REDRIVE_VISIBILITY_SECONDS)."""
    result = RedriveResult()
    done: set[str] = set()
    failed: set[str] = set()
    while max_messages is None or len(result.delivered) < max_messages:
        wanted = 10 if max_messages is None else max_messages - len(result.delivered)
        batch = _receive(sqs, url, wanted, visibility=REDRIVE_VISIBILITY_SECONDS)
        if not batch or all(m["MessageId"] in failed for m in batch):
            break
        for message in batch:
            letter = decode(message)
            if letter.message_id in done:  # delivered earlier in this run; its delete did not take
                sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
                result.repeats_deleted += 1
                continue
            if letter.message_id in failed:
                continue
            try:
                outcome = deliver(letter)
            except Exception as err:  # noqa: BLE001 - reported per message; the message stays for the next redrive
                failed.add(letter.message_id)
                result.failed.append({"messageId": letter.message_id, "error": f"{type(err).__name__}: {err}"})
                continue
            done.add(letter.message_id)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
            result.delivered.append({"messageId": letter.message_id, "outcome": outcome})
    return result


# --- the task ---------------------------------------------------------------------------------------------------------


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def list_text(rows: list[dict[str, Any]]) -> str:
    header = ("queue", "depth", "in flight", "oldest", "redrives to")
    table = [header] + [
        (r["queue"], str(r["depth"]), str(r["inFlight"]), _age(r["oldestAgeSeconds"]), r["target"]) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in table]
    total = sum(r["depth"] for r in rows)
    lines.append(f"{total} message(s) in {sum(1 for r in rows if r['depth'])} of {len(rows)} queue(s).")
    return "\n".join(lines)


def run(env: str, action: str = "list", queue: str = "", count: int = 0, as_json: bool = False) -> Any:
    from scripts.aws_session import aws_client
    from scripts.common import read_outputs

    outputs = read_outputs(env)
    sqs = aws_client(env, "sqs")
    if action == "list":
        rows = queue_rows(outputs, sqs, datetime.now(UTC))
        print(json.dumps(rows, indent=2) if as_json else list_text(rows))
        return rows
    if action not in ("show", "redrive"):
        raise UserError(f"Unknown dlq action '{action}': use list, show QUEUE or redrive QUEUE.")
    if not queue:
        raise UserError(f"Name the queue: invoke dlq --env {env} {action} QUEUE (invoke dlq --env {env} lists them).")
    url = queue_url(outputs, queue)
    if action == "show":
        letters = [letter.summary() for letter in peek(sqs, url, count or SHOW_DEFAULT)]
        if as_json:
            print(json.dumps(letters, indent=2, default=str))
        else:
            for letter in letters:
                print(
                    f"- {letter['messageId']} sent {letter['sentAt']}, error {letter['error']}: "
                    f"{letter['errorMessage']} (attempts {letter['attempts']})\n  "
                    + json.dumps(letter["payload"], default=str)
                )
            print(f"{len(letters)} message(s) shown from {queue}; nothing was consumed.")
        return letters
    source = sources(outputs).get(queue)
    if source is None:
        raise UserError(f"No dlq_sources entry for '{queue}': redeploy with `invoke deploy --env {env}`.")
    result = redrive(sqs, url, Delivery(source, lambda service: aws_client(env, service)), count or None)
    summary = {"delivered": result.delivered, "failed": result.failed, "repeatsDeleted": result.repeats_deleted}
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        for item in result.delivered:
            print(f"- {item['messageId']}: {item['outcome']}")
        for item in result.failed:
            print(f"- {item['messageId']}: NOT delivered, left in the queue ({item['error']})")
        print(f"{len(result.delivered)} delivered and deleted, {len(result.failed)} left in {queue}.")
    if result.failed:
        raise UserError(f"{len(result.failed)} message(s) could not be delivered: fix the cause and redrive again.")
    return summary
