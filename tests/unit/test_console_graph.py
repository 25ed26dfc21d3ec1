"""The execution graph's colours (scripts/console/graph.py) from a Step Functions history: succeeded, retried,
failed and compensated states, and unvisited ones greyed; on the real order-processing definition."""

from __future__ import annotations

import re
import shutil

import pytest

from scripts.console import graph
from scripts.history import summarize_history
from scripts.render import TEMPLATE_DIR, TEMPLATE_SUFFIX, placeholder_values, render_definition


def _definition() -> dict:
    template = TEMPLATE_DIR / f"order-processing{TEMPLATE_SUFFIX}"
    values = placeholder_values("local", region="us-east-1", account_id="000000000000")
    return render_definition(template.read_text(encoding="utf-8"), values, source=str(template))


def _history(*steps: tuple[str, ...], end: str = "ExecutionSucceeded") -> list[dict]:
    """Events from steps: ("enter", name, type) / ("exit", name) / ("task", "ok"|"fail")."""
    events: list[dict] = [{"type": "ExecutionStarted", "timestamp": "2026-12-06T10:00:00Z"}]
    for step in steps:
        if step[0] == "enter":
            events.append({"type": f"{step[2]}StateEntered", "stateEnteredEventDetails": {"name": step[1]}})
        elif step[0] == "exit":
            events.append({"type": "TaskStateExited", "stateExitedEventDetails": {"name": step[1]}})
        else:
            events.append({"type": "TaskScheduled", "taskScheduledEventDetails": {"resource": "invoke"}})
            if step[1] == "ok":
                events.append({"type": "TaskSucceeded", "taskSucceededEventDetails": {}})
            else:
                events.append({"type": "TaskFailed", "taskFailedEventDetails": {"error": "Boom", "cause": "c"}})
    events.append({"type": end, ("executionFailedEventDetails" if end == "ExecutionFailed" else "x"): {}})
    for n, event in enumerate(events):
        event.setdefault("timestamp", f"2026-12-06T10:00:{n:02d}Z")
    return events


def test_a_path_with_a_retry_a_failure_and_compensation():
    history = _history(
        ("enter", "OwnOrder", "Task"), ("task", "ok"), ("exit", "OwnOrder"),
        ("enter", "UseEventOrder", "Pass"), ("exit", "UseEventOrder"),
        ("enter", "ProcessPayment", "Task"), ("task", "fail"), ("task", "ok"), ("exit", "ProcessPayment"),
        ("enter", "ReserveInventory", "Task"), ("task", "fail"), ("task", "fail"),
        ("enter", "ClaimFailed", "Task"), ("task", "ok"), ("exit", "ClaimFailed"),
        ("enter", "Finalize", "Parallel"),
        ("enter", "RefundPayment", "Task"), ("task", "ok"), ("exit", "RefundPayment"),
        ("enter", "ReleaseInventory", "Task"), ("task", "ok"), ("exit", "ReleaseInventory"),
        ("exit", "Finalize"),
        ("enter", "OrderFailed", "Fail"),
        end="ExecutionFailed",
    )  # fmt: skip
    outcomes = graph.state_outcomes(_definition(), summarize_history(history))
    assert outcomes == {
        "OwnOrder": "succeeded",
        "UseEventOrder": "succeeded",
        "ProcessPayment": "retried",
        "ReserveInventory": "failed",
        "ClaimFailed": "succeeded",
        "Finalize": "succeeded",
        "RefundPayment": "compensated",
        "ReleaseInventory": "compensated",
        "OrderFailed": "failed",
    }


def test_the_state_an_execution_failed_in_is_failed():
    history = _history(
        ("enter", "OwnOrder", "Task"),
        ("task", "ok"),
        ("exit", "OwnOrder"),
        ("enter", "UseEventOrder", "Pass"),
        end="ExecutionFailed",
    )
    assert graph.state_outcomes(_definition(), summarize_history(history)) == {
        "OwnOrder": "succeeded",
        "UseEventOrder": "failed",
    }


def test_branch_states_get_their_scoped_node_ids():
    index = graph.state_index(_definition())
    assert index["RefundPayment"] == {"id": "Finalize/0/RefundPayment", "type": "Task", "action": "refund"}
    assert index["OwnOrder"]["id"] == "OwnOrder"


def test_the_dot_source_restyles_visited_and_greys_the_rest():
    history = _history(
        ("enter", "OwnOrder", "Task"),
        ("task", "ok"),
        ("exit", "OwnOrder"),
        ("enter", "Finalize", "Parallel"),
        ("enter", "RefundPayment", "Task"),
        ("task", "ok"),
    )
    dot = graph.execution_dot("order-processing", _definition(), summarize_history(history))
    assert (
        '"OwnOrder" [fillcolor="#bbf7d0", color="#15803d", penwidth=2.5, style="filled,bold,rounded", class="visited succeeded"'
        in dot
    )
    assert '"Finalize/0/RefundPayment" [fillcolor="#e9d5ff", color="#7e22ce"' in dot
    assert '"OrderFinished" [fillcolor="#f8fafc", color="#cbd5e1", fontcolor="#94a3b8", class="unvisited"];' in dot


@pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz `dot` is not installed (scripts/bootstrap.sh installs it)"
)
def test_the_svg_carries_the_outcome_classes():
    history = _history(
        ("enter", "OwnOrder", "Task"), ("task", "ok"), ("exit", "OwnOrder"),
        ("enter", "ProcessPayment", "Task"), ("task", "fail"), ("task", "ok"), ("exit", "ProcessPayment"),
    )  # fmt: skip
    svg = graph.execution_svg("order-processing", _definition(), summarize_history(history))
    assert svg.startswith("<svg")
    nodes = {
        title: cls for cls, title in re.findall(r'<g id="node\d+" class="node ([^"]+)">\s*<title>([^<]+)</title>', svg)
    }
    assert nodes["OwnOrder"] == "visited succeeded"
    assert nodes["ProcessPayment"] == "visited retried"
    assert nodes["OrderFinished"] == "unvisited"
