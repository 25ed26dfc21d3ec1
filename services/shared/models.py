"""Domain model: typed records, money and input parsing helpers (the lifecycle lives in shared.lifecycle)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NotRequired, TypedDict

from shared.errors import InvalidTaskInput

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
CENT = Decimal("0.01")


# ---------------------------------------------------------------------------------------------
# Typed records (the DynamoDB items, as returned by boto3: numbers are Decimal)
# ---------------------------------------------------------------------------------------------
class OrderItem(TypedDict):
    productId: str
    quantity: int | Decimal
    price: Decimal


class StatusChange(TypedDict):
    status: str
    at: str
    reason: str


class Order(TypedDict):
    orderId: str
    customerId: str
    items: list[OrderItem]
    totalAmount: Decimal
    status: str
    statusHistory: list[StatusChange]
    createdAt: str
    updatedAt: str
    version: int | Decimal
    paymentId: NotRequired[str]
    shortItems: NotRequired[list[dict[str, Any]]]


class PaymentRecord(TypedDict):
    orderId: str
    customerId: str
    status: str  # PENDING | PAID | DECLINED | REFUNDED | VOIDED
    paymentId: str | None
    amount: Decimal
    reason: str | None
    attempt: int | Decimal
    createdAt: str
    refundId: NotRequired[str]
    refundedAt: NotRequired[str]
    refundReason: NotRequired[str]


class Reservation(TypedDict):
    orderId: str
    customerId: str
    status: str  # RESERVED | RELEASED
    items: list[dict[str, Any]]
    createdAt: str
    releasedAt: NotRequired[str]


# ---------------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------------
def to_decimal(value: Any, what: str = "amount") -> Decimal:
    """Parse a JSON number or numeric string into a finite Decimal (floats go through str()). Only int, float,
    Decimal and str: Decimal() would also build a number from a sequence such as the JSON array `[0, [1], -2]`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise InvalidTaskInput(f"{what} must be a number, got {value!r}")
    try:
        result = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise InvalidTaskInput(f"{what} must be a number, got {value!r}") from exc
    if not result.is_finite():
        raise InvalidTaskInput(f"{what} must be finite, got {value!r}")
    return result


def money_str(value: Decimal | float | str) -> str:
    """Canonical money string with two decimals, e.g. Decimal('109.9') -> '109.90'."""
    return str(to_decimal(value).quantize(CENT))


def is_valid_id(value: Any) -> bool:
    return isinstance(value, str) and _ID_RE.fullmatch(value) is not None


# ---------------------------------------------------------------------------------------------
# Workflow input parsing
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineItem:
    product_id: str
    quantity: int
    price: Decimal | None = None


@dataclass(frozen=True)
class OrderRef:
    """The `order` object of a workflow task input, parsed and validated."""

    order_id: str
    customer_id: str
    total_amount: Decimal | None = None
    items: tuple[LineItem, ...] = field(default_factory=tuple)


def _parse_quantity(value: Any, where: str) -> int:
    if isinstance(value, bool):
        raise InvalidTaskInput(f"{where}.quantity must be an integer")
    try:
        qty = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidTaskInput(f"{where}.quantity must be an integer") from exc
    if not qty.is_finite() or qty != qty.to_integral_value() or qty < 1:
        raise InvalidTaskInput(f"{where}.quantity must be an integer >= 1, got {value!r}")
    return int(qty)


def parse_items(raw: Any, where: str = "order.items") -> tuple[LineItem, ...]:
    if not isinstance(raw, list):
        raise InvalidTaskInput(f"{where} must be a list")
    items = []
    for index, entry in enumerate(raw):
        path = f"{where}[{index}]"
        if not isinstance(entry, dict):
            raise InvalidTaskInput(f"{path} must be an object")
        product_id = entry.get("productId")
        if not is_valid_id(product_id):
            raise InvalidTaskInput(f"{path}.productId is invalid: {product_id!r}")
        price = entry.get("price")
        items.append(
            LineItem(
                product_id=product_id,
                quantity=_parse_quantity(entry.get("quantity"), path),
                price=to_decimal(price, f"{path}.price") if price is not None else None,
            )
        )
    return tuple(items)


def parse_order_ref(raw: Any, *, require_amount: bool = False, require_items: bool = False) -> OrderRef:
    if not isinstance(raw, dict):
        raise InvalidTaskInput("`order` must be an object")
    order_id = raw.get("orderId")
    customer_id = raw.get("customerId")
    if not isinstance(order_id, str) or not is_valid_id(order_id):
        raise InvalidTaskInput(f"order.orderId is invalid: {order_id!r}")
    if not is_valid_id(customer_id):
        raise InvalidTaskInput(f"order.customerId is invalid: {customer_id!r}")
    amount = raw.get("totalAmount")
    if amount is None and require_amount:
        raise InvalidTaskInput("order.totalAmount is required")
    items_raw = raw.get("items")
    if items_raw is None and require_items:
        raise InvalidTaskInput("order.items is required")
    return OrderRef(
        order_id=order_id,
        customer_id=customer_id,
        total_amount=to_decimal(amount, "order.totalAmount") if amount is not None else None,
        items=parse_items(items_raw) if items_raw is not None else (),
    )


def aggregate_quantities(items: Any) -> dict[str, int]:
    """productId -> total quantity, preserving first-seen order (duplicates are summed)."""
    totals: dict[str, int] = {}
    for item in items:
        if isinstance(item, LineItem):
            pid, qty = item.product_id, item.quantity
        else:
            pid, qty = item["productId"], int(item["quantity"])
        totals[pid] = totals.get(pid, 0) + qty
    return totals


def order_summary(order: dict[str, Any]) -> dict[str, Any]:
    """Order as used in events and task outputs: money as 2-decimal strings, quantities as ints."""
    return {
        "orderId": order["orderId"],
        "customerId": order["customerId"],
        "status": order.get("status"),
        "items": items_for_message(order.get("items") or []),
        "totalAmount": money_str(order["totalAmount"]),
    }


def items_for_message(items: list[Any]) -> list[dict[str, Any]]:
    return [
        {"productId": i["productId"], "quantity": int(i["quantity"]), "price": money_str(i["price"])} for i in items
    ]
