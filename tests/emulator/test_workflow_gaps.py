"""Guards of the Step Functions gaps of the local emulator (MiniStack 1.5.33) that the workflows work around.

Each test asserts the emulator's *current* (non-AWS) behaviour and fails once MiniStack behaves like AWS, telling
what to remove. Skipped when the local cloud (ORDERFLOW_LOCAL_PORT, default 4566) is not reachable.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest

REGION = os.environ.get("ORDERFLOW_LOCAL_REGION", "us-east-1")
ROLE_ARN = "arn:aws:iam::000000000000:role/orderflow-emulator-probe"
MOCK_CONFIG = Path(__file__).resolve().parents[1] / "workflow" / "mock_config.json"


@pytest.fixture(scope="module")
def endpoint() -> str:
    url = f"http://127.0.0.1:{os.environ.get('ORDERFLOW_LOCAL_PORT', '4566')}"
    try:
        with urllib.request.urlopen(f"{url}/_ministack/health", timeout=2) as response:
            if response.status == 200:
                return url
    except (urllib.error.URLError, OSError):
        pass
    pytest.skip(f"local cloud not reachable at {url}")


def _client(service: str, endpoint: str):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )


def _run(sfn, name: str, definition: dict, *, test_case: str | None = None, deadline_s: float = 30.0):
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE_ARN)["stateMachineArn"]
    try:
        target = f"{arn}#{test_case}" if test_case else arn
        execution_arn = sfn.start_execution(stateMachineArn=target, input="{}")["executionArn"]
        deadline = time.monotonic() + deadline_s
        while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"{name} still running after {deadline_s}s"
            time.sleep(0.05)
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return described, events
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)


PROBE_HANDLER = '''
class CircuitOpenError(Exception):
    """Named like one of the services' retryable errors (shared.errors)."""


def lambda_handler(event, context):
    raise CircuitOpenError("raised on purpose")
