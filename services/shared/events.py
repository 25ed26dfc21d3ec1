"""EventBridge publishing with deterministic event ids.

`eventId = uuid5(EVENT_ID_NAMESPACE, "<orderId>|<detail-type>[|<discriminator>]")` so a re-put of the same
business event (a retried Lambda, an archive replay) carries the same id and consumers can de-duplicate.
Every publisher in orderflow re-puts the event of the state it finds on a repeated call, relying on that.
"""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from shared import aws, jsonutil
from shared.config import config
from shared.contracts import EVENTS
from shared.errors import EventPublishError

logger = Logger(child=True)

#: Namespace of every orderflow eventId (uuid5(NAMESPACE_URL, "urn:orderflow:event")).
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:orderflow:event")

# Sources and detail-types: the contracts' (shared/schemas/events/*.json), not written again here.
ORDER_SERVICE = EVENTS["OrderCreated"].source
PAYMENT_SERVICE = EVENTS["PaymentProcessed"].source
INVENTORY_SERVICE = EVENTS["InventoryReserved"].source
INVENTORY_ADMIN = EVENTS["InventoryRestocked"].source

ORDER_CREATED = EVENTS["OrderCreated"].detail_type
ORDER_CANCELLATION_REQUESTED = EVENTS["OrderCancellationRequested"].detail_type
ORDER_COMPLETED = EVENTS["OrderCompleted"].detail_type
PAYMENT_PROCESSED = EVENTS["PaymentProcessed"].detail_type
PAYMENT_FAILED = EVENTS["PaymentFailed"].detail_type
PAYMENT_REFUNDED = EVENTS["PaymentRefunded"].detail_type
INVENTORY_RESERVED = EVENTS["InventoryReserved"].detail_type
INVENTORY_UNAVAILABLE = EVENTS["InventoryUnavailable"].detail_type
INVENTORY_RELEASED = EVENTS["InventoryReleased"].detail_type
INVENTORY_RESTOCKED = EVENTS["InventoryRestocked"].detail_type


def event_id(order_id: str, detail_type: str, discriminator: str | None = None) -> str:
    name = f"{order_id}|{detail_type}" + (f"|{discriminator}" if discriminator else "")
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


def publish(source: str, detail_type: str, detail: dict[str, Any]) -> str:
    """PutEvents one entry on EVENT_BUS_NAME; raise EventPublishError (retryable) on any failure.

    `detail` must already contain `eventId`. Returns the EventBridge entry id.
    """
    entry = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": jsonutil.dumps(detail),
        "EventBusName": config.event_bus_name,
    }
    try:
        response = aws.events_client().put_events(Entries=[entry])
    except (ClientError, BotoCoreError) as exc:
        logger.error("PutEvents failed", extra={"detailType": detail_type, "error": str(exc)})
        raise EventPublishError(f"PutEvents {detail_type!r} failed: {exc}") from exc
    failed = int(response.get("FailedEntryCount") or 0)
    if failed:
        entries = response.get("Entries") or [{}]
        first = entries[0]
        logger.error(
            "PutEvents reported failed entries",
            extra={"detailType": detail_type, "failedEntryCount": failed, "entries": entries},
        )
        raise EventPublishError(
            f"PutEvents {detail_type!r}: {failed} failed entr{'y' if failed == 1 else 'ies'} "
            f"({first.get('ErrorCode')}: {first.get('ErrorMessage')})"
        )
    entries = response.get("Entries") or [{}]
    logger.info("event published", extra={"detailType": detail_type, "eventId": detail.get("eventId")})
    return str((entries[0] or {}).get("EventId", ""))


def publish_order_event(source: str, detail_type: str, order_id: str, detail: dict[str, Any]) -> dict[str, Any]:
    """Add the deterministic eventId and orderId to `detail`, publish, and return the full detail."""
    full = {"eventId": event_id(order_id, detail_type), "orderId": order_id, **detail}
    publish(source, detail_type, full)
    return full
