"""`invoke logs SERVICE --env E [--follow] [--order ID] [--since 10m]`: CloudWatch Logs of a service or a workflow.

A service (order, payment, inventory, notification) logs Powertools' structured JSON to its function's log group;
each line is printed as `time level [service] message key=value ...`, and `--order ID` keeps the lines whose
correlation id (or orderId) is that order. A workflow (order-processing, payment-processing, inventory-management)
logs to its state machine's log group on AWS; where that group holds nothing because the cloud writes no execution
logs (the local emulator), this says so and prints the workflow's executions from the history API instead.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from scripts.common import UserError

#: Lines of a Lambda's own runtime (not the handler's): printed as they are.
RUNTIME_PREFIXES = ("START ", "END ", "REPORT ", "INIT_START", "EXTENSION", "TELEMETRY")
#: Keys a pretty line shows after the message, in this order, when a structured line has them.
SHOWN_KEYS = ("orderId", "correlation_id", "action", "status", "detailType", "eventId", "error", "key")
FOLLOW_INTERVAL_SECONDS = 2.0


def parse_since(value: str, now: datetime) -> datetime:
    """`10m`, `2h`, `1d`, `90s` before `now`, or an ISO-8601 time."""
    match = re.fullmatch(r"(\d+)\s*([smhd])", value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return now - timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"--since '{value}' is neither a duration (10m, 2h, 1d) nor an ISO-8601 time.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def structured(message: str) -> dict[str, Any] | None:
    """The Powertools JSON of a log line, or None for a plain line."""
    text = message.strip()
    if not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def about_order(message: str, order_id: str) -> bool:
    doc = structured(message)
    return doc is not None and order_id in (doc.get("correlation_id"), doc.get("orderId"))


def pretty(timestamp_ms: int, message: str) -> str:
    when = datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
    doc = structured(message)
    if doc is None:
        return f"{when} {message.rstrip()}"
    extras = " ".join(f"{k}={doc[k]}" for k in SHOWN_KEYS if doc.get(k) not in (None, ""))
    exception = f"\n    {doc['exception']}" if doc.get("exception") else ""
    line = f"{when} {doc.get('level', '?')!s:<7} [{doc.get('service', '?')}] {doc.get('message', '')}"
    return f"{line}{'  ' + extras if extras else ''}{exception}"


def events(logs: Any, group: str, start: datetime, order_id: str | None) -> Iterator[dict[str, Any]]:
    """The group's log events since `start`, oldest first (every page); only the order's when `order_id`."""
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": int(start.timestamp() * 1000)}
    if order_id:
        kwargs["filterPattern"] = f'"{order_id}"'  # a term the service narrows by; about_order decides
    while True:
        page = logs.filter_log_events(**kwargs)
        for event in sorted(page.get("events", []), key=lambda e: (e["timestamp"], e.get("eventId", ""))):
            if order_id is None or about_order(event["message"], order_id):
                yield event
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def log_group_of_function(lambda_client: Any, function_name: str) -> str:
    config = lambda_client.get_function_configuration(FunctionName=function_name)
    return (config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{function_name}"


def log_group_of_workflow(sfn: Any, state_machine_arn: str) -> str | None:
    destinations = (
        sfn.describe_state_machine(stateMachineArn=state_machine_arn).get("loggingConfiguration") or {}
    ).get("destinations") or []
    for destination in destinations:
        arn = (destination.get("cloudWatchLogsLogGroup") or {}).get("logGroupArn", "")
        if ":log-group:" in arn:
            return arn.split(":log-group:", 1)[1].removesuffix(":*")
    return None


def group_exists(logs: Any, group: str) -> bool:
    found = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
    return any(g["logGroupName"] == group for g in found)


def print_lines(stream: Iterator[dict[str, Any]], seen: set[str], say: Callable[[str], None]) -> int:
    count = 0
    for event in stream:
        key = event.get("eventId") or f"{event['timestamp']}:{event.get('logStreamName')}:{event['message']}"
        if key in seen:
            continue
        seen.add(key)
        say(pretty(event["timestamp"], event["message"]))
        count += 1
    return count


def workflow_executions_text(
    executions: Any, state_machine_arn: str, start: datetime, order_id: str | None
) -> list[str]:
    """The fallback where a workflow's log group stays empty: each execution since `start` (of the order, if one is
    named) with the states it entered, read by scripts/history.ExecutionReader (`executions`: a reader or a Step
    Functions client)."""
    from scripts.history import as_reader, execution_order_id, summarize_history

    reader = as_reader(executions)
    lines = []
    for execution in reader.list_executions(state_machine_arn, start):
        described = reader.describe(execution["executionArn"])
        if order_id and execution_order_id(described.get("input")) != order_id:
            continue
        summary = summarize_history(reader.events(execution["executionArn"]))
        path = " > ".join(state["name"] for state in summary["states"])
        lines.append(
            f"{execution['startDate'].astimezone(UTC):%H:%M:%S} {execution['name']} {summary['status']}"
            f"{' ' + summary['error'] if summary['error'] else ''}: {path}"
        )
    return sorted(lines)


def run(
    env: str,
    target: str,
    follow: bool = False,
    order_id: str | None = None,
    since: str = "10m",
    say: Callable[[str], None] = print,
) -> int:
    """Print the target's lines (and go on printing new ones with `follow`, until Ctrl-C); returns how many."""
    from scripts.aws_session import aws_client
    from scripts.common import read_outputs

    outputs = read_outputs(env)
    start = parse_since(since, datetime.now(UTC))
    functions, workflows = outputs.get("function_names") or {}, outputs.get("state_machine_arns") or {}
    logs = aws_client(env, "logs")
    if target in functions:
        group = log_group_of_function(aws_client(env, "lambda"), functions[target])
    elif target in workflows:
        sfn = aws_client(env, "stepfunctions")
        group = log_group_of_workflow(sfn, workflows[target])
        if group is None or not any(True for _ in events(logs, group, start, order_id)):
            say(
                f"The {target} workflow wrote no execution logs{' to ' + group if group else ''} since {start:%H:%M:%S}"
                " (the local emulator writes none): its executions from the history API instead."
            )
            from scripts.history import ExecutionReader

            reader = ExecutionReader.for_stack(outputs, lambda service: aws_client(env, service), env=env)
            lines = workflow_executions_text(reader, workflows[target], start, order_id)
            for line in lines:
                say(line)
            return len(lines)
    else:
        raise UserError(
            f"Unknown service or workflow '{target}': choose one of {', '.join(sorted(functions) + sorted(workflows))}."
        )
    if not group_exists(logs, group):
        say(f"{group} does not exist yet: {target} has not logged anything.")
        return 0
    seen: set[str] = set()
    count = print_lines(events(logs, group, start, order_id), seen, say)
    if not follow:
        if count == 0:
            say(f"No lines in {group} since {start:%H:%M:%S}{' for order ' + order_id if order_id else ''}.")
        return count
    try:
        while True:
            time.sleep(FOLLOW_INTERVAL_SECONDS)  # a live tail: wait for new lines until Ctrl-C
            # A little overlap: lines arrive out of order across streams; `seen` drops the repeats.
            count += print_lines(events(logs, group, start, order_id), seen, say)
            start = max(start, datetime.now(UTC) - timedelta(minutes=5))
    except KeyboardInterrupt:
        return count
