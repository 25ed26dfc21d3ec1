"""`invoke imports [--runs N] [--detail]`: the cold import time of each Lambda zip's handler module, against a bare
`import boto3`, as a Lambda cold start pays them.

For every zip of the build manifest (`build/manifest.json`, from `invoke build`) the zip is unpacked once into
`build/import-cost/<service>-<hash>/` and, in a fresh interpreter each time (this Python, 3.12 like the runtime):
- `import boto3` alone (what the python3.12 runtime provides, precompiled), and
- `import <service>.handler` (the manifest's handler module), which imports boto3 too,
both with the unpacked zip first on sys.path, bytecode writing off and the zip shipping no bytecode (as on Lambda,
whose /var/task is read-only: every cold start compiles the zip's modules), and a Lambda-like environment
(AWS_LAMBDA_FUNCTION_NAME, AWS_EXECUTION_ENV, the stack's environment variable names). The two alternate, `--runs`
times each; the table shows the medians, the ratio handler / boto3 and the target (<= 2x, issue 13); `--detail`
adds each handler's heaviest imports (`python -X importtime`, cumulative, top level of the zip's own and vendored
packages). A figure, never an assertion: nothing fails on a missed target.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from scripts import build, tables
from scripts.common import REPO_ROOT, UserError
from scripts.text_table import format_table as render_table

MANIFEST = build.MANIFEST  # the build owns where its manifest is
WORK_DIR = REPO_ROOT / "build" / "import-cost"
TARGET_RATIO = 2.0
DEFAULT_RUNS = 9

_TIMED = (
    "import sys, time\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "t = time.perf_counter()\n"
    "__import__(sys.argv[2])\n"
    "print(time.perf_counter() - t)\n"
)


def _manifest() -> dict[str, dict[str, Any]]:
    if not MANIFEST.exists():
        raise UserError("There is no build/manifest.json: run `invoke build` first.")
    return json.loads(MANIFEST.read_text(encoding="utf-8"))["services"]


def unpack(service: str, entry: dict[str, Any]) -> Path:
    """The zip unpacked (once per content hash) into build/import-cost/<service>-<hash>/."""
    zip_path = REPO_ROOT / entry["zip"]
    if not zip_path.exists():
        raise UserError(f"{entry['zip']} is missing: run `invoke build` first.")
    digest = entry["source_code_hash"].replace("/", "_").replace("+", "-").rstrip("=")[:16]
    target = WORK_DIR / f"{service}-{digest}"
    if not (target / ".complete").exists():
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(target)
        (target / ".complete").write_text("")
    return target


def lambda_environment(service: str, root: Path) -> dict[str, str]:
    """What a deployed function's process sees at import (names from the stack; values need not exist)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_LAMBDA_FUNCTION_NAME": f"orderflow-local-{service}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "LAMBDA_TASK_ROOT": str(root),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": service,
        "POWERTOOLS_METRICS_NAMESPACE": "orderflow",
        "EVENT_BUS_NAME": "orderflow-local-bus",
        "NOTIFICATIONS_BUCKET": "orderflow-local-notifications",
    }
    env.update({tables.env_var(t): f"orderflow-local-{t}" for t in tables.definitions()})
    return env


def _timed_import(root: Path, module: str, env: dict[str, str]) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _TIMED, str(root), module], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise UserError(f"importing {module} from {root} failed: {result.stderr.strip().splitlines()[-1:]}")
    return float(result.stdout.strip())


def _importtime(code: str, env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=env, capture_output=True, text=True, check=False
    )
    return result.stderr.splitlines()


def heaviest_imports(root: Path, module: str, env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    """(module, cumulative ms) of the heaviest top-level packages the handler's import pulls in (-X importtime), the
    interpreter's own start-up imports (site, ...) left out."""
    startup = {line.rsplit("|", 1)[-1].strip() for line in _importtime("pass", env) if "|" in line}
    cumulative: dict[str, float] = {}
    for line in _importtime(f"import sys; sys.path.insert(0, {str(root)!r}); import {module}", env):
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        if not cum.isdigit() or "." in name.strip() or name.strip() in startup:
            continue  # the header line, a submodule (its package's line holds it), or an interpreter start-up import
        cumulative[name.strip()] = max(cumulative.get(name.strip(), 0.0), int(cum) / 1000)
    return sorted(cumulative.items(), key=lambda kv: kv[1], reverse=True)[:top]


def measure(runs: int = DEFAULT_RUNS) -> list[dict[str, Any]]:
    rows = []
    for service, entry in sorted(_manifest().items()):
        root = unpack(service, entry)
        module = entry["handler"].rsplit(".", 1)[0]
        env = lambda_environment(service, root)
        handler_times, boto3_times = [], []
        for _ in range(runs):  # alternate, so a burst of machine load hits both
            boto3_times.append(_timed_import(root, "boto3", env))
            handler_times.append(_timed_import(root, module, env))
        handler_ms, boto3_ms = statistics.median(handler_times) * 1000, statistics.median(boto3_times) * 1000
        rows.append(
            {
                "service": service,
                "module": module,
                "handler_ms": round(handler_ms, 1),
                "boto3_ms": round(boto3_ms, 1),
                "ratio": round(handler_ms / boto3_ms, 2),
                "runs": runs,
                "root": str(root),
                "env": env,
            }
        )
    return rows


def report(rows: list[dict[str, Any]], *, detail: bool = False) -> str:
    lines = [
        (
            f"Cold import of each handler module vs a bare `import boto3` (fresh interpreter each, median of "
            f"{rows[0]['runs'] if rows else 0} runs, Python {sys.version.split()[0]}, no bytecode as on Lambda):"
        ),
        render_table(
            ["service", "handler module", "handler ms", "boto3 ms", "ratio", f"<= {TARGET_RATIO:g}x"],
            [
                [
                    r["service"],
                    r["module"],
                    f"{r['handler_ms']:.1f}",
                    f"{r['boto3_ms']:.1f}",
                    f"{r['ratio']:.2f}x",
                    "met" if r["ratio"] <= TARGET_RATIO else "not met",
                ]
                for r in rows
            ],
        ),
    ]
    worst = max(rows, key=lambda r: r["ratio"]) if rows else None
    if worst is not None:
        met = all(r["ratio"] <= TARGET_RATIO for r in rows)
        lines.append(
            f"target: every handler's cold import within {TARGET_RATIO:g}x of `import boto3`: "
            f"{'met' if met else 'NOT met'} (worst: {worst['service']} {worst['ratio']:.2f}x)"
        )
    if detail:
        for r in rows:
            heavy = heaviest_imports(Path(r["root"]), r["module"], r["env"])
            lines.append(f"{r['service']}: " + ", ".join(f"{name} {ms:.0f} ms" for name, ms in heavy))
    return "\n".join(lines)


def run(runs: int = DEFAULT_RUNS, *, detail: bool = False, as_json: bool = False) -> list[dict[str, Any]]:
    if runs < 1:
        raise UserError(f"--runs must be at least 1, got {runs}.")
    rows = measure(runs)
    if as_json:
        print(json.dumps([{k: v for k, v in r.items() if k not in ("env", "root")} for r in rows], indent=2))
    else:
        print(report(rows, detail=detail))
    return rows
