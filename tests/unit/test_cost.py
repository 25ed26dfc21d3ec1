"""The cost model (scripts/cost_model.py) and `invoke cost` (scripts/cost.py): expected figures worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from scripts import cost, cost_model
from scripts.common import UserError


def _stat(pid: int, comm: str, ppid: int, utime: int, stime: int, cutime: int, cstime: int) -> str:
    # proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
    # cutime cstime priority nice num_threads ...
    return (
        f"{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 1000 0 0 0 {utime} {stime} {cutime} {cstime} "
        "20 0 4 0 12345 1000000 500 18446744073709551615\n"
    )


def test_parse_stat_reads_the_fields_after_the_command_even_with_spaces_and_parentheses() -> None:
    assert cost_model.parse_stat(_stat(4242, "python -m ministack (x)", 1, 150, 30, 12, 8)) == {
        "pid": 4242,
        "ppid": 1,
        "utime": 150,
        "stime": 30,
        "cutime": 12,
        "cstime": 8,
    }


def _tree_ticks(root: int, stats: list[str]) -> int:
    """Every group of the split together: the process tree's CPU ticks."""
    return sum(cost_model.tree_cpu_split(root, ((text, "") for text in stats)).values())


def test_tree_cpu_counts_the_root_and_every_descendant_not_other_processes() -> None:
    stats = [
        _stat(100, "python", 1, 500, 100, 40, 10),  # MiniStack: 650
        _stat(101, "bootstrap", 100, 70, 30, 0, 0),  # a Lambda worker: 100
        _stat(102, "python3", 101, 20, 5, 0, 0),  # the worker's child: 25
        _stat(200, "bash", 1, 9000, 9000, 0, 0),  # someone else's
        "garbage",
    ]
    assert _tree_ticks(100, stats) == 775
    assert _tree_ticks(999, stats) == 0


def test_the_cpu_delta_includes_a_worker_that_exited_and_was_reaped() -> None:
    before = [_stat(100, "python", 1, 500, 100, 0, 0), _stat(101, "worker", 100, 70, 30, 0, 0)]
    # the worker ran 50 more ticks, exited, and its 150 ticks moved to the parent's cutime/cstime
    after = [_stat(100, "python", 1, 520, 110, 120, 30)]
    assert _tree_ticks(100, after) - _tree_ticks(100, before) == 780 - 700


def test_the_split_seconds_of_a_proc_folder_without_command_lines(tmp_path) -> None:
    import os

    for pid, text in ((7, _stat(7, "ministack", 1, 300, 100, 0, 0)), (8, _stat(8, "w", 7, 100, 0, 0, 0))):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(text)
    (tmp_path / "self").mkdir()
    # no cmdline files here: every CPU second still counts, in no function's group
    assert sum(cost_model.tree_cpu_split_seconds(7, proc=tmp_path).values()) == 500 / os.sysconf("SC_CLK_TCK")
    assert cost_model.tree_cpu_split_seconds(None, proc=tmp_path) is None


def test_the_cpu_split_names_the_local_cloud_its_reaped_workers_and_each_functions_workers() -> None:
    procs = [
        (_stat(100, "python", 1, 500, 100, 40, 10), "/venv/bin/python -m ministack"),
        (_stat(101, "python", 100, 70, 30, 0, 0), "python /tmp/ministack-lambda-shop-payment-x1/_worker.py"),
        (_stat(102, "python", 100, 20, 5, 0, 0), "python /tmp/ministack-lambda-shop-payment-y2/_worker.py"),
        (_stat(103, "python", 102, 3, 2, 0, 0), "python helper.py"),  # a worker's own child: not a worker
        (_stat(104, "python", 100, 8, 1, 1, 0), "python /tmp/ministack-lambda-shop-order-z3/_worker.py"),
        (_stat(105, "sh", 100, 4, 0, 0, 0), "sh -c true"),
        (_stat(200, "bash", 1, 9000, 9000, 0, 0), "bash"),  # someone else's
        ("garbage", ""),
    ]
    workers = {"ministack-lambda-shop-payment-": "payment workers", "ministack-lambda-shop-order-": "order workers"}
    assert cost_model.tree_cpu_split(100, procs, workers) == {
        "local cloud process": 600,
        "reaped workers": 50,
        "payment workers": 125,
        "order workers": 10,
        "other descendants": 9,
    }
    assert cost_model.tree_cpu_split(100, procs) == {
        "local cloud process": 600,
        "reaped workers": 50,
        "other descendants": 144,
    }
    assert cost_model.tree_cpu_split(999, procs, workers) == {}


