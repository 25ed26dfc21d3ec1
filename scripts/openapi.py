"""`invoke openapi`: the OpenAPI 3.1 document of the HTTP API (build/openapi.json), built from the services' own
definitions: the create-order request schema and limits of order.validation, the id rule of shared.models, the
paging rules of order.api, the statuses of shared.lifecycle and the `shortItems` of the Inventory Unavailable
contract. What the code has no definition of (response shapes, which route answers which status) is written here once;
tests/unit/test_openapi.py proves it against the resolver's routes and real responses of the handler.

The services' packages are imported through scripts.common.services_module when a function here first needs them.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from scripts.common import BUILD_DIR, UserError, services_module, write_json

OPENAPI_PATH = BUILD_DIR / "openapi.json"
OPENAPI_VERSION = "3.1.0"
JSON = "application/json"


def _services() -> SimpleNamespace:
    """The services modules the document is built from."""
    names = {
        "api": "order.api",
        "validation": "order.validation",
        "contracts": "shared.contracts",
        "lifecycle": "shared.lifecycle",
        "models": "shared.models",
    }
    return SimpleNamespace(**{key: services_module(name) for key, name in names.items()})


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _anchored(pattern: str) -> str:
    """A Python fullmatch pattern as the anchored ECMA pattern JSON Schema expects."""
    return f"^{pattern}$"


# --- schemas -----------------------------------------------------------------------------------------------------


def _request_schema(validation: Any) -> dict[str, Any]:
    """The validator's POST /orders schema, without its draft-07 envelope ($schema, $id): every keyword it uses means
    the same in JSON Schema 2020-12, OpenAPI 3.1's dialect."""
    return {k: v for k, v in validation.HTTP_CREATE_ORDER_SCHEMA.items() if k not in ("$schema", "$id")}


def _short_items_schema(contracts: Any) -> dict[str, Any]:
    """`shortItems` of the Inventory Unavailable event contract (what the order records), its `#/definitions/X` refs
    pointed at this document's components of the same name."""
    detail = contracts.EVENTS["InventoryUnavailable"].schema["definitions"]["Detail"]
    return _rebase_refs(detail["properties"]["shortItems"])


def _rebase_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (v.replace("#/definitions/", "#/components/schemas/") if k == "$ref" else _rebase_refs(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rebase_refs(v) for v in node]
    return node


def _schemas(s: SimpleNamespace) -> dict[str, Any]:
    statuses = [status.value for status in s.lifecycle.OrderStatus]
    nullable_string = {"type": ["string", "null"]}
    timestamp = {"type": "string", "format": "date-time"}
    return {
        "Id": {
            "type": "string",
            "pattern": s.models.ID_PATTERN,
            "description": "The id rule of every orderId, customerId and productId.",
        },
        "OrderStatus": {"type": "string", "enum": statuses},
        "CreateOrderRequest": _request_schema(s.validation),
        "OrderAccepted": {
            "type": "object",
            "additionalProperties": False,
            "required": ["orderId", "status"],
            "properties": {"orderId": _ref("Id"), "status": {"const": s.lifecycle.OrderStatus.PENDING.value}},
        },
        "CancelAccepted": {
            "type": "object",
            "additionalProperties": False,
            "required": ["orderId", "status"],
            "properties": {"orderId": _ref("Id"), "status": {"const": s.lifecycle.OrderStatus.CANCELLED.value}},
        },
        "OrderLine": {
            "type": "object",
            "additionalProperties": False,
            "required": ["productId", "quantity", "price"],
            "properties": {
                "productId": _ref("Id"),
                "quantity": {"type": "integer", "minimum": 1},
                "price": {"type": "number", "minimum": 0, "description": "the catalogue's unit price"},
            },
        },
        "StatusChange": {
            "type": "object",
            "additionalProperties": False,
            "required": ["status", "at", "reason"],
            "properties": {"status": _ref("OrderStatus"), "at": timestamp, "reason": {"type": "string"}},
        },
        "Order": {
            "type": "object",
            "additionalProperties": False,
            "required": [
                "orderId",
                "customerId",
                "status",
                "items",
                "totalAmount",
                "statusHistory",
                "createdAt",
                "updatedAt",
                "version",
            ],
            "properties": {
                "orderId": _ref("Id"),
                "customerId": _ref("Id"),
                "status": _ref("OrderStatus"),
                "items": {"type": "array", "items": _ref("OrderLine")},
                "totalAmount": {"type": "number", "minimum": 0},
                "statusHistory": {"type": "array", "items": _ref("StatusChange")},
                "createdAt": timestamp,
                "updatedAt": timestamp,
                "version": {"type": "integer", "minimum": 1},
                "paymentId": {"type": "string", "description": "present once the order has been paid"},
                "shortItems": {
                    **_short_items_schema(s.contracts),
                    "description": "present when the order is INVENTORY_UNAVAILABLE",
                },
            },
        },
        "OrderPage": {
            "type": "object",
            "additionalProperties": False,
            "required": ["orders", "nextToken"],
            "properties": {
                "orders": {"type": "array", "items": _ref("Order")},
                "nextToken": {
                    "type": ["string", "null"],
                    "pattern": _anchored(s.api.NEXT_TOKEN_RE.pattern),
                    "description": "the next page's token; null on the last page",
                },
            },
        },
        "Error": {
            "type": "object",
            "additionalProperties": False,
            "required": ["message", "field"],
            "description": "Every error the Lambda answers. `field`: a JSON path into the body (`$.items[0].quantity`), "
            "`headers.<name>`, `queryStringParameters.<name>`, `pathParameters.<name>`, `status`, or "
            "null. A 409 price mismatch adds the catalogue's `prices` and `totalAmount`.",
            "properties": {
                "message": {"type": "string", "minLength": 1},
                "field": nullable_string,
                "prices": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["productId", "price"],
                        "properties": {"productId": _ref("Id"), "price": {"type": "number", "minimum": 0}},
                    },
                },
                "totalAmount": {"type": "number", "minimum": 0},
            },
        },
        "GatewayError": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string", "minLength": 1}},
            "description": 'A status API Gateway may answer itself (`{"message": "Unauthorized"}`, "Not Found", '
            '"Too Many Requests", "Internal Server Error", "Service Unavailable"); the Lambda\'s '
            "own answers with these statuses are an `Error`, which is a GatewayError too.",
        },
    }


