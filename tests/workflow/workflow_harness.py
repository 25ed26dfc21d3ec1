"""Helpers for the workflow tests: local-cloud endpoint, state machines under test, executions and history.

Imported by tests/workflow/conftest.py and the test modules (pytest puts this directory on sys.path).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

REPO_ROOT = Path(__file__).resolve().parents[2]
MOCK_CONFIG_PATH = Path(__file__).with_name("mock_config.json")
REGION = os.environ.get("ORDERFLOW_LOCAL_REGION", "us-east-1")
DUMMY_ROLE_ARN = "arn:aws:iam::000000000000:role/orderflow-workflow-test"

#: workflow -> state machine name used by the mocked tests (keys of mock_config.json's StateMachines)
MOCK_MACHINE_NAMES = {
    "order-processing": "OrderProcessingTest",
    "payment-processing": "PaymentProcessingTest",
    "inventory-management": "InventoryManagementTest",
}
#: project name the mocked definitions are rendered with: their Lambda ARNs do not exist, so a state a test case
#: forgot to mock fails loudly (ResourceNotFound, then the task's Catch) instead of reaching the deployed stack.
MOCK_PROJECT = "wfmock"
#: retry intervals run at this fraction of their configured length in the tests (MiniStack's
#: stepfunctions._SFN_WAIT_SCALE scales Wait states and Retry intervals; JitterStrategy/MaxDelaySeconds are
#: accepted but ignored by MiniStack 1.5.33, which caps one retry sleep at 60 s before scaling).
TEST_WAIT_SCALE = 0.002
DEFAULT_WAIT_SCALE = 1.0
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
TABLE_TASK_PREFIX = "arn:aws:states:::dynamodb:"

# The task contracts (services/shared/schemas/tasks/<service>.<action>.json): every request a workflow sends and every
# answer of a Lambda is defined there once.
_SERVICES = str(os.environ.get("ORDERFLOW_SERVICES_DIR") or REPO_ROOT / "services")
if _SERVICES not in sys.path:
    sys.path.append(_SERVICES)
from shared import contracts

#: (service, action) -> the keys of the Lambda's answer (its contract's Result). Each service answers every key,
#: always (null when not applicable); the workflows' ResultSelectors read them, and on AWS a missing key fails the
#: execution with States.Runtime. test_mock_config.py holds mock_config.json to it, test_stub_services.py the real
#: handlers (in process) and the stubs, test_deployed_stack.py the deployed Lambdas.
CONTRACT_KEYS: dict[tuple[str, str], frozenset[str]] = {
    (c.service, c.action): frozenset(c.schema["definitions"]["Result"]["required"]) for c in contracts.TASKS.values()
}
_SHARED_DEFINITIONS = contracts.TASKS["order.claim"].schema["definitions"]
#: an `order` in an answer (shared.models.order_summary) and a `claim` (shared.lifecycle.claim_of)
ORDER_KEYS = frozenset(_SHARED_DEFINITIONS["Order"]["required"])
CLAIM_KEYS = frozenset(_SHARED_DEFINITIONS["Claim"]["required"])


def all_states(machine: dict[str, Any], scope: str = "", parents: tuple[dict[str, Any], ...] = ()):
    """(qualified name, state, enclosing Map/Parallel states) of every state, nested ones included."""
    for name, state in machine["States"].items():
        yield f"{scope}{name}", state, parents
        subs = [state.get("ItemProcessor") or state.get("Iterator")] + list(state.get("Branches", []))
        for sub in subs:
            if isinstance(sub, dict):
                yield from all_states(sub, f"{scope}{name}/", parents + (state,))


#: what a service does with a whole EventBridge event as its payload (`"Payload.$": "$"`): its contract's
#: `x-orderflow-event` action (inventory: restock)
EVENT_ACTIONS = {c.service: c.action for c in contracts.TASKS.values() if c.event is not None}


def lambda_tasks(definition: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """State name (unqualified, as the mock config names it) -> (service, action) of every Lambda task.

    The service is the function name's last `-` part (`<project>-<env>-<service>`); a task that passes its whole
    input (an EventBridge event) performs the service's EVENT_ACTIONS action."""
    tasks: dict[str, tuple[str, str]] = {}
    for qualified, state, _ in all_states(definition):
        if state.get("Resource") != LAMBDA_INVOKE:
            continue
        params = state["Parameters"]
        service = str(params["FunctionName"]).rsplit("-", 1)[-1]
        name = qualified.rsplit("/", 1)[-1]
        found = (service, params["Payload"]["action"] if "Payload" in params else EVENT_ACTIONS[service])
        assert tasks.setdefault(name, found) == found, f"{name} calls two different actions"
        tasks[name] = found
    return tasks


