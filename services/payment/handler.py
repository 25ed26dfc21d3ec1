"""Payment Lambda entry point (`payment.handler.lambda_handler`). Thin: observability, the request's contract
(shared/schemas/tasks/payment.<action>.json) and dispatch only.

- `charge`: charge the stored order's total exactly once (PAID / DECLINED / NOT_PAYABLE / RETRY_LATER)
- `refund`: give a claimed order's payment back (REFUNDED / NOT_CHARGED / NOT_COMPENSABLE)
Technical faults raise PaymentGatewayUnavailable / CircuitOpenError / EventPublishError (RetryableError).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from payment import service
from shared import aws, contracts
from shared.observability import TRACED_MODULES, WORKFLOW_CORRELATION_PATH
from shared.warmup import answers_warmup

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()

#: action -> what it does with its (validated) request
ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "charge": lambda e: service.charge(e["order"], e.get("attempt")),
    "refund": lambda e: service.refund(e["order"], e.get("reason")),
}


@answers_warmup
@logger.inject_lambda_context(correlation_id_path=WORKFLOW_CORRELATION_PATH, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@aws.transient_as_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return ACTIONS[contracts.task_request("payment", event)](event)
