"""`invoke bench`'s targets line, workload shapes and conflict count (scripts/bench.py): figures worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from scripts import bench, cost_model
from scripts.common import UserError


def _result(
    *,
    completed_per_s: float | None,
    p50: float | None,
    p99: float | None,
    baseline_p50: float | None,
    invocations: dict[str, float | None] | None,
    accepted: int = 500,
    terminal: int = 500,
    lost: int = 0,
    rejected: int = 0,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "accepted": accepted,
        "terminal": terminal,
        "lost": lost,
        "rejected": rejected,
        "workflow_type": "STANDARD",
        "throughput": {"completed_per_s": completed_per_s},
        "latency": {"end_to_end": {"p50": p50, "p99": p99}},
        "baseline": None if baseline_p50 is None else {"server": {"p50": baseline_p50}},
    }
    if invocations is not None:
        result["cost_model"] = {
            "measured": {"lambda": {fn: {"invocations_per_order": n} for fn, n in invocations.items()}}
        }
    return result


#: the issue's "before" figures: 13.9 orders/s, p50 520 ms, p99 768 ms, baseline p50 151 ms, 9 invocations per order
BEFORE = _result(
    completed_per_s=13.9,
    p50=0.520,
    p99=0.768,
    baseline_p50=0.151,
    invocations={"inventory": 1.0, "notification": 3.0, "order": 4.0, "payment": 1.0},
)


def test_the_targets_are_the_issues() -> None:
    assert bench.TARGETS == {
        "completed_per_s_min": 25.0,
        "e2e_p50_over_baseline_p50_max": 2.0,
        "e2e_p99_over_baseline_p50_max": 5.0,
        "lost_max": 0,
        "lambda_invocations_per_order_max": 4,
    }


def test_verdicts_of_the_issues_before_figures() -> None:
    # 13.9 / 25 = 0.556; 0.520 / 0.151 = 3.444; 0.768 / 0.151 = 5.086 (just over 5); 1 + 3 + 4 + 1 = 9, 9 / 4 = 2.25
    assert bench.verdicts(BEFORE) == [
        {
            "target": "throughput",
            "rule": ">= 25 orders/s completed",
            "measured": 13.9,
            "ratio": 0.56,
            "met": False,
        },
        {
            "target": "end-to-end p50",
            "rule": "<= 2x the baseline's p50",
            "measured": 0.520,
            "ratio": 3.44,
            "met": False,
        },
        {
            "target": "end-to-end p99",
            "rule": "<= 5x the baseline's p50",
            "measured": 0.768,
            "ratio": 5.09,
            "met": False,
        },
        {
            "target": "lost orders",
            "rule": "0 (every order terminal: accepted, not lost, none rejected)",
            "measured": 0,
            "ratio": None,
            "met": True,
        },
        {
            "target": "Lambda invocations per completed order",
            "rule": "<= 4",
            "measured": 9.0,
            "ratio": 2.25,
            "met": False,
        },
    ]


def test_verdicts_on_the_bounds_are_met() -> None:
    # 25 orders/s exactly; p50 0.300 = 2.0 x 0.150; p99 0.750 = 5.0 x 0.150; 1 + 1 + 1 + 1 = 4 invocations
    result = _result(
        completed_per_s=25.0,
        p50=0.300,
        p99=0.750,
        baseline_p50=0.150,
        invocations={"inventory": 1.0, "notification": 1.0, "order": 1.0, "payment": 1.0},
    )
    assert [(v["ratio"], v["met"]) for v in bench.verdicts(result)] == [
        (1.0, True),
        (2.0, True),
        (5.0, True),
        (None, True),
        (1.0, True),
    ]


def test_verdicts_just_past_the_bounds_are_not_met() -> None:
    # 24.99 < 25; 0.301 / 0.150 = 2.0067; 0.751 / 0.150 = 5.0067; 4.005 > 4
    result = _result(
        completed_per_s=24.99,
        p50=0.301,
        p99=0.751,
        baseline_p50=0.150,
        invocations={"inventory": 1.0, "notification": 1.005, "order": 1.0, "payment": 1.0},
    )
    assert [v["met"] for v in bench.verdicts(result)] == [False, False, False, True, False]
    assert [v["ratio"] for v in bench.verdicts(result)] == [1.0, 2.01, 5.01, None, 1.0]


@pytest.mark.parametrize(
    ("accepted", "terminal", "lost", "rejected", "expected"),
    [
        (500, 500, 0, 0, 0),
        (500, 498, 2, 0, 2),  # two accepted orders past their deadline
        (499, 499, 0, 1, 1),  # one submission refused after its retries
        (500, 497, 2, 1, 4),  # three not terminal (one seen late by no client) and one refused
    ],
)
def test_lost_counts_every_order_that_did_not_reach_a_terminal_status(
    accepted: int, terminal: int, lost: int, rejected: int, expected: int
) -> None:
    result = _result(
        completed_per_s=30.0,
        p50=0.2,
        p99=0.4,
        baseline_p50=0.15,
        invocations={"order": 1.0},
        accepted=accepted,
        terminal=terminal,
        lost=lost,
        rejected=rejected,
    )
    lost_verdict = bench.verdicts(result)[3]
    assert (lost_verdict["measured"], lost_verdict["met"]) == (expected, expected == 0)


def test_figures_not_measured_have_no_verdict() -> None:
    result = _result(completed_per_s=None, p50=0.5, p99=0.7, baseline_p50=None, invocations=None)
    verdicts = bench.verdicts(result)
    assert [(v["measured"], v["ratio"], v["met"]) for v in verdicts] == [
        (None, None, None),
        (0.5, None, None),
        (0.7, None, None),
        (0, None, True),
        (None, None, None),
    ]
    # a function whose invocations were not counted leaves the sum unmeasured
    partial = _result(
        completed_per_s=30.0, p50=0.2, p99=0.4, baseline_p50=0.15, invocations={"order": 1.0, "payment": None}
    )
    assert bench.verdicts(partial)[4]["met"] is None


def test_the_targets_line_prints_one_line_per_target_with_its_ratio() -> None:
    result = {**BEFORE, "targets": bench.verdicts(BEFORE)}
    assert bench.target_lines(result) == [
        (
            "targets (issue 13; latency ratios divide by the bare-workflow baseline's p50 of this run, 151ms); "
            "order workflow type STANDARD:"
        ),
        "  NOT MET      throughput: 13.9 orders/s (0.56x the target) (target >= 25 orders/s completed)",
        "  NOT MET      end-to-end p50: 520ms = 3.44x (target <= 2x the baseline's p50)",
        "  NOT MET      end-to-end p99: 768ms = 5.09x (target <= 5x the baseline's p50)",
        "  met          lost orders: 0 (target 0 (every order terminal: accepted, not lost, none rejected))",
        "  NOT MET      Lambda invocations per completed order: 9 (2.25x the target) (target <= 4)",
    ]


def _report_result() -> dict[str, Any]:
    """A finished run's result around BEFORE, without its cost model (each test adds what it reports)."""
    summary = {"count": 1, "p50": 0.52, "p95": 0.6, "p99": 0.768, "max": 0.8}
    return {
        **{k: v for k, v in BEFORE.items() if k != "cost_model"},
        "orders_requested": 500,
        "terminal": 500,
        "retried_requests": 0,
        "seconds": 36.0,
        "statuses": {"COMPLETED": 500},
        "started": "t",
        "env": "local",
        "concurrency": 10,
        "command": "invoke bench --env local --orders 500 --concurrency 10 --seed 7",
        "machine": {"nproc": 2},
        "throughput": {"accepted_per_s": 14.0, "completed_per_s": 13.9, "terminal_per_s": 13.9},
        "latency": {"end_to_end": summary, "client_observed": summary, "post": summary, "stages": {}},
        "baseline": {"server": {**summary, "p50": 0.151}, "observed": summary},
    }


