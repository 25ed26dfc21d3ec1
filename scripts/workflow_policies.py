"""Retry and waiting policies of the workflows: one definition, rendered into every task that needs it.

Faults wait, business outcomes decide (docs/architecture.md, "Faults"):
- every Lambda task retries the transient errors of the Lambda service, of a Lambda timeout, and the services'
  own retryable errors (`shared.errors.RETRYABLE_ERROR_NAMES`, which include AWS SDK throttling, 5xx and timeouts
  mapped to `TransientAwsError`), with exponential back-off and full jitter; a DynamoDB integration task (the
  Settle) retries DynamoDB's transient errors with the same back-off (`table_retry`);
- an unavailable payment gateway is not an error: the payment service answers RETRY_LATER and the order waits
  (parks) for at most PAYMENT_PARKING_BUDGET_SECONDS before the workflow gives up and claims it FAILED.
Pure module: no I/O.
"""

from __future__ import annotations

from typing import Any

#: Lambda service / runtime errors Step Functions reports for an invoke that may not have reached the handler,
#: or whose handler timed out (the work may be done: every action is idempotent, so a retry is safe).
LAMBDA_TRANSIENT_ERRORS: tuple[str, ...] = (
    "Lambda.AWSLambdaException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.Unknown",
    "Sandbox.Timedout",
    "States.Timeout",
)

#: Errors Step Functions reports for an optimized DynamoDB integration (`arn:aws:states:::dynamodb:<action>`) that
#: may pass: throttling, the service's 5xx, the SDK's transport failures, a task timeout. The workflows' table actions
#: are idempotent (a delete of the finalize duty), so a retry is safe. A refusal (validation, access) is not here.
DYNAMODB_TRANSIENT_ERRORS: tuple[str, ...] = (
    "DynamoDB.AmazonDynamoDBException",  # a service error without a more specific name (the SDK's base exception)
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.SdkClientException",
    "DynamoDB.ServiceUnavailableException",
    "DynamoDB.ThrottlingException",
    "States.Timeout",
)

#: The same for the AWS SDK integration of DynamoDB (`arn:aws:states:::aws-sdk:dynamodb:<action>`, order-processing's
#: CompleteOrder transaction): Step Functions names its errors `DynamoDb.<exception>` (measured on MiniStack 1.5.33 too).
SDK_DYNAMODB_TRANSIENT_ERRORS: tuple[str, ...] = tuple(
    error.replace("DynamoDB.", "DynamoDb.", 1) for error in DYNAMODB_TRANSIENT_ERRORS
)
#: A cancelled transaction: a failed condition (another path claimed the order: retrying cannot change that) or a
#: conflict with another transaction on the same item (retrying can). Its name does not tell them apart, so it is
#: retried briefly, apart from the other errors: a lost race costs about two seconds before the Catch.
TRANSACTION_CANCELLED = "DynamoDb.TransactionCanceledException"
TRANSACTION_CANCELLED_ATTEMPTS = 2

#: Errors of the optimized EventBridge integration (`arn:aws:states:::events:putEvents`) that may pass: the service's
#: own, throttling, transport failures, an entry EventBridge did not accept (`EventBridge.FailedEntry`: the request
#: succeeded but FailedEntryCount > 0, e.g. a throttled entry), a task timeout. Putting an event twice is harmless:
#: consumers de-duplicate by its eventId.
EVENTBRIDGE_TRANSIENT_ERRORS: tuple[str, ...] = (
    "EventBridge.AmazonEventBridgeException",
    "EventBridge.FailedEntry",
    "EventBridge.InternalException",
    "EventBridge.SdkClientException",
    "EventBridge.ThrottlingException",
    "States.Timeout",
)

#: 1 + 2 + 4 + 8 + 16 + 30 + 30 s at most (full jitter draws below): about two minutes of a service being away.
LAMBDA_RETRY_ATTEMPTS = 7
LAMBDA_RETRY_INTERVAL_SECONDS = 1
LAMBDA_RETRY_MAX_DELAY_SECONDS = 30

#: How long an order may wait for the payment gateway (circuit open, gateway faults) before it fails: 15 minutes,
#: below the 30-minute stale-order threshold, so the sweep never expires an order that is only waiting.
PAYMENT_PARKING_BUDGET_SECONDS = 900

