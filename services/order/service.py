"""Order business logic (no HTTP here): create, get, list, cancel. Workflow actions: order.saga."""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools import Logger

from order import pricing
from order.validation import CreateOrderRequest
from shared import clock, events, observability
from shared.errors import IllegalTransition, OrderNotFound
from shared.lifecycle import OrderStatus, sources_for
from shared.models import items_for_message, money_str
from shared.repositories import OrdersRepository
from shared.repositories.orders import COMPLETED_EVENT_ID_ATTRIBUTE

logger = Logger(child=True)
orders = OrdersRepository()

CANCEL_REASON = "customer cancel"
#: the order attribute holding its owner's token `sub` (orders created over HTTP; docs/auth.md, "Stable identity")
OWNER_SUB = "ownerSub"
#: a customer may cancel whatever CANCELLED may be entered from: any live status
CANCELLABLE_STATUSES = sources_for(OrderStatus.CANCELLED)


class CancelConflict(Exception):
    """The order exists but is not in a cancellable status."""

    def __init__(self, order_id: str, status: str | None) -> None:
        super().__init__(f"order {order_id} cannot be cancelled in status {status}")


# ---------------------------------------------------------------------------------------------
# create
# ---------------------------------------------------------------------------------------------
def create_order(request: CreateOrderRequest) -> dict[str, Any]:
    """Price the request from the catalogue, PutItem PENDING, then PutEvents "Order Created".

    Pricing (order.pricing) raises OrderValidationError (400 unknown/unpriced product, 409 price or total differs
    from the catalogue) before anything is written. The stored order and the event carry the catalogue prices and the
    server total. The order and its "Order Created" event are written in one transaction (the event into the outbox),
    then the event is published: if that fails, the order is still accepted and the stale sweep publishes the
    event from the outbox (docs/architecture.md, "Outbox").
    """
    priced = pricing.price_order(request)
    order_id = str(uuid.uuid4())
    now = clock.now_iso()
    item: dict[str, Any] = {
        "orderId": order_id,
        "customerId": priced.customer_id,
        "items": [{"productId": i.product_id, "quantity": i.quantity, "price": i.price} for i in priced.items],
        "totalAmount": priced.total_amount,
        "status": OrderStatus.PENDING.value,
        "statusHistory": [{"status": OrderStatus.PENDING.value, "at": now, "reason": "order created"}],
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
        # the id order-processing's CompleteOrder gives "Order Completed" (no Lambda there computes it)
        COMPLETED_EVENT_ID_ATTRIBUTE: events.event_id(order_id, events.ORDER_COMPLETED),
    }
    if request.owner_sub is not None:  # the direct invoke (seed) has no token: its orders record no owner sub
        item[OWNER_SUB] = request.owner_sub
    observability.bind_order(order_id, customerId=priced.customer_id)
    created_event = {
        "eventId": events.event_id(order_id, events.ORDER_CREATED),
        "orderId": order_id,
        "customerId": priced.customer_id,
        "items": items_for_message(item["items"]),
        "totalAmount": money_str(priced.total_amount),
        "createdAt": now,
    }
    orders.create(item, [(events.ORDER_SERVICE, events.ORDER_CREATED, created_event)])
    observability.count("OrdersCreated")
    logger.info("order created", extra={"totalAmount": money_str(priced.total_amount)})
    return {"orderId": order_id, "status": OrderStatus.PENDING.value}


# ---------------------------------------------------------------------------------------------
# read
# ---------------------------------------------------------------------------------------------
def _owned(order: dict[str, Any], customer_id: str | None, owner_sub: str | None) -> bool:
    """Whether the viewer reaches the order: any order for an operator (`customer_id` None); else only that customer's,
    and of those, an order that records an owner sub only for that sub (a deleted and re-created user name does not
    inherit the old user's orders; an order without one, from the seed or from before subs were recorded, is reached
    by the user name alone)."""
    return customer_id is None or (
        order.get("customerId") == customer_id and order.get(OWNER_SUB, owner_sub) == owner_sub
    )


