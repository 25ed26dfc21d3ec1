"""Observability helpers shared by the handlers.

Each handler module owns its module-level `Logger()`, `Tracer()` and `Metrics()` (service name from
POWERTOOLS_SERVICE_NAME, namespace from POWERTOOLS_METRICS_NAMESPACE). Powertools shares metric and tracer
state between instances, and `Logger(child=True)` in library modules logs through the handler's logger,
so business modules emit metrics/logs that the handler's decorators flush/format.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.exceptions import OrphanedChildLoggerError
from aws_lambda_powertools.metrics import MetricUnit

#: What X-Ray instruments in every handler (`Tracer(patch_modules=TRACED_MODULES)`): the AWS SDK, which makes every
#: call the services make. Powertools' default, patch_all, also imports requests, sqlite3, httpx, ... at a cold start
#: to patch them, and no service uses them (issue 13: lean handler imports; `invoke imports` measures it).
TRACED_MODULES = ("botocore",)

#: correlation id path for workflow task inputs and EventBridge events (JMESPath `||` = first non-null)
WORKFLOW_CORRELATION_PATH = "order.orderId || detail.orderId || productId"

_metrics = Metrics()
_logger = Logger(child=True)


def bind_order(order_id: str | None, **keys: object) -> None:
    """Use the orderId as correlation id for every following log line of this invocation."""
    try:
        if order_id:
            _logger.set_correlation_id(order_id)
            _logger.append_keys(orderId=order_id, **keys)
        elif keys:
            _logger.append_keys(**keys)
    except OrphanedChildLoggerError:  # pragma: no cover - only when used outside a handler (no parent logger)
        pass


def count(name: str, value: int = 1) -> None:
    """Emit a business counter (EMF) on the handler's metric set."""
    _metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
