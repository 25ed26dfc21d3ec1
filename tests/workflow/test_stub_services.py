"""The definitions' Lambda payloads, as the emulator renders them, against the services' real contracts.

A mocked task (test_order_processing.py & co.) skips its Parameters, so no mocked test can catch a wrong path, a
context-object field or an intrinsic the emulator evaluates differently. Here every Lambda is a small stub that
answers by a script keyed on the order id (the contract's answer shape, every key present) and echoes what it
received; the executions run on MiniStack and each test then
1. asserts the path, the outcome and every payload the definitions sent, literally (from the execution history:
   the stubs' `received`), and the stubs' answer keys against workflow_harness.CONTRACT_KEYS;
2. hands every captured payload to the services' REAL handlers in process (real_services.py, moto): each must pass
   their input validation and answer exactly the contract's keys -- the keys the stubs and mock_config.json answer.

The workflows' service integrations run for real against the emulator: OwnOrder (an order is seeded before each
order-processing run; the test asserts the owner it recorded, and a duplicate execution's refusal), CompleteOrder's
transaction (the stored order, its claim and its outbox entries are asserted), PublishCompleted (the event reaches a
queue through a rule of the stub bus), ForgetCompletedEvent and the finalize fragment's Settle. The other status
writes are the order service's (services/order/saga.py): tests/unit (moto), tests/simulation (every branch, races)
and test_deployed_stack.py (the real Lambdas on the emulator) cover them.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from typing import Any

import pytest
from real_services import real_services
from workflow_harness import (
    CONTRACT_KEYS,
    EVENT_ACTIONS,
    LAMBDA_INVOKE,
    REGION,
    client,
    contracts,
    create_or_update_state_machine,
    create_python_function,
    eventbridge_event,
    start_and_wait,
)

# per pytest-xdist worker, so parallel workers never reconfigure each other's stub functions
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
PROJECT = f"wfstub{WORKER}"
ENV = "local"
MACHINES = {
    "order-processing": f"OrderProcessingStubRun{WORKER}",
    "payment-processing": f"PaymentProcessingStubRun{WORKER}",
    "inventory-management": f"InventoryManagementStubRun{WORKER}",
}
RUN = uuid.uuid4().hex[:8]
CUSTOMER = "cust-stub"
STALE_SINCE = "2020-01-01T00:00:00.000Z"
#: the stub stack's bus (scripts/render.bus_name's convention) and the queue a rule copies "Order Completed" into
BUS = f"{PROJECT}-{ENV}-bus"
TAP = f"{PROJECT}-completed-tap"
#: the namespace of every orderflow eventId: uuid5(NAMESPACE_URL, "urn:orderflow:event")
EVENT_NAMESPACE = uuid.UUID("f73e26d7-7a2c-571b-92db-206d66d4da91")

STUB_SOURCE = """
import os

SERVICE = os.environ["STUB_SERVICE"]
RUN = os.environ["STUB_RUN"]
NOTIFICATION = {"COMPLETED": "order-completed", "PAYMENT_FAILED": "payment-declined", "CANCELLED": "order-cancelled",
                "FAILED": "order-failed", "EXPIRED": "order-expired"}
REFUSED = "order COMPLETED: its goods are reserved for delivery; a refund needs a return"


class StubFault(Exception):
    pass


def stored(ref, status="PENDING"):
    return {"orderId": ref["orderId"], "customerId": ref["customerId"], "status": status,
            "items": [{"productId": "prod-1", "quantity": 2, "price": "19.99"}], "totalAmount": "39.98"}


def claim(status, by, reason):
    return {"status": status, "notification": NOTIFICATION[status], "by": by, "reason": reason}


def charge(status, payment_id=None, reason=None, retry_after=None, claim_=None):
    return {"status": status, "paymentId": payment_id, "amount": "39.98", "reason": reason,
            "retryAfterSeconds": retry_after, "claim": claim_}