def table_tasks(definition: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """State name (unqualified) -> (table name, action) of every DynamoDB integration task (the finalize fragment's
    Settle: deleteItem on the outbox table)."""
    tasks: dict[str, tuple[str, str]] = {}
    for qualified, state, _ in all_states(definition):
        resource = str(state.get("Resource", ""))
        if resource.startswith(TABLE_TASK_PREFIX):
            found = (state["Parameters"]["TableName"], resource.removeprefix(TABLE_TASK_PREFIX))
            name = qualified.rsplit("/", 1)[-1]
            assert tasks.setdefault(name, found) == found, f"{name} does two different table actions"
    return tasks


#: the other service integrations of the workflows: order-processing's CompleteOrder and PublishCompleted
SERVICE_TASK_RESOURCES = frozenset(
    {"arn:aws:states:::aws-sdk:dynamodb:transactWriteItems", "arn:aws:states:::events:putEvents"}
)


def service_tasks(definition: dict[str, Any]) -> dict[str, str]:
    """State name (unqualified) -> resource of every transactWriteItems / putEvents task."""
    return {
        qualified.rsplit("/", 1)[-1]: state["Resource"]
        for qualified, state, _ in all_states(definition)
        if state.get("Resource") in SERVICE_TASK_RESOURCES
    }


def untaken_transitions(definition: dict[str, Any], paths: list[list[str]]) -> list[tuple[str, str]]:
    """Top-level transitions (Next, Choice rules, Default, Catch) that none of the visited `paths` takes."""
    taken = {(a, b) for path in paths for a, b in itertools.pairwise(path)}
    missing = []
    for name, spec in definition["States"].items():
        targets = [c["Next"] for c in spec.get("Choices", []) + spec.get("Catch", [])]
        targets += [spec[k] for k in ("Default", "Next") if k in spec]
        missing += [(name, target) for target in targets if (name, target) not in taken]
    return missing


def endpoint_from_env() -> str:
    """The local cloud's endpoint (ORDERFLOW_LOCAL_PORT, default 4566): scripts.local_cloud says it."""
    from scripts import local_cloud

    return local_cloud.endpoint()


def is_reachable(endpoint: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_ministack/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def post_admin(endpoint: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{endpoint}{path}", data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def configure_emulator(endpoint: str, *, wait_scale: float, mock_config: dict[str, Any] | None = None) -> None:
    """Runtime settings of MiniStack: the mock config is reloadable through /_ministack/config
    (whitelisted key `stepfunctions._sfn_mock_config`), so the tests do not depend on how the emulator was
    started (`SFN_MOCK_CONFIG` is read only at start-up)."""
    body: dict[str, Any] = {"stepfunctions._SFN_WAIT_SCALE": wait_scale}
    if mock_config is not None:
        body["stepfunctions._sfn_mock_config"] = mock_config
    applied = post_admin(endpoint, "/_ministack/config", body).get("applied", {})
    missing = set(body) - set(applied)
    if missing:
        raise RuntimeError(f"the emulator refused runtime settings {sorted(missing)}")


def client(service: str, endpoint: str, region: str = REGION):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test"
    )


def create_or_update_state_machine(sfn, name: str, definition: dict[str, Any], role_arn: str = DUMMY_ROLE_ARN) -> str:
    body = json.dumps(definition)
    for machine in sfn.get_paginator("list_state_machines").paginate().build_full_result()["stateMachines"]:
        if machine["name"] == name:
            sfn.update_state_machine(stateMachineArn=machine["stateMachineArn"], definition=body, roleArn=role_arn)
            return machine["stateMachineArn"]
    return sfn.create_state_machine(name=name, definition=body, roleArn=role_arn, type="STANDARD")["stateMachineArn"]


def create_python_function(lam, name: str, source: str, *, env: dict[str, str] | None = None, timeout: int = 10) -> str:
    """(Re)create a one-file python3.12 Lambda `handler.lambda_handler`; returns its ARN once Active."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", source)
    try:
        lam.delete_function(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        pass
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=DUMMY_ROLE_ARN,
        Handler="handler.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=timeout,
        Environment={"Variables": env or {}},
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    return arn


@dataclass
class Execution:
    arn: str
    status: str
    error: str | None
    cause: str | None
    output: Any
    events: list[dict[str, Any]] = field(repr=False)

    @property
    def visited(self) -> list[str]:
        """Names of the states entered, in order (top level only: MiniStack 1.5.33 records no state events inside
        Map iterations or Parallel branches, only their task events)."""
        return [e["stateEnteredEventDetails"]["name"] for e in self.events if "stateEnteredEventDetails" in e]

    def state_data(self) -> list[tuple[str, str, Any]]:
        """(event type, state name, parsed input/output) for every state entered/exited event."""
        data = []
        for e in self.events:
            details = e.get("stateEnteredEventDetails") or e.get("stateExitedEventDetails")
            if details is None:
                continue
            payload = details.get("input") if "stateEnteredEventDetails" in e else details.get("output")
            data.append((e["type"], details["name"], json.loads(payload) if payload else None))
        return data

    def task_failures(self) -> list[str]:
        return [e["taskFailedEventDetails"]["error"] for e in self.events if e["type"] == "TaskFailed"]

    def task_results(self) -> list[Any]:
        return [
            json.loads(e["taskSucceededEventDetails"]["output"]) for e in self.events if e["type"] == "TaskSucceeded"
        ]

    def task_result(self, state: str) -> Any:
        """Raw result of the last successful run of task `state` (before ResultSelector/ResultPath)."""
        current, results = None, {}
        for e in self.events:
            if "stateEnteredEventDetails" in e:
                current = e["stateEnteredEventDetails"]["name"]
            elif e["type"] == "TaskSucceeded":
                results[current] = json.loads(e["taskSucceededEventDetails"]["output"])
        if state not in results:
            raise AssertionError(f"task {state} did not succeed; visited {self.visited}")
        return results[state]

    def exit_output(self, state: str) -> Any:
        for kind, name, payload in self.state_data():
            if name == state and kind.endswith("StateExited"):
                return payload
        raise AssertionError(f"state {state} was not exited; visited {self.visited}")

    def entered_input(self, state: str) -> Any:
        for kind, name, payload in self.state_data():
            if name == state and kind.endswith("StateEntered"):
                return payload
        raise AssertionError(f"state {state} was not entered; visited {self.visited}")


def history(sfn, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def wait_for_execution(sfn, execution_arn: str, deadline_s: float = 60.0, poll_s: float = 0.05) -> Execution:
    from scripts.polling import wait_until

    described = wait_until(
        lambda: (found := sfn.describe_execution(executionArn=execution_arn))["status"] != "RUNNING" and found,
        deadline_s,
        f"execution {execution_arn} to leave RUNNING",
        interval=poll_s,
    )
    output = described.get("output")
    return Execution(
        arn=execution_arn,
        status=described["status"],
        error=described.get("error"),
        cause=described.get("cause"),
        output=json.loads(output) if output else None,
        events=history(sfn, execution_arn),
    )


def start_and_wait(
    sfn, state_machine_arn: str, payload: dict[str, Any], *, test_case: str | None = None, deadline_s: float = 60.0
) -> Execution:
    target = f"{state_machine_arn}#{test_case}" if test_case else state_machine_arn
    started = sfn.start_execution(stateMachineArn=target, input=json.dumps(payload))
    return wait_for_execution(sfn, started["executionArn"], deadline_s)


def eventbridge_event(detail_type: str, source: str, detail: dict[str, Any]) -> dict[str, Any]:
    """The envelope an EventBridge rule hands a Step Functions target."""
    return {
        "version": "0",
        "id": f"evt-{detail.get('eventId', 'test')}",
        "detail-type": detail_type,
        "source": source,
        "account": "000000000000",
        "time": "2026-11-27T10:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def assert_order_intact(execution: Execution, order: dict[str, Any], *, after: str) -> int:
    """Once `after` has built $.order, every (top-level) state's input and output must still carry that order: no
    task result may replace it (the seed's bug, kept as a regression test). Returns how many were checked."""
    checked, started = 0, False
    for kind, name, payload in execution.state_data():
        if not started:
            if name == after and kind.endswith("StateExited"):
                started = True
            else:
                continue
        assert isinstance(payload, dict) and payload.get("order") == order, (
            f"$.order lost or changed at {kind} {name}: {json.dumps(payload)[:400]}"
        )
        checked += 1
    assert started, f"{after} never exited; visited {execution.visited}"
    return checked
