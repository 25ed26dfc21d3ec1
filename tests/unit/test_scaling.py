"""`invoke scaling` (scripts/scaling.py): the matrix, its rows and table, and one run over a stand-in bench (no cloud)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts import bench, scaling
from scripts.common import UserError


def _bench_result(
    run_id: str,
    *,
    orders: int,
    completed: int,
    per_s: float | None,
    p50: float | None,
    p99: float | None,
    cpu: float | None,
    invocations: dict[str, float | None],
    conflicts: dict[str, Any] | None = None,
    lost: int = 0,
    rejected: int = 0,
    baseline_p50: float | None = None,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "orders_requested": orders,
        "accepted": orders - rejected,
        "terminal": orders - rejected - lost,
        "lost": lost,
        "rejected": rejected,
        "statuses": {"COMPLETED": completed},
        "throughput": {"completed_per_s": per_s},
        "latency": {"end_to_end": {"p50": p50, "p99": p99}},
        "cost_model": {
            "measured": {
                "lambda": {fn: {"invocations_per_order": n} for fn, n in invocations.items()},
                "local_cloud_cpu_s_per_order": cpu,
            }
        },
        "transaction_conflicts": conflicts
        if conflicts is not None
        else {"reservations_cancelled": 0, "codes": {}, "reserve_gave_up": 0},
        "machine": {"nproc": 2, "memory_gib": 23.5, "cloud": "MiniStack 1.5.33 (light)", "python": "3.12.1"},
        "workflow_type": "STANDARD",
        "baseline": None if baseline_p50 is None else {"server": {"p50": baseline_p50}},
    }


NINE = {"inventory": 1.0, "notification": 3.0, "order": 4.0, "payment": 1.0}


def test_the_matrix_covers_the_issues_series() -> None:
    assert [(s.series, s.concurrency, s.lines, s.hot_product) for s in scaling.MATRIX] == [
        ("clients", 1, 1, False),
        ("clients", 5, 1, False),
        ("clients, lines", 10, 1, False),
        ("clients", 20, 1, False),
        ("lines", 10, 10, False),
        ("lines", 10, 50, False),
        ("contention", 1, 1, True),
        ("contention", 20, 1, True),
    ]
    assert sum(s.orders for s in scaling.MATRIX) == 790
    # the warm-up starts as many workers as the widest row needs
    assert (scaling.WARM_UP.orders, scaling.WARM_UP.concurrency) == (40, 20)
    # no run asks for more orders in flight than the local cloud allows (preflight.LOCAL_IN_FLIGHT_CAP)
    from scripts.preflight import LOCAL_IN_FLIGHT_CAP

    assert max(s.concurrency for s in scaling.MATRIX) == LOCAL_IN_FLIGHT_CAP == 20
    assert max(s.lines for s in scaling.MATRIX) == bench.max_lines() == 50


def test_labels() -> None:
    assert scaling.label(scaling.Shape("clients", 30, 1)) == "1 client, 1 line, spread over 50 products"
    assert scaling.label(scaling.Shape("lines", 40, 10, lines=50)) == "10 clients, 50 lines, spread over 50 products"
    assert (
        scaling.label(scaling.Shape("contention", 50, 20, hot_product=True)) == "20 clients, 1 line, 1 product for all"
    )


def test_a_row_from_a_bench_result() -> None:
    result = _bench_result(
        "bench-1",
        orders=50,
        completed=49,
        per_s=4.25,
        p50=1.44,
        p99=3.5,
        cpu=0.2049,
        invocations=NINE,
        conflicts={"reservations_cancelled": 3, "codes": {"TransactionConflict": 3}, "reserve_gave_up": 0},
        lost=1,
    )
    assert scaling.row(scaling.Shape("contention", 50, 20, hot_product=True), result) == {
        "series": "contention",
        "shape": "20 clients, 1 line, 1 product for all",
        "run_id": "bench-1",
        "orders": 50,
        "completed": 49,
        "lost": 1,
        "completed_per_s": 4.25,
        "e2e_p50_s": 1.44,
        "e2e_p99_s": 3.5,
        "cpu_s_per_order": 0.2049,
        "lambda_invocations_per_order": 9.0,
        "reservations_cancelled": 3,
        "conflict_codes": {"TransactionConflict": 3},
    }


def test_a_row_with_figures_not_measured() -> None:
    result = _bench_result(
        "bench-2",
        orders=10,
        completed=0,
        per_s=None,
        p50=None,
        p99=None,
        cpu=None,
        invocations={"order": None},
        conflicts={},
    )
    row = scaling.row(scaling.Shape("clients", 10, 1), result)
    assert (row["completed_per_s"], row["cpu_s_per_order"], row["lambda_invocations_per_order"]) == (None, None, None)
    assert (row["reservations_cancelled"], row["conflict_codes"]) == (None, {})
    assert scaling.table([row]).splitlines()[2] == (
        "| clients | 1 client, 1 line, spread over 50 products | 10 | 0 | 0 | - | - | - | - | - | - |"
    )


def test_the_table() -> None:
    rows = [
        scaling.row(
            scaling.Shape("clients", 30, 1),
            _bench_result("b1", orders=30, completed=30, per_s=2.5, p50=0.222, p99=0.317, cpu=0.15, invocations=NINE),
        ),
        scaling.row(
            scaling.Shape("contention", 50, 20, hot_product=True),
            _bench_result(
                "b2",
                orders=50,
                completed=50,
                per_s=5.0,
                p50=1.5,
                p99=2.25,
                cpu=0.25,
                invocations=NINE,
                conflicts={
                    "reservations_cancelled": 4,
                    "codes": {"ConditionalCheckFailed": 1, "TransactionConflict": 3},
                    "reserve_gave_up": 0,
                },
            ),
        ),
    ]
    assert scaling.table(rows) == (
        "| series | shape | orders | completed | lost | orders/s | e2e p50 | e2e p99 | CPU s/order | "
        "Lambda inv./order | tx cancelled |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        "| clients | 1 client, 1 line, spread over 50 products | 30 | 30 | 0 | 2.5 | 222ms | 317ms | 0.15 | 9 | 0 |\n"
        "| contention | 20 clients, 1 line, 1 product for all | 50 | 50 | 0 | 5 | 1.50s | 2.25s | 0.25 | 9 | "
        "4 (ConditionalCheckFailed 1, TransactionConflict 3) |\n"
    )


def test_one_run_over_a_stand_in_bench(monkeypatch: pytest.MonkeyPatch, tmp_path: Any, capsys: Any) -> None:
    calls: list[dict[str, Any]] = []

    def fake_run(env: str, **kwargs: Any) -> dict[str, Any]:
        calls.append({"env": env, **kwargs})
        n = len(calls)
        return _bench_result(
            f"bench-{n}",
            orders=kwargs["orders"],
            completed=kwargs["orders"],
            per_s=float(n),
            p50=0.5,
            p99=1.0,
            cpu=0.2,
            invocations=NINE,
            baseline_p50=0.151 if n == 1 else None,
        )

    matrix = (scaling.Shape("clients", 3, 1), scaling.Shape("lines", 2, 10, lines=50))
    monkeypatch.setattr(bench, "run", fake_run)
    monkeypatch.setattr(scaling, "reports_dir", lambda env: tmp_path)
    doc = scaling.run("local", seed=9, as_json=True, warm_up=False, matrix=matrix)
    # the baseline only in the first run; every run lenient (the table reports losses) and quiet
    assert calls == [
        {
            "env": "local",
            "orders": 3,
            "concurrency": 1,
            "seed": 9,
            "lines": 1,
            "hot_product": False,
            "baseline_executions": 20,
            "echo": False,
            "strict": False,
            "run_prefix": "scaling-run",
        },
        {
            "env": "local",
            "orders": 2,
            "concurrency": 10,
            "seed": 9,
            "lines": 50,
            "hot_product": False,
            "baseline_executions": 0,
            "echo": False,
            "strict": False,
            "run_prefix": "scaling-run",
        },
    ]
    assert doc["command"] == "invoke scaling --env local --seed 9 --no-warm-up"
    assert doc["warm_up"] is None
    assert (doc["baseline_p50_s"], doc["workflow_type"]) == (0.151, "STANDARD")
    assert [r["completed_per_s"] for r in doc["rows"]] == [1.0, 2.0]
    out = capsys.readouterr()
    assert json.loads(out.out)["rows"] == doc["rows"]  # --json: stdout is the JSON only
    assert "[1/2] clients: 1 client, 1 line" in out.err
    written = json.loads((tmp_path / f"{doc['run_id']}.json").read_text())
    assert written["rows"] == doc["rows"]
    md = (tmp_path / f"{doc['run_id']}.md").read_text()
    assert "Command: `invoke scaling --env local --seed 9 --no-warm-up`" in md
    assert "bare-workflow baseline p50 151ms; no warm-up run" in md
    assert (
        "| lines | 10 clients, 50 lines, spread over 50 products | 2 | 2 | 0 | 2 | 500ms | 1.00s | 0.2 | 9 | 0 |" in md
    )


def test_the_warm_up_runs_first_and_stays_out_of_the_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    calls: list[tuple[int, int, int]] = []

    def fake_run(env: str, **kwargs: Any) -> dict[str, Any]:
        calls.append((kwargs["orders"], kwargs["concurrency"], kwargs["baseline_executions"]))
        return _bench_result(
            f"bench-{len(calls)}",
            orders=kwargs["orders"],
            completed=kwargs["orders"],
            per_s=1.5,
            p50=0.5,
            p99=9.0 if len(calls) == 1 else 1.0,
            cpu=0.2,
            invocations=NINE,
            baseline_p50=0.152 if kwargs["baseline_executions"] else None,
        )

    monkeypatch.setattr(bench, "run", fake_run)
    monkeypatch.setattr(scaling, "reports_dir", lambda env: tmp_path)
    doc = scaling.run("local", matrix=(scaling.Shape("clients", 3, 1),))
    # warm-up (40 orders, 20 clients, no baseline), then the matrix's first row with the baseline
    assert calls == [(40, 20, 0), (3, 1, 20)]
    assert [r["run_id"] for r in doc["rows"]] == ["bench-2"]
    assert doc["warm_up"]["row"]["e2e_p99_s"] == 9.0 and doc["warm_up"]["concurrency"] == 20
    assert doc["command"] == "invoke scaling --env local --seed 7"
    assert doc["baseline_p50_s"] == 0.152
    md = (tmp_path / f"{doc['run_id']}.md").read_text()
    assert "after a warm-up run left out of the table (20 clients, 1 line, spread over 50 products, 40 orders)" in md
    assert "| 9.00s |" not in md


def test_a_run_that_lost_orders_fails_after_writing_the_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    def fake_run(env: str, **kwargs: Any) -> dict[str, Any]:
        return _bench_result(
            "bench-x", orders=5, completed=4, per_s=1.0, p50=0.5, p99=1.0, cpu=0.2, invocations=NINE, lost=1
        )

    monkeypatch.setattr(bench, "run", fake_run)
    monkeypatch.setattr(scaling, "reports_dir", lambda env: tmp_path)
    with pytest.raises(UserError, match=r"1 of the 1 runs lost or refused orders \(1 client, 1 line, spread"):
        scaling.run("local", warm_up=False, matrix=(scaling.Shape("clients", 5, 1),))
    assert len(list(tmp_path.glob("scaling-*.md"))) == 1


def test_an_unknown_env_fails_before_any_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "run", lambda *a, **k: pytest.fail("no run for an unknown env"))
    with pytest.raises(UserError, match="Unknown environment 'nope'"):
        scaling.run("nope")
