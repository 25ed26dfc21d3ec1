"""Payment-processing workflow (cancellation / refund compensation), every branch, with mocked task responses."""

from __future__ import annotations

import pytest

from workflow_harness import assert_order_intact, eventbridge_event, start_and_wait

# The order as the mocked GetOrder returns it (DynamoDB-typed) after conversion by ConvertOrderItems/BuildOrder.
ORDER = {
    "orderId": "ord-2001",
    "customerId": "cust-2",
    "items": [{"productId": "prod-1", "quantity": 2, "price": 19.99},
              {"productId": "prod-2", "quantity": 1, "price": 19.99}],
    "totalAmount": 59.97,
}


def cancellation_requested(previous_status: str = "PENDING") -> dict:
    return eventbridge_event("Order Cancellation Requested", "order.service",
                             {"eventId": "ord-2001-cancel", "orderId": "ord-2001", "customerId": "cust-2",
                              "previousStatus": previous_status})


def refund_requested() -> dict:
    return eventbridge_event("Refund Requested", "orderflow.operator",
                             {"eventId": "ord-2001-refund", "orderId": "ord-2001", "customerId": "cust-2"})


READ = ["ClassifyRequest", "NormalizeCancellationRequest", "GetOrder", "OrderExists", "ConvertOrderItems",
        "BuildOrder"]
COMPENSATE = READ + ["RefundPayment", "ShouldReleaseInventory", "ReleaseInventory", "CheckCompensation",
                     "NeedsCancellation"]

CASES = {
    # case: (event, visited, status, error)
    "CancelBeforePayment": (cancellation_requested("PENDING"),
                            COMPENSATE + ["NotifyOrderCancelled", "Cancelled"], "SUCCEEDED", None),
    "CancelAfterPayment": (cancellation_requested("INVENTORY_RESERVED"),
                           COMPENSATE + ["MarkOrderCancelled", "NotifyOrderCancelled", "Cancelled"], "SUCCEEDED", None),
    "CancelSecondRun": (cancellation_requested("PENDING"),
                        COMPENSATE + ["NotifyOrderCancelled", "Cancelled"], "SUCCEEDED", None),
    "RefundCompletedOrder": (refund_requested(),
                             ["ClassifyRequest", "NormalizeRefundRequest"] + READ[2:]
                             + ["RefundPayment", "ShouldReleaseInventory", "CheckCompensation", "NeedsCancellation",
                                "NoCancellationNeeded"], "SUCCEEDED", None),
    "OrderNotFound": (cancellation_requested(), READ[:4] + ["OrderNotFound"], "FAILED", "OrderNotFound"),
    "LookupFails": (cancellation_requested(), READ[:3] + ["RequestFailed"], "FAILED", "OrderLookupFailed"),
    "RefundFails": (cancellation_requested("PAID"),
                    COMPENSATE[:-1] + ["CompensationFailed"], "FAILED", "CompensationFailed"),
    "FinalizedMeanwhile": (cancellation_requested("PAID"),
                           COMPENSATE + ["MarkOrderCancelled", "AlreadyFinalized"], "SUCCEEDED", None),
    "CancellationWriteFails": (cancellation_requested("PAID"),
                               COMPENSATE + ["MarkOrderCancelled", "CancellationFailed"], "FAILED",
                               "CancellationFailed"),
    "NotificationFails": (cancellation_requested(),
                          COMPENSATE + ["NotifyOrderCancelled", "NotificationFailed"], "FAILED",
                          "OrderNotificationFailed"),
}


def test_every_mocked_case_is_tested(mock_config):
    assert set(mock_config["StateMachines"]["PaymentProcessingTest"]["TestCases"]) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_payment_processing_branch(sfn, mock_machines, case):
    event, visited, status, error = CASES[case]
    execution = start_and_wait(sfn, mock_machines["payment-processing"], event, test_case=case)

    assert execution.visited == visited
    assert execution.status == status, (execution.error, execution.cause)
    if "BuildOrder" in visited:
        assert_order_intact(execution, ORDER, after="BuildOrder")
    if status == "FAILED":
        assert execution.error == error
        assert "ord-2001" in execution.cause
    else:
        assert execution.output["order"] == ORDER


def test_cancellation_before_payment_compensates_nothing(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["payment-processing"], cancellation_requested("PENDING"),
                               test_case="CancelBeforePayment")
    assert execution.output["refund"] == {"status": "NOT_CHARGED", "paymentId": None, "refundId": None}
    assert execution.output["release"] == {"status": "NOT_RESERVED"}
    assert execution.output["notification"]["status"] == "SENT"
    assert execution.output["request"] == {"orderId": "ord-2001", "customerId": "cust-2",
                                           "reason": "customer-cancelled"}
    assert "MarkOrderCancelled" not in execution.visited  # already CANCELLED by the order Lambda


def test_cancellation_after_payment_refunds_releases_and_cancels(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["payment-processing"], cancellation_requested("INVENTORY_RESERVED"),
                               test_case="CancelAfterPayment")
    assert execution.output["refund"] == {"status": "REFUNDED", "paymentId": "pay-1001", "refundId": "ref-1001"}
    assert execution.output["release"] == {"status": "RELEASED"}
    assert execution.output["cancellation"]["status"] == "CANCELLED"
    assert execution.output["orderStatus"] == "INVENTORY_RESERVED"


def test_second_run_is_idempotent(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["payment-processing"], cancellation_requested(),
                               test_case="CancelSecondRun")
    assert execution.output["refund"]["status"] == "REFUNDED"  # the same refund as the first run
    assert execution.output["release"] == {"status": "NOT_RESERVED"}
    assert execution.output["notification"]["status"] == "DUPLICATE"


def test_refund_of_completed_order_keeps_stock_and_status(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["payment-processing"], refund_requested(),
                               test_case="RefundCompletedOrder")
    assert execution.output["request"]["reason"] == "refund-requested"
    assert "release" not in execution.output and "cancellation" not in execution.output


def test_failed_refund_still_releases_then_fails(sfn, mock_machines):
    execution = start_and_wait(sfn, mock_machines["payment-processing"], cancellation_requested("PAID"),
                               test_case="RefundFails")
    before_fail = execution.entered_input("CompensationFailed")
    assert before_fail["refundError"]["Error"] == "CircuitOpenError"
    assert before_fail["release"] == {"status": "RELEASED"}
    assert "CircuitOpenError" in execution.cause
