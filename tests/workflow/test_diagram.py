"""scripts/diagram.py: one SVG per workflow (Graphviz `dot`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts import diagram  # noqa: E402
from scripts.render import WORKFLOWS  # noqa: E402


def test_condition_text():
    assert diagram.condition_text({"Variable": "$.payment.status", "StringEquals": "PAID"}) == \
        '$.payment.status == "PAID"'
    assert diagram.condition_text({"Or": [{"Variable": "$.a", "IsPresent": True},
                                          {"Not": {"Variable": "$.b", "NumericGreaterThan": 0}}]}) == \
        "$.a present OR NOT ($.b > 0)"


def test_dot_source_has_choice_labels_dashed_catches_and_map_clusters():
    import json
    source = diagram.to_dot("inventory-management", json.loads(
        (diagram.TEMPLATE_DIR / "inventory-management.asl.json").read_text()))
    assert 'label="$[\'detail-type\'] == \\"Inventory Restocked\\""' in source
    assert "style=dashed" in source and "catch ConditionalCheckFailed" in source
    assert 'subgraph "cluster_ExpireStaleOrders/0/"' in source
    assert "lhead=" in source and "ltail=" in source


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz not installed: apt-get install graphviz")
def test_render_diagrams_writes_one_svg_per_workflow(tmp_path):
    paths = diagram.render_diagrams("local", out_dir=tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{name}.svg" for name in WORKFLOWS)
    order = (tmp_path / "order-processing.svg").read_text()
    assert order.lstrip().startswith("<?xml") and "<svg" in order
    assert "CheckPaymentStatus" in order and "DuplicateDelivery" in order
    assert "stroke-dasharray" in order  # dashed Catch edges
    assert "ExpireStaleOrders: for each item" in (tmp_path / "inventory-management.svg").read_text()


def test_default_output_folder(tmp_path, monkeypatch):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz not installed: apt-get install graphviz")
    import scripts.common  # the default output folder is scripts.common.env_build_dir(env)
    monkeypatch.setattr(scripts.common, "BUILD_DIR", tmp_path / "build")
    paths = diagram.render_diagrams("dev")
    assert {p.parent for p in paths} == {tmp_path / "build" / "dev" / "diagrams"}


def test_missing_graphviz_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    with pytest.raises(diagram.GraphvizMissing, match="apt-get install graphviz"):
        diagram.render_diagrams("local", out_dir=tmp_path)