def test_the_split_seconds_read_each_command_line_and_the_machine_its_busy_time(tmp_path) -> None:
    import os

    tick = os.sysconf("SC_CLK_TCK")
    for pid, text, command in (
        (7, _stat(7, "python", 1, 300, 100, 0, 0), b"python\0-m\0ministack\0"),
        (8, _stat(8, "python", 7, 100, 0, 0, 0), b"python\0/t/ministack-lambda-fn-a-1/_worker.py\0"),
    ):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(text)
        (tmp_path / str(pid) / "cmdline").write_bytes(command)
    split = cost_model.tree_cpu_split_seconds(7, {"ministack-lambda-fn-a-": "a workers"}, proc=tmp_path)
    assert split == {"local cloud process": 400 / tick, "reaped workers": 0.0, "a workers": 100 / tick}
    assert cost_model.tree_cpu_split_seconds(None, proc=tmp_path) is None
    # user nice system idle iowait irq softirq steal guest guest_nice: busy = all but idle and iowait
    (tmp_path / "stat").write_text("cpu  600 10 200 1000 90 5 5 90 40 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n")
    assert cost_model.machine_cpu_seconds(tmp_path) == {"busy": 910 / tick, "total": 2000 / tick}
    assert cost_model.machine_cpu_seconds(tmp_path / "absent") is None


def test_each_functions_workers_are_named_by_the_folder_ministack_runs_them_from() -> None:
    from types import SimpleNamespace

    meter = SimpleNamespace(functions={"order": {"name": "shop-dev-order"}, "payment": {"name": "shop-dev-payment"}})
    assert cost_model.Meter.worker_labels(meter) == {
        "ministack-lambda-shop-dev-order-": "order workers",
        "ministack-lambda-shop-dev-payment-": "payment workers",
    }


def test_log_lines_give_invocations_billed_time_and_bytes() -> None:
    lines = [
        "START RequestId: a Version: $LATEST",
        '{"level":"INFO","message":"order created"}',
        "END RequestId: a",
        "REPORT RequestId: a\tDuration: 12.5 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 80 MB",
        "START RequestId: b Version: $LATEST",
        "END RequestId: b",
        "REPORT RequestId: b\tDuration: 100 ms\tBilled Duration: 100 ms\tMemory Size: 256 MB\tMax Memory Used: 81 MB",
        "a line mentioning START RequestId: in the middle",
    ]
    counted = cost_model.count_log_lines(lines)
    assert counted["invocations"] == 2
    assert counted["reports"] == 2
    assert counted["billed_ms"] == 113.0
    assert counted["log_bytes"] == sum(len(line) for line in lines)  # ASCII: one byte a character
    assert cost_model.count_log_lines(["é"])["log_bytes"] == 2  # UTF-8 bytes, what CloudWatch Logs ingests


def test_a_history_gives_state_transitions_and_lambda_tasks_by_function() -> None:
    fn = "arn:aws:lambda:us-east-1:000000000000:function:orderflow-local-{}"
    events = [
        {"type": "ExecutionStarted"},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "CompleteOrder"}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"resource": fn.format("order")}},
        {"type": "TaskSucceeded"},
        {"type": "TaskStateExited", "stateExitedEventDetails": {"name": "CompleteOrder"}},
        {"type": "ChoiceStateEntered", "stateEnteredEventDetails": {"name": "CheckCompletion"}},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "ProcessPayment"}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"resource": fn.format("payment")}},
        {"type": "TaskFailed"},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"resource": fn.format("payment")}},
        {"type": "TaskSucceeded"},
        {"type": "ParallelStateEntered", "stateEnteredEventDetails": {"name": "Finalize"}},
        {"type": "PassStateEntered", "stateEnteredEventDetails": {"name": "Done"}},
        {"type": "ExecutionSucceeded"},
    ]
    assert cost_model.count_history(events) == {
        "transitions": 5,
        "branch_transitions_rebuilt": 0,
        "branches_unresolved": 0,
        "lambda_tasks": {"orderflow-local-order": 1, "orderflow-local-payment": 2},
    }


