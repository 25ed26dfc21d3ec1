"""scripts/render.py: placeholders, the finalize fragment, failures, statelint, and static checks of the rendered
definitions. Pure: no local cloud needed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from workflow_harness import (
    CLAIM_KEYS,
    CONTRACT_KEYS,
    EVENT_ACTIONS,
    LAMBDA_INVOKE,
    ORDER_KEYS,
    all_states,
    contracts,
    lambda_tasks,
    table_tasks,
)

from scripts import render, workflow_policies
from scripts.render import (
    PLACEHOLDERS,
    WORKFLOWS,
    InvalidDefinitionError,
    RenderError,
    UnresolvedPlaceholderError,
    render_workflows,
    template_paths,
    template_placeholders,
    validate_definition,
)

REGION, ACCOUNT = "eu-west-1", "123456789012"
FRAGMENT = render.FRAGMENT_DIR / "finalize.asl.json"
AWS_RETRIED = [
    "CircuitOpenError",
    "EventPublishError",
    "InventoryContention",
    "Lambda.AWSLambdaException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.SdkClientException",
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    "NotificationConflict",
    "PaymentGatewayUnavailable",
    "RetryableError",
    "Sandbox.Timedout",
    "States.Timeout",
    "TransientAwsError",
]


def lambda_retry(errors: list[str]) -> list[dict]:
    return [
        {
            "ErrorEquals": errors,
            "IntervalSeconds": 1,
            "MaxAttempts": 7,
            "BackoffRate": 2.0,
            "MaxDelaySeconds": 30,
            "JitterStrategy": "FULL",
        }
    ]


#: local only: MiniStack 1.5.33 reports every handler exception as Runtime.HandlerError (emulator_workarounds)
RETRY = {
    "local": lambda_retry(sorted(AWS_RETRIED + ["Runtime.HandlerError"])),
    "dev": lambda_retry(AWS_RETRIED),
    "prod": lambda_retry(AWS_RETRIED),
}
#: the Retry of a DynamoDB integration task (the Settle), written out
TABLE_RETRY = [
    {
        "ErrorEquals": [
            "DynamoDB.AmazonDynamoDBException",
            "DynamoDB.InternalServerErrorException",
            "DynamoDB.ProvisionedThroughputExceededException",
            "DynamoDB.RequestLimitExceeded",
            "DynamoDB.SdkClientException",
            "DynamoDB.ServiceUnavailableException",
            "DynamoDB.ThrottlingException",
            "States.Timeout",
        ],
        "IntervalSeconds": 1,
        "MaxAttempts": 7,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 30,
        "JitterStrategy": "FULL",
    }
]
#: CompleteOrder's Retry (an AWS SDK integration names DynamoDB's errors DynamoDb.<exception>), written out
TRANSACTION_RETRY = [
    {
        "ErrorEquals": [
            "DynamoDb.AmazonDynamoDBException",
            "DynamoDb.InternalServerErrorException",
            "DynamoDb.ProvisionedThroughputExceededException",
            "DynamoDb.RequestLimitExceeded",
            "DynamoDb.SdkClientException",
            "DynamoDb.ServiceUnavailableException",
            "DynamoDb.ThrottlingException",
            "States.Timeout",
        ],
        "IntervalSeconds": 1,
        "MaxAttempts": 7,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 30,
        "JitterStrategy": "FULL",
    },
    {
        "ErrorEquals": ["DynamoDb.TransactionCanceledException"],
        "IntervalSeconds": 1,
        "MaxAttempts": 2,
        "BackoffRate": 1.0,
        "JitterStrategy": "FULL",
    },
]


def completion_items(env: str) -> list[dict]:
    """CompleteOrder's TransactItems for `env`, written out: the order's INVENTORY_RESERVED -> COMPLETED with the
    owner's condition and claim, then the "Order Completed" outbox entry and the finalize duty; every value that varies
    per order a path of the state or the context object."""
    at, execution = {"S.$": "$$.State.EnteredTime"}, {"S.$": "$$.Execution.Id"}
    order_id, customer_id = {"S.$": "$.order.orderId"}, {"S.$": "$.order.customerId"}
    detail = (
        'States.Format(\'\\{"eventId":"{}","orderId":"{}","customerId":"{}","totalAmount":"{}"\\}\', '
        "$.completedEventId, $.order.orderId, $.order.customerId, $.order.totalAmount)"
    )
    return [
        {
            "Update": {
                "TableName": f"orderflow-{env}-orders",
                "Key": {"orderId": order_id, "customerId": customer_id},
                "UpdateExpression": (
                    "SET #status = :target, statusHistory = list_append(if_not_exists(statusHistory, :empty), "
                    ":history), updatedAt = :now, version = if_not_exists(version, :zero) + :one, #x0 = :x0 "
                    "REMOVE #r0"
                ),
                "ConditionExpression": ("attribute_exists(orderId) AND #status IN (:from0) AND (executionId = :owner)"),
                "ExpressionAttributeNames": {"#status": "status", "#x0": "claim", "#r0": "liveShard"},
                "ExpressionAttributeValues": {
                    ":target": {"S": "COMPLETED"},
                    ":history": {
                        "L": [{"M": {"status": {"S": "COMPLETED"}, "at": at, "reason": {"S": "order completed"}}}]
                    },
                    ":empty": {"L": []},
                    ":now": at,
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                    ":from0": {"S": "INVENTORY_RESERVED"},
                    ":x0": {"M": {"by": execution, "status": {"S": "COMPLETED"}, "at": at}},
                    ":owner": execution,
                },
            }
        },
        {
            "Put": {
                "TableName": f"orderflow-{env}-outbox",
                "Item": {
                    "id": {"S.$": "$.completedEventId"},
                    "kind": {"S": "event"},
                    "orderId": order_id,
                    "customerId": customer_id,
                    "source": {"S": "order.service"},
                    "detailType": {"S": "Order Completed"},
                    "detail": {"S.$": detail},
                    "createdAt": at,
                },
            }
        },
        {
            "Put": {
                "TableName": f"orderflow-{env}-outbox",
                "Item": {
                    "id": {"S.$": "States.Format('{}#finalize', $.order.orderId)"},
                    "kind": {"S": "finalize"},
                    "orderId": order_id,
                    "customerId": customer_id,
                    "status": {"S": "COMPLETED"},
                    "createdAt": at,
                },
            }
        },
    ]


#: PublishCompleted's Retry, written out
EVENTS_RETRY = [
    {
        "ErrorEquals": [
            "EventBridge.AmazonEventBridgeException",
            "EventBridge.FailedEntry",
            "EventBridge.InternalException",
            "EventBridge.SdkClientException",
            "EventBridge.ThrottlingException",
            "States.Timeout",
        ],
        "IntervalSeconds": 1,
        "MaxAttempts": 7,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 30,
        "JitterStrategy": "FULL",
    }
]
#: where the finalize fragment is inlined (qualified state names)
FINALIZE_STATES = {
    "order-processing": ["Finalize"],
    "payment-processing": ["Finalize"],
    "inventory-management": ["ExpireStaleOrders/FinalizeExpired", "ResumeFinalizations/ResumeFinalize"],
}


def rendered(tmp_path: Path, env: str = "local", **kwargs) -> dict[str, dict]:
    paths = render_workflows(env, region=REGION, account_id=ACCOUNT, out_dir=tmp_path / env, **kwargs)
    return {name: json.loads(path.read_text()) for name, path in paths.items()}


def test_renders_every_workflow_with_every_placeholder_resolved(tmp_path):
    paths = render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path)
    assert set(paths) == set(WORKFLOWS)
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orderflow-local-"
    for name, path in paths.items():
        assert path == tmp_path / f"{name}.asl.json"
        text = path.read_text()
        assert "${" not in text
        json.loads(text)
        # every workflow finalizes: all four functions in each (the fragment calls payment, inventory, notification
        # and order)
        assert {f for f in re.findall(re.escape(arn) + r"(\w+)", text)} == {
            "payment",
            "inventory",
            "notification",
            "order",
        }, name


def test_default_output_is_build_env_workflow(tmp_path, monkeypatch):
    import scripts.common  # the default output folder is scripts.common.env_build_dir(env)

    monkeypatch.setattr(scripts.common, "BUILD_DIR", tmp_path / "build")
    paths = render_workflows("dev", region=REGION, account_id=ACCOUNT, project="shop")
    assert paths["order-processing"] == tmp_path / "build" / "dev" / "workflow" / "order-processing.asl.json"
    assert "function:shop-dev-payment" in paths["order-processing"].read_text()


def test_rendering_is_deterministic(tmp_path):
    first = render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "a")
    second = render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "b")
    assert all(first[n].read_bytes() == second[n].read_bytes() for n in first)


def test_templates_and_fragment_use_exactly_the_contract_placeholders():
    assert PLACEHOLDERS == (
        "PaymentFunctionArn",
        "InventoryFunctionArn",
        "NotificationFunctionArn",
        "OrderFunctionArn",
        "LambdaRetry",
        "TableRetry",
        "TransactionRetry",
        "EventsRetry",
        "PaymentParkingBudgetSeconds",
        "OutboxTableName",
        "OutboxKeyName",
        "OutboxKeyType",
        "OrdersTableName",
        "OrdersHashKeyName",
        "OrdersHashKeyType",
        "OrdersRangeKeyName",
        "OrdersRangeKeyType",
        "EventBusName",
        "OwnOrderUpdateExpression",
        "OwnOrderConditionExpression",
        "OwnOrderExecutionValue",
        "FinalizeDutyIdFormat",
        "FinalizeBranch",
        "CompletedEventIdPath",
        "CompleteOrderTransactItems",
        "CompletedClaim",
        "OrderCompletedDetail",
    )
    used = {name: template_placeholders(path.read_text()) for name, path in template_paths().items()}
    fragment = template_placeholders(FRAGMENT.read_text())
    # the Choice states that route by detail-type take it from the event contracts
    assert {name: names - set(PLACEHOLDERS) for name, names in used.items()} == {
        "order-processing": {"OrderCompletedSource", "OrderCompletedDetailType"},
        "payment-processing": {"RefundRequestedDetailType"},
        "inventory-management": {"InventoryRestockedDetailType"},
    }
    assert set().union(fragment, *used.values()) - set(PLACEHOLDERS) == {
        "RefundRequestedDetailType",
        "InventoryRestockedDetailType",
        "OrderCompletedSource",
        "OrderCompletedDetailType",
    }
    assert fragment == {
        "PaymentFunctionArn",
        "InventoryFunctionArn",
        "NotificationFunctionArn",
        "LambdaRetry",
        "TableRetry",
        "OutboxTableName",
        "OutboxKeyName",
        "OutboxKeyType",
        "FinalizeDutyIdFormat",
    }
    assert all("FinalizeBranch" in names for names in used.values())
    assert {name for name, names in used.items() if "PaymentParkingBudgetSeconds" in names} == {"order-processing"}
    owning = {p for p in PLACEHOLDERS if p.startswith(("Orders", "OwnOrder", "Complete", "EventBus", "Transaction"))}
    owning |= {"EventsRetry", "OrderCompletedDetail"}
    assert len(owning) == 15
    assert {name for name, names in used.items() if owning <= names} == {"order-processing"}
    assert all(not owning & names for name, names in used.items() if name != "order-processing")
    assert all("RetryableErrors" not in names for names in used.values())


@pytest.mark.parametrize("env", ["local", "dev", "prod"])
def test_placeholder_values_are_derived_from_names(env):
    values = render.placeholder_values(env, region="us-west-2", account_id="999999999999", project="orderflow")
    fragment = render.render_definition(FRAGMENT.read_text(), values, source=str(FRAGMENT))
    assert values == {
        "PaymentFunctionArn": f"arn:aws:lambda:us-west-2:999999999999:function:orderflow-{env}-payment",
        "InventoryFunctionArn": f"arn:aws:lambda:us-west-2:999999999999:function:orderflow-{env}-inventory",
        "NotificationFunctionArn": f"arn:aws:lambda:us-west-2:999999999999:function:orderflow-{env}-notification",
        "OrderFunctionArn": f"arn:aws:lambda:us-west-2:999999999999:function:orderflow-{env}-order",
        "LambdaRetry": RETRY[env],
        "TableRetry": TABLE_RETRY,
        "TransactionRetry": TRANSACTION_RETRY,
        "EventsRetry": EVENTS_RETRY,
        "PaymentParkingBudgetSeconds": 900,
        "OutboxTableName": f"orderflow-{env}-outbox",
        "OutboxKeyName": "id",
        "OutboxKeyType": "S",
        "OrdersTableName": f"orderflow-{env}-orders",
        "OrdersHashKeyName": "orderId",
        "OrdersHashKeyType": "S",
        "OrdersRangeKeyName": "customerId",
        "OrdersRangeKeyType": "S",
        "EventBusName": f"orderflow-{env}-bus",
        "OwnOrderUpdateExpression": "SET executionId = :execution",
        "OwnOrderConditionExpression": (
            "attribute_exists(orderId) AND (attribute_not_exists(executionId) OR executionId = :execution)"
        ),
        "OwnOrderExecutionValue": ":execution",
        "FinalizeDutyIdFormat": "{}#finalize",
        "FinalizeBranch": fragment,
        "CompletedEventIdPath": "$.Attributes.completedEventId.S",
        "CompleteOrderTransactItems": completion_items(env),
        "CompletedClaim": {"status": "COMPLETED", "notification": "order-completed", "reason": "order completed"},
        "OrderCompletedDetail": {
            "eventId.$": "$.completedEventId",
            "orderId.$": "$.order.orderId",
            "customerId.$": "$.order.customerId",
            "totalAmount.$": "$.order.totalAmount",
        },
        "OrderCreatedDetailType": "Order Created",
        "OrderCancellationRequestedDetailType": "Order Cancellation Requested",
        "OrderCompletedDetailType": "Order Completed",
        "PaymentProcessedDetailType": "Payment Processed",
        "PaymentFailedDetailType": "Payment Failed",
        "PaymentRefundedDetailType": "Payment Refunded",
        "InventoryReservedDetailType": "Inventory Reserved",
        "InventoryUnavailableDetailType": "Inventory Unavailable",
        "InventoryReleasedDetailType": "Inventory Released",
        "InventoryRestockedDetailType": "Inventory Restocked",
        "RefundRequestedDetailType": "Refund Requested",
        "StaleOrderSweepRequestedDetailType": "Stale Order Sweep Requested",
        "OrderCreatedSource": "order.service",
        "OrderCancellationRequestedSource": "order.service",
        "OrderCompletedSource": "order.service",
        "PaymentProcessedSource": "payment.service",
        "PaymentFailedSource": "payment.service",
        "PaymentRefundedSource": "payment.service",
        "InventoryReservedSource": "inventory.service",
        "InventoryUnavailableSource": "inventory.service",
        "InventoryReleasedSource": "inventory.service",
        "InventoryRestockedSource": "inventory.admin",
        "RefundRequestedSource": "orderflow.operator",
        "StaleOrderSweepRequestedSource": "orderflow.scheduler",
    }
    assert fragment["StartAt"] == "NeedsCompensation"
    assert "${" not in json.dumps(fragment)


@pytest.mark.parametrize("env", ["local", "dev", "prod"])
def test_the_fragment_is_inlined_identically_everywhere(tmp_path, env):
    definitions = rendered(tmp_path, env)
    branch = render.placeholder_values(env, region=REGION, account_id=ACCOUNT)["FinalizeBranch"]
    parallels = {
        workflow: [name for name, state, _ in all_states(definition) if state["Type"] == "Parallel"]
        for workflow, definition in definitions.items()
    }
    assert parallels == FINALIZE_STATES
    for workflow, names in FINALIZE_STATES.items():
        states = {name: state for name, state, _ in all_states(definitions[workflow])}
        for name in names:
            assert states[name]["Branches"] == [branch], f"{workflow}/{name}"
            assert states[name]["Parameters"].keys() == {"order.$", "claim.$"}
            assert states[name]["Catch"][0]["ErrorEquals"] == ["States.ALL"]


@pytest.mark.parametrize("env", ["local", "dev", "prod"])
def test_every_task_is_a_lambda_invoke_with_lambda_retry(tmp_path, env):
    """Every task is a Lambda invoke with the Lambda retry, but for the service integrations of order-processing and
    the finalize fragment's Settle, each with its own retry: OwnOrder (updateItem of the order's owner), CompleteOrder
    (the completion's TransactWriteItems), PublishCompleted (putEvents of "Order Completed"), ForgetCompletedEvent
    and Settle (deleteItem of an outbox entry)."""
    integrations_written_out = {
        "OwnOrder": ("arn:aws:states:::dynamodb:updateItem", TABLE_RETRY),
        "CompleteOrder": ("arn:aws:states:::aws-sdk:dynamodb:transactWriteItems", TRANSACTION_RETRY),
        "PublishCompleted": ("arn:aws:states:::events:putEvents", EVENTS_RETRY),
        "ForgetCompletedEvent": ("arn:aws:states:::dynamodb:deleteItem", TABLE_RETRY),
        "Settle": ("arn:aws:states:::dynamodb:deleteItem", TABLE_RETRY),
    }
    for workflow, definition in rendered(tmp_path, env).items():
        tasks = [(name, state) for name, state, _ in all_states(definition) if state["Type"] == "Task"]
        assert tasks, workflow
        for name, state in tasks:
            resource, retry = integrations_written_out.get(name.rsplit("/", 1)[-1], (LAMBDA_INVOKE, RETRY[env]))
            assert state["Resource"] == resource, name
            assert state["Retry"] == retry, f"{workflow}/{name}"
            assert state["TimeoutSeconds"] == 60, f"{workflow}/{name}"
        text = json.dumps(definition)
        owns = 1 if workflow == "order-processing" else 0  # OwnOrder, CompleteOrder, PublishCompleted, Forget...
        assert text.count(":::dynamodb:deleteItem") == len(FINALIZE_STATES[workflow]) + owns
        assert text.count(":::dynamodb:updateItem") == owns
        assert text.count(":::dynamodb:") == len(FINALIZE_STATES[workflow]) + 2 * owns
        assert text.count(":::events:putEvents") == owns and text.count(":::events:") == owns
        assert text.count("aws-sdk:dynamodb:transactWriteItems") == owns and text.count("aws-sdk:") == owns


@pytest.mark.parametrize("env", ["local", "dev", "prod"])
def test_every_rendered_definition_passes_statelint(tmp_path, env):
    paths = render_workflows(env, region=REGION, account_id=ACCOUNT, out_dir=tmp_path, validate=False)
    for path in paths.values():
        assert validate_definition(path) == [], path.name
    fragment = render.placeholder_values(env, region=REGION, account_id=ACCOUNT)["FinalizeBranch"]
    assert validate_definition(fragment) == []  # the fragment alone is a valid state machine too


def write_template(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.asl.json"
    path.write_text(text)
    return path


GOOD = (
    '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", '
    '"Parameters": {"FunctionName": "${PaymentFunctionArn}"}, "Retry": "${LambdaRetry}", "End": true}}}'
)


def test_unresolved_placeholders_are_all_named(tmp_path):
    templates = tmp_path / "templates"
    write_template(templates, "good", GOOD)
    bad = write_template(templates, "bad", GOOD.replace("${PaymentFunctionArn}", "${NoSuchArn}-${AlsoMissing}"))
    with pytest.raises(UnresolvedPlaceholderError) as caught:
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)
    assert caught.value.placeholders == ["AlsoMissing", "NoSuchArn"]
    assert "${NoSuchArn}" in str(caught.value) and "${AlsoMissing}" in str(caught.value)
    assert str(bad) in str(caught.value)
    assert not (tmp_path / "out").exists()  # nothing written when one template fails


@pytest.mark.parametrize("gone", ["RetryableErrors"])
def test_the_old_placeholders_are_unresolved(tmp_path, gone):
    templates = tmp_path / "templates"
    write_template(templates, "old", GOOD.replace('"${LambdaRetry}"', f'"${{{gone}}}"'))
    with pytest.raises(UnresolvedPlaceholderError) as caught:
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)
    assert caught.value.placeholders == [gone]


def test_an_unresolved_placeholder_in_the_fragment_names_the_fragment(tmp_path, monkeypatch):
    fragments = tmp_path / "fragments"
    fragment = write_template(fragments, "finalize", GOOD.replace("${PaymentFunctionArn}", "${PaymentsTableName}"))
    monkeypatch.setattr(render, "FRAGMENT_DIR", fragments)
    with pytest.raises(UnresolvedPlaceholderError) as caught:
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out")
    assert caught.value.placeholders == ["PaymentsTableName"]
    assert caught.value.source == str(fragment)
    assert not (tmp_path / "out").exists()


def test_malformed_placeholder_is_unresolved(tmp_path):
    templates = tmp_path / "templates"
    write_template(templates, "bad", GOOD.replace("${PaymentFunctionArn}", "${Payment Function}"))
    with pytest.raises(UnresolvedPlaceholderError, match=r"\$\{Payment Function\}"):
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)


def test_invalid_json_names_file_and_line(tmp_path):
    templates = tmp_path / "templates"
    path = write_template(templates, "broken", '{\n  "StartAt": "A",\n  "States": {,}\n}\n')
    with pytest.raises(InvalidDefinitionError) as caught:
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3:")


def test_list_placeholder_inside_a_string_is_invalid_json(tmp_path):
    templates = tmp_path / "templates"
    write_template(templates, "bad", GOOD.replace('"${LambdaRetry}"', '"x-${LambdaRetry}"'))
    with pytest.raises(InvalidDefinitionError, match="invalid JSON"):
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)


def test_statelint_problems_fail_the_render(tmp_path):
    templates = tmp_path / "templates"
    write_template(templates, "dangling", GOOD.replace('"End": true', '"Next": "Nowhere"'))
    with pytest.raises(InvalidDefinitionError, match="Nowhere") as caught:
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)
    assert caught.value.problems
    assert isinstance(caught.value, RenderError)


# ---- static checks of the rendered definitions ---------------------------------------------------------------


@pytest.fixture(scope="module")
def definitions(tmp_path_factory) -> dict[str, dict]:
    return rendered(tmp_path_factory.mktemp("static"), "dev")


def test_no_result_replaces_the_state(definitions):
    """The seed's bug: a task without ResultPath replaced the whole state (and $.order with it)."""
    for workflow, definition in definitions.items():
        for name, state, _ in all_states(definition):
            if state["Type"] in ("Task", "Parallel", "Map"):
                assert "ResultPath" in state and state["ResultPath"] != "$", f"{workflow}/{name}"
            for catcher in state.get("Catch", []):
                assert catcher.get("ResultPath", "$") != "$", f"{workflow}/{name} catch"


def test_result_selectors_read_only_contract_keys(definitions):
    """A ResultSelector reading a key the service does not answer fails the execution on AWS (States.Runtime)."""
    for workflow, definition in definitions.items():
        tasks = lambda_tasks(definition)
        for qualified, state, _ in all_states(definition):
            if state["Type"] != "Task":
                continue
            name = qualified.rsplit("/", 1)[-1]
            if name == "OwnOrder":  # UpdateItem's ALL_NEW answer: the one attribute the saga needs
                assert state["ResultSelector"] == {"completedEventId.$": "$.Attributes.completedEventId.S"}
                assert state["ResultPath"] == "$.owned", f"{workflow}/{qualified}"
                continue
            if name == "CompleteOrder":  # TransactWriteItems answers nothing it reads: the claim is written out
                assert state["ResultSelector"] == {
                    "status": "COMPLETED",
                    "notification": "order-completed",
                    "reason": "order completed",
                }
                assert state["ResultPath"] == "$.claim"
                continue
            if name in ("PublishCompleted", "ForgetCompletedEvent"):  # nothing read, nothing kept
                assert "ResultSelector" not in state and state["ResultPath"] is None, f"{workflow}/{qualified}"
                continue
            if name in table_tasks(definition):  # DeleteItem answers nothing it reads
                assert state["ResultSelector"] == {"status": "SETTLED"}, f"{workflow}/{qualified}"
                continue
            read = set()
            for key, path in state["ResultSelector"].items():
                assert key.endswith(".$") and path.startswith("$.Payload."), f"{workflow}/{qualified}: {key}"
                read.add(path.removeprefix("$.Payload."))
            contract = CONTRACT_KEYS[tasks[qualified.rsplit("/", 1)[-1]]]
            assert read <= contract, f"{workflow}/{qualified} reads {sorted(read - contract)}"


def test_every_task_is_caught_by_itself_or_its_parallel(definitions):
    """No fault escapes: a task catches it, or the Parallel around a finalize branch does."""
    for workflow, definition in definitions.items():
        for name, state, parents in all_states(definition):
            if state["Type"] != "Task":
                continue
            catchers = state.get("Catch", []) + [c for p in parents if p["Type"] == "Parallel" for c in p["Catch"]]
            assert any(c["ErrorEquals"] == ["States.ALL"] for c in catchers), f"{workflow}/{name}"


def test_the_actions_the_workflows_call(definitions):
    assert {w: sorted(set(lambda_tasks(d).values())) for w, d in definitions.items()} == {
        "order-processing": [
            ("inventory", "release"),
            ("inventory", "reserve"),
            ("notification", "notify"),
            ("order", "claim"),
            ("payment", "charge"),
            ("payment", "refund"),
        ],
        "payment-processing": [
            ("inventory", "release"),
            ("notification", "notify"),
            ("order", "claim"),
            ("payment", "refund"),
        ],
        "inventory-management": [
            ("inventory", "release"),
            ("inventory", "restock"),
            ("notification", "notify"),
            ("order", "claim"),
            ("order", "find_stale"),
            ("payment", "refund"),
        ],
    }


def test_order_processing_shape(definitions):
    states = definitions["order-processing"]["States"]
    assert definitions["order-processing"]["StartAt"] == "OwnOrder"
    assert states["OwnOrder"]["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    assert states["OwnOrder"]["Parameters"] == {
        "TableName": "orderflow-dev-orders",
        "Key": {"orderId": {"S.$": "$.detail.orderId"}, "customerId": {"S.$": "$.detail.customerId"}},
        "UpdateExpression": "SET executionId = :execution",
        "ConditionExpression": (
            "attribute_exists(orderId) AND (attribute_not_exists(executionId) OR executionId = :execution)"
        ),
        "ExpressionAttributeValues": {":execution": {"S.$": "$$.Execution.Id"}},
        "ReturnValues": "ALL_NEW",
    }
    assert states["UseEventOrder"]["Parameters"] == {
        "order": {
            "orderId.$": "$.detail.orderId",
            "customerId.$": "$.detail.customerId",
            "items.$": "$.detail.items",
            "totalAmount.$": "$.detail.totalAmount",
        },
        "parking": {"waitedSeconds": 0, "parks": 0},
        "completedEventId.$": "$.owned.completedEventId",
    }
    assert states["CheckInventoryStatus"]["Choices"][0]["Next"] == "CompleteOrder"
    assert states["CompleteOrder"]["Parameters"] == {"TransactItems": completion_items("dev")}
    assert (states["CompleteOrder"]["Next"], states["CompleteOrder"]["Catch"]) == (
        "PublishCompleted",
        [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "ClaimFailed"}],
    )
    assert states["PublishCompleted"]["Parameters"] == {
        "Entries": [
            {
                "Source": "order.service",
                "DetailType": "Order Completed",
                "Detail": {
                    "eventId.$": "$.completedEventId",
                    "orderId.$": "$.order.orderId",
                    "customerId.$": "$.order.customerId",
                    "totalAmount.$": "$.order.totalAmount",
                },
                "EventBusName": "orderflow-dev-bus",
            }
        ]
    }
    # a put or a delete that still fails leaves the event in the outbox for the sweep: finalizing goes on
    assert (states["PublishCompleted"]["Next"], states["PublishCompleted"]["Catch"]) == (
        "ForgetCompletedEvent",
        [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.publishError", "Next": "Finalize"}],
    )
    assert states["ForgetCompletedEvent"]["Parameters"] == {
        "TableName": "orderflow-dev-outbox",
        "Key": {"id": {"S.$": "$.completedEventId"}},
    }
    assert (states["ForgetCompletedEvent"]["Next"], states["ForgetCompletedEvent"]["Catch"]) == (
        "Finalize",
        [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.forgetError", "Next": "Finalize"}],
    )
    assert states["ProcessPayment"]["Parameters"]["Payload"] == {
        "action": "charge",
        "order.$": "$.order",
        "attempt.$": "States.MathAdd($.parking.parks, $$.State.RetryCount)",
    }
    assert [(c["StringEquals"], c["Next"]) for c in states["CheckPaymentStatus"]["Choices"]] == [
        ("PAID", "ReserveInventory"),
        ("DECLINED", "UseDeclineClaim"),
        ("RETRY_LATER", "CountParking"),
        ("NOT_PAYABLE", "ClaimedByAnother"),
    ]
    assert states["WithinParkingBudget"]["Choices"] == [
        {"Variable": "$.parking.waitedSeconds", "NumericGreaterThan": 900, "Next": "ParkingBudgetSpent"}
    ]
    assert states["WaitForGateway"]["SecondsPath"] == "$.payment.retryAfterSeconds"
    for name, target in (("ClaimCancelled", "CANCELLED"), ("ClaimFailed", "FAILED")):
        payload = states[name]["Parameters"]["Payload"]
        assert (payload["action"], payload["target"], payload["by.$"]) == ("claim", target, "$$.Execution.Id")
    assert (
        states["ClaimFailed"]["Parameters"]["Payload"]["reason.$"]
        == "States.Format('technical failure: {}', $.error.Error)"
    )
    assert states["ClaimFailed"]["Catch"][0]["Next"] == "ClaimUnreachable"
    assert {n: states[n]["Error"] for n in states if states[n]["Type"] == "Fail"} == {
        "OwnershipUnknown": "OrderOwnershipFailed",
        "ClaimUnreachable": "OrderClaimFailed",
        "FinalizeIncomplete": "OrderFinalizationIncomplete",
        "OrderFailed": "OrderProcessingFailed",
    }


def test_request_tokens(definitions):
    """A redelivered request confirms its own claim: the token comes from the request, not the execution."""
    payment = definitions["payment-processing"]["States"]
    assert payment["ClaimForRefund"]["Parameters"]["Payload"]["by.$"] == "States.Format('refund:{}', $.id)"
    assert payment["ClaimForRefund"]["Parameters"]["Payload"]["request"] == "refund"
    assert (
        payment["ClaimForCancellation"]["Parameters"]["Payload"]["by.$"]
        == "States.Format('cancel:{}', $.detail.orderId)"
    )
    sweep = definitions["inventory-management"]["States"]["ExpireStaleOrders"]
    claim = sweep["ItemProcessor"]["States"]["ClaimExpired"]["Parameters"]["Payload"]
    assert (claim["by.$"], claim["unchangedSince.$"]) == (
        "States.Format('sweep:{}', $.order.orderId)",
        "$.unchangedSince",
    )
    assert sweep["MaxConcurrency"] == 5


# ---- declared integrations (workflow/integrations.json) -------------------------------------------------------------


def test_the_declaration_is_what_the_workflows_invoke(definitions):
    """Read independently of the renderer's check: the services of every lambda:invoke task, nested ones included."""
    used = {workflow: {service for service, _ in lambda_tasks(d).values()} for workflow, d in definitions.items()}
    assert render.declared_integrations() == {workflow: frozenset(services) for workflow, services in used.items()}
    everything = ["inventory", "notification", "order", "payment"]
    assert json.loads(render.INTEGRATIONS_PATH.read_text())["workflows"] == {
        "order-processing": {
            "invokes": everything,
            "tables": {"orders": ["UpdateItem"], "outbox": ["DeleteItem", "PutItem"]},
            "events": ["OrderCompleted"],
        },
        "payment-processing": {"invokes": everything, "tables": {"outbox": ["DeleteItem"]}},
        "inventory-management": {"invokes": everything, "tables": {"outbox": ["DeleteItem"]}},
    }


def test_the_table_declaration_is_what_the_workflows_do(definitions):
    """Every workflow settles through the finalize fragment (one deleteItem on the outbox table); order-processing
    also owns the order (one updateItem on the orders table), completes it (a transaction: UpdateItem on the orders
    table, two PutItem on the outbox) and forgets the put event (deleteItem on the outbox); each declared as such."""
    settle = ("Settle", ("orderflow-dev-outbox", "deleteItem"))
    assert {w: set(table_tasks(d).items()) for w, d in definitions.items()} == {
        "order-processing": {
            ("OwnOrder", ("orderflow-dev-orders", "updateItem")),
            ("ForgetCompletedEvent", ("orderflow-dev-outbox", "deleteItem")),
            settle,
        },
        "payment-processing": {settle},
        "inventory-management": {settle},
    }
    items = definitions["order-processing"]["States"]["CompleteOrder"]["Parameters"]["TransactItems"]
    assert [(kind, item["TableName"]) for entry in items for kind, item in entry.items()] == [
        ("Update", "orderflow-dev-orders"),
        ("Put", "orderflow-dev-outbox"),
        ("Put", "orderflow-dev-outbox"),
    ]
    assert render.declared_table_actions() == {
        "order-processing": frozenset({("orders", "UpdateItem"), ("outbox", "DeleteItem"), ("outbox", "PutItem")}),
        "payment-processing": frozenset({("outbox", "DeleteItem")}),
        "inventory-management": frozenset({("outbox", "DeleteItem")}),
    }


SETTLE = (
    '{"StartAt": "S", "States": {"S": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem", '
    '"Parameters": {"TableName": "${OutboxTableName}", "Key": {"${OutboxKeyName}": {"${OutboxKeyType}.$": '
    '"States.Format(\'${FinalizeDutyIdFormat}\', $.orderId)"}}}, "Retry": "${TableRetry}", "End": true}}}'
)


def test_a_declared_table_action_renders_with_the_outbox_key_from_its_owner(tmp_path):
    directory = tmp_path / "templates"
    write_template(directory, "settle", SETTLE)
    paths = render_workflows(
        "local",
        region=REGION,
        account_id=ACCOUNT,
        out_dir=tmp_path / "out",
        template_dir=directory,
        integrations={"settle": frozenset()},
        table_integrations={"settle": frozenset({("outbox", "DeleteItem")})},
    )
    state = json.loads(paths["settle"].read_text())["States"]["S"]
    assert state["Parameters"] == {
        "TableName": "orderflow-local-outbox",
        "Key": {"id": {"S.$": "States.Format('{}#finalize', $.orderId)"}},
    }
    assert state["Retry"][0]["ErrorEquals"][:2] == [
        "DynamoDB.AmazonDynamoDBException",
        "DynamoDB.InternalServerErrorException",
    ]


@pytest.mark.parametrize(
    ("declared", "problem"),
    [
        (
            set(),
            (
                "does DeleteItem on outbox, which integrations.json does not declare for settle (its tables): declare it, "
                "or its role cannot do it."
            ),
        ),
        (
            {("outbox", "DeleteItem"), ("orders", "GetItem")},
            (
                "integrations.json declares that settle does GetItem on orders, which its definition never does: remove "
                "it, or its role may do more than it uses."
            ),
        ),
    ],
    ids=["undeclared", "unused"],
)
def test_a_table_action_and_its_declaration_must_agree(tmp_path, declared, problem):
    directory = tmp_path / "templates"
    write_template(directory, "settle", SETTLE)
    with pytest.raises(render.UndeclaredIntegrationError) as caught:
        render_workflows(
            "local",
            region=REGION,
            account_id=ACCOUNT,
            out_dir=tmp_path / "out",
            template_dir=directory,
            integrations={"settle": frozenset()},
            table_integrations={"settle": frozenset(declared)},
        )
    assert problem in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_the_table_declaration_names_only_contract_tables_and_integrations(tmp_path):
    path = tmp_path / "integrations.json"
    path.write_text(
        json.dumps({"workflows": {"w": {"invokes": [], "tables": {"ledger": ["DeleteItem"], "outbox": ["Scan"]}}}})
    )
    with pytest.raises(render.UndeclaredIntegrationError) as caught:
        render.declared_table_actions(path)
    assert str(caught.value) == (
        f"{path} declares that w uses table ledger, which is not a table of the contract. "
        f"{path} declares that w does Scan on outbox, which is no DynamoDB integration a workflow may use "
        "(known: GetItem, PutItem, UpdateItem, DeleteItem, ConditionCheckItem)."
    )


# The completion as one transaction and one put (what order-processing's CompleteOrder becomes): the order's update and
# two outbox entries in a transactWriteItems, the Order Completed event put on the stack's bus, the outbox entry deleted.
COMPLETE_TRANSACTION = {
    "Type": "Task",
    "Resource": "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems",
    "Parameters": {
        "TransactItems": [
            {
                "Update": {
                    "TableName": "${OrdersTableName}",
                    "Key": {"${OrdersHashKeyName}": {"${OrdersHashKeyType}.$": "$.orderId"}},
                    "UpdateExpression": "SET #s = :s",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":s": {"S": "COMPLETED"}},
                }
            },
            {"Put": {"TableName": "${OutboxTableName}", "Item": {"${OutboxKeyName}": {"S.$": "$.eventId"}}}},
            {"Put": {"TableName": "${OutboxTableName}", "Item": {"${OutboxKeyName}": {"S.$": "$.dutyId"}}}},
        ]
    },
    "ResultPath": None,
    "Next": "Publish",
}
COMPLETED_ENTRY = {
    "Source": "${OrderCompletedSource}",
    "DetailType": "${OrderCompletedDetailType}",
    "Detail.$": "$.completedEvent",
    "EventBusName": "${EventBusName}",
}


def complete_template(entry: dict | None = None, transaction: dict | None = None) -> str:
    publish = {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {"Entries": [COMPLETED_ENTRY if entry is None else entry]},
        "ResultPath": None,
        "Next": "Forget",
    }
    forget = {
        "Type": "Task",
        "Resource": "arn:aws:states:::dynamodb:deleteItem",
        "Parameters": {"TableName": "${OutboxTableName}", "Key": {"${OutboxKeyName}": {"S.$": "$.eventId"}}},
        "End": True,
    }
    states = {"Complete": transaction or COMPLETE_TRANSACTION, "Publish": publish, "Forget": forget}
    return json.dumps({"StartAt": "Complete", "States": states})


COMPLETE_TABLES = frozenset({("orders", "UpdateItem"), ("outbox", "PutItem"), ("outbox", "DeleteItem")})


def render_complete(tmp_path: Path, text: str, *, tables=COMPLETE_TABLES, events=frozenset({"OrderCompleted"})):
    directory = tmp_path / "templates"
    write_template(directory, "complete", text)
    return render_workflows(
        "local",
        region=REGION,
        account_id=ACCOUNT,
        out_dir=tmp_path / "out",
        template_dir=directory,
        integrations={"complete": frozenset()},
        table_integrations={"complete": frozenset(tables)},
        event_integrations={"complete": frozenset(events)},
    )


def refused_complete(tmp_path: Path, text: str, **declared) -> str:
    with pytest.raises(render.UndeclaredIntegrationError) as caught:
        render_complete(tmp_path, text, **declared)
    assert not (tmp_path / "out").exists()
    return str(caught.value)


def test_a_transaction_and_a_put_render_when_declared(tmp_path):
    """Each transaction item counts as its IAM action on its table; the put's entry as its event contract; the
    rendered names are the stack's (statelint accepts both integrations)."""
    path = render_complete(tmp_path, complete_template())["complete"]
    states = json.loads(path.read_text())["States"]
    items = states["Complete"]["Parameters"]["TransactItems"]
    assert [(kind, body["TableName"]) for item in items for kind, body in item.items()] == [
        ("Update", "orderflow-local-orders"),
        ("Put", "orderflow-local-outbox"),
        ("Put", "orderflow-local-outbox"),
    ]
    assert states["Publish"]["Parameters"]["Entries"] == [
        {
            "Source": "order.service",
            "DetailType": "Order Completed",
            "Detail.$": "$.completedEvent",
            "EventBusName": "orderflow-local-bus",
        }
    ]
    values = render.placeholder_values("local", region=REGION, account_id=ACCOUNT)
    definition = json.loads(path.read_text())
    assert render.used_integrations(
        definition,
        {},
        {"orderflow-local-orders": "orders", "orderflow-local-outbox": "outbox"},
        bus=values["EventBusName"],
    ) == (set(), set(COMPLETE_TABLES), {"OrderCompleted"})


def test_an_undeclared_event_is_refused(tmp_path):
    message = refused_complete(tmp_path, complete_template(), events=frozenset())
    assert message == (
        f"{tmp_path / 'templates' / 'complete.asl.json'} puts OrderCompleted, which integrations.json does not "
        "declare for complete (its events): declare it, or its role cannot put it."
    )


def test_a_declared_event_that_is_never_put_is_refused(tmp_path):
    message = refused_complete(tmp_path, complete_template(), events=frozenset({"OrderCompleted", "OrderCreated"}))
    assert message == (
        "integrations.json declares that complete puts OrderCreated, which its definition never does: remove it, "
        "or its role may put more than it uses."
    )


def test_an_undeclared_transaction_item_is_refused(tmp_path):
    message = refused_complete(tmp_path, complete_template(), tables=COMPLETE_TABLES - {("outbox", "PutItem")})
    assert message == (
        f"{tmp_path / 'templates' / 'complete.asl.json'} does PutItem on outbox, which integrations.json does not "
        "declare for complete (its tables): declare it, or its role cannot do it."
    )


def test_a_condition_check_item_counts_as_condition_check_item(tmp_path):
    check = {"ConditionCheck": {"TableName": "${OrdersTableName}", "Key": {}, "ConditionExpression": "x"}}
    transaction = json.loads(json.dumps(COMPLETE_TRANSACTION))
    transaction["Parameters"]["TransactItems"].append(check)
    render_complete(
        tmp_path,
        complete_template(transaction=transaction),
        tables=COMPLETE_TABLES | {("orders", "ConditionCheckItem")},
    )
    assert "does ConditionCheckItem on orders, which integrations.json does not declare" in refused_complete(
        tmp_path / "again", complete_template(transaction=transaction)
    )


def test_the_declaration_names_only_contract_events(tmp_path):
    path = tmp_path / "integrations.json"
    path.write_text(json.dumps({"workflows": {"w": {"invokes": [], "events": ["OrderCompleted", "OrderShipped"]}}}))
    with pytest.raises(render.UndeclaredIntegrationError) as caught:
        render.declared_events(path)
    assert str(caught.value) == (
        f"{path} declares that w puts OrderShipped, which is not an event contract (services/shared/schemas/events)."
    )
    path.write_text(
        json.dumps({"workflows": {"w": {"invokes": [], "events": ["OrderCompleted"]}, "v": {"invokes": []}}})
    )
    assert render.declared_events(path) == {"w": frozenset({"OrderCompleted"}), "v": frozenset()}


def test_the_event_declaration_is_what_the_workflows_put(definitions):
    """Read independently of the renderer's check: the contract of every entry of every events:putEvents task."""
    contracts = render.event_contracts()
    put = {
        workflow: {
            contracts.for_event(entry["Source"], entry["DetailType"]).name
            for _, state, _ in all_states(definition)
            if state.get("Resource") == "arn:aws:states:::events:putEvents"
            for entry in state["Parameters"]["Entries"]
        }
        for workflow, definition in definitions.items()
    }
    assert render.declared_events() == {workflow: frozenset(names) for workflow, names in put.items()}


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {**COMPLETED_ENTRY, "EventBusName": "default"},
            (
                "puts on default, which is not this stack's bus (orderflow-local-bus): write the ${EventBusName} "
                "placeholder."
            ),
        ),
        (
            {key: value for key, value in COMPLETED_ENTRY.items() if key != "EventBusName"},
            (
                "puts on the default bus, which is not this stack's bus (orderflow-local-bus): write the ${EventBusName} "
                "placeholder."
            ),
        ),
        (
            {**COMPLETED_ENTRY, "EventBusName": "orderflow-prod-bus"},
            "puts on orderflow-prod-bus, which is not this stack's bus (orderflow-local-bus)",
        ),
        (
            {**{k: v for k, v in COMPLETED_ENTRY.items() if k != "Source"}, "Source.$": "$.source"},
            (
                "chooses Source.$ at run time, so no role's events:source / events:detail-type condition can be checked "
                "against it: write the contract's ${<Event>Source}, ${<Event>DetailType} and ${EventBusName} placeholders."
            ),
        ),
        (
            {**{k: v for k, v in COMPLETED_ENTRY.items() if k != "DetailType"}, "DetailType.$": "$.type"},
            "chooses DetailType.$ at run time",
        ),
        (
            {**{k: v for k, v in COMPLETED_ENTRY.items() if k != "EventBusName"}, "EventBusName.$": "$.bus"},
            "chooses EventBusName.$ at run time",
        ),
        (
            {**COMPLETED_ENTRY, "Source": "payment.service"},
            (
                "puts source 'payment.service' / detail-type 'Order Completed', which is no event contract "
                "(services/shared/schemas/events)."
            ),
        ),
    ],
    ids=["default-bus", "no-bus", "another-stacks-bus", "source-path", "detail-type-path", "bus-path", "no-contract"],
)
def test_a_put_no_role_can_be_granted_is_refused(tmp_path, entry, problem):
    """A put's grant is checkable only when each entry names a contract's source and detail-type literally and the
    stack's bus."""
    message = refused_complete(tmp_path, complete_template(entry))
    assert message.startswith(f"{tmp_path / 'templates' / 'complete.asl.json'}: task Publish (Entries[0]) {problem}")


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        (None, "task Complete does not list its TransactItems literally"),
        (
            [{"Put": {"TableName.$": "$.table", "Item": {}}}],
            "task Complete (TransactItems[0]) chooses its table at run time (TableName.$)",
        ),
        (
            [{"Put": {"TableName": "orderflow-prod-outbox", "Item": {}}}],
            (
                "task Complete (TransactItems[0]) uses table orderflow-prod-outbox, which is not one of this stack's "
                "table names."
            ),
        ),
        (
            [{"Get": {"TableName": "${OutboxTableName}", "Key": {}}}],
            (
                'task Complete has TransactItems[0] {"Get": {"TableName": "orderflow-local-outbox", "Key": {}}}, which '
                "is not one Put or Update or Delete or ConditionCheck item."
            ),
        ),
    ],
    ids=["items-path", "table-path", "foreign-table", "not-a-write"],
)
def test_a_transaction_no_role_can_be_granted_is_refused(tmp_path, items, problem):
    transaction = {
        **COMPLETE_TRANSACTION,
        "Parameters": {"TransactItems.$": "$.items"} if items is None else {"TransactItems": items},
    }
    message = refused_complete(tmp_path, complete_template(transaction=transaction))
    assert message.startswith(f"{tmp_path / 'templates' / 'complete.asl.json'}: {problem}")


