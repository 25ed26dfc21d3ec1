"""Payment-processing workflow (refund request / customer cancellation), every branch, with mocked task responses.

Both requests claim the order CANCELLED with their own token (refund:<event id> / cancel:<orderId>); the claimer
finalizes (refund, release, notify, settle); a refund request of a COMPLETED order is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from workflow_harness import eventbridge_event, start_and_wait, untaken_transitions

OID, CID = "ord-2001", "cust-2"
FIRST_EXEC = "arn:aws:states:us-east-1:000000000000:execution:OrderProcessingTest:first-run"
REFUSED = "order COMPLETED: its goods are reserved for delivery; a refund needs a return"  # order.saga
REFUND = eventbridge_event(
    "Refund Requested", "orderflow.operator", {"eventId": f"{OID}-refund", "orderId": OID, "customerId": CID}
)
CANCEL = eventbridge_event(
    "Order Cancellation Requested",
    "order.service",
    {"eventId": f"{OID}-cancel", "orderId": OID, "customerId": CID, "previousStatus": "PENDING"},
)
RETRIED = 8  # 1 attempt + MaxAttempts 7 of ${LambdaRetry}


def stored(status: str) -> dict[str, Any]:
    return {
        "orderId": OID,
        "customerId": CID,
        "status": status,
        "items": [
            {"productId": "prod-1", "quantity": 2, "price": "19.99"},
            {"productId": "prod-2", "quantity": 1, "price": "19.99"},
        ],
        "totalAmount": "59.97",
    }


def claim_result(status: str, by: str, reason: str, *, claimed: bool = True, refused: str | None = None) -> dict:
    notification = {"CANCELLED": "order-cancelled", "COMPLETED": "order-completed", "EXPIRED": "order-expired"}
    return {
        "claimed": claimed,
        "orderStatus": status,
        "order": stored(status),
        "claim": {"status": status, "notification": notification[status], "by": by, "reason": reason},
        "refused": refused,
    }


BY_REFUND = claim_result("CANCELLED", f"refund:{REFUND['id']}", "operator refund request")
BY_CANCEL = claim_result("CANCELLED", f"cancel:{OID}", "customer cancel")


def finalized(result: dict, refund: str, release: str, notified: str = "SENT") -> list[dict]:
    return [
        {
            "order": result["order"],
            "claim": result["claim"],
            "refund": {"status": refund},
            "release": {"status": release},
            "notification": {"status": notified, "key": f"notifications/{OID}/order-cancelled.json"},
            "settled": {"status": "SETTLED"},
        }
    ]


def error(name: str, cause: str) -> dict:
    return {"error": {"Error": name, "Cause": cause}}


FINALIZE = ["CheckClaim", "Finalize", "Compensated"]
CASES: dict[str, tuple[dict, list[str], Any, str | None, list[str]]] = {
    # case: (event, visited, output or the Fail state's input, error, task failures)
    "RefundClaimed": (
        REFUND,
        ["ClassifyRequest", "ClaimForRefund"] + FINALIZE,
        {**REFUND, "claimResult": BY_REFUND, "finalized": finalized(BY_REFUND, "REFUNDED", "RELEASED")},
        None,
        [],
    ),
    "RefundRefused": (
        REFUND,
        ["ClassifyRequest", "ClaimForRefund", "CheckClaim", "RefundRefused"],
        claim_result("COMPLETED", FIRST_EXEC, "order completed", claimed=False, refused=REFUSED),
        None,
        [],
    ),
    "RefundClaimedByAnother": (
        REFUND,
        ["ClassifyRequest", "ClaimForRefund", "CheckClaim", "ClaimedByAnother"],
        claim_result("EXPIRED", f"sweep:{OID}", "stale order expired", claimed=False),
        None,
        [],
    ),
    "RefundClaimFails": (
        REFUND,
        ["ClassifyRequest", "ClaimForRefund", "ClaimFailed"],
        {**REFUND, **error("Lambda.ServiceException", "order Lambda unavailable")},
        "OrderClaimFailed",
        ["Lambda.ServiceException"] * RETRIED,
    ),
    # cancelled before the charge: nothing to refund or release
    "CancellationClaimed": (
        CANCEL,
        ["ClassifyRequest", "ClaimForCancellation"] + FINALIZE,
        {**CANCEL, "claimResult": BY_CANCEL, "finalized": finalized(BY_CANCEL, "NOT_CHARGED", "NOT_RESERVED")},
        None,
        [],
    ),
    # the event again (at-least-once delivery): the same claimer confirms its claim; every step is idempotent
    "CancellationRedelivered": (
        CANCEL,
        ["ClassifyRequest", "ClaimForCancellation"] + FINALIZE,
        {
            **CANCEL,
            "claimResult": BY_CANCEL,
            "finalized": finalized(BY_CANCEL, "REFUNDED", "NOT_RESERVED", "DUPLICATE"),
        },
        None,
        [],
    ),
    "ClaimFails": (
        CANCEL,
        ["ClassifyRequest", "ClaimForCancellation", "ClaimFailed"],
        {**CANCEL, **error("Lambda.ServiceException", "order Lambda unavailable")},
        "OrderClaimFailed",
        ["Lambda.ServiceException"] * RETRIED,
    ),
    "FinalizeIncomplete": (
        REFUND,
        ["ClassifyRequest", "ClaimForRefund", "CheckClaim", "Finalize", "FinalizeIncomplete"],
        {
            **REFUND,
            "claimResult": BY_REFUND,
            **error(
                "OrderNotCompensable",
                "A compensation found the order not claimed for compensation: a bug; nothing was changed.",
            ),
        },
        "OrderFinalizationIncomplete",
        [],
    ),
}


def test_every_mocked_case_is_tested(mock_config):
    assert set(mock_config["StateMachines"]["PaymentProcessingTest"]["TestCases"]) == set(CASES)


def test_the_cases_take_every_transition(mocked_definitions):
    assert untaken_transitions(mocked_definitions["payment-processing"], [c[1] for c in CASES.values()]) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_payment_processing_branch(sfn, mock_machines, mocked_definitions, case):
    event, visited, data, error_name, failures = CASES[case]
    execution = start_and_wait(sfn, mock_machines["payment-processing"], event, test_case=case)

    assert execution.visited == visited
    assert execution.task_failures() == failures
    if error_name is None:
        assert execution.status == "SUCCEEDED", (execution.error, execution.cause)
        assert execution.output == data
    else:
        assert execution.status == "FAILED"
        assert execution.error == error_name
        assert execution.cause == mocked_definitions["payment-processing"]["States"][visited[-1]]["Cause"]
        assert execution.entered_input(visited[-1]) == data
