"""What one order costs in work, counted around an `invoke bench` load window (issue 13): the breakdown that
`invoke bench` puts into its report and `invoke cost` prices (scripts/cost.py).

Measured, from the cloud, over the window (bench start after the baseline -> every execution of the window ended):
* Lambda invocations by function: START lines in each function's log group (`/aws/lambda/<fn>` or its LoggingConfig
  group; MiniStack writes START/END/REPORT per invocation, as AWS does), with the REPORT lines' billed duration and
  the bytes of every log line (CloudWatch Logs ingestion). Memory and architecture from GetFunctionConfiguration.
* State transitions by workflow: every execution started in the window, its GetExecutionHistory's `*StateEntered`
  events (what AWS bills for Standard), its Lambda tasks by function and its duration (startDate -> stopDate).
  MiniStack logs no state events inside a Parallel branch (the finalization): those states are rebuilt from the
  definition and the number of tasks the branch ran, and reported apart (`branch_transitions_rebuilt`).
* Events put on the bus: the archive's EventCount after minus before (DescribeArchive; the archive takes every event).
* S3 PUTs: objects in the notifications bucket after minus before.
* API requests: the POSTs the bench sent (one per order plus its retries).
* CPU seconds of the local cloud: utime + stime + cutime + cstime of the MiniStack process and every descendant
  (its Lambda workers), from /proc/<pid>/stat, after minus before; split into the MiniStack process itself, each
  function's workers (named in their command line) and reaped workers (the parent's cutime + cstime).
* CPU seconds of the bench client (its own process time) and the machine's busy share (/proc/stat), over the window.

Derived, not measured: DynamoDB request units. The services do not ask for ReturnConsumedCapacity and the local cloud
keeps no request counts, so `DYNAMODB_PER_COMPLETED_ORDER` lists the calls of a completed order's code path (read
from services/, each with its file) and their request units (items < 1 KB, on-demand)."""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from scripts.history import function_name_of

#: A completed order's DynamoDB calls, read from the code path of services/ (2026-12-07): (who, calls, tables, RRU, WRU).
#: Request units, on-demand: a strongly consistent read of an item < 4 KB is 1 RRU, a write of an item < 1 KB 1 WRU,
#: every item of a TransactWriteItems 2 WRU. Items are assumed < 1 KB (an order near 1 KB costs a unit more per KB);
#: the bench's orders hold 1-3 products, 2 on average, which the catalogue read and the reservation count.
DYNAMODB_PER_COMPLETED_ORDER: tuple[tuple[str, str, str, float, float], ...] = (
    ("order api (POST)", "Powertools idempotency PutItem + UpdateItem", "idempotency", 0, 2),
    ("order api (POST)", "catalogue BatchGetItem, consistent, 2 products", "inventory", 2, 0),
    ("order api (POST)", "TransactWriteItems order + outbox event (2 items)", "orders, outbox", 0, 4),
    ("order api (POST)", "outbox event published: DeleteItem", "outbox", 0, 1),
    ("workflow OwnOrder (dynamodb:updateItem, no Lambda)", "UpdateItem owner, ReturnValues ALL_NEW", "orders", 0, 1),
    ("payment charge", "GetItem order", "orders", 1, 0),
    ("payment charge", "PutItem intent + UpdateItem PAID (no read: a first charge finds no row)", "payments", 0, 2),
    ("payment charge", "circuit breaker GetItem (closed: no write)", "circuit-breaker", 1, 0),
    ("payment charge", "gateway ledger GetItem + PutItem", "payment-gateway", 1, 1),
    ("payment charge", "order PAID: UpdateItem", "orders", 0, 1),
    ("inventory reserve", "GetItem order", "orders", 1, 0),
    (
        "inventory reserve",
        "TransactWriteItems reservation + 2 products + order (4 items)",
        "reservations, inventory, orders",
        0,
        8,
    ),
    (
        "workflow CompleteOrder (aws-sdk:dynamodb:transactWriteItems, no Lambda)",
        "TransactWriteItems order + event + finalize duty (3 items)",
        "orders, outbox",
        0,
        6,
    ),
    ("workflow ForgetCompletedEvent (dynamodb:deleteItem, no Lambda)", "DeleteItem outbox event", "outbox", 0, 1),
    ("notification", "none (S3 PutObject)", "-", 0, 0),
    ("workflow Settle (dynamodb:deleteItem, no Lambda)", "DeleteItem finalize duty", "outbox", 0, 1),
)


