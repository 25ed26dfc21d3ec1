"""`invoke watch --env E [--order ID] [--interval S]`: orders in flight and counts per status, live, until Ctrl-C.

The orders in flight come from the orders table's sparse Live-Index (one query per shard: it holds exactly the live
orders, so this read is as small as the work in flight). The counts per status are a scan of the `status` attribute
of the whole table on every refresh (at most SCAN_LIMIT items, and the view says when it stopped there): cheap on a
dev or local table, but a scan reads every item, so on a large production table watch with a longer --interval or
use the dashboard's metrics instead.

`--order ID` follows one order: each status change as it is recorded (statusHistory), until a terminal status.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scripts.common import UserError, services_module

SCAN_LIMIT = 100_000
IN_FLIGHT_ROWS = 20


def _value(attribute: dict[str, Any] | None) -> Any:
    if attribute is None:
        return None
    return next(iter(attribute.values()))  # an S or N attribute value's text


@dataclass
class Snapshot:
    in_flight: list[dict[str, str]]
    counts: Counter = field(default_factory=Counter)
    scanned: int = 0
    truncated: bool = False


def in_flight(ddb: Any, table: str) -> list[dict[str, str]]:
    """Every live order (Live-Index, all shards, all pages), oldest update first."""
    orders = services_module("shared.repositories.orders")
    found = []
    for shard in range(orders.LIVE_SHARDS):
        kwargs: dict[str, Any] = {
            "TableName": table,
            "IndexName": orders.LIVE_INDEX,
            "KeyConditionExpression": "#shard = :shard",
            "ExpressionAttributeNames": {"#shard": orders.LIVE_SHARD_ATTRIBUTE},
            "ExpressionAttributeValues": {":shard": {"S": orders.shard_key(shard)}},
        }
        while True:
            page = ddb.query(**kwargs)
            for item in page.get("Items", []):
                found.append({k: _value(item.get(k)) for k in ("orderId", "customerId", "status", "updatedAt")})
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return sorted(found, key=lambda o: (o["updatedAt"] or "", o["orderId"]))


def status_counts(ddb: Any, table: str, limit: int = SCAN_LIMIT) -> tuple[Counter, int, bool]:
    """Orders per status over the whole table (a scan of `status`), how many were read, and whether it stopped at
    `limit` before the end."""
    counts: Counter = Counter()
    kwargs: dict[str, Any] = {
        "TableName": table,
        "ProjectionExpression": "#s",
        "ExpressionAttributeNames": {"#s": "status"},
    }
    scanned = 0
    while True:
        page = ddb.scan(**kwargs, Limit=min(1000, limit - scanned))
        for item in page.get("Items", []):
            counts[_value(item.get("status")) or "?"] += 1
        scanned += len(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return counts, scanned, False
        if scanned >= limit:
            return counts, scanned, True
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def snapshot(ddb: Any, table: str) -> Snapshot:
    counts, scanned, truncated = status_counts(ddb, table)
    return Snapshot(in_flight=in_flight(ddb, table), counts=counts, scanned=scanned, truncated=truncated)


def _age(updated_at: str | None, now: datetime) -> str:
    if not updated_at:
        return "?"
    seconds = int((now - datetime.fromisoformat(updated_at)).total_seconds())
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def render(view: Snapshot, now: datetime, env: str) -> Any:
    """The rich renderable of one refresh: counts per status (terminal ones apart), then the oldest live orders."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    lifecycle = services_module("shared.lifecycle")
    terminal = {str(s) for s in lifecycle.TERMINAL_STATUSES}
    live = ", ".join(f"{s} {n}" for s, n in sorted(view.counts.items()) if s not in terminal) or "none"
    done = ", ".join(f"{s} {n}" for s, n in sorted(view.counts.items()) if s in terminal) or "none"
    scanned = f"{view.scanned} orders" + (" (stopped at the scan limit)" if view.truncated else "")
    header = Text.assemble(
        (f"orderflow {env}", "bold"),
        f"  {now:%H:%M:%S}Z  {scanned}\n",
        ("in flight: ", "bold"),
        f"{len(view.in_flight)} ({live})\n",
        ("terminal:  ", "bold"),
        done,
    )
    table = Table(title=f"oldest {min(IN_FLIGHT_ROWS, len(view.in_flight))} orders in flight", expand=False)
    for column in ("order", "customer", "status", "since update"):
        table.add_column(column)
    for order in view.in_flight[:IN_FLIGHT_ROWS]:
        table.add_row(order["orderId"], order["customerId"] or "", order["status"] or "", _age(order["updatedAt"], now))
    return Group(header, table)


def follow(read_order: Callable[[], dict[str, Any] | None], say: Callable[[str], None], interval: float) -> str:
    """Print each status change of the order as it is recorded, until a terminal status; returns that status."""
    lifecycle = services_module("shared.lifecycle")
    terminal = {str(s) for s in lifecycle.TERMINAL_STATUSES}
    shown = 0
    while True:
        order = read_order()
        if order is None:
            raise UserError("That order does not exist: use the orderId that POST /orders answered.")
        history = order.get("statusHistory") or []
        for change in history[shown:]:
            reason = f" ({change['reason']})" if change.get("reason") else ""
            say(f"{change['at']}  {change['status']}{reason}")
        shown = len(history)
        if order["status"] in terminal:
            say(f"order {order['orderId']} is {order['status']}.")
            return order["status"]
        time.sleep(interval)  # a live view: wait for the next change until Ctrl-C


def run(env: str, order_id: str | None = None, interval: float = 1.0, once: bool = False) -> Any:
    from boto3.dynamodb.conditions import Key

    from scripts import local_cloud
    from scripts.aws_session import aws_client, session
    from scripts.common import is_local, read_outputs

    if interval <= 0:
        raise UserError("--interval must be a number of seconds above 0, e.g. --interval 2.")
    outputs = read_outputs(env)
    table = outputs["orders_table_name"]
    if order_id:
        resource = session(env).resource(
            "dynamodb", **({"endpoint_url": local_cloud.endpoint()} if is_local(env) else {})
        )
        orders_table = resource.Table(table)

        def read_order() -> dict[str, Any] | None:
            items = orders_table.query(KeyConditionExpression=Key("orderId").eq(order_id), ConsistentRead=True)
            return items["Items"][0] if items["Items"] else None

        try:
            return follow(read_order, print, interval)
        except KeyboardInterrupt:
            return None
    from rich.console import Console
    from rich.live import Live

    ddb = aws_client(env, "dynamodb")
    console = Console()
    if once:
        view = snapshot(ddb, table)
        console.print(render(view, datetime.now(UTC), env))
        return view
    try:
        with Live(render(snapshot(ddb, table), datetime.now(UTC), env), console=console, auto_refresh=False) as live:
            while True:
                time.sleep(interval)  # the refresh period of a live view, until Ctrl-C
                live.update(render(snapshot(ddb, table), datetime.now(UTC), env), refresh=True)
    except KeyboardInterrupt:
        return None
