"""`invoke trace ORDER_ID --env E [--json]`: one timeline of an order, oldest first.

What it reads, and from where (the same on the local cloud and on AWS):
- the order item (orders table): its creation and every status change of `statusHistory`;
- the API request that created it: the order Lambda's log line "order created" (correlation id = the order);
- every execution of every workflow that worked on it (input names the order; executions started since one minute
  before the order was created), with each state entered and exited, task retries and errors, from the history API;
- the events on the bus that name it: each execution's triggering event (an EventBridge event as input);
- the Lambda log lines carrying its correlation id, for every service;
- the payment and reservation rows, and the customer notification written (one per outcome, by the workflow).

Events no workflow starts on (Payment Processed/Failed/Refunded, Order Completed, Inventory Reserved/Released/
Unavailable) are in no store the trace can read: the bus archive holds them, but EventBridge offers no query of an
archive; the execution that published them shows the state that did.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from boto3.dynamodb.conditions import Key

from scripts.common import UserError

#: How far before the order's creation executions and log lines are looked for (clock skew, the API's own time).
LOOKBACK = timedelta(minutes=1)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(value)


def _at(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def money(value: Any) -> str:
    """A stored amount (a DynamoDB number or a 2-decimal string) as 2-decimal text."""
    try:
        return f"{Decimal(str(value)):.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def entry(at: Any, kind: str, source: str, what: str, **detail: Any) -> dict[str, Any]:
    """One timeline entry; `at` in one form (UTC, milliseconds) so the entries sort by time. EventBridge event times
    have whole seconds: such an event sorts at the start of its second."""
    return {"at": _iso(_at(at)), "kind": kind, "source": source, "what": what, **({"detail": detail} if detail else {})}


def find_order(orders_table: Any, order_id: str) -> dict[str, Any] | None:
    items = orders_table.query(KeyConditionExpression=Key("orderId").eq(order_id), ConsistentRead=True)["Items"]
    return items[0] if items else None


def order_entries(order: dict[str, Any]) -> list[dict[str, Any]]:
    found = [
        entry(
            order["createdAt"],
            "order",
            "orders table",
            f"created for {order['customerId']}, total {money(order.get('totalAmount'))}",
        )
    ]
    for change in order.get("statusHistory") or []:
        reason = f" ({change['reason']})" if change.get("reason") else ""
        found.append(entry(change["at"], "status", "orders table", f"{change['status']}{reason}"))
    return found


def api_entries(order_lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The API request that created the order, from the order Lambda's "order created" line."""
    from scripts.logs import structured

    found = []
    for line in order_lines:
        doc = structured(line["message"]) or {}
        if doc.get("message") == "order created":
            found.append(
                entry(
                    datetime.fromtimestamp(line["timestamp"] / 1000, UTC),
                    "api",
                    "order Lambda",
                    f"POST /orders -> 201 (order created, total {doc.get('totalAmount')})",
                    request=doc.get("function_request_id"),
                )
            )
    return found


def executions_of(executions: Any, machine_arn: str, order_id: str, since: datetime) -> list[dict[str, Any]]:
    """The executions of the machine whose input names the order, started since `since` (newest-first paging).
    `executions`: a scripts.history.ExecutionReader (STANDARD or EXPRESS), or a Step Functions client."""
    from scripts.history import as_reader, execution_order_id

    reader = as_reader(executions)
    found = []
    for execution in reader.list_executions(machine_arn, since):
        described = reader.describe(execution["executionArn"])
        if execution_order_id(described.get("input")) == order_id:
            found.append(described)
    return found


def execution_entries(executions: Any, workflow: str, execution: dict[str, Any]) -> list[dict[str, Any]]:
    from scripts.history import as_reader, summarize_history

    history = as_reader(executions).events(execution["executionArn"])
    summary = summarize_history(history)
    name = execution["name"]
    found = []
    try:
        trigger = json.loads(execution.get("input") or "null")
    except ValueError:
        trigger = None
    if isinstance(trigger, dict) and "detail-type" in trigger and trigger.get("time"):
        found.append(
            entry(
                trigger["time"],
                "event",
                trigger.get("source", "?"),
                f"{trigger['detail-type']} -> started {workflow} ({name})",
                id=trigger.get("id"),
            )
        )
    found.append(entry(execution["startDate"], "execution", workflow, f"{name} started"))
    for state in summary["states"]:
        if state["entered"]:
            found.append(entry(state["entered"], "state", workflow, f"{state['name']} entered ({state['type']})"))
    for task in summary["tasks"]:
        if task["outcome"] == "FAILED":
            found.append(
                entry(
                    task["ended"] or task["scheduled"],
                    "error",
                    workflow,
                    f"{task['state']}: {task['error']}",
                    cause=(task["cause"] or "")[:300],
                )
            )
    for retry in summary["retries"]:
        found.append(
            entry(
                execution["startDate"],
                "retry",
                workflow,
                f"{retry['state']} took {retry['attempts']} attempts ({', '.join(map(str, retry['errors']))})",
            )
        )
    if execution.get("stopDate"):
        error = f" {summary['error']}" if summary.get("error") else ""
        found.append(entry(execution["stopDate"], "execution", workflow, f"{name} {execution['status']}{error}"))
    return found