def dynamodb_per_completed_order() -> dict[str, Any]:
    rru = sum(row[3] for row in DYNAMODB_PER_COMPLETED_ORDER)
    wru = sum(row[4] for row in DYNAMODB_PER_COMPLETED_ORDER)
    return {
        "derived": True,
        "how": "derived from the services' code path of a completed order (not measured): scripts/cost_model.py",
        "read_request_units": rru,
        "write_request_units": wru,
        "calls": [
            {"who": who, "call": call, "tables": tables, "rru": r, "wru": w}
            for who, call, tables, r, w in DYNAMODB_PER_COMPLETED_ORDER
        ],
    }


# --- CPU time of a process tree (/proc) -----------------------------------------------------------------------------


def parse_stat(text: str) -> dict[str, int]:
    """pid, ppid and utime/stime/cutime/cstime (clock ticks) of a /proc/<pid>/stat line (the command may hold
    spaces and parentheses: the fields start after the last ')')."""
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    # rest starts at field 3 (state): ppid is field 4, utime..cstime are fields 14..17 (1-based, proc(5))
    return {
        "pid": int(head.split("(", 1)[0]),
        "ppid": int(fields[1]),
        "utime": int(fields[11]),
        "stime": int(fields[12]),
        "cutime": int(fields[13]),
        "cstime": int(fields[14]),
    }


#: The groups of the local cloud's CPU split besides one per function's workers.
OWN_PROCESS, REAPED_WORKERS, OTHER_DESCENDANTS = "local cloud process", "reaped workers", "other descendants"


def tree_cpu_split(root: int, procs: Iterable[tuple[str, str]], workers: dict[str, str] | None = None) -> Counter:
    """CPU ticks of `root` and its descendants, by group, from (/proc/<pid>/stat text, command line) pairs: the root's
    own utime + stime (OWN_PROCESS), its cutime + cstime (REAPED_WORKERS: Lambda workers that exited), and each
    descendant's four fields under `workers[name]` for the first name its command line holds (a function's workers:
    MiniStack runs them from a folder named after the function), else OTHER_DESCENDANTS."""
    stats, commands = {}, {}
    for text, command in procs:
        try:
            stat = parse_stat(text)
        except (ValueError, IndexError):
            continue
        stats[stat["pid"]], commands[stat["pid"]] = stat, command
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat["ppid"], []).append(stat["pid"])
    split: Counter = Counter()
    if root not in stats:
        return split
    split[OWN_PROCESS] += stats[root]["utime"] + stats[root]["stime"]
    split[REAPED_WORKERS] += stats[root]["cutime"] + stats[root]["cstime"]
    todo = list(children.get(root, []))
    while todo:
        stat = stats[todo.pop()]
        group = next((label for name, label in (workers or {}).items() if name in commands[stat["pid"]]), None)
        split[group or OTHER_DESCENDANTS] += stat["utime"] + stat["stime"] + stat["cutime"] + stat["cstime"]
        todo += children.get(stat["pid"], [])
    return split


def _all_procs(proc: Path) -> Iterable[tuple[str, str]]:
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:  # gone meanwhile, or not readable: its CPU still counts, in no function's group
                command = ""
            yield stat, command


def tree_cpu_split_seconds(
    root: int | None, workers: dict[str, str] | None = None, proc: Path = Path("/proc")
) -> dict[str, float] | None:
    """tree_cpu_split of the running machine, in seconds (None without a root or a /proc)."""
    if root is None or not proc.exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return {group: ticks / tick for group, ticks in tree_cpu_split(root, _all_procs(proc), workers).items()}