def answer(event):
    action = event.get("action")
    ref = event.get("order") or {}
    oid = ref.get("orderId", "")
    if SERVICE == "order" and action == "claim":
        if event.get("request") == "refund" and oid.startswith("done-"):
            return {"claimed": False, "refused": REFUSED, "orderStatus": "COMPLETED", "order": stored(ref, "COMPLETED"),
                    "claim": claim("COMPLETED", "first-run", "order completed")}
        target = event["target"]
        return {"claimed": True, "refused": None, "orderStatus": target, "order": stored(ref, target),
                "claim": claim(target, event["by"], event["reason"])}
    if SERVICE == "order" and action == "find_stale":
        stale = {"orderId": "stale-" + RUN, "customerId": "cust-stub", "unchangedSince": "2020-01-01T00:00:00.000Z"}
        resume = stored({"orderId": "resume-" + RUN, "customerId": "cust-stub"}, "CANCELLED")
        resumed = claim("CANCELLED", "cancel:" + resume["orderId"], "customer cancel")
        return {"orders": [stale], "nextToken": None, "resume": [{"order": resume, "claim": resumed}],
                "republished": 0}
    if SERVICE == "payment" and action == "charge":
        if oid.startswith("park-"):
            if event["attempt"] == 0:
                return charge("RETRY_LATER", reason="CircuitOpenError", retry_after=1)
            if event["attempt"] == 1:
                raise StubFault("payments table throttled on attempt 1")
        return charge("PAID", payment_id="pay-" + oid)
    if SERVICE == "payment" and action == "refund":
        return {"status": "REFUNDED", "paymentId": "pay-" + oid, "refundId": "ref-" + oid}
    if SERVICE == "inventory" and action == "reserve":
        if oid.startswith("explode-"):
            raise StubFault("inventory table unavailable")
        if oid.startswith("short-"):
            return {"status": "UNAVAILABLE", "shortItems": [{"productId": "prod-1", "requested": 2, "available": 1}]}
        return {"status": "RESERVED", "shortItems": []}
    if SERVICE == "inventory" and action == "release":
        return {"status": "RELEASED"}
    if SERVICE == "inventory" and event.get("detail-type") == "Inventory Restocked":
        return {"status": "RESTOCKED", "available": 10 + event["detail"]["quantity"]}
    if SERVICE == "notification" and action == "notify":
        return {"status": "SENT", "key": "notifications/%s/%s.json" % (oid, event["type"])}
    raise RuntimeError("%s stub: unexpected event %r" % (SERVICE, event))


def lambda_handler(event, context):
    return {**answer(event), "received": event, "stub": SERVICE}
