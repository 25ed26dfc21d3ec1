"""The deployed workflows with the real Lambdas (no mocks): one or more runs per workflow, asserting the order's
final record in DynamoDB, the stock, the payment and the notifications. Needs the local stack:
`scripts.stack.ensure_deployed("local")` deploys it when missing (it does not redeploy a stack that exists: after
changing a template or a service, `invoke deploy --env local` first).

Orders are put straight into the orders table (PENDING, plus their stock items with a catalogue price) and each
execution is started with a constructed EventBridge event, so no bus rule starts a second execution behind the
test's back. The services' own events still flow, but no rule notifies them: the order's one notification is the
finalizing workflow's, notifications/<orderId>/<type>.json, and nothing else is under notifications/<orderId>/.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from workflow_harness import (
    CONTRACT_KEYS,
    LAMBDA_INVOKE,
    REPO_ROOT,
    assert_order_intact,
    eventbridge_event,
    start_and_wait,
)

if str(REPO_ROOT / "services") not in sys.path:
    sys.path.insert(0, str(REPO_ROOT / "services"))
from shared.repositories.inventory import product_item

ANCIENT = "2020-01-01T00:00:00.000Z"
#: the namespace of every orderflow eventId: uuid5(NAMESPACE_URL, "urn:orderflow:event")
EVENT_NAMESPACE = uuid.UUID("f73e26d7-7a2c-571b-92db-206d66d4da91")
REFUSED = "order COMPLETED: its goods are reserved for delivery; a refund needs a return"  # order.saga


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
        kwargs = {
            "endpoint_url": outputs.get("aws_endpoint_url") or endpoint,
            "region_name": outputs.get("region") or "us-east-1",
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
        }
        self.sfn = boto3.client("stepfunctions", **kwargs)
        self.lam = boto3.client("lambda", **kwargs)
        self.s3 = boto3.client("s3", **kwargs)
        dynamodb = boto3.resource("dynamodb", **kwargs)
        self.orders = dynamodb.Table(outputs["orders_table_name"])
        self.inventory = dynamodb.Table(outputs["inventory_table_name"])
        self.payments = dynamodb.Table(outputs["payments_table_name"])

    def machine(self, workflow: str) -> str:
        return self.outputs["state_machine_arns"][workflow]

    def product(self, available: int) -> str:
        product_id = f"wf-prod-{uuid.uuid4().hex[:8]}"
        self.inventory.put_item(Item=product_item(product_id, available, name="workflow test product", price="10.00"))
        return product_id

    def order(self, products: list[str], *, customer: str = "wf-customer", updated_at: str | None = None) -> dict:
        """Put a PENDING order; returns it as the order service answers it (shared.models.order_summary)."""
        now = updated_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        order = {
            "orderId": f"wf-{uuid.uuid4().hex[:12]}",
            "customerId": customer,
            "status": "PENDING",
            "items": [{"productId": p, "quantity": 2, "price": "10.00"} for p in products],
            "totalAmount": f"{20 * len(products)}.00",
        }
        self.orders.put_item(
            Item={
                **{k: order[k] for k in ("orderId", "customerId", "status")},
                "items": [
                    {"productId": i["productId"], "quantity": i["quantity"], "price": Decimal(i["price"])}
                    for i in order["items"]
                ],
                "totalAmount": Decimal(order["totalAmount"]),
                "statusHistory": [{"status": "PENDING", "at": now, "reason": "created by workflow test"}],
                "createdAt": now,
                "updatedAt": now,
                "version": 1,
                # live: in the sweep's Live-Index, shard sha256(orderId) mod 16, as the order service writes it
                "liveShard": f"live#{int(hashlib.sha256(order['orderId'].encode()).hexdigest(), 16) % 16}",
                # uuid5(urn:orderflow:event, "<orderId>|Order Completed"), as create writes it for CompleteOrder
                "completedEventId": str(uuid.uuid5(EVENT_NAMESPACE, f"{order['orderId']}|Order Completed")),
            }
        )
        return order

    def record(self, order: dict) -> dict:
        return self.orders.get_item(
            Key={"orderId": order["orderId"], "customerId": order["customerId"]}, ConsistentRead=True
        )["Item"]

    def history(self, order: dict) -> list[str]:
        return [entry["status"] for entry in self.record(order)["statusHistory"]]

    def available(self, product_id: str) -> int:
        return int(self.inventory.get_item(Key={"productId": product_id}, ConsistentRead=True)["Item"]["available"])

    def payment(self, order: dict) -> dict | None:
        return self.payments.get_item(Key={"orderId": order["orderId"]}, ConsistentRead=True).get("Item")

    def invoke(self, service: str, payload: dict) -> dict:
        response = self.lam.invoke(
            FunctionName=self.outputs["function_names"][service], Payload=json.dumps(payload).encode()
        )
        body = json.loads(response["Payload"].read() or b"null")
        assert "FunctionError" not in response, body
        return body

    def notification_keys(self, order: dict) -> set[str]:
        prefix = f"notifications/{order['orderId']}/"
        listed = self.s3.list_objects_v2(Bucket=self.outputs["notifications_bucket"], Prefix=prefix)
        return {item["Key"].removeprefix(prefix) for item in listed.get("Contents", [])}

    def notification(self, order: dict, key: str) -> dict:
        body = self.s3.get_object(
            Bucket=self.outputs["notifications_bucket"], Key=f"notifications/{order['orderId']}/{key}"
        )["Body"].read()
        return json.loads(body)


@pytest.fixture(scope="module")
def aws(stack, local_cloud) -> Stack:
    return Stack(stack, local_cloud)


def assert_contract_keys(execution) -> None:
    """Every Lambda answer carries exactly the keys of one contract (workflow_harness.CONTRACT_KEYS)."""
    contracts = set(CONTRACT_KEYS.values())
    checked = 0
    for e in execution.events:
        if e["type"] == "TaskSucceeded" and e["taskSucceededEventDetails"]["resource"] == LAMBDA_INVOKE:
            result = json.loads(e["taskSucceededEventDetails"]["output"])["Payload"]
            assert frozenset(result) in contracts, f"an answer with keys {sorted(result)} is no contract's"
            checked += 1
    assert checked, "no Lambda task succeeded"


def order_created(order: dict) -> dict:
    return eventbridge_event(
        "Order Created",
        "order.service",
        {"eventId": f"{order['orderId']}-created", **event_order(order), "createdAt": "2026-11-27T09:00:00.000Z"},
    )


def event_order(order: dict) -> dict:
    """The order as the Order Created event carries it (no status): order-processing's $.order from UseEventOrder."""
    return {k: order[k] for k in ("orderId", "customerId", "items", "totalAmount")}