def machine_cpu_seconds(proc: Path = Path("/proc")) -> dict[str, float] | None:
    """The machine's busy and total CPU seconds since boot, all CPUs (/proc/stat's `cpu` line; idle + iowait are
    not busy); None where there is no /proc/stat."""
    try:
        fields = [int(x) for x in (proc / "stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, IndexError, ValueError):
        return None
    tick, total = os.sysconf("SC_CLK_TCK"), sum(fields[:8])  # guest time is already in user/nice
    return {"busy": (total - fields[3] - fields[4]) / tick, "total": total / tick}


# --- Lambda log lines -----------------------------------------------------------------------------------------------

_REPORT = re.compile(r"^REPORT RequestId: \S+\s+Duration: ([\d.]+) ms\s+Billed Duration: ([\d.]+) ms")


def count_log_lines(messages: Iterable[str]) -> dict[str, float]:
    """Invocations (START lines), billed milliseconds (REPORT lines) and bytes of a function's log lines."""
    invocations, reports, billed_ms, size = 0, 0, 0.0, 0
    for message in messages:
        size += len(message.encode())
        if message.startswith("START RequestId:"):
            invocations += 1
        elif match := _REPORT.match(message):
            reports += 1
            billed_ms += float(match.group(2))
    return {"invocations": invocations, "reports": reports, "billed_ms": billed_ms, "log_bytes": size}


# --- execution histories --------------------------------------------------------------------------------------------


def _find_state(states: dict[str, Any], name: str) -> dict[str, Any] | None:
    for state_name, state in (states or {}).items():
        if state_name == name:
            return state
        for branch in state.get("Branches", []) or []:
            if found := _find_state(branch.get("States", {}), name):
                return found
    return None


def _branch_path(branch: dict[str, Any], tasks: int, functions: dict[str, str]) -> tuple[int, list[str]] | None:
    """The states a Parallel branch ran and the functions its Tasks called, rebuilt from the definition: MiniStack
    logs no state events inside a Parallel branch (AWS does, and bills them) and its task events do not name their
    function. The branch's paths from StartAt to a successful end that run exactly `tasks` Task states (retries
    excluded) are the candidates (the Parallel state exited, so no Fail state ran); when they agree on their states, that path; None when none or several different ones fit."""
    states = branch.get("States", {})
    fits: set[tuple[str, ...]] = set()

    def walk(name: str | None, path: tuple[str, ...]) -> None:
        state = states.get(name or "")
        if state is None or name in path:
            return
        path += (name,)
        if sum(states[n]["Type"] == "Task" for n in path) > tasks:
            return
        if state["Type"] == "Fail":
            return  # the branch ended: a Fail would have failed the Parallel state, which exited
        if state["Type"] == "Succeed" or state.get("End"):
            if sum(states[n]["Type"] == "Task" for n in path) == tasks:
                fits.add(path)
            return
        for nxt in [c.get("Next") for c in state.get("Choices", [])] + [state.get("Default"), state.get("Next")]:
            if nxt:
                walk(nxt, path)

    walk(branch.get("StartAt"), ())
    if len(fits) != 1:
        return None
    path = fits.pop()
    return len(path), [functions.get(n, "?") for n in path if states[n]["Type"] == "Task"]


def count_history(
    events: Iterable[dict[str, Any]],
    functions: dict[str, str] | None = None,
    definition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """State transitions (`*StateEntered`, what Standard bills) and Lambda tasks by function of one history.

    functions: {state: function} of the definition (history.task_functions), for task events that do not name their
    function (MiniStack's): a task is the most recently entered state's.
    definition: the state machine's ASL; when a Parallel state's history shows tasks but no state events (MiniStack),
    the branch's states are rebuilt from it (`_branch_path`) and counted apart as `branch_transitions_rebuilt`."""
    functions, events = functions or {}, list(events)
    transitions, tasks, current, rebuilt, unresolved = 0, Counter(), None, 0, 0
    parallel: dict[str, Any] | None = None  # the Parallel state being run: {name, attempts per task, entered_inside}
    retry = False
    for event in events:
        etype = event.get("type", "")
        if etype.endswith("StateEntered"):
            transitions += 1
            current = (event.get("stateEnteredEventDetails") or {}).get("name")
            if etype == "ParallelStateEntered":
                parallel = {"name": current, "attempts": [], "entered_inside": False}
            elif parallel is not None:
                parallel["entered_inside"] = True
        elif etype in ("TaskScheduled", "LambdaFunctionScheduled"):
            details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
            tasks[function_name_of(details) or functions.get(current) or "?"] += 1
            if parallel is not None and retry and parallel["attempts"]:
                parallel["attempts"][-1] += 1
            elif parallel is not None:
                parallel["attempts"].append(1)
            retry = False
        elif etype in ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "LambdaFunctionTimedOut"):
            retry = True  # the next task scheduled is the same state's retry
        elif etype == "ParallelStateExited" and parallel is not None:
            if not parallel["entered_inside"] and parallel["attempts"]:  # a branch without state events
                state = _find_state((definition or {}).get("States", {}), parallel["name"])
                branches = (state or {}).get("Branches") or []
                runs = len(parallel["attempts"])
                path = _branch_path(branches[0], runs, functions) if len(branches) == 1 else None
                if path is None:
                    unresolved += 1
                else:
                    rebuilt += path[0]
                    for function, attempts in zip(path[1], parallel["attempts"], strict=True):
                        moved = min(attempts, tasks.get("?", 0))
                        tasks["?"] -= moved
                        tasks[function] += moved
            parallel = None
    return {
        "transitions": transitions + rebuilt,
        "branch_transitions_rebuilt": rebuilt,
        "branches_unresolved": unresolved,
        "lambda_tasks": {fn: n for fn, n in tasks.items() if n},
    }


# --- snapshots around the window ------------------------------------------------------------------------------------


class Meter:
    """Counters read before and after the bench's load window (see the module's docstring)."""

    def __init__(self, env: str, outputs: dict[str, Any]):
        from scripts.aws_session import aws_client
        from scripts.common import is_local

        self.env, self.outputs = env, outputs
        self.lam, self.logs = aws_client(env, "lambda"), aws_client(env, "logs")
        self.sfn, self.events, self.s3 = (
            aws_client(env, "stepfunctions"),
            aws_client(env, "events"),
            aws_client(env, "s3"),
        )
        self.pid = None
        if is_local(env):
            from scripts import local_cloud
            from scripts.common import local_port

            self.pid = local_cloud.Instance(local_port()).pid()
        self.functions = {}
        for service, name in sorted(outputs["function_names"].items()):
            config = self.lam.get_function_configuration(FunctionName=name)
            self.functions[service] = {
                "name": name,
                "memory_mb": config.get("MemorySize"),
                "architecture": (config.get("Architectures") or ["x86_64"])[0],
                "log_group": (config.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}",
            }

    def snapshot(self) -> dict[str, Any]:
        return {
            "at": datetime.now().astimezone(),
            "archive_events": self._archive_events(),
            "s3_objects": self._s3_objects(),
            "cpu_split_s": tree_cpu_split_seconds(self.pid, self.worker_labels()),
            "machine_cpu_s": machine_cpu_seconds(),
            "client_cpu_s": time.process_time(),  # this process, every thread: the bench client
        }

    def worker_labels(self) -> dict[str, str]:
        """MiniStack runs a function's workers from `ministack-lambda-<function name>-<random>`: name -> label."""
        return {f"ministack-lambda-{fn['name']}-": f"{service} workers" for service, fn in self.functions.items()}

    def _archive_events(self) -> int | None:
        try:
            return int(self.events.describe_archive(ArchiveName=self.outputs["archive_name"])["EventCount"])
        except Exception:  # noqa: BLE001 - reported as not measured
            return None

    def _s3_objects(self) -> int | None:
        count, kwargs = 0, {"Bucket": self.outputs["notifications_bucket"]}
        try:
            while True:
                page = self.s3.list_objects_v2(**kwargs)
                count += page.get("KeyCount", len(page.get("Contents", [])))
                if not page.get("IsTruncated"):
                    return count
                kwargs["ContinuationToken"] = page["NextContinuationToken"]
        except Exception:  # noqa: BLE001 - reported as not measured
            return None

    def executions(self, start: datetime) -> dict[str, list[dict[str, Any]]]:
        """Every execution started since `start`, per workflow (scripts/history.ExecutionReader: STANDARD or
        EXPRESS)."""
        reader = self._reader()
        return {
            workflow: list(reader.list_executions(arn, start))
            for workflow, arn in sorted(self.outputs["state_machine_arns"].items())
        }

    def running(self, start: datetime) -> int:
        return sum(e["status"] == "RUNNING" for runs in self.executions(start).values() for e in runs)

    def _reader(self) -> Any:
        from scripts.history import ExecutionReader

        clients = {"stepfunctions": self.sfn, "logs": self.logs}
        return ExecutionReader.for_stack(self.outputs, clients.__getitem__, env=self.env)

    def _history(self, arn: str) -> list[dict[str, Any]]:
        return self._reader().events(arn)

    def _log_lines(self, group: str, start: datetime, end: datetime) -> list[str]:
        kwargs = {
            "logGroupName": group,
            "startTime": int(start.timestamp() * 1000),
            "endTime": int(end.timestamp() * 1000) + 1,
        }
        lines = []
        try:
            while True:
                page = self.logs.filter_log_events(**kwargs)
                lines += [e["message"] for e in page.get("events", [])]
                if not page.get("nextToken"):
                    return lines
                kwargs["nextToken"] = page["nextToken"]
        except self.logs.exceptions.ResourceNotFoundException:
            return lines

    def measure(self, before: dict[str, Any], after: dict[str, Any], orders: int, api_requests: int) -> dict[str, Any]:
        """The window's counts, in total and per order (`orders`: the completed orders of the window)."""
        start, end = before["at"], after["at"]
        lambdas = {}
        for service, fn in self.functions.items():
            counted = count_log_lines(self._log_lines(fn["log_group"], start, end))
            lambdas[service] = {**fn, **counted}
        workflows = {}
        for workflow, runs in self.executions(start).items():
            from scripts.history import integration_tasks, task_functions

            arn = self.outputs["state_machine_arns"][workflow]
            definition = json.loads(self.sfn.describe_state_machine(stateMachineArn=arn)["definition"])
            # a task is named by its function, or by the service action it calls directly (Settle: dynamodb:deleteItem)
            functions = {**integration_tasks(definition), **task_functions(definition)}
            transitions, rebuilt, unresolved, tasks, durations = 0, 0, 0, Counter(), []
            for run in runs:
                counted = count_history(self._history(run["executionArn"]), functions, definition)
                transitions += counted["transitions"]
                rebuilt += counted["branch_transitions_rebuilt"]
                unresolved += counted["branches_unresolved"]
                tasks.update(counted["lambda_tasks"])
                if run.get("stopDate"):
                    durations.append((run["stopDate"] - run["startDate"]).total_seconds())
            workflows[workflow] = {
                "executions": len(runs),
                "transitions": transitions,
                "branch_transitions_rebuilt": rebuilt,
                "branches_unresolved": unresolved,
                "lambda_tasks": dict(tasks),
                "mean_duration_s": round(sum(durations) / len(durations), 3) if durations else None,
            }
        return summarize(
            lambdas=lambdas,
            workflows=workflows,
            events=_delta(before["archive_events"], after["archive_events"]),
            s3_puts=_delta(before["s3_objects"], after["s3_objects"]),
            cpu_split_s=_deltas(before["cpu_split_s"], after["cpu_split_s"]),
            machine_cpu_s=_deltas(before["machine_cpu_s"], after["machine_cpu_s"]),
            client_cpu_s=_delta(before["client_cpu_s"], after["client_cpu_s"]),
            api_requests=api_requests,
            orders=orders,
            window=(start, end),
        )


def _delta(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def _deltas(before: dict[str, float] | None, after: dict[str, float] | None) -> dict[str, float] | None:
    """after - before per key (a worker that appears in the window has 0 before)."""
    if before is None or after is None:
        return None
    return {key: after[key] - before.get(key, 0.0) for key in after}


def _per(value: float | None, orders: int, digits: int = 3) -> float | None:
    return None if value is None or not orders else round(value / orders, digits)


def summarize(
    *,
    lambdas: dict[str, dict[str, Any]],
    workflows: dict[str, dict[str, Any]],
    events: float | None,
    s3_puts: float | None,
    api_requests: int,
    orders: int,
    window: tuple[datetime, datetime],
    cpu_split_s: dict[str, float] | None = None,
    machine_cpu_s: dict[str, float] | None = None,
    client_cpu_s: float | None = None,
) -> dict[str, Any]:
    """The `cost_model` section of a bench result: totals over the window and per completed order."""
    cpu_s = None if cpu_split_s is None else sum(cpu_split_s.values())
    for fn in lambdas.values():
        fn["invocations_per_order"] = _per(fn["invocations"], orders)
        fn["mean_billed_ms"] = round(fn["billed_ms"] / fn["reports"], 1) if fn["reports"] else None
    for wf in workflows.values():
        wf["executions_per_order"] = _per(wf["executions"], orders)
        wf["transitions_per_order"] = _per(wf["transitions"], orders)
    log_bytes = sum(fn["log_bytes"] for fn in lambdas.values())
    return {
        "window": {"start": window[0].isoformat(), "end": window[1].isoformat(), "orders": orders},
        "measured": {
            "lambda": lambdas,
            "workflows": workflows,
            "events_put": events,
            "events_put_per_order": _per(events, orders),
            "s3_puts": s3_puts,
            "s3_puts_per_order": _per(s3_puts, orders),
            "api_requests": api_requests,
            "api_requests_per_order": _per(api_requests, orders),
            "lambda_log_bytes": log_bytes,
            "lambda_log_bytes_per_order": _per(log_bytes, orders, 1),
            "local_cloud_cpu_s": None if cpu_s is None else round(cpu_s, 2),
            "local_cloud_cpu_s_per_order": _per(cpu_s, orders, 4),
            "local_cloud_cpu_s_per_order_by_process": (
                None
                if cpu_split_s is None
                else {group: _per(seconds, orders, 4) for group, seconds in sorted(cpu_split_s.items()) if seconds}
            ),
            "bench_client_cpu_s_per_order": _per(client_cpu_s, orders, 4),
            "machine_busy_share": (
                round(machine_cpu_s["busy"] / machine_cpu_s["total"], 3)
                if machine_cpu_s and machine_cpu_s["total"] > 0
                else None
            ),
        },
        "derived": {"dynamodb": dynamodb_per_completed_order()},
    }


def rows(cost_model: dict[str, Any]) -> list[list[Any]]:
    """(what, total, per order, how) rows of the breakdown for the text and markdown reports."""
    m, orders = cost_model["measured"], cost_model["window"]["orders"]
    out = []
    for service, fn in m["lambda"].items():
        out.append(
            [
                (
                    f"Lambda {service} invocations ({fn['memory_mb']} MB {fn['architecture']}, mean billed "
                    f"{fn['mean_billed_ms']} ms)"
                ),
                fn["invocations"],
                fn["invocations_per_order"],
                "measured: START lines in " + fn["log_group"],
            ]
        )
    for workflow, wf in m["workflows"].items():
        out.append(
            [
                f"{workflow} executions" + (f" (mean {wf['mean_duration_s']} s)" if wf["mean_duration_s"] else ""),
                wf["executions"],
                wf["executions_per_order"],
                "measured: ListExecutions",
            ]
        )
        out.append(
            [
                f"{workflow} state transitions",
                wf["transitions"],
                wf["transitions_per_order"],
                "measured: histories"
                + (
                    f" ({wf['branch_transitions_rebuilt']} Parallel-branch states rebuilt from the definition: "
                    "MiniStack logs none)"
                    if wf.get("branch_transitions_rebuilt")
                    else ""
                )
                + (f"; {wf['branches_unresolved']} branches not rebuilt" if wf.get("branches_unresolved") else ""),
            ]
        )
        if wf["lambda_tasks"]:
            tasks = sum(wf["lambda_tasks"].values())
            by_fn = ", ".join(f"{fn} {n}" for fn, n in sorted(wf["lambda_tasks"].items()))
            out.append([f"{workflow} tasks ({by_fn})", tasks, _per(tasks, orders), "measured: histories"])
    out += [
        ["events put on the bus", m["events_put"], m["events_put_per_order"], "measured: archive EventCount delta"],
        ["S3 PUTs (notifications)", m["s3_puts"], m["s3_puts_per_order"], "measured: bucket object count delta"],
        ["API requests (POST /orders)", m["api_requests"], m["api_requests_per_order"], "measured: the bench's POSTs"],
        ["Lambda log bytes", m["lambda_log_bytes"], m["lambda_log_bytes_per_order"], "measured: log lines' bytes"],
        [
            "local cloud CPU seconds",
            m["local_cloud_cpu_s"],
            m["local_cloud_cpu_s_per_order"],
            "measured: /proc stat of MiniStack + workers",
        ],
    ]
    for group, seconds in (m.get("local_cloud_cpu_s_per_order_by_process") or {}).items():
        out.append([f"  of which {group}", None, seconds, "measured: /proc stat, by process"])
    if m.get("bench_client_cpu_s_per_order") is not None:
        out.append(["bench client CPU seconds", None, m["bench_client_cpu_s_per_order"], "measured: process time"])
    if m.get("machine_busy_share") is not None:
        out.append(["machine busy share (all CPUs)", None, m["machine_busy_share"], "measured: /proc/stat"])
    ddb = cost_model["derived"]["dynamodb"]
    out += [
        ["DynamoDB read request units", None, ddb["read_request_units"], "DERIVED from the code path"],
        ["DynamoDB write request units", None, ddb["write_request_units"], "DERIVED from the code path"],
    ]
    return out
