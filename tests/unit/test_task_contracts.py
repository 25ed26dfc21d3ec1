"""The workflow task contracts (services/shared/schemas/tasks/<service>.<action>.json): well-formed, the one definition
of each action's request and result, enforced by the handlers at their boundary, checked on every answer of the unit
suite (conftest `task_results_follow_the_contracts`), shipped in the Lambda zips, and docs/architecture.md's task
table is theirs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from inventory import handler as inventory_handler
from notification import handler as notification_handler
from notification import service as notification_service
from notification import templates
from order import handler as order_handler
from order import saga
from payment import handler as payment_handler
from payment import service as payment_service
from shared import contracts, lifecycle, models
from shared.errors import InvalidTaskInput, UnsupportedEvent
from shared.repositories import payments as payment_rows
from shared.repositories import reservations

from .conftest import TABLE_KEYS, TASK_FUNCTIONS
from .helpers import order_input, put_claimed_order, put_order

REPO = Path(__file__).resolve().parents[2]
ARCHITECTURE = REPO / "docs" / "architecture.md"
TABLE_START = "<!-- task table: tests/unit/test_task_contracts.py checks it against the contracts -->"

#: the contract, written out: service -> action -> the statuses its result answers (None: no `status`)
EXPECTED: dict[str, dict[str, list[str] | None]] = {
    "inventory": {
        "release": ["RELEASED", "NOT_RESERVED", "NOT_COMPENSABLE"],
        "reserve": ["RESERVED", "UNAVAILABLE", "ORDER_NOT_RESERVABLE"],
        "restock": ["RESTOCKED", "DUPLICATE"],
    },
    "notification": {"notify": ["SENT", "DUPLICATE"]},
    "order": {
        "claim": None,
        "find_stale": None,
    },
    "payment": {
        "charge": ["PAID", "DECLINED", "NOT_PAYABLE", "RETRY_LATER"],
        "refund": ["REFUNDED", "NOT_CHARGED", "NOT_COMPENSABLE"],
    },
}
HANDLERS = {
    "inventory": inventory_handler,
    "notification": notification_handler,
    "order": order_handler,
    "payment": payment_handler,
}


def _statuses(contract: contracts.TaskContract) -> list[str] | None:
    status = contract.schema["definitions"]["Result"]["properties"].get("status")
    return None if status is None else status["enum"]


def test_every_contract_names_its_action_once_and_is_a_draft4_schema():
    assert {
        service: {c.action: _statuses(c) for c in contracts.TASKS.values() if c.service == service}
        for service in EXPECTED
    } == EXPECTED
    assert len(contracts.TASKS) == sum(len(actions) for actions in EXPECTED.values())
    for name, contract in contracts.TASKS.items():
        schema = contract.schema
        assert name == schema["title"] == f"{contract.service}.{contract.action}"
        assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
        request, result = schema["definitions"]["Request"], schema["definitions"]["Result"]
        assert request["properties"]["action"] == {"type": "string", "enum": [contract.action]}
        assert request["required"][0] == "action" and request["additionalProperties"] is False
        # every key of an answer is always there (the workflows' ResultSelectors read them; a missing one fails)
        assert result["additionalProperties"] is False and set(result["required"]) == set(result["properties"])
        fastjsonschema.compile(schema)  # a valid schema


def test_the_definitions_the_contracts_share_are_the_same_everywhere():
    """Each file stands alone (like the event contracts); a shared shape is written the same in every one, and the
    ids and money as the event contracts and shared.models write them."""
    seen: dict[str, Any] = {}
    for contract in contracts.TASKS.values():
        for name, definition in contract.schema["definitions"].items():
            if name not in ("Request", "Result"):
                assert seen.setdefault(name, definition) == definition, f"{contract.name}: {name} differs"
    assert {"Id", "Money", "OrderRef", "Order", "Claim", "OrderStatus"} <= set(seen)
    assert seen["Id"] == contracts.EVENTS["OrderCreated"].schema["definitions"]["Id"]
    assert seen["Money"] == contracts.EVENTS["OrderCreated"].schema["definitions"]["Money"]
    assert seen["Id"]["pattern"] == models.ID_PATTERN


def test_the_codes_names_are_the_contracts():
    """Targets, statuses and notification types the code names are the contracts' enums."""
    defs = contracts.TASKS["order.claim"].schema["definitions"]
    assert sorted(defs["Request"]["properties"]["target"]["enum"]) == sorted(saga.CLAIM_TARGETS)
    assert defs["OrderStatus"]["enum"] == [s.value for s in lifecycle.OrderStatus]
    assert set(defs["Claim"]["properties"]["status"]["enum"]) == lifecycle.TERMINAL_STATUSES
    assert defs["Claim"]["properties"]["notification"]["enum"] == list(templates.WORKFLOW_TYPES)
    assert {lifecycle.notification_for(s) for s in lifecycle.TERMINAL_STATUSES} == set(templates.WORKFLOW_TYPES)
    notify = contracts.TASKS["notification.notify"].schema["definitions"]["Request"]
    assert notify["properties"]["type"]["enum"] == list(templates.WORKFLOW_TYPES)
    charge = _statuses(contracts.TASKS["payment.charge"])
    assert charge == [
        payment_rows.PAID,
        payment_rows.DECLINED,
        payment_service.NOT_PAYABLE,
        payment_service.RETRY_LATER,
    ]
    assert _statuses(contracts.TASKS["inventory.reserve"])[0] == reservations.RESERVED


