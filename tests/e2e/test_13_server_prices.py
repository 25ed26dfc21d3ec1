"""Server-side prices: the order service prices every line from the catalogue (the inventory item's `price`) and
computes totalAmount itself; the client's price / totalAmount are optional expectations (docs/api.md).

(a) An order naming a wrong price (the issue's `"price": 0, "totalAmount": 0`, and a stale price) is answered 409 with
    the current prices and the server total, and nothing is written: no order for the customer, no execution.
(b) An order without prices (and without totalAmount) completes, and its payments row charges the catalogue amount.
The product is run-unique and priced by the test (Stack.set_stock(..., price=...)); expected amounts are literals.
"""

from __future__ import annotations

from decimal import Decimal

from scripts.order_timeline import HAPPY_PATH, history_statuses
from scripts.polling import wait_until


def test_wrong_price_is_409_and_writes_nothing(stack, scenario):
    product, customer = stack.name("priced-a"), stack.name("c-price-409")
    stack.set_stock(product, 10, price="29.99")
    token = stack.token(customer)

    zero = stack.api.create_order(
        {"items": [{"productId": product, "quantity": 5, "price": 0}], "totalAmount": 0}, token=token
    )
    assert zero.status == 409, zero
    assert zero.json == {
        "message": "the price of " + product + " is 29.99, not 0.00",
        "field": "$.items[0].price",
        "prices": [{"productId": product, "price": 29.99}],
        "totalAmount": 149.95,
    }, zero.json

    stale = stack.api.create_order(
        {
            "customerId": customer,
            "items": [{"productId": product, "quantity": 2, "price": 25.00}],
            "totalAmount": 50.00,
        },
        idempotency_key=stack.name("stale-key"),
        token=token,
    )
    assert stale.status == 409 and stale.json["field"] == "$.items[0].price", stale
    assert stale.json["prices"] == [{"productId": product, "price": 29.99}] and stale.json["totalAmount"] == 59.98

    wrong_total = stack.api.create_order(
        {"items": [{"productId": product, "quantity": 2}], "totalAmount": 59.97}, token=token
    )
    assert wrong_total.status == 409 and wrong_total.json["field"] == "$.totalAmount", wrong_total
    assert wrong_total.json["totalAmount"] == 59.98

    unknown = stack.api.create_order(
        {"items": [{"productId": stack.name("not-in-catalogue"), "quantity": 1}]}, token=token
    )
    assert unknown.status == 400 and unknown.json["field"] == "$.items[0].productId", unknown
    assert stack.name("not-in-catalogue") in unknown.json["message"]
    scenario.note(
        "409 with the catalogue's prices for price 0, a stale price and a wrong total; 400 for an unknown product"
    )

    # nothing written: no order, no execution, stock untouched
    assert stack.customer_orders(customer) == []
    assert not any(customer in (e.get("input") or "") for e in stack.executions("order-processing"))
    assert stack.stock(product) == 10

    # the same Idempotency-Key was not spent by the 409: with the catalogue price it creates the order
    fixed = stack.submit(
        {
            "customerId": customer,
            "items": [{"productId": product, "quantity": 2, "price": 29.99}],
            "totalAmount": 59.98,
        },
        label="corrected price, same key",
        idempotency_key=stack.name("stale-key"),
    )
    scenario.track(fixed)
    # ... and it is the customer's only order (once the GSI shows it, it would show a 409's order too)
    wait_until(lambda: stack.customer_orders(customer), 15, "the corrected order in the CustomerId-Index")
    assert [o["orderId"] for o in stack.customer_orders(customer)] == [fixed.order_id]
    final = stack.wait_terminal(scenario, [fixed])[fixed.order_id]
    assert final["status"] == "COMPLETED", final


def test_order_without_prices_is_charged_the_catalogue_amount(stack, scenario):
    product, customer = stack.name("priced-b"), stack.name("c-price-none")
    stack.set_stock(product, 10, price="29.99")

    sub = stack.submit(
        {"customerId": customer, "items": [{"productId": product, "quantity": 2}]}, label="no price, no totalAmount"
    )
    scenario.track(sub)
    assert sub.http_status == 201 and sub.response["status"] == "PENDING", sub.response

    order = stack.wait_terminal(scenario, [sub])[sub.order_id]
    assert order["status"] == "COMPLETED", order
    assert history_statuses(order) == list(HAPPY_PATH), order["statusHistory"]
    assert order["totalAmount"] == Decimal("59.98")
    assert [(i["productId"], int(i["quantity"]), i["price"]) for i in order["items"]] == [
        (product, 2, Decimal("29.99"))
    ]

    payment = stack.payment(sub.order_id)
    assert payment and payment["status"] == "PAID" and payment["amount"] == Decimal("59.98"), payment
    assert stack.stock(product) == 8

    got = stack.api.get_order(sub.order_id, token=stack.token(customer))
    assert got.status == 200, got
    view = got.json
    assert view["totalAmount"] == 59.98 and view["items"] == [{"productId": product, "quantity": 2, "price": 29.99}]
