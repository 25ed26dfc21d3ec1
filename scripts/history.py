"""Step Functions executions, read the same way for STANDARD and EXPRESS workflows (ExecutionReader: the history API,
or an Express workflow's execution logs on AWS), and their histories summarized for assertions and reports: states
entered, Lambda tasks with their functions and outcomes, retries; and the order an execution works on."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from scripts.common import UserError
from scripts.timeutil import iso, parse_ts

_SCHEDULED = {"TaskScheduled", "LambdaFunctionScheduled"}
_SUCCEEDED = {"TaskSucceeded", "LambdaFunctionSucceeded"}
_FAILED = {
    "TaskFailed",
    "LambdaFunctionFailed",
    "TaskTimedOut",
    "LambdaFunctionTimedOut",
    "TaskStartFailed",
    "TaskSubmitFailed",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
}
_EXEC_END = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionAborted": "ABORTED",
    "ExecutionTimedOut": "TIMED_OUT",
}


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})


def _function_ref_name(ref: Any) -> str | None:
    if not isinstance(ref, str) or not ref:
        return None
    if ":function:" in ref:
        ref = ref.split(":function:", 1)[1]
    elif ref.startswith("arn:"):
        return None  # an ARN, but not a function's (e.g. arn:aws:states:::lambda:invoke)
    return ref.split(":", 1)[0]


def function_name_of(details: dict[str, Any]) -> str | None:
    """The Lambda function a task event names: `parameters.FunctionName` for `lambda:invoke` (AWS sends the
    parameters; MiniStack 1.5.33 does not), else a function ARN as the resource; None when the event does not say."""
    params = details.get("parameters")
    if isinstance(params, str):
        try:
            params = json.loads(params)
        except ValueError:
            params = None
    if isinstance(params, dict) and (params.get("FunctionName") or params.get("functionName")):
        return _function_ref_name(params.get("FunctionName") or params.get("functionName"))
    resource = details.get("resource")
    return _function_ref_name(resource) if isinstance(resource, str) and ":function:" in resource else None


def _task_states(definition: str | dict[str, Any] | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """(state name, state) of every Task of an ASL definition, Map and Parallel included."""
    doc = json.loads(definition) if isinstance(definition, str) else (definition or {})
    pending = [doc.get("States", {})]
    while pending:
        for name, state in (pending.pop() or {}).items():
            if state.get("Type") == "Task":
                yield name, state
            for key in ("ItemProcessor", "Iterator"):
                if isinstance(state.get(key), dict):
                    pending.append(state[key].get("States", {}))
            pending.extend(branch.get("States", {}) for branch in state.get("Branches", []) or [])


def task_functions(definition: str | dict[str, Any] | None) -> dict[str, str]:
    """{state name: Lambda function name} for every Lambda task of an ASL definition (Map and Parallel included)."""
    out: dict[str, str] = {}
    for name, state in _task_states(definition):
        resource = state.get("Resource", "")
        args = state.get("Parameters") or state.get("Arguments") or {}
        ref = args.get("FunctionName") if "lambda:invoke" in resource and isinstance(args, dict) else resource
        if fn := _function_ref_name(ref):
            out[name] = fn
    return out


def integration_tasks(definition: str | dict[str, Any] | None) -> dict[str, str]:
    """{state name: "<service>:<action>"} for every Task of an ASL definition that calls a service directly, not a
    Lambda function (e.g. the finalize fragment's Settle: `dynamodb:deleteItem`); Map and Parallel included."""
    return {
        name: state["Resource"].removeprefix("arn:aws:states:::").split(".")[0]
        for name, state in _task_states(definition)
        if state.get("Resource", "").startswith("arn:aws:states:::") and "lambda:invoke" not in state["Resource"]
    }


def summarize_history(events: Sequence[dict[str, Any]], functions: dict[str, str] | None = None) -> dict[str, Any]:
    """What a report and an assertion need from GetExecutionHistory events (oldest first).

    states:  [{name, type, entered, exited}] in entry order;
    tasks:   [{state, function, resource, outcome (SUCCEEDED|FAILED), error, cause, scheduled, ended}] per attempt;
    retries: [{state, function, attempts, errors}] for each state visit whose task was scheduled again after a failure;
    status/error/cause of the execution when it ended. MiniStack leaves previousEventId unset, so tasks are attributed
    to the most recently entered state (the workflows here have no Parallel/Map branches running at once).
    functions: {state: function} from task_functions(definition), for events that do not name the function.
    """
    functions = functions or {}
    states: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    status, error, cause = "RUNNING", None, None
    current: dict[str, Any] | None = None
    pending: dict[int, dict[str, Any]] = {}
    for event in events:
        etype, details, ts = event.get("type", ""), _details(event), iso(parse_ts(event.get("timestamp")))
        if etype.endswith("StateEntered"):
            current = {
                "name": details.get("name"),
                "type": etype[: -len("StateEntered")],
                "entered": ts,
                "exited": None,
                "visit": len(states),
            }
            states.append(current)
        elif etype.endswith("StateExited"):
            for state in reversed(states):
                if state["name"] == details.get("name") and state["exited"] is None:
                    state["exited"] = ts
                    break
        elif etype in _SCHEDULED:
            task = {
                "state": current["name"] if current else None,
                "visit": current["visit"] if current else None,
                "function": function_name_of(details) or functions.get(current["name"] if current else None),
                "resource": details.get("resource"),
                "outcome": None,
                "error": None,
                "cause": None,
                "scheduled": ts,
                "ended": None,
            }
            tasks.append(task)
            pending[id(current)] = task
        elif etype in _SUCCEEDED or etype in _FAILED:
            task = pending.pop(id(current), None) or (tasks[-1] if tasks and tasks[-1]["outcome"] is None else None)
            if task is not None:
                task["outcome"] = "SUCCEEDED" if etype in _SUCCEEDED else "FAILED"
                task["ended"] = ts
                if etype in _FAILED:
                    task["error"], task["cause"] = details.get("error") or etype, details.get("cause")
        elif etype in _EXEC_END:
            status, error, cause = _EXEC_END[etype], details.get("error"), details.get("cause")
    retries = []
    by_visit: dict[Any, list[dict[str, Any]]] = {}
    for task in tasks:
        by_visit.setdefault((task["visit"], task["function"]), []).append(task)
    for (_, function), attempts in by_visit.items():
        if len(attempts) > 1 and any(a["outcome"] == "FAILED" for a in attempts[:-1]):
            retries.append(
                {
                    "state": attempts[0]["state"],
                    "function": function,
                    "attempts": len(attempts),
                    "errors": [a["error"] for a in attempts if a["outcome"] == "FAILED"],
                }
            )
    for task in tasks:
        task.pop("visit", None)
    for state in states:
        state.pop("visit", None)
    return {"status": status, "error": error, "cause": cause, "states": states, "tasks": tasks, "retries": retries}


def execution_order_id(input_text: str | None) -> str | None:
    """The orderId an execution works on, from its input: an EventBridge event (detail.orderId), {order:{orderId}} or
    {orderId}."""
    try:
        doc = json.loads(input_text or "null")
    except ValueError:
        return None
    for candidate in (doc.get("detail") if isinstance(doc, dict) else None, doc):
        if not isinstance(candidate, dict):
            continue
        if isinstance(candidate.get("orderId"), str):
            return candidate["orderId"]
        if isinstance(candidate.get("order"), dict) and isinstance(candidate["order"].get("orderId"), str):
            return candidate["order"]["orderId"]
    return None


# --- Reading executions, for both workflow types ---------------------------------------------------------------------
#
# The one place that knows where an execution's states are (docs/architecture.md, "Standard or Express"): every tool
# that lists, describes or reads the history of executions (trace, logs, the console, the cost model, the e2e suite)
# goes through ExecutionReader.
# - STANDARD: the Step Functions API (ListExecutions, DescribeExecution, GetExecutionHistory).
# - EXPRESS on AWS: AWS serves none of those for Express executions; the state machine logs every history event (level
#   ALL, execution data included) to its log group, one JSON line per event ({id, previous_event_id, type, details,
#   event_timestamp, execution_arn}); the reader rebuilds the same events from there.
# - EXPRESS on the local emulator: MiniStack writes no execution logs but serves the API for Express executions too
#   (scripts/emulator_workarounds.py, express_history_from_api), so there the reader uses the API as for STANDARD.

SOURCE_API = "history-api"
SOURCE_LOGS = "execution-logs"

_EXECUTION_ARN = re.compile(
    r"^arn:(?P<p>[a-z-]+):states:(?P<r>[^:]+):(?P<a>\d+):(?P<kind>execution|express):(?P<sm>[^:]+):(?P<name>[^:]+)"
)


def state_machine_arn_of(execution_arn: str) -> str | None:
    """The state machine of an execution ARN (`...:execution:<sm>:<name>` Standard, `...:express:<sm>:<name>:<id>`
    Express); None for anything else."""
    m = _EXECUTION_ARN.match(execution_arn or "")
    return f"arn:{m['p']}:states:{m['r']}:{m['a']}:stateMachine:{m['sm']}" if m else None


def _details_key(event_type: str) -> str:
    """GetExecutionHistory's details field of an event type (PassStateEntered -> stateEnteredEventDetails)."""
    for suffix in ("StateEntered", "StateExited"):
        if event_type.endswith(suffix):
            return f"state{suffix[5:]}EventDetails"
    return f"{event_type[:1].lower()}{event_type[1:]}EventDetails"


def history_event_from_log(record: dict[str, Any]) -> dict[str, Any]:
    """One Express execution-log record as the GetExecutionHistory event it stands for."""
    etype = record.get("type", "")
    event: dict[str, Any] = {
        "timestamp": datetime.fromtimestamp(int(record.get("event_timestamp") or 0) / 1000, UTC),
        "type": etype,
        "id": int(record.get("id") or 0),
        "previousEventId": int(record.get("previous_event_id") or 0),
    }
    if isinstance(record.get("details"), dict):
        event[_details_key(etype)] = record["details"]
    return event


def execution_does_not_exist(execution_arn: str, operation: str) -> ClientError:
    """The error the history API answers `operation` (DescribeExecution, GetExecutionHistory) with for an execution
    it does not know: for an Express execution the logs hold nothing of, so callers handle both the same way."""
    return ClientError(
        {
            "Error": {"Code": "ExecutionDoesNotExist", "Message": f"Execution Does Not Exist: '{execution_arn}'"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


def execution_from_events(execution_arn: str, events: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """DescribeExecution's answer rebuilt from an execution's history events (oldest first)."""
    m = _EXECUTION_ARN.match(execution_arn)
    out: dict[str, Any] = {
        "executionArn": execution_arn,
        "stateMachineArn": state_machine_arn_of(execution_arn),
        "name": m["name"] if m else execution_arn,
        "status": "RUNNING",
    }
    for event in events:
        details = _details(event)
        if event["type"] == "ExecutionStarted":
            out["startDate"], out["input"] = event["timestamp"], details.get("input")
        elif event["type"] in _EXEC_END:
            out["status"], out["stopDate"] = _EXEC_END[event["type"]], event["timestamp"]
            for key in ("output", "error", "cause"):
                if details.get(key) is not None:
                    out[key] = details[key]
    return out


class ExecutionReader:
    """Lists, describes and reads the history of executions of any of the stack's state machines, whatever their
    type. `machines`: {state machine ARN: {"type": STANDARD|EXPRESS, "log_group": name}}; a machine not named is
    STANDARD (e.g. a temporary one)."""

    def __init__(
        self,
        sfn: Any,
        logs: Any = None,
        *,
        env: str = "local",
        machines: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.sfn, self.logs, self.env, self.machines = sfn, logs, env, dict(machines or {})

    @classmethod
    def for_stack(cls, outputs: dict[str, Any], client: Any, env: str | None = None) -> ExecutionReader:
        """The reader of a deployed stack: its outputs' workflow types and log groups (env: the outputs' `env`);
        `client(name)` makes clients."""
        # The env decides where an EXPRESS execution is read (the emulator's API or the logs on AWS): never guessed.
        env = env or outputs.get("env")
        if not env:
            raise UserError(
                "The stack's outputs lack `env` (written by an older deploy): redeploy it with `invoke deploy --env <env>`."
            )
        types = outputs.get("workflow_types") or {}
        groups = outputs.get("workflow_log_group_names") or {}
        machines = {
            arn: {"type": types.get(wf, "STANDARD"), "log_group": groups.get(wf)}
            for wf, arn in (outputs.get("state_machine_arns") or {}).items()
        }
        express = any(m["type"] == "EXPRESS" for m in machines.values())
        return cls(client("stepfunctions"), client("logs") if express else None, env=env, machines=machines)

    def workflow_type(self, machine_arn: str | None) -> str:
        return (self.machines.get(machine_arn or "") or {}).get("type", "STANDARD")

    def source(self, machine_arn: str | None) -> str:
        """Where this machine's executions are read: the history API, or (EXPRESS on AWS) its execution logs."""
        from scripts import emulator_workarounds

        if self.workflow_type(machine_arn) != "EXPRESS" or emulator_workarounds.express_history_from_api(self.env):
            return SOURCE_API
        return SOURCE_LOGS

    # -- the three reads ---------------------------------------------------------------------------------------------

    def list_executions(self, machine_arn: str, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Executions of the machine (newest first), started at or after `since`: executionArn, stateMachineArn,
        name, status, startDate, stopDate (when ended). Lazy: paging stops at the first older execution."""
        if self.source(machine_arn) == SOURCE_LOGS:
            yield from self._list_from_logs(machine_arn, since)
            return
        kwargs: dict[str, Any] = {"stateMachineArn": machine_arn, "maxResults": 1000}
        while True:
            page = self.sfn.list_executions(**kwargs)
            for execution in page["executions"]:
                if since is not None and execution["startDate"] < since:
                    return  # newest first: the rest is older
                yield execution
            if not page.get("nextToken"):
                return
            kwargs["nextToken"] = page["nextToken"]

    def describe(self, execution_arn: str) -> dict[str, Any]:
        """DescribeExecution's answer (status, input, output, error, cause, dates)."""
        if self.source(state_machine_arn_of(execution_arn)) == SOURCE_LOGS:
            return execution_from_events(execution_arn, self._logged_events(execution_arn, "DescribeExecution"))
        return self.sfn.describe_execution(executionArn=execution_arn)

    def events(self, execution_arn: str) -> list[dict[str, Any]]:
        """The execution's history events, oldest first, in GetExecutionHistory's shape."""
        if self.source(state_machine_arn_of(execution_arn)) == SOURCE_LOGS:
            return self._logged_events(execution_arn, "GetExecutionHistory")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    # -- execution logs (EXPRESS on AWS) -----------------------------------------------------------------------------

    def _logged_events(self, execution_arn: str, operation: str) -> list[dict[str, Any]]:
        """The execution's history events rebuilt from its log records; an execution without any is unknown to the
        logs and refused as the history API refuses `operation` for an unknown one (not described as RUNNING)."""
        pattern = f'{{ $.execution_arn = "{execution_arn}" }}'
        records = self._log_records(state_machine_arn_of(execution_arn), pattern, None)
        if not records:
            raise execution_does_not_exist(execution_arn, operation)
        return sorted((history_event_from_log(r) for r in records), key=lambda e: e["id"])

    def _log_records(self, machine_arn: str | None, pattern: str, since: datetime | None) -> list[dict[str, Any]]:
        group = (self.machines.get(machine_arn or "") or {}).get("log_group")
        if not group or self.logs is None:
            raise ValueError(f"{machine_arn} is EXPRESS but its execution log group is unknown")
        kwargs: dict[str, Any] = {"logGroupName": group, "filterPattern": pattern}
        if since is not None:
            kwargs["startTime"] = int(since.timestamp() * 1000)
        records = []
        while True:
            page = self.logs.filter_log_events(**kwargs)
            for line in page.get("events", []):
                try:
                    record = json.loads(line["message"])
                except ValueError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
            if not page.get("nextToken"):
                return records
            kwargs["nextToken"] = page["nextToken"]

    def _list_from_logs(self, machine_arn: str, since: datetime | None) -> list[dict[str, Any]]:
        ends = " || ".join(f'($.type = "{t}")' for t in ("ExecutionStarted", *_EXEC_END))
        by_arn: dict[str, list[dict[str, Any]]] = {}
        for record in self._log_records(machine_arn, f"{{ {ends} }}", since):
            by_arn.setdefault(record.get("execution_arn", ""), []).append(history_event_from_log(record))
        found = []
        for arn, events in by_arn.items():
            described = execution_from_events(arn, sorted(events, key=lambda e: e["id"]))
            if "startDate" in described:
                described.pop("input", None)
                for key in ("output", "error", "cause"):
                    described.pop(key, None)
                found.append(described)
        return sorted(found, key=lambda e: e["startDate"], reverse=True)


def as_reader(source: Any, env: str = "local") -> ExecutionReader:
    """An ExecutionReader as it is, or one over a Step Functions client (every machine read as STANDARD)."""
    return source if isinstance(source, ExecutionReader) else ExecutionReader(source, env=env)
