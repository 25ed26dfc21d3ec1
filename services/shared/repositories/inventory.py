"""Inventory table: key productId; `available` (N), `reserved` (N), `name` (S)."""

from __future__ import annotations

from typing import Any, Iterable

from shared import aws
from shared.config import config


class InventoryRepository:
    @property
    def table_name(self) -> str:
        return config.inventory_table

    @property
    def _table(self) -> Any:
        return aws.table(self.table_name)

    def get(self, product_id: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"productId": product_id}, ConsistentRead=True).get("Item")

    def available(self, product_ids: Iterable[str]) -> dict[str, int]:
        """Strongly consistent current `available` per product (0 for unknown products)."""
        result: dict[str, int] = {}
        for product_id in product_ids:
            item = self.get(product_id)
            result[product_id] = int(item.get("available", 0)) if item else 0
        return result

    def put_product(self, product_id: str, available: int, name: str | None = None, reserved: int = 0) -> None:
        self._table.put_item(
            Item={"productId": product_id, "available": available, "reserved": reserved, "name": name or product_id}
        )

    # --- transaction parts ------------------------------------------------------------------
    def take_update(self, product_id: str, quantity: int) -> dict[str, Any]:
        """TransactWriteItems Update: available -= q only if available >= q (never negative, never oversold)."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"productId": {"S": product_id}},
                "UpdateExpression": "SET available = available - :q, reserved = if_not_exists(reserved, :zero) + :q",
                "ConditionExpression": "attribute_exists(productId) AND available >= :q",
                "ExpressionAttributeValues": {":q": {"N": str(quantity)}, ":zero": {"N": "0"}},
            }
        }

    def give_back_update(self, product_id: str, quantity: int) -> dict[str, Any]:
        """TransactWriteItems Update: available += q, reserved -= q (ADD creates missing attributes)."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"productId": {"S": product_id}},
                "UpdateExpression": "ADD available :q, reserved :negq",
                "ExpressionAttributeValues": {":q": {"N": str(quantity)}, ":negq": {"N": str(-quantity)}},
            }
        }

    def restock_update(self, product_id: str, quantity: int) -> dict[str, Any]:
        """TransactWriteItems Update: available += q (creates the product if unknown)."""
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"productId": {"S": product_id}},
                "UpdateExpression": "ADD available :q SET #name = if_not_exists(#name, :pid), "
                "reserved = if_not_exists(reserved, :zero)",
                "ExpressionAttributeNames": {"#name": "name"},
                "ExpressionAttributeValues": {
                    ":q": {"N": str(quantity)},
                    ":pid": {"S": product_id},
                    ":zero": {"N": "0"},
                },
            }
        }
