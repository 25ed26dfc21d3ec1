"""Fixtures of the workflow tests (local cloud: MiniStack on ORDERFLOW_LOCAL_PORT, default 4566)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # workflow_harness, also under --import-mode=importlib

from workflow_harness import (
    DEFAULT_WAIT_SCALE,
    MOCK_CONFIG_PATH,
    MOCK_MACHINE_NAMES,
    MOCK_PROJECT,
    REGION,
    REPO_ROOT,
    TEST_WAIT_SCALE,
    client,
    configure_emulator,
    create_or_update_state_machine,
    endpoint_from_env,
    is_reachable,
)

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from scripts.render import render_workflows


@pytest.fixture(scope="session")
def local_cloud() -> str:
    """Endpoint of a running local cloud; started through scripts.local_cloud.ensure_up() when down (which waits for
    its health with scripts.polling.wait_until). The workflow tests need MiniStack (its /_ministack/ admin API)."""
    from scripts.local_cloud import ensure_up

    endpoint = endpoint_from_env() if is_reachable(endpoint_from_env()) else ensure_up()
    if not is_reachable(endpoint):
        pytest.fail(f"the local cloud at {endpoint} is up but is not MiniStack (no /_ministack/health)")
    return endpoint


@pytest.fixture(scope="session")
def sfn(local_cloud):
    return client("stepfunctions", local_cloud)


@pytest.fixture(scope="session")
def account_id(local_cloud) -> str:
    return client("sts", local_cloud).get_caller_identity()["Account"]


@pytest.fixture(scope="session")
def mock_config() -> dict:
    return json.loads(MOCK_CONFIG_PATH.read_text())


@pytest.fixture(scope="session")
def emulator_settings(local_cloud, mock_config):
    """Short retry intervals and our mock config for the session (restored in pytest_sessionfinish).

    MiniStack's wait scale is global: executions of other suites running on the same emulator meanwhile retry
    fast too."""
    configure_emulator(local_cloud, wait_scale=TEST_WAIT_SCALE, mock_config=mock_config)
    global _settings_changed
    _settings_changed = True
    return local_cloud


_settings_changed = False


def pytest_sessionfinish(session, exitstatus):
    """Put MiniStack's retry/wait scale back to its default once, at the very end (the xdist controller, which
    runs no test, restores it for all workers; a worker does not, as others may still be running)."""
    if hasattr(session.config, "workerinput"):
        return
    workers = getattr(session.config.option, "numprocesses", None)
    if not _settings_changed and not workers:
        return
    endpoint = endpoint_from_env()
    if is_reachable(endpoint):
        configure_emulator(endpoint, wait_scale=DEFAULT_WAIT_SCALE)


@pytest.fixture(scope="session")
def mocked_definitions(tmp_path_factory, account_id) -> dict[str, dict]:
    out_dir = tmp_path_factory.mktemp("rendered-mock")
    paths = render_workflows("local", region=REGION, account_id=account_id, project=MOCK_PROJECT, out_dir=out_dir)
    return {name: json.loads(path.read_text()) for name, path in paths.items()}


@pytest.fixture(scope="session")
def mock_machines(sfn, emulator_settings, mocked_definitions) -> dict[str, str]:
    """workflow name -> ARN of its state machine under test (run with `#<TestCase>` for mocked responses)."""
    machines = {
        workflow: create_or_update_state_machine(sfn, MOCK_MACHINE_NAMES[workflow], definition)
        for workflow, definition in mocked_definitions.items()
    }
    yield machines
    for arn in machines.values():  # leave a developer's local cloud as it was
        sfn.delete_state_machine(stateMachineArn=arn)
