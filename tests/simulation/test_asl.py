"""Tests of the ASL interpreter (tests/simulation/asl.py): every construct with literal expected values, and
the real workflow templates (every construct they use is supported; their main paths run end to end)."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# absolute, as tests/simulation/cloud.py imports it: one StatesError class for the interpreter and the cloud
from tests.simulation.asl import (
    SUPPORTED_CHOICE_OPERATORS,
    SUPPORTED_INTRINSICS,
    SUPPORTED_STATE_TYPES,
    Context,
    ExecutionFailed,
    Sleep,
    StatesError,
    TaskCall,
    run,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SEED = 1234
EXECUTION_ID = "arn:aws:states:us-east-1:123456789012:execution:demo:run-1"
MACHINE_ID = "arn:aws:states:us-east-1:123456789012:stateMachine:demo"
Answer = Callable[[TaskCall], Any]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Outcome:
    """What a driven execution yielded and how it ended."""

    effects: list[TaskCall | Sleep] = field(default_factory=list)
    output: Any = None
    failure: ExecutionFailed | None = None

    @property
    def calls(self) -> list[TaskCall]:
        return [effect for effect in self.effects if isinstance(effect, TaskCall)]

    @property
    def sleeps(self) -> list[Sleep]:
        return [effect for effect in self.effects if isinstance(effect, Sleep)]


def drive(definition: dict[str, Any], data: Any = None, answer: Answer = lambda call: {}) -> Outcome:
    """Run an execution with a virtual clock: `answer` returns a task's result or a StatesError to throw."""
    clock = [START]
    context = Context(EXECUTION_ID, "run-1", MACHINE_ID, iso(START), lambda: iso(clock[0]), random.Random(SEED))
    generator = run(definition, {} if data is None else data, context)
    outcome = Outcome()
    try:
        effect = next(generator)
        while True:
            outcome.effects.append(effect)
            if isinstance(effect, Sleep):
                clock[0] += timedelta(seconds=effect.seconds)
                effect = generator.send(None)
            else:
                reply = answer(effect)
                effect = generator.throw(reply) if isinstance(reply, StatesError) else generator.send(reply)
    except StopIteration as stop:
        outcome.output = stop.value
    except ExecutionFailed as failure:
        outcome.failure = failure
    return outcome


def machine(**states: dict[str, Any]) -> dict[str, Any]:
    """A definition of the given states, starting at the first."""
    return {"StartAt": next(iter(states)), "States": states}


def task(**fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True, **fields}


def pass_state(**fields: Any) -> dict[str, Any]:
    return {"Type": "Pass", "End": True, **fields}


def failing(*errors: str) -> Answer:
    """Throw the given errors on successive calls, then succeed with {"ok": True}."""
    pending = list(errors)
    return lambda call: StatesError(pending.pop(0), "boom") if pending else {"ok": True}


def evaluate(expression: str, data: Any = None) -> Any:
    """The value of a path or intrinsic in a Pass state's Parameters."""
    outcome = drive(machine(P=pass_state(Parameters={"value.$": expression})), data)
    if outcome.failure:
        raise outcome.failure
    return outcome.output["value"]


# --------------------------------------------------------------------------------------- Pass and paths


def test_pass_result_goes_to_result_path_creating_intermediate_objects() -> None:
    outcome = drive(machine(P=pass_state(Result={"n": 1}, ResultPath="$.x.y")), {"keep": True})
    assert outcome.output == {"keep": True, "x": {"y": {"n": 1}}}


def test_pass_parameters_input_path_and_output_path() -> None:
    definition = machine(
        P=pass_state(
            InputPath="$.order",
            Parameters={"id.$": "$.id", "fixed": [1, {"a.$": "$.n"}]},
            ResultPath="$.copy",
            OutputPath="$.copy",
        )
    )
    assert drive(definition, {"order": {"id": "o-1", "n": 2}}).output == {"id": "o-1", "fixed": [1, {"a": 2}]}


def test_result_path_null_discards_and_output_path_null_is_empty_object() -> None:
    assert drive(machine(P=pass_state(Result=1, ResultPath=None)), {"a": 1}).output == {"a": 1}
    assert drive(machine(P=pass_state(OutputPath=None)), {"a": 1}).output == {}


def test_result_path_into_a_non_object_is_a_result_path_match_failure() -> None:
    failure = drive(machine(P=pass_state(Result=1, ResultPath="$.a.b")), {"a": "text"}).failure
    assert failure is not None and failure.error == "States.ResultPathMatchFailure"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "$",
            {
                "a-b": 1,
                "x": "X",
                "list": [{"b": 1}, {"b": 2}, {}],
                "results": [{"expired": ["a"]}, {"expired": []}, {"expired": ["b", "c"]}],
            },
        ),
        ("$['a-b']", 1),
        ('$["x"]', "X"),
        ("$.list[0]", {"b": 1}),
        ("$.list[1].b", 2),
        ("$.list[*].b", [1, 2]),
        ("$.results[*].expired[*]", ["a", "b", "c"]),
        ("$.results[*].expired", [["a"], [], ["b", "c"]]),
    ],
)
def test_paths(path: str, expected: Any) -> None:
    data = {
        "a-b": 1,
        "x": "X",
        "list": [{"b": 1}, {"b": 2}, {}],
        "results": [{"expired": ["a"]}, {"expired": []}, {"expired": ["b", "c"]}],
    }
    assert evaluate(path, data) == expected


