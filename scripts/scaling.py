"""`invoke scaling --env <env> [--json --seed K --no-warm-up]`: how cost grows with work (issue 13, item 6), from one run.

One `invoke bench` run (scripts/bench.py, closed loop) per shape of MATRIX, back to back against the deployed env:
1, 5, 10 and 20 clients with 1-line orders; orders of 1, 10 and 50 lines with 10 clients; one product that every
order needs, with 1 client (no order contends) and with 20 (the local in-flight cap, preflight.LOCAL_IN_FLIGHT_CAP:
50 orders at once is more than the local cloud is allowed to keep in flight). The 10-client 1-line run serves both
the clients and the lines series. The bare-workflow baseline is measured once, in the first run. A warm-up run
(WARM_UP, left out of the table) starts the Lambda workers first, so the rows compare work, not cold starts.

Each row: orders, completed, throughput (completed orders/s), end-to-end p50 / p99, the local cloud's CPU seconds per
completed order and the Lambda invocations per completed order (scripts/cost_model.py), and the cancelled reservation
transactions (bench.count_conflicts). The order counts (830 orders with the warm-up) keep the whole run well
within 10 minutes on the 2-vCPU machine at the pre-issue-13 throughput (2.5-10 orders/s): 192 s measured on
2026-12-07, each run's sign-ins, history reads and wait for the finalizations included; at a fifth of that throughput
it would still fit. Writes build/<env>/reports/scaling-<run>.md and .json; prints the markdown table (or, with
--json, the JSON)."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

from scripts.common import REPO_ROOT, UserError, reports_dir, write_json
from scripts.text_table import fmt_seconds
from scripts.timeutil import iso, new_run_id, parse_ts

#: the runs' reports are `scaling-run-*.json`: `invoke cost` prices the latest `bench-*.json`, the workload a user
#: benched, not the matrix's last shape
RUN_PREFIX = "scaling-run"


@dataclass(frozen=True)
class Shape:
    """One bench run of the matrix: the series it belongs to, and its workload."""

    series: str
    orders: int
    concurrency: int
    lines: int = 1
    hot_product: bool = False


MATRIX: tuple[Shape, ...] = (
    Shape("clients", orders=40, concurrency=1),
    Shape("clients", orders=100, concurrency=5),
    Shape("clients, lines", orders=200, concurrency=10),
    Shape("clients", orders=200, concurrency=20),
    Shape("lines", orders=100, concurrency=10, lines=10),
    Shape("lines", orders=60, concurrency=10, lines=50),
    Shape("contention", orders=40, concurrency=1, hot_product=True),
    Shape("contention", orders=50, concurrency=20, hot_product=True),
)
#: Run first and left out of the table: it starts a Lambda worker per concurrent invocation up to the matrix's widest
#: concurrency, so every row measures warm workers (MiniStack reaps a worker after 300 s idle; the matrix runs in
#: less). Without it each step up in clients measured the new workers' cold starts (2026-12-07: p99 36 s at 20
#: clients). Redundant once `invoke bench` warms the functions up itself (issue 13, item 3).
WARM_UP = Shape("warm-up", orders=40, concurrency=20)


def label(shape: Shape) -> str:
    product = "1 product for all" if shape.hot_product else "spread over 50 products"
    clients = f"{shape.concurrency} client{'s' if shape.concurrency != 1 else ''}"
    return f"{clients}, {shape.lines} line{'s' if shape.lines != 1 else ''}, {product}"


def row(shape: Shape, result: dict[str, Any]) -> dict[str, Any]:
    """A table row from one bench result (pure)."""
    from scripts import bench

    measured = (result.get("cost_model") or {}).get("measured") or {}
    invocations = [fn.get("invocations_per_order") for fn in (measured.get("lambda") or {}).values()]
    conflicts = result.get("transaction_conflicts") or {}
    e2e = result["latency"]["end_to_end"]
    return {
        "series": shape.series,
        "shape": label(shape),
        "run_id": result["run_id"],
        "orders": result["orders_requested"],
        "completed": result["statuses"].get("COMPLETED", 0),
        "lost": bench.orders_not_terminal(result),
        "completed_per_s": result["throughput"].get("completed_per_s"),
        "e2e_p50_s": e2e.get("p50"),
        "e2e_p99_s": e2e.get("p99"),
        "cpu_s_per_order": measured.get("local_cloud_cpu_s_per_order"),
        "lambda_invocations_per_order": (
            None if not invocations or None in invocations else round(sum(invocations), 2)
        ),
        "reservations_cancelled": conflicts.get("reservations_cancelled"),
        "conflict_codes": conflicts.get("codes") or {},
    }


def _cell(value: Any, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}" if isinstance(value, float) else f"{value}{unit}"


HEADERS = (
    "series",
    "shape",
    "orders",
    "completed",
    "lost",
    "orders/s",
    "e2e p50",
    "e2e p99",
    "CPU s/order",
    "Lambda inv./order",
    "tx cancelled",
)


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of the rows (pure)."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|---|---|" + "---:|" * (len(HEADERS) - 2)]
    for r in rows:
        cancelled = _cell(r["reservations_cancelled"])
        if r["conflict_codes"]:
            cancelled += " (" + ", ".join(f"{code} {n}" for code, n in r["conflict_codes"].items()) + ")"
        cells = [
            r["series"],
            r["shape"],
            _cell(r["orders"]),
            _cell(r["completed"]),
            _cell(r["lost"]),
            _cell(r["completed_per_s"]),
            fmt_seconds(r["e2e_p50_s"]),
            fmt_seconds(r["e2e_p99_s"]),
            _cell(r["cpu_s_per_order"]),
            _cell(r["lambda_invocations_per_order"]),
            cancelled,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def report(doc: dict[str, Any]) -> str:
    """The markdown block for docs/benchmarks.md: command, machine, load, baseline, the table (pure)."""
    m = doc["machine"]
    base = doc.get("baseline_p50_s")
    warm = doc.get("warm_up")
    warmed = (
        f"after a warm-up run left out of the table ({warm['row']['shape']}, {warm['orders']} orders)"
        if warm
        else "no warm-up run"
    )
    return (
        f"### {doc['started']} — env `{doc['env']}`, {len(doc['rows'])} runs in {doc['seconds']:.0f} s\n\n"
        f"Command: `{doc['command']}`  \n"
        f"Machine: {m.get('nproc')} CPUs, {m.get('memory_gib')} GiB, {m.get('cloud')}, Python {m.get('python')}; "
        f"load average {doc['loadavg_before']} before, {doc['loadavg_after']} after  \n"
        f"Order workflow type: {doc.get('workflow_type')}; bare-workflow baseline p50 {fmt_seconds(base)}; "
        f"{warmed}\n\n" + table(doc["rows"])
    )


def run(
    env: str, seed: int = 7, as_json: bool = False, warm_up: bool = True, matrix: tuple[Shape, ...] = MATRIX
) -> dict[str, Any]:
    """Run the matrix (after the WARM_UP run, unless warm_up is False); print and write the table; raise UserError
    when a run lost or refused an order."""
    from scripts import bench
    from scripts.common import check_env

    check_env(env)
    run_id = new_run_id("scaling")
    started_wall, started, load_before = time.time(), time.monotonic(), bench.loadavg()
    rows, results, warm = [], [], None

    def one(shape: Shape, baseline: bool) -> dict[str, Any]:
        return bench.run(
            env,
            orders=shape.orders,
            concurrency=shape.concurrency,
            seed=seed,
            lines=shape.lines,
            hot_product=shape.hot_product,
            baseline_executions=bench.BASELINE_EXECUTIONS if baseline else 0,
            echo=False,
            strict=False,
            run_prefix=RUN_PREFIX,
        )

    # with --json, stdout carries only the JSON: the runs' progress goes to stderr
    with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
        if warm_up:
            print(f"\n[warm-up, not in the table] {label(WARM_UP)}, {WARM_UP.orders} orders", flush=True)
            warm = one(WARM_UP, baseline=False)
        for i, shape in enumerate(matrix, 1):
            print(f"\n[{i}/{len(matrix)}] {shape.series}: {label(shape)}, {shape.orders} orders", flush=True)
            result = one(shape, baseline=i == 1)
            results.append(result)
            rows.append(row(shape, result))
    first = results[0]
    doc = {
        "run_id": run_id,
        "env": env,
        "started": iso(parse_ts(started_wall)),
        "seconds": round(time.monotonic() - started, 1),
        "command": f"invoke scaling --env {env} --seed {seed}" + ("" if warm_up else " --no-warm-up"),
        "machine": first["machine"],
        "loadavg_before": load_before,
        "loadavg_after": bench.loadavg(),
        "workflow_type": first.get("workflow_type"),
        "baseline_p50_s": ((first.get("baseline") or {}).get("server") or {}).get("p50"),
        "matrix": [asdict(s) for s in matrix],
        "warm_up": None if warm is None else {**asdict(WARM_UP), "row": row(WARM_UP, warm)},
        "rows": rows,
    }
    out = reports_dir(env)
    write_json(out / f"{run_id}.json", doc)
    (out / f"{run_id}.md").write_text(report(doc))
    print(json.dumps(doc, indent=2, default=str) if as_json else "\n" + report(doc))
    path = out / f"{run_id}.md"
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    print(f"Report: {shown} (and .json)", file=sys.stderr if as_json else None)
    bad = [r for r in rows if r["lost"]]
    if bad:
        raise UserError(
            f"{len(bad)} of the {len(rows)} runs lost or refused orders ({', '.join(r['shape'] for r in bad)}): "
            "see their bench reports in the same folder."
        )
    return doc