def test_every_handler_serves_exactly_its_contracts_actions():
    assert sorted(payment_handler.ACTIONS) == contracts.actions("payment") == ["charge", "refund"]
    assert sorted(inventory_handler.ACTIONS) == contracts.actions("inventory") == ["release", "reserve", "restock"]
    assert sorted(order_handler.SAGA_ACTIONS) == contracts.actions("order")
    assert contracts.actions("notification") == ["notify"]
    assert contracts.actions("shipping") == []


def test_the_unit_suite_checks_the_answers_of_every_action():
    assert set(TASK_FUNCTIONS) == set(contracts.TASKS)


def test_task_for_finds_a_contract_by_action_or_by_the_event_it_takes():
    assert contracts.task_for("payment", {"action": "charge"}).name == "payment.charge"
    assert contracts.task_for("inventory", {"action": "charge"}) is None
    restocked = {"source": "inventory.admin", "detail-type": "Inventory Restocked", "detail": {}}
    assert contracts.task_for("inventory", restocked).name == "inventory.restock"
    assert contracts.task_for("inventory", {**restocked, "source": "order.service"}) is None
    assert contracts.task_for("notification", restocked) is None
    assert contracts.task_for("inventory", ["restock"]) is None
    assert contracts.TASKS["inventory.restock"].event == "InventoryRestocked"
    assert contracts.TASKS["payment.charge"].event is None


def test_violations_name_what_breaks_a_request_or_a_result():
    order = {"orderId": "o1", "customerId": "c1"}
    assert contracts.task_violations("payment.charge", contracts.REQUEST, {"action": "charge", "order": order}) == []
    assert contracts.task_violations(
        "payment.charge", contracts.REQUEST, {"action": "charge", "order": order, "attempt": 1.5}
    ) == ["payment.charge request: data.attempt must be multiple of 1"]
    assert contracts.task_violations("inventory.release", contracts.RESULT, {"status": "GONE"}) == [
        "inventory.release result: data.status must be one of ['RELEASED', 'NOT_RESERVED', 'NOT_COMPENSABLE']"
    ]
    assert contracts.task_violations("inventory.release", contracts.RESULT, {"status": "RELEASED", "x": 1}) == [
        "inventory.release result: data must not contain {'x'} properties"
    ]


def test_each_schema_is_compiled_once_per_process():
    assert contracts._validator("order.claim", contracts.REQUEST) is contracts._validator("order.claim", "Request")
    assert contracts._validator("order.claim", contracts.RESULT) is not contracts._validator("order.claim", "Request")


def test_load_tasks_reads_every_file_of_a_directory(tmp_path):
    (tmp_path / "x.do.json").write_text(json.dumps({"x-orderflow-service": "x", "x-orderflow-action": "do"}))
    assert contracts.load_tasks(tmp_path) == {"x.do": contracts.TaskContract("x.do", "x", "do", None, {})}


# --- the boundary: a request that breaks its contract fails, names what is wrong and changes nothing ---------------
def _everything(cloud: Any) -> dict[str, Any]:
    """Every table's items, every event put, every notification written."""
    state: dict[str, Any] = {env: sorted(cloud.items(env), key=repr) for env in TABLE_KEYS}
    state["events"] = list(cloud.events())
    state["notifications"] = cloud.s3_keys()
    return state


def _ref(order: dict[str, Any]) -> dict[str, str]:
    return {"orderId": order["orderId"], "customerId": order["customerId"]}