"""


@pytest.fixture(scope="module")
def stub_stack(local_cloud, sfn, account_id, emulator_settings, tmp_path_factory):
    from scripts.render import render_workflows

    lam = client("lambda", local_cloud)
    ddb = client("dynamodb", local_cloud)
    for table in ("orders", "outbox"):  # OwnOrder and CompleteOrder write the order, Settle deletes the duty
        with contextlib.suppress(ddb.exceptions.ResourceInUseException):
            ddb.create_table(**_table_request(table))
    events, sqs = client("events", local_cloud), client("sqs", local_cloud)
    with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=BUS)
    queue = sqs.create_queue(QueueName=TAP)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=TAP,
        EventBusName=BUS,
        EventPattern=json.dumps({"source": ["order.service"], "detail-type": ["Order Completed"]}),
    )
    events.put_targets(Rule=TAP, EventBusName=BUS, Targets=[{"Id": "tap", "Arn": queue_arn}])
    for service in ("payment", "inventory", "order", "notification"):
        create_python_function(
            lam, f"{PROJECT}-{ENV}-{service}", STUB_SOURCE, env={"STUB_SERVICE": service, "STUB_RUN": RUN}
        )
    paths = render_workflows(
        ENV, region=REGION, account_id=account_id, project=PROJECT, out_dir=tmp_path_factory.mktemp("rendered-stub")
    )
    machines = {
        workflow: create_or_update_state_machine(sfn, MACHINES[workflow], json.loads(path.read_text()))
        for workflow, path in paths.items()
    }
    yield machines

    # Leave the emulator as we found it: a developer's long-running local cloud must not collect test stubs.
    logs = client("logs", local_cloud)
    for arn in machines.values():
        sfn.delete_state_machine(stateMachineArn=arn)
    for table in ("orders", "outbox"):
        ddb.delete_table(TableName=_table_request(table)["TableName"])
    events.remove_targets(Rule=TAP, EventBusName=BUS, Ids=["tap"])
    events.delete_rule(Name=TAP, EventBusName=BUS)
    events.delete_event_bus(Name=BUS)
    sqs.delete_queue(QueueUrl=queue)
    for service in ("payment", "inventory", "order", "notification"):
        name = f"{PROJECT}-{ENV}-{service}"
        lam.delete_function(FunctionName=name)
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")


def _table_request(table: str) -> dict[str, Any]:
    """A table of the stub stack (`<PROJECT>-<ENV>-<table>`), as the contract defines it (scripts/tables.py)."""
    from scripts import tables

    [request] = [r for r in tables.create_table_requests(f"{PROJECT}-{ENV}") if r["TableName"].endswith(f"-{table}")]
    return request


def completed_event_id(order_id: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{order_id}|Order Completed"))


def put_order(local_cloud, order_id: str) -> None:
    """The order as the stubs would leave it reserved (they write nothing): what OwnOrder's condition and return and
    CompleteOrder's condition read -- the key, INVENTORY_RESERVED, the completedEventId create writes."""
    client("dynamodb", local_cloud).put_item(
        TableName=_table_request("orders")["TableName"],
        Item={
            "orderId": {"S": order_id},
            "customerId": {"S": CUSTOMER},
            "status": {"S": "INVENTORY_RESERVED"},
            "statusHistory": {"L": []},
            "version": {"N": "3"},
            "liveShard": {"S": "live#1"},
            "completedEventId": {"S": completed_event_id(order_id)},
        },
    )


def stored_order(local_cloud, order_id: str) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    item = client("dynamodb", local_cloud).get_item(
        TableName=_table_request("orders")["TableName"],
        Key={"orderId": {"S": order_id}, "customerId": {"S": CUSTOMER}},
        ConsistentRead=True,
    )["Item"]
    return {k: TypeDeserializer().deserialize(v) for k, v in item.items()}


def outbox_ids(local_cloud) -> set[str]:
    items = client("dynamodb", local_cloud).scan(TableName=_table_request("outbox")["TableName"], ConsistentRead=True)
    return {i["id"]["S"] for i in items["Items"]}


def tapped_events(local_cloud, order_id: str) -> list[dict[str, Any]]:
    """The "Order Completed" events of `order_id` the stub bus delivered to the tap queue (polled with a deadline)."""
    from scripts.polling import wait_until

    sqs = client("sqs", local_cloud)
    queue = sqs.get_queue_url(QueueName=TAP)["QueueUrl"]
    found: list[dict[str, Any]] = []

    def received() -> bool:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            event = json.loads(message["Body"])
            if event["detail"].get("orderId") == order_id:
                found.append(event)
        return bool(found)

    wait_until(received, timeout=20, interval=0.1, what=f"Order Completed of {order_id} on the tap queue")
    return found


def owner(local_cloud, order_id: str) -> str | None:
    """The execution OwnOrder recorded on the order (executionId), or None."""
    item = client("dynamodb", local_cloud).get_item(
        TableName=_table_request("orders")["TableName"],
        Key={"orderId": {"S": order_id}, "customerId": {"S": CUSTOMER}},
        ConsistentRead=True,
    )["Item"]
    return item.get("executionId", {}).get("S")


def start_order(sfn, stub_stack, local_cloud, order_id: str):
    """Run order-processing for a stored order; OwnOrder must have made this execution its owner."""
    put_order(local_cloud, order_id)
    execution = start_and_wait(sfn, stub_stack["order-processing"], order_created(order_id))
    assert owner(local_cloud, order_id) == execution.arn
    return execution