def render_declared(tmp_path: Path, templates: dict[str, str], integrations: dict[str, set[str]]) -> dict[str, Path]:
    directory = tmp_path / "templates"
    for name, text in templates.items():
        write_template(directory, name, text)
    return render_workflows(
        "local",
        region=REGION,
        account_id=ACCOUNT,
        out_dir=tmp_path / "out",
        template_dir=directory,
        integrations={k: frozenset(v) for k, v in integrations.items()},
    )


def refused(tmp_path: Path, templates: dict[str, str], integrations: dict[str, set[str]]) -> str:
    with pytest.raises(render.UndeclaredIntegrationError) as caught:
        render_declared(tmp_path, templates, integrations)
    assert isinstance(caught.value, RenderError)
    assert not (tmp_path / "out").exists()  # nothing written when a definition and its declaration disagree
    return str(caught.value)


def test_a_declared_invocation_renders(tmp_path):
    paths = render_declared(tmp_path, {"good": GOOD}, {"good": {"payment"}})
    assert "function:orderflow-local-payment" in paths["good"].read_text()


def test_an_undeclared_function_is_refused(tmp_path):
    message = refused(tmp_path, {"good": GOOD}, {"good": {"order"}})
    assert (
        f"{tmp_path / 'templates' / 'good.asl.json'} invokes payment, which integrations.json does not declare "
        "for good: declare it, or its role cannot invoke it." in message
    )
    assert (
        "integrations.json declares that good invokes order, which its definition never does: remove it, or its "
        "role may invoke more than it uses." in message
    )


