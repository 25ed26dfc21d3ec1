"""Inventory business logic: reserve (all-or-nothing), release (exactly once), restock (once per eventId).

reserve = ONE TransactWriteItems:
  [0]   Put reservation (attribute_not_exists(orderId))
  [1..n] Update product: available -= q, reserved += q, condition available >= q
  [n+1] Update order PAID -> INVENTORY_RESERVED (+ statusHistory), condition status = PAID
The CancellationReasons of a TransactionCanceledException tell which part refused:
  reservation exists -> idempotent RESERVED; order not PAID -> ORDER_NOT_RESERVABLE;
  products short -> UNAVAILABLE with shortItems (order PAID -> INVENTORY_UNAVAILABLE).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from shared import aws, clock, events, observability
from shared.config import config
from shared.errors import IllegalTransition, InvalidTaskInput, InventoryContention, OrderNotFound
from shared.lifecycle import COMPENSABLE_STATUSES, OrderStatus
from shared.models import aggregate_quantities, is_valid_id, parse_order_ref
from shared.repositories import InventoryRepository, OrdersRepository, ReservationsRepository, _ddb
from shared.repositories.orders import build_transition
from shared.repositories.reservations import RELEASED, RESERVED

logger = Logger(child=True)
orders = OrdersRepository()
inventory = InventoryRepository()
reservations = ReservationsRepository()

UNAVAILABLE = "UNAVAILABLE"
ORDER_NOT_RESERVABLE = "ORDER_NOT_RESERVABLE"
NOT_RESERVED = "NOT_RESERVED"
NOT_COMPENSABLE = "NOT_COMPENSABLE"
RESTOCKED = "RESTOCKED"
DUPLICATE = "DUPLICATE"
MAX_TRANSACTION_ATTEMPTS = 3
RESTOCK_RECORD_TTL_SECONDS = 90 * 24 * 60 * 60
MAX_RESTOCK_QUANTITY = 1_000_000
CONDITION_FAILED = "ConditionalCheckFailed"


#: The log message of a cancelled reservation transaction and the words of the give-up error (`invoke bench` counts
#: both in this function's logs: scripts/bench.py reads them from here).
RESERVATION_CANCELLED = "reservation transaction cancelled"
KEPT_CONFLICTING = "kept conflicting"


def _reserved_result() -> dict[str, Any]:
    return {"status": RESERVED, "shortItems": []}


def _publish_reserved(order_id: str, reservation: dict[str, Any]) -> None:
    events.publish_order_event(
        events.INVENTORY_SERVICE,
        events.INVENTORY_RESERVED,
        order_id,
        {
            "customerId": reservation.get("customerId"),
            "items": [{"productId": i["productId"], "quantity": int(i["quantity"])} for i in reservation["items"]],
        },
    )


def _publish_unavailable(order: dict[str, Any], short_items: list[dict[str, Any]]) -> None:
    events.publish_order_event(
        events.INVENTORY_SERVICE,
        events.INVENTORY_UNAVAILABLE,
        order["orderId"],
        {"customerId": order["customerId"], "shortItems": short_items},
    )


def _plain_short(short_items: Any) -> list[dict[str, Any]]:
    return [
        {"productId": s["productId"], "requested": int(s["requested"]), "available": int(s["available"])}
        for s in short_items or []
    ]


def _unavailable_result(order: dict[str, Any]) -> dict[str, Any]:
    short = _plain_short(order.get("shortItems"))
    _publish_unavailable(order, short)
    return {"status": UNAVAILABLE, "shortItems": short}


def _existing_state(order: dict[str, Any]) -> dict[str, Any] | None:
    """Answer from what is already recorded (idempotent repeats and non-PAID orders); None -> try to reserve."""
    reservation = reservations.get(order["orderId"])
    if reservation is not None:
        if reservation["status"] == RESERVED:
            logger.info("repeated reserve: already reserved")
            _publish_reserved(order["orderId"], reservation)
            return _reserved_result()
        logger.info("reservation was already released; not reserving again")
        return {"status": ORDER_NOT_RESERVABLE, "shortItems": []}
    if order["status"] == OrderStatus.INVENTORY_UNAVAILABLE:
        logger.info("repeated reserve: already unavailable")
        return _unavailable_result(order)
    if order["status"] != OrderStatus.PAID:
        logger.warning("order not reservable", extra={"status": order["status"]})
        observability.count("ReservationsRefused")
        return {"status": ORDER_NOT_RESERVABLE, "shortItems": []}
    return None


def reserve(order_input: Any) -> dict[str, Any]:
    """`{"status": "RESERVED"|"UNAVAILABLE"|"ORDER_NOT_RESERVABLE", "shortItems": [...]}` (see module doc)."""
    ref = parse_order_ref(order_input)
    observability.bind_order(ref.order_id, customerId=ref.customer_id)
    for _ in range(MAX_TRANSACTION_ATTEMPTS):
        order = orders.get(ref.order_id, ref.customer_id)
        if order is None or order["customerId"] != ref.customer_id:
            raise OrderNotFound(ref.order_id)
        answer = _existing_state(order)
        if answer is not None:
            return answer
        quantities = aggregate_quantities(order["items"])  # the stored order is authoritative
        outcome = _try_reserve(order, quantities)
        if outcome is not None:
            return outcome
    raise InventoryContention(f"reservation for order {ref.order_id} {KEPT_CONFLICTING}; retry later")


def _try_reserve(order: dict[str, Any], quantities: dict[str, int]) -> dict[str, Any] | None:
    order_id, customer_id = order["orderId"], order["customerId"]
    now = clock.now_iso()
    reservation = {
        "orderId": order_id,
        "customerId": customer_id,
        "status": RESERVED,
        "items": [{"productId": pid, "quantity": qty} for pid, qty in quantities.items()],
        "createdAt": now,
    }
    # allowed from PAID only (the lifecycle): a cancelled or expired order is not reserved
    order_update = build_transition(order_id, customer_id, OrderStatus.INVENTORY_RESERVED, "inventory reserved", at=now)
    actions = [reservations.put_new(reservation)]
    actions += [inventory.take_update(pid, qty) for pid, qty in quantities.items()]
    actions.append(order_update.as_transact_update(orders.table_name))
    try:
        aws.dynamodb_client().transact_write_items(TransactItems=actions)
    except ClientError as exc:
        if not _ddb.is_transaction_cancelled(exc):
            raise
        codes = _ddb.cancellation_codes(exc, len(actions))
        logger.info(RESERVATION_CANCELLED, extra={"cancellationCodes": codes})
        if codes[0] == CONDITION_FAILED or codes[-1] == CONDITION_FAILED:
            return None  # reservation exists / order moved: re-read and answer from the recorded state
        if CONDITION_FAILED in codes[1:-1] or set(codes) == {"Unknown"}:
            # short stock (or an endpoint that reports no reasons): decide from a consistent stock read;
            # if the order/reservation was the real cause, the PAID condition below refuses and we re-read
            return _mark_unavailable(order, quantities)
        return None  # TransactionConflict etc.: retry
    observability.count("InventoryReserved")
    logger.info("inventory reserved", extra={"items": reservation["items"]})
    _publish_reserved(order_id, reservation)
    return _reserved_result()


def _mark_unavailable(order: dict[str, Any], quantities: dict[str, int]) -> dict[str, Any] | None:
    stock = inventory.available(quantities)
    short = [
        {"productId": pid, "requested": qty, "available": max(stock[pid], 0)}
        for pid, qty in quantities.items()
        if stock[pid] < qty
    ]
    if not short:
        return None  # stock came back meanwhile: try the transaction again
    try:
        updated = orders.transition(
            order["orderId"],
            order["customerId"],
            OrderStatus.INVENTORY_UNAVAILABLE,
            "insufficient stock: " + ", ".join(s["productId"] for s in short),
            extra_set={"shortItems": short},
        )
    except IllegalTransition:
        return None  # order changed meanwhile: answer from its new state
    observability.count("InventoryUnavailable")
    logger.info("inventory unavailable", extra={"shortItems": short})
    return _unavailable_result(updated)


# ---------------------------------------------------------------------------------------------
# release
# ---------------------------------------------------------------------------------------------
def _publish_released(order_id: str, reservation: dict[str, Any]) -> None:
    events.publish_order_event(
        events.INVENTORY_SERVICE,
        events.INVENTORY_RELEASED,
        order_id,
        {
            "customerId": reservation.get("customerId"),
            "items": [{"productId": i["productId"], "quantity": int(i["quantity"])} for i in reservation["items"]],
        },
    )


def release(order_input: Any) -> dict[str, Any]:
    """RESERVED -> RELEASED and stock += q in one transaction, exactly once, for a claimed order only.

    `{"status": "RELEASED"}` once the order's reservation is released, by this call or an earlier one (a retry
    after the effect answers as the first call did, as refund does, and re-puts the "Inventory Released" event);
    `{"status": "NOT_RESERVED"}` when the order has no reservation;
    `{"status": "NOT_COMPENSABLE"}` (nothing changed) when the order is not in a compensable terminal status, so
    no path can put the stock of a COMPLETED or live order back on sale.
    """
    ref = parse_order_ref(order_input)
    observability.bind_order(ref.order_id, customerId=ref.customer_id)
    order = orders.get(ref.order_id, ref.customer_id)
    if order is None or order["customerId"] != ref.customer_id:
        raise OrderNotFound(ref.order_id)
    if order["status"] not in COMPENSABLE_STATUSES:
        logger.error("release refused: order not claimed for compensation", extra={"status": order["status"]})
        return {"status": NOT_COMPENSABLE}
    reservation = reservations.get(ref.order_id)
    if reservation is None:
        logger.info("nothing to release")
        return {"status": NOT_RESERVED}
    if reservation["status"] == RELEASED:
        logger.info("repeated release: already released")
        _publish_released(ref.order_id, reservation)
        return {"status": RELEASED}
    quantities = aggregate_quantities(reservation["items"])
    actions = [reservations.release_update(ref.order_id, clock.now_iso())]
    actions += [inventory.give_back_update(pid, qty) for pid, qty in quantities.items()]
    try:
        aws.dynamodb_client().transact_write_items(TransactItems=actions)
    except ClientError as exc:
        if not _ddb.is_transaction_cancelled(exc):
            raise
        codes = _ddb.cancellation_codes(exc, len(actions))
        current = reservations.get(ref.order_id)
        if codes[0] == CONDITION_FAILED or (current is not None and current["status"] == RELEASED):
            logger.info("reservation released concurrently")  # the winner published the event
            return {"status": RELEASED}
        raise InventoryContention(f"release of order {ref.order_id} conflicted: {codes}") from exc
    observability.count("InventoryReleased")
    logger.info("inventory released", extra={"items": reservation["items"]})
    _publish_released(ref.order_id, reservation)
    return {"status": RELEASED}


# ---------------------------------------------------------------------------------------------
# restock
# ---------------------------------------------------------------------------------------------
def _restock_quantity(raw: Any) -> int:
    value: Decimal | None = None
    if isinstance(raw, (int, float, str)) and not isinstance(raw, bool):
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            value = None
    if (
        value is None
        or not value.is_finite()
        or value != value.to_integral_value()
        or not 1 <= value <= MAX_RESTOCK_QUANTITY
    ):
        raise InvalidTaskInput(f"quantity must be an integer in 1..{MAX_RESTOCK_QUANTITY}, got {raw!r}")
    return int(value)


def restock(product_id: Any, quantity: Any, event_id: Any, price: Any = None) -> dict[str, Any]:
    """available += quantity once per eventId: `{"status": "RESTOCKED"|"DUPLICATE", "available": n}`.

    The eventId is recorded in the idempotency table (`id = "restock#<eventId>"`, TTL `expiration` 90 days)
    in the same transaction as the stock update. An optional `price` (a number or numeric string: >= 0, at most
    2 decimal places, at most 10 digits, i.e. below 100,000,000) sets the product's catalogue price in the same
    update; a duplicate eventId changes neither stock nor price.
    """
    if not is_valid_id(product_id):
        raise InvalidTaskInput(f"productId is invalid: {product_id!r}")
    qty = _restock_quantity(quantity)
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 256:
        raise InvalidTaskInput(f"eventId is required (string, <= 256 chars), got {event_id!r}")
    unit_price: Decimal | None = None
    if price is not None:
        cent = Decimal("0.01")
        if isinstance(price, (int, float, str, Decimal)) and not isinstance(price, bool):
            try:
                unit_price = Decimal(str(price).strip())
            except InvalidOperation:
                unit_price = None
        # 10 digits with 2 decimal places: 0 <= price < 10^8 (checked before quantize, which fails on huge values)
        if (
            unit_price is None
            or not unit_price.is_finite()
            or not 0 <= unit_price < Decimal(100_000_000)
            or unit_price != unit_price.quantize(cent)
        ):
            raise InvalidTaskInput(
                f"price must be a number >= 0 with at most 2 decimal places and 10 digits, got {price!r}"
            )
        unit_price = unit_price.quantize(cent) + Decimal("0.00")  # -0 -> 0.00
    observability.bind_order(None, productId=product_id, restockEventId=event_id)
    now = clock.utc_now()
    marker = {
        "id": f"restock#{event_id}",
        "expiration": int(now.timestamp()) + RESTOCK_RECORD_TTL_SECONDS,
        "status": "COMPLETED",
        "productId": product_id,
        "quantity": qty,
        "createdAt": clock.iso(now),
    }
    if unit_price is not None:
        marker["price"] = unit_price
    actions = [
        {
            "Put": {
                "TableName": config.idempotency_table,
                "Item": _ddb.serialize_map(marker),
                "ConditionExpression": "attribute_not_exists(id)",
            }
        },
        inventory.restock_update(product_id, qty, unit_price),
    ]
    status = RESTOCKED
    try:
        aws.dynamodb_client().transact_write_items(TransactItems=actions)
    except ClientError as exc:
        if not _ddb.is_transaction_cancelled(exc):
            raise
        recorded = aws.table(config.idempotency_table).get_item(Key={"id": marker["id"]}, ConsistentRead=True)
        if _ddb.cancellation_codes(exc, 2)[0] != CONDITION_FAILED and "Item" not in recorded:
            raise InventoryContention(f"restock {event_id} conflicted; retry") from exc
        status = DUPLICATE
    item = inventory.get(product_id) or {}
    available = int(item.get("available", 0))
    if status == RESTOCKED:
        observability.count("InventoryRestocked")
        logger.info(
            "product restocked",
            extra={"quantity": qty, "available": available, "price": None if unit_price is None else str(unit_price)},
        )
    else:
        logger.info("duplicate restock event ignored", extra={"available": available})
    return {"status": status, "available": available}
