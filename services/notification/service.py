"""Notification business logic: render a message and store it exactly once in S3.

Keys (contract): workflow call -> `notifications/<orderId>/<type>.json`;
EventBridge event -> `notifications/<orderId>/events/<detail.eventId>.json`.
De-duplication: head_object first; then put_object with IfNoneMatch="*" (S3 conditional write), a
PreconditionFailed (412) meaning another delivery wrote it first. If the SDK or the endpoint does not
support IfNoneMatch the put is retried without it (the head check still applies).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError, ParamValidationError

from notification import templates
from shared import aws, clock, events, jsonutil, observability
from shared.config import config
from shared.errors import InvalidTaskInput, NotificationConflict, UnsupportedEvent
from shared.models import is_valid_id

logger = Logger(child=True)

SENT = "SENT"
DUPLICATE = "DUPLICATE"
IGNORED = "IGNORED"
#: error codes meaning "this endpoint does not implement conditional writes" -> fall back to a plain put
_UNSUPPORTED_CONDITIONAL_CODES = {"NotImplemented", "InvalidArgument", "InvalidRequest", "501"}


_SAFE_KEY_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def key_part(event_id: str) -> str:
    """The eventId itself when it is a safe S3 key segment (uuids are); otherwise a stable uuid5 of it."""
    if _SAFE_KEY_PART.fullmatch(event_id) and ".." not in event_id:
        return event_id
    return str(uuid.uuid5(events.EVENT_ID_NAMESPACE, f"key|{event_id}"))


def workflow_key(order_id: str, kind: str) -> str:
    return f"notifications/{order_id}/{kind}.json"


def event_key(order_id: str, event_id: str) -> str:
    return f"notifications/{order_id}/events/{event_id}.json"


def _exists(bucket: str, key: str) -> bool:
    try:
        aws.s3_client().head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchKey", "NotFound"}:
            return False
        raise


def store_once(key: str, message: dict[str, Any]) -> str:
    """Write `message` at `key` unless it exists: returns SENT or DUPLICATE."""
    bucket = config.notifications_bucket
    if _exists(bucket, key):
        logger.info("duplicate notification: key exists", extra={"key": key})
        observability.count("NotificationsDuplicate")
        return DUPLICATE
    body = jsonutil.dumps(message).encode("utf-8")
    put = {"Bucket": bucket, "Key": key, "Body": body, "ContentType": "application/json"}
    try:
        aws.s3_client().put_object(**put, IfNoneMatch="*")
    except ParamValidationError:
        logger.warning("SDK does not know IfNoneMatch; writing without the conditional header")
        aws.s3_client().put_object(**put)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code == "PreconditionFailed":
            logger.info("duplicate notification: conditional put refused", extra={"key": key})
            observability.count("NotificationsDuplicate")
            return DUPLICATE
        if code == "ConditionalRequestConflict":
            raise NotificationConflict(f"concurrent write of {key}; retry") from exc
        if code in _UNSUPPORTED_CONDITIONAL_CODES:
            logger.warning("endpoint rejected IfNoneMatch; writing without it", extra={"code": code})
            aws.s3_client().put_object(**put)
        else:
            raise
    observability.count("NotificationsSent")
    logger.info("notification stored", extra={"key": key, "subject": message.get("subject")})
    return SENT


def notify_workflow(event: dict[str, Any]) -> dict[str, Any]:
    kind = event.get("type")
    if kind not in templates.WORKFLOW_TYPES:
        raise InvalidTaskInput(f"type must be one of {', '.join(templates.WORKFLOW_TYPES)}, got {kind!r}")
    order = event.get("order")
    if not isinstance(order, dict) or not is_valid_id(order.get("orderId")):
        raise InvalidTaskInput("order.orderId is required")
    details = event.get("details") if isinstance(event.get("details"), dict) else {}
    order_id = order["orderId"]
    observability.bind_order(order_id, notificationType=kind)
    subject, body = templates.render_workflow(kind, order, details)
    key = workflow_key(order_id, kind)
    message = {
        "orderId": order_id,
        "customerId": order.get("customerId"),
        "type": kind,
        "subject": subject,
        "body": body,
        "source": "workflow",
        "details": details,
        "createdAt": clock.now_iso(),
    }
    return {"status": store_once(key, message), "key": key}


def notify_event(event: dict[str, Any]) -> dict[str, Any]:
    detail_type = event.get("detail-type")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise UnsupportedEvent("EventBridge event without a detail object")
    if detail_type not in templates.EVENT_TYPES:
        logger.info("event type not notified", extra={"detailType": detail_type})
        return {"status": IGNORED, "key": None}
    order_id = detail.get("orderId")
    if not is_valid_id(order_id):
        raise InvalidTaskInput(f"detail.orderId is invalid: {order_id!r}")
    event_id = detail.get("eventId")
    if not event_id:
        # contract: every detail carries eventId; fall back to the envelope id (no replay de-dup then)
        event_id = event.get("id")
        logger.warning("event without detail.eventId; using the envelope id", extra={"eventId": event_id})
    if not isinstance(event_id, str) or not event_id.strip():
        raise InvalidTaskInput(f"eventId is missing or invalid: {event_id!r}")
    observability.bind_order(order_id, detailType=detail_type, eventId=event_id)
    subject, body = templates.render_event(detail_type, detail)
    key = event_key(order_id, key_part(event_id))
    message = {
        "orderId": order_id,
        "customerId": detail.get("customerId"),
        "type": detail_type,
        "subject": subject,
        "body": body,
        "source": event.get("source"),
        "eventId": event_id,
        "detail": detail,
        "createdAt": clock.now_iso(),
    }
    return {"status": store_once(key, message), "key": key}