# --- responses ---------------------------------------------------------------------------------------------------


def _response(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": _ref(schema)}}}
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict[str, Any]:
    return _response(description, "Error")


#: statuses every route may answer: the authorizer, the caller check, throttling, a failed invocation, a timeout
EVERY_ROUTE_RESPONSES: dict[str, dict[str, Any]] = {
    "401": _response(
        'No valid Cognito ID token: API Gateway\'s JWT authorizer (`{"message": "Unauthorized"}`), '
        "or the Lambda for a token that is not an ID token or names no user.",
        "GatewayError",
        {
            "WWW-Authenticate": {
                "description": '`Bearer error="invalid_token"` (the Lambda; AWS\'s authorizer too)',
                "schema": {"type": "string"},
            }
        },
    ),
    "403": _error("The token's user name is not a valid customer id (every route); see each route for more."),
    "429": _response("Throttled by API Gateway (the stage's default route throttling).", "GatewayError"),
    "500": _response(
        "Internal error: the Lambda's (`internal error`) or API Gateway's when the invocation fails.", "GatewayError"
    ),
    "502": _response("The local emulator's answer to a failed invocation (AWS answers 500).", "GatewayError"),
    "503": _response(
        "A dependency is unavailable, retry (the Lambda, with `Retry-After`), or the integration timed "
        "out (API Gateway).",
        "GatewayError",
        {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}},
    ),
}

#: what API Gateway answers to a method and path no route has (the deployed API has exactly the routes below)
NO_ROUTE = _response('No route for this method and path: API Gateway\'s `{"message": "Not Found"}`.', "GatewayError")


def _path_id(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": _ref("Id"),
        "description": f"{what}; one that breaks the id rule is 400 `{name} is invalid`",
    }