def test_order_completes_and_duplicate_is_harmless(aws):
    product = aws.product(available=10)
    order = aws.order([product])
    execution = start_and_wait(aws.sfn, aws.machine("order-processing"), order_created(order))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-3:] == ["Finalize", "WasItAFailure", "OrderFinished"]
    assert_order_intact(execution, event_order(order), after="UseEventOrder")
    assert_contract_keys(execution)
    final = aws.record(order)
    assert final["status"] == "COMPLETED"
    assert aws.history(order) == ["PENDING", "PAID", "INVENTORY_RESERVED", "COMPLETED"]
    assert final["updatedAt"] == final["statusHistory"][-1]["at"]
    assert (final["executionId"], final["claim"]["by"]) == (execution.arn, execution.arn)
    assert final["claim"] == {"by": execution.arn, "status": "COMPLETED", "at": final["updatedAt"]}
    assert execution.visited[-6:-3] == ["CompleteOrder", "PublishCompleted", "ForgetCompletedEvent"]
    assert execution.output["completedEventId"] == final["completedEventId"]
    assert "publishError" not in execution.output and "forgetError" not in execution.output
    assert execution.output["finalized"][0]["notification"] == {
        "status": "SENT",
        "key": f"notifications/{order['orderId']}/order-completed.json",
    }
    assert aws.available(product) == 8
    assert aws.notification_keys(order) == {"order-completed.json"}  # one message, from the workflow
    stored = aws.notification(order, "order-completed.json")
    assert (stored["type"], stored["source"], stored["subject"]) == (
        "order-completed",
        "workflow",
        f"Your order {order['orderId']} is confirmed",
    )
    assert "Total charged: 20.00." in stored["body"], stored["body"]

    duplicate = start_and_wait(aws.sfn, aws.machine("order-processing"), order_created(order))
    assert duplicate.status == "SUCCEEDED", duplicate.cause
    assert duplicate.visited == ["OwnOrder", "DuplicateExecution"]
    assert duplicate.output["error"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
    assert aws.record(order) == final
    assert aws.available(product) == 8


def test_out_of_stock_order_is_refunded_and_cancelled(aws):
    order = aws.order([aws.product(available=10), aws.product(available=1)])
    execution = start_and_wait(aws.sfn, aws.machine("order-processing"), order_created(order))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-6:] == [
        "ClaimCancelled",
        "CheckClaim",
        "UseClaim",
        "Finalize",
        "WasItAFailure",
        "OrderFinished",
    ]
    branch = execution.output["finalized"][0]
    assert (branch["refund"], branch["release"]) == ({"status": "REFUNDED"}, {"status": "NOT_RESERVED"})
    assert_contract_keys(execution)
    assert aws.history(order) == ["PENDING", "PAID", "INVENTORY_UNAVAILABLE", "CANCELLED"]  # no REFUNDED status
    assert aws.payment(order)["status"] == "REFUNDED"
    assert aws.notification_keys(order) == {"order-cancelled.json"}


