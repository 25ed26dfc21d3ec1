"""`invoke redrive-execution` (scripts/executions.py): RedriveExecution where the cloud has it, a clear sentence where
it does not, and --restart: a new execution of the same machine with the same input, under a fresh name."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from scripts import executions
from scripts.common import UserError

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-dev-order-processing"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:orderflow-dev-order-processing:order-o-1"
INPUT = '{"detail": {"orderId": "o-1"}}'


@pytest.fixture
def sfn():
    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def described(stub, status="FAILED"):
    stub.add_response(
        "describe_execution",
        {
            "executionArn": EXECUTION,
            "stateMachineArn": MACHINE,
            "name": "order-o-1",
            "status": status,
            "startDate": datetime(2026, 12, 6, tzinfo=UTC),
            "input": INPUT,
        },
        {"executionArn": EXECUTION},
    )


def test_a_failed_execution_is_redriven(sfn):
    client, stub = sfn
    described(stub)
    stub.add_response(
        "redrive_execution", {"redriveDate": datetime(2026, 12, 6, tzinfo=UTC)}, {"executionArn": EXECUTION}
    )
    assert executions.redrive(client, EXECUTION) == {
        "action": "redriven",
        "executionArn": EXECUTION,
        "status": "RUNNING",
    }


def test_a_cloud_without_redrive_execution_says_to_restart(sfn):
    client, stub = sfn
    described(stub)
    stub.add_client_error("redrive_execution", "UnknownOperationException", "unknown action", 400)
    with pytest.raises(UserError) as info:
        executions.redrive(client, EXECUTION)
    assert str(info.value) == (
        "This cloud does not implement RedriveExecution: run it again with --restart to start a new execution with"
        " the same input."
    )


def test_an_execution_step_functions_will_not_redrive_names_the_reason(sfn):
    client, stub = sfn
    described(stub, status="TIMED_OUT")
    stub.add_client_error("redrive_execution", "ExecutionNotRedrivable", "closed more than 14 days ago", 400)
    with pytest.raises(UserError, match=r"^Step Functions will not redrive order-o-1 \(closed more than 14 days ago\)"):
        executions.redrive(client, EXECUTION)


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED", "PENDING_REDRIVE"])
def test_only_a_failed_timed_out_or_aborted_execution_is_redriven(sfn, status):
    client, stub = sfn
    described(stub, status=status)
    with pytest.raises(UserError, match=f"^Execution order-o-1 is {status}: only a FAILED, TIMED_OUT or ABORTED"):
        executions.redrive(client, EXECUTION)


def test_restart_starts_the_same_machine_with_the_same_input_under_the_next_free_name(sfn):
    client, stub = sfn
    described(stub, status="ABORTED")
    expected = {"stateMachineArn": MACHINE, "input": INPUT}
    stub.add_client_error(
        "start_execution",
        "ExecutionAlreadyExists",
        "exists",
        400,
        expected_params={**expected, "name": "order-o-1-restart-1"},
    )
    stub.add_response(
        "start_execution",
        {"executionArn": f"{EXECUTION}-restart-2", "startDate": datetime(2026, 12, 6, tzinfo=UTC)},
        {**expected, "name": "order-o-1-restart-2"},
    )
    assert executions.redrive(client, EXECUTION, restart=True) == {
        "action": "restarted",
        "executionArn": f"{EXECUTION}-restart-2",
        "status": "RUNNING",
    }


def test_an_unknown_execution_says_where_to_find_one(sfn):
    client, stub = sfn
    stub.add_client_error("describe_execution", "ExecutionDoesNotExist", "nope", 400)
    with pytest.raises(UserError, match=r"^There is no execution arn:aws:states:.*order-o-1: copy its ARN"):
        executions.redrive(client, EXECUTION)


def test_restart_names_stay_within_80_characters():
    assert executions.restart_name("x" * 80, 12) == "x" * 69 + "-restart-12"
    assert executions.restart_name("order o/1", 1) == "order-o-1-restart-1"
