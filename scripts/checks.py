"""`invoke test.*` and `invoke scan`: the test suites, each runnable alone, and the whole run CI does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from scripts.common import BUILD_DIR, REPO_ROOT, TERRAFORM_DIR, UserError

VENV_BIN = Path(sys.executable).parent


def _banner(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 72 - len(title)), flush=True)


def _run(cmd: list[str], what: str, env: dict[str, str] | None = None, cwd: Path = REPO_ROOT) -> None:
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, check=False)
    if result.returncode != 0:
        raise UserError(f"{what} failed (exit {result.returncode}); see the output above.")
    print(f"--- {what}: ok in {time.monotonic() - started:.0f}s", flush=True)


def _pytest(*args: str, what: str) -> None:
    _run([sys.executable, "-m", "pytest", *args], what)


#: What ruff lints and format-checks (settings in pyproject.toml); .pre-commit-config.yaml runs the same.
LINTED = ["scripts", "services", "tests", "tasks.py"]


def lint() -> None:
    """ruff: lint and format check of the repository's Python (fix with `ruff check --fix` and `ruff format`)."""
    _banner("lint (ruff)")
    _run([str(VENV_BIN / "ruff"), "check", *LINTED], "ruff check")
    _run([str(VENV_BIN / "ruff"), "format", "--check", *LINTED], "ruff format --check")


def unit() -> None:
    _banner("unit tests (moto)")
    _pytest(
        "tests/unit",
        "-q",
        "-n",
        str(min(os.cpu_count() or 1, 4)),
        "--cov=services",
        "--cov-report=term:skip-covered",
        "--cov-fail-under=90",
        what="unit tests",
    )


#: What CI explores: at least 2,000 schedules (README's test command); a fixed seed, so CI replays the same ones.
CI_SCHEDULES = 2000
CI_SEED = 20261201


def simulation(
    schedules: int = CI_SCHEDULES, seed: int = CI_SEED, replay: int | None = None, workers: int | None = None
) -> None:
    """The saga simulation (tests/simulation/runner.py): seeded schedules, or one schedule replayed with its trace."""
    cmd = [sys.executable, "-W", "ignore::UserWarning", "-m", "tests.simulation.runner"]
    if replay is not None:
        _banner(f"simulation: replay schedule {replay}")
        _run([*cmd, "--replay", str(replay)], f"simulation replay of {replay}")
        return
    _banner(f"saga simulation: {schedules} schedules, seed {seed}")
    _run(
        [*cmd, "--schedules", str(schedules), "--seed", str(seed), "--workers", str(workers or os.cpu_count() or 1)],
        "saga simulation",
    )


def simulation_tests() -> None:
    _banner("simulation: ASL interpreter and named regression interleavings")
    _pytest("tests/simulation", "-q", what="simulation tests")


def mutation_sample() -> None:
    from scripts import mutation

    _banner(
        f"mutation sample: {mutation.CI_SAMPLE} mutants of services/ (seed {mutation.CI_SEED}), unit suite, "
        f">= {mutation.TARGET_SCORE:.0f}%"
    )
    mutation.ci_sample()


def _terraform_env() -> dict[str, str]:
    from scripts.stack import _write_cli_config

    return {
        "TF_CLI_CONFIG_FILE": str(_write_cli_config()),
        "TF_DATA_DIR": str(BUILD_DIR / "tftest" / ".terraform"),
        "TF_IN_AUTOMATION": "1",
    }


def render_test_fixtures() -> None:
    """terraform test reads the real templates rendered as for deploy (never a stale committed copy)."""
    from scripts import render

    for env_name, folder, order_workflow_type in (
        ("test", "workflows", "STANDARD"),
        ("local", "workflows-local", "STANDARD"),
        ("test", "workflows-express", "EXPRESS"),
    ):
        render.render_workflows(
            env_name,
            region="us-east-1",
            account_id="123456789012",
            out_dir=TERRAFORM_DIR / "tests" / "fixtures" / folder,
            order_workflow_type=order_workflow_type,
        )


def terraform_validate() -> None:
    """terraform fmt -check, init (no backend) and validate: offline, seconds (also a pre-commit hook)."""
    from scripts.stack import terraform_bin

    render_test_fixtures()
    tf, env = terraform_bin(), _terraform_env()
    _run([tf, "fmt", "-check", "-recursive", "-diff"], "terraform fmt -check", env, cwd=TERRAFORM_DIR)
    _run(
        [tf, "init", "-backend=false", "-input=false", "-no-color"],
        "terraform init -backend=false",
        env,
        cwd=TERRAFORM_DIR,
    )
    _run([tf, "validate", "-no-color"], "terraform validate", env, cwd=TERRAFORM_DIR)


