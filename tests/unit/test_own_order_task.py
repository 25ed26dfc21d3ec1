"""order-processing's OwnOrder: the rendered DynamoDB updateItem task, run against the unit tests' tables.

OwnOrder is a Step Functions integration, not a Lambda action: its Parameters (rendered from
shared.repositories.orders' OWN_* expressions and tables.json) are resolved here for an 'Order Created' event and an
execution ARN, as Step Functions resolves them, and sent as the UpdateItem that Step Functions sends. Expected values
are written out: the owner recorded once, a retry by the same execution passing, any other execution refused with the
error the definition catches, and nothing else written.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from scripts import render

from .conftest import ENV
from .helpers import get_order, outbox_items, put_claimed_order, put_order

EXEC_1 = "arn:aws:states:us-east-1:123456789012:execution:orderflow-test-order-processing:exec-1"
EXEC_2 = "arn:aws:states:us-east-1:123456789012:execution:orderflow-test-order-processing:exec-2"


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    values = render.placeholder_values("test", region="us-east-1", account_id="123456789012")
    path = render.template_paths()["order-processing"]
    return render.render_definition(path.read_text(encoding="utf-8"), values, source=str(path))


def _resolve(parameters: Any, event: dict[str, Any], execution_id: str) -> Any:
    """Step Functions' Parameters resolution for the paths OwnOrder uses ("$.detail.<field>", "$$.Execution.Id")."""
    if isinstance(parameters, dict):
        resolved = {}
        for key, value in parameters.items():
            if key.endswith(".$"):
                if value == "$$.Execution.Id":
                    resolved[key[:-2]] = execution_id
                else:
                    assert value.startswith("$.detail."), value
                    resolved[key[:-2]] = event["detail"][value.removeprefix("$.detail.")]
            else:
                resolved[key] = _resolve(value, event, execution_id)
        return resolved
    return parameters


def own(definition: dict[str, Any], order: dict[str, Any], execution_id: str) -> dict[str, Any]:
    task = definition["States"]["OwnOrder"]
    assert task["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    event = {"detail": {"orderId": order["orderId"], "customerId": order["customerId"]}}
    request = _resolve(task["Parameters"], event, execution_id)
    return boto3.client("dynamodb").update_item(**request)


def test_the_task_writes_the_unit_tables_order(definition):
    """The rendered table is the one the order service writes (`<project>-<env>-orders`, as the tests name it)."""
    assert definition["States"]["OwnOrder"]["Parameters"]["TableName"] == "orderflow-test-orders"
    assert ENV["ORDERS_TABLE"] == "orderflow-test-orders"


def test_the_rendered_write_is_the_ownership_write(definition):
    parameters = definition["States"]["OwnOrder"]["Parameters"]
    assert parameters["Key"] == {"orderId": {"S.$": "$.detail.orderId"}, "customerId": {"S.$": "$.detail.customerId"}}
    assert parameters["UpdateExpression"] == "SET executionId = :execution"
    assert parameters["ConditionExpression"] == (
        "attribute_exists(orderId) AND (attribute_not_exists(executionId) OR executionId = :execution)"
    )
    assert parameters["ExpressionAttributeValues"] == {":execution": {"S.$": "$$.Execution.Id"}}
    # the saga needs one stored attribute back: the id CompleteOrder gives "Order Completed"
    assert parameters["ReturnValues"] == "ALL_NEW"
    assert definition["States"]["OwnOrder"]["ResultSelector"] == {
        "completedEventId.$": "$.Attributes.completedEventId.S"
    }


def test_the_first_execution_owns_the_order_and_nothing_else_changes(cloud, definition):
    order = put_order("PENDING", completedEventId="0b5f6d2e-4c3a-5b1d-8e7f-9a0b1c2d3e4f")
    before = get_order(order["orderId"])

    answer = own(definition, order, EXEC_1)

    assert get_order(order["orderId"]) == {**before, "executionId": EXEC_1}  # not a transition: same version
    assert answer["Attributes"]["completedEventId"] == {"S": "0b5f6d2e-4c3a-5b1d-8e7f-9a0b1c2d3e4f"}
    assert answer["Attributes"]["executionId"] == {"S": EXEC_1}
    assert outbox_items() == [] and cloud.events() == []


def test_a_retry_by_the_owner_passes_and_another_execution_is_refused(cloud, definition):
    order = put_order("PENDING")
    own(definition, order, EXEC_1)
    own(definition, order, EXEC_1)  # the same task retried after its write took effect
    with pytest.raises(ClientError) as info:
        own(definition, order, EXEC_2)
    assert info.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert get_order(order["orderId"])["executionId"] == EXEC_1


def test_a_claimed_order_keeps_its_owner(cloud, definition):
    order = put_claimed_order("CANCELLED", by="cancel:x", executionId=EXEC_1)
    with pytest.raises(ClientError) as info:
        own(definition, order, EXEC_2)
    assert info.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert get_order(order["orderId"])["executionId"] == EXEC_1


@pytest.mark.parametrize("customer_id", ["customer-1", "someone-else"])
def test_an_unknown_order_is_refused_and_not_created(cloud, definition, customer_id):
    put_order("PENDING", order_id="known", customer_id="customer-1")
    unknown = {"orderId": "known" if customer_id != "customer-1" else "missing", "customerId": customer_id}
    with pytest.raises(ClientError) as info:
        own(definition, unknown, EXEC_1)
    assert info.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert [(o["orderId"], o["customerId"]) for o in _all_orders()] == [("known", "customer-1")]
    assert "executionId" not in get_order("known")


def _all_orders() -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(ENV["ORDERS_TABLE"]).scan(ConsistentRead=True)["Items"]


def test_a_refused_ownership_ends_the_execution_and_a_fault_fails_it(definition):
    """The condition failure is the duplicate (Succeed, nothing done); any other error after the retries fails the
    execution before it acted; a success goes on to the saga with the event's order."""
    task = definition["States"]["OwnOrder"]
    assert task["Catch"] == [
        {
            "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
            "ResultPath": "$.error",
            "Next": "DuplicateExecution",
        },
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "OwnershipUnknown"},
    ]
    assert definition["States"]["DuplicateExecution"]["Type"] == "Succeed"
    assert definition["States"]["OwnershipUnknown"]["Error"] == "OrderOwnershipFailed"
    retried = {error for retrier in task["Retry"] for error in retrier["ErrorEquals"]}
    assert "DynamoDB.ProvisionedThroughputExceededException" in retried
    assert "DynamoDB.ConditionalCheckFailedException" not in retried  # a refusal is an answer, not a fault
    assert task["ResultPath"] == "$.owned" and task["Next"] == "UseEventOrder"
    assert definition["States"]["UseEventOrder"]["Parameters"]["completedEventId.$"] == "$.owned.completedEventId"
