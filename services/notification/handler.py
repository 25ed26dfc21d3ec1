"""Notification Lambda entry point (`notification.handler.lambda_handler`). Thin: observability + dispatch.

- workflow action `notify` (contract: shared/schemas/tasks/notification.notify.json, validated here)
  -> `notifications/<orderId>/<type>.json` (SENT / DUPLICATE): one message per outcome, sent by the workflow that
  finalizes the order; nothing else (no EventBridge rule targets this function).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from notification import service
from shared import aws, contracts
from shared.errors import UnsupportedEvent
from shared.observability import TRACED_MODULES, WORKFLOW_CORRELATION_PATH
from shared.warmup import answers_warmup

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics()


@answers_warmup
@logger.inject_lambda_context(correlation_id_path=WORKFLOW_CORRELATION_PATH, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@aws.transient_as_retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if not isinstance(event, dict):
        raise UnsupportedEvent("event must be a JSON object")
    if event.get("action") is not None:
        contracts.task_request("notification", event)  # notify, the one action
        return service.notify_workflow(event)
    raise UnsupportedEvent(f"unsupported notification event (action={event.get('action')!r})")
