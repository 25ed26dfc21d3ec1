"""Step Functions execution histories (GetExecutionHistory) summarized for assertions and reports: states entered,
Lambda tasks with their functions and outcomes, retries; and the order an execution works on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

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


def task_functions(definition: str | dict[str, Any] | None) -> dict[str, str]:
    """{state name: Lambda function name} for every Lambda task of an ASL definition (Map and Parallel included)."""
    doc = json.loads(definition) if isinstance(definition, str) else (definition or {})
    out: dict[str, str] = {}

    def walk(states: dict[str, Any]) -> None:
        for name, state in (states or {}).items():
            if state.get("Type") == "Task":
                resource = state.get("Resource", "")
                args = state.get("Parameters") or state.get("Arguments") or {}
                ref = args.get("FunctionName") if "lambda:invoke" in resource and isinstance(args, dict) else resource
                if fn := _function_ref_name(ref):
                    out[name] = fn
            for key in ("ItemProcessor", "Iterator"):
                if isinstance(state.get(key), dict):
                    walk(state[key].get("States", {}))
            for branch in state.get("Branches", []) or []:
                walk(branch.get("States", {}))

    walk(doc.get("States", {}))
    return out


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