@pytest.mark.parametrize("path", ["$.missing", "$.list[5]", "$.x.y", "$.missing[*].b"])
def test_missing_reference_path_is_states_runtime(path: str) -> None:
    with pytest.raises(ExecutionFailed) as failure:
        evaluate(path, {"x": "X", "list": []})
    assert failure.value.error == "States.Runtime"


def test_context_object_paths() -> None:
    parameters = {
        key + ".$": f"$$.{path}"
        for key, path in {
            "id": "Execution.Id",
            "name": "Execution.Name",
            "start": "Execution.StartTime",
            "input": "Execution.Input",
            "machine": "StateMachine.Id",
            "state": "State.Name",
            "entered": "State.EnteredTime",
            "retries": "State.RetryCount",
        }.items()
    }
    definition = machine(Wait={"Type": "Wait", "Seconds": 90, "Next": "Call"}, Call=task(Parameters=parameters))
    outcome = drive(definition, {"order": 1})
    assert outcome.calls[0].parameters == {
        "id": EXECUTION_ID,
        "name": "run-1",
        "start": "2024-05-01T12:00:00.000Z",
        "input": {"order": 1},
        "machine": MACHINE_ID,
        "state": "Call",
        "entered": "2024-05-01T12:01:30.000Z",
        "retries": 0,
    }


def test_context_paths_resolve_inside_nested_typed_values() -> None:
    """AWS resolves `.$` keys at any depth, arrays included: a DynamoDB typed value built from the context object
    (an L of M) gets the state's entered time as clock.iso writes it (milliseconds, Z) and the execution's id."""
    entry = {"M": {"at": {"S.$": "$$.State.EnteredTime"}, "by": {"S.$": "$$.Execution.Id"}, "n": {"N": "1"}}}
    definition = machine(
        Wait={"Type": "Wait", "Seconds": 90, "Next": "Call"},
        Call=task(Parameters={"Values": {":entry": {"L": [entry, {"L": [entry]}]}}}),
    )
    resolved = {"M": {"at": {"S": "2024-05-01T12:01:30.000Z"}, "by": {"S": EXECUTION_ID}, "n": {"N": "1"}}}
    assert drive(definition).calls[0].parameters == {"Values": {":entry": {"L": [resolved, {"L": [resolved]}]}}}


# ------------------------------------------------------------------------------------------------- Task


def test_task_call_and_result_processing() -> None:
    definition = machine(
        Call=task(
            InputPath="$.in",
            Parameters={"Payload": {"v.$": "$.v"}},
            TimeoutSeconds=60,
            ResultSelector={"status.$": "$.Payload.status"},
            ResultPath="$.result",
        )
    )
    result = {"Payload": {"status": "OK", "noise": 1}}
    outcome = drive(definition, {"in": {"v": 7}}, lambda call: result)
    [call] = outcome.calls
    assert (call.state_name, call.resource, call.parameters, call.retry_count, call.timeout_seconds) == (
        "Call",
        "arn:aws:states:::lambda:invoke",
        {"Payload": {"v": 7}},
        0,
        60,
    )
    assert call.execution.execution_name == "run-1"
    result["Payload"]["status"] = "mutated by the driver later"
    assert outcome.output == {"in": {"v": 7}, "result": {"status": "OK"}}


def test_timeout_seconds_path_is_read_from_the_input() -> None:
    outcome = drive(machine(Call=task(TimeoutSecondsPath="$.limit")), {"limit": 30})
    assert outcome.calls[0].timeout_seconds == 30


def test_states_do_not_share_data() -> None:
    """A driver mutating what it was given changes nothing the execution still uses."""

    def answer(call: TaskCall) -> Any:
        call.parameters["x"].append("mutated")
        return {}

    definition = machine(Both={"Type": "Parallel", "End": True, "Branches": [machine(A=task()), machine(B=task())]})
    outcome = drive(definition, {"x": [1]}, answer)
    assert [c.parameters for c in outcome.calls] == [{"x": [1, "mutated"]}] * 2
    assert outcome.output == [{}, {}]


def test_retry_back_off_is_capped_by_max_delay_and_counts_retries() -> None:
    retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 3, "MaxDelaySeconds": 5}]
    definition = machine(Call=task(Parameters={"attempt.$": "$$.State.RetryCount"}, Retry=retry))
    outcome = drive(definition, answer=failing("Boom", "Boom", "Boom"))
    assert outcome.sleeps == [Sleep(2, "retry:Call"), Sleep(4, "retry:Call"), Sleep(5, "retry:Call")]
    assert [(c.retry_count, c.parameters["attempt"]) for c in outcome.calls] == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert outcome.output == {"ok": True}


def test_retry_exhausted_fails_the_execution() -> None:
    retry = [{"ErrorEquals": ["Boom"], "MaxAttempts": 2}]
    outcome = drive(machine(Call=task(Retry=retry)), answer=failing("Boom", "Boom", "Boom"))
    assert [s.seconds for s in outcome.sleeps] == [1, 2]  # defaults: IntervalSeconds 1, BackoffRate 2.0
    assert outcome.failure is not None and (outcome.failure.error, outcome.failure.cause) == ("Boom", "boom")


