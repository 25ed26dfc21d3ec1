"""Lazily created, cached boto3 clients/resources.

boto3 resolves the endpoint itself (AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>), so no endpoint logic here.
Clients are created on first use (never at import) so moto can intercept them in tests; tests call
`reset()` between cases. Clients are thread-safe and shared; resources are cached per thread.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from shared.errors import TransientAwsError

_lock = threading.RLock()
_cache: dict[str, Any] = {}
_BOTO_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=10)


def cached(key: str, factory: Any) -> Any:
    """Process-wide lazily created object (cleared by reset())."""
    obj = _cache.get(key)
    if obj is None:
        with _lock:
            obj = _cache.get(key)
            if obj is None:
                obj = factory()
                _cache[key] = obj
    return obj


def client(service: str) -> Any:
    """The process-wide client of one AWS service (its name is also its cache key)."""
    return cached(service, lambda: boto3.client(service, config=_BOTO_CONFIG))


def dynamodb_client() -> Any:
    return client("dynamodb")


def dynamodb_resource() -> Any:
    # boto3 resources are not thread-safe: one per thread (a Lambda invocation uses a single thread)
    ident = threading.get_ident()
    return cached(f"dynamodb-resource:{ident}", lambda: boto3.resource("dynamodb", config=_BOTO_CONFIG))


def table(name: str) -> Any:
    ident = threading.get_ident()
    return cached(f"table:{name}:{ident}", lambda: dynamodb_resource().Table(name))


def events_client() -> Any:
    return client("events")


def s3_client() -> Any:
    return client("s3")


def reset() -> None:
    """Forget every cached client (tests)."""
    with _lock:
        _cache.clear()


F = TypeVar("F", bound=Callable[..., Any])

#: Error codes of AWS APIs that mean "not now" rather than "no": throttling, capacity, 5xx, in-flight transactions.
TRANSIENT_ERROR_CODES = frozenset(
    {
        "InternalFailure",
        "InternalServerError",
        "InternalServerErrorException",
        "LimitExceededException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "ThrottledException",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "TransactionInProgressException",
    }
)
_TRANSPORT_ERRORS = (ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSPORT_ERRORS):
        return True
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return code in TRANSIENT_ERROR_CODES or status >= 500
    return False


def transient_as_retryable[F: Callable[..., Any]](func: F) -> F:
    """Re-raise a transient AWS error (after the SDK's own retries) as TransientAwsError, a name the workflows retry."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            if is_transient(exc):
                raise TransientAwsError(f"transient AWS error: {exc}") from exc
            raise

    return wrapper  # type: ignore[return-value]