def get_order(order_id: str, customer_id: str | None = None, owner_sub: str | None = None) -> dict[str, Any]:
    """The order; with `customer_id` only that customer's order, owned by `owner_sub` (see _owned): any other is
    OrderNotFound, exactly as an unknown id, so the API does not tell which order ids exist."""
    order = orders.find(order_id)
    if order is None or not _owned(order, customer_id, owner_sub):
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


#: Index items one listing request reads at most, and the smallest index page it asks for: the orders of an earlier
#: user of the same name are read past, so without a bound one request could read an unbounded number of them (and
#: time out). A page may then be short, with a `nextToken` that goes on.
LIST_READ_BUDGET = 300
LIST_MIN_INDEX_PAGE = 25


def list_customer_orders(
    customer_id: str,
    limit: int,
    start_key: dict[str, Any] | None,
    viewer: str | None = None,
    owner_sub: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to `limit` orders of the customer, newest first, and the key to go on from (None: no more). With `viewer`
    (a customer; None for an operator) only the orders _owned admits: the index is read on, page by page, until
    `limit` of them are found, it ends, or LIST_READ_BUDGET items were read (then the page may be short)."""
    found: list[dict[str, Any]] = []
    read = 0
    while True:
        want = min(max(limit - len(found), LIST_MIN_INDEX_PAGE), LIST_READ_BUDGET - read)
        page, last_key = orders.list_by_customer(customer_id, want, start_key)
        read += len(page)
        for position, order in enumerate(page, start=1):
            if not _owned(order, viewer, owner_sub):
                continue
            found.append(order)
            if len(found) == limit:
                return found, last_key if position == len(page) else orders.customer_index_key(order)
        if last_key is None or read >= LIST_READ_BUDGET:
            return found, last_key
        start_key = last_key


# ---------------------------------------------------------------------------------------------
# cancel
# ---------------------------------------------------------------------------------------------
def cancel_token(order_id: str) -> str:
    """The claim token of a customer cancel; payment-processing confirms the claim with the same token."""
    return f"cancel:{order_id}"


def cancel_order(order_id: str, customer_id: str | None = None, owner_sub: str | None = None) -> dict[str, Any]:
    """Customer cancel: claim the order CANCELLED from any live status, with "Order Cancellation Requested" in the
    outbox (same transaction), then publish it; payment-processing, its consumer, compensates and notifies.

    `customer_id`, `owner_sub`: only that customer's order of that owner may be cancelled (any other is OrderNotFound,
    see _owned); None for an operator.
    A repeated DELETE of an order this cancel claimed answers the same (the outbox delivers a lost event). Raises
    OrderNotFound, CancelConflict (terminal under another claim).
    """
    order = get_order(order_id, customer_id, owner_sub)
    observability.bind_order(order_id, customerId=order["customerId"])
    token = cancel_token(order_id)
    status = order.get("status")
    for _ in range(3):
        if status == OrderStatus.CANCELLED and (order.get("claim") or {}).get("by") == token:
            logger.info("repeated cancel of an order this cancel claimed")
            return {"orderId": order_id, "status": OrderStatus.CANCELLED.value}
        if status not in CANCELLABLE_STATUSES:
            logger.info("cancel refused", extra={"status": status})
            raise CancelConflict(order_id, status)
        requested = {
            "eventId": events.event_id(order_id, events.ORDER_CANCELLATION_REQUESTED),
            "orderId": order_id,
            "customerId": order["customerId"],
            "previousStatus": status,
        }
        try:
            # expected_from=[status]: previousStatus in the event is exactly the status the claim replaced
            orders.transition(
                order_id,
                order["customerId"],
                OrderStatus.CANCELLED,
                CANCEL_REASON,
                expected_from=[status],
                claim_by=token,
                events_to_publish=[(events.ORDER_SERVICE, events.ORDER_CANCELLATION_REQUESTED, requested)],
            )
            break
        except IllegalTransition as exc:  # the workflow moved the order meanwhile: re-evaluate
            order = exc.order or orders.require(order_id, order["customerId"])
            status = exc.current
    else:
        raise CancelConflict(order_id, status)
    observability.count("OrdersCancelled")
    return {"orderId": order_id, "status": OrderStatus.CANCELLED.value}


__all__ = [
    "CancelConflict",
    "OrderNotFound",
    "cancel_order",
    "create_order",
    "get_order",
    "list_customer_orders",
    "to_api",
]
