"""Customer message rendering (plain text subject + body)."""

from __future__ import annotations

from typing import Any

from shared.models import money_str

WORKFLOW_TYPES = ("order-completed", "payment-declined", "order-cancelled", "order-failed", "order-expired")


def _amount(value: Any) -> str:
    try:
        return money_str(value)
    except Exception:  # noqa: BLE001 - a message must still render without a valid amount
        return "n/a"


def _items_text(order: dict[str, Any]) -> str:
    lines = []
    for item in order.get("items") or []:
        if isinstance(item, dict) and "productId" in item:
            price = f" @ {_amount(item['price'])}" if item.get("price") is not None else ""
            lines.append(f"  - {item.get('quantity', '?')} x {item['productId']}{price}")
    return "\n".join(lines)


def _total(order: dict[str, Any]) -> str:
    return _amount(order["totalAmount"]) if order.get("totalAmount") is not None else "n/a"


def render_workflow(kind: str, order: dict[str, Any], details: dict[str, Any]) -> tuple[str, str]:
    order_id = order["orderId"]
    greeting = f"Hello {order.get('customerId', 'customer')},"
    reason = details.get("reason") or details.get("error") or details.get("cause")
    items = _items_text(order)
    items_block = f"\n\nItems:\n{items}" if items else ""
    if kind == "order-completed":
        subject = f"Your order {order_id} is confirmed"
        body = f"{greeting}\n\nyour order {order_id} is complete. Total charged: {_total(order)}.{items_block}"
    elif kind == "payment-declined":
        subject = f"Payment declined for order {order_id}"
        body = (
            f"{greeting}\n\nwe could not charge {_total(order)} for order {order_id}"
            f"{f' ({reason})' if reason else ''}. The order was not placed."
        )
    elif kind == "order-cancelled":
        subject = f"Your order {order_id} was cancelled"
        body = (
            f"{greeting}\n\nyour order {order_id} was cancelled{f' ({reason})' if reason else ''}. "
            "Any payment has been refunded."
        )
    elif kind == "order-failed":
        subject = f"We could not process order {order_id}"
        body = (
            f"{greeting}\n\na technical problem stopped order {order_id}. "
            "Any payment has been refunded and reserved items released."
        )
    else:  # order-expired
        subject = f"Your order {order_id} expired"
        body = (
            f"{greeting}\n\nyour order {order_id} was not completed in time and has expired. "
            "Any payment has been refunded."
        )
    return subject, body
