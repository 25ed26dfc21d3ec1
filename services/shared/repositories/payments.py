"""Payments table: key orderId. One row per order = the charge (PAID/DECLINED), later REFUNDED."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared import aws
from shared.config import config
from shared.repositories import _ddb

PAID = "PAID"
DECLINED = "DECLINED"
REFUNDED = "REFUNDED"


class PaymentsRepository:
    @property
    def table_name(self) -> str:
        return config.payments_table

    @property
    def _table(self) -> Any:
        return aws.table(self.table_name)

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")

    def put_if_absent(self, row: dict[str, Any]) -> bool:
        """Record the charge; False when a row already exists (a concurrent/earlier charge won)."""
        try:
            self._table.put_item(Item=row, ConditionExpression="attribute_not_exists(orderId)")
            return True
        except ClientError as exc:
            if _ddb.is_conditional_failure(exc):
                return False
            raise

    def mark_refunded(self, order_id: str, refund_id: str, reason: str, at: str) -> bool:
        """PAID -> REFUNDED exactly once; False when the row was not PAID (already refunded/declined)."""
        try:
            self._table.update_item(
                Key={"orderId": order_id},
                UpdateExpression="SET #status = :refunded, refundId = :rid, refundedAt = :at, refundReason = :reason",
                ConditionExpression="#status = :paid",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":refunded": REFUNDED,
                    ":paid": PAID,
                    ":rid": refund_id,
                    ":at": at,
                    ":reason": reason,
                },
            )
            return True
        except ClientError as exc:
            if _ddb.is_conditional_failure(exc):
                return False
            raise
