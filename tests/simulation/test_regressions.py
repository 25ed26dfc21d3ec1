"""One named regression test per defect of the saga-correctness issue, each a hand-written interleaving run on the
rendered workflows and the real services (tests/simulation/scripted.py). Expected amounts and stock are literals."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.simulation import invariants

ALICE = "alice"


@pytest.fixture
def shop(harness):  # type: ignore[no-untyped-def]
    harness.product("p1", 1, "25.00")
    harness.product("p2", 5, "9.99")
    return harness


def _assert_compensated(h, order_id: str, status: str, notification: str) -> None:  # type: ignore[no-untyped-def]
    order = h.stored(order_id)
    assert order["status"] == status
    assert [e["status"] for e in h.ledger(order_id) if e["status"] == "AUTHORIZED"] == []
    row = h.payment(order_id)
    assert row is None or row["status"] in ("REFUNDED", "VOIDED", "DECLINED")
    assert h.notifications(order_id) == [notification]
    assert h.outbox() == []


def test_client_price_is_ignored_and_payment_charges_the_catalogue(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p2", 3)])
    shop.execution(shop.take("Order Created")).finish()
    assert shop.stored(order_id)["status"] == "COMPLETED"
    assert shop.stored(order_id)["totalAmount"] == Decimal("29.97")
    assert [(e["status"], e["amount"]) for e in shop.ledger(order_id)] == [("AUTHORIZED", Decimal("29.97"))]
    assert shop.stock("p2") == (2, 3)


def test_operator_refund_racing_the_workflow_before_completion(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p1", 1)])
    saga = shop.execution(shop.take("Order Created")).run_until("CompleteOrder")  # charged and reserved
    refund = shop.refund_request(order_id, ALICE).finish()
    assert refund.status == "SUCCEEDED"
    saga.finish()
    # the transaction's condition refuses the completion, then the refund's claim refuses ClaimFailed's: ends quietly
    assert saga.status == "SUCCEEDED" and saga.states[-2:] == ["CompleteOrder", "ClaimFailed"]
    _assert_compensated(shop, order_id, "CANCELLED", "order-cancelled.json")
    assert [e["status"] for e in shop.ledger(order_id)] == ["REFUNDED"]
    assert shop.stock("p1") == (1, 0)


def test_operator_refund_of_a_completed_order_is_refused_and_recorded(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p1", 1)])
    shop.execution(shop.take("Order Created")).finish()
    refund = shop.refund_request(order_id, ALICE).finish()
    assert refund.status == "SUCCEEDED" and refund.output["refused"].startswith("order COMPLETED")
    order = shop.stored(order_id)
    assert order["status"] == "COMPLETED" and order["refundRefusal"]["reason"].startswith("order COMPLETED")
    assert [e["status"] for e in shop.ledger(order_id)] == ["AUTHORIZED"]
    assert shop.stock("p1") == (0, 1)
    assert shop.notifications(order_id) == ["order-completed.json"]


def test_customer_cancel_racing_the_charge_voids_the_intent(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p1", 1)])
    saga = shop.execution(shop.take("Order Created")).run_until("ProcessPayment")
    assert shop.cancel(order_id, ALICE) == 202
    saga.finish()
    assert saga.states[-1] == "ProcessPayment"  # NOT_PAYABLE: the canceller's claim owns the money
    assert shop.ledger(order_id) == []  # the gateway never saw the key
    shop.drain()  # payment-processing confirms the cancel and finalizes
    _assert_compensated(shop, order_id, "CANCELLED", "order-cancelled.json")
    assert shop.payment(order_id)["status"] == "VOIDED"


def test_cancel_whose_publish_fails_is_still_compensated(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p1", 1)])
    shop.execution(shop.take("Order Created")).run_until("CompleteOrder")
    assert shop.cancel(order_id, ALICE, publish_fails=True) == 202
    assert [e for e in shop.events if e["detail-type"] == "Order Cancellation Requested"] == []
    assert len(shop.outbox()) == 2  # the event and the finalize duty wait for the sweep
    shop.cloud.advance(300)
    shop.sweep()  # republishes the event and resumes the duty
    shop.drain()
    _assert_compensated(shop, order_id, "CANCELLED", "order-cancelled.json")
    assert [e["status"] for e in shop.ledger(order_id)] == ["REFUNDED"]
    assert shop.stock("p1") == (1, 0)


def test_order_created_whose_publish_fails_is_delivered_by_the_sweep(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p2", 1)], publish_fails=True)
    assert shop.events == [] and shop.stored(order_id)["status"] == "PENDING"  # the bus saw nothing
    shop.cloud.advance(300)
    assert shop.sweep().output["republished"] == 1
    shop.drain()
    assert shop.stored(order_id)["status"] == "COMPLETED"


def test_duplicate_execution_ends_at_once_even_when_it_would_fault(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p1", 1)])
    event = shop.take("Order Created")
    first = shop.execution(event).run_until("CompleteOrder")
    second = shop.execution(event, ProcessPayment=["PaymentGatewayUnavailable"] * 10).finish()
    assert second.states == ["OwnOrder"] and second.status == "SUCCEEDED"
    first.finish()
    assert shop.stored(order_id)["status"] == "COMPLETED"
    assert shop.stock("p1") == (0, 1)
    assert [e["status"] for e in shop.ledger(order_id)] == ["AUTHORIZED"]


def test_retry_after_a_timeout_that_charged_does_not_charge_twice(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p2", 2)])
    saga = shop.execution(shop.take("Order Created")).run_until("ProcessPayment")
    saga.step()  # the charge runs ...
    saga.run_until("ReserveInventory")
    charge = shop.cloud.invoke(
        "payment", {"action": "charge", "order": {"orderId": order_id, "customerId": ALICE}, "attempt": 1}
    )  # ... and a retry after a lost response charges again
    assert charge["status"] == "PAID"
    saga.finish()
    assert [(e["status"], e["amount"]) for e in shop.ledger(order_id)] == [("AUTHORIZED", Decimal("19.98"))]


def test_open_circuit_parks_the_order_until_the_gateway_recovers(shop, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PAYMENT_FAULT_RATE", "1")
    order_id = shop.order(ALICE, [("p2", 1)])
    saga = shop.execution(shop.take("Order Created"))
    for _ in range(5):  # the gateway keeps failing: RETRY_LATER, wait, again; the breaker opens
        saga.run_until("ProcessPayment").step()
    monkeypatch.setenv("PAYMENT_FAULT_RATE", "0")
    saga.finish()
    assert saga.states.count("ProcessPayment") >= 6
    assert shop.stored(order_id)["status"] == "COMPLETED"


def test_an_order_waits_for_the_gateway_only_within_its_budget(shop, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PAYMENT_FAULT_RATE", "1")
    order_id = shop.order(ALICE, [("p2", 1)])
    saga = shop.execution(shop.take("Order Created")).finish()
    assert saga.status == "FAILED" and saga.error == "OrderProcessingFailed"
    _assert_compensated(shop, order_id, "FAILED", "order-failed.json")
    assert shop.stock("p2") == (5, 0)


def test_transient_aws_errors_are_retried_in_every_task(shop) -> None:  # type: ignore[no-untyped-def]
    transient = ["TransientAwsError", "Lambda.TooManyRequestsException", "Sandbox.Timedout", "Lambda.Unknown"]
    # OwnOrder and Settle are DynamoDB integrations (no Lambda): DynamoDB's transient errors are what they retry
    table_transient = [
        "DynamoDB.ProvisionedThroughputExceededException",
        "DynamoDB.ThrottlingException",
        "DynamoDB.InternalServerErrorException",
        "States.Timeout",
    ]
    # CompleteOrder is the AWS SDK integration (DynamoDb.<exception>), PublishCompleted the EventBridge one
    transaction_transient = [
        "DynamoDb.ProvisionedThroughputExceededException",
        "DynamoDb.ThrottlingException",
        "DynamoDb.InternalServerErrorException",
        "States.Timeout",
    ]
    events_transient = ["EventBridge.FailedEntry", "EventBridge.InternalException", "States.Timeout"]
    order_id = shop.order(ALICE, [("p1", 1)])
    saga = shop.execution(
        shop.take("Order Created"),
        OwnOrder=list(table_transient),
        ProcessPayment=list(transient),
        ReserveInventory=list(transient),
        CompleteOrder=list(transaction_transient),
        PublishCompleted=list(events_transient),
        ForgetCompletedEvent=list(table_transient),
        NotifyOutcome=list(transient),
        Settle=list(table_transient),
    ).finish()
    assert saga.status == "SUCCEEDED"
    assert shop.stored(order_id)["status"] == "COMPLETED" and shop.notifications(order_id) == ["order-completed.json"]
    assert shop.outbox() == []  # the fifth attempts deleted the event entry and the finalize duty
    assert [e["detail-type"] for e in shop.events if e["detail"].get("orderId") == order_id].count(
        "Order Completed"
    ) == 1


def test_a_settle_the_role_may_not_do_keeps_the_duty_for_the_sweep(shop) -> None:  # type: ignore[no-untyped-def]
    """A refused Settle (not a transient error) is not retried: the finalization is incomplete and the duty stays in
    the outbox, where the sweep finds it and finalizes again (idempotently)."""
    order_id = shop.order(ALICE, [("p1", 1)])
    saga = shop.execution(shop.take("Order Created"), Settle=["DynamoDB.AccessDeniedException"]).finish()
    assert saga.status == "FAILED" and saga.states.count("Settle") == 1
    assert shop.stored(order_id)["status"] == "COMPLETED" and shop.notifications(order_id) == ["order-completed.json"]
    assert shop.outbox() == [f"{order_id}#finalize"]


def test_a_fault_after_reservation_claims_failed_and_compensates_everything(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p1", 1)])
    # a refusal that is no fault to retry (the transaction's request is invalid): caught at once
    saga = shop.execution(shop.take("Order Created"), CompleteOrder=["DynamoDb.ValidationException"]).finish()
    assert saga.status == "FAILED" and "ClaimFailed" in saga.states
    _assert_compensated(shop, order_id, "FAILED", "order-failed.json")
    assert [e["status"] for e in shop.ledger(order_id)] == ["REFUNDED"]
    assert shop.stock("p1") == (1, 0)


def test_stale_sweep_never_expires_a_completed_order(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p1", 1)])
    saga = shop.execution(shop.take("Order Created")).run_until("CompleteOrder")
    sweep = shop.execution(
        shop.envelope("orderflow.scheduler", "Stale Order Sweep Requested", {"olderThanMinutes": 0})
    ).run_until("ClaimExpired")
    saga.finish()  # completes first; the sweep's claim finds the order changed
    sweep.finish()
    assert sweep.output["expired"] == 0 and sweep.output["skipped"] == 1
    assert shop.stored(order_id)["status"] == "COMPLETED" and shop.stock("p1") == (0, 1)


def test_the_invariants_see_a_customer_charged_for_nothing(shop) -> None:  # type: ignore[no-untyped-def]
    """The checker itself: a refund that never reaches the gateway is caught (expected values from the plan)."""
    from tests.simulation.engine import OrderPlan, Outcome, Plan

    order_id = shop.order(ALICE, [("p1", 1)])
    shop.execution(shop.take("Order Created")).run_until("CompleteOrder")
    shop.cloud.table("orders").update_item(
        Key={"orderId": order_id, "customerId": ALICE},
        UpdateExpression="SET #s = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":c": "CANCELLED"},
    )
    plan = Plan(
        products={"p1": (1, "25.00"), "p2": (5, "9.99")},
        orders=[OrderPlan(ALICE, [("p1", 1)], 1, None, None, order_id)],
        restock=None,
        sweep_after=None,
        gateway_fault_rate=0,
        fault_budget=0,
        fault_rate=0,
    )
    problems = invariants.check(shop.cloud, Outcome(seed=0, plan=plan))
    assert any("customer still charged 25.00" in p for p in problems)
    assert any("reservation RESERVED left" in p for p in problems)
    assert any("p1: available 0, expected 1" in p for p in problems)


def test_a_sweep_run_pages_25_ids_at_a_time_and_stops_after_5_pages(shop) -> None:  # type: ignore[no-untyped-def]
    """126 stale orders (their "Order Created" never delivered): one run expires 5 pages of 25 and hands the rest to
    the next run; every expired order leaves Live-Index in the claim's write."""
    shop.product("p3", 0, "1.00")
    order_ids = [shop.order(ALICE, [("p3", 1)]) for _ in range(126)]
    assert all(shop.stored(o)["liveShard"].startswith("live#") for o in order_ids)
    first = shop.sweep(0)
    assert first.status == "SUCCEEDED"
    assert (first.output["expired"], first.output["pages"], first.output["failed"]) == (125, 5, 0)
    assert first.output["nextToken"] is not None
    assert first.states.count("FindStaleOrders") == 5
    left = [o for o in order_ids if shop.stored(o)["status"] != "EXPIRED"]
    assert len(left) == 1 and "liveShard" in shop.stored(left[0])
    assert all("liveShard" not in shop.stored(o) for o in order_ids if o not in left)
    second = shop.sweep(0)
    assert (second.output["expiredOrderIds"], second.output["pages"], second.output["nextToken"]) == (left, 1, None)
    assert shop.outbox() == []  # every finalize duty settled