'''


def test_handler_errors_still_arrive_as_runtime_handler_error(endpoint):
    """Guards scripts/emulator_workarounds.py: on MiniStack 1.5.33 every handler exception reaches Step Functions
    as `Runtime.HandlerError`; on AWS the error name is the exception's class name. The probe task carries the
    Retry of an AWS env (`${LambdaRetry}` rendered for dev, MaxAttempts cut to 1): on AWS it retries the probe's
    `CircuitOpenError`, on MiniStack nothing matches -- which is why `local` adds Runtime.HandlerError."""
    from scripts import emulator_workarounds, workflow_policies

    retry = workflow_policies.lambda_retry(emulator_workarounds.retryable_errors("dev"))
    assert "CircuitOpenError" in retry[0]["ErrorEquals"] and "Runtime.HandlerError" not in retry[0]["ErrorEquals"]
    retry[0]["MaxAttempts"] = 1
    lam, sfn = _client("lambda", endpoint), _client("stepfunctions", endpoint)
    name = f"orderflow-probe-{uuid.uuid4().hex[:8]}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", PROBE_HANDLER)
    arn = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE_ARN,
        Handler="handler.lambda_handler",
        Code={"ZipFile": buffer.getvalue()},
        Timeout=10,
    )["FunctionArn"]
    try:
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        described, events = _run(
            sfn,
            f"{name}-machine",
            {
                "StartAt": "Invoke",
                "States": {
                    "Invoke": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::lambda:invoke",
                        "Parameters": {"FunctionName": arn, "Payload": {}},
                        "Retry": retry,
                        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                        "End": True,
                    },
                    "Caught": {"Type": "Succeed"},
                },
            },
        )
    finally:
        lam.delete_function(FunctionName=name)
        logs = _client("logs", endpoint)
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")

    assert described["status"] == "SUCCEEDED"
    errors = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    assert errors, "the probe Lambda did not fail"
    assert errors == ["Runtime.HandlerError"], (
        f"MiniStack now reports handler errors as {errors}: remove MINISTACK_HANDLER_ERROR from "
        "scripts/emulator_workarounds.py (and this guard) -- the services' own error names now reach the workflows' "
        "${LambdaRetry}; tests/workflow/test_stub_services.py then sees the stubs' class names"
    )


def test_mocked_throw_is_still_repeated_on_every_retry(endpoint):
    """MiniStack 1.5.33 looks a mocked response up once per state *entry*, so a mocked Throw is re-raised on every
    retry and `{"0": Throw, "1": Return}` never returns (AWS Step Functions Local advances per attempt; both
    advance per entry, which the parking cases rely on). That is why tests/workflow covers "a task retried, then it
    succeeds" with a failing stub Lambda (test_stub_services.py::test_parked_then_retried_charge), and the mock
    config's ReserveRetriedThenReserved case is kept (AWS format) but not run."""
    sfn = _client("stepfunctions", endpoint)
    config = json.loads(MOCK_CONFIG.read_text())
    machine = f"OrderflowMockRetryProbe{uuid.uuid4().hex[:8]}"
    config["StateMachines"][machine] = {"TestCases": {"ThrowThenReturn": {"Charge": "ProbeThrowThenReturn"}}}
    config["MockedResponses"]["ProbeThrowThenReturn"] = {
        "0": {"Throw": {"Error": "ProbeError", "Cause": "first attempt"}},
        "1": {"Return": {"StatusCode": 200, "Payload": {"status": "PAID"}}},
    }
    request = urllib.request.Request(
        f"{endpoint}/_ministack/config",
        method="POST",
        data=json.dumps({"stepfunctions._sfn_mock_config": config}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert "stepfunctions._sfn_mock_config" in json.loads(response.read())["applied"]

    described, events = _run(
        sfn,
        machine,
        {
            "StartAt": "Charge",
            "States": {
                "Charge": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "orderflow-probe-not-deployed", "Payload": {}},
                    "Retry": [{"ErrorEquals": ["ProbeError"], "IntervalSeconds": 1, "MaxAttempts": 1}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Exhausted"}],
                    "Next": "Returned",
                },
                "Returned": {"Type": "Succeed"},
                "Exhausted": {"Type": "Succeed"},
            },
        },
        test_case="ThrowThenReturn",
    )

    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered == ["Charge", "Exhausted"], (
        f"MiniStack now advances mocked responses per retry attempt (visited {entered}): run the mock config's "
        "ReserveRetriedThenReserved case in tests/workflow/test_order_processing.py (remove it from NOT_RUN) and "
        "drop this guard"
    )
    assert described["status"] == "SUCCEEDED"


def test_no_state_events_inside_parallel_branches_and_map_iterations_yet(endpoint):
    """AWS records StateEntered/Exited events for the states of Parallel branches and Map iterations; MiniStack
    1.5.33 records only their task events. tests/workflow asserts the top-level path (Execution.visited) and reads
    the path inside the finalize branch (a Parallel in every workflow) and the sweep's Maps from their results."""
    sfn = _client("stepfunctions", endpoint)
    inner = {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "End": True}}}
    described, events = _run(
        sfn,
        f"OrderflowNestedEventsProbe{uuid.uuid4().hex[:8]}",
        {
            "StartAt": "Branches",
            "States": {
                "Branches": {"Type": "Parallel", "Branches": [inner], "ResultPath": "$.branches", "Next": "Items"},
                "Items": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {**inner, "ProcessorConfig": {"Mode": "INLINE"}},
                    "ResultPath": "$.mapped",
                    "End": True,
                },
            },
        },
    )
    assert described["status"] == "SUCCEEDED"
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered == ["Branches", "Items"], (
        f"MiniStack now records nested state events (entered {entered}): Execution.visited in "
        "tests/workflow/workflow_harness.py lists them too -- assert the finalize and sweep item paths from the "
        "history there, and drop this guard"
    )


def test_put_events_to_a_missing_bus_still_succeeds(endpoint):
    """On AWS PutEvents reports a failed entry for an unknown bus (the services raise EventPublishError and leave the
    event in the outbox); MiniStack 1.5.33 accepts it, so a wrong EVENT_BUS_NAME of a Lambda is caught only on AWS.
    (The workflows no longer put events themselves: every event is the services' now.)"""
    events = _client("events", endpoint)
    response = events.put_events(
        Entries=[
            {
                "EventBusName": f"orderflow-no-such-bus-{uuid.uuid4().hex[:6]}",
                "Source": "orderflow.probe",
                "DetailType": "Probe",
                "Detail": "{}",
            }
        ]
    )
    assert response["FailedEntryCount"] == 0, (
        "MiniStack now fails PutEvents to a missing bus: add a local test that a Lambda with a wrong EVENT_BUS_NAME "
        "raises EventPublishError and keeps the event in the outbox, and drop this guard"
    )


def test_delete_state_machine_is_still_not_idempotent(endpoint):
    """Guards scripts/emulator_workarounds.py EMULATED_DESTROY_ATTEMPTS: on MiniStack 1.5.33 deleting a state machine
    that is already gone fails (StateMachineDoesNotExist); AWS documents no such error for DeleteStateMachine."""
    sfn = _client("stepfunctions", endpoint)
    arn = sfn.create_state_machine(
        name=f"orderflow-probe-delete-{uuid.uuid4().hex[:8]}",
        roleArn=ROLE_ARN,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    sfn.delete_state_machine(stateMachineArn=arn)
    try:
        sfn.delete_state_machine(stateMachineArn=arn)
    except sfn.exceptions.StateMachineDoesNotExist:
        return  # the gap is still there: keep the workaround
    pytest.fail(
        "MiniStack now deletes idempotently, as AWS does: remove EMULATED_DESTROY_ATTEMPTS from "
        "scripts/emulator_workarounds.py, its use in scripts/stack.py destroy, and this guard."
    )


def test_redrive_execution_is_still_not_served(endpoint):
    """MiniStack 1.5.33 has no RedriveExecution: `invoke redrive-execution` (scripts/executions.py) says so and offers
    --restart. When this fails, MiniStack redrives: the e2e's redrive test then takes the AWS branch."""
    from botocore.exceptions import ClientError

    from scripts.executions import UNSUPPORTED

    sfn = _client("stepfunctions", endpoint)
    definition = {"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": "Probe"}}}
    arn = sfn.create_state_machine(
        name=f"probe-redrive-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE_ARN
    )["stateMachineArn"]
    try:
        execution_arn = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
        deadline = time.monotonic() + 30
        while sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the probe execution is still running after 30 s"
            time.sleep(0.05)
        with pytest.raises(ClientError) as info:
            sfn.redrive_execution(executionArn=execution_arn)
        assert info.value.response["Error"]["Code"] in UNSUPPORTED, info.value.response["Error"]
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)


def test_express_executions_still_write_no_logs_but_have_a_history(endpoint):
    """Guards scripts/emulator_workarounds.py (EXPRESS_HISTORY_FROM_API): MiniStack 1.5.33 runs an EXPRESS machine
    and answers DescribeExecution, ListExecutions and GetExecutionHistory for its executions (AWS answers none of
    them for Express), but writes nothing to its log group although logging is ALL with execution data (on AWS that
    log group is where an Express execution's states are). Once the emulator writes the logs, drop the workaround:
    scripts/history.ExecutionReader then reads Express executions from their logs everywhere."""
    from scripts import emulator_workarounds
    from scripts.history import ExecutionReader, summarize_history

    sfn, logs = _client("stepfunctions", endpoint), _client("logs", endpoint)
    name = f"orderflow-probe-express-{uuid.uuid4().hex[:8]}"
    group = f"/aws/vendedlogs/states/{name}"
    logs.create_log_group(logGroupName=group)
    group_arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"]
    definition = {
        "StartAt": "First",
        "States": {"First": {"Type": "Pass", "Result": {"probe": 1}, "Next": "Second"}, "Second": {"Type": "Succeed"}},
    }
    arn = sfn.create_state_machine(
        name=name,
        definition=json.dumps(definition),
        roleArn=ROLE_ARN,
        type="EXPRESS",
        loggingConfiguration={
            "level": "ALL",
            "includeExecutionData": True,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": group_arn}}],
        },
    )["stateMachineArn"]
    try:
        assert sfn.describe_state_machine(stateMachineArn=arn)["type"] == "EXPRESS"
        execution_arn = sfn.start_execution(stateMachineArn=arn, input='{"orderId": "probe"}')["executionArn"]
        deadline = time.monotonic() + 30
        while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the Express probe still runs after 30 s"
            time.sleep(0.05)
        assert described["status"] == "SUCCEEDED"
        assert [e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]] == [execution_arn]
        reader = ExecutionReader(sfn, logs, env="local", machines={arn: {"type": "EXPRESS", "log_group": group}})
        assert emulator_workarounds.express_history_from_api("local")
        assert [s["name"] for s in summarize_history(reader.events(execution_arn))["states"]] == ["First", "Second"]
        # The execution has ended: on AWS its log events are delivered within seconds. None come here.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            written = logs.filter_log_events(logGroupName=group).get("events", [])
            assert written == [], f"MiniStack now writes Express execution logs ({written[:1]}): drop the workaround"
            time.sleep(0.25)
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)
        logs.delete_log_group(logGroupName=group)