def test_tasks_that_do_not_name_their_function_are_the_entered_states() -> None:
    events = [  # MiniStack: the task events carry only the lambda:invoke resource
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "CompleteOrder"}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"resource": "arn:aws:states:::lambda:invoke"}},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "NotifyOutcome"}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"resource": "arn:aws:states:::lambda:invoke"}},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "ClaimFailed"}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"resource": "arn:aws:states:::lambda:invoke"}},
        {"type": "TaskStateEntered", "stateEnteredEventDetails": {"name": "Unknown"}},
        {"type": "TaskScheduled", "taskScheduledEventDetails": {"resource": "arn:aws:states:::lambda:invoke"}},
    ]
    functions = {"CompleteOrder": "fn-order", "NotifyOutcome": "fn-notification", "ClaimFailed": "fn-order"}
    assert cost_model.count_history(events, functions) == {
        "transitions": 4,
        "branch_transitions_rebuilt": 0,
        "branches_unresolved": 0,
        "lambda_tasks": {"fn-order": 2, "fn-notification": 1, "?": 1},
    }


def test_summarize_divides_by_the_completed_orders_and_marks_dynamodb_derived() -> None:
    window = (datetime(2026, 12, 7, 0, 0, tzinfo=UTC), datetime(2026, 12, 7, 0, 1, tzinfo=UTC))
    lambdas = {
        "order": {"name": "o", "memory_mb": 256, "architecture": "x86_64", "log_group": "/aws/lambda/o"}
        | {"invocations": 40, "reports": 40, "billed_ms": 4000.0, "log_bytes": 8000}
    }
    workflows = {
        "order-processing": {
            "executions": 10,
            "transitions": 230,
            "lambda_tasks": {"o": 30, "p": 10},
            "mean_duration_s": 1.5,
        }
    }
    out = cost_model.summarize(
        lambdas=lambdas,
        workflows=workflows,
        events=30,
        s3_puts=20,
        api_requests=11,
        orders=10,
        window=window,
        cpu_split_s={"local cloud process": 5.0, "payment workers": 7.0, "reaped workers": 0.5, "order workers": 0.0},
        machine_cpu_s={"busy": 30.0, "total": 40.0},
        client_cpu_s=0.75,
    )
    m = out["measured"]
    assert m["lambda"]["order"]["invocations_per_order"] == 4.0
    assert m["lambda"]["order"]["mean_billed_ms"] == 100.0
    assert m["workflows"]["order-processing"]["transitions_per_order"] == 23.0
    assert (m["events_put_per_order"], m["s3_puts_per_order"], m["api_requests_per_order"]) == (3.0, 2.0, 1.1)
    assert (m["lambda_log_bytes_per_order"], m["local_cloud_cpu_s_per_order"]) == (800.0, 1.25)
    assert m["local_cloud_cpu_s_per_order_by_process"] == {
        "local cloud process": 0.5,
        "payment workers": 0.7,
        "reaped workers": 0.05,
    }
    assert (m["bench_client_cpu_s_per_order"], m["machine_busy_share"]) == (0.075, 0.75)
    assert ["  of which payment workers", None, 0.7, "measured: /proc stat, by process"] in cost_model.rows(out)
    assert ["bench client CPU seconds", None, 0.075, "measured: process time"] in cost_model.rows(out)
    assert ["machine busy share (all CPUs)", None, 0.75, "measured: /proc/stat"] in cost_model.rows(out)
    assert out["derived"]["dynamodb"]["derived"] is True
    labels = [row[0] for row in cost_model.rows(out)]
    assert "DynamoDB write request units" in labels
    assert ["order-processing tasks (o 30, p 10)", 40, 4.0, "measured: histories"] in cost_model.rows(out)
    assert all(row[3] == "DERIVED from the code path" for row in cost_model.rows(out) if "DynamoDB" in row[0])


PRICES = {
    "as_of": "2026-12-07",
    "currency": "USD",
    "lambda": {"request_per_million": 0.2, "gb_second": {"x86_64": 0.0000166667, "arm64": 0.0000133334}},
    "step_functions_standard": {"transition_per_thousand": 0.025},
    "step_functions_express": {
        "request_per_million": 1.0,
        "gb_second": 0.00001667,
        "memory_block_mb": 64,
        "duration_increment_ms": 100,
    },
    "eventbridge": {"custom_event_per_million": 1.0},
    "dynamodb_on_demand": {"write_request_unit_per_million": 0.625, "read_request_unit_per_million": 0.125},
    "api_gateway_http": {"request_per_million": 1.0},
    "cloudwatch_logs": {"ingestion_per_gb": 0.5},
    "s3": {"put_per_thousand": 0.005},
}

COUNTS = {
    "measured": {
        "lambda": {
            "order": {"invocations_per_order": 4, "mean_billed_ms": 100, "memory_mb": 256, "architecture": "x86_64"},
            "payment": {"invocations_per_order": 1, "mean_billed_ms": 200, "memory_mb": 512, "architecture": "arm64"},
        },
        "workflows": {
            "order-processing": {"executions_per_order": 1, "transitions_per_order": 20, "mean_duration_s": 1.23}
        },
        "events_put_per_order": 3,
        "s3_puts_per_order": 2,
        "api_requests_per_order": 1,
        "lambda_log_bytes_per_order": 1024**3 / 1000,  # a thousandth of a GiB
    }
}


