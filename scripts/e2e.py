"""`invoke e2e --env <env>`: the end-to-end suite (tests/e2e) against a deployed stack, then its reports.

The runner reads build/<env>/outputs.json, loads the catalogue (scripts/seed.py), runs pytest on tests/e2e in a
subprocess (ORDERFLOW_ENV, ORDERFLOW_OUTPUTS, ORDERFLOW_RUN_ID, ORDERFLOW_E2E_RECORDS), and turns the per-scenario
records the suite's conftest writes into a summary table on the terminal and a self-contained HTML report next to
the JUnit XML under build/<env>/reports/.

This module also holds what tests/e2e and scripts/bench.py share, so neither imports the other: the HTTP client
(`ApiClient`, urllib only), time and percentile helpers, statusHistory stages, execution-history parsing and the
report renderers. It imports nothing from services/: the suite talks to the stack through its HTTP API and AWS APIs.
"""

from __future__ import annotations

import html
import json
import math
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.common import REPO_ROOT, UserError, env_build_dir, is_local, read_outputs, write_json

TERMINAL_STATUSES = frozenset({"COMPLETED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"})
HAPPY_PATH = ("PENDING", "PAID", "INVENTORY_RESERVED", "COMPLETED")
# Stages reported by `invoke bench` and the e2e report, from an order's statusHistory.
STAGES = (("PENDING", "PAID"), ("PAID", "INVENTORY_RESERVED"), ("INVENTORY_RESERVED", "COMPLETED"))
E2E_DIR = REPO_ROOT / "tests" / "e2e"
# In build/<env>/reports/: what a running test changed on the stack and must put back ({"rules": [name, ...],
# "functions": {name: {environment variables}}}); `invoke e2e` restores what an interrupted run left behind.
RESTORE_FILE = ".e2e-restore.json"


# --- time ---------------------------------------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_ts(value: Any) -> datetime | None:
    """An ISO-8601 string (with `Z` or an offset), epoch seconds or a datetime, as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return datetime.fromtimestamp(float(value), UTC)
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None


def seconds_between(start: Any, end: Any) -> float | None:
    a, b = parse_ts(start), parse_ts(end)
    return None if a is None or b is None else (b - a).total_seconds()


def new_run_id(prefix: str = "e2e") -> str:
    """Unique per run, short enough for resource names: <prefix>-<UTC yymmddHHMMSS>-<4 hex>."""
    return f"{prefix}-{utcnow().strftime('%y%m%d%H%M%S')}-{secrets.token_hex(2)}"


# --- statistics ---------------------------------------------------------------------------------------------------


def percentile(values: Iterable[float], pct: float) -> float | None:
    """The pct-th percentile (0..100) by linear interpolation between closest ranks (numpy's default); None if empty."""
    data = sorted(float(v) for v in values if v is not None)
    if not data:
        return None
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, got {pct}")
    rank = (len(data) - 1) * pct / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


def latency_summary(values: Iterable[float]) -> dict[str, float | int | None]:
    data = [float(v) for v in values if v is not None]
    return {
        "count": len(data),
        "p50": percentile(data, 50),
        "p95": percentile(data, 95),
        "p99": percentile(data, 99),
        "max": max(data) if data else None,
        "min": min(data) if data else None,
    }


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.2f}s"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, columns padded to their widest cell; numbers right-aligned."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_looks_numeric(row[i]) for row in cells[1:]) and len(cells) > 1 for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def _looks_numeric(text: str) -> bool:
    stripped = text.rstrip("ms").rstrip("s").replace(".", "", 1).replace("/", "", 1)
    return stripped.isdigit() or text == "-"


# --- orders: statusHistory ----------------------------------------------------------------------------------------


def history_statuses(order: dict[str, Any]) -> list[str]:
    return [entry.get("status") for entry in order.get("statusHistory") or []]


def status_time(order: dict[str, Any], status: str) -> datetime | None:
    """When the order first entered `status`, from its statusHistory."""
    for entry in order.get("statusHistory") or []:
        if entry.get("status") == status:
            return parse_ts(entry.get("at"))
    return None