def test_declined_payment(aws):
    order = aws.order([aws.product(available=10)], customer="customer-declined")
    execution = start_and_wait(aws.sfn, aws.machine("order-processing"), order_created(order))

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-4:] == ["UseDeclineClaim", "Finalize", "WasItAFailure", "OrderFinished"]
    branch = execution.output["finalized"][0]
    assert (branch["refund"], branch["release"]) == ({"status": "NOT_CHARGED"}, {"status": "NOT_RESERVED"})
    assert aws.history(order) == ["PENDING", "PAYMENT_FAILED"]
    assert aws.record(order)["claim"]["by"] == f"payment:{aws.payment(order)['paymentId']}"
    assert aws.notification_keys(order) == {"payment-declined.json"}


def cancellation(order: dict) -> dict:
    return eventbridge_event(
        "Order Cancellation Requested",
        "order.service",
        {
            "eventId": f"{order['orderId']}-cancel",
            "orderId": order["orderId"],
            "customerId": order["customerId"],
            "previousStatus": "INVENTORY_RESERVED",
        },
    )


def test_cancellation_after_payment_refunds_releases_and_is_idempotent(aws):
    product = aws.product(available=10)
    order = aws.order([product])
    ref = {"orderId": order["orderId"], "customerId": order["customerId"]}
    assert aws.invoke("payment", {"action": "charge", "order": ref, "attempt": 0})["status"] == "PAID"
    assert aws.invoke("inventory", {"action": "reserve", "order": ref})["status"] == "RESERVED"
    assert aws.available(product) == 8

    first = start_and_wait(aws.sfn, aws.machine("payment-processing"), cancellation(order))
    assert first.status == "SUCCEEDED", first.cause
    assert first.visited == ["ClassifyRequest", "ClaimForCancellation", "CheckClaim", "Finalize", "Compensated"]
    branch = first.output["finalized"][0]
    assert (branch["refund"], branch["release"], branch["notification"]["status"]) == (
        {"status": "REFUNDED"},
        {"status": "RELEASED"},
        "SENT",
    )
    assert branch["claim"] == {
        "status": "CANCELLED",
        "notification": "order-cancelled",
        "by": f"cancel:{order['orderId']}",
        "reason": "customer cancel",
    }
    assert_contract_keys(first)
    assert aws.history(order) == ["PENDING", "PAID", "INVENTORY_RESERVED", "CANCELLED"]
    assert aws.available(product) == 10
    assert aws.payment(order)["status"] == "REFUNDED"

    second = start_and_wait(aws.sfn, aws.machine("payment-processing"), cancellation(order))  # redelivered
    assert second.status == "SUCCEEDED", second.cause
    branch = second.output["finalized"][0]
    assert (branch["refund"], branch["release"], branch["notification"]["status"]) == (
        {"status": "REFUNDED"},
        {"status": "RELEASED"},
        "DUPLICATE",
    )
    assert aws.available(product) == 10
    assert aws.history(order) == ["PENDING", "PAID", "INVENTORY_RESERVED", "CANCELLED"]
    assert aws.notification_keys(order) == {"order-cancelled.json"}


