"""Error hierarchy shared by all services.

Step Functions sees the *class name* of an exception that escapes a Lambda handler as the error name
(`errorType`). Retry policies must therefore list the concrete names in `RETRYABLE_ERROR_NAMES`
(a `States.Retry` on "RetryableError" would not match a subclass).
"""

from __future__ import annotations

from typing import Any


class OrderflowError(Exception):
    """Base class of every domain error."""


class ConfigurationError(OrderflowError):
    """A required environment variable is missing or malformed (not retryable)."""


class InvalidTaskInput(OrderflowError):
    """A workflow/direct invocation payload is malformed (not retryable)."""


class UnsupportedEvent(InvalidTaskInput):
    """The handler received an event shape or action it does not serve (not retryable)."""


class OrderValidationError(InvalidTaskInput):
    """A create-order payload failed validation (direct invoke path; the HTTP API maps it to 4xx).

    `details`: extra members of the HTTP error body besides message and field (the 409 of a price mismatch carries
    the catalogue's `prices` and `totalAmount`)."""

    def __init__(
        self, message: str, field: str | None = None, status_code: int = 400, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{message} (field: {field})" if field else message)
        self.message = message
        self.field = field
        self.status_code = status_code
        self.details = dict(details or {})


class OrderNotFound(OrderflowError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} not found")
        self.order_id = order_id


class IllegalTransition(OrderflowError):
    """An order status change that the lifecycle does not allow (or whose precondition no longer holds)."""

    def __init__(self, order_id: str, current: str | None, target: str, order: dict[str, Any] | None = None) -> None:
        super().__init__(f"order {order_id}: illegal transition {current} -> {target}")
        self.order_id = order_id
        self.current = current
        self.target = target
        self.order = order


class RetryableError(OrderflowError):
    """Technical, transient failure: the caller (workflow) should retry with back-off."""


class PaymentGatewayUnavailable(RetryableError):
    """The (simulated) payment gateway failed technically."""


class CircuitOpenError(RetryableError):
    """The payment gateway circuit breaker is open: failing fast without calling the gateway."""

    def __init__(self, message: str, retry_after_seconds: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class EventPublishError(RetryableError):
    """PutEvents failed (FailedEntryCount > 0 or an API error)."""


class InventoryContention(RetryableError):
    """A reservation transaction kept conflicting with concurrent writers; retry later."""


class TransientAwsError(RetryableError):
    """An AWS call was throttled, hit a 5xx or timed out (shared.aws.transient_as_retryable): retry with back-off."""


class NotificationConflict(RetryableError):
    """S3 reported a concurrent conditional write for the same notification key."""


def _all_subclasses(cls: type) -> list[type]:
    result: list[type] = []
    for sub in cls.__subclasses__():
        result.append(sub)
        result.extend(_all_subclasses(sub))
    return result


#: Error names a workflow should retry as technical faults (concrete classes, sorted).
RETRYABLE_ERROR_NAMES: list[str] = sorted({c.__name__ for c in _all_subclasses(RetryableError)} | {"RetryableError"})
