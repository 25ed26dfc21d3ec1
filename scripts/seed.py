"""`invoke seed --env <env>`: load the product catalogue with stock into the inventory table, idempotently.

Stock is the `available` attribute of an item of the inventory table (`productId` HASH, `available` N, `name` S,
`reserved` N): writing it directly is how operators set stock. Seeding twice leaves the table as seeding once did:
a product that is missing is created; a product that exists keeps its counters (orders already consumed some stock)
unless its `available` fell below the catalogue's floor, in which case it is topped up to the floor. The seed's
test orders use prod-001 and prod-002.
"""

from __future__ import annotations

from typing import Any

from scripts.common import UserError, read_outputs

# productId -> (name, price, stock floor). prod-001 / prod-002 are the seed recipe's test products
# (29.99 and 49.99 in its test order; its three extra orders buy prod-001 at 99.99).
CATALOGUE: dict[str, tuple[str, str, int]] = {
    "prod-001": ("Wireless Mouse", "29.99", 1000),
    "prod-002": ("Mechanical Keyboard", "49.99", 1000),
    "prod-003": ("USB-C Hub", "39.99", 500),
    "prod-004": ("27in Monitor", "299.99", 200),
    "prod-005": ("Laptop Stand", "24.99", 500),
}


def ensure_product(ddb: Any, table: str, product_id: str, name: str, floor: int) -> str:
    """Create the product if missing, top `available` up to `floor` if below it; say which ("created", "topped up",
    "unchanged")."""
    try:
        ddb.put_item(TableName=table, Item={"productId": {"S": product_id}, "name": {"S": name},
                                            "available": {"N": str(floor)}, "reserved": {"N": "0"}},
                     ConditionExpression="attribute_not_exists(productId)")
        return "created"
    except ddb.exceptions.ConditionalCheckFailedException:
        pass
    try:
        ddb.update_item(TableName=table, Key={"productId": {"S": product_id}},
                        UpdateExpression="SET available = :floor, #n = if_not_exists(#n, :name), "
                                         "reserved = if_not_exists(reserved, :zero)",
                        ConditionExpression="attribute_not_exists(available) OR available < :floor",
                        ExpressionAttributeNames={"#n": "name"},
                        ExpressionAttributeValues={":floor": {"N": str(floor)}, ":name": {"S": name},
                                                   ":zero": {"N": "0"}})
        return "topped up"
    except ddb.exceptions.ConditionalCheckFailedException:
        return "unchanged"


def seed(env: str, quiet: bool = False) -> dict[str, str]:
    from scripts.stack import aws_client

    outputs = read_outputs(env)
    table = outputs.get("inventory_table_name")
    if not table:
        raise UserError(f"outputs.json of env '{env}' has no inventory_table_name: redeploy with `invoke deploy --env {env}`.")
    ddb = aws_client(env, "dynamodb")
    import botocore.exceptions

    result = {}
    try:
        for product_id, (name, _price, floor) in CATALOGUE.items():
            result[product_id] = ensure_product(ddb, table, product_id, name, floor)
    except botocore.exceptions.EndpointConnectionError:
        raise UserError(f"Cannot reach DynamoDB for env '{env}': start the local cloud (`invoke local.up`) or check the network.") from None
    except ddb.exceptions.ResourceNotFoundException:
        raise UserError(f"Inventory table {table} does not exist: deploy first with `invoke deploy --env {env}`.") from None
    if not quiet:
        counts: dict[str, int] = {}
        for outcome in result.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        print(f"Seeded {len(result)} products into {table}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return result


def catalogue_price(product_id: str) -> str:
    return CATALOGUE[product_id][1]
