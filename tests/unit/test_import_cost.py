"""scripts/import_cost.py: the table and the target line of `invoke imports` (the timings themselves are figures)."""

from __future__ import annotations

import pytest

from scripts import import_cost
from scripts.common import UserError


def row(service: str, handler_ms: float, boto3_ms: float) -> dict:
    return {
        "service": service,
        "module": f"{service}.handler",
        "handler_ms": handler_ms,
        "boto3_ms": boto3_ms,
        "ratio": round(handler_ms / boto3_ms, 2),
        "runs": 5,
    }


def test_the_report_shows_each_ratio_and_the_target_line():
    text = import_cost.report([row("order", 300.0, 150.0), row("payment", 330.0, 150.0)])
    lines = text.splitlines()
    assert lines[0].startswith(
        "Cold import of each handler module vs a bare `import boto3` (fresh interpreter each, median of 5 runs"
    )
    assert [line.split() for line in lines[3:5]] == [
        ["order", "order.handler", "300.0", "150.0", "2.00x", "met"],
        ["payment", "payment.handler", "330.0", "150.0", "2.20x", "not", "met"],
    ]
    assert lines[-1] == (
        "target: every handler's cold import within 2x of `import boto3`: NOT met (worst: payment 2.20x)"
    )


def test_the_target_is_met_when_every_handler_is_within_2x():
    assert import_cost.report([row("order", 200.0, 150.0)]).splitlines()[-1] == (
        "target: every handler's cold import within 2x of `import boto3`: met (worst: order 1.33x)"
    )


def test_no_build_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setattr(import_cost, "MANIFEST", tmp_path / "manifest.json")
    with pytest.raises(UserError, match=r"^There is no build/manifest.json: run `invoke build` first\.$"):
        import_cost.run(1)


def test_runs_must_be_positive():
    with pytest.raises(UserError, match=r"^--runs must be at least 1, got 0\.$"):
        import_cost.run(0)
