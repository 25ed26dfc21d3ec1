"""`invoke e2e --env <env>`: the end-to-end suite (tests/e2e) against a deployed stack, then its reports.

The runner reads build/<env>/outputs.json, puts back what an interrupted run left changed (scripts/e2e_restore.py),
loads the catalogue (scripts/seed.py), runs pytest on tests/e2e in a subprocess (ORDERFLOW_ENV, ORDERFLOW_OUTPUTS,
ORDERFLOW_RUN_ID, ORDERFLOW_E2E_RECORDS), and turns the per-scenario records the suite's conftest writes into a
summary table on the terminal and a self-contained HTML report (scripts/report.py) next to the JUnit XML under
build/<env>/reports/. The suite and `invoke bench` import the small modules (api_client, history, order_timeline,
report, stats, text_table, timeutil), never this runner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

from scripts.common import REPO_ROOT, UserError, env_build_dir, is_local, read_outputs, reports_dir, write_json
from scripts.e2e_restore import restore_leftovers
from scripts.report import render_html, summary_table
from scripts.timeutil import iso, new_run_id, utcnow

E2E_DIR = REPO_ROOT / "tests" / "e2e"


def _run_pytest(cmd: list[str], child_env: dict[str, str]) -> int:
    """pytest in a child process. A SIGTERM or SIGINT of the runner is forwarded as SIGTERM, which the suite's conftest
    turns into KeyboardInterrupt; the runner waits, so fixtures still put back what they changed (rules, function
    environments) before the process ends. (SIGINT itself is not forwarded: a background job may ignore it.)"""
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=child_env)
    previous = signal.getsignal(signal.SIGTERM)

    def forward(signum: int, _frame: Any) -> None:
        proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # the terminal's SIGINT reached pytest too; let it tear down
                forward(signal.SIGINT, None)
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(env: str, keyword: str = "", marker: str = "", label: str = "") -> int:
    """Run tests/e2e against the deployed env; print the summary table; return pytest's exit code. `marker`: a
    pytest -m expression (e.g. `express`, the subset CI runs on an EXPRESS order workflow); `label`: its reports go
    to build/<env>/reports/<label>/ instead."""
    from scripts.common import check_env

    check_env(env)
    outputs = read_outputs(env)
    if is_local(env):
        from scripts import local_cloud

        local_cloud.require_up()
        from scripts.stack import local_stack_exists

        if not local_stack_exists(env, outputs):
            raise UserError(
                f"The local stack in {env_build_dir(env).relative_to(REPO_ROOT)}/outputs.json is gone from the "
                f"local cloud (restarted or reset?): redeploy with `invoke deploy --env {env}`."
            )
    out_dir = reports_dir(env) / label if label else reports_dir(env)
    out_dir.mkdir(parents=True, exist_ok=True)
    restore_leftovers(env, outputs)

    from scripts import seed

    seed.seed(env)
    run_id = new_run_id()
    records_path, junit, report = out_dir / "e2e-records.json", out_dir / "e2e-junit.xml", out_dir / "e2e-report.html"
    records_path.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(E2E_DIR.relative_to(REPO_ROOT)),
        "--ignore",
        str((E2E_DIR / "selftest").relative_to(REPO_ROOT)),
        "-v",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "-o",
        "junit_suite_name=orderflow-e2e",
        "-o",
        "junit_family=xunit2",
    ]
    if keyword:
        cmd += ["-k", keyword]
    if marker:
        cmd += ["-m", marker]
    child_env = {
        **os.environ,
        "ORDERFLOW_ENV": env,
        "ORDERFLOW_OUTPUTS": str(env_build_dir(env) / "outputs.json"),
        "ORDERFLOW_RUN_ID": run_id,
        "ORDERFLOW_E2E_RECORDS": str(records_path),
        "ORDERFLOW_E2E_STRICT": "1",
        "PYTHONUNBUFFERED": "1",
    }
    print(f"e2e run {run_id} against env '{env}' (API {outputs.get('api_url')})", flush=True)
    started = utcnow()
    code = _run_pytest(cmd, child_env)
    finished = utcnow()

    records = json.loads(records_path.read_text()) if records_path.exists() else {"scenarios": []}
    records["meta"] = {
        **records.get("meta", {}),
        "env": env,
        "run_id": run_id,
        "started": iso(started),
        "finished": iso(finished),
        "exit_code": code,
        "api_url": outputs.get("api_url"),
    }
    write_json(records_path, records)
    report.write_text(render_html(records))
    print("\n" + summary_table(records))
    total = (finished - started).total_seconds()
    print(
        f"\npytest exit {code} in {total:.0f}s. Reports: {junit.relative_to(REPO_ROOT)}, {report.relative_to(REPO_ROOT)}, "
        f"{records_path.relative_to(REPO_ROOT)}"
    )
    print(f"Console: invoke console --env {env}, then http://127.0.0.1:8765/ (sign in as a member of admins).")
    print(f"Trace an order: invoke trace ORDER_ID --env {env} (docs/operations.md).")
    return code
