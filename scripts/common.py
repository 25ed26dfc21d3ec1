"""Paths, errors and small helpers shared by the task modules."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build"
SERVICES_DIR = REPO_ROOT / "services"
TERRAFORM_DIR = REPO_ROOT / "terraform"
ENVS_DIR = TERRAFORM_DIR / "envs"
PROJECT = "orderflow"
#: The local cloud's port unless ORDERFLOW_LOCAL_PORT names another.
DEFAULT_LOCAL_PORT = 4566


class UserError(Exception):
    """A failure the user can fix; its message is one sentence saying what to do."""


def env_build_dir(env: str) -> Path:
    """build/<env>; a local cloud on a non-default port gets its own folder (build/local-<port>), so two can coexist."""
    if env == "local":
        port = local_port()
        return BUILD_DIR / ("local" if port == DEFAULT_LOCAL_PORT else f"local-{port}")
    return BUILD_DIR / env


def local_port() -> int:
    """The local cloud's port: ORDERFLOW_LOCAL_PORT, default DEFAULT_LOCAL_PORT."""
    return int(os.environ.get("ORDERFLOW_LOCAL_PORT", DEFAULT_LOCAL_PORT))


def reports_dir(env: str) -> Path:
    """build/<env>/reports: the e2e and bench reports."""
    return env_build_dir(env) / "reports"


def known_envs() -> list[str]:
    return sorted(p.stem for p in ENVS_DIR.glob("*.tfvars"))


def check_env(env: str) -> str:
    envs = known_envs()
    if env not in envs:
        raise UserError(f"Unknown environment '{env}': choose one of {', '.join(envs)} (terraform/envs/<env>.tfvars).")
    return env


def is_local(env: str) -> bool:
    return env == "local"


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def read_outputs(env: str) -> dict[str, Any]:
    """The deployed stack's Terraform outputs, as written by `invoke deploy`."""
    path = env_build_dir(env) / "outputs.json"
    if not path.exists():
        raise UserError(
            f"No outputs for env '{env}' ({path.relative_to(REPO_ROOT)}): deploy first with `invoke deploy --env {env}`."
        )
    return json.loads(path.read_text())


def services_dir() -> Path:
    """services/, or the staged copy a mutation run names in ORDERFLOW_SERVICES_DIR (the variable the suites read)."""
    return Path(os.environ.get("ORDERFLOW_SERVICES_DIR") or SERVICES_DIR)


def services_module(name: str) -> Any:
    """A module of services/ (e.g. `shared.contracts`), imported with services/ appended to the import path when a
    tool first needs it (appended: a test run that put a mutated copy first keeps it; a mutation run stages
    services/ elsewhere and says where in ORDERFLOW_SERVICES_DIR, the variable the suites read too)."""
    import importlib
    import sys

    services = str(services_dir())
    if services not in sys.path:
        sys.path.append(services)
    return importlib.import_module(name)


def event_contracts() -> Any:
    """services/shared/contracts.py, the one definition of the events."""
    return services_module("shared.contracts")
