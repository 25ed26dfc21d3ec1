"""Inventory table: key productId; `available` (N), `reserved` (N), `name` (S), `price` (N, the catalogue price).

`product_item` is the one definition of a product's item; every writer of whole items (the seed, bench, the suites'
fixtures) builds it here, and the tooling writes stock with `put_product` / `ensure_product` on its own client."""

from __future__ import annotations

import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from shared import aws
from shared.config import config
from shared.errors import InventoryContention

#: BatchGetItem takes at most 100 keys per call.
MAX_BATCH_GET_KEYS = 100
#: calls per chunk before unprocessed keys give up (back-off 50 ms, 100 ms, 200 ms, 400 ms in between).
BATCH_GET_ATTEMPTS = 5
BATCH_GET_BACKOFF_SECONDS = 0.05


def product_item(
    product_id: str,
    available: int,
    *,
    name: str | None = None,
    reserved: int = 0,
    price: Decimal | str | None = None,
) -> dict[str, Any]:
    """A product's whole item: `available` units in stock, `reserved` held by orders, `name` (default: the id) and,
    when given, the catalogue `price` (a 2-decimal amount such as "19.99"; a product without one cannot be ordered)."""
    item: dict[str, Any] = {
        "productId": product_id,
        "name": name or product_id,
        "available": available,
        "reserved": reserved,
    }
    if price is not None:
        item["price"] = Decimal(str(price))
    return item


def product_attributes(product_id: str, available: int, **fields: Any) -> dict[str, Any]:
    """`product_item` as DynamoDB attribute values, for a low-level client (`{"available": {"N": "10"}, ...}`)."""
    serializer = TypeSerializer()
    return {k: serializer.serialize(v) for k, v in product_item(product_id, available, **fields).items()}


def put_product(client: Any, table: str, product_id: str, available: int, **fields: Any) -> None:
    """Write a product's whole item (`product_item`) with a low-level DynamoDB client: how operators set stock."""
    client.put_item(TableName=table, Item=product_attributes(product_id, available, **fields))


def ensure_product(client: Any, table: str, product_id: str, name: str, floor: int, price: str) -> str:
    """The catalogue's product, idempotently (`invoke seed`): create it if missing (stock `floor`, `price`), top
    `available` up to `floor` if below it, set `price` if the product has none; say which ("created", "topped up",
    "priced", "topped up, priced", "unchanged"). Each step is one conditional write, so it never lowers stock that
    orders left above the floor nor replaces a price an operator set."""
    try:
        client.put_item(
            TableName=table,
            Item=product_attributes(product_id, floor, name=name, price=price),
            ConditionExpression="attribute_not_exists(productId)",
        )
        return "created"
    except client.exceptions.ConditionalCheckFailedException:
        pass
    done = []
    try:
        client.update_item(
            TableName=table,
            Key={"productId": {"S": product_id}},
            UpdateExpression="SET available = :floor, #n = if_not_exists(#n, :name), "
            "reserved = if_not_exists(reserved, :zero)",
            ConditionExpression="attribute_not_exists(available) OR available < :floor",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={":floor": {"N": str(floor)}, ":name": {"S": name}, ":zero": {"N": "0"}},
        )
        done.append("topped up")
    except client.exceptions.ConditionalCheckFailedException:
        pass
    try:
        client.update_item(
            TableName=table,
            Key={"productId": {"S": product_id}},
            UpdateExpression="SET #p = :price",
            ConditionExpression="attribute_not_exists(#p)",
            ExpressionAttributeNames={"#p": "price"},
            ExpressionAttributeValues={":price": {"N": price}},
        )
        done.append("priced")
    except client.exceptions.ConditionalCheckFailedException:
        pass
    return ", ".join(done) or "unchanged"


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

    def prices(self, product_ids: Iterable[str]) -> dict[str, Decimal | None]:
        """The catalogue prices, strongly consistent: `{productId: price}` for every product that exists (`None` when
        the item has no numeric `price` attribute); unknown products are absent from the result.

        One BatchGetItem (`ConsistentRead`, projection `productId, price`) per 100 products rather than a GetItem per
        product: an order has up to 50 lines and this read is on the POST /orders path, so it costs one round trip
        instead of up to 50 sequential ones. `UnprocessedKeys` (throttling, size limits) are requested again with
        exponential back-off; keys still unprocessed after BATCH_GET_ATTEMPTS calls raise InventoryContention
        (retryable, HTTP 503) instead of pricing an order from a partial catalogue.
        """
        ids = list(dict.fromkeys(product_ids))  # BatchGetItem refuses duplicate keys
        result: dict[str, Decimal | None] = {}
        for start in range(0, len(ids), MAX_BATCH_GET_KEYS):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [{"productId": pid} for pid in ids[start : start + MAX_BATCH_GET_KEYS]],
                    "ConsistentRead": True,
                    "ProjectionExpression": "#pid, #price",
                    "ExpressionAttributeNames": {"#pid": "productId", "#price": "price"},
                }
            }
            for attempt in range(BATCH_GET_ATTEMPTS):
                if attempt:
                    time.sleep(BATCH_GET_BACKOFF_SECONDS * 2 ** (attempt - 1))
                response = aws.dynamodb_resource().batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    price = item.get("price")
                    result[item["productId"]] = price if isinstance(price, Decimal) else None
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise InventoryContention("catalogue read left unprocessed keys; retry")
        return result

    def put_product(self, product_id: str, available: int, **fields: Any) -> None:
        """Write a product's whole item (`product_item`: name, reserved, price)."""
        self._table.put_item(Item=product_item(product_id, available, **fields))

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

    def restock_update(self, product_id: str, quantity: int, price: Decimal | None = None) -> dict[str, Any]:
        """TransactWriteItems Update: available += q (creates the product if unknown); with `price` (a validated
        2-decimal Decimal) also sets the product's catalogue price."""
        update: dict[str, Any] = {
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
        if price is not None:
            update["UpdateExpression"] += ", #price = :price"
            update["ExpressionAttributeNames"]["#price"] = "price"
            update["ExpressionAttributeValues"][":price"] = {"N": str(price)}
        return {"Update": update}
