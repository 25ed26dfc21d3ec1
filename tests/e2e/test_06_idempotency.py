"""Duplicate submission with the same Idempotency-Key: one order (the same orderId both times); the same key with a
different body: 409, and still one order."""

from __future__ import annotations

from scripts.api_client import order_payload


def test_idempotent_submission(stack, scenario):
    product, customer = stack.name("idem"), stack.name("c-idem")
    stack.set_stock(product, 5, price="42.00")
    key = stack.name("idem-key")
    payload = order_payload(customer, [(product, 1, "42.00")])
    first = stack.submit(payload, label="first submission", idempotency_key=key)
    token = stack.token(customer)
    second = stack.api.create_order(payload, idempotency_key=key, token=token)
    assert second.status == 201, second  # docs/api.md: the first response again, 201
    assert second.json["orderId"] == first.order_id, (first.response, second.json)
    scenario.track(first)

    other = stack.api.create_order(order_payload(customer, [(product, 2, "42.00")]), idempotency_key=key, token=token)
    assert other.status == 409 and (other.json or {}).get("message"), other

    # a different key is a different order; no key at all is always a new order
    fresh = stack.submit(payload, label="same body, new key", idempotency_key=stack.name("idem-key-2"))
    assert fresh.order_id != first.order_id
    scenario.track(fresh)

    final = stack.wait_terminal(scenario, [first, fresh])
    assert {o["status"] for o in final.values()} == {"COMPLETED"}
    records = stack.customer_orders(customer)
    assert sorted(o["orderId"] for o in records) == sorted([first.order_id, fresh.order_id]), records
    assert len(stack.executions_for(first.order_id)) == 1
    assert stack.stock(product) == 3
