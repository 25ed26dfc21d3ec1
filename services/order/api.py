"""HTTP API (API Gateway HTTP API, payload format 2.0) routed with Powertools APIGatewayHttpResolver.

Every error body is `{"message": str, "field": str|null}` (a 409 price mismatch adds the catalogue's `prices` and
`totalAmount`); amounts in responses are JSON numbers.
Every route acts for the caller named by the token's claims (order.auth, docs/auth.md): a customer reaches only their
own orders (another customer's order answers 404, another customer's list 403), an `admins` member any order.
Path ids and query parameters are checked against exact patterns before anything reaches DynamoDB (which refuses,
with a ValidationException, keys over 2 KB, empty strings or a start key that is not one of the index's keys).
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from order import auth, service, validation
from shared import aws, jsonutil, observability
from shared.config import config
from shared.errors import OrderNotFound, OrderValidationError, RetryableError
from shared.models import is_valid_id

logger = Logger(child=True)
app = APIGatewayHttpResolver()

IDEMPOTENCY_KEY_PREFIX = "orderflow-order-create"
IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
#: unpadded base64url only (the decoder would skip other characters, and accept "+/=")
NEXT_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
#: the attributes of a CustomerId-Index LastEvaluatedKey: the index's keys and the table's
PAGE_KEY_ATTRIBUTES = frozenset({"orderId", "customerId", "createdAt"})
#: createdAt as shared.clock.iso writes it (2024-05-01T12:00:00.123Z); milliseconds optional
CREATED_AT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z")

# path pattern -> allowed methods (used to answer 405 instead of 404)
KNOWN_ROUTES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"/orders"), ("POST",)),
    (re.compile(r"/orders/[^/]+"), ("GET", "DELETE")),
    (re.compile(r"/customers/[^/]+/orders"), ("GET",)),
]


class ApiError(Exception):
    def __init__(self, status_code: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.field = field


def json_response(status_code: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status_code,
        content_type="application/json",
        body=jsonutil.dumps(body),
        headers=headers,
    )


def error_response(
    status_code: int,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> Response:
    return json_response(status_code, {"message": message, "field": field, **(details or {})}, headers)


# ---------------------------------------------------------------------------------------------
# idempotency (Powertools, DynamoDB persistence on IDEMPOTENCY_TABLE: key `id`, TTL `expiration`)
# ---------------------------------------------------------------------------------------------
def _idempotency() -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    table_name = config.idempotency_table

    def factory() -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
        store = DynamoDBPersistenceLayer(
            table_name=table_name,
            key_attr="id",
            expiry_attr="expiration",
            boto3_client=aws.dynamodb_client(),
        )
        cfg = IdempotencyConfig(
            event_key_jmespath="idempotencyKey",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        )
        return store, cfg

    return aws.cached(f"idempotency:{table_name}", factory)


def create_with_idempotency_key(key: str, request: validation.CreateOrderRequest) -> dict[str, Any]:
    """Same key + same canonical body -> the first response (one order); same key + other body -> 409.

    Keys are scoped per customer (`<customerId>#<sub>#<key>`): one customer's keys never collide with another's. The
    idempotent unit is the request body as sent (prices and total included or omitted); pricing runs inside, so a
    repeat returns the first response even after a price change, and a 400/409 from pricing keeps no record."""
    store, cfg = _idempotency()
    if app.lambda_context is not None:
        cfg.register_lambda_context(app.lambda_context)

    @idempotent_function(
        data_keyword_argument="request_data",
        persistence_store=store,
        config=cfg,
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )
    def _create(request_data: dict[str, Any]) -> dict[str, Any]:
        return service.create_order(request)

    # the sub too: a deleted and re-created user name must not replay the old user's response
    return _create(
        request_data={"idempotencyKey": f"{request.customer_id}#{request.owner_sub}#{key}", "body": request.canonical}
    )


# ---------------------------------------------------------------------------------------------
# routes
# ---------------------------------------------------------------------------------------------
def current_caller() -> auth.Caller:
    """The authenticated caller of the current request (401/403 through the exception handlers)."""
    caller = auth.caller_from_event(app.current_event.raw_event)
    observability.bind_order(None, callerId=caller.customer_id, callerAdmin=caller.is_admin)
    return caller


@app.post("/orders")
def post_order() -> Response:
    caller = current_caller()
    event = app.current_event
    request = replace(
        validation.validate_http_request(event.headers, event.body, bool(event.is_base64_encoded), caller.customer_id),
        owner_sub=caller.sub,
    )
    key = validation.idempotency_key(event.headers)
    result = create_with_idempotency_key(key, request) if key else service.create_order(request)
    return json_response(201, result)


def path_id(value: str, name: str) -> str:
    """A path parameter that names an order or a customer: the id rule, else 400 (before DynamoDB sees it)."""
    if not is_valid_id(value):
        raise ApiError(400, f"{name} is invalid", f"pathParameters.{name}")
    return value


@app.get("/orders/<order_id>")
def get_order(order_id: str) -> Response:
    caller = current_caller()
    order_id = path_id(order_id, "orderId")
    observability.bind_order(order_id)
    return json_response(200, service.to_api(service.get_order(order_id, caller.scope, owner_sub=caller.sub)))


@app.delete("/orders/<order_id>")
def delete_order(order_id: str) -> Response:
    caller = current_caller()
    order_id = path_id(order_id, "orderId")
    observability.bind_order(order_id)
    return json_response(202, service.cancel_order(order_id, caller.scope, owner_sub=caller.sub))


def _page_size(params: dict[str, str]) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    # ASCII digits only, and few of them: str.isdigit() accepts "²" and int() refuses > 4,300 digits (both a 500)
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiError(400, f"limit must be an integer between 1 and {MAX_PAGE_SIZE}", "queryStringParameters.limit")
    return int(raw)


def encode_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(jsonutil.dumps(last_key).encode()).decode().rstrip("=")


def decode_token(token: str | None, customer_id: str) -> dict[str, Any] | None:
    """The start key a nextToken names, exactly as DynamoDB would have returned it for this customer's list: the
    index's key attributes and no others, an orderId of the id rule, the path's customer, a createdAt as stored;
    anything else is 400 (DynamoDB would refuse it with a ValidationException, or start another customer's list)."""
    if token is None:
        return None
    if not NEXT_TOKEN_RE.fullmatch(token):
        raise _invalid_token()
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as exc:  # bad padding (binascii.Error), not UTF-8, not JSON: all ValueErrors
        raise _invalid_token() from exc
    if not (
        isinstance(key, dict)
        and set(key) == PAGE_KEY_ATTRIBUTES
        and is_valid_id(key["orderId"])
        and key["customerId"] == customer_id
        and isinstance(key["createdAt"], str)
        and CREATED_AT_RE.fullmatch(key["createdAt"])
    ):
        raise _invalid_token()
    return key


def _invalid_token() -> ApiError:
    return ApiError(400, "nextToken is invalid", "queryStringParameters.nextToken")


@app.get("/customers/<customer_id>/orders")
def list_customer_orders(customer_id: str) -> Response:
    caller = current_caller()
    customer_id = path_id(customer_id, "customerId")
    if not caller.may_access(customer_id):
        raise auth.Forbidden("you may list only your own orders", "pathParameters.customerId")
    params = app.current_event.query_string_parameters or {}
    limit = _page_size(params)
    start_key = decode_token(params.get("nextToken"), customer_id)
    found, last_key = service.list_customer_orders(customer_id, limit, start_key, caller.scope, caller.sub)
    return json_response(200, {"orders": [service.to_api(o) for o in found], "nextToken": encode_token(last_key)})


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
@app.not_found
def not_found(_: NotFoundError) -> Response:
    method = app.current_event.http_method.upper()
    path = app.current_event.path
    for pattern, methods in KNOWN_ROUTES:
        if pattern.fullmatch(path):
            return error_response(405, f"method {method} not allowed on {path}", None, {"Allow": ", ".join(methods)})
    return error_response(404, f"no route for {method} {path}")


@app.exception_handler(ApiError)
def on_api_error(exc: ApiError) -> Response:
    return error_response(exc.status_code, exc.message, exc.field)


@app.exception_handler(auth.Unauthenticated)
def on_unauthenticated(exc: auth.Unauthenticated) -> Response:
    logger.warning("request without a usable identity", extra={"reason": str(exc)})
    return error_response(401, str(exc), None, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


@app.exception_handler(auth.Forbidden)
def on_forbidden(exc: auth.Forbidden) -> Response:
    logger.info("request forbidden", extra={"reason": exc.message, "field": exc.field})
    return error_response(403, exc.message, exc.field)


@app.exception_handler(OrderValidationError)
def on_validation_error(exc: OrderValidationError) -> Response:
    logger.info("request rejected", extra={"status": exc.status_code, "field": exc.field, "reason": exc.message})
    observability.count("OrdersRejected")
    return error_response(exc.status_code, exc.message, exc.field, details=exc.details)


@app.exception_handler(OrderNotFound)
def on_not_found(exc: OrderNotFound) -> Response:
    logger.info("order not found", extra={"status": 404})
    return error_response(404, f"order {exc.order_id} not found")


@app.exception_handler(service.CancelConflict)
def on_cancel_conflict(exc: service.CancelConflict) -> Response:
    return error_response(409, str(exc), "status")


@app.exception_handler(IdempotencyValidationError)
def on_idempotency_mismatch(_: IdempotencyValidationError) -> Response:
    return error_response(
        409, "Idempotency-Key was already used with a different request body", "headers.idempotency-key"
    )


@app.exception_handler(IdempotencyAlreadyInProgressError)
def on_idempotency_in_progress(_: IdempotencyAlreadyInProgressError) -> Response:
    return error_response(409, "a request with this Idempotency-Key is still in progress", "headers.idempotency-key")


@app.exception_handler([RetryableError, IdempotencyPersistenceLayerError])
def on_unavailable(exc: Exception) -> Response:
    logger.warning("dependency unavailable", extra={"error": str(exc), "errorType": type(exc).__name__})
    return error_response(503, "service temporarily unavailable, please retry", None, {"Retry-After": "1"})


@app.exception_handler(Exception)
def on_unexpected(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return error_response(500, "internal error", None)
