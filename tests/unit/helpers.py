"""Builders shared by the unit tests."""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal
from typing import Any

import boto3

from shared.repositories.orders import live_shard

from .conftest import ENV

#: statuses whose stored order carries `liveShard` (the sparse Live-Index)
LIVE_STATUSES = ("PENDING", "PAID", "INVENTORY_RESERVED", "INVENTORY_UNAVAILABLE")

ORDER_ID = "11111111-2222-4333-8444-555555555555"
CUSTOMER = "customer-1"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_unitTest1"
CLIENT_ID = "unit-test-app-client"


def id_token_claims(customer: str = CUSTOMER, groups: list[str] | str | None = None) -> dict[str, Any]:
    """The claims API Gateway's JWT authorizer hands the Lambda for a Cognito ID token: every value a string, an
    array (cognito:groups) in API Gateway's `"[a b]"` form unless a string is given."""
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, customer)),
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "token_use": "id",
        "cognito:username": customer,
        "email": f"{customer}@example.com",
        "email_verified": "true",
        "auth_time": "1704067200",
        "iat": "1704067200",
        "exp": "1704070800",
    }
    if groups is not None:
        claims["cognito:groups"] = groups if isinstance(groups, str) else "[" + " ".join(groups) + "]"
    return claims


def changed_claims(customer: str, **changes: Any) -> dict[str, Any]:
    """id_token_claims(customer) with some claims replaced (a `__` in a name stands for `:`) or, with None, removed."""
    claims = id_token_claims(customer)
    for key, value in changes.items():
        key = key.replace("__", ":")
        if value is None:
            claims.pop(key)
        else:
            claims[key] = value
    return claims


def http_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    content_type: str | None = "application/json",
    raw_body: str | None = None,
    base64_body: bool = False,
    customer: str | None = CUSTOMER,
    groups: list[str] | str | None = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """API Gateway HTTP API payload format 2.0 event, authorised by the JWT authorizer for `customer` (member of
    `groups`), or carrying exactly `claims`; `customer=None` (and no claims): no authorizer context at all."""
    all_headers = {"host": "api.example.com", "user-agent": "pytest"}
    if content_type is not None:
        all_headers["content-type"] = content_type
    all_headers.update({k.lower(): v for k, v in (headers or {}).items()})
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    if raw_body is not None and base64_body:
        raw_body = base64.b64encode(raw_body.encode()).decode()
    if claims is None and customer is not None:
        claims = id_token_claims(customer, groups)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": all_headers,
        "queryStringParameters": query,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": f"req-{uuid.uuid4()}",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2024:00:00:00 +0000",
            "timeEpoch": 1704067200000,
        },
        "body": raw_body,
        "isBase64Encoded": base64_body,
    }
    if claims is not None:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def order_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customerId": "customer-1",
        "items": [
            {"productId": "prod-1", "quantity": 2, "price": 19.99},
            {"productId": "prod-2", "quantity": 1, "price": 69.99},
        ],
        "totalAmount": 109.97,
    }
    body.update(overrides)
    return body


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def put_order(
    status: str = "PAID",
    *,
    order_id: str | None = None,
    customer_id: str = "customer-1",
    items: list[dict[str, Any]] | None = None,
    total: str = "109.97",
    updated_at: str = "2024-01-01T00:00:00.000Z",
    **extra: Any,
) -> dict[str, Any]:
    """Write an order straight into the orders table (test setup for workflow-driven services)."""
    order_id = order_id or str(uuid.uuid4())
    item: dict[str, Any] = {
        "orderId": order_id,
        "customerId": customer_id,
        "items": items
        if items is not None
        else [
            {"productId": "prod-1", "quantity": 2, "price": Decimal("19.99")},
            {"productId": "prod-2", "quantity": 1, "price": Decimal("69.99")},
        ],
        "totalAmount": Decimal(total),
        "status": status,
        "statusHistory": [{"status": status, "at": updated_at, "reason": "test setup"}],
        "createdAt": updated_at,
        "updatedAt": updated_at,
        "version": 1,
        **extra,
    }
    if status in LIVE_STATUSES and "liveShard" not in extra:  # as OrdersRepository.create / transition keep it
        item["liveShard"] = live_shard(order_id)
    boto3.resource("dynamodb").Table(ENV["ORDERS_TABLE"]).put_item(Item=item)
    return item


def get_order(order_id: str) -> dict[str, Any] | None:
    from boto3.dynamodb.conditions import Key

    items = (
        boto3.resource("dynamodb")
        .Table(ENV["ORDERS_TABLE"])
        .query(KeyConditionExpression=Key("orderId").eq(order_id), ConsistentRead=True)["Items"]
    )
    return items[0] if items else None


def order_input(order: dict[str, Any]) -> dict[str, Any]:
    """The `order` object a workflow passes to the task Lambdas (as in the Order Created detail)."""
    return {
        "orderId": order["orderId"],
        "customerId": order["customerId"],
        "items": [
            {"productId": i["productId"], "quantity": int(i["quantity"]), "price": str(i["price"])}
            for i in order["items"]
        ],
        "totalAmount": str(order["totalAmount"]),
    }


# --- the new design: ids derived independently from the documented formulas, outbox / claim helpers -----------
#: docs/architecture.md: every eventId is uuid5 of `<orderId>|<detail-type>` in this namespace
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:orderflow:event")


def expected_event_id(order_id: str, detail_type: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{order_id}|{detail_type}"))


def expected_payment_id(order_id: str) -> str:
    """The payment intent's id, the gateway's idempotency key: uuid5 of `<orderId>|payment`."""
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{order_id}|payment"))


def expected_refund_id(order_id: str) -> str:
    return str(uuid.uuid5(EVENT_NAMESPACE, f"{order_id}|refund"))


def outbox_items() -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(ENV["OUTBOX_TABLE"])
    return sorted(table.scan(ConsistentRead=True)["Items"], key=lambda e: e["id"])


def put_outbox(entry: dict[str, Any]) -> dict[str, Any]:
    boto3.resource("dynamodb").Table(ENV["OUTBOX_TABLE"]).put_item(Item=entry)
    return entry


def put_claimed_order(status: str, by: str = "test-claimer", **kwargs: Any) -> dict[str, Any]:
    """A terminal order as a claim leaves it (claim = {by, status, at}); no outbox duty is written."""
    at = kwargs.get("updated_at", "2024-01-01T00:00:00.000Z")
    return put_order(status, claim={"by": by, "status": status, "at": at}, **kwargs)


def ledger_items() -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(ENV["PAYMENT_GATEWAY_TABLE"])
    return table.scan(ConsistentRead=True)["Items"]


def payment_row(order_id: str) -> dict[str, Any] | None:
    table = boto3.resource("dynamodb").Table(ENV["PAYMENTS_TABLE"])
    return table.get_item(Key={"orderId": order_id}, ConsistentRead=True).get("Item")
