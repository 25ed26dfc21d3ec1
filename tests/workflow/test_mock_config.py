"""mock_config.json follows the definitions and the services' contracts. Pure: no local cloud needed.

A mocked task skips the task's Parameters, so a mocked answer that no service could give would let a branch pass
that fails for real. Every test case here may mock only Lambda tasks and DynamoDB integration tasks of its
workflow; every mocked Lambda answer has exactly the keys of the real answer of that task's action
(workflow_harness.CONTRACT_KEYS, which test_stub_services.py holds to the real handlers), a mocked deleteItem
answers what DeleteItem answers without ReturnValues (`{}`), OwnOrder's updateItem what ReturnValues ALL_NEW answers,
CompleteOrder's transaction `{}` and PublishCompleted's putEvents one accepted entry.
"""

from __future__ import annotations

import pytest
from workflow_harness import (
    CLAIM_KEYS,
    CONTRACT_KEYS,
    MOCK_MACHINE_NAMES,
    ORDER_KEYS,
    lambda_tasks,
    service_tasks,
    table_tasks,
)

WORKFLOW_OF = {machine: workflow for workflow, machine in MOCK_MACHINE_NAMES.items()}


@pytest.fixture(scope="module")
def definitions() -> dict[str, dict]:
    from scripts.render import placeholder_values, render_definition, template_paths

    values = placeholder_values("local", region="us-east-1", account_id="000000000000", project="wfmock")
    return {
        name: render_definition(path.read_text(), values, source=str(path)) for name, path in template_paths().items()
    }


def mocked(mock_config):
    """(machine, test case, state, response name) of every mocked state."""
    for machine, spec in mock_config["StateMachines"].items():
        for case, states in spec["TestCases"].items():
            for state, response in states.items():
                yield machine, case, state, response


def test_machines_are_the_workflows(mock_config):
    assert set(mock_config["StateMachines"]) == set(WORKFLOW_OF)


def test_every_response_is_used_and_exists(mock_config):
    used = {response for *_, response in mocked(mock_config)}
    assert used == set(mock_config["MockedResponses"])


def test_mocked_states_are_lambda_tasks_of_their_workflow(mock_config, definitions):
    for machine, case, state, _ in mocked(mock_config):
        definition = definitions[WORKFLOW_OF[machine]]
        assert (
            state in lambda_tasks(definition) or state in table_tasks(definition) or state in service_tasks(definition)
        ), f"{machine}#{case}: no task {state}"


#: the DynamoDB integration tasks of the workflows: OwnOrder's updateItem and the finalize fragment's deleteItem
TABLE_TASKS = {("wfmock-local-orders", "updateItem"), ("wfmock-local-outbox", "deleteItem")}


def test_mocked_table_tasks_answer_what_dynamodb_answers(mock_config, definitions):
    """A deleteItem asks for no ReturnValues, so DynamoDB answers `{}`; OwnOrder's updateItem asks for ALL_NEW, so the
    stored order, typed, with the completedEventId CompleteOrder reads; a failure is an error Step Functions names
    `DynamoDB.<code>`: the condition refusal or one of the transient errors the table retry lists."""
    from scripts.workflow_policies import DYNAMODB_TRANSIENT_ERRORS

    checked, seen = 0, set()
    for machine, case, state, response in mocked(mock_config):
        if state not in table_tasks(definitions[WORKFLOW_OF[machine]]):
            continue
        task = table_tasks(definitions[WORKFLOW_OF[machine]])[state]
        assert task in TABLE_TASKS, f"{machine}#{case} {state}: {task}"
        seen.add(task)
        for attempts, answer in mock_config["MockedResponses"][response].items():
            where = f"{machine}#{case} {state} -> {response}[{attempts}]"
            if "Throw" in answer:
                assert set(answer["Throw"]) == {"Error", "Cause"}, where
                assert answer["Throw"]["Error"] in {
                    "DynamoDB.ConditionalCheckFailedException",
                    *DYNAMODB_TRANSIENT_ERRORS,
                }
            elif task == ("wfmock-local-orders", "updateItem"):
                attributes = answer["Return"]["Attributes"]
                assert set(answer["Return"]) == {"Attributes"}, where
                assert set(attributes["completedEventId"]) == {"S"}, where
                assert attributes["orderId"] == {"S": "ord-2001"}, where
            else:
                assert answer == {"Return": {}}, where
        checked += 1
    assert seen == TABLE_TASKS
    assert checked > 10