def test_the_markdown_report_carries_the_targets_table() -> None:
    result = {
        **_report_result(),  # the breakdown's own rows are cost_model's tests'
        "workload": {"lines": 0, "hot_product": False, "shape": "1-3 lines each", "products": 5},
    }
    result["targets"] = bench.verdicts(BEFORE)
    md = bench.markdown(result)
    assert "Order workflow type: STANDARD  " in md
    assert "Workload: 1-3 lines each, 5 products  " in md
    assert "| target | rule | measured | verdict |" in md
    assert "| end-to-end p99 | <= 5x the baseline's p50 | 768ms = 5.09x | NOT MET |" in md
    assert "| lost orders | 0 (every order terminal: accepted, not lost, none rejected) | 0 | met |" in md
    text = bench.text_report(result)
    assert text.endswith("  NOT MET      Lambda invocations per completed order: 9 (2.25x the target) (target <= 4)")


def _measured_cpu(cloud: float | None, client: float | None, own: float | None, busy: float | None) -> dict[str, Any]:
    by_process = None if own is None else {"local cloud process": own, "payment workers": 0.03}
    return {
        "machine": {"nproc": 2},
        "cost_model": {
            "measured": {
                "local_cloud_cpu_s_per_order": cloud,
                "bench_client_cpu_s_per_order": client,
                "local_cloud_cpu_s_per_order_by_process": by_process,
                "machine_busy_share": busy,
            }
        },
    }