@pytest.fixture
def ddb_10_wru_4_rru(monkeypatch):
    monkeypatch.setattr(cost_model, "DYNAMODB_PER_COMPLETED_ORDER", (("svc", "calls", "t", 4, 10),))


def test_price_arithmetic_per_order(ddb_10_wru_4_rru) -> None:
    got = {name: per for name, per, _ in cost.per_order_costs(COUNTS, PRICES)}
    # Lambda requests: 5 invocations x 0.2 / 1e6
    assert got["Lambda requests"] == pytest.approx(1.0e-6)
    # order: 4 x 0.1 s x 0.25 GB = 0.1 GB-s x 0.0000166667; payment: 1 x 0.2 s x 0.5 GB = 0.1 GB-s x 0.0000133334
    assert got["Lambda compute"] == pytest.approx(1.66667e-6 + 1.33334e-6)
    # 20 transitions x 0.025 / 1000
    assert got["Step Functions Standard"] == pytest.approx(5.0e-4)
    # 1 request x 1/1e6 + 1.23 s rounded up to 1.3 s x 64/1024 GB = 0.08125 GB-s x 0.00001667
    assert got["Step Functions Express"] == pytest.approx(1.0e-6 + 1.3544375e-6)
    assert got["EventBridge custom events"] == pytest.approx(3.0e-6)
    # 10 WRU x 0.625/1e6 + 4 RRU x 0.125/1e6
    assert got["DynamoDB on-demand (derived)"] == pytest.approx(6.25e-6 + 0.5e-6)
    assert got["API Gateway HTTP API"] == pytest.approx(1.0e-6)
    # a thousandth of a GB x 0.5
    assert got["CloudWatch Logs ingestion"] == pytest.approx(5.0e-4)
    # 2 PUTs x 0.005 / 1000
    assert got["S3 PUT"] == pytest.approx(1.0e-5)


def test_monthly_totals_for_standard_and_express(ddb_10_wru_4_rru) -> None:
    rows = {row[0]: row for row in cost.monthly(cost.per_order_costs(COUNTS, PRICES), (1_000, 10_000_000))}
    # common per order: 1 + 3.00001 + 3 + 6.75 + 1 + 10 + 500 = 524.75001 micro-dollars
    # Standard: + 500 = 1024.75001 -> 1.02 at 1 k, 10,247.50 at 10 M
    assert rows["TOTAL with Standard"][2:4] == ["1.02", "10,247.50"]
    # Express: + 2.3544375 = 527.1044475 -> 0.53 at 1 k, 5,271.04 at 10 M
    assert rows["TOTAL with Express"][2:4] == ["0.53", "5,271.04"]
    assert rows["S3 PUT"][2:4] == ["0.01", "100.00"]


def test_cost_without_a_bench_result_says_to_run_bench(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cost, "reports_dir", lambda env: tmp_path)
    (tmp_path / "bench-old.json").write_text(json.dumps({"run_id": "bench-old"}))  # from before the cost model
    with pytest.raises(UserError) as err:
        cost.run("local")
    assert "run `invoke bench --env local` first" in str(err.value)


def test_cost_prices_the_latest_bench(tmp_path, monkeypatch, capsys, ddb_10_wru_4_rru) -> None:
    monkeypatch.setattr(cost, "reports_dir", lambda env: tmp_path)
    monkeypatch.setattr(cost, "load_prices", lambda region: PRICES)
    result = {
        "command": "invoke bench --env local --orders 10",
        "env": "local",
        "cost_model": COUNTS | {"window": {"orders": 10}},
    }
    (tmp_path / "bench-1.json").write_text(json.dumps(result))
    rows = cost.run("local", orders_per_month=1_000)
    assert [row[2] for row in rows if row[0].startswith("TOTAL")] == ["1.02", "0.53"]
    out = capsys.readouterr().out
    assert "1,000/month" in out
    assert "free tier" in out
    assert "DERIVED: DynamoDB" in out


def test_the_repo_price_table_names_its_sources_and_date() -> None:
    prices = cost.load_prices("us-east-1")
    assert prices["as_of"]
    assert set(prices["sources"]) == {
        "lambda",
        "step_functions",
        "eventbridge",
        "dynamodb",
        "api_gateway",
        "cloudwatch_logs",
        "s3",
    }
    with pytest.raises(UserError, match="No price table for region eu-north-9"):
        cost.load_prices("eu-north-9")


