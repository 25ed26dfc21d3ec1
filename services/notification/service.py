"""Notification business logic: render a message and store it exactly once in S3.

Key (contract): `notifications/<orderId>/<type>.json`, one per outcome, written by the finalizing workflow.
De-duplication: head_object first; then put_object with IfNoneMatch="*" (S3 conditional write), a
PreconditionFailed (412) meaning another delivery wrote it first. If the SDK or the endpoint does not
support IfNoneMatch the put is retried without it (the head check still applies).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError, ParamValidationError

from notification import templates
from shared import aws, clock, jsonutil, observability
from shared.config import config
from shared.errors import InvalidTaskInput, NotificationConflict
from shared.models import is_valid_id

logger = Logger(child=True)

SENT = "SENT"
DUPLICATE = "DUPLICATE"
#: error codes meaning "this endpoint does not implement conditional writes" -> fall back to a plain put
_UNSUPPORTED_CONDITIONAL_CODES = {"NotImplemented", "InvalidArgument", "InvalidRequest", "501"}


def workflow_key(order_id: str, kind: str) -> str:
    return f"notifications/{order_id}/{kind}.json"


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
