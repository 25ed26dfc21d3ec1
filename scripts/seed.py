"""`invoke seed --env <env>`: load the product catalogue with stock and prices into the inventory table, idempotently.

Stock is the `available` attribute of an item of the inventory table (`productId` HASH, `available` N, `name` S,
`reserved` N, `price` N; the item and its writes are services/shared/repositories/inventory.py's `product_item`
and `ensure_product`): writing it directly is how operators set stock. The catalogue price is the item's `price`
(a Number with two decimals): the order service prices every order line from it and computes the total itself
(docs/api.md), so a product without a price cannot be ordered. Seeding twice leaves the table as seeding once did:
a product that is missing is created with its stock and price; a product that exists keeps its counters (orders
already consumed some stock) unless its `available` fell below the catalogue's floor, in which case it is topped up
to the floor, and keeps its price (an operator may have changed it with a restock) unless it has none, in which case
the catalogue's is set. The seed's test orders use prod-001 and prod-002.
"""

from __future__ import annotations

from scripts.common import UserError, read_outputs, services_module

# productId -> (name, price, stock floor). prod-001 / prod-002 are the seed recipe's test products (29.99 and 49.99
# in its test order). The recipe's three validation orders bought prod-001 at 99.99, which the server now answers
# with 409 (the catalogue says 29.99): tests/e2e/test_02_seed_validation.py sends the catalogue price instead
# (catalogue_price("prod-001")), keeping the recipe's payload shape {customerId, items[{..., price}], totalAmount}.
CATALOGUE: dict[str, tuple[str, str, int]] = {
    "prod-001": ("Wireless Mouse", "29.99", 1000),
    "prod-002": ("Mechanical Keyboard", "49.99", 1000),
    "prod-003": ("USB-C Hub", "39.99", 500),
    "prod-004": ("27in Monitor", "299.99", 200),
    "prod-005": ("Laptop Stand", "24.99", 500),
}


def seed(env: str, quiet: bool = False) -> dict[str, str]:
    from scripts.aws_session import aws_client

    outputs = read_outputs(env)
    table = outputs.get("inventory_table_name")
    if not table:
        raise UserError(
            f"outputs.json of env '{env}' has no inventory_table_name: redeploy with `invoke deploy --env {env}`."
        )
    ddb = aws_client(env, "dynamodb")
    inventory = services_module("shared.repositories.inventory")  # the one owner of the item and its writes
    import botocore.exceptions

    result = {}
    try:
        for product_id, (name, price, floor) in CATALOGUE.items():
            result[product_id] = inventory.ensure_product(ddb, table, product_id, name, floor, price)
    except botocore.exceptions.EndpointConnectionError:
        raise UserError(
            f"Cannot reach DynamoDB for env '{env}': start the local cloud (`invoke local.up`) or check the network."
        ) from None
    except ddb.exceptions.ResourceNotFoundException:
        raise UserError(
            f"Inventory table {table} does not exist: deploy first with `invoke deploy --env {env}`."
        ) from None
    if not quiet:
        counts: dict[str, int] = {}
        for outcome in result.values():
            counts[outcome] = counts.get(outcome, 0) + 1
        print(
            f"Seeded {len(result)} products into {table}: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        )
    return result


def catalogue_price(product_id: str) -> str:
    """The seeded price of a product, e.g. "29.99" (what the order service charges unless it was changed since)."""
    return CATALOGUE[product_id][1]