def assert_settled(local_cloud, execution, order_id: str, deletes: int = 1) -> None:
    """The finalize fragment's Settle ran as one DynamoDB deleteItem (no Lambda: MiniStack records the task with its
    resource and output, not its parameters) -- a completed order's ForgetCompletedEvent is the other of its
    `deletes` -- the branch recorded SETTLED, and the order's duty -- the key rendered from
    shared.outbox.finalize_id -- is gone from the outbox table."""
    from shared import outbox

    settles = [
        json.loads(e["taskSucceededEventDetails"]["output"])
        for e in execution.events
        if e["type"] == "TaskSucceeded"
        and e["taskSucceededEventDetails"]["resource"] == "arn:aws:states:::dynamodb:deleteItem"
    ]
    assert settles == [{}] * deletes, settles
    assert execution.output["finalized"][0]["settled"] == {"status": "SETTLED"}
    duty = {"id": {"S": outbox.finalize_id(order_id)}}
    table = _table_request("outbox")["TableName"]
    assert "Item" not in client("dynamodb", local_cloud).get_item(TableName=table, Key=duty, ConsistentRead=True)


def stored(order_id: str, status: str = "PENDING") -> dict[str, Any]:
    """The stored order as the order stub answers it."""
    return {
        "orderId": order_id,
        "customerId": CUSTOMER,
        "status": status,
        "items": [{"productId": "prod-1", "quantity": 2, "price": "19.99"}],
        "totalAmount": "39.98",
    }


def event_order(order_id: str) -> dict[str, Any]:
    """$.order of order-processing (UseEventOrder): the order as its Order Created event carries it."""
    return {
        "orderId": order_id,
        "customerId": CUSTOMER,
        "items": [{"productId": "prod-1", "quantity": 2, "price": "19.99"}],
        "totalAmount": "39.98",
    }


def ref(order_id: str) -> dict[str, str]:
    return {"orderId": order_id, "customerId": CUSTOMER}


def order_created(order_id: str) -> dict:
    return eventbridge_event(
        "Order Created",
        "order.service",
        {
            "eventId": f"{order_id}-created",
            "orderId": order_id,
            "customerId": CUSTOMER,
            "items": [{"productId": "prod-1", "quantity": 2, "price": "19.99"}],
            "totalAmount": "39.98",
            "createdAt": "2026-11-27T09:00:00Z",
        },
    )


def calls(execution) -> list[tuple[str, dict, dict]]:
    """(service, payload received, answer without the echo) of every successful Lambda task, in order (nested
    ones included: MiniStack records the task events of Map iterations and Parallel branches)."""
    found = []
    for event in execution.events:
        details = event.get("taskSucceededEventDetails")
        if event["type"] == "TaskSucceeded" and details["resource"] == LAMBDA_INVOKE:
            payload = dict(json.loads(details["output"])["Payload"])
            found.append((payload.pop("stub"), payload.pop("received"), payload))
    return found


def action_of(service: str, payload: dict) -> str:
    return payload.get("action") or EVENT_ACTIONS[service]


def finalize(service_order: dict, claim_status: str, reason: str, *, notify: str) -> list[tuple[str, dict]]:
    """The payloads of the finalize fragment for a compensable claim."""
    return [
        ("payment", {"action": "refund", "order": service_order, "reason": reason}),
        ("inventory", {"action": "release", "order": service_order}),
        (
            "notification",
            {
                "action": "notify",
                "type": notify,
                "order": service_order,
                "details": {"status": claim_status, "reason": reason},
            },
        ),
    ]


