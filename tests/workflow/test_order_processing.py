"""Order-processing workflow, every branch, with mocked task responses (tests/workflow/mock_config.json)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from workflow_harness import assert_order_intact, eventbridge_event, start_and_wait

ORDER = {
    "orderId": "ord-2001",
    "customerId": "cust-2",
    "items": [{"productId": "prod-1", "quantity": 2, "price": 19.99},
              {"productId": "prod-2", "quantity": 1, "price": 19.99}],
    "totalAmount": 59.97,
}


def order_created(order: dict = ORDER) -> dict:
    return eventbridge_event("Order Created", "order.service",
                             {"eventId": f"{order['orderId']}-created", **order, "createdAt": "2026-11-27T09:00:00Z"})


START = ["NormalizeOrder", "ProcessPayment", "CheckPaymentStatus"]
PAID = START + ["ReserveInventory", "CheckInventoryStatus"]
FAILED_TAIL = ["MarkOrderFailed", "ShouldReleaseInventory"]
COMPENSATE_BOTH = FAILED_TAIL + ["CompensateReleaseInventory", "ShouldRefundPayment", "CompensateRefundPayment",
                                 "NotifyOrderFailed", "OrderFailed"]
COMPENSATE_REFUND = FAILED_TAIL + ["ShouldRefundPayment", "CompensateRefundPayment", "NotifyOrderFailed",
                                   "OrderFailed"]
COMPENSATE_NOTHING = FAILED_TAIL + ["ShouldRefundPayment", "NotifyOrderFailed", "OrderFailed"]


@dataclass
class Case:
    name: str
    visited: list[str]
    status: str = "SUCCEEDED"
    error: str | None = None
    output: dict = field(default_factory=dict)  # expected subset of the final output (SUCCEEDED only)
    failed_step: str | None = None


CASES = [
    Case("HappyPath",
         PAID + ["CompleteOrder", "PublishOrderCompleted", "NotifyOrderCompleted", "OrderCompleted"],
         output={"payment": {"status": "PAID", "paymentId": "pay-1001", "amount": "59.97", "reason": None},
                 "inventory": {"status": "RESERVED", "shortItems": []},
                 "completion": {"status": "COMPLETED", "updatedAt": "2026-11-27T10:00:00.000Z"},
                 "published": {"eventId": "evt-0001"},
                 "notification": {"status": "SENT", "key": "notifications/order/type.json"}}),
    Case("PaymentDeclined", START + ["NotifyPaymentDeclined", "PaymentDeclined"],
         output={"payment": {"status": "DECLINED", "paymentId": None, "amount": "59.97",
                             "reason": "customer limit exceeded"},
                 "notification": {"status": "SENT", "key": "notifications/order/type.json"}}),
    # The customer cancelled before the charge: nothing charged, no "declined" message; the payment workflow
    # owns the cancellation and its notification.
    Case("OrderNoLongerPayable", START + ["OrderNoLongerPayable"],
         output={"payment": {"status": "DECLINED", "paymentId": None, "amount": "59.97",
                             "reason": "ORDER_NOT_PAYABLE"}}),
    Case("PaymentRetriesExhausted", ["NormalizeOrder", "ProcessPayment", "RecordPaymentFault"] + COMPENSATE_REFUND,
         status="FAILED", error="OrderProcessingFailed", failed_step="ProcessPayment"),
    Case("UnexpectedPaymentStatus", START + ["UnexpectedPaymentStatus", "RecordPaymentFault"] + COMPENSATE_REFUND,
         status="FAILED", error="OrderProcessingFailed", failed_step="ProcessPayment"),
    Case("InventoryUnavailable", PAID + ["RefundPayment", "MarkOrderCancelled", "NotifyOrderCancelled",
                                         "OrderCancelled"],
         output={"inventory": {"status": "UNAVAILABLE",
                               "shortItems": [{"productId": "prod-2", "requested": 1, "available": 0}]},
                 "refund": {"status": "REFUNDED", "paymentId": "pay-1001", "refundId": "ref-1001"},
                 "cancellation": {"status": "CANCELLED", "updatedAt": "2026-11-27T10:00:00.000Z"},
                 "notification": {"status": "SENT", "key": "notifications/order/type.json"}}),
    Case("RefundFails", PAID + ["RefundPayment", "RecordRefundFault"] + COMPENSATE_NOTHING,
         status="FAILED", error="OrderProcessingFailed", failed_step="RefundPayment"),
    Case("CancellationWriteFails", PAID + ["RefundPayment", "MarkOrderCancelled", "RecordCancellationFault"]
         + COMPENSATE_NOTHING, status="FAILED", error="OrderProcessingFailed", failed_step="MarkOrderCancelled"),
    Case("OrderNotReservable", PAID + ["OrderNoLongerReservable"],
         output={"inventory": {"status": "ORDER_NOT_RESERVABLE", "shortItems": []}}),
    Case("UnexpectedInventoryStatus", PAID + ["UnexpectedInventoryStatus", "RecordInventoryFault"] + COMPENSATE_BOTH,
         status="FAILED", error="OrderProcessingFailed", failed_step="ReserveInventory"),
    Case("InventoryFaultCompensated", START + ["ReserveInventory", "RecordInventoryFault"] + COMPENSATE_BOTH,
         status="FAILED", error="OrderProcessingFailed", failed_step="ReserveInventory"),
    Case("CompensationsFail", START + ["ReserveInventory", "RecordInventoryFault"] + COMPENSATE_BOTH,
         status="FAILED", error="OrderProcessingFailed", failed_step="ReserveInventory"),
    Case("FailureMarkingFailsToo", START + ["ReserveInventory", "RecordInventoryFault"] + COMPENSATE_BOTH,
         status="FAILED", error="OrderProcessingFailed", failed_step="ReserveInventory"),
    Case("CompletionWriteFails", PAID + ["CompleteOrder", "RecordCompletionFault"] + COMPENSATE_BOTH,
         status="FAILED", error="OrderProcessingFailed", failed_step="CompleteOrder"),
    Case("FaultAfterOrderFinalized", START + ["ReserveInventory", "RecordInventoryFault", "MarkOrderFailed",
                                              "AlreadyFinalized"],
         output={"failure": {"step": "ReserveInventory", "release": True, "refund": True},
                 "markFailedError": {"Error": "DynamoDB.ConditionalCheckFailedException",
                                     "Cause": "The conditional request failed"}}),
    Case("DuplicateDelivery", PAID + ["CompleteOrder", "DuplicateDelivery"],
         output={"error": {"Error": "DynamoDB.ConditionalCheckFailedException",
                           "Cause": "The conditional request failed"}}),
    Case("DuplicateDeliveryCancelled", PAID + ["RefundPayment", "MarkOrderCancelled", "DuplicateDelivery"],
         output={"refund": {"status": "REFUNDED", "paymentId": "pay-1001", "refundId": "ref-1001"},
                 "error": {"Error": "DynamoDB.ConditionalCheckFailedException",
                           "Cause": "The conditional request failed"}}),
    Case("PublishFails", PAID + ["CompleteOrder", "PublishOrderCompleted", "NotificationFailed"],
         status="FAILED", error="OrderNotificationFailed"),
    Case("CompletionNotificationFails",
         PAID + ["CompleteOrder", "PublishOrderCompleted", "NotifyOrderCompleted", "NotificationFailed"],
         status="FAILED", error="OrderNotificationFailed"),
]


def test_every_mocked_case_is_tested(mock_config):
    # PaymentRetriedThenSucceeds (mocked Throw, then Return) cannot pass on MiniStack 1.5.33, which repeats the
    # first mocked response on every retry: tests/emulator/test_workflow_gaps.py guards that gap and
    # test_stub_services.py::test_payment_retried_then_succeeds covers the branch with a real failing Lambda.
    tested = {case.name for case in CASES} | {"PaymentRetriedThenSucceeds"}
    assert set(mock_config["StateMachines"]["OrderProcessingTest"]["TestCases"]) == tested


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_order_processing_branch(sfn, mock_machines, case):
    execution = start_and_wait(sfn, mock_machines["order-processing"], order_created(), test_case=case.name)

    assert execution.visited == case.visited
    assert execution.status == case.status, (execution.error, execution.cause)
    assert_order_intact(execution, ORDER, after="NormalizeOrder")
    if case.status == "SUCCEEDED":
        assert execution.output["order"] == ORDER
        for key, expected in case.output.items():
            assert execution.output[key] == expected, key
    else:
        assert execution.error == case.error
        assert ORDER["orderId"] in execution.cause
        if case.failed_step:
            assert f"failed in {case.failed_step}" in execution.cause


def test_published_event_and_notifications_read_the_order(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["order-processing"], order_created(), test_case="HappyPath")
    assert execution.status == "SUCCEEDED"
    complete_input = execution.entered_input("CompleteOrder")
    assert complete_input["payment"]["status"] == "PAID" and complete_input["inventory"]["status"] == "RESERVED"
    # the seed read $.detail.orderId after the state had been replaced: the notification now gets the order
    assert execution.entered_input("NotifyOrderCompleted")["order"] == ORDER


def test_declined_payment_is_not_compensated(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["order-processing"], order_created(), test_case="PaymentDeclined")
    assert not {"RefundPayment", "CompensateRefundPayment", "MarkOrderFailed"} & set(execution.visited)


def test_payment_retries_exhausted_then_compensated(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["order-processing"], order_created(),
                               test_case="PaymentRetriesExhausted")
    # 1 attempt + MaxAttempts 4 of the retryable-errors retrier, then the catch
    assert execution.task_failures() == ["PaymentGatewayUnavailable"] * 5
    failed = execution.exit_output("RecordPaymentFault")
    assert failed["error"]["Error"] == "PaymentGatewayUnavailable"
    assert failed["failure"] == {"step": "ProcessPayment", "release": False, "refund": True}
    assert execution.exit_output("CompensateRefundPayment")["refund"]["status"] == "NOT_CHARGED"
    assert execution.exit_output("MarkOrderFailed")["failed"]["status"] == "FAILED"
    notified = execution.entered_input("NotifyOrderFailed")
    assert "PaymentGatewayUnavailable" in execution.cause and "ProcessPayment" in execution.cause
    assert notified["order"] == ORDER


def test_refund_failure_leads_to_marked_and_notified_failure(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["order-processing"], order_created(), test_case="RefundFails")
    # compensation retrier: 1 attempt + MaxAttempts 6
    assert execution.task_failures() == ["CircuitOpenError"] * 7
    assert execution.exit_output("MarkOrderFailed")["failed"]["status"] == "FAILED"
    assert execution.exit_output("NotifyOrderFailed")["notification"]["status"] == "SENT"
    assert "CircuitOpenError" in execution.cause


def test_failed_compensations_still_mark_and_notify(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["order-processing"], order_created(), test_case="CompensationsFail")
    notified = execution.entered_input("NotifyOrderFailed")
    assert notified["failed"]["status"] == "FAILED"
    assert notified["releaseError"]["Error"] == "RetryableError"
    assert notified["refundError"]["Error"] == "CircuitOpenError"
    assert execution.exit_output("NotifyOrderFailed")["notification"]["status"] == "SENT"
    assert execution.error == "OrderProcessingFailed"


def test_failure_path_survives_its_own_write_and_notification_failing(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["order-processing"], order_created(),
                               test_case="FailureMarkingFailsToo")
    last = execution.entered_input("OrderFailed")
    assert last["markFailedError"]["Error"] == "DynamoDB.InternalServerErrorException"
    assert last["release"]["status"] == "RELEASED" and last["refund"]["status"] == "REFUNDED"
    assert last["notifyError"]["Error"] == "RetryableError"
    assert execution.error == "OrderProcessingFailed"


def test_duplicate_delivery_does_not_notify_again(sfn, mock_machines):
    for case in ("DuplicateDelivery", "DuplicateDeliveryCancelled"):
        execution = start_and_wait(sfn, mock_machines["order-processing"], order_created(), test_case=case)
        assert execution.status == "SUCCEEDED"
        assert execution.visited[-1] == "DuplicateDelivery"
        assert not [name for name in execution.visited if name.startswith("Notify")]


def test_fault_after_the_order_was_finalized_elsewhere_compensates_nothing(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["order-processing"], order_created(),
                               test_case="FaultAfterOrderFinalized")
    assert not [name for name in execution.visited if name.startswith(("Compensate", "Notify"))]
