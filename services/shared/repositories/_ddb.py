"""Low-level DynamoDB helpers (serialization for TransactWriteItems, error classification)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def serialize_map(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items()}


def deserialize_map(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def is_conditional_failure(exc: BaseException) -> bool:
    return error_code(exc) == "ConditionalCheckFailedException"


def is_transaction_cancelled(exc: BaseException) -> bool:
    return error_code(exc) == "TransactionCanceledException"


def cancellation_codes(exc: ClientError, expected: int) -> list[str]:
    """Per-action cancellation codes of a TransactionCanceledException ("None" = that action was fine).

    boto3 exposes them as `CancellationReasons`; if absent, they are parsed from the message
    ("... [None, ConditionalCheckFailed]"). Missing entries are reported as "Unknown".
    """
    reasons = exc.response.get("CancellationReasons")
    codes: list[str]
    if reasons:
        codes = [str(r.get("Code") or "None") for r in reasons]
    else:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        start, end = message.rfind("["), message.rfind("]")
        codes = [c.strip() for c in message[start + 1 : end].split(",")] if 0 <= start < end else []
    codes = codes[:expected]
    codes += ["Unknown"] * (expected - len(codes))
    return codes
