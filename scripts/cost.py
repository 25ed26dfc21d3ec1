"""`invoke cost --env <env> [--orders-per-month N]`: the monthly bill of the stack's per-order work, per component,
with the workflows as Step Functions Standard and as Express.

The per-order counts are the latest `invoke bench` result's `cost_model` section (build/<env>/reports/bench-*.json,
scripts/cost_model.py says what is measured and what is derived); the prices are the dated table
scripts/prices/<region>.json (no network). Free tier and volume tiers are ignored; only the per-order work is priced
(no fixed monthly costs: KMS keys, alarms, dashboard, storage, the stale-order sweep's schedule)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from scripts.common import REPO_ROOT, UserError, reports_dir
from scripts.text_table import format_table

PRICES_DIR = Path(__file__).resolve().parent / "prices"
VOLUMES = (1_000, 100_000, 10_000_000)
GIB = 1024**3


def _shown(path: Path) -> Path:
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def load_prices(region: str) -> dict[str, Any]:
    path = PRICES_DIR / f"{region}.json"
    if not path.exists():
        raise UserError(
            f"No price table for region {region} ({_shown(path)}): copy scripts/prices/us-east-1.json "
            "and enter that region's prices from the pages it names."
        )
    return json.loads(path.read_text())


def latest_bench(env: str) -> tuple[Path, dict[str, Any]]:
    """The newest bench result of the env that has a cost breakdown."""
    folder = reports_dir(env)
    candidates = sorted(folder.glob("bench-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in candidates:
        result = json.loads(path.read_text())
        if result.get("cost_model"):
            return path, result
    raise UserError(
        f"No bench result with a cost breakdown in {_shown(folder)}: run "
        f"`invoke bench --env {env}` first (it measures the per-order counts that `invoke cost` prices)."
    )


def per_order_costs(cost_model: dict[str, Any], prices: dict[str, Any]) -> list[tuple[str, float, str]]:
    """(component, USD per completed order, how it is computed) for every priced component; the two Step Functions
    rows are alternatives (Standard or Express), the rest is common."""
    from scripts.cost_model import dynamodb_per_completed_order

    m, ddb = cost_model["measured"], dynamodb_per_completed_order()  # derived: the code path's, not the bench's copy
    lam = prices["lambda"]
    invocations = sum(fn["invocations_per_order"] or 0 for fn in m["lambda"].values())
    gb_s = 0.0
    compute = 0.0
    for fn in m["lambda"].values():
        seconds = (fn["invocations_per_order"] or 0) * (fn["mean_billed_ms"] or 0) / 1000
        gb = fn["memory_mb"] / 1024
        gb_s += seconds * gb
        compute += seconds * gb * lam["gb_second"][fn["architecture"]]
    transitions = sum(wf["transitions_per_order"] or 0 for wf in m["workflows"].values())
    std = prices["step_functions_standard"]
    exp = prices["step_functions_express"]
    express_requests, express_gb_s = 0.0, 0.0
    for wf in m["workflows"].values():
        runs = wf["executions_per_order"] or 0
        express_requests += runs
        step = exp["duration_increment_ms"]
        billed_ms = math.ceil((wf["mean_duration_s"] or 0) * 1000 / step) * step
        express_gb_s += runs * billed_ms / 1000 * exp["memory_block_mb"] / 1024
    logs_gb = (m["lambda_log_bytes_per_order"] or 0) / GIB
    return [
        (
            "Lambda requests",
            invocations * lam["request_per_million"] / 1e6,
            f"{invocations:g} invocations x ${lam['request_per_million']}/M",
        ),
        ("Lambda compute", compute, f"{gb_s:.4f} GB-s (memory x mean billed duration per function)"),
        (
            "Step Functions Standard",
            transitions * std["transition_per_thousand"] / 1000,
            f"{transitions:g} state transitions x ${std['transition_per_thousand']}/1000",
        ),
        (
            "Step Functions Express",
            express_requests * exp["request_per_million"] / 1e6 + express_gb_s * exp["gb_second"],
            (
                f"{express_requests:g} executions x ${exp['request_per_million']}/M + {express_gb_s:.4f} GB-s "
                f"({exp['memory_block_mb']} MB, measured mean duration rounded up to {exp['duration_increment_ms']} ms)"
            ),
        ),
        (
            "EventBridge custom events",
            (m["events_put_per_order"] or 0) * prices["eventbridge"]["custom_event_per_million"] / 1e6,
            f"{m['events_put_per_order']} events x ${prices['eventbridge']['custom_event_per_million']}/M",
        ),
        (
            "DynamoDB on-demand (derived)",
            ddb["write_request_units"] * prices["dynamodb_on_demand"]["write_request_unit_per_million"] / 1e6
            + ddb["read_request_units"] * prices["dynamodb_on_demand"]["read_request_unit_per_million"] / 1e6,
            f"{ddb['write_request_units']:g} WRU + {ddb['read_request_units']:g} RRU, derived from the code path",
        ),
        (
            "API Gateway HTTP API",
            (m["api_requests_per_order"] or 0) * prices["api_gateway_http"]["request_per_million"] / 1e6,
            f"{m['api_requests_per_order']} requests x ${prices['api_gateway_http']['request_per_million']}/M",
        ),
        (
            "CloudWatch Logs ingestion",
            logs_gb * prices["cloudwatch_logs"]["ingestion_per_gb"],
            f"{m['lambda_log_bytes_per_order']} bytes of Lambda log lines x ${prices['cloudwatch_logs']['ingestion_per_gb']}/GB",
        ),
        (
            "S3 PUT",
            (m["s3_puts_per_order"] or 0) * prices["s3"]["put_per_thousand"] / 1000,
            f"{m['s3_puts_per_order']} PUTs x ${prices['s3']['put_per_thousand']}/1000",
        ),
    ]


def monthly(costs: list[tuple[str, float, str]], volumes: tuple[int, ...]) -> list[list[Any]]:
    """Rows: component, per order, then the monthly bill at each volume; totals for Standard and for Express."""

    def money(value: float) -> str:
        return f"{value:,.2f}"

    rows = [[name, f"{per:.8f}", *[money(per * n) for n in volumes], how] for name, per, how in costs]
    common = sum(per for name, per, _ in costs if not name.startswith("Step Functions"))
    for flavour in ("Standard", "Express"):
        per = common + next(p for name, p, _ in costs if name == f"Step Functions {flavour}")
        rows.append([f"TOTAL with {flavour}", f"{per:.8f}", *[money(per * n) for n in volumes], ""])
    return rows


def assumptions(region: str, prices: dict[str, Any], bench_path: Path, result: dict[str, Any]) -> list[str]:
    return [
        (
            f"prices: scripts/prices/{region}.json, as of {prices['as_of']}, {prices['currency']} ({region}); free tier "
            "and volume discounts ignored; only per-order work (no fixed monthly costs, storage or the sweep's schedule)"
        ),
        (
            f"counts: {_shown(bench_path)} ({result['command']}, "
            f"{result['cost_model']['window']['orders']} completed orders, env '{result['env']}')"
        ),
        (
            "measured: Lambda invocations and billed durations (log lines), state transitions and execution durations "
            "(histories; on MiniStack the Parallel-branch states rebuilt from the definition), events (archive count), S3 PUTs (bucket count), API requests (the bench); "
            "DERIVED: DynamoDB request units (from the code path, scripts/cost_model.py)"
        ),
        (
            "Express: the same executions as Express workflows, billed per request plus duration at one 64 MB block, the "
            "measured mean execution duration rounded up to 100 ms (local-cloud durations: slower than AWS)"
        ),
        (
            "Lambda compute: the measured mean billed duration on this cloud (a local cloud's subprocess timings, not "
            "AWS's) x the deployed memory and architecture (GetFunctionConfiguration at bench time)"
        ),
    ]


def run(env: str, orders_per_month: int = 0) -> list[list[Any]]:
    from scripts.aws_session import region as env_region
    from scripts.common import check_env

    check_env(env)
    region = env_region(env)
    prices = load_prices(region)
    path, result = latest_bench(env)
    volumes = (orders_per_month,) if orders_per_month else VOLUMES
    rows = monthly(per_order_costs(result["cost_model"], prices), volumes)
    headers = ("component", "USD/order", *[f"{n:,}/month" for n in volumes], "how")
    print(f"Monthly bill of the per-order work, env '{env}' ({region}), Standard or Express workflows:\n")
    print(format_table(headers, rows))
    print("\nAssumptions:")
    for line in assumptions(region, prices, path, result):
        print(f"  - {line}")
    return rows
