"""The deployed workflows with the real Lambdas (no mocks): one or more runs per workflow, asserting the order's
final record in DynamoDB. Needs the local stack: `scripts.stack.ensure_deployed("local")` deploys it when missing.

Orders are put straight into the orders table (PENDING, plus their stock items) and each execution is started
with a constructed EventBridge event, so no bus rule starts a second execution behind the test's back.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import boto3
import pytest

from workflow_harness import assert_order_intact, eventbridge_event, start_and_wait

# response keys of the Lambda task contracts (docs/architecture.md): the workflows' ResultSelectors read every
# one of them, and on AWS a missing key fails the execution with States.Runtime (MiniStack yields null instead)
CONTRACT_KEYS = {
    ("payment", "charge"): {"status", "paymentId", "amount", "reason"},
    ("payment", "refund"): {"status", "paymentId", "refundId"},
    ("inventory", "reserve"): {"status", "shortItems"},
    ("inventory", "release"): {"status"},
    ("inventory", "restock"): {"status", "available"},
    ("order", "find_stale"): {"orders"},
    ("notification", "notify"): {"status", "key"},
}
ANCIENT = "2020-01-01T00:00:00.000Z"


@pytest.fixture(scope="module")
def stack(local_cloud) -> dict[str, Any]:
    try:
        from scripts.stack import ensure_deployed
    except ImportError:
        pytest.skip("stack not deployed: run invoke deploy --env local")
    return ensure_deployed("local")


class Stack:
    def __init__(self, outputs: dict[str, Any], endpoint: str) -> None:
        self.outputs = outputs
        kwargs = {"endpoint_url": outputs.get("aws_endpoint_url") or endpoint,
                  "region_name": outputs.get("region") or "us-east-1",
                  "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        self.sfn = boto3.client("stepfunctions", **kwargs)
        self.lam = boto3.client("lambda", **kwargs)
        self.s3 = boto3.client("s3", **kwargs)
        dynamodb = boto3.resource("dynamodb", **kwargs)
        self.orders = dynamodb.Table(outputs["orders_table_name"])
        self.inventory = dynamodb.Table(outputs["inventory_table_name"])

    def machine(self, workflow: str) -> str:
        return self.outputs["state_machine_arns"][workflow]

    def product(self, available: int) -> str:
        product_id = f"wf-prod-{uuid.uuid4().hex[:8]}"
        self.inventory.put_item(Item={"productId": product_id, "name": "workflow test product",
                                      "available": available, "reserved": 0})
        return product_id

    def order(self, products: list[str], *, customer: str = "wf-customer", updated_at: str | None = None) -> dict:
        now = updated_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        order = {"orderId": f"wf-{uuid.uuid4().hex[:12]}", "customerId": customer,
                 "items": [{"productId": p, "quantity": 2, "price": "10.00"} for p in products],
                 "totalAmount": f"{20 * len(products)}.00"}
        self.orders.put_item(Item={
            **{k: order[k] for k in ("orderId", "customerId")},
            "items": [{"productId": i["productId"], "quantity": i["quantity"], "price": Decimal(i["price"])}
                      for i in order["items"]],
            "totalAmount": Decimal(order["totalAmount"]), "status": "PENDING",
            "statusHistory": [{"status": "PENDING", "at": now, "reason": "created by workflow test"}],
            "createdAt": now, "updatedAt": now, "version": 1})
        return order

    def record(self, order: dict) -> dict:
        return self.orders.get_item(Key={"orderId": order["orderId"], "customerId": order["customerId"]},
                                    ConsistentRead=True)["Item"]

    def history(self, order: dict) -> list[str]:
        return [entry["status"] for entry in self.record(order)["statusHistory"]]

    def available(self, product_id: str) -> int:
        return int(self.inventory.get_item(Key={"productId": product_id}, ConsistentRead=True)["Item"]["available"])

    def invoke(self, service: str, payload: dict) -> dict:
        response = self.lam.invoke(FunctionName=self.outputs["function_names"][service],
                                   Payload=json.dumps(payload).encode())
        body = json.loads(response["Payload"].read() or b"null")
        assert "FunctionError" not in response, body
        return body

    def notification_exists(self, order: dict, kind: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.outputs["notifications_bucket"],
                                Key=f"notifications/{order['orderId']}/{kind}.json")
            return True
        except self.s3.exceptions.ClientError:
            return False


@pytest.fixture(scope="module")
def aws(stack, local_cloud) -> Stack:
    return Stack(stack, local_cloud)


def assert_contract_keys(execution) -> None:
    """Every Lambda result carries every key of its contract (see CONTRACT_KEYS)."""
    current, checked = None, 0
    for e in execution.events:
        if "stateEnteredEventDetails" in e:
            current = e["stateEnteredEventDetails"]
        if e["type"] == "TaskSucceeded" and e["taskSucceededEventDetails"]["resource"].endswith(":lambda:invoke"):
            result = json.loads(e["taskSucceededEventDetails"]["output"])["Payload"]
            expected = next((keys for keys in CONTRACT_KEYS.values() if keys <= set(result)), None)
            assert expected is not None, f"{current['name']} returned {sorted(result)}: a contract key is missing"
            checked += 1
    assert checked, "no Lambda task succeeded"


def order_created(order: dict) -> dict:
    return eventbridge_event("Order Created", "order.service",
                             {"eventId": f"{order['orderId']}-created", **order,
                              "createdAt": "2026-11-27T09:00:00.000Z"})


def test_order_completes_and_duplicate_is_harmless(aws):
    product = aws.product(available=10)
    order = aws.order([product])
    execution = start_and_wait(aws.sfn, aws.machine("order-processing"), order_created(order))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-1] == "OrderCompleted"
    assert_order_intact(execution, order, after="NormalizeOrder")
    assert_contract_keys(execution)
    final = aws.record(order)
    assert final["status"] == "COMPLETED"
    assert aws.history(order) == ["PENDING", "PAID", "INVENTORY_RESERVED", "COMPLETED"]
    assert final["updatedAt"] == final["statusHistory"][-1]["at"]
    assert aws.available(product) == 8
    assert aws.notification_exists(order, "order-completed")

    duplicate = start_and_wait(aws.sfn, aws.machine("order-processing"), order_created(order))
    assert duplicate.status == "SUCCEEDED", duplicate.cause
    assert duplicate.visited[-1] == "DuplicateDelivery"
    assert aws.record(order) == final
    assert aws.available(product) == 8


def test_out_of_stock_order_is_refunded_and_cancelled(aws):
    order = aws.order([aws.product(available=10), aws.product(available=1)])
    execution = start_and_wait(aws.sfn, aws.machine("order-processing"), order_created(order))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-4:] == ["RefundPayment", "MarkOrderCancelled", "NotifyOrderCancelled", "OrderCancelled"]
    assert execution.output["refund"]["status"] == "REFUNDED"
    assert_contract_keys(execution)
    assert aws.record(order)["status"] == "CANCELLED"
    assert aws.history(order) == ["PENDING", "PAID", "INVENTORY_UNAVAILABLE", "REFUNDED", "CANCELLED"]
    assert aws.notification_exists(order, "order-cancelled")


def test_declined_payment(aws):
    order = aws.order([aws.product(available=10)], customer="customer-declined")
    execution = start_and_wait(aws.sfn, aws.machine("order-processing"), order_created(order))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-2:] == ["NotifyPaymentDeclined", "PaymentDeclined"]
    assert aws.record(order)["status"] == "PAYMENT_FAILED"
    assert aws.notification_exists(order, "payment-declined")


def cancellation(order: dict, previous: str) -> dict:
    return eventbridge_event("Order Cancellation Requested", "order.service",
                             {"eventId": f"{order['orderId']}-cancel", "orderId": order["orderId"],
                              "customerId": order["customerId"], "previousStatus": previous})


def test_cancellation_after_payment_refunds_releases_and_is_idempotent(aws):
    product = aws.product(available=10)
    order = aws.order([product])
    assert aws.invoke("payment", {"action": "charge", "order": order, "attempt": 0})["status"] == "PAID"
    assert aws.invoke("inventory", {"action": "reserve", "order": order})["status"] == "RESERVED"
    assert aws.available(product) == 8

    first = start_and_wait(aws.sfn, aws.machine("payment-processing"), cancellation(order, "INVENTORY_RESERVED"))
    assert first.status == "SUCCEEDED", first.cause
    assert first.output["refund"]["status"] == "REFUNDED" and first.output["release"] == {"status": "RELEASED"}
    assert_order_intact(first, first.output["order"], after="BuildOrder")
    assert first.output["order"]["orderId"] == order["orderId"]
    assert_contract_keys(first)
    assert aws.record(order)["status"] == "CANCELLED"
    assert aws.history(order)[-1] == "CANCELLED"
    assert aws.available(product) == 10

    second = start_and_wait(aws.sfn, aws.machine("payment-processing"), cancellation(order, "INVENTORY_RESERVED"))
    assert second.status == "SUCCEEDED", second.cause
    assert second.output["refund"] == first.output["refund"]
    assert second.output["release"] == {"status": "NOT_RESERVED"}
    assert second.output["notification"]["status"] == "DUPLICATE"
    assert aws.available(product) == 10
    assert aws.history(order).count("CANCELLED") == 1


def test_cancellation_before_payment(aws):
    order = aws.order([aws.product(available=10)])
    execution = start_and_wait(aws.sfn, aws.machine("payment-processing"), cancellation(order, "PENDING"))
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output["refund"]["status"] == "NOT_CHARGED"
    assert execution.output["release"] == {"status": "NOT_RESERVED"}
    assert aws.record(order)["status"] == "CANCELLED"


def test_sweep_expires_an_ancient_order(aws):
    order = aws.order([aws.product(available=10)], updated_at=ANCIENT)
    sweep = eventbridge_event("Stale Order Sweep Requested", "orderflow.scheduler", {"olderThanMinutes": 525_600})
    execution = start_and_wait(aws.sfn, aws.machine("inventory-management"), sweep)

    assert execution.status == "SUCCEEDED", execution.cause
    assert order["orderId"] in execution.output["expiredOrderIds"]
    assert execution.output["expired"] >= 1
    assert aws.record(order)["status"] == "EXPIRED"
    assert aws.history(order) == ["PENDING", "EXPIRED"]
    assert aws.notification_exists(order, "order-expired")


def test_restock_once_per_event(aws):
    product = aws.product(available=3)
    event = eventbridge_event("Inventory Restocked", "inventory.admin",
                              {"eventId": f"restock-{uuid.uuid4().hex[:8]}", "productId": product, "quantity": 4})
    first = start_and_wait(aws.sfn, aws.machine("inventory-management"), event)
    assert first.status == "SUCCEEDED", first.cause
    assert first.output == {"status": "RESTOCKED", "available": 7}
    again = start_and_wait(aws.sfn, aws.machine("inventory-management"), event)
    assert again.output["status"] == "DUPLICATE"
    assert aws.available(product) == 7