def test_a_declared_function_that_is_never_invoked_is_refused(tmp_path):
    message = refused(tmp_path, {"good": GOOD}, {"good": {"payment", "notification"}})
    assert message == (
        "integrations.json declares that good invokes notification, which its definition never does: "
        "remove it, or its role may invoke more than it uses."
    )


def test_a_workflow_without_a_declaration_is_refused(tmp_path):
    assert (
        refused(tmp_path, {"good": GOOD}, {})
        == "integrations.json declares nothing for good: declare the services it invokes (payment)."
    )


def test_a_declared_workflow_without_a_template_is_refused(tmp_path):
    assert (
        refused(tmp_path, {"good": GOOD}, {"good": {"payment"}, "gone": {"order"}})
        == "integrations.json declares gone, which has no template."
    )


def test_an_invocation_inside_a_parallel_branch_counts(tmp_path):
    nested = (
        '{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": ['
        + GOOD.replace('"${PaymentFunctionArn}"', '"${InventoryFunctionArn}"')
        + "]}}}"
    )
    assert (
        "function:orderflow-local-inventory"
        in render_declared(tmp_path, {"nested": nested}, {"nested": {"inventory"}})["nested"].read_text()
    )
    assert "invokes inventory, which integrations.json does not declare" in refused(
        tmp_path / "again", {"nested": nested}, {"nested": {"payment"}}
    )


