"""The workflows against stub Lambdas and the emulator's real DynamoDB table and event bus.

Mocked task responses (test_order_processing.py & co.) skip a task's Parameters entirely, so they cannot catch a
wrong payload path or a DynamoDB expression the service rejects. Here every Lambda is a small stub that answers
with the contract's response shape (docs/architecture.md, "Lambda task contracts") and echoes what it received
under `received`, while the direct integrations (dynamodb:updateItem/getItem, events:putEvents) run for real.
The stubs do not write order statuses as the real services do, so each test seeds the order item in the status
the real Lambdas would have left it in before the workflow's own conditional write.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from decimal import Decimal

import boto3
import pytest

from workflow_harness import (
    REGION, assert_order_intact, client, create_or_update_state_machine, create_python_function,
    eventbridge_event, start_and_wait,
)

# per pytest-xdist worker, so parallel workers never reconfigure each other's stub functions
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
PROJECT = f"wfstub{WORKER}"
ENV = "local"
MACHINES = {"order-processing": f"OrderProcessingStubRun{WORKER}",
            "payment-processing": f"PaymentProcessingStubRun{WORKER}",
            "inventory-management": f"InventoryManagementStubRun{WORKER}"}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

STUB_SOURCE = '''
import json
import os

SERVICE = os.environ["STUB_SERVICE"]


class PaymentGatewayUnavailable(Exception):
    pass


class InventoryStoreUnavailable(Exception):
    pass


def lambda_handler(event, context):
    action = event.get("action")
    order = event.get("order") or {}
    oid = str(order.get("orderId", ""))
    if SERVICE == "payment" and action == "charge":
        if oid.startswith("flaky-") and event["attempt"] < 2:
            raise PaymentGatewayUnavailable("gateway timeout on attempt %s" % event["attempt"])
        return {"status": "PAID", "paymentId": "pay-" + oid, "amount": "%.2f" % order["totalAmount"],
                "reason": None, "received": event}
    if SERVICE == "payment" and action == "refund":
        return {"status": "REFUNDED", "paymentId": "pay-" + oid, "refundId": "ref-" + oid, "received": event}
    if SERVICE == "inventory" and action == "reserve":
        if any(item["productId"] == "explode" for item in order["items"]):
            raise InventoryStoreUnavailable("inventory table unavailable")
        short = [{"productId": item["productId"], "requested": item["quantity"], "available": 0}
                 for item in order["items"] if item["productId"].startswith("sold-out")]
        return {"status": "UNAVAILABLE" if short else "RESERVED", "shortItems": short, "received": event}
    if SERVICE == "inventory" and action == "release":
        return {"status": "RELEASED", "received": event}
    if SERVICE == "inventory" and action == "restock":
        return {"status": "RESTOCKED", "available": 10 + event["quantity"], "received": event}
    if SERVICE == "order" and action == "find_stale":
        return {"orders": json.loads(os.environ.get("STALE_ORDERS", "[]")), "received": event}
    if SERVICE == "notification" and action == "notify":
        return {"status": "SENT", "key": "notifications/%s/%s.json" % (oid, event["type"]), "received": event}
    raise RuntimeError("%s stub: unexpected event %r" % (SERVICE, event))
'''


def _ensure_table(ddb, name: str) -> None:
    try:
        ddb.describe_table(TableName=name)
        return
    except ddb.exceptions.ResourceNotFoundException:
        pass
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"},
                                {"AttributeName": "customerId", "KeyType": "RANGE"}],
                     AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"},
                                           {"AttributeName": "customerId", "AttributeType": "S"}])
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})


@pytest.fixture(scope="module")
def stub_stack(local_cloud, sfn, account_id, emulator_settings, tmp_path_factory):
    from scripts.render import placeholder_values, render_workflows

    values = placeholder_values(ENV, region=REGION, account_id=account_id, project=PROJECT)
    ddb, events, sqs, lam = (client(s, local_cloud) for s in ("dynamodb", "events", "sqs", "lambda"))
    _ensure_table(ddb, values["OrdersTableName"])
    bus = values["EventBusName"]
    if not any(b["Name"] == bus for b in events.list_event_buses()["EventBuses"]):
        events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName=f"{PROJECT}-{ENV}-workflow-events")["QueueUrl"]
    sqs.purge_queue(QueueUrl=queue_url)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"{PROJECT}-{ENV}-order-workflow-events"
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["order.workflow"]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    for service in ("payment", "inventory", "order", "notification"):
        create_python_function(lam, f"{PROJECT}-{ENV}-{service}", STUB_SOURCE, env={"STUB_SERVICE": service})
    paths = render_workflows(ENV, region=REGION, account_id=account_id, project=PROJECT,
                             out_dir=tmp_path_factory.mktemp("rendered-stub"))
    machines = {workflow: create_or_update_state_machine(sfn, MACHINES[workflow], json.loads(path.read_text()))
                for workflow, path in paths.items()}
    table = boto3.resource("dynamodb", endpoint_url=local_cloud, region_name=REGION, aws_access_key_id="test",
                           aws_secret_access_key="test").Table(values["OrdersTableName"])
    yield {"machines": machines, "table": table, "sqs": sqs, "queue_url": queue_url, "lambda": lam}

    # Leave the emulator as we found it: a developer's long-running local cloud must not collect test stubs.
    logs = client("logs", local_cloud)
    for arn in machines.values():
        sfn.delete_state_machine(stateMachineArn=arn)
    for service in ("payment", "inventory", "order", "notification"):
        name = f"{PROJECT}-{ENV}-{service}"
        lam.delete_function(FunctionName=name)
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name=rule, EventBusName=bus)
    events.delete_event_bus(Name=bus)
    sqs.delete_queue(QueueUrl=queue_url)
    ddb.delete_table(TableName=values["OrdersTableName"])


def new_order(prefix: str = "ord", products=("prod-1", "prod-2")) -> dict:
    return {"orderId": f"{prefix}-{uuid.uuid4().hex[:10]}", "customerId": "cust-stub",
            "items": [{"productId": p, "quantity": 2 if i == 0 else 1, "price": 19.99} for i, p in enumerate(products)],
            "totalAmount": 59.97}


def seed(table, order: dict, status: str, updated_at: str = "2026-11-27T09:00:00Z") -> None:
    table.put_item(Item={
        **{k: order[k] for k in ("orderId", "customerId")},
        "items": [{"productId": i["productId"], "quantity": i["quantity"], "price": Decimal(str(i["price"]))}
                  for i in order["items"]],
        "totalAmount": Decimal(str(order["totalAmount"])), "status": status,
        "statusHistory": [{"status": status, "at": updated_at, "reason": "seeded by test"}],
        "createdAt": "2026-11-27T08:59:00Z", "updatedAt": updated_at, "version": 1})


def record(table, order: dict) -> dict:
    return table.get_item(Key={"orderId": order["orderId"], "customerId": order["customerId"]},
                          ConsistentRead=True)["Item"]


def order_created(order: dict) -> dict:
    return eventbridge_event("Order Created", "order.service", {"eventId": f"{order['orderId']}-created", **order})


def received(execution, state: str) -> dict:
    return execution.task_result(state)["Payload"]["received"]


def assert_status_written(item: dict, status: str, reason: str, version: int) -> None:
    assert item["status"] == status
    assert ISO_Z.match(item["updatedAt"]), item["updatedAt"]
    assert item["statusHistory"][-1] == {"status": status, "at": item["updatedAt"], "reason": reason}
    assert item["version"] == version


def test_happy_path_and_duplicate_delivery(sfn, stub_stack):
    order, table = new_order(), stub_stack["table"]
    seed(table, order, "INVENTORY_RESERVED")  # as the real payment and inventory Lambdas leave it
    machine = stub_stack["machines"]["order-processing"]

    execution = start_and_wait(sfn, machine, order_created(order))
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-1] == "OrderCompleted"
    assert_order_intact(execution, order, after="NormalizeOrder")
    assert received(execution, "ProcessPayment") == {"action": "charge", "order": order, "attempt": 0}
    assert received(execution, "ReserveInventory") == {"action": "reserve", "order": order}
    assert received(execution, "NotifyOrderCompleted") == {
        "action": "notify", "type": "order-completed", "order": order,
        "details": {"paymentId": f"pay-{order['orderId']}", "amount": "59.97"}}
    item = record(table, order)
    assert_status_written(item, "COMPLETED", "order-workflow", version=2)
    assert execution.output["completion"] == {"status": "COMPLETED", "updatedAt": item["updatedAt"]}

    published = _receive_detail(stub_stack, order["orderId"])
    assert published["detail-type"] == "Order Completed" and published["source"] == "order.workflow"
    assert published["detail"] == {"eventId": f"{order['orderId']}:order-completed", "orderId": order["orderId"],
                                   "customerId": order["customerId"], "totalAmount": order["totalAmount"]}

    # at-least-once delivery: the same event again finds the order COMPLETED -> no second write, no notification
    duplicate = start_and_wait(sfn, machine, order_created(order))
    assert duplicate.status == "SUCCEEDED"
    assert duplicate.visited[-2:] == ["CompleteOrder", "DuplicateDelivery"]
    assert duplicate.exit_output("CompleteOrder")["error"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
    assert record(table, order) == item


def _receive_detail(stack, order_id: str, deadline_s: float = 10.0) -> dict:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        messages = stack["sqs"].receive_message(QueueUrl=stack["queue_url"], MaxNumberOfMessages=10,
                                                WaitTimeSeconds=1).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            detail = body["detail"] if isinstance(body.get("detail"), dict) else json.loads(body.get("detail", "{}"))
            if detail.get("orderId") == order_id:
                return {**body, "detail": detail}
    raise AssertionError(f"no Order Completed event for {order_id} within {deadline_s}s")


def test_payment_retried_then_succeeds(sfn, stub_stack):
    """Retry of a failing Lambda with $$.State.RetryCount in the payload (the mocked variant cannot run on
    MiniStack 1.5.33, see tests/emulator/test_workflow_gaps.py)."""
    order, table = new_order("flaky"), stub_stack["table"]
    seed(table, order, "INVENTORY_RESERVED")
    execution = start_and_wait(sfn, stub_stack["machines"]["order-processing"], order_created(order))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited == ["NormalizeOrder", "ProcessPayment", "CheckPaymentStatus", "ReserveInventory",
                                 "CheckInventoryStatus", "CompleteOrder", "PublishOrderCompleted",
                                 "NotifyOrderCompleted", "OrderCompleted"]
    # on MiniStack a handler exception arrives as Runtime.HandlerError: retried thanks to the emulator
    # workaround in ${RetryableErrors}; the exception class is lost, the message survives in the cause
    assert execution.task_failures() == ["Runtime.HandlerError"] * 2
    assert received(execution, "ProcessPayment")["attempt"] == 2
    assert execution.output["payment"]["status"] == "PAID"
    assert_order_intact(execution, order, after="NormalizeOrder")


def test_inventory_unavailable_refunds_and_cancels(sfn, stub_stack):
    order, table = new_order(products=("prod-1", "sold-out-9")), stub_stack["table"]
    seed(table, order, "REFUNDED")  # the real refund moves INVENTORY_UNAVAILABLE -> REFUNDED
    execution = start_and_wait(sfn, stub_stack["machines"]["order-processing"], order_created(order))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-4:] == ["RefundPayment", "MarkOrderCancelled", "NotifyOrderCancelled", "OrderCancelled"]
    assert received(execution, "RefundPayment") == {"action": "refund", "order": order,
                                                    "reason": "inventory-unavailable"}
    assert received(execution, "NotifyOrderCancelled")["details"] == {
        "reason": "inventory-unavailable", "refundId": f"ref-{order['orderId']}",
        "shortItems": [{"productId": "sold-out-9", "requested": 1, "available": 0}]}
    assert_status_written(record(table, order), "CANCELLED", "inventory-unavailable", version=2)
    assert_order_intact(execution, order, after="NormalizeOrder")


def test_technical_fault_claims_failed_compensates_and_fails(sfn, stub_stack):
    order, table = new_order(products=("prod-1", "explode")), stub_stack["table"]
    seed(table, order, "PAID")
    execution = start_and_wait(sfn, stub_stack["machines"]["order-processing"], order_created(order))

    assert execution.status == "FAILED"
    assert execution.error == "OrderProcessingFailed"
    assert f"Order {order['orderId']} failed in ReserveInventory" in execution.cause
    assert execution.task_failures()[:5] == ["Runtime.HandlerError"] * 5  # 1 + 4 retries
    assert_status_written(record(table, order), "FAILED", "ReserveInventory: Runtime.HandlerError", version=2)
    assert received(execution, "CompensateReleaseInventory") == {"action": "release", "order": order}
    assert received(execution, "CompensateRefundPayment") == {"action": "refund", "order": order,
                                                              "reason": "order-failed"}
    notified = received(execution, "NotifyOrderFailed")
    assert notified["type"] == "order-failed" and notified["order"] == order
    assert notified["details"]["step"] == "ReserveInventory"
    assert notified["details"]["error"]["Error"] == "Runtime.HandlerError"
    assert_order_intact(execution, order, after="NormalizeOrder")


def test_failure_does_not_overwrite_a_terminal_order(sfn, stub_stack):
    order, table = new_order(products=("explode",)), stub_stack["table"]
    seed(table, order, "CANCELLED")  # the customer cancelled while the reservation kept failing
    execution = start_and_wait(sfn, stub_stack["machines"]["order-processing"], order_created(order))
    assert execution.status == "SUCCEEDED"
    assert execution.visited[-2:] == ["MarkOrderFailed", "AlreadyFinalized"]
    assert record(table, order)["status"] == "CANCELLED"


def test_cancellation_reads_the_order_and_compensates(sfn, stub_stack):
    order, table = new_order(), stub_stack["table"]
    seed(table, order, "INVENTORY_RESERVED")
    event = eventbridge_event("Order Cancellation Requested", "order.service",
                              {"eventId": "c-1", "orderId": order["orderId"], "customerId": order["customerId"],
                               "previousStatus": "INVENTORY_RESERVED"})
    machine = stub_stack["machines"]["payment-processing"]
    execution = start_and_wait(sfn, machine, event)

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-3:] == ["MarkOrderCancelled", "NotifyOrderCancelled", "Cancelled"]
    # the DynamoDB-typed item came back as the contract's order (numbers as JSON numbers)
    assert received(execution, "RefundPayment") == {"action": "refund", "order": order,
                                                    "reason": "customer-cancelled"}
    assert received(execution, "ReleaseInventory") == {"action": "release", "order": order}
    assert_order_intact(execution, order, after="BuildOrder")
    first = record(table, order)
    assert_status_written(first, "CANCELLED", "customer-cancelled", version=2)

    again = start_and_wait(sfn, machine, event)  # already CANCELLED: no second write
    assert again.status == "SUCCEEDED"
    assert "MarkOrderCancelled" not in again.visited and again.visited[-1] == "Cancelled"
    assert record(table, order) == first


def test_sweep_expires_a_stale_order_once(sfn, stub_stack):
    order, table, lam = new_order(), stub_stack["table"], stub_stack["lambda"]
    seed(table, order, "PAID", updated_at="2020-01-01T00:00:00Z")
    stale = [{**order, "status": "PAID"}]
    lam.update_function_configuration(FunctionName=f"{PROJECT}-{ENV}-order",
                                      Environment={"Variables": {"STUB_SERVICE": "order",
                                                                 "STALE_ORDERS": json.dumps(stale)}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=f"{PROJECT}-{ENV}-order",
                                               WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    machine = stub_stack["machines"]["inventory-management"]
    sweep = eventbridge_event("Stale Order Sweep Requested", "orderflow.scheduler", {"olderThanMinutes": 30})

    execution = start_and_wait(sfn, machine, sweep)
    assert execution.status == "SUCCEEDED", execution.cause
    assert received(execution, "FindStaleOrders") == {"action": "find_stale", "olderThanMinutes": 30}
    assert execution.output == {"expired": 1, "skipped": 0, "failed": 0, "expiredOrderIds": [order["orderId"]],
                                "skippedOrderIds": [], "failedOrderIds": []}
    assert_status_written(record(table, order), "EXPIRED", "stale-order-sweep", version=2)

    # the query result is stale now (the stub still reports PAID): the conditional claim skips it
    again = start_and_wait(sfn, machine, sweep)
    assert again.output["skipped"] == 1 and again.output["expired"] == 0


def test_restock(sfn, stub_stack):
    event = eventbridge_event("Inventory Restocked", "inventory.admin",
                              {"eventId": "r-1", "productId": "prod-1", "quantity": 5})
    execution = start_and_wait(sfn, stub_stack["machines"]["inventory-management"], event)
    assert execution.status == "SUCCEEDED"
    assert execution.output == {"status": "RESTOCKED", "available": 15}
    assert received(execution, "RestockProduct") == {"action": "restock", "productId": "prod-1", "quantity": 5,
                                                     "eventId": "r-1"}