def test_mocked_service_tasks_answer_what_the_services_answer(mock_config, definitions):
    """TransactWriteItems answers `{}`; PutEvents one accepted entry; a failure is named as Step Functions names an AWS
    SDK integration's (`DynamoDb.<exception>`) and the EventBridge integration's: a cancelled transaction or an error
    the task's retry lists."""
    from scripts.workflow_policies import (
        EVENTBRIDGE_TRANSIENT_ERRORS,
        SDK_DYNAMODB_TRANSIENT_ERRORS,
        TRANSACTION_CANCELLED,
    )

    allowed = {
        "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems": {TRANSACTION_CANCELLED, *SDK_DYNAMODB_TRANSIENT_ERRORS},
        "arn:aws:states:::events:putEvents": set(EVENTBRIDGE_TRANSIENT_ERRORS),
    }
    seen = set()
    for machine, case, state, response in mocked(mock_config):
        resource = service_tasks(definitions[WORKFLOW_OF[machine]]).get(state)
        if resource is None:
            continue
        for attempts, answer in mock_config["MockedResponses"][response].items():
            where = f"{machine}#{case} {state} -> {response}[{attempts}]"
            if "Throw" in answer:
                assert answer["Throw"]["Error"] in allowed[resource], where
                seen.add((resource, "Throw"))
            elif resource.endswith("transactWriteItems"):
                assert answer == {"Return": {}}, where
                seen.add((resource, "Return"))
            else:
                assert answer["Return"]["FailedEntryCount"] == 0, where
                assert [set(e) for e in answer["Return"]["Entries"]] == [{"EventId"}], where
                seen.add((resource, "Return"))
    assert seen == {(r, kind) for r in allowed for kind in ("Throw", "Return")}


def test_mocked_answers_have_the_contract_keys(mock_config, definitions):
    checked = 0
    for machine, case, state, response in mocked(mock_config):
        definition = definitions[WORKFLOW_OF[machine]]
        if state in table_tasks(definition) or state in service_tasks(definition):
            continue
        service, action = lambda_tasks(definitions[WORKFLOW_OF[machine]])[state]
        for attempts, answer in mock_config["MockedResponses"][response].items():
            where = f"{machine}#{case} {state} -> {response}[{attempts}]"
            if "Throw" in answer:
                assert set(answer["Throw"]) == {"Error", "Cause"}, where
                continue
            assert answer["Return"]["StatusCode"] == 200, where
            payload = answer["Return"]["Payload"]
            assert set(payload) == CONTRACT_KEYS[(service, action)], where
            for order in [payload.get("order")] + [r["order"] for r in payload.get("resume", [])]:
                if order is not None:
                    assert set(order) == ORDER_KEYS, where
            for stale in payload.get("orders", []):  # find_stale pages ids only
                assert set(stale) == {"orderId", "customerId", "unchangedSince"}, where
            for claim in [payload.get("claim")] + [r["claim"] for r in payload.get("resume", [])]:
                if claim is not None:
                    assert set(claim) == CLAIM_KEYS, where
            checked += 1
    assert checked > 60


def test_attempt_keys_are_aws_format(mock_config):
    """ "n" or "lo-hi" (AWS Step Functions Local); MiniStack looks them up the same way."""
    for name, response in mock_config["MockedResponses"].items():
        for key in response:
            parts = key.split("-")
            assert len(parts) in (1, 2) and all(p.isdigit() for p in parts), (name, key)