#: (service, order status to seed or None, request, the error's exact message); each request is one the services'
#: own parsing would have accepted (and acted on): only the contract refuses it
REFUSED = [
    (
        "payment",
        "PENDING",
        lambda o: {"action": "charge", "order": order_input(o), "attempt": "3"},
        "payment.charge request: data.attempt must be number",
    ),
    (
        "payment",
        "CANCELLED",
        lambda o: {"action": "refund", "order": _ref(o), "reason": 5},
        "payment.refund request: data.reason must be string",
    ),
    (
        "inventory",
        "PAID",
        lambda o: {"action": "reserve", "order": _ref(o), "attempt": 0},
        "inventory.reserve request: data must not contain {'attempt'} properties",
    ),
    (
        "inventory",
        "CANCELLED",
        lambda o: {"action": "release", "order": {**_ref(o), "items": [{"productId": "prod-1", "quantity": 2.5}]}},
        "inventory.release request: data.order.items[0].quantity must be integer",
    ),
    (
        "inventory",
        None,
        lambda o: {"action": "restock", "productId": "prod-1", "quantity": "5", "eventId": "restock-1"},
        "inventory.restock request: data.quantity must be number",
    ),
    (
        "notification",
        None,
        lambda o: {"action": "notify", "type": "order-failed", "order": {"orderId": "order-1"}},
        "notification.notify request: data.order must contain ['customerId'] properties",
    ),
    (
        "order",
        "INVENTORY_RESERVED",
        lambda o: {"action": "claim", "order": _ref(o), "target": "FAILED", "by": "exec-1", "executionId": "exec-1"},
        "order.claim request: data must not contain {'executionId'} properties",
    ),
    (
        "order",
        "INVENTORY_RESERVED",
        lambda o: {"action": "claim", "order": _ref(o), "target": "FAILED", "by": ["exec-1"]},
        "order.claim request: data.by must be string",
    ),
    (
        "order",
        "PAID",
        lambda o: {"action": "claim", "order": _ref(o), "target": "FAILED", "by": "exec-1", "reason": 5},
        "order.claim request: data.reason must be string",
    ),
    (
        "order",
        "PAID",
        lambda o: {"action": "claim", "order": _ref(o), "target": "FAILED", "by": "exec-1", "request": "cancel"},
        "order.claim request: data.request must be one of ['refund']",
    ),
    (
        "order",
        "CANCELLED",
        lambda o: {"action": "claim", "order": {**_ref(o), "totalAmount": True}, "target": "FAILED", "by": "exec-1"},
        "order.claim request: data.order.totalAmount must be string or number",
    ),
    (
        "order",
        None,
        lambda o: {"action": "find_stale", "olderThanMinutes": 5, "pageSize": 2},
        "order.find_stale request: data must not contain {'pageSize'} properties",
    ),
]


@pytest.mark.parametrize(("service", "status", "request_of", "message"), REFUSED, ids=[m for *_, m in REFUSED])
def test_a_request_that_breaks_its_contract_fails_and_changes_nothing(
    catalogue, lambda_context, service, status, request_of, message
):
    order = None
    if status is not None:
        order = (put_claimed_order if lifecycle.is_terminal(status) else put_order)(status)
    before = _everything(catalogue)
    with pytest.raises(InvalidTaskInput) as raised:
        HANDLERS[service].lambda_handler(request_of(order), lambda_context)
    assert type(raised.value) is InvalidTaskInput and str(raised.value) == message
    assert _everything(catalogue) == before


@pytest.mark.parametrize("service", sorted(HANDLERS))
def test_an_action_the_service_does_not_serve_is_unsupported(cloud, lambda_context, service):
    with pytest.raises(UnsupportedEvent) as raised:
        HANDLERS[service].lambda_handler(
            {"action": "ship", "order": {"orderId": "o1", "customerId": "c1"}}, lambda_context
        )
    assert str(raised.value) == f"unsupported {service} action 'ship'"


def test_a_request_is_checked_against_its_own_actions_contract(cloud, lambda_context):
    """charge's `attempt` is no member of refund's contract."""
    order = put_claimed_order("CANCELLED")
    with pytest.raises(InvalidTaskInput) as raised:
        payment_handler.lambda_handler({"action": "refund", "order": _ref(order), "attempt": 0}, lambda_context)
    assert str(raised.value) == "payment.refund request: data must not contain {'attempt'} properties"
    assert payment_handler.lambda_handler({"action": "refund", "order": _ref(order)}, lambda_context) == {
        "status": "NOT_CHARGED",
        "paymentId": None,
        "refundId": None,
    }