def check_against_real_services(monkeypatch, captured, statuses: dict[int, str] | None = None) -> list[Any]:
    """Every stub answer and every real answer has the contract's keys, every payload the definitions sent is a
    request of its task contract (services/shared/schemas/tasks; a whole event has the event's contract) and every
    real answer a result of it; returns the real answers."""
    for service, payload, answer in captured:
        assert set(answer) == CONTRACT_KEYS[(service, action_of(service, payload))], (service, payload)
        contract = contracts.task_for(service, payload)
        if payload.get("action") is not None:
            assert contracts.task_violations(contract.name, contracts.REQUEST, payload) == [], (service, payload)
    real = []
    with real_services(monkeypatch) as services:
        for index, (service, payload, answer) in enumerate(captured):
            result = services.call(service, payload, status=(statuses or {}).get(index))
            assert set(result) == set(answer), f"{service} {payload}: real {sorted(result)} != stub {sorted(answer)}"
            name = contracts.task_for(service, payload).name
            assert contracts.task_violations(name, contracts.RESULT, result) == [], f"{service} {payload}: {result}"
            real.append(result)
    return real


def test_happy_path_payloads(sfn, stub_stack, monkeypatch, local_cloud):
    oid = f"ok-{RUN}"
    execution = start_order(sfn, stub_stack, local_cloud, oid)

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[:2] == ["OwnOrder", "UseEventOrder"]
    assert execution.visited[-3:] == ["Finalize", "WasItAFailure", "OrderFinished"]
    assert execution.visited[-6:-3] == ["CompleteOrder", "PublishCompleted", "ForgetCompletedEvent"]
    captured = calls(execution)
    assert [(s, p) for s, p, _ in captured] == [
        ("payment", {"action": "charge", "order": event_order(oid), "attempt": 0}),
        ("inventory", {"action": "reserve", "order": event_order(oid)}),
        (
            "notification",
            {
                "action": "notify",
                "type": "order-completed",
                "order": event_order(oid),
                "details": {"status": "COMPLETED", "reason": "order completed"},
            },
        ),
    ]
    real = check_against_real_services(monkeypatch, captured)
    assert [r.get("status") for r in real] == ["PAID", "RESERVED", "SENT"]
    # CompleteOrder's transaction, as the emulator ran it
    order = stored_order(local_cloud, oid)
    at = order["updatedAt"]
    assert len(at) == 24 and at.endswith("Z")  # $$.State.EnteredTime: the format shared.clock writes
    assert {k: order[k] for k in ("status", "version", "claim", "statusHistory", "executionId")} == {
        "status": "COMPLETED",
        "version": 4,
        "claim": {"by": execution.arn, "status": "COMPLETED", "at": at},
        "statusHistory": [{"status": "COMPLETED", "at": at, "reason": "order completed"}],
        "executionId": execution.arn,
    }
    assert "liveShard" not in order
    [event] = tapped_events(local_cloud, oid)
    assert (event["source"], event["detail-type"]) == ("order.service", "Order Completed")
    assert event["detail"] == {
        "eventId": completed_event_id(oid),
        "orderId": oid,
        "customerId": CUSTOMER,
        "totalAmount": "39.98",
    }
    assert not {completed_event_id(oid), f"{oid}#finalize"} & outbox_ids(local_cloud)  # both entries settled
    assert_settled(local_cloud, execution, oid, deletes=2)


def test_a_duplicate_execution_ends_at_ownorder_and_calls_nothing(sfn, stub_stack, local_cloud):
    """The same Order Created delivered twice: the second execution's OwnOrder fails its condition (the order has an
    owner), the execution succeeds at DuplicateExecution having invoked no Lambda, and the owner stays the first."""
    oid = f"dup-{RUN}"
    first = start_order(sfn, stub_stack, local_cloud, oid)
    second = start_and_wait(sfn, stub_stack["order-processing"], order_created(oid))

    assert first.status == "SUCCEEDED", first.cause
    assert second.status == "SUCCEEDED", second.cause
    assert second.visited == ["OwnOrder", "DuplicateExecution"]
    assert second.output["error"]["Error"] == "DynamoDB.ConditionalCheckFailedException"
    assert calls(second) == []
    assert owner(local_cloud, oid) == first.arn


