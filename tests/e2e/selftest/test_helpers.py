"""Unit tests of the helpers the e2e suite, bench and replay share: no stack, no network.

Run with `pytest tests/e2e/selftest` (`invoke e2e` leaves this folder out of the end-to-end run).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from scripts import api_client, bench, history, order_timeline, replay, report, stats, text_table, timeutil
from scripts.common import UserError

# --- percentiles and tables ---------------------------------------------------------------------------------------


def test_percentile_interpolates_like_numpy():
    data = [1, 2, 3, 4]
    assert stats.percentile(data, 0) == 1
    assert stats.percentile(data, 100) == 4
    assert stats.percentile(data, 50) == 2.5
    assert stats.percentile(data, 95) == pytest.approx(3.85)
    assert stats.percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    assert stats.percentile([7], 99) == 7


def test_percentile_ignores_none_and_handles_empty():
    assert stats.percentile([], 50) is None
    assert stats.percentile([None, None], 50) is None
    assert stats.percentile([None, 3, 1], 50) == 2
    with pytest.raises(ValueError):
        stats.percentile([1], 101)


def test_latency_summary():
    s = stats.latency_summary([0.1, 0.2, None, 0.3])
    assert s["count"] == 3 and s["p50"] == pytest.approx(0.2) and s["max"] == 0.3 and s["min"] == 0.1
    assert stats.latency_summary([]) == {"count": 0, "p50": None, "p95": None, "p99": None, "max": None, "min": None}


def test_fmt_seconds():
    assert text_table.fmt_seconds(None) == "-"
    assert text_table.fmt_seconds(0.2504) == "250ms"
    assert text_table.fmt_seconds(12.345) == "12.35s"


def test_format_table_aligns_columns():
    table = text_table.format_table(("name", "n"), [["alpha", 1], ["b", 100]])
    lines = table.splitlines()
    assert lines[0].startswith("name ") and set(lines[1]) <= {"-", " "}
    assert lines[2] == "alpha    1" and lines[3] == "b      100"


# --- orders and statusHistory -------------------------------------------------------------------------------------

ORDER = {
    "status": "COMPLETED",
    "createdAt": "2026-11-27T10:00:00.000Z",
    "statusHistory": [
        {"status": "PENDING", "at": "2026-11-27T10:00:00.000Z"},
        {"status": "PAID", "at": "2026-11-27T10:00:00.400Z"},
        {"status": "INVENTORY_RESERVED", "at": "2026-11-27T10:00:01.000Z"},
        {"status": "COMPLETED", "at": "2026-11-27T10:00:01.250Z"},
    ],
}


def test_stages_and_end_to_end():
    assert order_timeline.history_statuses(ORDER) == list(order_timeline.HAPPY_PATH)
    assert order_timeline.end_to_end_seconds(ORDER) == pytest.approx(1.25)
    assert order_timeline.stage_seconds(ORDER) == pytest.approx(
        {"PENDING->PAID": 0.4, "PAID->INVENTORY_RESERVED": 0.6, "INVENTORY_RESERVED->COMPLETED": 0.25}
    )


def test_non_terminal_order_has_no_latency():
    assert order_timeline.end_to_end_seconds({**ORDER, "status": "PAID"}) is None
    assert order_timeline.terminal_time(
        {"status": "FAILED", "updatedAt": "2026-11-27T10:00:05Z", "statusHistory": []}
    ) == datetime(2026, 11, 27, 10, 0, 5, tzinfo=UTC)


def test_parse_ts_forms():
    expected = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert timeutil.parse_ts("2026-11-27T10:00:00Z") == expected
    assert timeutil.parse_ts("2026-11-27T11:00:00+01:00") == expected
    assert timeutil.parse_ts(expected.timestamp()) == expected
    assert timeutil.parse_ts(Decimal(str(expected.timestamp()))) == expected
    assert timeutil.parse_ts(datetime(2026, 11, 27, 10, 0)) == expected
    assert timeutil.parse_ts("yesterday") is None and timeutil.parse_ts(None) is None
    assert timeutil.iso(expected) == "2026-11-27T10:00:00.000Z"


def test_order_payload_total_is_exact():
    payload = api_client.order_payload("c1", [("prod-001", 2, "29.99"), ("prod-002", 1, "49.99")])
    assert payload == {
        "customerId": "c1",
        "totalAmount": 109.97,
        "items": [
            {"productId": "prod-001", "quantity": 2, "price": 29.99},
            {"productId": "prod-002", "quantity": 1, "price": 49.99},
        ],
    }


def test_new_run_id_is_a_valid_id():
    run_id = timeutil.new_run_id()
    assert re.fullmatch(r"e2e-\d{12}-[0-9a-f]{4}", run_id)
    assert re.fullmatch(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", f"{run_id}-c-over-limit")  # the API's id pattern


# --- execution histories ------------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def _ev(i: int, etype: str, seconds: float, **details):
    key = {
        "TaskStateEntered": "stateEnteredEventDetails",
        "TaskStateExited": "stateExitedEventDetails",
        "ChoiceStateEntered": "stateEnteredEventDetails",
        "ChoiceStateExited": "stateExitedEventDetails",
        "SucceedStateEntered": "stateEnteredEventDetails",
        "SucceedStateExited": "stateExitedEventDetails",
        "TaskScheduled": "taskScheduledEventDetails",
        "TaskFailed": "taskFailedEventDetails",
        "TaskSucceeded": "taskSucceededEventDetails",
        "LambdaFunctionScheduled": "lambdaFunctionScheduledEventDetails",
        "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
        "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
        "ExecutionSucceeded": "executionSucceededEventDetails",
        "ExecutionFailed": "executionFailedEventDetails",
        "ExecutionStarted": "executionStartedEventDetails",
    }[etype]
    return {"id": i, "type": etype, "timestamp": T0 + timedelta(seconds=seconds), key: details}


PAY_ARN = "arn:aws:lambda:us-east-1:000000000000:function:orderflow-local-payment"


def test_summarize_history_ministack_retry_uses_the_definition():
    """MiniStack: lambda:invoke TaskScheduled without parameters; a handler error then a retry."""
    events = [
        _ev(1, "ExecutionStarted", 0, input="{}"),
        _ev(2, "TaskStateEntered", 0.1, name="ProcessPayment"),
        _ev(3, "TaskScheduled", 0.1, resourceType="lambda", resource="arn:aws:states:::lambda:invoke"),
        _ev(4, "TaskFailed", 0.3, error="Runtime.HandlerError", cause="boom"),
        _ev(5, "TaskScheduled", 2.3, resourceType="lambda", resource="arn:aws:states:::lambda:invoke"),
        _ev(6, "TaskSucceeded", 2.5, output="{}"),
        _ev(7, "TaskStateExited", 2.5, name="ProcessPayment"),
        _ev(8, "ChoiceStateEntered", 2.5, name="CheckPaymentStatus"),
        _ev(9, "ChoiceStateExited", 2.5, name="CheckPaymentStatus"),
        _ev(10, "SucceedStateEntered", 2.6, name="DuplicateDelivery"),
        _ev(11, "ExecutionSucceeded", 2.6, output="{}"),
    ]
    definition = {
        "StartAt": "ProcessPayment",
        "States": {
            "ProcessPayment": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": PAY_ARN, "Payload.$": "$"},
                "Next": "CheckPaymentStatus",
            },
            "CheckPaymentStatus": {"Type": "Choice", "Choices": [], "Default": "DuplicateDelivery"},
            "DuplicateDelivery": {"Type": "Succeed"},
        },
    }
    summary = history.summarize_history(events, history.task_functions(json.dumps(definition)))
    assert summary["status"] == "SUCCEEDED"
    assert [s["name"] for s in summary["states"]] == ["ProcessPayment", "CheckPaymentStatus", "DuplicateDelivery"]
    assert (
        summary["states"][0]["entered"] == "2026-11-27T10:00:00.100Z"
        and summary["states"][0]["exited"] == "2026-11-27T10:00:02.500Z"
    )
    assert [(t["function"], t["outcome"], t["error"]) for t in summary["tasks"]] == [
        ("orderflow-local-payment", "FAILED", "Runtime.HandlerError"),
        ("orderflow-local-payment", "SUCCEEDED", None),
    ]
    assert summary["retries"] == [
        {
            "state": "ProcessPayment",
            "function": "orderflow-local-payment",
            "attempts": 2,
            "errors": ["Runtime.HandlerError"],
        }
    ]


def test_summarize_history_aws_shapes():
    """AWS: lambda:invoke events carry parameters; direct-ARN tasks use LambdaFunction* events."""
    params = json.dumps({"FunctionName": PAY_ARN, "Payload": {}})
    events = [
        _ev(1, "TaskStateEntered", 0, name="ProcessPayment"),
        _ev(2, "TaskScheduled", 0, resourceType="lambda", resource="invoke", parameters=params),
        _ev(3, "TaskFailed", 1, error="PaymentGatewayUnavailable"),
        _ev(4, "TaskScheduled", 3, resourceType="lambda", resource="invoke", parameters=params),
        _ev(5, "TaskFailed", 4, error="PaymentGatewayUnavailable"),
        _ev(6, "TaskStateExited", 4, name="ProcessPayment"),
        _ev(7, "TaskStateEntered", 4, name="Notify"),
        _ev(
            8,
            "LambdaFunctionScheduled",
            4,
            resource="arn:aws:lambda:eu-west-1:1:function:orderflow-dev-notification:$LATEST",
        ),
        _ev(9, "LambdaFunctionSucceeded", 5, output="{}"),
        _ev(10, "TaskStateExited", 5, name="Notify"),
        _ev(11, "ExecutionFailed", 5, error="OrderProcessingFailed", cause="x"),
    ]
    summary = history.summarize_history(events)
    assert summary["status"] == "FAILED" and summary["error"] == "OrderProcessingFailed"
    assert [t["function"] for t in summary["tasks"]] == ["orderflow-local-payment"] * 2 + ["orderflow-dev-notification"]
    assert (
        summary["retries"][0]["attempts"] == 2 and summary["retries"][0]["errors"] == ["PaymentGatewayUnavailable"] * 2
    )


def test_summarize_running_execution_and_service_tasks():
    events = [
        _ev(1, "TaskStateEntered", 0, name="CompleteOrder"),
        _ev(2, "TaskScheduled", 0, resourceType="dynamodb", resource="updateItem"),
    ]
    summary = history.summarize_history(events)
    assert (
        summary["status"] == "RUNNING"
        and summary["tasks"][0]["function"] is None
        and summary["tasks"][0]["outcome"] is None
    )


def test_task_functions_walks_map_and_parallel():
    definition = {
        "States": {
            "A": {"Type": "Task", "Resource": PAY_ARN},
            "B": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem", "Parameters": {}},
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "States": {
                        "C": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": "orderflow-local-inventory", "Payload.$": "$"},
                        }
                    }
                },
            },
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "States": {
                            "D": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                                "Parameters": {"FunctionName": f"{PAY_ARN}:live"},
                            }
                        }
                    }
                ],
            },
        }
    }
    assert history.task_functions(definition) == {
        "A": "orderflow-local-payment",
        "C": "orderflow-local-inventory",
        "D": "orderflow-local-payment",
    }


def test_execution_order_id():
    assert history.execution_order_id(json.dumps({"detail-type": "Order Created", "detail": {"orderId": "o1"}})) == "o1"
    assert history.execution_order_id(json.dumps({"order": {"orderId": "o2"}})) == "o2"
    assert history.execution_order_id(json.dumps({"orderId": "o3"})) == "o3"
    assert history.execution_order_id(json.dumps({"detail": {}})) is None
    assert history.execution_order_id("not json") is None and history.execution_order_id(None) is None


# --- reports ------------------------------------------------------------------------------------------------------

RECORDS = {
    "meta": {"env": "local", "run_id": "e2e-x", "started": "s", "finished": "f", "exit_code": 1, "api_url": "http://x"},
    "scenarios": [
        {
            "name": "happy",
            "nodeid": "t::happy",
            "outcome": "passed",
            "duration_s": 2.5,
            "notes": ["a <note>"],
            "message": None,
            "orders": [
                {
                    **ORDER,
                    "orderId": "o1",
                    "label": "first",
                    "acceptedAt": "2026-11-27T10:00:00.050Z",
                    "latency_s": 1.25,
                    "executions": [
                        {
                            "name": "ex1",
                            "stateMachine": "order-processing",
                            "status": "SUCCEEDED",
                            "start": "2026-11-27T10:00:00.020Z",
                            "stop": "2026-11-27T10:00:01.300Z",
                            "states": [
                                {
                                    "name": "ProcessPayment",
                                    "type": "Task",
                                    "entered": "2026-11-27T10:00:00.100Z",
                                    "exited": None,
                                }
                            ],
                            "retries": [{"state": "ProcessPayment", "attempts": 2, "errors": ["X"]}],
                        }
                    ],
                }
            ],
        },
        {
            "name": "broken",
            "nodeid": "t::broken",
            "outcome": "failed",
            "duration_s": 1.0,
            "notes": [],
            "message": "AssertionError: <boom>",
            "orders": [],
        },
    ],
}


def test_summary_table_rows():
    rows = report.scenario_rows(RECORDS)
    assert rows[0] == ["happy", 1, "PASSED", "1.25s", "1.25s", "2.5s", "COMPLETED=1"]
    assert rows[1][:3] == ["broken", 0, "FAILED"] and rows[1][3] == "-"
    assert "happy" in report.summary_table(RECORDS)


def test_html_report_is_self_contained_and_escaped():
    page = report.render_html(RECORDS)
    assert page.startswith("<!doctype html>") and page.endswith("</html>")
    assert "<script" not in page and "http://" not in page.replace("http://x", "") and "src=" not in page
    assert "a &lt;note&gt;" in page and "AssertionError: &lt;boom&gt;" in page
    # the order's timeline: accepted -> workflow state with its time -> terminal status, offsets from acceptance
    i_acc, i_state, i_done = (
        page.index("accepted: POST"),
        page.index("Task ProcessPayment"),
        page.index("status COMPLETED"),
    )
    assert i_acc < i_state < i_done
    assert (
        "+0 ms" in page and "+100 ms" in page and "+1250 ms" in page
    )  # from createdAt: state at +100, COMPLETED at +1250
    assert "retry in ProcessPayment: 2 attempts" in page


# --- bench --------------------------------------------------------------------------------------------------------


def test_bench_orders_are_seeded_and_consistent():
    cat1, orders1, needed1 = bench.make_orders("bench-x", 50, seed=7)
    cat2, orders2, needed2 = bench.make_orders("bench-x", 50, seed=7)
    assert (cat1, orders1, needed1) == (cat2, orders2, needed2)
    assert bench.make_orders("bench-x", 50, seed=8)[1] != orders1
    for order in orders1:
        ids = [i["productId"] for i in order["items"]]
        assert 1 <= len(ids) <= 3 and len(set(ids)) == len(ids)
        total = sum(Decimal(str(i["price"])) * i["quantity"] for i in order["items"])
        assert Decimal(str(order["totalAmount"])) == total.quantize(Decimal("0.01")) < 5000
    assert sum(needed1.values()) == sum(i["quantity"] for o in orders1 for i in o["items"])
    assert len({o["customerId"] for o in orders1}) == 50


def test_bench_reports_render():
    summary = stats.latency_summary([0.5, 1.0])
    result = {
        "accepted": 2,
        "orders_requested": 2,
        "terminal": 2,
        "lost": 0,
        "rejected": 0,
        "retried_requests": 0,
        "seconds": 3.0,
        "statuses": {"COMPLETED": 2},
        "started": "t",
        "env": "local",
        "concurrency": 1,
        "command": "invoke bench --env local --orders 2 --concurrency 1 --seed 7",
        "machine": {"nproc": 2, "memory_gib": 4.0, "cloud": "MiniStack 1.5.33", "python": "3.12"},
        "throughput": {"accepted_per_s": 1.0, "completed_per_s": 0.67, "terminal_per_s": 0.67},
        "latency": {
            "end_to_end": summary,
            "client_observed": summary,
            "post": summary,
            "stages": {"PENDING->PAID": summary},
        },
        "baseline": {"server": summary, "observed": summary},
    }
    text = bench.text_report(result)
    assert "LOST 0" in text and "stage PENDING->PAID" in text and "baseline" in text
    md = bench.markdown(result)
    assert "| latency | n | p50 | p95 | p99 | max |" in md and "**0 lost**" in md and "`invoke bench" in md


# --- replay -------------------------------------------------------------------------------------------------------


def test_replay_time_parsing_and_names():
    default = datetime(2026, 1, 1, tzinfo=UTC)
    assert replay._parse_time(None, default, "since") == default
    assert replay._parse_time("2026-11-27T10:00:00Z", default, "since") == datetime(2026, 11, 27, 10, tzinfo=UTC)
    with pytest.raises(UserError):
        replay._parse_time("last tuesday", default, "since")
    name = replay.replay_name("local")
    assert len(name) <= 64 and re.fullmatch(r"[.\-_A-Za-z0-9]+", name)