def test_each_retrier_counts_its_own_attempts() -> None:
    """The example of the Step Functions docs: ErrorA, ErrorB, ErrorC, ErrorB, ErrorB -> waits 1, 2, 5, 4."""
    retry = [
        {"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 3},
        {"ErrorEquals": ["ErrorC"], "IntervalSeconds": 5},
    ]
    definition = machine(X=task(Retry=retry, Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Z"}]), Z=pass_state())
    outcome = drive(definition, answer=failing("ErrorA", "ErrorB", "ErrorC", "ErrorB", "ErrorB"))
    assert [s.seconds for s in outcome.sleeps] == [1, 2, 5, 4]
    assert outcome.output == {"Error": "ErrorB", "Cause": "boom"}


def test_max_attempts_zero_never_retries() -> None:
    retry = [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}]
    outcome = drive(machine(Call=task(Retry=retry)), answer=failing("States.Timeout"))
    assert outcome.sleeps == [] and outcome.failure is not None and outcome.failure.error == "States.Timeout"


def test_full_jitter_draws_from_the_context_rng() -> None:
    retry = [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxDelaySeconds": 3, "JitterStrategy": "FULL"}]
    outcome = drive(machine(Call=task(Retry=retry)), answer=failing("Boom", "Boom", "Boom"))
    rng = random.Random(SEED)
    assert [s.seconds for s in outcome.sleeps] == [rng.uniform(0, 1), rng.uniform(0, 2), rng.uniform(0, 3)]


def test_catch_puts_the_error_at_result_path_of_the_input() -> None:
    catch = [
        {"ErrorEquals": ["Other"], "Next": "Never"},
        {"ErrorEquals": ["Lambda.ServiceException"], "ResultPath": "$.error", "Next": "Handled"},
    ]
    definition = machine(
        Call=task(InputPath="$.a", ResultPath="$.r", Catch=catch), Handled=pass_state(), Never=pass_state()
    )
    outcome = drive(definition, {"a": {"b": 1}}, failing("Lambda.ServiceException"))
    assert outcome.output == {"a": {"b": 1}, "error": {"Error": "Lambda.ServiceException", "Cause": "boom"}}


@pytest.mark.parametrize(("error", "caught"), [("Custom", True), ("States.Timeout", False)])
def test_task_failed_matches_every_error_but_timeout(error: str, caught: bool) -> None:
    definition = machine(
        Call=task(Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Handled"}]), Handled=pass_state()
    )
    outcome = drive(definition, answer=failing(error))
    assert (outcome.failure is None) is caught


def test_states_all_does_not_catch_states_runtime() -> None:
    everything = [{"ErrorEquals": ["States.ALL"]}]
    definition = machine(
        Call=task(
            Parameters={"x.$": "$.missing"},
            Retry=everything,
            Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
        ),
        Handled=pass_state(),
    )
    outcome = drive(definition)
    assert outcome.effects == []
    assert outcome.failure is not None and outcome.failure.error == "States.Runtime"
    assert "$.missing" in outcome.failure.cause


def test_intrinsic_failure_is_catchable() -> None:
    definition = machine(
        Call=task(
            Parameters={"x.$": "States.StringToJson('not json')"},
            Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
        ),
        Handled=pass_state(),
    )
    assert drive(definition).output["Error"] == "States.IntrinsicFailure"


def test_other_exceptions_from_the_driver_propagate_unchanged() -> None:
    generator = run(
        machine(Call=task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Call"}])),
        {},
        Context(EXECUTION_ID, "run-1", MACHINE_ID, iso(START), lambda: iso(START), random.Random(0)),
    )
    next(generator)
    with pytest.raises(KeyError):
        generator.throw(KeyError("driver bug"))


# ----------------------------------------------------------------------------------------------- Choice

CHOICE_DATA = {
    "s": "beta",
    "n": 5,
    "b": True,
    "t": "2024-05-01T12:00:00Z",
    "z": None,
    "other": "beta",
    "limit": 5,
    "later": "2024-05-01T13:00:00.500+01:00",
    "star": "a*b",
}


@pytest.mark.parametrize(
    ("rule", "matches"),
    [
        ({"Variable": "$.s", "StringEquals": "beta"}, True),
        ({"Variable": "$.s", "StringLessThan": "gamma"}, True),
        ({"Variable": "$.s", "StringGreaterThan": "gamma"}, False),
        ({"Variable": "$.s", "StringLessThanEquals": "beta"}, True),
        ({"Variable": "$.s", "StringGreaterThanEquals": "beta"}, True),
        ({"Variable": "$.s", "StringEqualsPath": "$.other"}, True),
        ({"Variable": "$.s", "StringMatches": "b*a"}, True),
        ({"Variable": "$.s", "StringMatches": "b*x"}, False),
        ({"Variable": "$.star", "StringMatches": "a\\*b"}, True),
        ({"Variable": "$.s", "StringMatches": "b\\*a"}, False),
        ({"Variable": "$.n", "NumericEquals": 5}, True),
        ({"Variable": "$.n", "NumericLessThan": 5}, False),
        ({"Variable": "$.n", "NumericGreaterThan": 4.5}, True),
        ({"Variable": "$.n", "NumericLessThanEquals": 5}, True),
        ({"Variable": "$.n", "NumericGreaterThanEquals": 6}, False),
        ({"Variable": "$.n", "NumericEqualsPath": "$.limit"}, True),
        ({"Variable": "$.n", "NumericLessThanPath": "$.limit"}, False),
        ({"Variable": "$.b", "BooleanEquals": True}, True),
        ({"Variable": "$.b", "BooleanEqualsPath": "$.b"}, True),
        ({"Variable": "$.t", "TimestampEquals": "2024-05-01T12:00:00Z"}, True),
        ({"Variable": "$.t", "TimestampLessThan": "2024-05-01T12:00:01Z"}, True),
        ({"Variable": "$.t", "TimestampGreaterThan": "2024-05-01T12:00:01Z"}, False),
        ({"Variable": "$.t", "TimestampLessThanEquals": "2024-05-01T12:00:00Z"}, True),
        ({"Variable": "$.t", "TimestampGreaterThanEquals": "2024-05-01T12:00:00Z"}, True),
        ({"Variable": "$.t", "TimestampEqualsPath": "$.later"}, False),
        ({"Variable": "$.t", "TimestampLessThanPath": "$.later"}, True),
        ({"Variable": "$.z", "IsNull": True}, True),
        ({"Variable": "$.n", "IsNumeric": True}, True),
        ({"Variable": "$.b", "IsNumeric": True}, False),
        ({"Variable": "$.s", "IsString": True}, True),
        ({"Variable": "$.b", "IsBoolean": True}, True),
        ({"Variable": "$.t", "IsTimestamp": True}, True),
        ({"Variable": "$.s", "IsTimestamp": False}, True),
        ({"Variable": "$.missing", "IsPresent": False}, True),
        ({"Variable": "$.z", "IsPresent": True}, True),
        ({"Variable": "$.list[0]", "IsPresent": True}, False),
        ({"And": [{"Variable": "$.n", "NumericEquals": 5}, {"Variable": "$.s", "StringEquals": "beta"}]}, True),
        ({"Or": [{"Variable": "$.n", "NumericEquals": 6}, {"Variable": "$.s", "StringEquals": "beta"}]}, True),
        ({"Not": {"Variable": "$.n", "NumericEquals": 5}}, False),
        # a comparison with a value of the wrong type is false, not an error
        ({"Variable": "$.s", "NumericEquals": 5}, False),
        ({"Variable": "$.n", "StringEquals": "5"}, False),
        ({"Variable": "$.b", "NumericEquals": 1}, False),
        ({"Variable": "$.s", "TimestampEquals": "beta"}, False),
        ({"Variable": "$.n", "StringMatches": "*"}, False),
    ],
)
def test_choice_rules(rule: dict[str, Any], matches: bool) -> None:
    definition = machine(
        Choose={"Type": "Choice", "Choices": [{**rule, "Next": "Yes"}], "Default": "No"},
        Yes=pass_state(Result="yes"),
        No=pass_state(Result="no"),
    )
    assert drive(definition, {**CHOICE_DATA, "list": []}).output == ("yes" if matches else "no")


def test_choice_without_default_and_no_match_fails() -> None:
    definition = machine(
        Choose={"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "X"}]}, X=pass_state()
    )
    failure = drive(definition, {"n": 2}).failure
    assert failure is not None and failure.error == "States.NoChoiceMatched"


def test_choice_on_a_missing_variable_is_states_runtime() -> None:
    definition = machine(
        Choose={"Type": "Choice", "Default": "X", "Choices": [{"Variable": "$.nope", "IsNull": True, "Next": "X"}]},
        X=pass_state(),
    )
    failure = drive(definition).failure
    assert failure is not None and failure.error == "States.Runtime"


# ------------------------------------------------------------------------------------ Wait, Succeed, Fail


@pytest.mark.parametrize(
    ("fields", "seconds"),
    [
        ({"Seconds": 10}, 10),
        ({"SecondsPath": "$.delay"}, 42),
        ({"Timestamp": "2024-05-01T12:05:00Z"}, 300),
        ({"TimestampPath": "$.until"}, 1.5),
        ({"Timestamp": "2024-05-01T11:00:00Z"}, 0),
    ],
)
def test_wait(fields: dict[str, Any], seconds: float) -> None:
    data = {"delay": 42, "until": "2024-05-01T12:00:01.500Z"}
    outcome = drive(machine(W={"Type": "Wait", "End": True, **fields}), data)
    assert outcome.effects == [Sleep(seconds, "wait:W")] and outcome.output == data


def test_succeed_applies_input_and_output_paths() -> None:
    definition = machine(Done={"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"})
    assert drive(definition, {"a": {"b": [1]}}).output == [1]


def test_fail_with_error_and_cause() -> None:
    failure = drive(machine(F={"Type": "Fail", "Error": "Bad", "Cause": "because"})).failure
    assert failure is not None and (failure.error, failure.cause) == ("Bad", "because")


def test_fail_with_error_path_and_intrinsic_cause_path() -> None:
    definition = machine(
        F={
            "Type": "Fail",
            "ErrorPath": "$.name",
            "CausePath": "States.Format('Order {} failed: {}', $.id, States.JsonToString($.e))",
        }
    )
    failure = drive(definition, {"name": "OrderFailed", "id": "o-1", "e": {"Error": "X", "Cause": "y"}}).failure
    assert failure is not None
    assert (failure.error, failure.cause) == ("OrderFailed", 'Order o-1 failed: {"Error":"X","Cause":"y"}')


# -------------------------------------------------------------------------------------- Map and Parallel


def test_map_runs_items_in_order_with_item_index_and_value() -> None:
    definition = machine(
        Each={
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 5,
            "End": True,
            "ResultPath": "$.results",
            "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "tag.$": "$.tag"},
            "ItemProcessor": machine(Work=task(ResultSelector={"done.$": "$.n"})),
        }
    )
    outcome = drive(
        definition, {"items": ["a", "b", "c"], "tag": "t"}, lambda call: {"n": call.parameters["index"] * 10}
    )
    assert [c.parameters for c in outcome.calls] == [{"index": i, "value": v, "tag": "t"} for i, v in enumerate("abc")]
    assert outcome.output["results"] == [{"done": 0}, {"done": 10}, {"done": 20}]


def test_legacy_map_iterator_parameters_and_result_selector() -> None:
    definition = machine(
        Each={
            "Type": "Map",
            "End": True,
            "Parameters": {"v.$": "$$.Map.Item.Value"},
            "Iterator": machine(Echo=pass_state()),
            "ResultSelector": {"all.$": "$[*].v"},
        }
    )
    assert drive(definition, [1, 2]).output == {"all": [1, 2]}


def test_map_iteration_failure_is_retried_and_caught_by_the_map() -> None:
    definition = machine(
        Each={
            "Type": "Map",
            "ItemsPath": "$.items",
            "Next": "Done",
            "ItemProcessor": machine(Work=task()),
            "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
        },
        Done=pass_state(),
    )
    outcome = drive(
        definition, {"items": [1, 2]}, lambda call: StatesError("Boom", "x") if call.parameters == 2 else {}
    )
    assert [c.parameters for c in outcome.calls] == [1, 2, 1, 2]
    assert outcome.sleeps == [Sleep(1, "retry:Each")]
    assert outcome.output == {"items": [1, 2], "error": {"Error": "Boom", "Cause": "x"}}


def test_parallel_runs_branches_in_order_and_collects_outputs() -> None:
    definition = machine(
        Both={
            "Type": "Parallel",
            "End": True,
            "Parameters": {"x.$": "$.x"},
            "Branches": [machine(A=task(Resource="a")), machine(B=pass_state(Result="b"))],
        }
    )
    outcome = drive(definition, {"x": 1}, lambda call: {"from": call.resource})
    assert [c.parameters for c in outcome.calls] == [{"x": 1}]
    assert outcome.output == [{"from": "a"}, "b"]


def test_parallel_failing_branch_fails_the_state() -> None:
    definition = machine(
        Both={
            "Type": "Parallel",
            "Next": "Handled",
            "Branches": [machine(A=pass_state()), machine(F={"Type": "Fail", "Error": "Broken"})],
            "Catch": [{"ErrorEquals": ["Broken"], "Next": "Handled"}],
        },
        Handled=pass_state(),
    )
    assert drive(definition).output == {"Error": "Broken", "Cause": ""}


# ------------------------------------------------------------------------------------ intrinsic functions

INTRINSIC_DATA = {
    "name": "Ann",
    "obj": {"a": 1, "b": [1, "x"]},
    "json": '{"n": [1, 2]}',
    "list": [1, 2, 3, 2, 1],
    "one": {"a": {"a1": 1}, "b": 2},
    "two": {"a": {"a3": 1}, "c": 3},
    "csv": "1,2;;3",
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('Hello, {}! {} {} {}', $.name, 42, true, null)", "Hello, Ann! 42 true null"),
        ("States.Format('{}', $.obj)", "{a=1, b=[1, x]}"),
        ("States.Format('it\\'s \\{\\} {} \\\\', 'ok')", "it's {} ok \\"),
        ("States.Format('{}-{}', States.Format('{}', 1), States.ArrayLength($.list))", "1-5"),
        ("States.StringToJson($.json)", {"n": [1, 2]}),
        ("States.JsonToString($.obj)", '{"a":1,"b":[1,"x"]}'),
        ("States.Array('a', 1, 2.5, $.name, null, States.Array())", ["a", 1, 2.5, "Ann", None, []]),
        ("States.ArrayPartition($.list, 2)", [[1, 2], [3, 2], [1]]),
        ("States.ArrayContains($.list, 3)", True),
        ("States.ArrayContains($.list, true)", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayRange(3, 1, -1)", [3, 2, 1]),
        ("States.ArrayGetItem($.list, 2)", 3),
        ("States.ArrayLength($.list)", 5),
        ("States.ArrayUnique($.list)", [1, 2, 3]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Hash('abc', 'MD5')", "900150983cd24fb0d6963f7d28e17f72"),
        ("States.Hash('abc', 'SHA-256')", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("States.JsonMerge($.one, $.two, false)", {"a": {"a3": 1}, "b": 2, "c": 3}),
        ("States.MathAdd(111, -1)", 110),
        ("States.StringSplit($.csv, ',;')", ["1", "2", "3"]),
        ("States.MathRandom(3, 4)", 3),
    ],
)
def test_intrinsic_functions(expression: str, expected: Any) -> None:
    assert evaluate(expression, INTRINSIC_DATA) == expected


def test_uuid_and_math_random_are_deterministic() -> None:
    rng = random.Random(SEED)
    assert evaluate("States.UUID()") == str(uuid.UUID(int=rng.getrandbits(128), version=4))
    seeded = {evaluate("States.MathRandom(1, 1000, 7)") for _ in range(3)}
    assert len(seeded) == 1 and 1 <= seeded.pop() < 1000


@pytest.mark.parametrize(
    "expression",
    [
        "States.Format('{} {}', 1)",
        "States.StringToJson('{')",
        "States.ArrayPartition($.list, 0)",
        "States.ArrayRange(1, 5000, 1)",
        "States.ArrayGetItem($.list, 9)",
        "States.ArrayLength($.name)",
        "States.Base64Decode('%%%')",
        "States.Hash('abc', 'SHA-3')",
        "States.JsonMerge($.one, $.two, true)",
        "States.MathAdd(1, 'x')",
        "States.MathRandom(5, 5)",
        "States.UUID(1)",
        "States.Nope()",
        "States.Format('\\x')",
    ],
)
def test_bad_intrinsic_is_intrinsic_failure(expression: str) -> None:
    with pytest.raises(ExecutionFailed) as failure:
        evaluate(expression, INTRINSIC_DATA)
    assert failure.value.error == "States.IntrinsicFailure"


def test_missing_path_in_an_intrinsic_is_states_runtime() -> None:
    with pytest.raises(ExecutionFailed) as failure:
        evaluate("States.Format('{}', $.missing)")
    assert failure.value.error == "States.Runtime"


# ------------------------------------------------------------ service integrations on the simulation's cloud

TRANSACT = "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"
PUT_EVENTS = "arn:aws:states:::events:putEvents"
ORDER_ID = "0b7d6a52-5f8e-4c3a-9d0e-2f1a3b4c5d6e"
#: a CompleteOrder-like transaction: the order's conditional update and an outbox row, typed values nested (L of M)
TRANSACTION = {
    "TransactItems": [
        {
            "Update": {
                "TableName": "orderflow-sim-orders",
                "Key": {"orderId": {"S.$": "$.orderId"}, "customerId": {"S": "c-1"}},
                "UpdateExpression": "SET #status = :completed, #history = list_append(#history, :entry)",
                "ConditionExpression": "#status = :reserved",
                "ExpressionAttributeNames": {"#status": "status", "#history": "history"},
                "ExpressionAttributeValues": {
                    ":completed": {"S": "COMPLETED"},
                    ":reserved": {"S": "INVENTORY_RESERVED"},
                    ":entry": {"L": [{"M": {"at": {"S.$": "$$.State.EnteredTime"}, "by": {"S.$": "$$.Execution.Id"}}}]},
                },
            }
        },
        {
            "Put": {
                "TableName": "orderflow-sim-outbox",
                "Item": {
                    "id": {"S": "evt-1"},
                    "detail": {"M": {"orderId": {"S.$": "$.orderId"}, "lines": {"L": [{"N": "2"}, {"NULL": True}]}}},
                },
            }
        },
    ]
}
ORDER_COMPLETED = {
    "Source": "order.service",
    "DetailType": "Order Completed",
    "Detail": {
        "eventId": "5c1e0f3a-8b2d-4e6f-a7c9-0d1e2f3a4b5c",
        "orderId.$": "$.orderId",
        "customerId": "c-1",
        "totalAmount": "25.00",
    },
    "EventBusName": "orderflow-sim-bus",
}
CAUGHT = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}]


@pytest.fixture
def cloud(sim_cloud: Any) -> Iterator[Any]:
    """The simulation's cloud, emptied, with the calls of the principal `demo` recorded (and forgotten after)."""
    sim_cloud.reset()
    sim_cloud.calls.enabled = True
    try:
        yield sim_cloud
    finally:
        sim_cloud.calls.enabled = False
        sim_cloud.calls.calls -= {c for c in sim_cloud.calls.calls if c[0] == "demo"}
        sim_cloud.calls.events -= {e for e in sim_cloud.calls.events if e[0] == "demo"}


def on_cloud(cloud: Any, faults: Any = None) -> Answer:
    """Answer each task as the engine does: the cloud runs it as the workflow `demo`, an API error is thrown back."""

    def answer(call: TaskCall) -> Any:
        try:
            return cloud.integration_task(call, workflow="demo", faults=faults)
        except StatesError as error:
            return error

    return answer


def reserved_order(cloud: Any, status: str = "INVENTORY_RESERVED") -> None:
    cloud.table("orders").put_item(Item={"orderId": ORDER_ID, "customerId": "c-1", "status": status, "history": []})


def test_a_transaction_writes_every_item_with_its_nested_typed_values(cloud: Any) -> None:
    from decimal import Decimal

    reserved_order(cloud)
    definition = machine(Complete=task(Resource=TRANSACT, Parameters=TRANSACTION, ResultPath="$.tx"))
    outcome = drive(definition, {"orderId": ORDER_ID}, on_cloud(cloud))
    assert outcome.output == {"orderId": ORDER_ID, "tx": {}}  # the API response: no ResponseMetadata
    assert cloud.scan("orders") == [
        {
            "orderId": ORDER_ID,
            "customerId": "c-1",
            "status": "COMPLETED",
            "history": [{"at": "2024-05-01T12:00:00.000Z", "by": EXECUTION_ID}],
        }
    ]
    assert cloud.scan("outbox") == [{"id": "evt-1", "detail": {"orderId": ORDER_ID, "lines": [Decimal(2), None]}}]
    # the role needs each item's own action on its own table (not dynamodb:TransactWriteItems)
    assert {c for c in cloud.calls.calls if c[0] == "demo"} == {
        ("demo", "dynamodb:UpdateItem", "table/orders"),
        ("demo", "dynamodb:PutItem", "table/outbox"),
    }


def test_a_transaction_whose_condition_fails_writes_nothing_and_is_caught_by_its_sdk_name(cloud: Any) -> None:
    reserved_order(cloud, status="CANCELLED")
    definition = machine(
        Complete=task(Resource=TRANSACT, Parameters=TRANSACTION, Next="Done", Catch=CAUGHT), Done=pass_state()
    )
    outcome = drive(definition, {"orderId": ORDER_ID}, on_cloud(cloud))
    assert outcome.output["error"] == {
        "Error": "DynamoDb.TransactionCanceledException",
        "Cause": "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[ConditionalCheckFailed, None]",
    }
    assert [o["status"] for o in cloud.scan("orders")] == ["CANCELLED"] and cloud.scan("outbox") == []


def test_a_throttled_transaction_is_retried_by_its_sdk_name_and_writes_once(cloud: Any) -> None:
    from tests.simulation.cloud import Faults

    reserved_order(cloud)
    retry = [{"ErrorEquals": ["DynamoDb.ProvisionedThroughputExceededException"], "MaxAttempts": 1}]
    definition = machine(Complete=task(Resource=TRANSACT, Parameters=TRANSACTION, Retry=retry))
    outcome = drive(definition, {"orderId": ORDER_ID}, on_cloud(cloud, Faults(dynamodb="throttle")))
    assert len(outcome.calls) == 2 and outcome.sleeps == [Sleep(1, "retry:Complete")] and outcome.output == {}
    assert [len(o["history"]) for o in cloud.scan("orders")] == [1] and len(cloud.scan("outbox")) == 1
    unretried = drive(
        machine(Complete=task(Resource=TRANSACT, Parameters=TRANSACTION)),
        {"orderId": ORDER_ID},
        on_cloud(cloud, Faults(dynamodb="throttle")),
    )
    assert unretried.failure is not None
    assert unretried.failure.error == "DynamoDb.ProvisionedThroughputExceededException"


def test_a_transaction_timed_out_after_its_effect_is_retried_into_its_own_condition(cloud: Any) -> None:
    """The write took effect, the task timed out (States.Timeout); the retry finds the order COMPLETED."""
    from tests.simulation.cloud import Faults

    reserved_order(cloud)
    retry = [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}]
    definition = machine(
        Complete=task(Resource=TRANSACT, Parameters=TRANSACTION, Retry=retry, Catch=CAUGHT, Next="Done"),
        Done=pass_state(),
    )
    outcome = drive(definition, {"orderId": ORDER_ID}, on_cloud(cloud, Faults(dynamodb="timeout")))
    assert len(outcome.calls) == 2
    assert outcome.output["error"]["Error"] == "DynamoDb.TransactionCanceledException"
    assert [o["status"] for o in cloud.scan("orders")] == ["COMPLETED"] and len(cloud.scan("outbox")) == 1


def test_a_transaction_with_a_mistyped_value_is_states_runtime(cloud: Any) -> None:
    """Step Functions checks the request against the API model before calling it: {"N": 2} is not a string."""
    reserved_order(cloud)
    parameters = json.loads(json.dumps(TRANSACTION))
    parameters["TransactItems"][1]["Put"]["Item"]["n"] = {"N": 2}
    outcome = drive(
        machine(Complete=task(Resource=TRANSACT, Parameters=parameters)), {"orderId": ORDER_ID}, on_cloud(cloud)
    )
    assert outcome.failure is not None and outcome.failure.error == "States.Runtime"
    assert "could not be used to start the Task" in outcome.failure.cause and cloud.scan("outbox") == []


def test_put_events_puts_the_serialised_detail_on_the_bus_and_answers_the_api_response(cloud: Any) -> None:
    definition = machine(
        Publish=task(Resource=PUT_EVENTS, Parameters={"Entries": [ORDER_COMPLETED]}, ResultPath="$.put")
    )
    outcome = drive(definition, {"orderId": ORDER_ID}, on_cloud(cloud))
    assert outcome.output == {"orderId": ORDER_ID, "put": {"Entries": [{"EventId": "e1"}], "FailedEntryCount": 0}}
    assert cloud.bus == [
        {
            "source": "order.service",
            "detail-type": "Order Completed",
            "detail": {
                "eventId": "5c1e0f3a-8b2d-4e6f-a7c9-0d1e2f3a4b5c",
                "orderId": ORDER_ID,
                "customerId": "c-1",
                "totalAmount": "25.00",
            },
        }
    ]
    assert ("demo", "order.service", "Order Completed") in cloud.calls.events
    assert ("demo", "events:PutEvents", "bus") in cloud.calls.calls
    assert [v for v in cloud.calls.contract_violations if v.startswith("demo:")] == []  # the OrderCompleted contract


def test_a_put_whose_entry_fails_fails_the_task_with_eventbridge_failed_entry(cloud: Any) -> None:
    from tests.simulation.cloud import Faults

    definition = machine(Publish=task(Resource=PUT_EVENTS, Parameters={"Entries": [ORDER_COMPLETED]}))
    outcome = drive(definition, {"orderId": ORDER_ID}, on_cloud(cloud, Faults(publish_fails=True)))
    assert outcome.failure is not None and outcome.failure.error == "EventBridge.FailedEntry"
    assert json.loads(outcome.failure.cause)["FailedEntryCount"] == 1
    assert cloud.bus == []


def test_a_put_timed_out_after_its_effect_is_retried_and_puts_twice(cloud: Any) -> None:
    """At least once: the event was put, the task timed out, the retry puts it again (consumers dedupe by eventId)."""
    from tests.simulation.cloud import Faults

    retry = [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 1}]
    definition = machine(Publish=task(Resource=PUT_EVENTS, Parameters={"Entries": [ORDER_COMPLETED]}, Retry=retry))
    outcome = drive(definition, {"orderId": ORDER_ID}, on_cloud(cloud, Faults(publish_times_out=True)))
    assert outcome.output == {"Entries": [{"EventId": "e2"}], "FailedEntryCount": 0}
    assert [e["detail-type"] for e in cloud.bus] == ["Order Completed", "Order Completed"]


def test_a_put_on_another_bus_is_a_wiring_defect(cloud: Any) -> None:
    entry = {**ORDER_COMPLETED, "EventBusName": "default"}
    with pytest.raises(ValueError, match="not the stack's bus 'orderflow-sim-bus'"):
        drive(
            machine(Publish=task(Resource=PUT_EVENTS, Parameters={"Entries": [entry]})),
            {"orderId": ORDER_ID},
            on_cloud(cloud),
        )


# ------------------------------------------------------------------------------------ workflow templates


def load_workflows() -> dict[str, dict[str, Any]]:
    """Every workflow/*.asl.json, rendered for dev; skips the test when they do not render right now."""
    try:
        from scripts import render

        values = render.placeholder_values("dev", region="us-east-1", account_id="123456789012")
        return {
            path.name[: -len(".asl.json")]: json.loads(render.render_text(path.read_text(), values))
            for path in sorted((REPO_ROOT / "workflow").glob("*.asl.json"))
        }
    except Exception as err:  # noqa: BLE001 - the templates may be mid-edit by someone else
        pytest.skip(f"the workflow templates do not render right now: {err!r}")


def all_states(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for state in definition["States"].values():
        yield state
        for nested in (state.get("ItemProcessor"), state.get("Iterator"), *state.get("Branches", [])):
            if nested:
                yield from all_states(nested)


def rule_operators(rule: dict[str, Any]) -> Iterator[str]:
    for key, value in rule.items():
        if key in ("And", "Or", "Not"):
            yield key
            for nested in value if isinstance(value, list) else [value]:
                yield from rule_operators(nested)
        elif key not in ("Variable", "Next", "Comment"):
            yield key


def intrinsic_names(value: Any) -> Iterator[str]:
    """Intrinsic functions called in payload templates (`key.$`) and in Fail's ErrorPath/CausePath."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (key.endswith(".$") or key in ("ErrorPath", "CausePath")):
                yield from re.findall(r"(States\.[A-Za-z0-9]+)\(", item)
            yield from intrinsic_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from intrinsic_names(item)


def test_templates_use_only_supported_constructs() -> None:
    workflows = load_workflows()
    assert workflows
    for name, definition in workflows.items():
        states = list(all_states(definition))
        assert {s["Type"] for s in states} <= SUPPORTED_STATE_TYPES, name
        operators = {op for s in states for rule in s.get("Choices", []) for op in rule_operators(rule)}
        assert operators <= SUPPORTED_CHOICE_OPERATORS, name
        assert set(intrinsic_names(definition)) <= SUPPORTED_INTRINSICS, name


#: an EventBridge event every workflow accepts (each reads the fields it needs from `detail`)
EVENT = {
    "detail-type": "Order Created",
    "source": "orderflow.test",
    "detail": {
        "orderId": "o-1",
        "customerId": "c-1",
        "items": [{"productId": "p-1", "quantity": 2, "price": 5}],
        "totalAmount": 10,
        "olderThanMinutes": 30,
    },
}


def test_every_workflow_ends_in_its_own_fail_state_when_every_task_keeps_failing() -> None:
    """Walks each template through Retry (with jitter), Catch and the Fail states' CausePath intrinsics: a
    Lambda service fault that never heals must reach a Fail state of the template, never States.Runtime."""
    for name, definition in load_workflows().items():
        outcome = drive(definition, EVENT, lambda call: StatesError("Lambda.ServiceException", "down"))
        fail_errors = {s.get("Error") for s in all_states(definition) if s["Type"] == "Fail"}
        assert outcome.calls, name
        assert all(sleep.reason.startswith("retry:") and sleep.seconds >= 0 for sleep in outcome.sleeps), name
        assert outcome.failure is not None and outcome.failure.error in fail_errors, (name, outcome.failure)