def test_a_function_arn_as_resource_and_a_qualified_function_name_are_invocations(tmp_path):
    direct = (
        '{"StartAt": "Notify", "States": {'
        '"Notify": {"Type": "Task", "Resource": "${NotificationFunctionArn}", "Next": "Order"}, '
        '"Order": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", '
        '"Parameters": {"FunctionName": "${OrderFunctionArn}:$LATEST", "Payload.$": "$"}, "End": true}}}'
    )
    render_declared(tmp_path, {"direct": direct}, {"direct": {"notification", "order"}})
    assert "invokes notification, order, which integrations.json does not declare for direct" in refused(
        tmp_path / "again", {"direct": direct}, {"direct": set()}
    )


FOREIGN_FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:orderflow-local-shipping"
FOREIGN_ACCOUNT = "arn:aws:lambda:eu-west-1:999999999999:function:orderflow-local-payment"
NOT_THE_STACKS = "which is not one of this stack's function ARNs."


@pytest.mark.parametrize(
    ("task", "problem"),
    [
        (
            '"Resource": "arn:aws:states:::dynamodb:putItem", "Parameters": {"TableName": "orders", "Item": {}}',
            "task A uses table orders, which is not one of this stack's table names.",
        ),
        (
            '"Resource": "arn:aws:states:::dynamodb:deleteItem", "Parameters": {"TableName.$": "$.t", "Key": {}}',
            (
                "task A chooses its table at run time (TableName.$), so no role can name it: write the table's name "
                "placeholder."
            ),
        ),
        (
            '"Resource": "arn:aws:states:::dynamodb:scan", "Parameters": {"TableName": "orderflow-local-outbox"}',
            (
                "task A uses the integration arn:aws:states:::dynamodb:scan, which no workflow may declare (the "
                "workflows call Lambda (arn:aws:states:::lambda:invoke), DynamoDB's getItem, putItem, updateItem, "
                "deleteItem and transactWriteItems (arn:aws:states:::aws-sdk:dynamodb:transactWriteItems), and "
                "EventBridge's putEvents only)."
            ),
        ),
        (
            '"Resource": "arn:aws:states:::events:putEvents", "Parameters": {"Entries": []}',
            (
                "task A does not list its Entries literally, so no role can be granted their events: write each "
                "entry's Source, DetailType and EventBusName."
            ),
        ),
        (
            '"Resource": "arn:aws:states:::aws-sdk:dynamodb:batchWriteItem", "Parameters": {"RequestItems": {}}',
            "task A uses the integration arn:aws:states:::aws-sdk:dynamodb:batchWriteItem, which no workflow may declare",
        ),
        (
            '"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName.$": "$.target", "Payload.$": "$"}',
            (
                "task A chooses its function at run time (FunctionName.$), so no role can name it: write the function's ARN "
                "placeholder."
            ),
        ),
        (
            f'"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {{"FunctionName": "{FOREIGN_FUNCTION}"}}',
            f"task A invokes {FOREIGN_FUNCTION}, {NOT_THE_STACKS}",
        ),
        (
            f'"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {{"FunctionName": "{FOREIGN_ACCOUNT}"}}',
            f"task A invokes {FOREIGN_ACCOUNT}, {NOT_THE_STACKS}",
        ),
        (
            '"Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "orderflow-local-payment"}',
            f"task A invokes orderflow-local-payment, {NOT_THE_STACKS}",
        ),
        (f'"Resource": "{FOREIGN_FUNCTION}"', f"task A invokes {FOREIGN_FUNCTION}, {NOT_THE_STACKS}"),
    ],
    ids=[
        "dynamodb-foreign-table",
        "dynamodb-table-chosen-at-run-time",
        "dynamodb-scan",
        "eventbridge-no-entries",
        "another-sdk-integration",
        "function-chosen-at-run-time",
        "foreign-function",
        "foreign-account",
        "bare-name",
        "foreign-function-as-resource",
    ],
)
def test_what_no_role_can_be_granted_is_refused(tmp_path, task, problem):
    """What the state machines' roles cannot be granted: another integration, a function chosen at run time, a
    function that is not the stack's (by name, by account or region, or not an ARN)."""
    template = '{"StartAt": "A", "States": {"A": {"Type": "Task", ' + task + ', "End": true}}}'
    message = refused(tmp_path, {"bad": template}, {"bad": {"payment"}})
    assert message.startswith(f"{tmp_path / 'templates' / 'bad.asl.json'}: {problem}")