def terraform() -> None:
    from scripts.stack import terraform_bin

    _banner("terraform fmt / validate / test")
    terraform_validate()
    _run([terraform_bin(), "test", "-no-color"], "terraform test", _terraform_env(), cwd=TERRAFORM_DIR)


def scan() -> None:
    _banner("checkov")
    checkov = VENV_BIN / "checkov"
    if not checkov.exists():
        raise UserError("checkov is not installed in this virtualenv: pip install -e '.[dev]'.")
    _run(
        [str(checkov), "--config-file", str(TERRAFORM_DIR / ".checkov.yaml"), "-d", str(TERRAFORM_DIR)], "checkov scan"
    )


def workflow() -> None:
    _banner("workflow tests (local cloud)")
    _pytest("tests/workflow", "tests/emulator", "-q", what="workflow and emulator-gap tests")


#: The e2e marker of the subset that runs again with the order workflow deployed as EXPRESS.
EXPRESS_MARKER = "express"


def express_e2e() -> None:
    """The second pass on the deployed local stack: the order workflow redeployed as EXPRESS (only that state machine
    is replaced), the plan without changes, and the e2e subset marked `express` (every outcome). The type is handed
    over as `invoke deploy --order-workflow-type EXPRESS` does; it stays set for the destroy that follows."""
    from scripts import e2e, stack

    os.environ[stack.ORDER_WORKFLOW_TYPE_ENV] = "EXPRESS"
    _banner("deploy --env local --order-workflow-type EXPRESS")
    stack.deploy("local")
    _banner("plan --env local --order-workflow-type EXPRESS (expect no changes)")
    if stack.plan("local") != 0:
        raise UserError("The plan after the EXPRESS deploy has changes: the local stack drifts (see above).")
    _banner(f"e2e --env local -m {EXPRESS_MARKER} (order workflow EXPRESS)")
    code = e2e.run("local", marker=EXPRESS_MARKER, label="express")
    if code:
        from scripts.common import env_build_dir

        raise UserError(
            f"e2e on EXPRESS failed (exit {code}); reports in {env_build_dir('local') / 'reports' / 'express'}."
        )


def local_e2e() -> None:
    """The whole local-cloud cycle; always tears down what it started."""
    from scripts import e2e, local_cloud, stack

    started_cloud = local_cloud.health() is None
    deployed = False
    try:
        _banner("preflight --env local (offline checks)")
        from scripts import preflight

        preflight.require("local")
        _banner("local cloud up + deploy --env local")
        local_cloud.ensure_up()
        stack.deploy("local")
        deployed = True
        _banner("plan --env local (expect no changes)")
        if stack.plan("local") != 0:
            raise UserError("The plan after deploy has changes: the local stack drifts (see above).")
        workflow()
        _banner("e2e --env local")
        code = e2e.run("local")
        if code:
            from scripts.common import env_build_dir

            raise UserError(f"e2e failed (exit {code}); reports in {env_build_dir('local') / 'reports'}.")
        express_e2e()
    finally:
        if deployed:
            _banner("destroy --env local")
            stack.destroy("local")
        if started_cloud:
            local_cloud.down()


def run_all() -> None:
    started = time.monotonic()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("lint", lint),
        ("unit", unit),
        ("simulation tests", simulation_tests),
        ("simulation", simulation),
        ("terraform", terraform),
        ("scan", scan),
    ]
    for name, step in steps:
        step()
    # The mutation sample is CPU work and the local-cloud cycle mostly waits on the emulator: run them side by
    # side (about five minutes each) to keep CI well under 20 minutes; the sample's output follows the e2e's.
    log = BUILD_DIR / "mutation-sample.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        sample = subprocess.Popen(
            [sys.executable, "-m", "invoke", "test.mutation"], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            local_e2e()
        except BaseException:
            sample.terminate()
            sample.wait()
            raise
        code = sample.wait()
    print(log.read_text(encoding="utf-8"), flush=True)
    if code != 0:
        raise UserError(
            f"the mutation sample failed (exit {code}); its output is above and in {log.relative_to(REPO_ROOT)}."
        )
    print(f"\nAll test suites passed in {time.monotonic() - started:.0f}s.")
