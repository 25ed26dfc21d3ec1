"""Order Lambda entry point (`order.handler.lambda_handler`). Thin: observability + dispatch only.

Event shapes:
- API Gateway HTTP API (payload 2.0, has `requestContext`) -> order.api routes, acting for the caller named by the
  JWT authorizer's claims (order.auth; no claims -> 401)
- workflow actions (order.saga): `claim` and the sweep's `find_stale`; each request
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

from order import saga
from shared import aws, contracts
from shared.errors import UnsupportedEvent
from shared.observability import TRACED_MODULES
from shared.warmup import answers_warmup

#: workflow action -> what it does with its (validated) request
SAGA_ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "claim": lambda e: saga.claim(e),
    "find_stale": lambda e: saga.sweep(e),
}

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


#: imported lazily by the handler below (a workflow-only worker never needs them), eagerly by a warm-up request
LAZY_IMPORTS = ("order.api", "order.service", "order.validation")


@answers_warmup(preload=LAZY_IMPORTS)
@logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise UnsupportedEvent("event must be a JSON object")
    if "requestContext" in event:
        from order import api  # lazy: the HTTP router (Powertools event_handler, idempotency) only serves the API

        return api.app.resolve(event, context)
    action = event.get("action")
    if action is not None:
        return aws.transient_as_retryable(SAGA_ACTIONS[contracts.task_request("order", event)])(event)
    if action is None and "customerId" in event:
        from order import service, validation  # lazy: the seed's direct invoke only

        return service.create_order(validation.validate_payload(event))
    raise UnsupportedEvent(f"unsupported order event (action={action!r})")
