"""Order Lambda entry point (`order.handler.lambda_handler`). Thin: observability + dispatch only.

Event shapes:
- API Gateway HTTP API (payload 2.0, has `requestContext`) -> order.api routes, acting for the caller named by the
  JWT authorizer's claims (order.auth; no claims -> 401)
- workflow actions (order.saga): `start`, `complete`, `claim`, `settle`, and the sweep's `find_stale`; each request
  is validated against its contract (shared/schemas/tasks/order.<action>.json) first
- seed direct invoke `{"customerId", "items", "totalAmount"?}` (item prices optional, priced from the catalogue as
  over HTTP) -> plain dict `{"orderId", "status": "PENDING"}` (invalid payload, unknown product or a price that
  differs from the catalogue -> Lambda error `OrderValidationError`, `status_code` 400 / 409). Only IAM principals allowed lambda:InvokeFunction reach
  this path (the function's resource policy admits API Gateway for this API only; see docs/auth.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from order import api, saga, service, validation
from shared import aws, contracts
from shared.errors import UnsupportedEvent
from shared.warmup import answers_warmup

#: workflow action -> what it does with its (validated) request
SAGA_ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "start": lambda e: saga.start(e["order"], e["executionId"]),
    "complete": lambda e: saga.complete(e["order"], e["executionId"]),
    "claim": lambda e: saga.claim(e),
    "settle": lambda e: saga.settle(e["order"]),
    "find_stale": lambda e: saga.sweep(e),
}

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@answers_warmup
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise UnsupportedEvent("event must be a JSON object")
    if "requestContext" in event:
        return api.app.resolve(event, context)
    action = event.get("action")
    if action is not None:
        return aws.transient_as_retryable(SAGA_ACTIONS[contracts.task_request("order", event)])(event)
    if action is None and "customerId" in event:
        return service.create_order(validation.validate_payload(event))
    raise UnsupportedEvent(f"unsupported order event (action={action!r})")