def test_capacity_divides_the_cpus_by_the_cpu_per_order() -> None:
    # 2 CPUs / (0.092 + 0.008) s = 20 orders/s; the local cloud's own process: 1 / 0.05 s = 20 orders/s
    assert bench.capacity(_measured_cpu(0.092, 0.008, 0.05, 0.8)) == {
        "cpus": 2,
        "cpu_s_per_order": 0.1,
        "machine_orders_per_s_max": 20.0,
        "process_cpu_s_per_order": 0.05,
        "process_orders_per_s_max": 20.0,
        "machine_busy_share": 0.8,
    }
    assert bench.capacity_line(_measured_cpu(0.092, 0.008, 0.04, 0.815)) == (
        "capacity from this run's CPU per order (utilisation law; not a target): at most 20 orders/s on 2 CPUs "
        "(0.1 CPU-s per order, local cloud and bench client); the local cloud's own process at most 25 orders/s "
        "(0.04 s per order on one CPU); the machine was 82% busy"
    )
    assert bench.capacity_line(_measured_cpu(0.06, 0.02, None, None)) == (
        "capacity from this run's CPU per order (utilisation law; not a target): at most 25 orders/s on 2 CPUs "
        "(0.08 CPU-s per order, local cloud and bench client)"
    )


def test_no_capacity_without_the_cpu_measured() -> None:
    assert bench.capacity(_measured_cpu(None, 0.01, 0.05, 0.8)) is None  # a real cloud: no local process tree
    assert bench.capacity(_measured_cpu(0.09, None, 0.05, 0.8)) is None
    assert bench.capacity({"machine": {"nproc": 2}}) is None
    assert bench.capacity_line({"machine": {"nproc": 2}}) is None


def test_the_reports_end_with_the_capacity_line() -> None:
    result = _report_result()
    result["cost_model"] = cost_model.summarize(
        lambdas={},
        workflows={},
        events=None,
        s3_puts=None,
        api_requests=500,
        orders=100,
        window=(datetime(2026, 12, 7, tzinfo=UTC), datetime(2026, 12, 7, 0, 1, tzinfo=UTC)),
        cpu_split_s={"local cloud process": 5.0, "payment workers": 4.2},
        machine_cpu_s={"busy": 16.0, "total": 20.0},
        client_cpu_s=0.8,
    )
    result["targets"] = bench.verdicts(BEFORE)
    expected = "the machine was 80% busy"
    assert bench.text_report(result).endswith(expected)
    assert bench.markdown(result).endswith(expected + ".\n")
    assert "\nCapacity from this run's CPU per order" in bench.markdown(result)


# --- workload shapes --------------------------------------------------------------------------------------------


def test_the_default_mix_is_unchanged_by_the_shapes() -> None:
    # the default (lines 0) draws exactly as before the shapes: 5 products, 1-3 lines of 1-3 units
    catalogue, orders, needed = bench.make_orders("r", 40, seed=7)
    assert catalogue == {"r-p0": "4.99", "r-p1": "12.50", "r-p2": "59.90", "r-p3": "34.00", "r-p4": "89.99"}
    # the figures of the code before the shapes (git 3f59401), run once with these arguments
    assert orders[0] == {
        "customerId": "r-c0",
        "items": [
            {"productId": "r-p1", "quantity": 3, "price": 12.5},
            {"productId": "r-p3", "quantity": 1, "price": 34.0},
        ],
        "totalAmount": 71.5,
    }
    assert needed == {"r-p0": 44, "r-p1": 26, "r-p2": 36, "r-p3": 20, "r-p4": 38}


