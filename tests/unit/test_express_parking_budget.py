"""The EXPRESS parking budget has one owner, scripts/workflow_policies.py: the deploy tasks hand it to Terraform, whose
workflows module refuses an EXPRESS definition that parks longer (terraform/tests/modules.tftest.hcl), and the root
variable's default (for runs without the tasks: terraform test) is held equal to it here."""

from __future__ import annotations

import json
import re

from scripts import aws_session, stack, workflow_policies
from scripts import build as build_module
from scripts import render as render_module
from scripts.common import TERRAFORM_DIR


def _root_variable_default(name: str) -> int:
    block = re.search(rf'variable "{name}" \{{(.*?)\n\}}', (TERRAFORM_DIR / "variables.tf").read_text(), re.DOTALL)
    assert block, f"terraform/variables.tf declares no variable {name}"
    default = re.search(r"^\s*default\s*=\s*(\d+)\s*$", block[1], re.MULTILINE)
    assert default, f"terraform/variables.tf gives {name} no number default"
    return int(default[1])


def test_the_root_default_is_the_express_budget_of_record():
    assert workflow_policies.PAYMENT_PARKING_BUDGET_SECONDS_BY_TYPE["EXPRESS"] == 120
    assert _root_variable_default("express_parking_budget_seconds") == 120


def test_the_module_tests_pass_the_express_budget_of_record():
    """terraform/tests/modules.tftest.hcl gives the workflows module the budget as the root would."""
    text = (TERRAFORM_DIR / "tests" / "modules.tftest.hcl").read_text()
    block = re.search(r"^variables \{(.*?)^\}", text, re.DOTALL | re.MULTILINE)
    assert block, "modules.tftest.hcl has no file-level variables block"
    value = re.search(r"^\s*express_parking_budget_seconds\s*=\s*(\d+)\s*$", block[1], re.MULTILINE)
    assert value and int(value[1]) == workflow_policies.PAYMENT_PARKING_BUDGET_SECONDS_BY_TYPE["EXPRESS"] == 120


def test_the_deploy_inputs_hand_terraform_the_express_budget_of_record(monkeypatch, tmp_path):
    monkeypatch.delenv(stack.ORDER_WORKFLOW_TYPE_ENV, raising=False)
    monkeypatch.setattr(stack, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(stack, "env_build_dir", lambda env: tmp_path / "build" / env)
    monkeypatch.setattr(build_module, "build", lambda: None)
    monkeypatch.setattr(render_module, "render_workflows", lambda env, **kwargs: {})
    monkeypatch.setattr(aws_session, "region", lambda env: "us-east-1")
    monkeypatch.setattr(aws_session, "account_id", lambda env: "123456789012")

    var_files = stack.prepare_inputs("dev")

    assert var_files[1] == str(tmp_path / "build" / "dev" / "inputs.tfvars.json")
    inputs = json.loads((tmp_path / "build" / "dev" / "inputs.tfvars.json").read_text())
    assert (inputs["order_workflow_type"], inputs["express_parking_budget_seconds"]) == ("STANDARD", 120)
