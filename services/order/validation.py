"""Create-order request validation (HTTP and direct invoke). Pure: no I/O.

Order of checks (the first failing one answers): Content-Type (415) -> body size (413) -> JSON syntax, numbers
Decimal can hold (400) -> nesting depth (400) -> JSON schema, fastjsonschema compiled once (400)
-> money precision (400)
-> duplicate productIds (400) -> customer (403, HTTP only).
Every failure raises OrderValidationError(message, field, status_code); `field` is a JSON path into the body
(`$`, `$.items[2].price`) or `headers.<name>` for header problems.

Prices are the catalogue's (order.pricing): an item's `price` and the `totalAmount` are optional expectations of the
client. This module only checks their form; whether they equal the catalogue (409 otherwise), and whether every
product has a price (400 otherwise), is decided by order.pricing, which reads the inventory table.

Over HTTP the customer comes from the caller's token (order.auth): the body's `customerId` is optional there, and one
that names another customer is refused with 403 after every other rule here, before the catalogue is read (nothing is
written or published). The direct
invoke (seed) has no token, so its payload must name the customer.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import fastjsonschema

from shared.errors import OrderValidationError
from shared.models import CENT, ID_PATTERN

MAX_BODY_BYTES = 32 * 1024
MAX_ITEMS = 50
MAX_QUANTITY = 1000
MAX_PRICE = 1_000_000
MAX_TOTAL = 100_000_000
#: arrays/objects nested in a body; the schema needs 3 (body > items > item), deeper is refused before anything walks
#: the tree recursively (about 1,000 levels fit in 32 KB and would exhaust Python's recursion limit: a 500)
MAX_DEPTH = 10
IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")

CREATE_ORDER_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://orderflow/schemas/create-order.json",
    "type": "object",
    "additionalProperties": False,
    "required": ["customerId", "items"],
    "properties": {
        "customerId": {"type": "string", "pattern": ID_PATTERN},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_ITEMS,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["productId", "quantity"],
                "properties": {
                    "productId": {"type": "string", "pattern": ID_PATTERN},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
                    "price": {"type": "number", "minimum": 0, "maximum": MAX_PRICE},
                },
            },
        },
        "totalAmount": {"type": "number", "minimum": 0, "maximum": MAX_TOTAL},
    },
}

#: POST /orders: the same body, `customerId` optional (the token names the customer).
HTTP_CREATE_ORDER_SCHEMA: dict[str, Any] = {
    **CREATE_ORDER_SCHEMA,
    "$id": "https://orderflow/schemas/create-order-http.json",
    "required": ["items"],
}

# Compiled once per cold start: fastjsonschema.validate (what Powertools' validate() calls) compiles the schema
# into Python source on every call, ~3.5 ms of CPU a request.
_validate_direct = fastjsonschema.compile(CREATE_ORDER_SCHEMA)
_validate_http = fastjsonschema.compile(HTTP_CREATE_ORDER_SCHEMA)


@dataclass(frozen=True)
class CreateOrderItem:
    product_id: str
    quantity: int
    #: the price the client expects (2 decimals), None when the request leaves it to the catalogue
    price: Decimal | None = None


@dataclass(frozen=True)
class CreateOrderRequest:
    """A valid create-order request, not priced yet (order.pricing applies the catalogue)."""

    customer_id: str
    items: tuple[CreateOrderItem, ...]
    #: the total the client expects (2 decimals), None when left to the server
    total_amount: Decimal | None = None
    #: the token's `sub` (HTTP), recorded on the order as its owner (docs/auth.md); None on the direct invoke
    owner_sub: str | None = None

    @property
    def canonical(self) -> str:
        """Canonical JSON of the request body (the idempotency payload-validation hash input): sorted keys, amounts
        as 2-decimal strings; an omitted price or totalAmount stays omitted (a body with prices is another body)."""
        items: list[dict[str, Any]] = []
        for i in self.items:
            item: dict[str, Any] = {"productId": i.product_id, "quantity": i.quantity}
            if i.price is not None:
                item["price"] = str(i.price.quantize(CENT))
            items.append(item)
        body: dict[str, Any] = {"customerId": self.customer_id, "items": items}
        if self.total_amount is not None:
            body["totalAmount"] = str(self.total_amount.quantize(CENT))
        return json.dumps(body, sort_keys=True, separators=(",", ":"))


def _fail(message: str, field: str | None = "$", status: int = 400) -> OrderValidationError:
    return OrderValidationError(message, field, status)


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """Case-insensitive header lookup (HTTP API v2 lower-cases names, but be liberal)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def check_content_type(headers: Mapping[str, Any] | None) -> None:
    value = header(headers, "content-type")
    media_type = (value or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise _fail("Content-Type must be application/json", "headers.content-type", 415)


def decode_body(body: str | None, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if is_base64:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _fail("request body is not valid base64") from exc
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: only a hand-made event carries one
        raise _fail("request body is not valid UTF-8") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_decimal(literal: str) -> Decimal:
    """A JSON number with a fraction or exponent, exactly. An exponent beyond what Decimal holds (about 10**18, as in
    `0E-99999999999999999999`) raises InvalidOperation, not a ValueError: refuse it here as a 400."""
    try:
        return Decimal(literal)
    except InvalidOperation:
        raise _fail("request body has a number out of range") from None


def parse_json(raw: bytes) -> Any:
    if len(raw) > MAX_BODY_BYTES:
        raise _fail(f"request body exceeds {MAX_BODY_BYTES} bytes", "$", 413)
    if not raw.strip():
        raise _fail("request body is required")
    try:
        return json.loads(raw.decode("utf-8"), parse_float=_parse_decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _fail(f"request body is not valid JSON: {exc}") from exc


def json_path(parts: list[Any]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            path += f".{part}"
        else:
            path += f"[{json.dumps(str(part))}]"
    return path


def _typed_parts(payload: Any, raw_parts: list[Any]) -> list[Any]:
    """fastjsonschema reports list indexes as strings: walk the payload to tell indexes from keys."""
    parts: list[Any] = []
    node = payload
    for part in raw_parts:
        if isinstance(node, list):
            index = int(part)
            parts.append(index)
            node = node[index] if 0 <= index < len(node) else None
        else:
            parts.append(str(part))
            node = node.get(str(part)) if isinstance(node, dict) else None
    return parts


def _schema_error(exc: fastjsonschema.JsonSchemaValueException, payload: Any) -> OrderValidationError:
    parts = _typed_parts(payload, list(exc.path or ["data"])[1:])  # paths start with "data"
    base = json_path(parts)
    if exc.rule == "required" and isinstance(exc.value, dict):
        missing = next((name for name in (exc.rule_definition or []) if name not in exc.value), None)
        if missing is not None:
            field = json_path([*parts, missing])
            return _fail(f"{field} is required", field)
    if exc.rule == "additionalProperties" and isinstance(exc.value, dict):
        allowed = set((exc.definition or {}).get("properties", {}))
        extra = sorted(k for k in exc.value if k not in allowed)
        if extra:
            field = json_path([*parts, extra[0]])
            return _fail(f"{field} is not an allowed property", field)
    message = str(exc.message or "invalid value")
    name = exc.name or "data"
    if message.startswith(name):
        message = base + message[len(name) :]
    return _fail(message, base)


def check_depth(payload: Any) -> None:
    """At most MAX_DEPTH nested arrays/objects (the body is level 1); iterative, so any depth is safe to check."""
    pending = [(payload, 1)]
    while pending:
        node, level = pending.pop()
        if isinstance(node, (dict, list)):
            if level > MAX_DEPTH:
                raise _fail(f"request body is nested more than {MAX_DEPTH} levels deep")
            pending.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))


def _as_decimal_tree(value: Any) -> Any:
    """Floats (direct invoke: the Lambda runtime parses JSON numbers as float) -> Decimal via str()."""
    if isinstance(value, float):
        # NaN/Infinity are not JSON numbers: make them null, which no property of the schema accepts, so the schema
        # refuses them at their field (as a string "nan" or "inf" they would pass for a customerId or productId)
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _as_decimal_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_decimal_tree(v) for v in value]
    return value


def _cents(value: Any, name: str, field: str) -> Decimal:
    """An amount the schema bounded (0..its maximum) as exact cents: at most 2 decimal places once trailing zeros are
    dropped (`19.990…0` is 19.99), quantized, `-0` as 0; so at most 11 significant digits reach arithmetic, storage
    and the idempotency hash, whatever the literal's length or exponent."""
    cents = abs(Decimal(value)).quantize(CENT)
    if cents != value:
        raise _fail(f"{name} must have at most 2 decimal places", field)
    return cents


def validate_payload(payload: Any, customer_id: str | None = None) -> CreateOrderRequest:
    """Schema + form rules; returns the normalized request (prices and total as the client sent them, or None).

    `customer_id`: the authenticated customer (HTTP). Then the body's `customerId` is optional and must equal it
    (403 otherwise); without it (direct invoke) the body must name the customer.
    """
    check_depth(payload)
    payload = _as_decimal_tree(payload)
    try:
        (_validate_direct if customer_id is None else _validate_http)(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise _schema_error(exc, payload) from exc

    items: list[CreateOrderItem] = []
    seen: set[str] = set()
    for index, raw in enumerate(payload["items"]):
        price: Decimal | None = None
        if "price" in raw:
            price = _cents(raw["price"], "price", f"$.items[{index}].price")
        product_id = raw["productId"]
        if product_id in seen:
            raise _fail(f"duplicate productId {product_id!r}", f"$.items[{index}].productId")
        seen.add(product_id)
        items.append(CreateOrderItem(product_id=product_id, quantity=int(raw["quantity"]), price=price))

    total: Decimal | None = None
    if "totalAmount" in payload:
        total = _cents(payload["totalAmount"], "totalAmount", "$.totalAmount")

    if customer_id is not None and payload.get("customerId", customer_id) != customer_id:
        raise _fail("customerId does not match the authenticated customer", "$.customerId", 403)

    return CreateOrderRequest(customer_id=customer_id or payload["customerId"], items=tuple(items), total_amount=total)


def validate_http_request(
    headers: Mapping[str, Any] | None, body: str | None, is_base64: bool, customer_id: str
) -> CreateOrderRequest:
    """POST /orders on behalf of the authenticated `customer_id`."""
    check_content_type(headers)
    return validate_payload(parse_json(decode_body(body, is_base64)), customer_id)


def idempotency_key(headers: Mapping[str, Any] | None) -> str | None:
    value = header(headers, "idempotency-key")
    if value is None:
        return None
    if not IDEMPOTENCY_KEY_RE.fullmatch(value):
        raise _fail(
            "Idempotency-Key must be 1-128 characters [A-Za-z0-9_.:-], starting with a letter or digit",
            "headers.idempotency-key",
        )
    return value