def test_parked_then_retried_charge(sfn, stub_stack, monkeypatch, local_cloud):
    """Wait (SecondsPath), States.MathAdd of the parks and $$.State.RetryCount, and a handler error retried
    (on MiniStack as Runtime.HandlerError, thanks to the emulator workaround in ${LambdaRetry})."""
    oid = f"park-{RUN}"
    execution = start_order(sfn, stub_stack, local_cloud, oid)

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[:9] == [
        "OwnOrder",
        "UseEventOrder",
        "ProcessPayment",
        "CheckPaymentStatus",
        "CountParking",
        "WithinParkingBudget",
        "WaitForGateway",
        "ProcessPayment",
        "CheckPaymentStatus",
    ]
    assert execution.task_failures() == ["Runtime.HandlerError"]
    charges = [p for s, p, _ in calls(execution) if p.get("action") == "charge"]
    # the second entry: parks 1 + RetryCount 0 (raised), then parks 1 + RetryCount 1
    assert charges == [
        {"action": "charge", "order": event_order(oid), "attempt": 0},
        {"action": "charge", "order": event_order(oid), "attempt": 2},
    ]
    assert execution.output["parking"] == {"waitedSeconds": 1, "parks": 1}
    check_against_real_services(monkeypatch, calls(execution))


def test_short_stock_claims_cancelled_and_compensates(sfn, stub_stack, monkeypatch, local_cloud):
    oid = f"short-{RUN}"
    execution = start_order(sfn, stub_stack, local_cloud, oid)

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited[-6:] == [
        "ClaimCancelled",
        "CheckClaim",
        "UseClaim",
        "Finalize",
        "WasItAFailure",
        "OrderFinished",
    ]
    captured = calls(execution)
    assert [(s, p) for s, p, _ in captured][2:] == [
        (
            "order",
            {
                "action": "claim",
                "order": ref(oid),
                "target": "CANCELLED",
                "by": execution.arn,
                "reason": "insufficient stock",
            },
        ),
        *finalize(event_order(oid), "CANCELLED", "insufficient stock", notify="order-cancelled"),
    ]
    real = check_against_real_services(monkeypatch, captured)
    assert real[2]["claimed"] is True and real[2]["claim"]["reason"] == "insufficient stock"


def test_fault_claims_failed_compensates_and_fails(sfn, stub_stack, monkeypatch, local_cloud):
    oid = f"explode-{RUN}"
    execution = start_order(sfn, stub_stack, local_cloud, oid)

    assert execution.status == "FAILED"
    assert execution.error == "OrderProcessingFailed"
    assert execution.task_failures() == ["Runtime.HandlerError"] * 8  # 1 + MaxAttempts 7
    reason = "technical failure: Runtime.HandlerError"
    captured = calls(execution)
    assert [(s, p) for s, p, _ in captured][1:] == [
        ("order", {"action": "claim", "order": ref(oid), "target": "FAILED", "by": execution.arn, "reason": reason}),
        *finalize(event_order(oid), "FAILED", reason, notify="order-failed"),
    ]
    real = check_against_real_services(monkeypatch, captured)
    assert real[1]["claim"] == {
        "status": "FAILED",
        "notification": "order-failed",
        "by": execution.arn,
        "reason": reason,
    }


def test_cancellation_confirms_the_customers_claim(sfn, stub_stack, monkeypatch):
    oid = f"cx-{RUN}"
    event = eventbridge_event(
        "Order Cancellation Requested",
        "order.service",
        {"eventId": f"{oid}-cancel", "orderId": oid, "customerId": CUSTOMER, "previousStatus": "PAID"},
    )
    execution = start_and_wait(sfn, stub_stack["payment-processing"], event)

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited == ["ClassifyRequest", "ClaimForCancellation", "CheckClaim", "Finalize", "Compensated"]
    captured = calls(execution)
    # the finalize works on the order the claim answered
    assert [(s, p) for s, p, _ in captured] == [
        (
            "order",
            {
                "action": "claim",
                "order": ref(oid),
                "target": "CANCELLED",
                "by": f"cancel:{oid}",
                "reason": "customer cancel",
            },
        ),
        *finalize(stored(oid, "CANCELLED"), "CANCELLED", "customer cancel", notify="order-cancelled"),
    ]
    check_against_real_services(monkeypatch, captured)


