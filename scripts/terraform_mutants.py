"""`invoke mutate-terraform`: deliberate bugs in terraform/, each of which `terraform test` must reject (issue 15).

Each mutant is one exact text replacement in one file of a copy of terraform/ (build/terraform-mutants/<name>/);
a replacement whose text no longer occurs once fails the run, so the list cannot silently stop applying. The
unmutated copy runs first as the control: it must pass, or no verdict would mean anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from scripts.common import BUILD_DIR, REPO_ROOT, SERVICES_DIR, TERRAFORM_DIR, UserError

SCHEMA_DIR = SERVICES_DIR / "shared" / "schemas"
INTEGRATIONS_PATH = REPO_ROOT / "workflow" / "integrations.json"

WORK_DIR = BUILD_DIR / "terraform-mutants"
COPY_IGNORE = shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str
    file: str  # relative to terraform/ (the copy also holds ../workflow/integrations.json)
    old: str
    new: str


MUTANTS = (
    Mutant(
        "cancel-rule-detail-type",
        "the cancellation rule matches another detail-type (Order Completed)",
        "main.tf",
        'order-cancellation-requested = { events = ["OrderCancellationRequested"]',
        'order-cancellation-requested = { events = ["OrderCompleted"]',
    ),
    Mutant(
        "refund-rule-source",
        "the refund rule matches another operator event (inventory.admin)",
        "main.tf",
        'refund-requested             = { events = ["RefundRequested"]',
        'refund-requested             = { events = ["InventoryRestocked"]',
    ),
    Mutant(
        "restock-rule-source",
        "the restock rule matches the inventory service's event (source inventory.service)",
        "main.tf",
        'inventory-restocked          = { events = ["InventoryRestocked"]',
        'inventory-restocked          = { events = ["InventoryReserved"]',
    ),
    Mutant(
        "rule-pattern-any-source",
        "rule patterns leave the source out (a detail-type put by any source would start a workflow)",
        "main.tf",
        "source      = distinct([for e in route.events : local.events[e].source])",
        "source      = null",
    ),
    Mutant(
        "registry-misses-a-contract",
        "the schema registry leaves the Order Created contract out",
        "modules/event_schemas/main.tf",
        "for_each = var.enabled ? var.schemas : {}",
        'for_each = var.enabled ? { for k, v in var.schemas : k => v if k != "OrderCreated" } : {}',
    ),
    Mutant(
        "inventory-table-env",
        "INVENTORY_TABLE names the reservations table",
        "main.tf",
        '"${upper(replace(table, "-", "_"))}_TABLE" => name }',
        '"${upper(replace(table, "-", "_"))}_TABLE" => table == "inventory" ? local.tables["reservations"] : name }',
    ),
    Mutant(
        "rule-target-retries", "rule targets retry 0 times", "variables.tf", "default     = 8\n}", "default     = 0\n}"
    ),
    Mutant(
        "dlq-alarm-threshold",
        "the DLQ alarms fire only above 1000 messages",
        "modules/monitoring/main.tf",
        "threshold   = 0\n",
        "threshold   = 1000\n",
    ),
    Mutant(
        "workflow-alarm-metric",
        "the workflow alarms watch succeeded executions",
        "modules/monitoring/main.tf",
        'metric      = "ExecutionsFailed"',
        'metric      = "ExecutionsSucceeded"',
    ),
    Mutant(
        "payment-role-put-item",
        "the payment role loses PutItem on its table",
        "service_permissions.json",
        '"actions": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"],\n        "resources": ["table/payments"]',
        '"actions": ["dynamodb:GetItem", "dynamodb:UpdateItem"],\n        "resources": ["table/payments"]',
    ),
    Mutant(
        "order-created-target",
        "Order Created starts the payment workflow instead of the order saga",
        "main.tf",
        'order-created                = { arn = module.workflows.state_machine_arns["order-processing"] }',
        'order-created                = { arn = module.workflows.state_machine_arns["payment-processing"] }',
    ),
    # the trusted bus (issue 11): who may put which source, and who may assume the roles
    Mutant(
        "payment-source-condition-dropped",
        "the payment role may put any source (its events:source condition dropped)",
        "service_permissions.json",
        '        "events": ["PaymentProcessed", "PaymentFailed", "PaymentRefunded"],\n',
        "",
    ),
    Mutant(
        "inventory-may-put-restocks",
        "the inventory role may put inventory.admin / Inventory Restocked (stock from nothing)",
        "service_permissions.json",
        '"events": ["InventoryReserved",',
        '"events": ["InventoryRestocked", "InventoryReserved",',
    ),
    Mutant(
        "operator-may-put-order-events",
        "the operator role may put order.service / Order Created",
        "service_permissions.json",
        '"operator": ["RefundRequested",',
        '"operator": ["OrderCreated", "RefundRequested",',
    ),
    # One trust helper (issue 12): every service role's trust comes from modules/trust_policy.
    Mutant(
        "trust-any-account",
        "the trust helper drops aws:SourceAccount: every service role trusts its service acting for any account",
        "modules/trust_policy/main.tf",
        '    condition {\n      test     = "StringEquals"\n      variable = "aws:SourceAccount"\n'
        "      values   = [var.source_account]\n    }\n",
        "",
    ),
    Mutant(
        "scheduler-trust-any-schedule-group",
        "the scheduler role trusts any schedule of the account (no aws:SourceArn)",
        "modules/scheduler/main.tf",
        "  source_arns     = [local.schedule_group_arn]\n",
        "",
    ),
    # Declared integrations (issue 12): the state machines' grants come from workflow/integrations.json.
    Mutant(
        "declaration-misses-a-service",
        "order-processing's declaration leaves out payment (its role cannot charge)",
        "../workflow/integrations.json",
        '"order-processing": {"invokes": ["inventory", "notification", "order", "payment"]',
        '"order-processing": {"invokes": ["inventory", "notification", "order"]',
    ),
    Mutant(
        "declaration-misses-the-owner-write",
        "order-processing's declaration leaves out UpdateItem on the orders table (its role cannot record the order's"
        " owner: every execution fails at OwnOrder)",
        "../workflow/integrations.json",
        '"tables": {"orders": ["UpdateItem"], "outbox": ["DeleteItem", "PutItem"]}',
        '"tables": {"outbox": ["DeleteItem", "PutItem"]}',
    ),
    Mutant(
        "workflow-grant-ignores-declaration",
        "each workflow role may invoke every function of the stack, not what its workflow declares",
        "modules/workflows/main.tf",
        "wf => sort(lookup(var.invoked_services, wf, []))",
        "wf => sort(keys(var.function_arns))",
    ),
    Mutant(
        "workflow-put-events-any-source",
        "a workflow role's PutEvents grant drops its events:source condition (it may put its detail-types under any"
        " source, an operator's included)",
        "modules/workflows/main.tf",
        '      condition {\n        test     = "StringEquals"\n        variable = "events:source"\n'
        "        values   = [statement.value.source]\n      }\n",
        "",
    ),
)


_INIT_LOCK = threading.Lock()


def _copy(name: str) -> Path:
    root = WORK_DIR / name
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(TERRAFORM_DIR, root / "terraform", ignore=COPY_IGNORE)
    # the root reads the event contracts from ../services/shared/schemas/events and the workflows' declared
    # integrations from ../workflow/integrations.json
    shutil.copytree(SCHEMA_DIR, root / SCHEMA_DIR.relative_to(REPO_ROOT))
    (root / "workflow").mkdir()
    shutil.copy2(INTEGRATIONS_PATH, root / "workflow" / INTEGRATIONS_PATH.name)
    return root / "terraform"


def apply(mutant: Mutant, terraform_dir: Path) -> None:
    path = terraform_dir / mutant.file
    text = path.read_text(encoding="utf-8")
    if text.count(mutant.old) != 1:
        raise UserError(
            f"Terraform mutant '{mutant.name}' no longer applies: its text occurs {text.count(mutant.old)} "
            f"times in terraform/{mutant.file}; update scripts/terraform_mutants.py to the code."
        )
    path.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")


def _terraform_test(terraform_dir: Path) -> tuple[bool, str]:
    from scripts.checks import _terraform_env
    from scripts.stack import terraform_bin

    env = {**os.environ, **_terraform_env(), "TF_DATA_DIR": str(terraform_dir / ".terraform")}
    tf = terraform_bin()
    # Parallel inits collide on the shared plugin cache; a failed init is a broken run, never a kill.
    with _INIT_LOCK:
        init = subprocess.run(
            [tf, "init", "-backend=false", "-input=false", "-no-color"],
            cwd=terraform_dir,
            env=env,
            check=False,
            capture_output=True,
            text=True,
        )
    if init.returncode != 0:
        raise UserError(f"terraform init failed in {terraform_dir}: {(init.stdout + init.stderr)[-500:]}")
    result = subprocess.run(
        [tf, "test", "-no-color"], cwd=terraform_dir, env=env, check=False, capture_output=True, text=True
    )
    failed = [line.strip() for line in (result.stdout + result.stderr).splitlines() if "... fail" in line]
    return result.returncode == 0, "; ".join(failed)


def run(workers: int = 2) -> dict[str, bool]:
    """Control first, then every mutant; returns mutant -> killed. Fails when the control fails or a mutant lives."""
    from scripts import checks

    checks.render_test_fixtures()
    started = time.monotonic()
    passed, detail = _terraform_test(_copy("control"))
    if not passed:
        raise UserError(f"terraform test fails on the unmutated copy ({detail}): fix that before judging mutants.")
    print(f"control (unmutated): terraform test passes ({time.monotonic() - started:.0f}s)", flush=True)

    def judge(mutant: Mutant) -> tuple[Mutant, bool, str]:
        terraform_dir = _copy(mutant.name)
        apply(mutant, terraform_dir)
        passed, detail = _terraform_test(terraform_dir)
        return mutant, not passed, detail

    for mutant in MUTANTS:  # every replacement must apply before anything runs for minutes
        apply(mutant, _copy(mutant.name))
    verdicts = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for mutant, killed, detail in pool.map(judge, MUTANTS):
            verdicts[mutant.name] = killed
            print(
                f"{'killed  ' if killed else 'SURVIVED'} {mutant.name}: {mutant.what}"
                + (f" [{detail}]" if killed else ""),
                flush=True,
            )
    alive = [name for name, killed in verdicts.items() if not killed]
    print(
        f"\nTerraform mutants: {len(verdicts) - len(alive)} of {len(verdicts)} killed by terraform test "
        f"in {time.monotonic() - started:.0f}s."
    )
    if alive:
        raise UserError(
            f"terraform test accepts {len(alive)} mutant(s) ({', '.join(alive)}): add the assertion that rejects each."
        )
    return verdicts
