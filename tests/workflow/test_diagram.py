"""scripts/diagram.py: one SVG per workflow (Graphviz `dot`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts import diagram
from scripts.render import WORKFLOWS, placeholder_values, render_definition


def dot_source(workflow: str) -> str:
    template = diagram.TEMPLATE_DIR / f"{workflow}.asl.json"
    values = placeholder_values("local", region="us-east-1", account_id="000000000000")
    return diagram.to_dot(workflow, render_definition(template.read_text(), values))


def test_condition_text():
    assert (
        diagram.condition_text({"Variable": "$.payment.status", "StringEquals": "PAID"}) == '$.payment.status == "PAID"'
    )
    assert (
        diagram.condition_text(
            {"Or": [{"Variable": "$.a", "IsPresent": True}, {"Not": {"Variable": "$.b", "NumericGreaterThan": 0}}]}
        )
        == "$.a present OR NOT ($.b > 0)"
    )


def test_dot_source_has_choice_labels_dashed_catches_map_and_finalize_clusters():
    source = dot_source("inventory-management")
    assert 'label="$[\'detail-type\'] == \\"Inventory Restocked\\""' in source
    assert "style=dashed" in source and "catch States.ALL" in source
    assert 'subgraph "cluster_ExpireStaleOrders/0/"' in source
    # the finalize fragment, inlined where the template says ${FinalizeBranch}
    assert 'subgraph "cluster_ExpireStaleOrders/0/FinalizeExpired/0/"' in source
    assert '"ResumeFinalizations/0/ResumeFinalize/0/Settle"' in source
    assert "lhead=" in source and "ltail=" in source


def test_every_workflow_is_drawn_with_its_finalize_branch_and_retry_policy():
    for workflow in WORKFLOWS:
        source = dot_source(workflow)
        assert "NotifyOutcome" in source and "NotCompensable" in source, workflow
        assert "retry ×7" in source, workflow  # ${LambdaRetry}: MaxAttempts 7


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed: apt-get install graphviz")
def test_render_diagrams_writes_one_svg_per_workflow(tmp_path):
    paths = diagram.render_diagrams("local", out_dir=tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{name}.svg" for name in WORKFLOWS)
    order = (tmp_path / "order-processing.svg").read_text()
    assert order.lstrip().startswith("<?xml") and "<svg" in order
    assert "CheckPaymentStatus" in order and "DuplicateExecution" in order and "WaitForGateway" in order
    assert "stroke-dasharray" in order  # dashed Catch edges
    assert "ExpireStaleOrders: for each item" in (tmp_path / "inventory-management.svg").read_text()


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed: apt-get install graphviz")
def test_default_output_folder(tmp_path, monkeypatch):
    import scripts.common  # the default output folder is scripts.common.env_build_dir(env)

    monkeypatch.setattr(scripts.common, "BUILD_DIR", tmp_path / "build")
    paths = diagram.render_diagrams("dev")
    assert {p.parent for p in paths} == {tmp_path / "build" / "dev" / "diagrams"}


def test_missing_graphviz_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    with pytest.raises(diagram.GraphvizMissing, match="apt-get install graphviz"):
        diagram.render_diagrams("local", out_dir=tmp_path)
