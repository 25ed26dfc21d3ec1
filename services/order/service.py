"""Order business logic (no HTTP here): create, get, list, cancel, find_stale."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger

from order.validation import CreateOrderRequest
from shared import clock, events, observability
from shared.config import config
from shared.errors import EventPublishError, IllegalTransition, InvalidTaskInput, OrderNotFound
from shared.models import (
    CANCELLABLE_STATUSES,
    NON_TERMINAL_STATUSES,
    OrderStatus,
    items_for_message,
    money_str,
    order_summary,
)
from shared.repositories import OrdersRepository

logger = Logger(child=True)
orders = OrdersRepository()

CANCEL_REASON = "customer cancel"
#: set on the order together with CANCELLED, removed once "Order Cancellation Requested" is published;
#: a repeated DELETE of an order that still carries it re-publishes the event (see docs/api.md).
CANCEL_PENDING_ATTR = "cancelEventPending"
CANCELLED_FROM_ATTR = "cancelledFrom"
DEFAULT_STALE_LIMIT = 100
MAX_STALE_LIMIT = 1000


class CancelConflict(Exception):
    """The order exists but is not in a cancellable status."""

    def __init__(self, order_id: str, status: str | None) -> None:
        super().__init__(f"order {order_id} cannot be cancelled in status {status}")
        self.order_id = order_id
        self.status = status


# ---------------------------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------------------------
def create_order(request: CreateOrderRequest) -> dict[str, Any]:
    """PutItem PENDING, then PutEvents "Order Created".

    If PutEvents fails the just-written order is deleted again (conditional on PENDING/version 1) and
    EventPublishError is raised (HTTP 503): no order is left behind without its event.
    """
    order_id = str(uuid.uuid4())
    now = clock.now_iso()
    item: dict[str, Any] = {
        "orderId": order_id,
        "customerId": request.customer_id,
        "items": [{"productId": i.product_id, "quantity": i.quantity, "price": i.price} for i in request.items],
        "totalAmount": request.total_amount,
        "status": OrderStatus.PENDING.value,
        "statusHistory": [{"status": OrderStatus.PENDING.value, "at": now, "reason": "order created"}],
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    }
    observability.bind_order(order_id, customerId=request.customer_id)
    orders.create(item)
    try:
        events.publish_order_event(
            events.ORDER_SERVICE,
            events.ORDER_CREATED,
            order_id,
            {
                "customerId": request.customer_id,
                "items": items_for_message(item["items"]),
                "totalAmount": money_str(request.total_amount),
                "createdAt": now,
            },
        )
    except EventPublishError:
        deleted = False
        try:
            deleted = orders.delete_unpublished(order_id, request.customer_id)
        except Exception:  # noqa: BLE001 - report the original failure; the stale sweep expires leftovers
            logger.exception("could not roll back order after failed publish")
        logger.error("order rolled back: Order Created could not be published", extra={"deleted": deleted})
        observability.count("OrderCreateRollbacks")
        raise
    observability.count("OrdersCreated")
    logger.info("order created", extra={"totalAmount": money_str(request.total_amount)})
    return {"orderId": order_id, "status": OrderStatus.PENDING.value}


# ---------------------------------------------------------------------------------------------
# read
# ---------------------------------------------------------------------------------------------
def get_order(order_id: str, customer_id: str | None = None) -> dict[str, Any]:
    """The order; with `customer_id` only that customer's order: another customer's is OrderNotFound, exactly as an
    unknown id, so the API does not tell which order ids exist."""
    order = orders.require(order_id)
    if customer_id is not None and order.get("customerId") != customer_id:
        raise OrderNotFound(order_id)
    return order


def to_api(order: dict[str, Any]) -> dict[str, Any]:
    """Public JSON view of an order (amounts stay Decimal; the API serializer writes JSON numbers)."""
    view: dict[str, Any] = {
        "orderId": order["orderId"],
        "customerId": order["customerId"],
        "status": order.get("status"),
        "items": [
            {"productId": i["productId"], "quantity": int(i["quantity"]), "price": i["price"]}
            for i in order.get("items") or []
        ],
        "totalAmount": order["totalAmount"],
        "statusHistory": list(order.get("statusHistory") or []),
        "createdAt": order.get("createdAt"),
        "updatedAt": order.get("updatedAt"),
        "version": int(order.get("version", 1)),
    }
    if order.get("paymentId"):
        view["paymentId"] = order["paymentId"]
    if order.get("shortItems"):
        view["shortItems"] = order["shortItems"]
    return view


def list_customer_orders(
    customer_id: str, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    return orders.list_by_customer(customer_id, limit, start_key)


# ---------------------------------------------------------------------------------------------
# cancel
# ---------------------------------------------------------------------------------------------
def _publish_cancellation(order: dict[str, Any], previous_status: str) -> None:
    events.publish_order_event(
        events.ORDER_SERVICE,
        events.ORDER_CANCELLATION_REQUESTED,
        order["orderId"],
        {"customerId": order["customerId"], "previousStatus": previous_status},
    )
    orders.update_attributes(order["orderId"], order["customerId"], remove=[CANCEL_PENDING_ATTR])


def cancel_order(order_id: str, customer_id: str | None = None) -> dict[str, Any]:
    """Customer cancel: PENDING|PAID|INVENTORY_RESERVED -> CANCELLED, then "Order Cancellation Requested".

    `customer_id`: only that customer's order may be cancelled (another's is OrderNotFound); None for an operator.
    Raises OrderNotFound, CancelConflict, EventPublishError (the order stays CANCELLED with
    `cancelEventPending`; repeating the DELETE re-publishes).
    """
    order = get_order(order_id, customer_id)
    observability.bind_order(order_id, customerId=order["customerId"])
    status = order.get("status")
    if status == OrderStatus.CANCELLED and order.get(CANCEL_PENDING_ATTR):
        logger.info("re-publishing pending cancellation event")
        _publish_cancellation(order, str(order.get(CANCELLED_FROM_ATTR, "")))
        return {"orderId": order_id, "status": OrderStatus.CANCELLED.value}
    for _ in range(3):
        if status not in CANCELLABLE_STATUSES:
            logger.info("cancel refused", extra={"status": status})
            raise CancelConflict(order_id, status)
        try:
            # expected_from=[status]: previousStatus in the event is exactly the status we replaced
            orders.transition(
                order_id,
                order["customerId"],
                OrderStatus.CANCELLED,
                CANCEL_REASON,
                expected_from=[status],
                extra_set={CANCEL_PENDING_ATTR: True, CANCELLED_FROM_ATTR: status},
            )
            break
        except IllegalTransition as exc:  # the workflow moved the order meanwhile: re-evaluate
            status = exc.current
    else:
        raise CancelConflict(order_id, status)
    observability.count("OrdersCancelled")
    _publish_cancellation(order, str(status))
    return {"orderId": order_id, "status": OrderStatus.CANCELLED.value}


# ---------------------------------------------------------------------------------------------
# stale sweep query (workflow action find_stale)
# ---------------------------------------------------------------------------------------------
def _int_arg(event: dict[str, Any], name: str, default: int, minimum: int, maximum: int) -> int:
    value = event.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InvalidTaskInput(f"{name} must be an integer or null, got {value!r}")
    value = int(value)
    if not minimum <= value <= maximum:
        raise InvalidTaskInput(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def find_stale(event: dict[str, Any]) -> dict[str, Any]:
    """Orders in a non-terminal status whose updatedAt is older than the cutoff (Status-Index queries).

    Input `{"action":"find_stale","olderThanMinutes":<n|null>,"limit":<n, optional, default 100>}`;
    null minutes -> STALE_ORDER_MINUTES. Output `{"orders":[{orderId,customerId,status,items,totalAmount}]}`,
    oldest first per status, statuses in lifecycle order, money as 2-decimal strings.
    """
    minutes = _int_arg(event, "olderThanMinutes", config.stale_order_minutes, 0, 525_600)
    limit = _int_arg(event, "limit", DEFAULT_STALE_LIMIT, 1, MAX_STALE_LIMIT)
    cutoff = clock.iso(clock.utc_now() - timedelta(minutes=minutes))
    found: list[dict[str, Any]] = []
    for status in NON_TERMINAL_STATUSES:
        if len(found) >= limit:
            break
        found.extend(orders.find_by_status_updated_before(status.value, cutoff, limit - len(found)))
    observability.count("StaleOrdersFound", len(found))
    logger.info("stale orders found", extra={"count": len(found), "cutoff": cutoff})
    return {"orders": [order_summary(o) for o in found]}


__all__ = [
    "CancelConflict",
    "OrderNotFound",
    "cancel_order",
    "create_order",
    "find_stale",
    "get_order",
    "list_customer_orders",
    "to_api",
]
