"""Reservations table: key orderId; `status` RESERVED/RELEASED, `items`."""

from __future__ import annotations

from typing import Any

from shared import aws
from shared.config import config
from shared.repositories import _ddb

RESERVED = "RESERVED"
RELEASED = "RELEASED"


class ReservationsRepository:
    @property
    def table_name(self) -> str:
        return config.reservations_table

    @property
    def _table(self) -> Any:
        return aws.table(self.table_name)

    def get(self, order_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")

    def put_new(self, reservation: dict[str, Any]) -> dict[str, Any]:
        """TransactWriteItems Put guarded by attribute_not_exists(orderId)."""
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": _ddb.serialize_map(reservation),
                "ConditionExpression": "attribute_not_exists(orderId)",
            }
        }

    def release_update(self, order_id: str, released_at: str) -> dict[str, Any]:
        """TransactWriteItems Update RESERVED -> RELEASED (condition makes the release happen once)."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"orderId": {"S": order_id}},
                "UpdateExpression": "SET #status = :released, releasedAt = :at",
                "ConditionExpression": "#status = :reserved",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":released": {"S": RELEASED},
                    ":reserved": {"S": RESERVED},
                    ":at": {"S": released_at},
                },
            }
        }
