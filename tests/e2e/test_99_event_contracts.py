"""Every event the bus carried during the run conforms to its contract (services/shared/schemas/events).

The session's bus tap (a catch-all rule to a temporary queue, opened before the first scenario) holds every event
put on the bus since; this test runs last, places one order of its own (so the core events are there even when it
runs alone), drains the tap up to a canary and validates each event. The events the suite put itself (poison
events, duplicates, canaries: `Stack.own_event_ids`) are left out; an event with no contract fails, except the
emulator's own scheduler event where the emulator is the cloud (scripts/emulator_workarounds.py).
"""

from __future__ import annotations

from collections import Counter

from scripts.common import event_contracts
from scripts.emulator_workarounds import uncontracted_events

#: What one completed order puts on the bus, at least: the order saga's events.
CORE = {"Order Created", "Payment Processed", "Inventory Reserved", "Order Completed"}


def test_every_event_on_the_bus_conforms_to_its_contract(stack, scenario):
    assert stack.bus_tap is not None, "the session fixture opens the bus tap"
    product, customer = stack.name("contracts"), stack.name("c-contracts")
    stack.set_stock(product, 5, price="2.50")
    sub = stack.submit(
        {"customerId": customer, "items": [{"productId": product, "quantity": 1, "price": 2.5}], "totalAmount": 2.5},
        label="contracts order",
    )
    scenario.track(sub)
    assert stack.wait_terminal(scenario, [sub])[sub.order_id]["status"] == "COMPLETED"

    carried = stack.bus_tap.drain("contracts-end")
    contracts, exempt = event_contracts(), uncontracted_events(stack.env)
    checked: Counter[str] = Counter()
    broken: list[str] = []
    for event in carried:
        key = (event.get("source"), event.get("detail-type"))
        if event.get("id") in stack.own_event_ids or key in exempt:
            continue
        problems = contracts.violations(*key, event.get("detail"))
        broken += [f"{event.get('id')} {key}: {p}" for p in problems]
        checked[key[1]] += 1
    scenario.note(
        f"{sum(checked.values())} events validated against their contracts: "
        + ", ".join(f"{t} {n}" for t, n in sorted(checked.items()))
    )
    assert not broken, "\n".join(broken[:20])
    ours = {e["detail-type"] for e in carried if (e.get("detail") or {}).get("orderId") == sub.order_id}
    assert CORE <= ours, f"this test's order put {sorted(ours)} on the bus, not all of {sorted(CORE)}"
