"""Orders table: key orderId (HASH) + customerId (RANGE); GSIs CustomerId-Index and Status-Index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from aws_lambda_powertools import Logger
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from shared import aws, clock
from shared.config import config
from shared.errors import IllegalTransition, OrderNotFound
from shared.models import OrderStatus, sources_for
from shared.repositories import _ddb

logger = Logger(child=True)

CUSTOMER_INDEX = "CustomerId-Index"
STATUS_INDEX = "Status-Index"


@dataclass(frozen=True)
class TransitionUpdate:
    """The UpdateItem parts of a status transition (usable standalone or inside TransactWriteItems)."""

    key: dict[str, Any]
    update_expression: str
    condition_expression: str
    names: dict[str, str]
    values: dict[str, Any]

    def as_transact_update(self, table_name: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": table_name,
                "Key": _ddb.serialize_map(self.key),
                "UpdateExpression": self.update_expression,
                "ConditionExpression": self.condition_expression,
                "ExpressionAttributeNames": self.names,
                "ExpressionAttributeValues": _ddb.serialize_map(self.values),
            }
        }


def build_transition(
    order_id: str,
    customer_id: str,
    target: str,
    reason: str,
    *,
    expected_from: Iterable[str] | None = None,
    extra_set: dict[str, Any] | None = None,
    extra_remove: Iterable[str] = (),
    at: str | None = None,
) -> TransitionUpdate:
    """Conditional update current-status -> target, appending {status, at, reason} to statusHistory.

    The condition allows only the statuses from which the lifecycle permits `target` (optionally narrowed
    by `expected_from`), so an illegal transition is refused atomically by DynamoDB.
    """
    target_status = OrderStatus(target)
    allowed = set(sources_for(target_status))
    if expected_from is not None:
        allowed &= {OrderStatus(s) for s in expected_from}
    if not allowed:
        raise IllegalTransition(order_id, ",".join(sorted(expected_from or [])) or None, target_status.value)
    at = at or clock.now_iso()
    names = {"#status": "status"}
    values: dict[str, Any] = {
        ":target": target_status.value,
        ":history": [{"status": target_status.value, "at": at, "reason": reason}],
        ":empty": [],
        ":now": at,
        ":zero": 0,
        ":one": 1,
    }
    placeholders = []
    for index, status in enumerate(sorted(allowed)):
        values[f":from{index}"] = status.value
        placeholders.append(f":from{index}")
    sets = [
        "#status = :target",
        "statusHistory = list_append(if_not_exists(statusHistory, :empty), :history)",
        "updatedAt = :now",
        "version = if_not_exists(version, :zero) + :one",
    ]
    for index, (attr, value) in enumerate((extra_set or {}).items()):
        names[f"#x{index}"] = attr
        values[f":x{index}"] = value
        sets.append(f"#x{index} = :x{index}")
    expression = "SET " + ", ".join(sets)
    removes = list(extra_remove)
    if removes:
        for index, attr in enumerate(removes):
            names[f"#r{index}"] = attr
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes)))
    return TransitionUpdate(
        key={"orderId": order_id, "customerId": customer_id},
        update_expression=expression,
        condition_expression=f"attribute_exists(orderId) AND #status IN ({', '.join(placeholders)})",
        names=names,
        values=values,
    )


class OrdersRepository:
    @property
    def table_name(self) -> str:
        return config.orders_table

    @property
    def _table(self) -> Any:
        return aws.table(self.table_name)

    # --- writes -----------------------------------------------------------------------------
    def create(self, order: dict[str, Any]) -> None:
        """PutItem guarded by attribute_not_exists(orderId)."""
        self._table.put_item(Item=order, ConditionExpression="attribute_not_exists(orderId)")

    def delete_unpublished(self, order_id: str, customer_id: str) -> bool:
        """Roll back a just-created order (still PENDING, version 1). False if it already moved on."""
        try:
            self._table.delete_item(
                Key={"orderId": order_id, "customerId": customer_id},
                ConditionExpression="#status = :pending AND version = :one",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":pending": OrderStatus.PENDING.value, ":one": 1},
            )
            return True
        except ClientError as exc:
            if _ddb.is_conditional_failure(exc):
                return False
            raise

    def transition(
        self,
        order_id: str,
        customer_id: str,
        target: str,
        reason: str,
        *,
        expected_from: Iterable[str] | None = None,
        extra_set: dict[str, Any] | None = None,
        extra_remove: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Apply a lifecycle transition; returns the updated order.

        Raises IllegalTransition (logged) when the current status does not allow it, OrderNotFound when
        the order does not exist.
        """
        try:
            update = build_transition(
                order_id,
                customer_id,
                target,
                reason,
                expected_from=expected_from,
                extra_set=extra_set,
                extra_remove=extra_remove,
            )
        except IllegalTransition:  # no status at all may enter `target` (from expected_from)
            current = self.get(order_id)
            if current is None or current.get("customerId") != customer_id:
                raise OrderNotFound(order_id) from None
            raise self.illegal(current, target) from None
        try:
            response = self._table.update_item(
                Key=update.key,
                UpdateExpression=update.update_expression,
                ConditionExpression=update.condition_expression,
                ExpressionAttributeNames=update.names,
                ExpressionAttributeValues=update.values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if not _ddb.is_conditional_failure(exc):
                raise
            current = self.get(order_id)
            if current is None or current.get("customerId") != customer_id:
                raise OrderNotFound(order_id) from exc
            raise self.illegal(current, target) from exc
        order = response["Attributes"]
        logger.info(
            "order status changed",
            extra={"orderId": order_id, "status": target, "reason": reason, "version": order.get("version")},
        )
        return order

    @staticmethod
    def illegal(current: dict[str, Any], target: str) -> IllegalTransition:
        """Build (and log) the IllegalTransition for an order whose status refused `target`."""
        logger.warning(
            "illegal order transition refused",
            extra={"orderId": current.get("orderId"), "from": current.get("status"), "to": target},
        )
        return IllegalTransition(current["orderId"], current.get("status"), target, order=current)

    def update_attributes(self, order_id: str, customer_id: str, *, set_: dict[str, Any] | None = None,
                          remove: Iterable[str] = ()) -> None:
        """Plain attribute update on an existing order (no status change)."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        parts = []
        sets = []
        for index, (attr, value) in enumerate((set_ or {}).items()):
            names[f"#s{index}"] = attr
            values[f":s{index}"] = value
            sets.append(f"#s{index} = :s{index}")
        if sets:
            parts.append("SET " + ", ".join(sets))
        removes = []
        for index, attr in enumerate(remove):
            names[f"#r{index}"] = attr
            removes.append(f"#r{index}")
        if removes:
            parts.append("REMOVE " + ", ".join(removes))
        if not parts:
            return
        kwargs: dict[str, Any] = {
            "Key": {"orderId": order_id, "customerId": customer_id},
            "UpdateExpression": " ".join(parts),
            "ConditionExpression": "attribute_exists(orderId)",
            "ExpressionAttributeNames": names,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        self._table.update_item(**kwargs)

    # --- reads ------------------------------------------------------------------------------
    def get(self, order_id: str) -> dict[str, Any] | None:
        """Get by orderId alone: a strongly consistent Query on the hash key (table key is orderId+customerId)."""
        response = self._table.query(
            KeyConditionExpression=Key("orderId").eq(order_id),
            ConsistentRead=True,
            Limit=1,
        )
        items = response.get("Items") or []
        return items[0] if items else None

    def require(self, order_id: str) -> dict[str, Any]:
        order = self.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order

    def list_by_customer(
        self, customer_id: str, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Newest first via CustomerId-Index; returns (orders, LastEvaluatedKey|None)."""
        kwargs: dict[str, Any] = {
            "IndexName": CUSTOMER_INDEX,
            "KeyConditionExpression": Key("customerId").eq(customer_id),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        response = self._table.query(**kwargs)
        return list(response.get("Items") or []), response.get("LastEvaluatedKey")

    def find_by_status_updated_before(self, status: str, cutoff_iso: str, limit: int) -> list[dict[str, Any]]:
        """Status-Index query: status = :s AND updatedAt < :cutoff (oldest first), paginated up to `limit`."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "IndexName": STATUS_INDEX,
            "KeyConditionExpression": Key("status").eq(status) & Key("updatedAt").lt(cutoff_iso),
            "ScanIndexForward": True,
        }
        while len(found) < limit:
            kwargs["Limit"] = limit - len(found)
            response = self._table.query(**kwargs)
            found.extend(response.get("Items") or [])
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            kwargs["ExclusiveStartKey"] = last
        return found[:limit]