def test_refund_request_of_a_completed_order_is_refused(sfn, stub_stack, monkeypatch):
    oid = f"done-{RUN}"
    event = eventbridge_event(
        "Refund Requested", "orderflow.operator", {"eventId": f"{oid}-refund", "orderId": oid, "customerId": CUSTOMER}
    )
    execution = start_and_wait(sfn, stub_stack["payment-processing"], event)

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.visited == ["ClassifyRequest", "ClaimForRefund", "CheckClaim", "RefundRefused"]
    captured = calls(execution)
    assert [(s, p) for s, p, _ in captured] == [
        (
            "order",
            {
                "action": "claim",
                "order": ref(oid),
                "target": "CANCELLED",
                "request": "refund",
                "by": f"refund:evt-{oid}-refund",
                "reason": "operator refund request",
            },
        )
    ]
    real = check_against_real_services(monkeypatch, captured, statuses={0: "COMPLETED"})
    assert (real[0]["claimed"], real[0]["refused"]) == (False, execution.output["refused"])


def test_sweep_expires_and_resumes(sfn, stub_stack, monkeypatch):
    stale, resume = f"stale-{RUN}", f"resume-{RUN}"
    sweep = eventbridge_event("Stale Order Sweep Requested", "orderflow.scheduler", {"olderThanMinutes": 30})
    execution = start_and_wait(sfn, stub_stack["inventory-management"], sweep)

    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {
        "expired": 1,
        "skipped": 0,
        "resumed": 1,
        "failed": 0,
        "republished": 0,
        "pages": 1,
        "nextToken": None,
        "expiredOrderIds": [stale],
        "skippedOrderIds": [],
        "resumedOrderIds": [resume],
        "failedExpiredIds": [],
        "failedResumedIds": [],
    }
    captured = calls(execution)
    assert [(s, p) for s, p, _ in captured] == [
        ("order", {"action": "find_stale", "olderThanMinutes": 30, "limit": 25, "nextToken": None}),
        (
            "order",
            {
                "action": "claim",
                "order": ref(stale),
                "target": "EXPIRED",
                "by": f"sweep:{stale}",
                "reason": "stale order expired",
                "unchangedSince": STALE_SINCE,
            },
        ),
        *finalize(stored(stale, "EXPIRED"), "EXPIRED", "stale order expired", notify="order-expired"),
        *finalize(stored(resume, "CANCELLED"), "CANCELLED", "customer cancel", notify="order-cancelled"),
    ]
    real = check_against_real_services(monkeypatch, captured)
    assert real[1]["claimed"] is True  # the order was unchanged since the query: the sweep's claim holds


def test_default_sweep_threshold_is_null(sfn, stub_stack):
    sweep = eventbridge_event("Stale Order Sweep Requested", "orderflow.scheduler", {})
    execution = start_and_wait(sfn, stub_stack["inventory-management"], sweep)
    assert execution.status == "SUCCEEDED", execution.cause
    assert calls(execution)[0][1] == {"action": "find_stale", "olderThanMinutes": None, "limit": 25, "nextToken": None}


def test_restock_sends_the_event(sfn, stub_stack, monkeypatch):
    event = eventbridge_event(
        "Inventory Restocked",
        "inventory.admin",
        {"eventId": f"r-{RUN}", "productId": "prod-1", "quantity": 5, "price": "21.50"},
    )
    execution = start_and_wait(sfn, stub_stack["inventory-management"], event)
    assert execution.status == "SUCCEEDED", execution.cause
    assert execution.output == {"status": "RESTOCKED", "available": 15}
    captured = calls(execution)
    assert [(s, p) for s, p, _ in captured] == [("inventory", event)]
    with real_services(monkeypatch) as services:
        assert services.call("inventory", event) == {"status": "RESTOCKED", "available": 5}
        assert services.inventory.get_item(Key={"productId": "prod-1"})["Item"]["price"] == 21.5  # price applied