def terminal_time(order: dict[str, Any]) -> datetime | None:
    status = order.get("status")
    if status not in TERMINAL_STATUSES:
        return None
    return status_time(order, status) or parse_ts(order.get("updatedAt"))


def end_to_end_seconds(order: dict[str, Any]) -> float | None:
    """API accepted (createdAt, written by the order Lambda) -> terminal status (its statusHistory entry)."""
    created, done = parse_ts(order.get("createdAt")), terminal_time(order)
    return None if created is None or done is None else (done - created).total_seconds()


def stage_seconds(order: dict[str, Any]) -> dict[str, float]:
    """Seconds spent in each stage of STAGES that the order went through, e.g. {"PENDING->PAID": 0.41}."""
    out: dict[str, float] = {}
    for a, b in STAGES:
        ta, tb = status_time(order, a), status_time(order, b)
        if ta and tb:
            out[f"{a}->{b}"] = (tb - ta).total_seconds()
    return out


def unwrap_order(body: Any) -> dict[str, Any]:
    """GET /orders/{id} may answer the order itself or wrap it as {"order": {...}}."""
    if isinstance(body, dict) and isinstance(body.get("order"), dict):
        return body["order"]
    return body if isinstance(body, dict) else {}


def unwrap_orders(body: Any) -> list[dict[str, Any]]:
    """GET /customers/{id}/orders may answer a list or {"orders": [...]}/{"items": [...]}."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for key in ("orders", "items", "Items"):
            if isinstance(body.get(key), list):
                return body[key]
    return []


# --- HTTP API client ----------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed: float

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def __repr__(self) -> str:
        return f"<HTTP {self.status} {self.body[:300]!r}>"


class ApiClient:
    """The stack's public HTTP API (outputs.api_url), over urllib: no third-party dependency, thread-safe.

    Every route needs the caller's Cognito ID token (docs/auth.md): pass it as `token`, it is sent as
    `Authorization: Bearer <token>`; without one API Gateway answers 401.

    `contract`: called with (method, path, status, body) of every response received, e.g. the e2e suite's
    `scripts.api_contract.ResponseLog.record`, which checks it against the OpenAPI document."""

    def __init__(
        self, base_url: str, timeout: float = 30.0, contract: Callable[[str, str, int, bytes], None] | None = None
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.contract = contract

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        retries: int = 2,
        token: str | None = None,
    ) -> Response:
        """One request; connection errors (not HTTP errors) are retried `retries` times, then raised."""
        data = body.encode() if isinstance(body, str) else body
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        path = path if path.startswith("/") else "/" + path
        url = self.base_url + path
        for attempt in range(retries + 1):
            req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
            started = time.monotonic()
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return self._received(
                        method,
                        path,
                        Response(resp.status, dict(resp.headers.items()), resp.read(), time.monotonic() - started),
                    )
            except urllib.error.HTTPError as exc:
                return self._received(
                    method,
                    path,
                    Response(
                        exc.code,
                        dict(exc.headers.items()) if exc.headers else {},
                        exc.read(),
                        time.monotonic() - started,
                    ),
                )
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                if attempt >= retries:
                    raise ConnectionError(f"{method} {url}: {exc}") from exc
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")

    def _received(self, method: str, path: str, response: Response) -> Response:
        if self.contract is not None:
            self.contract(method, path, response.status, response.body)
        return response

    def create_order(
        self, payload: dict[str, Any], idempotency_key: str | None = None, token: str | None = None
    ) -> Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        # Never retried: a lost response with a retry would create a second order (the caller decides).
        return self.request("POST", "/orders", json_body=payload, headers=headers, retries=0, token=token)

    def get_order(self, order_id: str, token: str | None = None) -> Response:
        return self.request("GET", f"/orders/{order_id}", token=token)

    def customer_orders(self, customer_id: str, token: str | None = None) -> Response:
        return self.request("GET", f"/customers/{customer_id}/orders", token=token)

    def cancel_order(self, order_id: str, token: str | None = None) -> Response:
        return self.request("DELETE", f"/orders/{order_id}", retries=0, token=token)


def order_payload(customer_id: str, items: Sequence[tuple[str, int, str | float]]) -> dict[str, Any]:
    """A POST /orders body; prices as numbers with two decimals, totalAmount the exact sum. The prices are
    expectations: they must be the catalogue's (the inventory items' `price`), or the API answers 409."""
    from decimal import Decimal

    lines = [{"productId": pid, "quantity": int(qty), "price": float(Decimal(str(price)))} for pid, qty, price in items]
    total = sum((Decimal(str(price)) * int(qty) for _, qty, price in items), Decimal(0)).quantize(Decimal("0.01"))
    return {"customerId": customer_id, "items": lines, "totalAmount": float(total)}


# --- Step Functions execution history -----------------------------------------------------------------------------

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


# --- reports ------------------------------------------------------------------------------------------------------


def scenario_rows(records: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for sc in records.get("scenarios", []):
        lat = [o.get("latency_s") for o in sc.get("orders", []) if o.get("latency_s") is not None]
        statuses: dict[str, int] = {}
        for order in sc.get("orders", []):
            statuses[order.get("status") or "?"] = statuses.get(order.get("status") or "?", 0) + 1
        mix = " ".join(f"{k}={v}" for k, v in sorted(statuses.items())) or "-"
        rows.append(
            [
                sc["name"],
                len(sc.get("orders", [])),
                sc.get("outcome", "?").upper(),
                fmt_seconds(percentile(lat, 50)),
                fmt_seconds(max(lat) if lat else None),
                f"{sc.get('duration_s', 0):.1f}s",
                mix,
            ]
        )
    return rows


SUMMARY_HEADERS = ("scenario", "orders", "outcome", "p50", "max", "duration", "final statuses")


def summary_table(records: dict[str, Any]) -> str:
    return format_table(SUMMARY_HEADERS, scenario_rows(records))


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _offset(base: datetime | None, value: Any) -> str:
    ts = parse_ts(value)
    if base is None or ts is None:
        return ""
    return f"{(ts - base).total_seconds() * 1000:+.0f} ms"


def _order_html(order: dict[str, Any]) -> str:
    # Time zero: the order accepted (createdAt, written by the order Lambda before it answers 201).
    accepted = parse_ts(order.get("createdAt")) or parse_ts(order.get("acceptedAt"))
    steps = [
        ("accepted", "accepted: POST /orders -> order PENDING", order.get("createdAt") or order.get("acceptedAt")),
        ("client", f"HTTP {order.get('httpStatus') or 201} received by the client", order.get("acceptedAt")),
    ]
    for ex in order.get("executions", []):
        label = f"{ex.get('stateMachine', '?')} {ex.get('name', '')}".strip()
        steps.append(("execution", f"{label} started", ex.get("start")))
        for state in ex.get("states", []):
            steps.append(("state", f"{state.get('type', '')} {state.get('name')}", state.get("entered")))
        for retry in ex.get("retries", []):
            steps.append(
                (
                    "retry",
                    f"retry in {retry['state']}: {retry['attempts']} attempts ({', '.join(map(str, retry['errors']))})",
                    None,
                )
            )
        steps.append(
            (
                "execution",
                f"{label} {ex.get('status')}" + (f" {ex.get('error')}" if ex.get("error") else ""),
                ex.get("stop"),
            )
        )
    for entry in order.get("statusHistory", [])[1:]:
        steps.append(
            (
                "status",
                f"status {entry.get('status')}" + (f" ({entry.get('reason')})" if entry.get("reason") else ""),
                entry.get("at"),
            )
        )
    timed = sorted((s for s in steps if parse_ts(s[2])), key=lambda s: parse_ts(s[2]))
    untimed = [s for s in steps if not parse_ts(s[2])]
    items = "".join(
        f'<li class="{k}"><span class="t">{_esc(iso(parse_ts(t)))}</span> <span class="o">{_esc(_offset(accepted, t))}</span> '
        f"{_esc(text)}</li>"
        for k, text, t in timed + untimed
    )
    status = order.get("status") or "?"
    css = (
        "ok"
        if status == "COMPLETED"
        else ("bad" if status in ("FAILED", "?") or status not in TERMINAL_STATUSES else "warn")
    )
    summary = (
        f"<code>{_esc(order.get('orderId'))}</code> {_esc(order.get('label') or '')} "
        f'<b class="{css}">{_esc(status)}</b> in {_esc(fmt_seconds(order.get("latency_s")))}'
    )
    return f"<details><summary>{summary}</summary><ol>{items}</ol></details>"


def render_html(records: dict[str, Any]) -> str:
    """A self-contained HTML page (inline CSS, no scripts): summary table, then per scenario, per order: accepted ->
    each workflow state with its timestamp from the execution history -> terminal status, with times."""
    meta = records.get("meta", {})
    head_rows = "".join(
        "<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in scenario_rows(records)
    )
    sections = []
    for sc in records.get("scenarios", []):
        orders = sc.get("orders", [])
        notes = "".join(f"<li>{_esc(n)}</li>" for n in sc.get("notes", []))
        message = f"<pre class='bad'>{_esc(sc.get('message'))}</pre>" if sc.get("message") else ""
        sections.append(
            f'<section id="{_esc(sc["name"])}"><h2>{_esc(sc["name"])} <small class="{"ok" if sc.get("outcome") == "passed" else "bad"}">'
            f"{_esc(sc.get('outcome'))}</small></h2><p>{_esc(sc.get('nodeid'))} &middot; {len(orders)} orders &middot; "
            f'{sc.get("duration_s", 0):.1f}s</p>{message}<ul class="notes">{notes}</ul>'
            + "".join(_order_html(o) for o in orders)
            + "</section>"
        )
    style = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}code,.t,.o{font-family:ui-monospace,monospace}
.o{color:#777;display:inline-block;min-width:7em}.t{color:#555}.ok{color:#176f2c}.bad{color:#b00020}.warn{color:#a15c00}
details{margin:2px 0}summary{cursor:pointer}li.state{color:#234}li.status{font-weight:600}li.retry{color:#a15c00}
li.execution,li.client{color:#555}section{margin-top:2em;border-top:1px solid #ddd}pre{white-space:pre-wrap}"""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>orderflow e2e {_esc(meta.get('env'))} "
        f"{_esc(meta.get('run_id'))}</title><style>{style}</style></head><body>"
        f"<h1>orderflow e2e: env {_esc(meta.get('env'))}, run {_esc(meta.get('run_id'))}</h1>"
        f"<p>{_esc(meta.get('started'))} &rarr; {_esc(meta.get('finished'))} &middot; API {_esc(meta.get('api_url'))} "
        f"&middot; pytest exit {_esc(meta.get('exit_code'))}</p>"
        f"<table><tr>{''.join(f'<th>{_esc(h)}</th>' for h in SUMMARY_HEADERS)}</tr>{head_rows}</table>"
        f"<p>Latency: API accepted (order createdAt) to the terminal status's statusHistory time.</p>"
        + "".join(sections)
        + "</body></html>"
    )