def _operations(s: SimpleNamespace) -> dict[str, dict[str, dict[str, Any]]]:
    idempotency_key = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "pattern": _anchored(s.validation.IDEMPOTENCY_KEY_RE.pattern)},
        "description": "Same key and body within 24 h: the first response again (201); same key, other body, or the "
        "first still running: 409. Keys are per customer.",
    }
    order_id = _path_id("orderId", "the order")
    return {
        "/orders": {
            "post": {
                "operationId": "createOrder",
                "summary": "Place an order for the caller",
                "description": "Prices are the catalogue's: an item's `price` and `totalAmount` are optional expectations "
                "(409 with the catalogue's `prices` and `totalAmount` when they differ). Further rules "
                "(2 decimals, distinct products): docs/api.md.",
                "parameters": [idempotency_key],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("CreateOrderRequest")}}},
                "responses": {
                    "201": _response(
                        "Accepted, PENDING (or the first response again for a repeated Idempotency-Key).",
                        "OrderAccepted",
                    ),
                    "400": _error("Invalid body or Idempotency-Key, unknown or unpriced product."),
                    "403": _error("The body's customerId is not the caller's, or the user name is not a customer id."),
                    "409": _error(
                        "A price or the total is not the catalogue's (with `prices`, `totalAmount`), or the "
                        "Idempotency-Key was used with another body or is still in progress."
                    ),
                    "413": _error(f"Body over {s.validation.MAX_BODY_BYTES} bytes."),
                    "415": _error("Content-Type is not application/json."),
                },
            }
        },
        "/orders/{orderId}": {
            "get": {
                "operationId": "getOrder",
                "summary": "One order of the caller (any order for `admins`)",
                "parameters": [order_id],
                "responses": {
                    "200": _response("The order.", "Order"),
                    "400": _error("orderId breaks the id rule."),
                    "404": _error("No such order, or another customer's (the same answer)."),
                },
            },
            "delete": {
                "operationId": "cancelOrder",
                "summary": "Cancel an order of the caller (any order for `admins`)",
                "parameters": [order_id],
                "responses": {
                    "202": _response(
                        "Cancel claimed (again, for a repeated cancel); the refund follows.", "CancelAccepted"
                    ),
                    "400": _error("orderId breaks the id rule."),
                    "404": _error("No such order, or another customer's (the same answer)."),
                    "409": _error("The order is final under another claim (completed, declined, expired, ...)."),
                },
            },
        },
        "/customers/{customerId}/orders": {
            "get": {
                "operationId": "listCustomerOrders",
                "summary": "The customer's orders, newest first",
                "parameters": [
                    _path_id("customerId", "the caller's own id (any customer for `admins`)"),
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": s.api.MAX_PAGE_SIZE,
                            "default": s.api.DEFAULT_PAGE_SIZE,
                        },
                    },
                    {
                        "name": "nextToken",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "pattern": _anchored(s.api.NEXT_TOKEN_RE.pattern)},
                        "description": "the previous page's nextToken, as it was",
                    },
                ],
                "responses": {
                    "200": _response("One page of orders.", "OrderPage"),
                    "400": _error("customerId, limit or nextToken is invalid."),
                    "403": _error("Another customer's list, or the user name is not a customer id."),
                },
            }
        },
    }


def document(server_url: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the HTTP API; `server_url`: a deployed API's URL (outputs.api_url)."""
    s = _services()
    paths = _operations(s)
    for operations in paths.values():
        for operation in operations.values():
            operation["responses"] = dict(sorted({**EVERY_ROUTE_RESPONSES, **operation["responses"]}.items()))
    server = (
        {"url": server_url.rstrip("/")}
        if server_url
        else {
            "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
            "variables": {
                "apiId": {"default": "apiId", "description": "outputs.json api_url"},
                "region": {"default": "eu-west-1"},
            },
        }
    )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "orderflow HTTP API",
            "version": "1",
            "description": "Orders on behalf of the caller named by a Cognito ID token (docs/api.md, docs/auth.md). "
            'Amounts are JSON numbers. API Gateway answers 404 `{"message": "Not Found"}` to any '
            "method and path not below (components.responses.NoRoute).",
        },
        "servers": [server],
        "security": [{"cognitoIdToken": []}],
        "paths": paths,
        "components": {
            "schemas": _schemas(s),
            "responses": {"NoRoute": NO_ROUTE},
            "securitySchemes": {
                "cognitoIdToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "The Cognito ID token of the user pool's app client (`invoke customer` prints one); "
                    "`cognito:username` is the customer id, members of `admins` reach every customer.",
                }
            },
        },
    }


def write(path: Path = OPENAPI_PATH, server_url: str | None = None) -> Path:
    """Build the document and write it to `path`; a failure is one sentence."""
    try:
        doc = document(server_url)
    except ImportError as exc:
        raise UserError(
            f"Cannot import the services to build the OpenAPI document ({exc}): install the dev extras "
            "(`pip install -e .[dev]`)."
        ) from exc
    write_json(path, doc)
    return path
