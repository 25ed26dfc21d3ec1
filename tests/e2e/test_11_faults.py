"""Technical faults: a flaky payment gateway (PAYMENT_FAULT_RATE=0.3) and poison events.

Flaky gateway: the payment Lambda's PAYMENT_FAULT_RATE is set to 0.3 (update_function_configuration, waited on with
the function_updated_v2 waiter, restored in a finally). Every order still reaches a terminal state (COMPLETED, or
FAILED with compensation when the retries or the circuit breaker give up), none is stuck, and the retries are visible
in the histories: a failed payment task followed by another attempt in the same state visit. The faults are
deterministic per (seed, orderId, attempt), so a fresh PAYMENT_FAULT_SEED per run gives fresh faults.

Poison events: an event that the notification Lambda (a bus rule's target, invoked asynchronously) cannot accept
must end, after Lambda's async retries, in its dead-letter queue (outputs dlq_urls["lambda-notification"]). The same
poison sent by a direct asynchronous invoke exercises the Lambda's DLQ on every cloud. See docs/e2e.md
"Local cloud gaps" for what MiniStack does not dead-letter.
"""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter

import pytest

from scripts.e2e import order_payload

FAULT_RATE = "0.3"
FAULT_ORDERS = 24
# what a technical payment fault is called in a history: the exception class on AWS, one generic name on MiniStack
TECHNICAL_ERRORS = {"PaymentGatewayUnavailable", "CircuitOpenError", "Runtime.HandlerError"}


@pytest.fixture
def flaky_payments(stack):
    with stack.function_environment("payment", {"PAYMENT_FAULT_RATE": FAULT_RATE, "PAYMENT_FAULT_SEED": stack.run_id}) as env:
        yield env


def test_payment_faults_are_retried(stack, scenario, flaky_payments):
    product = stack.name("flaky")
    stack.set_stock(product, FAULT_ORDERS)
    fns = stack.outputs["function_names"]
    payloads = [(order_payload(stack.name(f"c-flaky-{i}"), [(product, 1, "20.00")]), f"flaky gateway {i}")
                for i in range(FAULT_ORDERS)]
    accepted, rejected = stack.submit_many(payloads, workers=8, max_in_flight=stack.max_in_flight, label=scenario.name)
    scenario.track(*accepted)
    assert not rejected, rejected[:3]
    final = stack.wait_terminal(scenario, accepted, timeout=stack.order_timeout * 3)
    statuses = Counter(o["status"] for o in final.values())
    assert set(statuses) <= {"COMPLETED", "FAILED"}, statuses

    retried, executions = 0, {}
    for sub in accepted:
        [execution] = stack.wait_executions(sub.order_id)
        executions[sub.order_id] = execution
        summary = stack.summary(execution["arn"])
        payment_retries = [r for r in summary["retries"] if r["function"] == fns["payment"]]
        retried += bool(payment_retries)
        status = final[sub.order_id]["status"]
        if status == "COMPLETED":
            assert execution["status"] == "SUCCEEDED" and stack.payment(sub.order_id)["status"] == "PAID"
        else:  # FAILED after the retries: compensated, nothing charged or held
            assert execution["status"] == "FAILED", execution
            payment = stack.payment(sub.order_id)
            assert payment is None or payment["status"] in ("REFUNDED", "DECLINED"), payment
            reservation = stack.reservation(sub.order_id)
            assert reservation is None or reservation["status"] == "RELEASED", reservation
            stack.wait_notification(sub.order_id, "order-failed")
        # a failed charge attempt is always followed by another attempt in the same state visit, until the
        # retries run out (then the Catch compensates and the order is FAILED)
        charge_state = next(t["state"] for t in summary["tasks"] if t["function"] == fns["payment"])
        attempts = [t for t in summary["tasks"] if t["state"] == charge_state]
        for earlier, later in zip(attempts, attempts[1:]):
            assert earlier["outcome"] == "FAILED", f"a successful charge was repeated: {attempts}"
        if attempts[-1]["outcome"] == "FAILED":
            assert status == "FAILED" and len(attempts) >= 2, (status, attempts)
        for retry in payment_retries:
            assert set(retry["errors"]) <= TECHNICAL_ERRORS, retry
    scenario.note(f"final statuses {dict(statuses)}; {retried} of {len(accepted)} executions retried the payment task")
    assert retried > 0, "30% faults on every attempt, yet no execution retried"
    completed = statuses.get("COMPLETED", 0)
    assert stack.stock(product) == FAULT_ORDERS - completed


def _dlq_messages(stack, url: str, marker: str, timeout: float) -> list[dict]:
    sqs, found = stack.client("sqs"), []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not found:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2,
                                     VisibilityTimeout=5).get("Messages", []):
            if marker in m["Body"]:
                found.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return found


def test_poison_events_dead_letter(stack, scenario):
    """A "Payment Failed" event whose orderId is not an id: the notification Lambda raises InvalidTaskInput on every
    attempt; after Lambda's asynchronous retries the event lands in the function's DLQ (dlq_urls lambda-notification).
    Sent twice: through the bus (the "notifications" rule's Lambda target) and by a direct asynchronous invoke."""
    url = stack.outputs["dlq_urls"]["lambda-notification"]
    marker = stack.name("poison")
    poison = {"orderId": "not a valid id!", "customerId": marker, "reason": "e2e poison event"}
    stack.put_event("payment.service", "Payment Failed", {**poison, "eventId": f"{marker}-bus"})
    direct = {"version": "0", "id": f"{marker}-direct", "detail-type": "Payment Failed", "source": "payment.service",
              "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": stack.outputs["region"],
              "resources": [], "detail": {**poison, "eventId": f"{marker}-direct"}}
    resp = stack.client("lambda").invoke(FunctionName=stack.outputs["function_names"]["notification"],
                                          InvocationType="Event", Payload=json.dumps(direct).encode())
    assert resp["StatusCode"] == 202, resp

    timeout = 60 if stack.local else 420  # AWS retries an async invoke after ~1 and ~2 more minutes
    assert _dlq_messages(stack, url, f"{marker}-direct", timeout), \
        f"the poisoned async invoke did not reach {url} within {timeout}s"
    scenario.note("direct async invoke: dead-lettered to the lambda-notification DLQ")
    if stack.local:
        # NOT ASSERTED on the local cloud (docs/e2e.md "Local cloud gaps"): MiniStack 1.5.33 delivers a Lambda rule
        # target once, in a thread, bypassing Lambda's async retries and DLQ, and never uses EventBridge target
        # DLQs, so the bus path cannot dead-letter locally. On AWS the assertion below runs.
        scenario.note("bus path NOT asserted: MiniStack never dead-letters EventBridge -> Lambda deliveries")
        warnings.warn("poison bus event -> DLQ not asserted on MiniStack (docs/e2e.md, Local cloud gaps)")
        return
    assert _dlq_messages(stack, url, f"{marker}-bus", timeout), f"the poison event did not reach {url} within {timeout}s"
    scenario.note("bus event: dead-lettered to the lambda-notification DLQ")