def notification_entries(s3: Any, bucket: str, order_id: str) -> list[dict[str, Any]]:
    found = []
    prefix = f"notifications/{order_id}/"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            found.append(entry(obj["LastModified"], "notification", "notifications bucket", obj["Key"]))
    return found


def row_entries(payment: dict[str, Any] | None, reservation: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = []
    if payment:
        found.append(
            entry(
                payment.get("updatedAt") or payment.get("createdAt"),
                "payment",
                "payments table",
                f"{payment.get('status')} {money(payment.get('amount'))} (payment {payment.get('paymentId')})",
            )
        )
    if reservation:
        items = ", ".join(f"{i['productId']} x{i['quantity']}" for i in reservation.get("items") or [])
        found.append(
            entry(
                reservation.get("releasedAt") or reservation.get("updatedAt") or reservation.get("createdAt"),
                "reservation",
                "reservations table",
                f"{reservation.get('status')}: {items}",
            )
        )
    return found


def log_entries(service: str, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from scripts.logs import structured

    found = []
    for line in lines:
        doc = structured(line["message"]) or {}
        level = doc.get("level", "")
        text = doc.get("message", line["message"].strip())
        found.append(
            entry(datetime.fromtimestamp(line["timestamp"] / 1000, UTC), "log", f"{service} Lambda", f"{level} {text}")
        )
    return found


def collect(order_id: str, outputs: dict[str, Any], clients: Callable[[str], Any], resource: Callable[[str], Any]):
    """Every entry of the order's timeline, oldest first; raises UserError for an unknown order."""
    from scripts import logs as log_source

    ddb = resource("dynamodb")
    order = find_order(ddb.Table(outputs["orders_table_name"]), order_id)
    if order is None:
        raise UserError(
            f"There is no order {order_id} in {outputs['orders_table_name']}: use the orderId that POST /orders answered."
        )
    since = _at(order["createdAt"]) - LOOKBACK
    entries = order_entries(order)
    logs_client, lambda_client = clients("logs"), clients("lambda")
    for service, function in sorted((outputs.get("function_names") or {}).items()):
        group = log_source.log_group_of_function(lambda_client, function)
        if not log_source.group_exists(logs_client, group):
            continue
        lines = list(log_source.events(logs_client, group, since, order_id))
        entries += log_entries(service, lines)
        if service == "order":
            entries += api_entries(lines)
    from scripts.history import ExecutionReader

    reader = ExecutionReader.for_stack(outputs, clients)
    for workflow, arn in sorted((outputs.get("state_machine_arns") or {}).items()):
        for execution in executions_of(reader, arn, order_id, since):
            entries += execution_entries(reader, workflow, execution)
    payment = ddb.Table(outputs["payments_table_name"]).get_item(Key={"orderId": order_id}, ConsistentRead=True)
    reservation = ddb.Table(outputs["reservations_table_name"]).get_item(Key={"orderId": order_id}, ConsistentRead=True)
    entries += row_entries(payment.get("Item"), reservation.get("Item"))
    entries += notification_entries(clients("s3"), outputs["notifications_bucket"], order_id)
    return {"order": _plain(order), "entries": sorted(entries, key=lambda e: (e["at"], e["kind"]))}


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def text(trace: dict[str, Any]) -> str:
    order = trace["order"]
    lines = [f"order {order['orderId']} ({order['customerId']}): {order['status']}, {len(trace['entries'])} entries"]
    for e in trace["entries"]:
        lines.append(f"{e['at'][11:23]}  {e['kind']:<12} {e['source'][:24]:<24} {e['what']}")
    return "\n".join(lines)


def run(env: str, order_id: str, as_json: bool = False) -> dict[str, Any]:
    from scripts import local_cloud
    from scripts.aws_session import aws_client, session
    from scripts.common import is_local, read_outputs

    if not order_id.strip():
        raise UserError("Name the order: invoke trace ORDER_ID --env <env> (the orderId POST /orders answered).")
    outputs = read_outputs(env)
    boto = session(env)
    resource_kwargs = {"endpoint_url": local_cloud.endpoint()} if is_local(env) else {}
    trace = collect(
        order_id.strip(),
        outputs,
        lambda service: aws_client(env, service),
        lambda service: boto.resource(service, **resource_kwargs),
    )
    print(json.dumps(trace, indent=2) if as_json else text(trace))
    return trace
