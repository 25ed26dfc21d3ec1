"""scripts/history.ExecutionReader: one reader for STANDARD and EXPRESS executions. On AWS an EXPRESS workflow has no
history API, so its executions are rebuilt from its execution log group (the records Step Functions writes with level
ALL and execution data); on the local emulator (MiniStack 1.5.33 writes no such logs but serves the API for Express)
and for STANDARD the Step Functions API is read."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from scripts import executions
from scripts.common import UserError
from scripts.history import (
    SOURCE_API,
    SOURCE_LOGS,
    ExecutionReader,
    as_reader,
    state_machine_arn_of,
    summarize_history,
)

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:orderflow-dev-order-processing"
GROUP = "/aws/vendedlogs/states/orderflow-dev-order-processing"
EXPRESS_A = "arn:aws:states:us-east-1:123456789012:express:orderflow-dev-order-processing:a:1111"
EXPRESS_B = "arn:aws:states:us-east-1:123456789012:express:orderflow-dev-order-processing:b:2222"
EXPRESS_UNKNOWN = "arn:aws:states:us-east-1:123456789012:express:orderflow-dev-order-processing:c:3333"
T0 = 1_796_000_000_000  # ms


def record(arn, event_id, etype, ms, details=None):
    """One execution-log record as AWS writes it for an Express workflow (level ALL, execution data)."""
    out = {
        "id": str(event_id),
        "type": etype,
        "details": details or {},
        "previous_event_id": str(event_id - 1),
        "event_timestamp": str(T0 + ms),
        "execution_arn": arn,
        "redrive_count": "0",
    }
    return {"message": json.dumps(out), "timestamp": T0 + ms, "logStreamName": "states/x"}


LOG = [
    record(EXPRESS_A, 1, "ExecutionStarted", 0, {"input": json.dumps({"detail": {"orderId": "o-1"}})}),
    record(EXPRESS_A, 2, "TaskStateEntered", 10, {"name": "OwnOrder", "input": "{}"}),
    record(EXPRESS_A, 3, "TaskScheduled", 11, {"resource": "invoke", "resourceType": "lambda"}),
    record(EXPRESS_A, 4, "TaskSucceeded", 60, {"output": "{}"}),
    record(EXPRESS_A, 5, "TaskStateExited", 61, {"name": "OwnOrder", "output": "{}"}),
    record(EXPRESS_A, 6, "ExecutionSucceeded", 70, {"output": '{"done": true}'}),
    record(EXPRESS_B, 1, "ExecutionStarted", 500, {"input": json.dumps({"detail": {"orderId": "o-2"}})}),
    {"message": "not JSON: a stray line", "timestamp": T0 + 501},
]


class Logs:
    """filter_log_events over LOG with the two filter patterns the reader writes, in two pages."""

    def __init__(self):
        self.calls = []

    def filter_log_events(self, logGroupName, filterPattern, startTime=None, nextToken=None):
        self.calls.append((logGroupName, filterPattern, startTime))
        assert logGroupName == GROUP
        if m := re.fullmatch(r'\{ \$\.execution_arn = "([^"]+)" \}', filterPattern):
            keep = [e for e in LOG if m[1] in e["message"]]
        else:
            types = re.findall(r'\$\.type = "(\w+)"', filterPattern)
            assert types == [
                "ExecutionStarted",
                "ExecutionSucceeded",
                "ExecutionFailed",
                "ExecutionAborted",
                "ExecutionTimedOut",
            ]
            keep = [e for e in LOG if any(f'"type": "{t}"' in e["message"] for t in types)]
        keep = [e for e in keep if startTime is None or e["timestamp"] >= startTime]
        if nextToken is None:
            return {"events": keep[:2], "nextToken": "2"} if len(keep) > 2 else {"events": keep}
        return {"events": keep[2:]}


class NoApi:
    def __getattr__(self, name):
        raise AssertionError(f"the Step Functions API ({name}) has no Express executions on AWS")


def aws_reader(logs=None):
    return ExecutionReader(
        NoApi(), logs or Logs(), env="dev", machines={MACHINE: {"type": "EXPRESS", "log_group": GROUP}}
    )


def test_state_machine_arn_of_both_execution_arn_forms():
    assert state_machine_arn_of(EXPRESS_A) == MACHINE
    assert state_machine_arn_of(f"{MACHINE.replace(':stateMachine:', ':execution:')}:e-1") == MACHINE
    assert state_machine_arn_of("arn:e1") is None


def test_express_on_aws_reads_the_logs_and_express_on_the_emulator_or_standard_the_api():
    assert aws_reader().source(MACHINE) == SOURCE_LOGS
    machines = {MACHINE: {"type": "EXPRESS", "log_group": GROUP}}
    assert ExecutionReader(None, None, env="local", machines=machines).source(MACHINE) == SOURCE_API
    assert (
        ExecutionReader(None, None, env="dev", machines={MACHINE: {"type": "STANDARD"}}).source(MACHINE) == SOURCE_API
    )
    assert ExecutionReader(None, None, env="dev").source(MACHINE) == SOURCE_API  # not named: STANDARD


def test_express_events_are_the_history_events_the_log_records_stand_for():
    events = aws_reader().events(EXPRESS_A)
    assert [(e["id"], e["type"]) for e in events] == [
        (1, "ExecutionStarted"),
        (2, "TaskStateEntered"),
        (3, "TaskScheduled"),
        (4, "TaskSucceeded"),
        (5, "TaskStateExited"),
        (6, "ExecutionSucceeded"),
    ]
    assert events[1]["stateEnteredEventDetails"] == {"name": "OwnOrder", "input": "{}"}
    assert events[2]["taskScheduledEventDetails"] == {"resource": "invoke", "resourceType": "lambda"}
    assert events[0]["timestamp"] == datetime.fromtimestamp(T0 / 1000, UTC)
    summary = summarize_history(events, {"OwnOrder": "orderflow-dev-order"})
    assert (summary["status"], [s["name"] for s in summary["states"]]) == ("SUCCEEDED", ["OwnOrder"])
    assert [(t["function"], t["outcome"]) for t in summary["tasks"]] == [("orderflow-dev-order", "SUCCEEDED")]


def test_express_describe_and_list_are_rebuilt_from_the_logs():
    reader = aws_reader()
    assert reader.describe(EXPRESS_A) == {
        "executionArn": EXPRESS_A,
        "stateMachineArn": MACHINE,
        "name": "a",
        "status": "SUCCEEDED",
        "startDate": datetime.fromtimestamp(T0 / 1000, UTC),
        "stopDate": datetime.fromtimestamp((T0 + 70) / 1000, UTC),
        "input": json.dumps({"detail": {"orderId": "o-1"}}),
        "output": '{"done": true}',
    }
    listed = list(reader.list_executions(MACHINE))
    assert [(e["executionArn"], e["name"], e["status"]) for e in listed] == [
        (EXPRESS_B, "b", "RUNNING"),  # newest first
        (EXPRESS_A, "a", "SUCCEEDED"),
    ]
    since = datetime.fromtimestamp((T0 + 100) / 1000, UTC)
    logs = Logs()
    assert [e["executionArn"] for e in aws_reader(logs).list_executions(MACHINE, since)] == [EXPRESS_B]
    assert logs.calls[-1][2] == T0 + 100


def test_an_execution_the_logs_know_nothing_of_does_not_exist_as_the_history_api_answers():
    """Not described as RUNNING: the logs hold no record of it, so it is refused with the history API's error for an
    unknown execution, which the callers already handle."""
    logs = Logs()
    reader = aws_reader(logs)
    with pytest.raises(ClientError) as described:
        reader.describe(EXPRESS_UNKNOWN)
    assert (described.value.operation_name, described.value.response["Error"]) == (
        "DescribeExecution",
        {"Code": "ExecutionDoesNotExist", "Message": f"Execution Does Not Exist: '{EXPRESS_UNKNOWN}'"},
    )
    assert described.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as read:
        reader.events(EXPRESS_UNKNOWN)
    assert (read.value.operation_name, read.value.response["Error"]["Code"]) == (
        "GetExecutionHistory",
        "ExecutionDoesNotExist",
    )
    assert logs.calls == [(GROUP, f'{{ $.execution_arn = "{EXPRESS_UNKNOWN}" }}', None)] * 2
    with pytest.raises(UserError) as refused:
        executions.redrive(None, EXPRESS_UNKNOWN, reader=reader)
    assert str(refused.value) == (
        f"There is no execution {EXPRESS_UNKNOWN}: copy its ARN from `invoke trace` or the console."
    )


def test_an_express_machine_without_a_log_group_is_refused():
    reader = ExecutionReader(NoApi(), Logs(), env="dev", machines={MACHINE: {"type": "EXPRESS", "log_group": None}})
    with pytest.raises(ValueError, match="is EXPRESS but its execution log group is unknown"):
        reader.events(EXPRESS_A)


def test_for_stack_reads_the_types_and_log_groups_from_the_outputs():
    made = []
    outputs = {
        "env": "dev",
        "state_machine_arns": {"order-processing": MACHINE, "payment-processing": "arn:pp"},
        "workflow_types": {"order-processing": "EXPRESS", "payment-processing": "STANDARD"},
        "workflow_log_group_names": {"order-processing": GROUP, "payment-processing": "/pp"},
    }
    reader = ExecutionReader.for_stack(outputs, lambda name: made.append(name) or name)
    assert (reader.env, made) == ("dev", ["stepfunctions", "logs"])
    assert reader.machines == {
        MACHINE: {"type": "EXPRESS", "log_group": GROUP},
        "arn:pp": {"type": "STANDARD", "log_group": "/pp"},
    }
    made.clear()
    outputs["workflow_types"] = {}  # a stack deployed before the variable existed: all STANDARD, no logs client
    assert ExecutionReader.for_stack(outputs, lambda name: made.append(name) or name).logs is None
    assert made == ["stepfunctions"]


def test_for_stack_refuses_outputs_that_name_no_env():
    """Which env the stack is decides where an EXPRESS execution is read (the emulator's API or AWS's logs): outputs
    that do not say are refused, not read as the local cloud's."""
    outputs = {"state_machine_arns": {"order-processing": MACHINE}, "workflow_types": {"order-processing": "EXPRESS"}}
    with pytest.raises(UserError) as refused:
        ExecutionReader.for_stack(outputs, lambda name: pytest.fail(f"no {name} client before the env is known"))
    assert str(refused.value) == (
        "The stack's outputs lack `env` (written by an older deploy): redeploy it with `invoke deploy --env <env>`."
    )
    assert ExecutionReader.for_stack(outputs, lambda name: name, env="dev").env == "dev"  # the caller's env is enough


def test_the_api_path_pages_and_stops_at_the_first_older_execution():
    class Sfn:
        def __init__(self):
            self.pages = 0

        def list_executions(self, stateMachineArn, maxResults, nextToken=None):
            self.pages += 1
            if nextToken is None:
                return {
                    "executions": [{"executionArn": "e3", "startDate": datetime(2026, 1, 1, 3, tzinfo=UTC)}],
                    "nextToken": "n",
                }
            return {
                "executions": [{"executionArn": "e1", "startDate": datetime(2026, 1, 1, 1, tzinfo=UTC)}],
                "nextToken": "m",
            }

    sfn = Sfn()
    listed = list(as_reader(sfn).list_executions(MACHINE, datetime(2026, 1, 1, 2, tzinfo=UTC)))
    assert ([e["executionArn"] for e in listed], sfn.pages) == (["e3"], 2)
