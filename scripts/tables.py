"""The DynamoDB tables of the contract, read from their one definition (services/shared/schemas/tables.json, through
the services' own loader, `shared.contracts.tables`, so a mutation run's staged copy of services/ is the one read).

Terraform creates them from that file; in-process tests (moto) create theirs with `create_table_requests`, so a
key, an index or a new table is written once.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from scripts.common import services_module


@cache
def definitions() -> dict[str, dict[str, Any]]:
    """Table key (e.g. "orders", "payment-gateway") -> its definition."""
    return services_module("shared.contracts").tables()


def env_var(table: str) -> str:
    """The Lambda environment variable naming the table, e.g. payment-gateway -> PAYMENT_GATEWAY_TABLE."""
    return table.upper().replace("-", "_") + "_TABLE"


def key_names(table: str) -> tuple[str, ...]:
    spec = definitions()[table]
    return (spec["hash_key"],) + ((spec["range_key"],) if spec["range_key"] else ())


def create_table_requests(prefix: str) -> list[dict[str, Any]]:
    """CreateTable arguments for every table, named `<prefix>-<table>` (on-demand, GSIs projecting ALL)."""
    requests = []
    for table, spec in definitions().items():
        keys = [{"AttributeName": spec["hash_key"], "KeyType": "HASH"}]
        if spec["range_key"]:
            keys.append({"AttributeName": spec["range_key"], "KeyType": "RANGE"})
        request: dict[str, Any] = {
            "TableName": f"{prefix}-{table}",
            "KeySchema": keys,
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in spec["attributes"].items()],
            "BillingMode": "PAY_PER_REQUEST",
        }
        indexes = [
            {
                "IndexName": name,
                "KeySchema": [{"AttributeName": index["hash_key"], "KeyType": "HASH"}]
                + ([{"AttributeName": index["range_key"], "KeyType": "RANGE"}] if index["range_key"] else []),
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, index in spec["global_secondary_indexes"].items()
        ]
        if indexes:
            request["GlobalSecondaryIndexes"] = indexes
        requests.append(request)
    return requests


def ttl_attributes(prefix: str) -> dict[str, str]:
    """Table name -> TTL attribute, for the tables that have one."""
    return {f"{prefix}-{t}": s["ttl_attribute"] for t, s in definitions().items() if s["ttl_attribute"]}
