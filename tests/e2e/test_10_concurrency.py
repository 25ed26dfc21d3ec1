"""Contention on one product: 200 one-unit orders for 50 units in stock, submitted by 20 concurrent clients.

Exactly 50 complete; the other 150 are claimed CANCELLED by their workflow (out of stock after payment) and refunded
by its finalization; stock ends at 0 and a sampler reading it every 50 ms while the orders run never sees it
negative. The gateway holds exactly the 50 completed orders' money (one AUTHORIZED ledger entry each, none for the
others). Every order has its own customer (the payment limit is per customer).
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from e2e_support import StockSampler

from scripts.api_client import order_payload
from scripts.preflight import CLIENTS_PER_BURST, SUITE_BURST_ORDERS

# The burst `invoke preflight` checks the account against (200 orders, 20 clients). Every customer is new: submit_many
# signs them all in first, one after the other, within Cognito's request-rate quotas.
ORDERS, STOCK, CLIENTS = SUITE_BURST_ORDERS, 50, CLIENTS_PER_BURST


@pytest.mark.slow
def test_concurrent_orders_for_scarce_stock(stack, scenario):
    product = stack.name("hot")
    stack.set_stock(product, STOCK, price="10.00")
    scenario.history_limit = 10
    payloads = [
        (order_payload(stack.name(f"c-hot-{i}"), [(product, 1, "10.00")]), f"client order {i}") for i in range(ORDERS)
    ]
    with StockSampler(stack, product) as sampler:
        accepted, rejected = stack.submit_many(
            payloads, workers=CLIENTS, max_in_flight=stack.max_in_flight, label=scenario.name
        )
        scenario.track(*accepted)
        assert not rejected, f"{len(rejected)} submissions failed, e.g. {rejected[:3]}"
        stack.wait_terminal(scenario, accepted, timeout=stack.order_timeout * 3)
    final = stack.wait_settled(scenario, accepted, timeout=stack.order_timeout)  # the refunds follow the claims
    statuses = Counter(o["status"] for o in final.values())
    scenario.note(
        f"final statuses {dict(statuses)}; stock samples {len(sampler.samples)}, min {min(sampler.samples, default=None)}"
    )
    assert statuses == {"COMPLETED": STOCK, "CANCELLED": ORDERS - STOCK}, statuses
    assert stack.stock(product) == 0
    assert sampler.samples and min(sampler.samples) >= 0, f"stock went negative: min {min(sampler.samples)}"

    payments, ledger = Counter(), stack.ledgers(s.order_id for s in accepted)
    for sub in accepted:
        status = final[sub.order_id]["status"]
        payment = stack.payment(sub.order_id)
        payments[payment["status"] if payment else None] += 1
        reservation = stack.reservation(sub.order_id)
        entries = [(e["status"], e["amount"]) for e in ledger[sub.order_id]]
        if status == "COMPLETED":
            assert payment["status"] == "PAID" and reservation["status"] == "RESERVED", (payment, reservation)
            assert entries == [("AUTHORIZED", Decimal("10.00"))], entries
        else:
            assert [h["status"] for h in final[sub.order_id]["statusHistory"]] == [
                "PENDING",
                "PAID",
                "INVENTORY_UNAVAILABLE",
                "CANCELLED",
            ], final[sub.order_id]["statusHistory"]
            assert payment["status"] == "REFUNDED" and reservation is None, (payment, reservation)
            assert entries == [("REFUNDED", Decimal("10.00"))], entries
    assert payments == {"PAID": STOCK, "REFUNDED": ORDERS - STOCK}, payments
