"""The OpenAPI document of the HTTP API (scripts/openapi.py) is valid OpenAPI 3.1 and matches the code: the routes
the resolver registers (and API Gateway routes), the validator's request schema, and real responses of the order
Lambda, run in-process against moto, each of a documented status and documented body. The response checker the e2e
suite uses (scripts/api_contract.py) is tested here with literal samples, and through ApiClient's hook."""

from __future__ import annotations

import base64
import http.server
import json
import re
import threading

import pytest
from openapi_spec_validator import validate

from order import api, handler, service, validation
from scripts import openapi
from scripts.api_client import ApiClient
from scripts.api_contract import ApiContract, ResponseLog
from scripts.common import REPO_ROOT
from shared.errors import RetryableError

from .helpers import http_event, order_body, put_order

ROUTES = {
    ("POST", "/orders"),
    ("GET", "/orders/{orderId}"),
    ("DELETE", "/orders/{orderId}"),
    ("GET", "/customers/{customerId}/orders"),
}
STATUSES = {
    ("POST", "/orders"): ["201", "400", "401", "403", "409", "413", "415", "429", "500", "502", "503"],
    ("GET", "/orders/{orderId}"): ["200", "400", "401", "403", "404", "429", "500", "502", "503"],
    ("DELETE", "/orders/{orderId}"): ["202", "400", "401", "403", "404", "409", "429", "500", "502", "503"],
    ("GET", "/customers/{customerId}/orders"): ["200", "400", "401", "403", "429", "500", "502", "503"],
}


@pytest.fixture(scope="module")
def document():
    return openapi.document()


@pytest.fixture(scope="module")
def contract(document):
    return ApiContract(document)


def operations(document) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