#: An Express execution lasts at most five minutes (AWS Step Functions quotas, "Maximum execution duration" of
#: Express workflows); past it the execution times out, wherever it is.
EXPRESS_MAX_DURATION_SECONDS = 300

#: What an Express order execution keeps for the rest of the saga around its parking: owning, a last charge attempt,
#: reserving, completing and finalizing (notify, settle, or refund/release), each a Lambda task that may retry.
EXPRESS_SAGA_MARGIN_SECONDS = 180

#: The parking budget of the order workflow per type: 900 s on STANDARD; on EXPRESS what the 5-minute limit leaves
#: after the margin (120 s). When it is spent the workflow claims the order FAILED (PaymentParkingBudgetSpent) and
#: finalizes it, as on STANDARD; an Express execution cut off by its time limit leaves the order live, and the stale
#: sweep claims it EXPIRED and finalizes it (docs/architecture.md, "Standard or Express").
PAYMENT_PARKING_BUDGET_SECONDS_BY_TYPE: dict[str, int] = {
    "STANDARD": PAYMENT_PARKING_BUDGET_SECONDS,
    "EXPRESS": EXPRESS_MAX_DURATION_SECONDS - EXPRESS_SAGA_MARGIN_SECONDS,
}

#: The Step Functions workflow types the order workflow may deploy as (Terraform's `order_workflow_type`).
WORKFLOW_TYPES: tuple[str, ...] = tuple(PAYMENT_PARKING_BUDGET_SECONDS_BY_TYPE)


def payment_parking_budget_seconds(order_workflow_type: str = "STANDARD") -> int:
    """The order workflow's parking budget when it deploys as `order_workflow_type` (STANDARD or EXPRESS)."""
    try:
        return PAYMENT_PARKING_BUDGET_SECONDS_BY_TYPE[order_workflow_type]
    except KeyError:
        raise ValueError(
            f"order_workflow_type must be one of {', '.join(WORKFLOW_TYPES)}, not {order_workflow_type!r}"
        ) from None


def _retrier(errors: list[str]) -> list[dict[str, Any]]:
    """A task's Retry list: one retrier for `errors`, exponential back-off with full jitter (the one shape)."""
    return [
        {
            "ErrorEquals": errors,
            "IntervalSeconds": LAMBDA_RETRY_INTERVAL_SECONDS,
            "MaxAttempts": LAMBDA_RETRY_ATTEMPTS,
            "BackoffRate": 2.0,
            "MaxDelaySeconds": LAMBDA_RETRY_MAX_DELAY_SECONDS,
            "JitterStrategy": "FULL",
        }
    ]


def lambda_retry(retryable_errors: list[str]) -> list[dict[str, Any]]:
    """The Retry list of a Lambda task: one retrier for transient infrastructure and service errors."""
    return _retrier(sorted(set(LAMBDA_TRANSIENT_ERRORS) | set(retryable_errors)))


def table_retry() -> list[dict[str, Any]]:
    """The Retry list of a DynamoDB integration task (`arn:aws:states:::dynamodb:*`): the same back-off as a Lambda
    task, on DynamoDB's transient errors."""
    return _retrier(list(DYNAMODB_TRANSIENT_ERRORS))


def transaction_retry() -> list[dict[str, Any]]:
    """The Retry list of a TransactWriteItems task (the AWS SDK integration): DynamoDB's transient errors with the
    same back-off, then a cancelled transaction twice, one second apart at most (TRANSACTION_CANCELLED)."""
    return [
        *_retrier(list(SDK_DYNAMODB_TRANSIENT_ERRORS)),
        {
            "ErrorEquals": [TRANSACTION_CANCELLED],
            "IntervalSeconds": LAMBDA_RETRY_INTERVAL_SECONDS,
            "MaxAttempts": TRANSACTION_CANCELLED_ATTEMPTS,
            "BackoffRate": 1.0,
            "JitterStrategy": "FULL",
        },
    ]


def events_retry() -> list[dict[str, Any]]:
    """The Retry list of a PutEvents task: EventBridge's transient errors, the same back-off as a Lambda task."""
    return _retrier(list(EVENTBRIDGE_TRANSIENT_ERRORS))