def test_the_declaration_names_only_services_with_a_function(tmp_path):
    path = tmp_path / "integrations.json"
    path.write_text(json.dumps({"workflows": {"order-processing": {"invokes": ["order", "shipping"]}}}))
    with pytest.raises(render.UndeclaredIntegrationError) as caught:
        render.declared_integrations(path)
    assert str(caught.value) == (
        f"{path} declares that order-processing invokes shipping, which is not a service "
        "with a function (known: inventory, notification, order, payment)."
    )


# ---- the task contracts (services/shared/schemas/tasks): what the definitions send and how they read answers ----


def test_the_answer_keys_are_the_task_contracts():
    """workflow_harness.CONTRACT_KEYS is read from the contracts; written out here, as the workflows read them."""
    assert CONTRACT_KEYS == {
        ("order", "claim"): frozenset({"claimed", "refused", "orderStatus", "order", "claim"}),
        ("order", "find_stale"): frozenset({"orders", "nextToken", "resume", "republished"}),
        ("payment", "charge"): frozenset({"status", "paymentId", "amount", "reason", "retryAfterSeconds", "claim"}),
        ("payment", "refund"): frozenset({"status", "paymentId", "refundId"}),
        ("inventory", "reserve"): frozenset({"status", "shortItems"}),
        ("inventory", "release"): frozenset({"status"}),
        ("inventory", "restock"): frozenset({"status", "available"}),
        ("notification", "notify"): frozenset({"status", "key"}),
    }
    assert (ORDER_KEYS, CLAIM_KEYS) == (
        frozenset({"orderId", "customerId", "status", "items", "totalAmount"}),
        frozenset({"status", "notification", "by", "reason"}),
    )
    assert EVENT_ACTIONS == {"inventory": "restock"}