def shape(path: str) -> str:
    """A route path with its parameters unnamed: `/orders/<order_id>` and `/orders/{orderId}` are `/orders/{}`."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


# --- the document ------------------------------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"] == "3.1.0"
    scheme = document["components"]["securitySchemes"]["cognitoIdToken"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert document["security"] == [{"cognitoIdToken": []}]


def test_documented_routes_are_the_resolvers_routes(document):
    registered = {
        (route.method.upper(), shape(route.path)) for route in api.app._static_routes + api.app._dynamic_routes
    }
    assert {(m, shape(p)) for m, p in operations(document)} == registered
    assert operations(document) == ROUTES


def test_documented_routes_are_the_routes_api_gateway_has(document):
    variables = (REPO_ROOT / "terraform" / "modules" / "api" / "variables.tf").read_text()
    block = re.search(r'variable "route_keys" \{.*?default = \[(.*?)\]', variables, re.DOTALL).group(1)
    route_keys = {tuple(key.split(" ", 1)) for key in re.findall(r'"([^"]+)"', block)}
    assert route_keys == operations(document)


def test_documented_statuses(document):
    documented = {
        (method.upper(), path): sorted(op["responses"])
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    }
    assert documented == STATUSES


def test_the_error_table_of_the_api_page_lists_the_documents_statuses():
    """docs/api.md's route table (success and errors columns) names exactly the statuses of the document."""
    text = (REPO_ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    rows = {}
    for method, path, success, errors in re.findall(r"^\| (\w+) \| `([^`]+)` \| (.*?) \| (.*) \|$", text, re.MULTILINE):
        rows[(method, path)] = sorted(set(re.findall(r"\b[1-5][0-9]{2}\b", success + " " + errors)))
    assert rows == STATUSES  # == the document's, test_documented_statuses


def test_request_schema_is_the_validators(document):
    schemas = document["components"]["schemas"]
    post = document["paths"]["/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateOrderRequest"
    }
    assert schemas["CreateOrderRequest"] == {
        k: v for k, v in validation.HTTP_CREATE_ORDER_SCHEMA.items() if k not in ("$schema", "$id")
    }
    assert schemas["CreateOrderRequest"]["required"] == ["items"]
    assert schemas["CreateOrderRequest"]["properties"]["items"]["maxItems"] == 50
    assert schemas["Id"]["pattern"] == r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


def test_parameters(document):
    post = document["paths"]["/orders"]["post"]
    assert post["parameters"][0]["name"] == "Idempotency-Key"
    assert post["parameters"][0]["schema"]["pattern"] == r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
    listing = {p["name"]: p for p in document["paths"]["/customers/{customerId}/orders"]["get"]["parameters"]}
    assert listing["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert listing["nextToken"]["schema"]["pattern"] == "^[A-Za-z0-9_-]+$"
    assert listing["customerId"]["in"] == "path" and listing["customerId"]["required"] is True


def test_order_statuses_are_the_lifecycles(document):
    assert document["components"]["schemas"]["OrderStatus"]["enum"] == [
        "PENDING",
        "PAID",
        "PAYMENT_FAILED",
        "INVENTORY_RESERVED",
        "INVENTORY_UNAVAILABLE",
        "COMPLETED",
        "CANCELLED",
        "EXPIRED",
        "FAILED",
    ]


def test_invoke_openapi_writes_the_document(tmp_path):
    path = openapi.write(tmp_path / "openapi.json", server_url="https://api.example.com/")
    written = json.loads(path.read_text())
    assert written["servers"] == [{"url": "https://api.example.com"}]
    assert written["paths"].keys() == openapi.document()["paths"].keys()


# --- real responses of the Lambda keep the document --------------------------------------------------------------

#: the method and path of the last request _call sent (a case returns only its last response)
_last_request: list[tuple[str, str]] = [("", "")]


def _call(lambda_context, method, path, body=None, **kwargs):
    _last_request[0] = (method, path)
    response = handler.lambda_handler(http_event(method, path, body, **kwargs), lambda_context)
    return response["statusCode"], response.get("body")


def _created(lambda_context) -> str:
    status, body = _call(lambda_context, "POST", "/orders", order_body())
    assert status == 201
    return json.loads(body)["orderId"]


def _token(key: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


#: (case, expected status, request as a function of (lambda_context, setup)): every status the Lambda answers
CASES = {
    "create": (201, lambda ctx: _call(ctx, "POST", "/orders", order_body())),
    "create without prices": (
        201,
        lambda ctx: _call(ctx, "POST", "/orders", {"items": [{"productId": "prod-1", "quantity": 1}]}),
    ),
    "create, Idempotency-Key repeated": (
        201,
        lambda ctx: [
            _call(ctx, "POST", "/orders", order_body(), headers={"Idempotency-Key": "k-1"}),
            _call(ctx, "POST", "/orders", order_body(), headers={"Idempotency-Key": "k-1"}),
        ][1],
    ),
    "create, Idempotency-Key with another body": (
        409,
        lambda ctx: [
            _call(ctx, "POST", "/orders", order_body(), headers={"Idempotency-Key": "k-2"}),
            _call(ctx, "POST", "/orders", order_body(totalAmount=1), headers={"Idempotency-Key": "k-2"}),
        ][1],
    ),
    "create, bad Idempotency-Key": (
        400,
        lambda ctx: _call(ctx, "POST", "/orders", order_body(), headers={"Idempotency-Key": "bad key"}),
    ),
    "create, bad body": (400, lambda ctx: _call(ctx, "POST", "/orders", {"items": []})),
    "create, not JSON": (400, lambda ctx: _call(ctx, "POST", "/orders", raw_body="{")),
    "create, unknown product": (
        400,
        lambda ctx: _call(ctx, "POST", "/orders", {"items": [{"productId": "prod-9", "quantity": 1}]}),
    ),
    "create, price not the catalogue's": (
        409,
        lambda ctx: _call(ctx, "POST", "/orders", {"items": [{"productId": "prod-1", "quantity": 1, "price": 1.00}]}),
    ),
    "create, another customer's id": (403, lambda ctx: _call(ctx, "POST", "/orders", order_body(customerId="bob"))),
    "create, user name not a customer id": (
        403,
        lambda ctx: _call(ctx, "POST", "/orders", order_body(), customer="bad name"),
    ),
    "create, too large": (413, lambda ctx: _call(ctx, "POST", "/orders", raw_body="x" * 40_000)),
    "create, text/plain": (415, lambda ctx: _call(ctx, "POST", "/orders", order_body(), content_type="text/plain")),
    "create, no claims": (401, lambda ctx: _call(ctx, "POST", "/orders", order_body(), customer=None)),
    "get": (200, lambda ctx: _call(ctx, "GET", f"/orders/{_created(ctx)}")),
    "get, paid": (200, lambda ctx: _call(ctx, "GET", "/orders/" + put_order("PAID", paymentId="pay-1")["orderId"])),
    "get, inventory unavailable": (
        200,
        lambda ctx: _call(
            ctx,
            "GET",
            "/orders/"
            + put_order("INVENTORY_UNAVAILABLE", shortItems=[{"productId": "prod-1", "requested": 2, "available": 1}])[
                "orderId"
            ],
        ),
    ),
    "get, unknown": (404, lambda ctx: _call(ctx, "GET", "/orders/no-such-order")),
    "get, another customer's": (
        404,
        lambda ctx: _call(ctx, "GET", "/orders/" + put_order(customer_id="bob")["orderId"]),
    ),
    "get, admin reads another customer's": (
        200,
        lambda ctx: _call(ctx, "GET", "/orders/" + put_order(customer_id="bob")["orderId"], groups=["admins"]),
    ),
    "get, id breaks the rule": (400, lambda ctx: _call(ctx, "GET", "/orders/" + "a" * 65)),
    "cancel": (202, lambda ctx: _call(ctx, "DELETE", f"/orders/{_created(ctx)}")),
    "cancel, completed": (409, lambda ctx: _call(ctx, "DELETE", "/orders/" + put_order("COMPLETED")["orderId"])),
    "cancel, unknown": (404, lambda ctx: _call(ctx, "DELETE", "/orders/no-such-order")),
    "cancel, id breaks the rule": (400, lambda ctx: _call(ctx, "DELETE", "/orders/bad id!")),
    "list": (200, lambda ctx: [_created(ctx), _call(ctx, "GET", "/customers/customer-1/orders")][1]),
    "list, a page with a nextToken": (
        200,
        lambda ctx: [
            _created(ctx),
            _created(ctx),
            _call(ctx, "GET", "/customers/customer-1/orders", query={"limit": "1"}),
        ][2],
    ),
    "list, another customer's": (403, lambda ctx: _call(ctx, "GET", "/customers/bob/orders")),
    "list, limit 0": (400, lambda ctx: _call(ctx, "GET", "/customers/customer-1/orders", query={"limit": "0"})),
    "list, crafted nextToken": (
        400,
        lambda ctx: _call(ctx, "GET", "/customers/customer-1/orders", query={"nextToken": _token({"orderId": "x"})}),
    ),
    "list, no claims": (401, lambda ctx: _call(ctx, "GET", "/customers/customer-1/orders", customer=None)),
    "unknown route": (404, lambda ctx: _call(ctx, "GET", "/nope")),
}


@pytest.mark.usefixtures("cloud", "catalogue")
@pytest.mark.parametrize("case", CASES)
def test_responses_of_the_lambda_keep_the_document(case, contract, lambda_context):
    expected, send = CASES[case]
    status, body = send(lambda_context)
    assert status == expected, body
    method, path = _last_request[0]
    assert contract.violations(method, path, status, body) == []


@pytest.mark.usefixtures("cloud")
@pytest.mark.parametrize(("error", "expected"), [(RetryableError("throttled"), 503), (RuntimeError("bug"), 500)])
def test_failures_keep_the_document(error, expected, contract, lambda_context, monkeypatch):
    def failing(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(service, "get_order", failing)
    status, body = _call(lambda_context, "GET", "/orders/o-1")
    assert status == expected
    assert contract.violations("GET", "/orders/o-1", status, body) == []


# --- the checker: literal samples --------------------------------------------------------------------------------

ORDER = {
    "orderId": "o-1",
    "customerId": "customer-1",
    "status": "PAID",
    "items": [{"productId": "prod-1", "quantity": 2, "price": 19.99}],
    "totalAmount": 39.98,
    "statusHistory": [{"status": "PENDING", "at": "2024-05-01T12:00:00.000Z", "reason": "order created"}],
    "createdAt": "2024-05-01T12:00:00.000Z",
    "updatedAt": "2024-05-01T12:00:01.234Z",
    "version": 2,
    "paymentId": "pay-1",
}


@pytest.mark.parametrize(
    ("method", "path", "status", "body"),
    [
        ("GET", "/orders/o-1", 200, json.dumps(ORDER)),
        ("GET", "/customers/customer-1/orders?limit=1", 200, json.dumps({"orders": [ORDER], "nextToken": "eyJ9"})),
        ("GET", "/customers/customer-1/orders", 200, json.dumps({"orders": [], "nextToken": None})),
        ("POST", "/orders", 201, '{"orderId": "o-1", "status": "PENDING"}'),
        ("DELETE", "/orders/o-1", 202, '{"orderId": "o-1", "status": "CANCELLED"}'),
        (
            "POST",
            "/orders",
            409,
            json.dumps(
                {
                    "message": "totalAmount is 2.5, not 2.49",
                    "field": "$.totalAmount",
                    "prices": [{"productId": "p-1", "price": 1.25}],
                    "totalAmount": 2.5,
                }
            ),
        ),
        ("POST", "/orders", 401, '{"message": "Unauthorized"}'),  # API Gateway's authorizer
        ("GET", "/orders/o-1", 429, '{"message": "Too Many Requests"}'),
        ("GET", "/orders/o-1", 503, '{"message": "Service Unavailable"}'),
        ("GET", "/nope", 404, '{"message": "Not Found"}'),  # no route: API Gateway
        ("PUT", "/orders", 404, '{"message": "Not Found"}'),
    ],
)
def test_checker_accepts_what_the_document_allows(contract, method, path, status, body):
    assert contract.violations(method, path, status, body) == []


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "problem"),
    [
        (
            "GET",
            "/orders/o-1",
            201,
            json.dumps(ORDER),
            (
                "GET /orders/o-1 -> 201: status not documented for GET "
                "/orders/{orderId} (documented: 200, 400, 401, 403, 404, 429, 500, 502, 503)"
            ),
        ),
        ("GET", "/customers/c-1/orders", 404, '{"message": "x", "field": null}', "status not documented"),
        ("GET", "/orders/o-1", 200, json.dumps({**ORDER, "version": "2"}), "version: '2' is not of type 'integer'"),
        ("GET", "/orders/o-1", 200, json.dumps({**ORDER, "secret": 1}), "Additional properties are not allowed"),
        ("GET", "/orders/o-1", 200, json.dumps({**ORDER, "status": "LOST"}), "status: 'LOST' is not one of"),
        ("POST", "/orders", 201, '{"orderId": "o-1", "status": "PAID"}', "status: 'PENDING' was expected"),
        ("POST", "/orders", 400, '{"message": "bad"}', "'field' is a required property"),
        ("POST", "/orders", 201, "<html>", "the body is not JSON"),
        (
            "GET",
            "/orders",
            405,
            '{"message": "method GET not allowed on /orders", "field": null}',
            "no route has this method and path, so API Gateway answers 404",
        ),
        ("GET", "/nope", 404, "{}", "'message' is a required property"),
    ],
)
def test_checker_names_what_breaks_the_document(contract, method, path, status, body, problem):
    found = contract.violations(method, path, status, body)
    assert len(found) == 1 and problem in found[0], found


def test_checker_fails_when_the_document_drifts(document, lambda_context):
    """A document that lost a status or a route no longer admits what the code answers."""
    drifted = json.loads(json.dumps(document))
    del drifted["paths"]["/orders/{orderId}"]["delete"]["responses"]["409"]
    del drifted["paths"]["/customers/{customerId}/orders"]
    check = ApiContract(drifted)
    assert check.violations("DELETE", "/orders/o-1", 409, '{"message": "m", "field": "status"}') != []
    assert check.violations("GET", "/customers/c-1/orders", 200, '{"orders": [], "nextToken": null}') != []


def test_response_log_counts_and_collects(contract):
    log = ResponseLog(contract)
    log.record("GET", "/nope", 404, b'{"message": "Not Found"}')
    log.record("GET", "/orders/o-1", 418, b"{}")
    assert log.checked == 2
    assert log.violations == [
        (
            "GET /orders/o-1 -> 418: status not documented for GET /orders/{orderId} "
            "(documented: 200, 400, 401, 403, 404, 429, 500, 502, 503)"
        )
    ]


def test_api_client_hands_every_response_to_its_contract(contract):
    """ApiClient (scripts/api_client.py) calls its `contract` with each response, error statuses included."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = (200, {"orders": [], "nextToken": None}) if "customers" in self.path else (404, {})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        log = ResponseLog(contract)
        client = ApiClient(f"http://127.0.0.1:{server.server_address[1]}", contract=log.record)
        assert client.customer_orders("customer-1").status == 200
        assert client.request("GET", "nope", retries=0).status == 404
    finally:
        server.shutdown()
        server.server_close()
    assert log.checked == 2
    assert log.violations == ["GET /nope -> 404: (body): 'message' is a required property"]