def test_refund_request_of_a_completed_order_is_refused(aws):
    product = aws.product(available=10)
    order = aws.order([product])
    completed = start_and_wait(aws.sfn, aws.machine("order-processing"), order_created(order))
    assert completed.status == "SUCCEEDED", completed.cause
    request = eventbridge_event(
        "Refund Requested",
        "orderflow.operator",
        {"eventId": f"{order['orderId']}-refund", "orderId": order["orderId"], "customerId": order["customerId"]},
    )
    execution = start_and_wait(aws.sfn, aws.machine("payment-processing"), request)

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited == ["ClassifyRequest", "ClaimForRefund", "CheckClaim", "RefundRefused"]
    assert (execution.output["claimed"], execution.output["refused"], execution.output["orderStatus"]) == (
        False,
        REFUSED,
        "COMPLETED",
    )
    record = aws.record(order)
    assert record["status"] == "COMPLETED"
    assert (record["refundRefusal"]["by"], record["refundRefusal"]["reason"]) == (f"refund:{request['id']}", REFUSED)
    assert aws.payment(order)["status"] == "PAID"
    assert aws.available(product) == 8


def test_sweep_expires_an_ancient_order(aws):
    order = aws.order([aws.product(available=10)], updated_at=ANCIENT)
    sweep = eventbridge_event("Stale Order Sweep Requested", "orderflow.scheduler", {"olderThanMinutes": 525_600})
    execution = start_and_wait(aws.sfn, aws.machine("inventory-management"), sweep)

    assert execution.status == "SUCCEEDED", execution.cause
    assert order["orderId"] in execution.output["expiredOrderIds"]
    assert_contract_keys(execution)
    record = aws.record(order)
    assert aws.history(order) == ["PENDING", "EXPIRED"]
    assert record["claim"]["by"] == f"sweep:{order['orderId']}"
    assert aws.notification_keys(order) == {"order-expired.json"}


def test_restock_once_per_event_with_its_price(aws):
    product = aws.product(available=3)
    event = eventbridge_event(
        "Inventory Restocked",
        "inventory.admin",
        {"eventId": f"restock-{uuid.uuid4().hex[:8]}", "productId": product, "quantity": 4, "price": "12.34"},
    )
    first = start_and_wait(aws.sfn, aws.machine("inventory-management"), event)
    assert first.status == "SUCCEEDED", first.cause
    assert first.output == {"status": "RESTOCKED", "available": 7}
    again = start_and_wait(aws.sfn, aws.machine("inventory-management"), event)
    assert again.output == {"status": "DUPLICATE", "available": 7}
    item = aws.inventory.get_item(Key={"productId": product}, ConsistentRead=True)["Item"]
    assert (item["available"], item["price"]) == (7, Decimal("12.34"))