def _member_check(name: str, member: str):
    """The compiled schema of one member of task `name`'s request."""
    import fastjsonschema

    schema = contracts.TASKS[name].schema
    return fastjsonschema.compile({**schema, "$ref": f"#/definitions/Request/properties/{member}"})


def payload_problems(service: str, payload: dict) -> list[str]:
    """What is wrong with a task's Parameters.Payload against its request contract, as far as a template shows it:
    every member is the contract's, every required one is there, and every literal value conforms."""
    import fastjsonschema

    name = f"{service}.{payload.get('action')}"
    if name not in contracts.TASKS:
        return [f"no task contract {name}"]
    request = contracts.TASKS[name].schema["definitions"]["Request"]
    members = {key.removesuffix(".$"): value for key, value in payload.items()}
    problems = [f"{name}: {m} is no member of the request" for m in sorted(set(members) - set(request["properties"]))]
    problems += [f"{name}: required {m} missing" for m in request["required"] if m not in members]
    for key, value in payload.items():
        if key.endswith(".$") or key.removesuffix(".$") not in request["properties"]:
            continue
        literal = {k: v for k, v in value.items() if not k.endswith(".$")} if isinstance(value, dict) else value
        if isinstance(value, dict) and len(literal) < len(value):
            continue  # an object built from paths: checked by the harnesses that run the definitions
        try:
            _member_check(name, key)(literal)
        except fastjsonschema.JsonSchemaValueException as exc:
            problems.append(f"{name}: {key}: {exc.message}")
    return problems


