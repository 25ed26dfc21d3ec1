"""Transactional outbox (OUTBOX_TABLE, key `id`): what a state change still owes, written in the same transaction.

Two kinds of entry, both written by shared.repositories.orders in the TransactWriteItems that changes the order:
- `event`   (id = the event's deterministic eventId): an order event to put on the bus. The writer publishes it right
  after the transaction and deletes the entry; if the publish fails or the Lambda dies in between, the stale-order
  sweep republishes it (`flush_due`). Consumers de-duplicate by eventId, so a second put is harmless.
- `finalize` (id = `finalize_id(orderId)`, `<orderId>#finalize`): the duty of the claim that made the order terminal:
  compensate (refund + release) unless COMPLETED, notify, then the workflow's Settle deletes it, a DynamoDB deleteItem
  integration whose key scripts/render.py renders from `finalize_id` (its one definition). The claimer does it at
  once; the sweep resumes a duty left behind (`due`).
The table holds only pending work, so the sweep's Scan stays small.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aws_lambda_powertools import Logger
from boto3.dynamodb.conditions import Attr

from shared import aws, events, jsonutil
from shared.config import config
from shared.repositories import _ddb

logger = Logger(child=True)

EVENT = "event"
FINALIZE = "finalize"


def finalize_id(order_id: str) -> str:
    """The outbox id of an order's finalize duty: written here, rendered into the workflows' Settle task."""
    return f"{order_id}#finalize"


def _table() -> Any:
    return aws.table(config.outbox_table)


def event_entry(
    order_id: str, customer_id: str, source: str, detail_type: str, detail: dict[str, Any], at: str
) -> dict[str, Any]:
    """Outbox item of an order event; `detail` carries its eventId."""
    return {
        "id": detail["eventId"],
        "kind": EVENT,
        "orderId": order_id,
        "customerId": customer_id,
        "source": source,
        "detailType": detail_type,
        "detail": jsonutil.dumps(detail),
        "createdAt": at,
    }


def finalize_entry(order_id: str, customer_id: str, status: str, at: str) -> dict[str, Any]:
    return {
        "id": finalize_id(order_id),
        "kind": FINALIZE,
        "orderId": order_id,
        "customerId": customer_id,
        "status": status,
        "createdAt": at,
    }


def put_action(entry: dict[str, Any], table_name: str | None = None) -> dict[str, Any]:
    """TransactWriteItems Put of an entry (overwrites: a retried writer re-records the same duty); the configured
    table unless `table_name` names one (scripts/render.py, rendering a workflow's transaction)."""
    return {"Put": {"TableName": table_name or config.outbox_table, "Item": _ddb.serialize_map(entry)}}


def publish(entries: Iterable[dict[str, Any]]) -> int:
    """Put each event entry on the bus, then delete it; returns how many were published.

    Raises EventPublishError on the first failure: the entries not yet deleted stay for the sweep.
    """
    count = 0
    for entry in entries:
        if entry.get("kind") != EVENT:
            continue
        detail = json.loads(entry["detail"]) if isinstance(entry["detail"], str) else entry["detail"]
        events.publish(entry["source"], entry["detailType"], detail)
        _table().delete_item(Key={"id": entry["id"]})
        count += 1
    return count


def due(older_than: str, limit: int) -> list[dict[str, Any]]:
    """Entries created before `older_than` (ISO), oldest first, at most `limit` (Scan: the table is small)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"FilterExpression": Attr("createdAt").lt(older_than), "ConsistentRead": True}
    while True:
        response = _table().scan(**kwargs)
        found.extend(response.get("Items") or [])
        last = response.get("LastEvaluatedKey")
        if not last:
            break
        kwargs["ExclusiveStartKey"] = last
    found.sort(key=lambda e: (e["createdAt"], e["id"]))
    return found[:limit]
