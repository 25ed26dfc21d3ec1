"""Payments table: key orderId. One row per order: the payment intent and what became of it.

Row statuses: PENDING (intent recorded, the gateway's answer not yet) -> PAID | DECLINED; PAID -> REFUNDED;
PENDING -> VOIDED (the order was claimed before the charge finished). A compensation that finds no row writes a
VOIDED row, so a charge arriving later finds the intent closed and charges nothing. Every change is conditional
on the status it leaves, so racing writers cannot both win.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from shared import aws
from shared.config import config
from shared.repositories import _ddb

PENDING = "PENDING"
PAID = "PAID"
DECLINED = "DECLINED"
REFUNDED = "REFUNDED"
VOIDED = "VOIDED"


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
        """Record the intent (or a VOIDED tombstone); False when a row already exists."""
        try:
            self._table.put_item(Item=row, ConditionExpression="attribute_not_exists(orderId)")
            return True
        except ClientError as exc:
            if _ddb.is_conditional_failure(exc):
                return False
            raise

    def move(self, order_id: str, source: str, target: str, fields: dict[str, Any] | None = None) -> bool:
        """status source -> target (+ fields) exactly once; False when the row was not in `source`."""
        names = {"#status": "status"}
        values: dict[str, Any] = {":target": target, ":source": source}
        sets = ["#status = :target"]
        for index, (name, value) in enumerate((fields or {}).items()):
            names[f"#f{index}"] = name
            values[f":f{index}"] = value
            sets.append(f"#f{index} = :f{index}")
        try:
            self._table.update_item(
                Key={"orderId": order_id},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression="#status = :source",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as exc:
            if _ddb.is_conditional_failure(exc):
                return False
            raise