FINALIZE = {  # the shape of workflow/fragments/finalize.asl.json inside a Parallel state
    "StartAt": "Finalize",
    "States": {
        "Finalize": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {
                    "StartAt": "NeedsCompensation",
                    "States": {
                        "NeedsCompensation": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.s", "StringEquals": "COMPLETED", "Next": "NotifyOutcome"}],
                            "Default": "RefundPayment",
                        },
                        "RefundPayment": {"Type": "Task", "Next": "CheckRefund"},
                        "CheckRefund": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.r", "StringEquals": "NO", "Next": "NotCompensable"}],
                            "Default": "ReleaseInventory",
                        },
                        "ReleaseInventory": {"Type": "Task", "Next": "CheckRelease"},
                        "CheckRelease": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.r", "StringEquals": "NO", "Next": "NotCompensable"}],
                            "Default": "NotifyOutcome",
                        },
                        "NotifyOutcome": {"Type": "Task", "Next": "Settle"},
                        "Settle": {"Type": "Task", "End": True},
                        "NotCompensable": {"Type": "Fail"},
                    },
                }
            ],
        }
    },
}
FINALIZE_FUNCTIONS = {
    "RefundPayment": "payment",
    "ReleaseInventory": "inventory",
    "NotifyOutcome": "notification",
    "Settle": "order",
}


def _parallel_history(tasks: int, failed_once: bool = False) -> list[dict]:
    invoke = {"type": "TaskScheduled", "taskScheduledEventDetails": {"resource": "arn:aws:states:::lambda:invoke"}}
    events = [{"type": "ParallelStateEntered", "stateEnteredEventDetails": {"name": "Finalize"}}]
    for i in range(tasks):
        events.append(invoke)
        if failed_once and i == 0:
            events += [{"type": "TaskFailed"}, invoke]  # a retry of the same state
        events.append({"type": "TaskSucceeded"})
    return [*events, {"type": "ParallelStateExited", "stateExitedEventDetails": {"name": "Finalize"}}]


def test_a_parallel_branch_without_state_events_is_rebuilt_from_the_definition() -> None:
    # completed order: NeedsCompensation, NotifyOutcome, Settle = 3 states besides Finalize
    assert cost_model.count_history(_parallel_history(2), FINALIZE_FUNCTIONS, FINALIZE) == {
        "transitions": 4,
        "branch_transitions_rebuilt": 3,
        "branches_unresolved": 0,
        "lambda_tasks": {"notification": 1, "order": 1},
    }
    # compensation: NeedsCompensation, RefundPayment, CheckRefund, ReleaseInventory, CheckRelease, NotifyOutcome,
    # Settle = 7; the refund was retried once (2 invocations, 1 state)
    assert cost_model.count_history(_parallel_history(4, failed_once=True), FINALIZE_FUNCTIONS, FINALIZE) == {
        "transitions": 8,
        "branch_transitions_rebuilt": 7,
        "branches_unresolved": 0,
        "lambda_tasks": {"payment": 2, "inventory": 1, "notification": 1, "order": 1},
    }


def test_a_branch_no_path_fits_is_reported_not_guessed() -> None:
    got = cost_model.count_history(_parallel_history(3), FINALIZE_FUNCTIONS, FINALIZE)
    assert (got["transitions"], got["branch_transitions_rebuilt"], got["branches_unresolved"]) == (1, 0, 1)
    assert got["lambda_tasks"] == {"?": 3}


def test_a_direct_service_integration_task_is_named_by_its_action_not_a_function() -> None:
    from scripts.history import integration_tasks

    definition = {
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f"},
            },
            "Finalize": {
                "Type": "Parallel",
                "Branches": [
                    {"States": {"Settle": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem"}}}
                ],
            },
            "Start": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync"},
            "Done": {"Type": "Succeed"},
        }
    }
    assert integration_tasks(definition) == {"Settle": "dynamodb:deleteItem", "Start": "states:startExecution"}


def test_the_deltas_counts_a_group_that_appeared_in_the_window_from_zero() -> None:
    before = {"local cloud process": 10.0, "payment workers": 4.0}
    after = {"local cloud process": 12.5, "payment workers": 5.0, "order workers": 0.75}
    assert cost_model._deltas(before, after) == {
        "local cloud process": 2.5,
        "payment workers": 1.0,
        "order workers": 0.75,
    }
    assert cost_model._deltas(None, after) is None
    assert cost_model._deltas(before, None) is None
