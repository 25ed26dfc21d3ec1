"""The warm-up request (shared/warmup.py): every handler answers `{"action": "warm"}` at once, with no AWS call, no
log line and no metric, and a real request still reaches the handler."""

from __future__ import annotations

import importlib
from decimal import Decimal
from typing import Any

import pytest
from botocore.client import BaseClient

from shared import warmup
from shared.errors import UnsupportedEvent

from .helpers import http_event, order_body, order_input, put_order

SERVICES = ("order", "payment", "inventory", "notification")
TABLES = ("ORDERS_TABLE", "INVENTORY_TABLE", "PAYMENTS_TABLE", "RESERVATIONS_TABLE", "IDEMPOTENCY_TABLE")


def handler_of(service: str) -> Any:
    return importlib.import_module(f"{service}.handler")


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS API call made while the test runs, as `<service>:<operation>`."""
    calls: list[str] = []
    original = BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append(f"{client.meta.service_model.endpoint_prefix}:{operation}")
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return calls


@pytest.mark.parametrize("service", SERVICES)
def test_each_handler_answers_a_warm_request_without_touching_anything(
    service, cloud, lambda_context, aws_calls, capsys
):
    capsys.readouterr()

    answer = handler_of(service).lambda_handler({"action": "warm"}, lambda_context)

    assert set(answer) == {"status", "function", "worker", "coldStart"}
    assert answer["status"] == "WARM"
    assert answer["function"] == "orderflow-test-fn"
    assert answer["worker"] == warmup.WORKER_ID and len(answer["worker"]) == 12
    assert aws_calls == []  # no DynamoDB, S3, EventBridge (or any other) call
    assert capsys.readouterr().out == ""  # no log line, no EMF metric
    for table in TABLES:
        assert cloud.items(table) == []
    assert cloud.events() == []
    assert cloud.s3_keys() == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_held_warm_request_answers_after_its_hold(service, lambda_context, aws_calls, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(warmup.time, "sleep", slept.append)

    answer = handler_of(service).lambda_handler({"action": "warm", "holdMs": 250}, lambda_context)

    assert answer["status"] == "WARM"
    assert slept == [0.25]
    assert aws_calls == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_warm_request_creates_the_clients_it_names_and_sends_nothing(service, cloud, lambda_context, aws_calls):
    from shared import aws

    aws.reset()

    answer = handler_of(service).lambda_handler({"action": "warm", "prime": ["dynamodb", "events"]}, lambda_context)

    assert answer["status"] == "WARM"
    assert aws_calls == []
    assert sorted(key.split(":")[0] for key in aws._cache if not key.startswith("table:")) == [
        "dynamodb",
        "dynamodb-resource",
        "events",
    ]
    # a Table resource for every table the environment names (`<TABLE>_TABLE`), built without a request
    assert sorted(key.split(":")[1] for key in aws._cache if key.startswith("table:")) == [
        "orderflow-test-circuit-breaker",
        "orderflow-test-idempotency",
        "orderflow-test-inventory",
        "orderflow-test-orders",
        "orderflow-test-outbox",
        "orderflow-test-payment-gateway",
        "orderflow-test-payments",
        "orderflow-test-reservations",
    ]


#: the request contracts each function compiles on a warm-up: every action its service serves
CONTRACTS = {
    "order": [("order.claim", "Request"), ("order.find_stale", "Request")],
    "payment": [("payment.charge", "Request"), ("payment.refund", "Request")],
    "inventory": [("inventory.release", "Request"), ("inventory.reserve", "Request"), ("inventory.restock", "Request")],
    "notification": [("notification.notify", "Request")],
}


@pytest.mark.parametrize("service", SERVICES)
def test_a_warm_request_compiles_the_request_contracts_of_its_service(service, lambda_context, aws_calls, monkeypatch):
    from shared import contracts

    compiled: list[tuple[str, str | None]] = []
    real = contracts._validator

    def recording(name: str, part: str | None = None) -> Any:
        compiled.append((name, part))
        return real(name, part)

    monkeypatch.setattr(contracts, "_validator", recording)
    answer = handler_of(service).lambda_handler({"action": "warm"}, lambda_context)

    assert answer["status"] == "WARM"
    assert compiled == CONTRACTS[service]
    assert aws_calls == []


def test_cold_start_is_true_only_on_the_workers_first_request(monkeypatch, lambda_context):
    monkeypatch.setattr(warmup, "_served", False)
    first = handler_of("payment").lambda_handler({"action": "warm"}, lambda_context)
    second = handler_of("inventory").lambda_handler({"action": "warm"}, lambda_context)
    assert (first["coldStart"], second["coldStart"]) == (True, False)
    assert first["worker"] == second["worker"]


def test_a_real_request_makes_the_worker_warm(monkeypatch, cloud, lambda_context):
    monkeypatch.setattr(warmup, "_served", False)
    with pytest.raises(UnsupportedEvent):
        handler_of("notification").lambda_handler({"something": "else"}, lambda_context)
    assert handler_of("notification").lambda_handler({"action": "warm"}, lambda_context)["coldStart"] is False


@pytest.mark.parametrize(
    "event",
    [
        {"action": "warm", "holdMs": 1001},
        {"action": "warm", "holdMs": -1},
        {"action": "warm", "holdMs": 1.5},
        {"action": "warm", "holdMs": True},
        {"action": "warm", "holdMs": "100"},
        {"action": "warm", "order": {}},
        {"action": "warm", "prime": ["kms"]},
        {"action": "warm", "prime": "dynamodb"},
        {"action": "warm", "prime": [None]},
        {"action": "Warm"},
        ["action", "warm"],
        "warm",
        None,
    ],
)
def test_anything_else_is_not_a_warm_request(event):
    assert warmup.warm_request(event) is None


@pytest.mark.parametrize("service", SERVICES)
def test_a_malformed_warm_request_goes_to_the_handler_and_is_refused(service, cloud, lambda_context):
    with pytest.raises(UnsupportedEvent):
        handler_of(service).lambda_handler({"action": "warm", "holdMs": 5000}, lambda_context)
    for table in TABLES:
        assert cloud.items(table) == []
    assert cloud.events() == []


def test_a_warm_request_through_the_http_api_is_an_api_request(catalogue, lambda_context):
    # API Gateway always sends requestContext: a body or a query asking for "warm" is just an API request
    event = http_event("POST", "/orders", {"action": "warm"})
    event["action"] = "warm"  # even a top-level action next to requestContext is not a warm request
    response = handler_of("order").lambda_handler(event, lambda_context)
    assert response["statusCode"] == 400
    assert catalogue.items("ORDERS_TABLE") == []


def test_the_order_handler_still_creates_an_order(catalogue, lambda_context):
    handler = handler_of("order")
    assert handler.lambda_handler({"action": "warm"}, lambda_context)["status"] == "WARM"

    created = handler.lambda_handler(order_body(), lambda_context)

    assert created["status"] == "PENDING"
    [order] = catalogue.items("ORDERS_TABLE")
    assert (order["orderId"], order["status"], order["totalAmount"]) == (
        created["orderId"],
        "PENDING",
        Decimal("109.97"),
    )


def test_the_payment_handler_still_charges(cloud, lambda_context):
    handler = handler_of("payment")
    order = put_order("PENDING")
    assert handler.lambda_handler({"action": "warm"}, lambda_context)["status"] == "WARM"

    result = handler.lambda_handler({"action": "charge", "order": order_input(order), "attempt": 0}, lambda_context)

    assert result["status"] == "PAID"
    [row] = cloud.items("PAYMENTS_TABLE")
    assert (row["orderId"], row["status"], row["amount"]) == (order["orderId"], "PAID", Decimal("109.97"))


def test_the_inventory_handler_still_restocks(cloud, lambda_context):
    handler = handler_of("inventory")
    cloud.put_product("prod-1", 3)
    assert handler.lambda_handler({"action": "warm"}, lambda_context)["status"] == "WARM"

    result = handler.lambda_handler(
        {"action": "restock", "productId": "prod-1", "quantity": 4, "eventId": "restock-1"}, lambda_context
    )

    assert result == {"status": "RESTOCKED", "available": 7}
    assert cloud.product("prod-1")["available"] == 7


def test_the_notification_handler_still_notifies(cloud, lambda_context):
    handler = handler_of("notification")
    assert handler.lambda_handler({"action": "warm"}, lambda_context)["status"] == "WARM"
    order = {"orderId": "order-123", "customerId": "customer-1", "items": [], "totalAmount": "10.00"}

    result = handler.lambda_handler(
        {"action": "notify", "type": "order-completed", "order": order, "details": {}}, lambda_context
    )

    assert result == {"status": "SENT", "key": "notifications/order-123/order-completed.json"}
    assert cloud.s3_keys() == ["notifications/order-123/order-completed.json"]


def test_a_warm_request_imports_the_modules_the_handler_imports_lazily(monkeypatch, lambda_context):
    import sys

    monkeypatch.delitem(sys.modules, "email.mime.audio", raising=False)
    wrapped = warmup.answers_warmup(lambda event, context: "handled", preload=("email.mime.audio",))
    assert wrapped({"action": "other"}, lambda_context) == "handled"
    assert "email.mime.audio" not in sys.modules  # a real request leaves the handler's lazy imports to the handler
    assert wrapped({"action": "warm"}, lambda_context)["status"] == "WARM"
    assert "email.mime.audio" in sys.modules


def test_the_order_handlers_warm_up_loads_the_api_router_and_the_seed_path(monkeypatch, lambda_context):
    order_handler = handler_of("order")
    imported: list[str] = []
    monkeypatch.setattr(warmup.importlib, "import_module", imported.append)
    assert order_handler.lambda_handler({"action": "warm"}, lambda_context)["status"] == "WARM"
    assert imported == ["order.api", "order.service", "order.validation"]


def test_the_order_handler_preloads_exactly_what_it_imports_lazily():
    import ast
    import inspect

    module = handler_of("order")
    tree = ast.parse(inspect.getsource(module))
    handler = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "lambda_handler")
    lazy = sorted(
        f"{node.module}.{alias.name}"
        for node in ast.walk(handler)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    )
    assert lazy == sorted(module.lambda_handler.preload)


# --- the decorator itself, applied at test time (the handlers above were decorated when they were imported) --------


def _decorated(module: str, **kwargs: Any) -> Any:
    """A handler of package `module` decorated now, with its own calls recorded."""
    calls: list[Any] = []

    def handler(event: Any, context: Any) -> Any:
        calls.append(event)
        return {"handled": event}

    handler.__module__ = module
    wrapped = warmup.answers_warmup(**kwargs)(handler) if kwargs else warmup.answers_warmup(handler)
    wrapped.calls = calls
    return wrapped


@pytest.mark.parametrize(
    ("module", "service"), [("payment.handler", "payment"), ("notification.handler", "notification")]
)
def test_the_service_whose_contracts_a_warm_up_compiles_is_the_handlers_package(
    module, service, lambda_context, monkeypatch
):
    from shared import contracts

    prepared: list[str] = []
    monkeypatch.setattr(contracts, "prepare", prepared.append)
    handler = _decorated(module)

    assert handler({"action": "warm"}, lambda_context)["status"] == "WARM"
    assert prepared == [service] and handler.calls == []


def test_the_decorator_with_arguments_keeps_its_preload_and_passes_other_events_on(lambda_context, monkeypatch):
    imported: list[str] = []
    monkeypatch.setattr(warmup.importlib, "import_module", imported.append)
    handler = _decorated("order.handler", preload=("order.api", "order.validation"))

    assert handler.preload == ("order.api", "order.validation")
    assert handler({"action": "claim"}, lambda_context) == {"handled": {"action": "claim"}}
    assert imported == []
    assert handler({"action": "warm"}, lambda_context)["status"] == "WARM"
    assert imported == ["order.api", "order.validation"]
    assert handler.calls == [{"action": "claim"}]


def test_the_bare_decorator_preloads_nothing(lambda_context, monkeypatch):
    imported: list[str] = []
    monkeypatch.setattr(warmup.importlib, "import_module", imported.append)
    handler = _decorated("inventory.handler")
    assert handler.preload == ()
    assert handler({"action": "warm"}, lambda_context)["status"] == "WARM"
    assert imported == []


def test_an_answer_without_a_hold_does_not_sleep(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(warmup.time, "sleep", slept.append)
    assert warmup.answer("orderflow-test-fn")["status"] == "WARM"
    assert slept == []


@pytest.mark.parametrize(
    ("prime", "expected"),
    [
        (["events"], ["events"]),
        (["s3"], ["s3"]),
        (["dynamodb"], ["dynamodb", "dynamodb-resource"] + ["table"] * 8),
    ],
)
def test_only_a_dynamodb_prime_builds_the_resource_and_the_tables(prime, expected, aws_calls):
    from shared import aws

    aws.reset()
    warmup.answer("orderflow-test-fn", prime=prime)
    assert sorted(key.split(":")[0] for key in aws._cache) == sorted(expected)
    assert aws_calls == []


def test_a_warm_request_is_read_as_written():
    assert warmup.warm_request({"action": "warm"}) == {"action": "warm", "holdMs": 0, "prime": []}
    full = {"action": "warm", "holdMs": 1000, "prime": ["s3", "events"]}  # every key, the longest hold
    assert warmup.warm_request(full) == {"action": "warm", "holdMs": 1000, "prime": ["s3", "events"]}
    assert warmup.warm_request({"action": "warm", "holdMs": 0, "prime": []}) == {
        "action": "warm",
        "holdMs": 0,
        "prime": [],
    }


@pytest.mark.parametrize(
    "event",
    [
        {"action": "warm", "holdMs": 1001},
        {"action": "warm", "holdMs": -1},
        {"action": "warm", "requestContext": {}},
        {"action": "warm", "prime": ["sqs"]},
        {"action": "Warm"},
        ["action", "warm"],
    ],
)
def test_anything_else_is_not_read_as_a_warm_request(event):
    assert warmup.warm_request(event) is None
