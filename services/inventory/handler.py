"""Inventory Lambda entry point (`inventory.handler.lambda_handler`). Thin: observability + dispatch only.

- `{"action":"reserve","order":{...}}`
  -> `{"status":"RESERVED"|"UNAVAILABLE"|"ORDER_NOT_RESERVABLE","shortItems":[...]}`
- `{"action":"release","order":{...}}` -> `{"status":"RELEASED"|"NOT_RESERVED"|"NOT_COMPENSABLE"}` (RELEASED also on a repeat)
- `{"action":"restock","productId","quantity","eventId","price"?}` or an EventBridge "Inventory Restocked" event
  (detail: productId, quantity, eventId, optional price) -> `{"status":"RESTOCKED"|"DUPLICATE","available":n}`
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from inventory import service
from shared import aws, events
from shared.errors import UnsupportedEvent
from shared.observability import WORKFLOW_CORRELATION_PATH

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path=WORKFLOW_CORRELATION_PATH, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@aws.transient_as_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise UnsupportedEvent("event must be a JSON object")
    action = event.get("action")
    if action == "reserve":
        return service.reserve(event.get("order"))
    if action == "release":
        return service.release(event.get("order"))
    if action == "restock":
        return service.restock(
            event.get("productId"), event.get("quantity"), event.get("eventId"), price=event.get("price")
        )
    if event.get("detail-type") == events.INVENTORY_RESTOCKED and isinstance(event.get("detail"), dict):
        detail = event["detail"]
        event_id = detail.get("eventId") or event.get("id")
        return service.restock(detail.get("productId"), detail.get("quantity"), event_id, price=detail.get("price"))
    raise UnsupportedEvent(f"unsupported inventory event (action={action!r}, detail-type={event.get('detail-type')!r})")
