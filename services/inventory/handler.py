"""Inventory Lambda entry point (`inventory.handler.lambda_handler`). Thin: observability, the request's contract
(shared/schemas/tasks/inventory.<action>.json) and dispatch only.

- `reserve`: all items or none (RESERVED / UNAVAILABLE / ORDER_NOT_RESERVABLE)
- `release`: a claimed order's reservation back to stock, once (RELEASED / NOT_RESERVED / NOT_COMPENSABLE)
- `restock`, or the whole EventBridge "Inventory Restocked" event (its contract is the event's): stock once per
  eventId (RESTOCKED / DUPLICATE)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory import service
from shared import aws, contracts, events
from shared.errors import UnsupportedEvent
from shared.observability import TRACED_MODULES, WORKFLOW_CORRELATION_PATH
from shared.warmup import answers_warmup

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()

#: action -> what it does with its (validated) request
ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "reserve": lambda e: service.reserve(e["order"]),
    "release": lambda e: service.release(e["order"]),
    "restock": lambda e: service.restock(e["productId"], e["quantity"], e["eventId"], price=e.get("price")),
}


@answers_warmup
@logger.inject_lambda_context(correlation_id_path=WORKFLOW_CORRELATION_PATH, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@aws.transient_as_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise UnsupportedEvent("event must be a JSON object")
    action = event.get("action")
    if action is not None:
        return ACTIONS[contracts.task_request("inventory", event)](event)
    if event.get("detail-type") == events.INVENTORY_RESTOCKED and isinstance(event.get("detail"), dict):
        detail = event["detail"]
        event_id = detail.get("eventId") or event.get("id")
        return service.restock(detail.get("productId"), detail.get("quantity"), event_id, price=detail.get("price"))
    raise UnsupportedEvent(f"unsupported inventory event (action={action!r}, detail-type={event.get('detail-type')!r})")
