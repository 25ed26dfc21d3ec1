"""What must hold once a schedule has quiesced, judged from the tables, the bucket, the gateway's ledger and the events
put on the bus.

Every expected value comes from the schedule's own plan (catalogue prices and stock it wrote, lines it ordered,
restocks it sent), never from the code under test. Money: the provider's ledger is the truth (what a customer is
actually charged); the payments table must agree with it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.simulation.cloud import SimCloud
from tests.simulation.engine import Outcome

TERMINAL = {"COMPLETED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED", "FAILED"}
#: terminal status -> the one workflow notification it sends (docs/architecture.md)
NOTIFICATION = {
    "COMPLETED": "order-completed",
    "PAYMENT_FAILED": "payment-declined",
    "CANCELLED": "order-cancelled",
    "EXPIRED": "order-expired",
    "FAILED": "order-failed",
}
#: ledger statuses meaning the gateway authorized the key at some point / still holds its money
EVER_AUTHORIZED = {"AUTHORIZED", "REFUNDED", "REVERSED"}


def check(cloud: SimCloud, outcome: Outcome) -> list[str]:
    plan = outcome.plan
    prices = {pid: Decimal(price) for pid, (_, price) in plan.products.items()}
    orders = {o["orderId"]: o for o in cloud.scan("orders")}
    payments = {p["orderId"]: p for p in cloud.scan("payments")}
    reservations = {r["orderId"]: r for r in cloud.scan("reservations")}
    ledger: dict[str, list[dict[str, Any]]] = {}
    for entry in cloud.scan("payment-gateway"):
        ledger.setdefault(entry["orderId"], []).append(entry)
    outbox = cloud.scan("outbox")
    from shared.events import ORDER_COMPLETED  # services/ is on the path once cloud is imported

    completions: dict[str, set[str]] = {}  # orderId -> the eventIds of its "Order Completed" events
    for event in outcome.published:
        if event["detail-type"] == ORDER_COMPLETED:
            completions.setdefault(event["detail"]["orderId"], set()).add(event["detail"]["eventId"])
    keys = cloud.notification_keys()
    problems: list[str] = []

    created = [o for o in plan.orders if o.order_id]
    if len(orders) != len(created):
        problems.append(f"{len(orders)} orders stored for {len(created)} accepted")
    sold: dict[str, int] = {}
    for planned in created:
        oid = str(planned.order_id)
        order = orders.get(oid)
        if order is None:
            problems.append(f"{oid}: accepted but not stored")
            continue
        status = order["status"]
        total = sum((prices[p] * q for p, q in planned.lines), Decimal(0))
        say = lambda text, oid=oid, status=status: problems.append(f"{oid[:8]} ({status}): {text}")
        if status not in TERMINAL:
            say("not terminal after quiescence")
        if Decimal(order["totalAmount"]) != total:
            say(f"stored total {order['totalAmount']} != catalogue total {total}")
        entries = ledger.get(oid, [])
        authorized = [e for e in entries if e["status"] in EVER_AUTHORIZED]
        held = sum((Decimal(e["amount"]) for e in entries if e["status"] == "AUTHORIZED"), Decimal(0))
        if len(authorized) > 1:
            say(f"{len(authorized)} gateway authorizations")
        row = payments.get(oid)
        reservation = reservations.get(oid)
        if status == "COMPLETED":
            for pid, qty in planned.lines:
                sold[pid] = sold.get(pid, 0) + qty
            if held != total:
                say(f"customer charged {held}, price is {total}")
            if row is None or row["status"] != "PAID" or Decimal(row["amount"]) != total:
                say(f"payment row {row and (row['status'], row['amount'])} for a completed order of {total}")
            if reservation is None or reservation["status"] != "RESERVED":
                say(f"reservation {reservation and reservation['status']} for a completed order")
            elif sorted((i["productId"], int(i["quantity"])) for i in reservation["items"]) != sorted(planned.lines):
                say(f"reserved {reservation['items']} for lines {planned.lines}")
        else:
            if held != 0:
                say(f"customer still charged {held}")
            if row is not None and row["status"] not in ("DECLINED", "VOIDED", "REFUNDED"):
                say(f"payment row {row['status']} left on a {status} order")
            if reservation is not None and reservation["status"] != "RELEASED":
                say(f"reservation {reservation['status']} left on a {status} order")
        completed_ids = completions.get(oid, set())
        if (status == "COMPLETED") != bool(completed_ids):
            say(f"{len(completed_ids)} 'Order Completed' event id(s) put")
        if len(completed_ids) > 1:  # redeliveries must keep one eventId, the consumers' deduplication key
            say(f"'Order Completed' put under {len(completed_ids)} event ids")
        if len(outcome.owners.get(oid, ())) > 1:
            say(f"{len(outcome.owners[oid])} executions acted on the order")
        mine = [k for k in keys if k.startswith(f"notifications/{oid}/") and "/events/" not in k]
        expected = [f"notifications/{oid}/{NOTIFICATION[status]}.json"] if status in NOTIFICATION else []
        if mine != expected:
            say(f"notifications {mine}, expected {expected}")
        if status in TERMINAL and (order.get("claim") or {}).get("status") != status:
            say(f"claim {order.get('claim')} does not match")
        if (status in TERMINAL) == ("liveShard" in order):  # the sparse Live-Index holds exactly the live orders
            say(f"liveShard {order.get('liveShard')!r} on a {status} order")
        if oid in outcome.refund_requested and status == "COMPLETED" and "refundRefusal" not in order:
            say("a refund request of a COMPLETED order was not recorded as refused")
    if outcome.stranded:
        problems.append(f"{outcome.stranded} order(s) stranded: only the quiescence sweep could end them (EXPIRED)")
    pending = [e["id"] for e in outbox]
    if pending:
        problems.append(f"outbox not empty: {pending}")
    inventory = {i["productId"]: i for i in cloud.scan("inventory")}
    for pid, (stock, _) in plan.products.items():
        item = inventory[pid]
        expected = stock + outcome.restocked.get(pid, 0) - sold.get(pid, 0)
        if int(item["available"]) != expected:
            problems.append(f"{pid}: available {item['available']}, expected {expected}")
        if int(item["reserved"]) != sold.get(pid, 0):
            problems.append(f"{pid}: reserved {item['reserved']}, sold {sold.get(pid, 0)}")
        if int(item["available"]) < 0:
            problems.append(f"{pid}: negative stock {item['available']}")
    return problems