# --- the runner ---------------------------------------------------------------------------------------------------


def reports_dir(env: str) -> Path:
    return env_build_dir(env) / "reports"


def restore_leftovers(env: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """Put back what a previous, interrupted run changed: re-enable its disabled rules, restore the environment of
    the functions and the settings of the Cognito app client it reconfigured (tests record each in RESTORE_FILE
    before changing anything)."""
    path = reports_dir(env) / RESTORE_FILE
    if not path.exists():
        return {}
    pending = json.loads(path.read_text() or "{}")
    from scripts.stack import aws_client

    for name in pending.get("rules", []):
        try:
            aws_client(env, "events").enable_rule(Name=name, EventBusName=outputs["event_bus_name"])
            print(f"Re-enabled rule {name}, left disabled by an interrupted run.")
        except Exception as exc:  # noqa: BLE001 - best effort: the rule may be gone with a redeploy
            print(f"warning: could not re-enable rule {name}: {exc}")
    for key, config in pending.get("user_pool_clients", {}).items():
        try:
            aws_client(env, "cognito-idp").update_user_pool_client(**config)
            print(f"Restored the settings of app client {key}, left changed by an interrupted run.")
        except Exception as exc:  # noqa: BLE001
            print(f"warning: could not restore the settings of app client {key}: {exc}")
    for name, variables in pending.get("functions", {}).items():
        try:
            lam = aws_client(env, "lambda")
            lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
            lam.get_waiter("function_updated_v2").wait(FunctionName=name)
            print(f"Restored the environment of {name}, left changed by an interrupted run.")
        except Exception as exc:  # noqa: BLE001
            print(f"warning: could not restore the environment of {name}: {exc}")
    path.unlink(missing_ok=True)
    return pending


def _run_pytest(cmd: list[str], child_env: dict[str, str]) -> int:
    """pytest in a child process. A SIGTERM or SIGINT of the runner is forwarded as SIGTERM, which the suite's conftest
    turns into KeyboardInterrupt; the runner waits, so fixtures still put back what they changed (rules, function
    environments) before the process ends. (SIGINT itself is not forwarded: a background job may ignore it.)"""
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=child_env)
    previous = signal.getsignal(signal.SIGTERM)

    def forward(signum: int, _frame: Any) -> None:
        proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # the terminal's SIGINT reached pytest too; let it tear down
                forward(signal.SIGINT, None)
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(env: str, keyword: str = "") -> int:
    """Run tests/e2e against the deployed env; print the summary table; return pytest's exit code."""
    from scripts.common import check_env

    check_env(env)
    outputs = read_outputs(env)
    if is_local(env):
        from scripts import local_cloud

        local_cloud.require_up()
        from scripts.stack import local_stack_exists

        if not local_stack_exists(env, outputs):
            raise UserError(
                f"The local stack in {env_build_dir(env).relative_to(REPO_ROOT)}/outputs.json is gone from the "
                f"local cloud (restarted or reset?): redeploy with `invoke deploy --env {env}`."
            )
    out_dir = reports_dir(env)
    out_dir.mkdir(parents=True, exist_ok=True)
    restore_leftovers(env, outputs)

    from scripts import seed

    seed.seed(env)
    run_id = new_run_id()
    records_path, junit, report = out_dir / "e2e-records.json", out_dir / "e2e-junit.xml", out_dir / "e2e-report.html"
    records_path.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(E2E_DIR.relative_to(REPO_ROOT)),
        "--ignore",
        str((E2E_DIR / "selftest").relative_to(REPO_ROOT)),
        "-v",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "-o",
        "junit_suite_name=orderflow-e2e",
        "-o",
        "junit_family=xunit2",
    ]
    if keyword:
        cmd += ["-k", keyword]
    child_env = {
        **os.environ,
        "ORDERFLOW_ENV": env,
        "ORDERFLOW_OUTPUTS": str(env_build_dir(env) / "outputs.json"),
        "ORDERFLOW_RUN_ID": run_id,
        "ORDERFLOW_E2E_RECORDS": str(records_path),
        "ORDERFLOW_E2E_STRICT": "1",
        "PYTHONUNBUFFERED": "1",
    }
    print(f"e2e run {run_id} against env '{env}' (API {outputs.get('api_url')})", flush=True)
    started = utcnow()
    code = _run_pytest(cmd, child_env)
    finished = utcnow()

    records = json.loads(records_path.read_text()) if records_path.exists() else {"scenarios": []}
    records["meta"] = {
        **records.get("meta", {}),
        "env": env,
        "run_id": run_id,
        "started": iso(started),
        "finished": iso(finished),
        "exit_code": code,
        "api_url": outputs.get("api_url"),
    }
    write_json(records_path, records)
    report.write_text(render_html(records))
    print("\n" + summary_table(records))
    total = (finished - started).total_seconds()
    print(
        f"\npytest exit {code} in {total:.0f}s. Reports: {junit.relative_to(REPO_ROOT)}, {report.relative_to(REPO_ROOT)}, "
        f"{records_path.relative_to(REPO_ROOT)}"
    )
    return code