def test_every_task_sends_its_actions_request(definitions):
    checked = 0
    for workflow, definition in definitions.items():
        for qualified, state, _ in all_states(definition):
            if state.get("Resource") != LAMBDA_INVOKE or "Payload" not in state["Parameters"]:
                continue  # "Payload.$": "$" hands the whole event on: its contract is the event's
            service = str(state["Parameters"]["FunctionName"]).rsplit("-", 1)[-1]
            assert payload_problems(service, state["Parameters"]["Payload"]) == [], f"{workflow}/{qualified}"
            checked += 1
    assert checked >= 20


def test_a_payload_that_breaks_its_contract_is_reported():
    order = {"orderId.$": "$.order.orderId", "customerId.$": "$.order.customerId"}
    assert payload_problems(
        "order", {"action": "claim", "order": order, "target": "DONE", "by.$": "$$.Execution.Id"}
    ) == ["order.claim: target: data must be one of ['CANCELLED', 'FAILED', 'EXPIRED']"]
    assert payload_problems("payment", {"action": "charge", "order.$": "$.order", "atempt": 1}) == [
        "payment.charge: atempt is no member of the request"
    ]
    assert payload_problems("order", {"action": "find_stale", "limit": 5000}) == [
        "order.find_stale: limit: data must be smaller than or equal to 1000"
    ]
    assert payload_problems("inventory", {"action": "reserve"}) == ["inventory.reserve: required order missing"]
    assert payload_problems("inventory", {"action": "ship"}) == ["no task contract inventory.ship"]