@pytest.mark.parametrize("lines", [1, 10, 50])
def test_orders_of_n_lines_spread_over_the_catalogue(lines: int) -> None:
    catalogue, orders, needed = bench.make_orders("r", 30, seed=7, lines=lines)
    assert len(catalogue) == 50
    assert catalogue["r-p0"] == "4.99" and catalogue["r-p5"] == "4.99" and catalogue["r-p49"] == "89.99"
    for order in orders:
        ids = [i["productId"] for i in order["items"]]
        assert len(ids) == lines and len(set(ids)) == lines
        if lines > 3:
            assert {i["quantity"] for i in order["items"]} == {1}
        # the 50-product catalogue's prices sum to 10 x (4.99 + 12.50 + 59.90 + 34.00 + 89.99) = 2,013.80
        assert Decimal(str(order["totalAmount"])) <= Decimal("2013.80")
    assert sum(needed.values()) == sum(i["quantity"] for o in orders for i in o["items"])
    if lines == 50:
        assert needed == {pid: 30 for pid in catalogue}  # every order takes one unit of every product


def test_a_hot_product_is_on_every_order() -> None:
    _, orders, needed = bench.make_orders("r", 20, seed=7, lines=1, hot_product=True)
    assert {(i["productId"], i["price"]) for o in orders for i in o["items"]} == {("r-p0", 4.99)}
    assert all(len(o["items"]) == 1 and 1 <= o["items"][0]["quantity"] <= 3 for o in orders)
    assert list(needed) == ["r-p0"] and needed["r-p0"] == sum(o["items"][0]["quantity"] for o in orders)
    _, three, needed3 = bench.make_orders("r", 20, seed=7, lines=3, hot_product=True)
    assert all(o["items"][0]["productId"] == "r-p0" and len({i["productId"] for i in o["items"]}) == 3 for o in three)
    assert needed3["r-p0"] == sum(o["items"][0]["quantity"] for o in three)


def test_lines_are_checked_against_the_apis_limit() -> None:
    assert bench.max_lines() == 50  # services/order/validation.py MAX_ITEMS
    for ok in (0, 1, 50):
        bench.check_shape(ok, 50)
    for bad in (-1, 51):
        with pytest.raises(UserError, match=rf"--lines {bad} is outside 1\.\.50"):
            bench.check_shape(bad, 50)


def test_workload_shape_in_words() -> None:
    assert bench.workload_shape(0, False) == "1-3 lines each"
    assert bench.workload_shape(1, True) == "1 line each, every order on one hot product"
    assert bench.workload_shape(50, False) == "50 lines each"


# --- transaction conflicts --------------------------------------------------------------------------------------


def _log(message: str, **fields: Any) -> str:
    return json.dumps({"level": "INFO", "message": message, "service": "inventory", **fields})


def test_conflicts_are_counted_from_the_inventory_log_lines() -> None:
    lines = [
        "START RequestId: 1 Version: $LATEST",
        _log("reservation transaction cancelled", cancellationCodes=["None", "TransactionConflict", "None", "None"]),
        _log("reservation transaction cancelled", cancellationCodes=["None", "TransactionConflict", "None", "None"]),
        _log("reservation transaction cancelled", cancellationCodes=["ConditionalCheckFailed", "None", "None"]),
        _log("inventory reserved", items=[]),
        "[ERROR] InventoryContention: reservation for order o1 kept conflicting; retry later",
        "not json but names reservation transaction cancelled",
        "REPORT RequestId: 1 Duration: 12.0 ms Billed Duration: 12 ms",
    ]
    assert bench.count_conflicts(lines) == {
        "reservations_cancelled": 3,
        "codes": {"ConditionalCheckFailed": 1, "TransactionConflict": 2},
        "reserve_gave_up": 1,
    }
    assert bench.count_conflicts([]) == {"reservations_cancelled": 0, "codes": {}, "reserve_gave_up": 0}


def test_the_conflict_message_is_the_inventory_services() -> None:
    from inventory import service

    source = Path(service.__file__).read_text()
    assert f'"{bench.RESERVATION_CANCELLED}"' in source
    assert bench.RESERVATION_GAVE_UP in source
