"""Server-side prices: every order line is priced from the catalogue (the inventory item's `price`), and the order's
`totalAmount` is computed here. The client's `price` / `totalAmount`, when present, are expectations only.

Rules (after order.validation; the first failing one answers, nothing is written or published):
1. every product exists in the inventory table                      400 `$.items[i].productId`
2. every product has a catalogue price (a Number, >= 0, 2 decimals)  400 `$.items[i].productId`
3. the server total is at most validation.MAX_TOTAL                  400 `$.items`
4. a given `price` equals the catalogue price, to the cent            409 `$.items[i].price`
5. a given `totalAmount` equals the server total, to the cent         409 `$.totalAmount`
A 409 carries the current prices of every line and the server total (OrderValidationError.details), so the client can
show them and resubmit.

`apply_catalogue` is pure (the catalogue is an argument); `price_order` reads the catalogue and applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from order.validation import MAX_TOTAL, CreateOrderRequest
from shared.errors import OrderValidationError
from shared.models import CENT
from shared.repositories import InventoryRepository

inventory = InventoryRepository()


@dataclass(frozen=True)
class PricedItem:
    product_id: str
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class PricedOrder:
    customer_id: str
    items: tuple[PricedItem, ...]
    total_amount: Decimal


def _catalogue_price(value: Any) -> Decimal | None:
    """The usable catalogue price of an item (None: missing, not a number, negative or more than 2 decimals)."""
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        return None
    if value > MAX_TOTAL:  # no order can afford it (rule 3); quantize would overflow on absurd exponents
        return value
    return value.quantize(CENT) if value == value.quantize(CENT) else None


def apply_catalogue(request: CreateOrderRequest, catalogue: Mapping[str, Decimal | None]) -> PricedOrder:
    """Price `request` with `catalogue` ({productId: price | None}; unknown products absent) or raise
    OrderValidationError (400 / 409, see the module docstring)."""
    items: list[PricedItem] = []
    for index, item in enumerate(request.items):
        if item.product_id not in catalogue:
            raise OrderValidationError(f"unknown product {item.product_id}", f"$.items[{index}].productId")
        price = _catalogue_price(catalogue[item.product_id])
        if price is None:
            raise OrderValidationError(f"product {item.product_id} has no price", f"$.items[{index}].productId")
        items.append(PricedItem(item.product_id, item.quantity, price))
    total = sum((i.price * i.quantity for i in items), Decimal("0.00"))  # exact: 2-decimal prices x integers
    if total > MAX_TOTAL:
        raise OrderValidationError(f"the order's total {total:f} exceeds {MAX_TOTAL}", "$.items")
    total = total.quantize(CENT)
    details = {"prices": [{"productId": i.product_id, "price": i.price} for i in items], "totalAmount": total}
    for index, (asked, priced) in enumerate(zip(request.items, items)):
        if asked.price is not None and asked.price != priced.price:
            raise OrderValidationError(
                f"the price of {priced.product_id} is {priced.price}, not {asked.price}",
                f"$.items[{index}].price",
                409,
                details,
            )
    if request.total_amount is not None and request.total_amount != total:
        raise OrderValidationError(f"totalAmount is {total}, not {request.total_amount}", "$.totalAmount", 409, details)
    return PricedOrder(request.customer_id, tuple(items), total)


def price_order(request: CreateOrderRequest) -> PricedOrder:
    """Read the catalogue prices of the request's products (strongly consistent) and apply them."""
    return apply_catalogue(request, inventory.prices(i.product_id for i in request.items))
