"""`invoke deploy / plan / destroy / bootstrap-state`: Terraform through python-terraform, one root, one env at a time.

Each env keeps its own Terraform data dir (build/<env>/.terraform), so switching env needs no re-init. env local
uses a local state file (build/local/terraform.tfstate) and the local cloud's endpoint; dev and prod use the S3
backend configured by terraform/envs/<env>.backend.hcl.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, IsNotFlagged, Terraform

from scripts import aws_session, emulator_workarounds, local_cloud
from scripts import build as build_module
from scripts.common import (
    BUILD_DIR,
    ENVS_DIR,
    PROJECT,
    REPO_ROOT,
    TERRAFORM_DIR,
    UserError,
    check_env,
    env_build_dir,
    is_local,
    write_json,
)

LOCAL_BACKEND_OVERRIDE = TERRAFORM_DIR / "local_backend_override.tf"
CLI_CONFIG = BUILD_DIR / "terraform" / "terraformrc"
PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
# Terraform's default of 10 queues the many small resources (queues, rules) behind slow ones (KMS, S3 lifecycle).
PARALLELISM = 20


# --- terraform binary, provider mirror, CLI config -------------------------------------------------------------


def _provider_mirror() -> Path | None:
    """A filesystem mirror holding the AWS provider: $TF_PLUGIN_DIR, else a registry.terraform.io folder 3 levels below /."""
    if plugin_dir := os.environ.get("TF_PLUGIN_DIR"):
        return Path(plugin_dir)
    for candidate in sorted(glob.glob("/*/*/registry.terraform.io")):
        if Path(candidate, "hashicorp", "aws").is_dir():
            return Path(candidate).parent
    return None


def _write_cli_config() -> Path:
    """Our own CLI config: the mirror when the machine has one, the registry otherwise (plain init)."""
    mirror = _provider_mirror()
    lines = [f'plugin_cache_dir = "{BUILD_DIR / "terraform" / "plugin-cache"}"']
    if mirror:
        lines += [
            "provider_installation {",
            f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["{PROVIDER_SOURCE}"]\n  }}',
            f'  direct {{\n    exclude = ["{PROVIDER_SOURCE}"]\n  }}',
            "}",
        ]
    (BUILD_DIR / "terraform" / "plugin-cache").mkdir(parents=True, exist_ok=True)
    CLI_CONFIG.write_text("\n".join(lines) + "\n")
    return CLI_CONFIG


def terraform_bin() -> str:
    path = shutil.which("terraform")
    if not path:
        raise UserError(
            "Terraform is not on PATH: install Terraform >= 1.9 (https://developer.hashicorp.com/terraform/install) and retry."
        )
    return path


def _terraform(env: str, var_files: list[str] | None = None) -> Terraform:
    os.environ["TF_CLI_CONFIG_FILE"] = str(_write_cli_config())
    os.environ["TF_DATA_DIR"] = str(env_build_dir(env) / ".terraform")
    os.environ.setdefault("TF_IN_AUTOMATION", "1")
    return Terraform(working_dir=str(TERRAFORM_DIR), terraform_bin_path=terraform_bin(), var_file=var_files)


def _run_streamed(tf: Terraform, command: str, **options: Any) -> int:
    """Run a terraform command with its whole output on the terminal (plan: the user reads it)."""
    code, _, _ = tf.cmd(command, capture_output=False, **options)
    return code


_PROGRESS = re.compile(r"^(?P<addr>\S+): (?P<what>Creation|Destruction|Modifications) complete after (?P<secs>\S+)")


def _run_with_progress(tf: Terraform, command: str, **options: Any) -> int:
    """apply/destroy: one line per finished resource instead of the whole plan; the full log on failure."""
    # python-terraform builds the command line; its own async mode leaks a -synchronous flag into it (0.10.1).
    cmd = tf.generate_cmd_string(command, **options)
    proc = subprocess.Popen(cmd, cwd=tf.working_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log: list[str] = []
    done = 0
    for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip()
        log.append(line)
        if match := _PROGRESS.match(line):
            done += 1
            verb = {"Creation": "created", "Destruction": "destroyed", "Modifications": "updated"}[match["what"]]
            print(f"  [{done:>3}] {verb:<9} {match['addr']} ({match['secs']})", flush=True)
        elif line.startswith(("Apply complete", "Destroy complete", "Warning:", "Error:", "│ Error")):
            print(f"  {line}", flush=True)
    code = proc.wait()
    tf.temp_var_files.clean_up()
    if code != 0:
        print("\n".join(log[-80:]), file=sys.stderr)
    return code


# --- env inputs ------------------------------------------------------------------------------------------------


def backend_settings(env: str) -> dict[str, str]:
    """terraform/envs/<env>.backend.hcl as {key: value} (`<ACCOUNT_ID>` not filled in), with the env's region.

    The backend file names no region: the tasks add the tfvars region (`aws_session.region`), so the state bucket, the lock
    table and the stack share one region. A region the file does name must be that one; otherwise this fails, before
    anything is created or initialised."""
    path = ENVS_DIR / f"{env}.backend.hcl"
    if not path.exists():
        raise UserError(
            f"terraform/envs/{env}.backend.hcl is missing: write the S3 backend settings for '{env}' (see docs/terraform.md)."
        )
    settings = dict(re.findall(r'^\s*(\w+)\s*=\s*"([^"]*)"', path.read_text(), re.MULTILINE))
    wanted = aws_session.region(env)
    if settings.get("region", wanted) != wanted:
        raise UserError(
            f"terraform/envs/{env}.backend.hcl sets region {settings['region']} but terraform/envs/{env}.tfvars "
            f"sets {wanted}: delete the backend file's region line (the tasks add the tfvars region)."
        )
    if not settings.get("bucket") or not settings.get("dynamodb_table"):
        raise UserError(f"terraform/envs/{env}.backend.hcl must set bucket and dynamodb_table.")
    return {**settings, "region": wanted}


def preflight(env: str) -> None:
    """Fail fast, with one sentence, on what would otherwise fail deep inside Terraform (`invoke preflight` is the
    full table of checks; deploy runs it for dev and prod)."""
    check_env(env)
    terraform_bin()
    if is_local(env):
        local_cloud.require_up()
    else:
        backend_settings(env)
        aws_session.account_id(env)


#: Overrides terraform/envs/<env>.tfvars's `order_workflow_type` for one run (`invoke deploy/plan/destroy
#: --order-workflow-type`, and CI's second e2e pass): the renderer and Terraform then get the same value.
ORDER_WORKFLOW_TYPE_ENV = "ORDERFLOW_ORDER_WORKFLOW_TYPE"


def _tfvars_string(text: str, name: str) -> str | None:
    """The string value `name = "..."` of a tfvars (or a variable block's `default = "..."`), None when absent."""
    match = re.search(rf'^\s*{name}\s*=\s*"([^"]*)"', text, re.MULTILINE)
    return match[1] if match else None


def order_workflow_type(env: str) -> str:
    """The order workflow's type for `env`: $ORDERFLOW_ORDER_WORKFLOW_TYPE, else terraform/envs/<env>.tfvars's
    `order_workflow_type`, else the variable's default in terraform/variables.tf (its one owner)."""
    from scripts.workflow_policies import WORKFLOW_TYPES

    value = os.environ.get(ORDER_WORKFLOW_TYPE_ENV) or _tfvars_string(
        (ENVS_DIR / f"{env}.tfvars").read_text() if (ENVS_DIR / f"{env}.tfvars").exists() else "",
        "order_workflow_type",
    )
    if value is None:
        block = re.search(
            r'variable "order_workflow_type" \{(.*?)\n\}', (TERRAFORM_DIR / "variables.tf").read_text(), re.DOTALL
        )
        value = _tfvars_string(block[1], "default") if block else None
    if value not in WORKFLOW_TYPES:
        raise UserError(
            f"order_workflow_type must be one of {', '.join(WORKFLOW_TYPES)}, not {value!r}: fix "
            f"--order-workflow-type, ${ORDER_WORKFLOW_TYPE_ENV} or terraform/envs/{env}.tfvars."
        )
    return value


def override_order_workflow_type(env: str, value: str) -> None:
    """`--order-workflow-type`: use `value` (when given) for the rest of this process, checked first."""
    if value:
        os.environ[ORDER_WORKFLOW_TYPE_ENV] = value.upper()
        order_workflow_type(env)


def prepare_inputs(env: str) -> list[str]:
    """Build, render the workflows and write the generated variables; return the -var-file list."""
    from scripts.render import render_workflows
    from scripts.workflow_policies import payment_parking_budget_seconds

    build_module.build()
    workflow_type = order_workflow_type(env)
    rendered = render_workflows(
        env,
        region=aws_session.region(env),
        account_id=aws_session.account_id(env),
        project=PROJECT,
        out_dir=env_build_dir(env) / "workflow",
        order_workflow_type=workflow_type,
    )
    print(
        f"Rendered {len(rendered)} workflow definitions into {(env_build_dir(env) / 'workflow').relative_to(REPO_ROOT)}"
        f" (order-processing as {workflow_type})"
    )
    inputs = {
        "build_manifest_path": str(build_module.MANIFEST),
        "repo_root": str(REPO_ROOT),
        "workflow_definitions_dir": str(env_build_dir(env) / "workflow"),
        "aws_endpoint_url": local_cloud.endpoint() if is_local(env) else None,
        # The renderer's value (its parking budget fits it), so Terraform deploys the type the definition was made for.
        "order_workflow_type": workflow_type,
        # The EXPRESS budget of record, so Terraform refuses an EXPRESS definition that parks longer.
        "express_parking_budget_seconds": payment_parking_budget_seconds("EXPRESS"),
    }
    inputs_file = env_build_dir(env) / "inputs.tfvars.json"
    write_json(inputs_file, inputs)
    return [str(ENVS_DIR / f"{env}.tfvars"), str(inputs_file)]


def init(env: str) -> Terraform:
    tf = _terraform(env)
    if is_local(env):
        # Constant content (the path comes from -backend-config), so concurrent runs on other ports agree.
        LOCAL_BACKEND_OVERRIDE.write_text(
            "# Written by `invoke deploy --env local`: env local keeps a local state file (path from -backend-config).\n"
            'terraform {\n  backend "local" {}\n}\n'
        )
        backend_config = f"path={env_build_dir(env) / 'terraform.tfstate'}"
    else:
        LOCAL_BACKEND_OVERRIDE.unlink(missing_ok=True)
        backend_config = str(resolved_backend_config(env))
    print(f"terraform init ({env}) ...", flush=True)
    code, out, err = tf.init(backend_config=backend_config, reconfigure=IsFlagged, input=False)
    if code != 0:
        raise UserError(f"terraform init failed for env '{env}'; fix the error below and retry:\n{err or out}")
    return tf


def resolved_backend_config(env: str) -> Path:
    """terraform/envs/<env>.backend.hcl with <ACCOUNT_ID> filled in (state bucket names are global) and the env's
    region added (`backend_settings`)."""
    settings = backend_settings(env)
    text = (ENVS_DIR / f"{env}.backend.hcl").read_text().replace("<ACCOUNT_ID>", aws_session.account_id(env))
    if not re.search(r"^\s*region\s*=", text, re.MULTILINE):
        text = (
            text.rstrip("\n")
            + f'\n# added by the tasks from terraform/envs/{env}.tfvars\nregion = "{settings["region"]}"\n'
        )
    path = env_build_dir(env) / "backend.hcl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_outputs(env: str, tf: Terraform) -> dict[str, Any]:
    raw = tf.output()
    if raw is None:
        raise UserError(f"terraform output failed for env '{env}'; run `invoke deploy --env {env}` again.")
    outputs = {name: item["value"] for name, item in raw.items()}
    outputs["env"] = env
    write_json(env_build_dir(env) / "outputs.json", outputs)
    return outputs


def deploy(env: str, yes: bool = False) -> dict[str, Any]:
    if is_local(env):
        preflight(env)
    else:
        from scripts import preflight as checks

        checks.require(env)  # the whole table (account, region, quotas, workflows, policies) before anything changes
    if env == "prod" and not yes:
        answer = input("Deploy to prod? Type 'prod' to confirm: ") if sys.stdin.isatty() else ""
        if answer.strip() != "prod":
            raise UserError("Deploy to prod not confirmed: type 'prod' at the prompt or pass --yes.")
    var_files = prepare_inputs(env)
    tf = init(env)
    tf.var_file = var_files
    print(f"terraform apply ({env}) ...", flush=True)
    code = _run_with_progress(
        tf,
        "apply",
        input=False,
        parallelism=PARALLELISM,
        auto_approve=IsFlagged,
        no_color=IsFlagged,
        compact_warnings=IsFlagged,
        var_file=var_files,
    )
    if code != 0:
        raise UserError(f"terraform apply failed for env '{env}' (exit {code}); see the errors above.")
    outputs = write_outputs(env, tf)
    print(f"Deployed env '{env}'. Outputs: {(env_build_dir(env) / 'outputs.json').relative_to(REPO_ROOT)}")
    print(f"  API: {outputs.get('api_url')}")
    from scripts import warmup

    warmup.warm_unless_skipped(env, outputs=outputs)
    return outputs


def plan(env: str) -> int:
    """terraform plan -detailed-exitcode: 0 no changes, 2 changes."""
    preflight(env)
    var_files = prepare_inputs(env)
    tf = init(env)
    code = _run_streamed(tf, "plan", input=False, no_color=IsFlagged, detailed_exitcode=IsFlagged, var_file=var_files)
    if code not in (0, 2):
        raise UserError(f"terraform plan failed for env '{env}' (exit {code}); see the errors above.")
    print("No changes: the deployed stack matches the code." if code == 0 else "The plan has changes (exit 2).")
    return code


def destroy(env: str, yes: bool = False) -> None:
    preflight(env)
    if env == "prod" and not yes:
        raise UserError("Refusing to destroy prod without --yes.")
    var_files = prepare_inputs(env)
    tf = init(env)
    attempts = emulator_workarounds.destroy_attempts(env)
    for attempt in range(1, attempts + 1):
        print(f"terraform destroy ({env}) ...", flush=True)
        code = _run_with_progress(
            tf,
            "destroy",
            input=False,
            parallelism=PARALLELISM,
            auto_approve=IsFlagged,
            force=IsNotFlagged,
            no_color=IsFlagged,
            compact_warnings=IsFlagged,
            var_file=var_files,
        )
        if code == 0:
            break
        if attempt < attempts:
            print(
                f"terraform destroy failed (exit {code}); running it again once (a MiniStack "
                f"{emulator_workarounds.MINISTACK_VERSION} delete that is not idempotent, scripts/emulator_workarounds.py)",
                flush=True,
            )
    if code != 0:
        raise UserError(f"terraform destroy failed for env '{env}' (exit {code}); see the errors above.")
    (env_build_dir(env) / "outputs.json").unlink(missing_ok=True)
    print(f"Destroyed env '{env}'.")


def ensure_deployed(env: str = "local") -> dict[str, Any]:
    """Outputs of a deployed env; deploys it first when it is not (tests call this)."""
    outputs_file = env_build_dir(env) / "outputs.json"
    if outputs_file.exists():
        outputs = json.loads(outputs_file.read_text())
        if not is_local(env) or local_stack_exists(env, outputs):
            return outputs
    if is_local(env):
        local_cloud.ensure_up()
    return deploy(env)


def local_stack_exists(env: str, outputs: dict[str, Any]) -> bool:
    """The local cloud may have been reset or restarted without state since the last deploy."""
    if local_cloud.health() is None:
        return False
    try:
        aws_session.aws_client(env, "dynamodb").describe_table(TableName=outputs["orders_table_name"])
        aws_session.aws_client(env, "stepfunctions").describe_state_machine(
            stateMachineArn=outputs["state_machine_arn"]
        )
        return True
    except Exception:  # noqa: BLE001 - any failure means "not there": redeploy
        return False


def bootstrap_state(env: str) -> None:
    """Create the S3 bucket and DynamoDB lock table named in terraform/envs/<env>.backend.hcl."""
    check_env(env)
    if is_local(env):
        raise UserError("env local keeps its state in a local file; bootstrap-state is for dev and prod.")
    settings = backend_settings(env)  # a region mismatch fails here, before anything is created
    account = aws_session.account_id(env)
    bucket, table, reg = (
        settings["bucket"].replace("<ACCOUNT_ID>", account),
        settings["dynamodb_table"],
        settings["region"],
    )
    s3, ddb = aws_session.aws_client(env, "s3"), aws_session.aws_client(env, "dynamodb")
    import botocore.exceptions

    try:
        create = {"Bucket": bucket}
        if reg != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": reg}
        s3.create_bucket(**create)
        print(f"Created state bucket {bucket}")
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise UserError(f"Could not create state bucket {bucket}: {exc.response['Error']['Message']}") from None
        print(f"State bucket {bucket} exists")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
        },
    )
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    try:
        ddb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            SSESpecification={"Enabled": True},
        )
        ddb.get_waiter("table_exists").wait(TableName=table)
        print(f"Created lock table {table}")
    except ddb.exceptions.ResourceInUseException:
        print(f"Lock table {table} exists")
    print(f"State backend for '{env}' ready: now `invoke deploy --env {env}`.")