def status_choice_problems(definition: dict) -> list[str]:
    """Every Choice on an answer's `status` (`$.<ResultPath>.status`) compares it with a status the answering
    action's contract has (a status no contract has would never match: its path is dead, the Default taken)."""
    tasks = lambda_tasks(definition)
    answered_by: dict[str, set[tuple[str, str]]] = {}
    for qualified, state, _ in all_states(definition):
        if state.get("Resource") == LAMBDA_INVOKE and state["ResultSelector"].get("status.$") == "$.Payload.status":
            answered_by.setdefault(f"{state['ResultPath']}.status", set()).add(tasks[qualified.rsplit("/", 1)[-1]])
    problems = []
    for qualified, state, _ in all_states(definition):
        for rule in state.get("Choices", []):
            variable = rule.get("Variable")
            if variable not in answered_by or "StringEquals" not in rule:
                continue
            for service, action in answered_by[variable]:
                enum = contracts.TASKS[f"{service}.{action}"].schema["definitions"]["Result"]["properties"]["status"]
                if rule["StringEquals"] not in enum["enum"]:
                    problems.append(
                        f"{qualified}: {variable} == {rule['StringEquals']!r}, not a {service}.{action} status"
                    )
    return problems


def test_every_choice_on_a_status_compares_with_a_status_of_the_contract(definitions):
    for workflow, definition in definitions.items():
        assert status_choice_problems(definition) == [], workflow
    # the charge's every status has its own rule
    handled = [
        rule["StringEquals"] for rule in definitions["order-processing"]["States"]["CheckPaymentStatus"]["Choices"]
    ]
    charge = contracts.TASKS["payment.charge"].schema["definitions"]["Result"]["properties"]["status"]["enum"]
    assert sorted(handled) == sorted(charge)


def test_a_choice_on_a_status_the_contract_lacks_is_reported(definitions):
    broken = json.loads(json.dumps(definitions["order-processing"]))
    broken["States"]["CheckInventoryStatus"]["Choices"][1]["StringEquals"] = "SHORT"
    assert status_choice_problems(broken) == [
        "CheckInventoryStatus: $.inventory.status == 'SHORT', not a inventory.reserve status"
    ]


def test_the_parking_budget_follows_the_order_workflow_type():
    """STANDARD parks for 900 s; EXPRESS for 120 s, so 120 s of parking plus the 180 s margin for the rest of the saga
    fit Express's 300-second limit; any other type is refused."""
    standard = render.placeholder_values("dev", region=REGION, account_id=ACCOUNT)
    express = render.placeholder_values("dev", region=REGION, account_id=ACCOUNT, order_workflow_type="EXPRESS")
    assert standard["PaymentParkingBudgetSeconds"] == 900
    assert express["PaymentParkingBudgetSeconds"] == 120
    assert {k: v for k, v in standard.items() if k != "PaymentParkingBudgetSeconds"} == {
        k: v for k, v in express.items() if k != "PaymentParkingBudgetSeconds"
    }
    assert express["PaymentParkingBudgetSeconds"] + workflow_policies.EXPRESS_SAGA_MARGIN_SECONDS <= 300
    with pytest.raises(ValueError, match=r"order_workflow_type must be one of STANDARD, EXPRESS, not 'express'"):
        render.placeholder_values("dev", region=REGION, account_id=ACCOUNT, order_workflow_type="express")


def test_an_express_rendering_differs_only_in_the_order_workflows_budget(tmp_path):
    standard = render.render_workflows("dev", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "s")
    express = render.render_workflows(
        "dev", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "e", order_workflow_type="EXPRESS"
    )
    s = {name: json.loads(path.read_text()) for name, path in standard.items()}
    e = {name: json.loads(path.read_text()) for name, path in express.items()}
    assert s["payment-processing"] == e["payment-processing"]
    assert s["inventory-management"] == e["inventory-management"]
    budget = e["order-processing"]["States"]["WithinParkingBudget"]["Choices"][0]
    assert budget == {"Variable": "$.parking.waitedSeconds", "NumericGreaterThan": 120, "Next": "ParkingBudgetSpent"}
    e["order-processing"]["States"]["WithinParkingBudget"]["Choices"][0]["NumericGreaterThan"] = 900
    assert s["order-processing"] == e["order-processing"]


@pytest.mark.parametrize(
    ("override", "tfvars", "expected"),
    [
        (None, 'order_workflow_type = "EXPRESS"\n', "EXPRESS"),
        ("EXPRESS", 'order_workflow_type = "STANDARD"\n', "EXPRESS"),
        (None, 'region = "us-east-1"\n', "STANDARD"),  # the variable's default in terraform/variables.tf
    ],
)
def test_the_order_workflow_type_comes_from_the_override_then_the_tfvars_then_the_default(
    monkeypatch, tmp_path, override, tfvars, expected
):
    from scripts import stack

    (tmp_path / "dev.tfvars").write_text(tfvars)
    monkeypatch.setattr(stack, "ENVS_DIR", tmp_path)
    if override:
        monkeypatch.setenv(stack.ORDER_WORKFLOW_TYPE_ENV, override)
    else:
        monkeypatch.delenv(stack.ORDER_WORKFLOW_TYPE_ENV, raising=False)
    assert stack.order_workflow_type("dev") == expected


def test_an_unknown_order_workflow_type_fails_with_what_to_fix(monkeypatch, tmp_path):
    from scripts import stack
    from scripts.common import UserError

    monkeypatch.setenv(stack.ORDER_WORKFLOW_TYPE_ENV, "SYNC")
    with pytest.raises(UserError) as err:
        stack.order_workflow_type("local")
    assert str(err.value) == (
        "order_workflow_type must be one of STANDARD, EXPRESS, not 'SYNC': fix --order-workflow-type, "
        "$ORDERFLOW_ORDER_WORKFLOW_TYPE or terraform/envs/local.tfvars."
    )


def test_a_marker_becomes_a_path_and_markers_inside_a_string_a_format():
    paths = {"order_id": "$.order.orderId", "at": "$$.State.EnteredTime"}
    assert render._with_paths(
        {"Key": {"S": "@@order_id@@"}, "Id": "@@order_id@@#x{1}", "N": 2, "L": [{"S": "@@at@@"}, "plain"]}, paths
    ) == {
        "Key": {"S.$": "$.order.orderId"},
        "Id.$": "States.Format('{}#x\\{1\\}', $.order.orderId)",
        "N": 2,
        "L": [{"S.$": "$$.State.EnteredTime"}, "plain"],
    }


def test_a_marker_as_a_list_item_is_refused():
    """Step Functions resolves only `<field>.$`: a list item cannot be a path, so rendering one is an error."""
    with pytest.raises(render.RenderError, match=r"^\$\.L: a list item cannot be a path"):
        render._with_paths({"L": ["ok", "@@at@@"]}, {"at": "$$.State.EnteredTime"})