# --- the results: a wrong one is reported ---------------------------------------------------------------------------
def test_an_answer_that_breaks_its_contract_is_reported(
    cloud, lambda_context, monkeypatch, task_results_follow_the_contracts
):
    monkeypatch.setattr(notification_service, "store_once", lambda key, message: "WRITTEN")
    request = {"action": "notify", "type": "order-failed", "order": {"orderId": "order-1", "customerId": "c1"}}
    answer = notification_handler.lambda_handler(request, lambda_context)
    assert answer == {"status": "WRITTEN", "key": "notifications/order-1/order-failed.json"}
    assert task_results_follow_the_contracts == [
        "notification.notify result: data.status must be one of ['SENT', 'DUPLICATE']"
    ]
    task_results_follow_the_contracts.clear()  # reported: this test's point, not a failure


def test_an_answer_of_a_direct_call_is_checked_too(cloud, monkeypatch, task_results_follow_the_contracts):
    request = {"action": "notify", "type": "order-failed", "order": {"orderId": "order-1", "customerId": "c1"}}
    monkeypatch.setattr(notification_service, "store_once", lambda key, message: "SENT")
    assert notification_service.notify_workflow(request) == {
        "status": "SENT",
        "key": "notifications/order-1/order-failed.json",
    }
    assert task_results_follow_the_contracts == []
    monkeypatch.setattr(notification_service, "store_once", lambda key, message: "DONE")
    notification_service.notify_workflow(request)
    assert task_results_follow_the_contracts == [
        "notification.notify result: data.status must be one of ['SENT', 'DUPLICATE']"
    ]
    task_results_follow_the_contracts.clear()


# --- shipped and documented ----------------------------------------------------------------------------------------
def test_the_lambda_zips_ship_the_contracts(tmp_path, monkeypatch):
    from scripts import build

    vendor = tmp_path / "vendor"
    vendor.mkdir()
    for service in build.discover_services():
        names = {arcname for arcname, _ in build._zip_entries(service, vendor)}
        assert {f"shared/schemas/tasks/{name}.json" for name in contracts.TASKS} <= names, service.name
        assert {f"shared/schemas/events/{name}.json" for name in contracts.EVENTS} <= names, service.name
    entries = build._zip_entries(build.discover_services()[0], vendor)
    build.write_deterministic_zip(tmp_path / "x.zip", entries)
    with zipfile.ZipFile(tmp_path / "x.zip") as zf:
        shipped = json.loads(zf.read("shared/schemas/tasks/payment.charge.json"))
    assert shipped == contracts.TASKS["payment.charge"].schema


def _members(schema: dict[str, Any], part: str) -> str:
    """The members of a request or result: `?` marks an optional one, a result's `status` lists its values."""
    definition = schema["definitions"][part]
    names = []
    for name, member in definition["properties"].items():
        if name == "action":
            continue
        if part == "Result" and name == "status":
            name += " (" + " / ".join(member["enum"]) + ")"
        names.append(name if name.split(" ")[0] in definition["required"] else f"{name}?")
    return ", ".join(names)


def task_table() -> str:
    """docs/architecture.md's task table, as the contracts define it."""
    rows = ["| service | action | request (`?`: optional) | result | meaning |", "|---|---|---|---|---|"]
    for contract in contracts.TASKS.values():
        rows.append(
            f"| {contract.service} | {contract.action} | {_members(contract.schema, 'Request')} | "
            f"{_members(contract.schema, 'Result')} | {contract.schema['description']} |"
        )
    return "\n".join(rows)


def test_the_table_lists_optional_members_and_statuses():
    charge = contracts.TASKS["payment.charge"].schema
    assert _members(charge, "Request") == "order, attempt?"
    assert _members(charge, "Result") == (
        "status (PAID / DECLINED / NOT_PAYABLE / RETRY_LATER), paymentId, amount, reason, retryAfterSeconds, claim"
    )
    assert _members(contracts.TASKS["order.find_stale"].schema, "Request") == "olderThanMinutes?, limit?, nextToken?"


def test_the_architecture_docs_task_table_is_the_contracts():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert TABLE_START in text, f"docs/architecture.md lost the line {TABLE_START!r}"
    documented = text.split(TABLE_START, 1)[1].strip().split("\n\n", 1)[0]
    assert documented == task_table(), (
        "docs/architecture.md's task table differs from the contracts; replace it with:\n" + task_table()
    )


def test_the_api_docs_point_to_the_task_contracts_instead_of_repeating_them():
    api = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    section = api.split("## Lambda task contracts (workflows)", 1)[1].split("\n## ", 1)[0]
    assert "architecture.md#lambda-task-contracts-used-by-the-workflows" in section
    assert '"action"' not in section and "RETRY_LATER" not in section
