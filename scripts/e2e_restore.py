"""What a running e2e test changed on the stack and must put back, recorded in build/<env>/reports/.e2e-restore.json
before the change ({"rules": [name, ...], "functions": {name: {environment variables}}, "user_pool_clients":
{pool/client: settings}}): `record` writes it (the suite), `restore_leftovers` puts back what an interrupted run
left behind (`invoke e2e`, before the next run)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts.common import reports_dir

RESTORE_FILE = ".e2e-restore.json"
_lock = threading.Lock()


def record(reports: Path, update: Callable[[dict[str, Any]], None]) -> None:
    """Apply `update` to the pending changes recorded in the run's reports folder (`reports` / RESTORE_FILE): called
    before a test makes a change (to add it) and after it undid it (to clear it); the file is deleted once nothing is
    pending. Thread-safe."""
    path = reports / RESTORE_FILE
    with _lock:
        path.parent.mkdir(parents=True, exist_ok=True)
        pending = json.loads(path.read_text() or "{}") if path.exists() else {}
        update(pending)
        pending = {k: v for k, v in pending.items() if v}
        if pending:
            path.write_text(json.dumps(pending, indent=1))
        else:
            path.unlink(missing_ok=True)


def restore_leftovers(env: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """Put back what a previous, interrupted run changed: re-enable its disabled rules, restore the environment of
    the functions and the settings of the Cognito app client it reconfigured (tests record each in RESTORE_FILE
    before changing anything)."""
    path = reports_dir(env) / RESTORE_FILE
    if not path.exists():
        return {}
    pending = json.loads(path.read_text() or "{}")
    from scripts.aws_session import aws_client

    for name in pending.get("rules", []):
        try:
            aws_client(env, "events").enable_rule(Name=name, EventBusName=outputs["event_bus_name"])
            print(f"Re-enabled rule {name}, left disabled by an interrupted run.")
        except Exception as exc:  # noqa: BLE001 - best effort: the rule may be gone with a redeploy
            print(f"warning: could not re-enable rule {name}: {exc}")
    for key, config in pending.get("user_pool_clients", {}).items():
        try:
            aws_client(env, "cognito-idp").update_user_pool_client(**config)
            print(f"Restored the settings of app client {key}, left changed by an interrupted run.")
        except Exception as exc:  # noqa: BLE001
            print(f"warning: could not restore the settings of app client {key}: {exc}")
    for name, variables in pending.get("functions", {}).items():
        try:
            lam = aws_client(env, "lambda")
            lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
            lam.get_waiter("function_updated_v2").wait(FunctionName=name)
            print(f"Restored the environment of {name}, left changed by an interrupted run.")
        except Exception as exc:  # noqa: BLE001
            print(f"warning: could not restore the environment of {name}: {exc}")
    path.unlink(missing_ok=True)
    return pending
