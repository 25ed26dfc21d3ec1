"""Payment Lambda entry point (`payment.handler.lambda_handler`). Thin: observability + dispatch only.

- `{"action":"charge","order":{...},"attempt":n}` -> `{"status":"PAID"|"DECLINED","paymentId","amount","reason"}`
- `{"action":"refund","order":{...},"reason":str}` -> `{"status":"REFUNDED"|"NOT_CHARGED","paymentId","refundId"}`
Technical faults raise PaymentGatewayUnavailable / CircuitOpenError / EventPublishError (RetryableError).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from payment import service
from shared import aws
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
    action = event.get("action") if isinstance(event, dict) else None
    if action == "charge":
        return service.charge(event.get("order"), event.get("attempt"))
    if action == "refund":
        return service.refund(event.get("order"), event.get("reason"))
    raise UnsupportedEvent(f"unsupported payment action {action!r}")
