"""The event contracts (services/shared/schemas/events/*.json) are well-formed, cover what the services name, and
docs/architecture.md's event table is theirs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import fastjsonschema
import pytest

from shared import contracts, events

REPO = Path(__file__).resolve().parents[2]
ARCHITECTURE = REPO / "docs" / "architecture.md"
TABLE_START = "<!-- event table: tests/unit/test_event_contracts.py checks it against the contracts -->"

EXPECTED = {  # the contract, written out: name -> (source, detail-type)
    "OrderCreated": ("order.service", "Order Created"),
    "OrderCancellationRequested": ("order.service", "Order Cancellation Requested"),
    "OrderCompleted": ("order.service", "Order Completed"),
    "PaymentProcessed": ("payment.service", "Payment Processed"),
    "PaymentFailed": ("payment.service", "Payment Failed"),
    "PaymentRefunded": ("payment.service", "Payment Refunded"),
    "InventoryReserved": ("inventory.service", "Inventory Reserved"),
    "InventoryUnavailable": ("inventory.service", "Inventory Unavailable"),
    "InventoryReleased": ("inventory.service", "Inventory Released"),
    "InventoryRestocked": ("inventory.admin", "Inventory Restocked"),
    "RefundRequested": ("orderflow.operator", "Refund Requested"),
    "StaleOrderSweepRequested": ("orderflow.scheduler", "Stale Order Sweep Requested"),
}


def test_every_contract_names_its_event_once_and_is_a_draft4_schema():
    assert {name: (c.source, c.detail_type) for name, c in contracts.EVENTS.items()} == EXPECTED
    for name, contract in contracts.EVENTS.items():
        schema = contract.schema
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#" and schema["title"] == name
        assert schema["properties"]["source"]["enum"] == [contract.source]
        assert schema["properties"]["detail-type"]["enum"] == [contract.detail_type]
        assert contract.version == 1
        fastjsonschema.compile(schema)  # a valid schema


def test_the_services_constants_are_the_contracts():
    assert (events.ORDER_SERVICE, events.PAYMENT_SERVICE, events.INVENTORY_SERVICE, events.INVENTORY_ADMIN) == (
        "order.service",
        "payment.service",
        "inventory.service",
        "inventory.admin",
    )
    assert [
        events.ORDER_CREATED,
        events.ORDER_CANCELLATION_REQUESTED,
        events.ORDER_COMPLETED,
        events.PAYMENT_PROCESSED,
        events.PAYMENT_FAILED,
        events.PAYMENT_REFUNDED,
        events.INVENTORY_RESERVED,
        events.INVENTORY_UNAVAILABLE,
        events.INVENTORY_RELEASED,
        events.INVENTORY_RESTOCKED,
    ] == [
        "Order Created",
        "Order Cancellation Requested",
        "Order Completed",
        "Payment Processed",
        "Payment Failed",
        "Payment Refunded",
        "Inventory Reserved",
        "Inventory Unavailable",
        "Inventory Released",
        "Inventory Restocked",
    ]


def test_for_event_finds_a_contract_by_source_and_detail_type_only():
    assert contracts.for_event("payment.service", "Payment Failed").name == "PaymentFailed"
    assert contracts.for_event("order.service", "Payment Failed") is None
    assert contracts.for_event("payment.service", "Payment failed") is None


def test_sources_groups_detail_types_by_source_in_the_order_named():
    assert contracts.sources(["RefundRequested", "InventoryRestocked"]) == {
        "orderflow.operator": ["Refund Requested"],
        "inventory.admin": ["Inventory Restocked"],
    }
    assert contracts.sources(["PaymentRefunded", "OrderCompleted", "PaymentFailed"]) == {
        "payment.service": ["Payment Refunded", "Payment Failed"],
        "order.service": ["Order Completed"],
    }
    assert contracts.sources([]) == {}


CREATED = {
    "eventId": "d73d0f47-6b51-5f26-af2d-c521921a8aca",
    "orderId": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
    "customerId": "customer-1",
    "items": [{"productId": "prod-1", "quantity": 2, "price": "19.99"}],
    "totalAmount": "39.98",
    "createdAt": "2026-12-04T10:00:00.000Z",
}


@pytest.mark.parametrize(
    "change,problem",
    [
        ({}, None),
        ({"totalAmount": "39.9"}, "data.detail.totalAmount must match pattern ^[0-9]{1,8}\\.[0-9]{2}$"),
        (
            {"orderId": "order-1"},
            ("data.detail.orderId must match pattern ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
        ),
        ({"items": []}, "data.detail.items must contain at least 1 items"),
        (
            {"items": [{"productId": "prod-1", "quantity": 0, "price": "19.99"}]},
            "data.detail.items[0].quantity must be bigger than or equal to 1",
        ),
        (
            {"createdAt": "yesterday"},
            (
                "data.detail.createdAt must match pattern "
                "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$"
            ),
        ),
    ],
)
def test_violations_name_what_breaks_the_contract(change, problem):
    found = contracts.violations("order.service", "Order Created", {**CREATED, **change})
    assert found == ([] if problem is None else [f"OrderCreated v1: {problem}"])


def test_an_event_without_a_contract_is_a_violation():
    assert contracts.violations("order.service", "Order Shipped", {}) == [
        "no contract for source 'order.service' / detail-type 'Order Shipped'"
    ]


def test_load_reads_every_file_of_a_directory(tmp_path):
    (tmp_path / "ThingHappened.json").write_text(
        json.dumps(
            {
                "x-amazon-events-source": "x.service",
                "x-amazon-events-detail-type": "Thing Happened",
                "x-orderflow-version": 3,
            }
        )
    )
    assert contracts.load(tmp_path) == {
        "ThingHappened": contracts.EventContract("ThingHappened", "x.service", "Thing Happened", 3, {})
    }
    assert contracts.load(tmp_path)["ThingHappened"].schema["x-orderflow-version"] == 3


def _detail_summary(schema: dict) -> str:
    detail = schema["definitions"]["Detail"]
    parts = []
    for name, prop in detail["properties"].items():
        text = name
        if prop.get("type") == "array" and prop["items"].get("properties"):
            text += "[{" + ", ".join(prop["items"]["properties"]) + "}]"
        parts.append(text if name in detail.get("required", []) else text + "?")
    return ", ".join(parts) or "{}"


def event_table() -> str:
    """docs/architecture.md's event table, as the contracts define it."""
    rows = ["| source | detail-type | version | detail (`?`: optional) | meaning |", "|---|---|---|---|---|"]
    for contract in contracts.EVENTS.values():
        rows.append(
            f"| {contract.source} | {contract.detail_type} | {contract.version} | "
            f"{_detail_summary(contract.schema)} | {contract.schema['description']} |"
        )
    return "\n".join(rows)


