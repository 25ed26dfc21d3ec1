"""The services' real Lambda handlers in process, on moto: does a payload a workflow sent pass the handler?

`real_services(monkeypatch)` starts moto with every table of the contract (scripts/tables.py), the notifications
bucket and the bus; `RealServices.call(service, payload)` first writes the order the payload names in a status
in which the action is legal (a charge needs a PENDING order, a refund a claimed one, ...), then runs the real
handler (services/<service>/handler.py) and returns its answer. Any exception -- the services' input validation
raises InvalidTaskInput / UnsupportedEvent -- fails the caller's test.

Only moto's AWS endpoints are intercepted: the tests' MiniStack clients (explicit endpoint_url) keep working, and
the services' clients, which resolve their endpoint from the environment, are kept off MiniStack by removing any
AWS_ENDPOINT_URL* variable while moto runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = REPO_ROOT / "services"
if str(SERVICES) not in sys.path:
    sys.path.insert(0, str(SERVICES))

PREFIX = "orderflow-wfcheck"
REGION = "us-east-1"
BUCKET = f"{PREFIX}-notifications"
BUS = f"{PREFIX}-bus"
# read at import time by the handlers' Powertools objects (as in tests/unit/conftest.py)
for _name, _value in (
    ("POWERTOOLS_SERVICE_NAME", "orderflow-wfcheck"),
    ("POWERTOOLS_METRICS_NAMESPACE", "orderflow"),
    ("POWERTOOLS_TRACE_DISABLED", "1"),
):
    os.environ.setdefault(_name, _value)
ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "EVENT_BUS_NAME": BUS,
    "NOTIFICATIONS_BUCKET": BUCKET,
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "LOG_LEVEL": "CRITICAL",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "PAYMENT_CUSTOMER_LIMIT": "5000.00",
    "PAYMENT_DECLINE_CUSTOMERS": "customer-declined",
    "PAYMENT_FAULT_RATE": "0",
    "PAYMENT_FAULT_SEED": "0",
    "CIRCUIT_FAILURE_THRESHOLD": "5",
    "CIRCUIT_COOLDOWN_SECONDS": "30",
    "STALE_ORDER_MINUTES": "30",
    "OUTBOX_GRACE_SECONDS": "120",
}
NOTIFICATION = {
    "COMPLETED": "order-completed",
    "PAYMENT_FAILED": "payment-declined",
    "CANCELLED": "order-cancelled",
    "FAILED": "order-failed",
    "EXPIRED": "order-expired",
}
#: the status in which each action is legal for the order the payload names (None: the action reads no order)
LEGAL_STATUS = {
    "charge": "PENDING",
    "reserve": "PAID",
    "claim": "PENDING",
    "refund": "CANCELLED",
    "release": "CANCELLED",
    "notify": None,
    "find_stale": None,
}
TERMINAL = {"COMPLETED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"}
SEEDED_AT = "2026-11-27T09:00:00.000Z"


@dataclass
class _Context:
    function_name: str = "orderflow-wfcheck"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:orderflow-wfcheck"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


class RealServices:
    def __init__(self) -> None:
        import boto3

        from inventory import handler as inventory
        from notification import handler as notification
        from order import handler as order
        from payment import handler as payment
        from scripts import tables

        self.handlers = {
            "order": order.lambda_handler,
            "payment": payment.lambda_handler,
            "inventory": inventory.lambda_handler,
            "notification": notification.lambda_handler,
        }
        ddb = boto3.resource("dynamodb", region_name=REGION)
        self.orders = ddb.Table(f"{PREFIX}-orders")
        self.inventory = ddb.Table(f"{PREFIX}-inventory")
        self.tables = tables

    def seed_order(self, ref: dict[str, Any], status: str, **extra: Any) -> None:
        items = ref.get("items") or [{"productId": "prod-1", "quantity": 2, "price": "19.99"}]
        stock = {i["productId"]: i for i in items}
        from shared.repositories.inventory import product_item

        for product in stock.values():
            self.inventory.put_item(
                Item=product_item(product["productId"], 100, name="wfcheck product", price=product["price"])
            )
        total = sum(Decimal(str(i["price"])) * i["quantity"] for i in items)
        item: dict[str, Any] = {
            "orderId": ref["orderId"],
            "customerId": ref["customerId"],
            "status": status,
            "items": [
                {"productId": i["productId"], "quantity": i["quantity"], "price": Decimal(str(i["price"]))}
                for i in items
            ],
            "totalAmount": total,
            "statusHistory": [{"status": status, "at": SEEDED_AT, "reason": "seeded"}],
            "createdAt": SEEDED_AT,
            "updatedAt": SEEDED_AT,
            "version": 1,
            **extra,
        }
        if status in TERMINAL:
            item["claim"] = {"by": "wfcheck", "status": status, "at": SEEDED_AT}
        self.orders.put_item(Item=item)

    def call(self, service: str, payload: dict[str, Any], *, status: str | None = None) -> Any:
        """Run the real handler on `payload`, the named order first written in `status` (default: legal)."""
        action = payload.get("action")
        ref = payload.get("order")
        wanted = status or LEGAL_STATUS.get(action)
        if isinstance(ref, dict) and wanted is not None:
            extra: dict[str, Any] = {}
            if payload.get("unchangedSince"):
                extra["updatedAt"] = payload["unchangedSince"]
            self.seed_order(ref, wanted, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Powertools: "No application metrics to publish"
            return self.handlers[service](payload, _Context())


@contextlib.contextmanager
def real_services(monkeypatch) -> Iterator[RealServices]:
    import boto3
    from moto import mock_aws

    from scripts import tables

    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"}:
            monkeypatch.delenv(name)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    for table in tables.definitions():
        monkeypatch.setenv(tables.env_var(table), f"{PREFIX}-{table}")
    from shared import aws as shared_aws

    with mock_aws():
        shared_aws.reset()
        client = boto3.client("dynamodb", region_name=REGION)
        for request in tables.create_table_requests(PREFIX):
            client.create_table(**request)
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)
        try:
            yield RealServices()
        finally:
            shared_aws.reset()