def _completed_events(h, order_id: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [e for e in h.events if e["detail-type"] == "Order Completed" and e["detail"]["orderId"] == order_id]


def test_the_completion_puts_its_event_once_and_forgets_it(shop) -> None:  # type: ignore[no-untyped-def]
    order_id = shop.order(ALICE, [("p2", 2)])
    saga = shop.execution(shop.take("Order Created")).finish()
    assert saga.status == "SUCCEEDED"
    assert saga.states[-5:] == ["CompleteOrder", "PublishCompleted", "ForgetCompletedEvent", "NotifyOutcome", "Settle"]
    [event] = _completed_events(shop, order_id)
    assert (event["source"], event["detail"]) == (
        "order.service",
        {
            "eventId": expected_event_id(order_id, "Order Completed"),
            "orderId": order_id,
            "customerId": ALICE,
            "totalAmount": "19.98",
        },
    )
    assert shop.outbox() == []  # the event entry forgotten, the finalize duty settled
    order = shop.stored(order_id)
    assert order["status"] == "COMPLETED" and order["claim"]["by"] == order["executionId"]


def test_a_completed_event_the_bus_refuses_is_put_by_the_sweep(shop) -> None:  # type: ignore[no-untyped-def]
    """PublishCompleted fails after all its retries: the order is finalized all the same and the event waits in the
    outbox, where the stale sweep finds it and puts it, once, under the same eventId."""
    order_id = shop.order(ALICE, [("p2", 1)])
    saga = shop.execution(shop.take("Order Created"), PublishCompleted=["EventBridge.FailedEntry"] * 8).finish()
    assert saga.status == "SUCCEEDED" and saga.states.count("PublishCompleted") == 8
    assert "ForgetCompletedEvent" not in saga.states
    assert shop.stored(order_id)["status"] == "COMPLETED" and shop.notifications(order_id) == ["order-completed.json"]
    event_id = expected_event_id(order_id, "Order Completed")
    assert _completed_events(shop, order_id) == [] and shop.outbox() == [event_id]
    shop.cloud.advance(300)
    assert shop.sweep().output["republished"] == 1
    [event] = _completed_events(shop, order_id)
    assert event["detail"]["eventId"] == event_id and event["detail"]["totalAmount"] == "9.99"
    assert shop.outbox() == []


def test_a_completion_retried_after_its_write_leaves_the_rest_to_the_sweep(shop) -> None:  # type: ignore[no-untyped-def]
    """The transaction commits and its answer is lost (a timeout): the retry fails the condition (the order is
    COMPLETED already), ClaimFailed is refused, the execution ends without compensating anything; the sweep then
    finishes the duty the write recorded (notify, settle) and puts the event the write queued. Money and stock stay."""
    from tests.simulation.cloud import Faults

    order_id = shop.order(ALICE, [("p1", 1)])
    saga = shop.execution(shop.take("Order Created")).run_until("CompleteOrder")
    saga.step(Faults(dynamodb="timeout"))  # committed, then States.Timeout
    saga.finish()
    assert saga.status == "SUCCEEDED"
    assert saga.states.count("CompleteOrder") == 4 and saga.states[-1] == "ClaimFailed"  # 1 + 1 timeout + 2 refused
    assert shop.stored(order_id)["status"] == "COMPLETED" and shop.notifications(order_id) == []
    assert sorted(shop.outbox()) == sorted([f"{order_id}#finalize", _event_id(order_id)])
    shop.cloud.advance(300)
    sweep = shop.sweep()  # republishes the event, resumes the duty
    assert sweep.output["republished"] == 1 and sweep.output["resumed"] == 1
    assert len(_completed_events(shop, order_id)) == 1
    assert shop.notifications(order_id) == ["order-completed.json"] and shop.outbox() == []
    assert [e["status"] for e in shop.ledger(order_id)] == ["AUTHORIZED"]
    assert shop.stock("p1") == (0, 1)


def _event_id(order_id: str) -> str:
    return expected_event_id(order_id, "Order Completed")


def expected_event_id(order_id: str, detail_type: str) -> str:
    """uuid5(urn:orderflow:event, "<orderId>|<detail-type>"), written out."""
    return str(uuid.uuid5(uuid.UUID("f73e26d7-7a2c-571b-92db-206d66d4da91"), f"{order_id}|{detail_type}"))