def test_the_architecture_docs_event_table_is_the_contracts():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert TABLE_START in text, f"docs/architecture.md lost the line {TABLE_START!r}"
    documented = text.split(TABLE_START, 1)[1].strip().split("\n\n", 1)[0]
    assert documented == event_table(), (
        "docs/architecture.md's event table differs from the contracts; replace it with:\n" + event_table()
    )


def test_the_summary_lists_nested_lines_and_marks_optional_keys():
    summary = _detail_summary(contracts.EVENTS["InventoryRestocked"].schema)
    assert summary == "eventId, productId, quantity, price?"
    assert _detail_summary(contracts.EVENTS["OrderCreated"].schema) == (
        "eventId, orderId, customerId, items[{productId, quantity, price}], totalAmount, createdAt"
    )
    assert re.fullmatch(r"olderThanMinutes\?", _detail_summary(contracts.EVENTS["StaleOrderSweepRequested"].schema))


def _quoted_literals(text: str) -> set[str]:
    """The quoted strings of HCL code, comment lines left out (a comment may name an event)."""
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "//")))
    return set(re.findall(r'"((?:[^"\\\n]|\\.)*)"', code))


def test_no_terraform_file_writes_a_contracts_source_or_detail_type():
    """Rules, grants, the scheduler and the emulator rewrite take sources and detail-types from the contract files
    (root main.tf reads them); a quoted source or detail-type in a .tf file would be a second definition."""
    names = {value for c in contracts.EVENTS.values() for value in (c.source, c.detail_type)}
    found = {}
    for path in sorted((REPO / "terraform").rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        literals = _quoted_literals(path.read_text(encoding="utf-8")) & names
        if literals:
            found[str(path.relative_to(REPO))] = sorted(literals)
    assert found == {}


def test_the_literal_scan_sees_quoted_strings():
    assert _quoted_literals('pattern = jsonencode({ source = ["order.service"], x = "a \\"b\\"" })') == {
        "order.service",
        'a \\"b\\"',
    }
    assert _quoted_literals('  # the "Order Created" rule\n  // "Order Completed"\nx = "y"') == {"y"}


def test_loading_the_task_contracts_reads_service_action_event_and_schema():
    """load_tasks itself (TASKS is built at import, before a test can watch it)."""
    loaded = contracts.load_tasks()
    restock, charge = loaded["inventory.restock"], loaded["payment.charge"]
    assert (restock.service, restock.action, restock.event) == ("inventory", "restock", "InventoryRestocked")
    assert (charge.service, charge.action, charge.event) == ("payment", "charge", None)
    assert charge.schema["x-orderflow-action"] == "charge" and "Request" in charge.schema["definitions"]
