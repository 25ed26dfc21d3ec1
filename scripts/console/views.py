"""What the console's pages show and what its actions do, against one deployed env (no HTTP here: app.py).

Reads: orders (CustomerId-Index when a customer is given, else a bounded scan), an order with its trace and the
graph of each execution, stock, DLQ depths and CloudWatch alarms. Actions (each validated first: bad input raises
`BadInput` and changes nothing): cancel (the API's DELETE with the operator's own token, as docs/auth.md allows
members of `admins`), refund (the operator event Refund Requested), restock (the operator event Inventory
Restocked, the documented operator path: docs/architecture.md, docs/terraform.md's operator role), redrive a DLQ
(scripts/dlq). Operator events go through the stack's operator role (output `operator_role_arn`), as the e2e suite
does: no other principal of the stack may put them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from scripts.auth import CUSTOMER_ID_RE
from scripts.common import PROJECT, event_contracts, services_module

#: The order statuses a filter may name: the lifecycle's own (services/shared/lifecycle.py).
ORDER_STATUSES = tuple(str(status) for status in services_module("shared.lifecycle").OrderStatus)
ORDER_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
PRICE_RE = re.compile(r"\d{1,8}(\.\d{1,2})?")
CUSTOMER_INDEX = "CustomerId-Index"
PAGE_SIZE = 25
#: A listing without a customer scans the table: at most this many items read per page shown (then a "next" link).
SCAN_BUDGET = 1000
SCAN_CHUNK = 200
MAX_RESTOCK = 1_000_000
MAX_REDRIVE = 100
MAX_REASON = 200
OPERATOR_SESSION = "orderflow-console"


class BadInput(ValueError):
    """Input an operator must correct; the message says what is wrong and what is allowed. Nothing was changed."""


class NotFound(LookupError):
    """An order, product or queue that does not exist."""


# --- input -----------------------------------------------------------------------------------------------------------


def order_id_of(value: str | None) -> str:
    value = (value or "").strip()
    if not ORDER_ID_RE.fullmatch(value):
        raise BadInput(
            f"Order id {value!r} is not valid: 1-64 characters A-Z a-z 0-9 _ - (the orderId of POST /orders)."
        )
    return value


def product_id_of(value: str | None) -> str:
    value = (value or "").strip()
    if not ORDER_ID_RE.fullmatch(value):
        raise BadInput(
            f"Product id {value!r} is not valid: 1-64 characters A-Z a-z 0-9 _ - starting with a letter or digit."
        )
    return value


def customer_id_of(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not CUSTOMER_ID_RE.fullmatch(value):
        raise BadInput(
            f"Customer id {value!r} is not valid: 1-64 characters A-Z a-z 0-9 _ - starting with a letter or digit."
        )
    return value


def status_of(value: str | None) -> str | None:
    value = (value or "").strip().upper()
    if not value:
        return None
    if value not in ORDER_STATUSES:
        raise BadInput(f"Status {value!r} is not one of {', '.join(ORDER_STATUSES)}.")
    return value


def time_of(value: str | None, name: str) -> str | None:
    """An ISO-8601 time (a browser's datetime-local `2026-12-06T23:19` is UTC) as the services write it."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{name} {value!r} is not a time: use ISO 8601, e.g. 2026-12-06T23:19 (UTC).") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"


def quantity_of(value: str | None) -> int:
    text = (value or "").strip()
    if not re.fullmatch(r"\d{1,7}", text) or not 1 <= int(text) <= MAX_RESTOCK:
        raise BadInput(f"Quantity {text!r} is not valid: a whole number from 1 to {MAX_RESTOCK:,}.")
    return int(text)


def price_of(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if not PRICE_RE.fullmatch(text):
        raise BadInput(
            f"Price {text!r} is not valid: an amount >= 0 with at most 2 decimals, below 100,000,000 (e.g. 19.99)."
        )
    return text


def count_of(value: str | None) -> int | None:
    text = (value or "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{1,3}", text) or not 1 <= int(text) <= MAX_REDRIVE:
        raise BadInput(
            f"Count {text!r} is not valid: a whole number from 1 to {MAX_REDRIVE}, or empty for every message."
        )
    return int(text)


def reason_of(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > MAX_REASON or any(ord(c) < 32 for c in text):
        raise BadInput(f"The reason must be at most {MAX_REASON} printable characters.")
    return text


def encode_page(key: dict[str, Any] | None) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(key, default=str).encode()).decode() if key else None


def decode_page(value: str | None, allowed: tuple[str, ...]) -> dict[str, Any] | None:
    """A `next` link's position: base64url JSON of string values under exactly the index's key names."""
    if not value:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, binascii.Error):
        key = None
    if (
        not isinstance(key, dict)
        or not key
        or not set(key) <= set(allowed)
        or not all(isinstance(v, str) for v in key.values())
    ):
        raise BadInput("The page position is not valid: start again from the first page.")
    return key


# --- reads -----------------------------------------------------------------------------------------------------------


@dataclass
class OrderPage:
    orders: list[dict[str, Any]]
    next: str | None
    how: str  # how the page was read: the index, or a bounded scan
    scanned: int = 0


@dataclass
class Console:
    """One deployed env: its outputs and AWS clients (factories, so tests hand in moto's or fakes)."""

    env: str
    outputs: dict[str, Any]
    client: Callable[[str], Any]
    resource: Callable[[str], Any]
    api: Any = None  # scripts.api_client.ApiClient of the stack's API (cancel)
    operator_events: Callable[[], Any] | None = None  # an EventBridge client with the operator role's credentials
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def table(self, key: str) -> Any:
        return self.resource("dynamodb").Table(self.outputs[f"{key}_table_name"])

    # orders

    def orders(
        self,
        status: str | None = None,
        customer: str | None = None,
        since: str | None = None,
        until: str | None = None,
        page: str | None = None,
    ) -> OrderPage:
        from boto3.dynamodb.conditions import Attr, Key

        status, customer = status_of(status), customer_id_of(customer)
        since, until = time_of(since, "From"), time_of(until, "To")
        if since and until and since > until:
            raise BadInput("From is after To: swap them.")
        table = self.table("orders")
        filters = []
        if status:
            filters.append(Attr("status").eq(status))
        if customer:
            condition = Key("customerId").eq(customer)
            if since and until:
                condition &= Key("createdAt").between(since, until)
            elif since:
                condition &= Key("createdAt").gte(since)
            elif until:
                condition &= Key("createdAt").lte(until)
            kwargs: dict[str, Any] = {
                "IndexName": CUSTOMER_INDEX,
                "KeyConditionExpression": condition,
                "ScanIndexForward": False,
            }
            how = f"{CUSTOMER_INDEX} (customer, created time), newest first" + (", status filtered" if status else "")
            allowed: tuple[str, ...] = ("orderId", "customerId", "createdAt")
        else:
            if since:
                filters.append(Attr("createdAt").gte(since))
            if until:
                filters.append(Attr("createdAt").lte(until))
            kwargs = {}
            how = (
                f"a scan of the table (no index by status or time alone), at most {SCAN_BUDGET} items read per page; "
                "each page newest first"
            )
            allowed = ("orderId", "customerId")
        if filters:
            expression = filters[0]
            for extra in filters[1:]:
                expression &= extra
            kwargs["FilterExpression"] = expression
        start = decode_page(page, allowed)
        found: list[dict[str, Any]] = []
        scanned = 0
        while len(found) < PAGE_SIZE:
            call = dict(kwargs, Limit=PAGE_SIZE if customer else SCAN_CHUNK)
            if start:
                call["ExclusiveStartKey"] = start
            response = table.query(**call) if customer else table.scan(**call)
            scanned += response.get("ScannedCount", 0)
            items = response.get("Items") or []
            room = PAGE_SIZE - len(found)
            found += items[:room]
            start = response.get("LastEvaluatedKey")
            if len(items) > room:  # the page is full inside this response: go on after its last order
                start = {k: found[-1][k] for k in allowed}
                break
            if not start or (not customer and scanned >= SCAN_BUDGET):
                break
        if not customer:
            found.sort(key=lambda o: str(o.get("createdAt", "")), reverse=True)
        return OrderPage(found, encode_page(start), how, scanned)

    def order(self, order_id: str) -> dict[str, Any]:
        from boto3.dynamodb.conditions import Key

        order_id = order_id_of(order_id)
        items = self.table("orders").query(
            KeyConditionExpression=Key("orderId").eq(order_id), ConsistentRead=True, Limit=1
        )
        if not items.get("Items"):
            raise NotFound(f"There is no order {order_id} in {self.outputs['orders_table_name']}.")
        return items["Items"][0]

    def trace(self, order_id: str) -> dict[str, Any]:
        from scripts import trace

        return trace.collect(order_id_of(order_id), self.outputs, self.client, self.resource)

    def execution_graphs(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        """Every execution of every workflow that worked on the order: name, workflow, status, states entered, and
        the workflow's SVG with the path coloured (deployed definition; the execution's history as
        scripts/history.ExecutionReader reads it, STANDARD or EXPRESS)."""
        from scripts import trace
        from scripts.console import graph
        from scripts.history import ExecutionReader, summarize_history, task_functions
        from scripts.timeutil import parse_ts

        sfn = self.client("stepfunctions")
        reader = ExecutionReader.for_stack(self.outputs, self.client, env=self.outputs.get("env", self.env))
        since = parse_ts(order["createdAt"]) - trace.LOOKBACK
        found = []
        for workflow, arn in sorted((self.outputs.get("state_machine_arns") or {}).items()):
            executions = trace.executions_of(reader, arn, order["orderId"], since)
            if not executions:
                continue
            definition = json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"])
            for execution in sorted(executions, key=lambda e: e["startDate"]):
                summary = summarize_history(reader.events(execution["executionArn"]), task_functions(definition))
                found.append(
                    {
                        "workflow": workflow,
                        "name": execution["name"],
                        "arn": execution["executionArn"],
                        "status": execution["status"],
                        "started": execution["startDate"],
                        "summary": summary,
                        "outcomes": graph.state_outcomes(definition, summary),
                        "svg": graph.execution_svg(workflow, definition, summary),
                    }
                )
        return found

    # stock, queues, alarms

    def stock(self) -> list[dict[str, Any]]:
        table, items, kwargs = self.table("inventory"), [], {}
        while True:
            response = table.scan(**kwargs)
            items += response.get("Items") or []
            if not response.get("LastEvaluatedKey") or len(items) >= SCAN_BUDGET:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(items, key=lambda p: p["productId"])

    def product(self, product_id: str) -> dict[str, Any] | None:
        return (
            self.table("inventory")
            .get_item(Key={"productId": product_id_of(product_id)}, ConsistentRead=True)
            .get("Item")
        )

    def dlq_rows(self) -> list[dict[str, Any]]:
        from scripts import dlq

        return dlq.queue_rows(self.outputs, self.client("sqs"), datetime.now(UTC))

    def dlq_messages(self, queue: str) -> list[dict[str, Any]]:
        from scripts import dlq

        return [m.summary() for m in dlq.peek(self.client("sqs"), self.queue_url(queue), dlq.SHOW_DEFAULT)]

    def queue_url(self, queue: str) -> str:
        urls = self.outputs.get("dlq_urls") or {}
        if queue not in urls:
            raise BadInput(
                f"Queue {queue!r} is not a dead-letter queue of this stack: choose one of {', '.join(sorted(urls))}."
            )
        return urls[queue]

    def alarms(self) -> list[dict[str, Any]]:
        prefix = f"{PROJECT}-{self.outputs.get('env', self.env)}-"
        cloudwatch, alarms, kwargs = self.client("cloudwatch"), [], {"AlarmNamePrefix": prefix}
        while True:
            page = cloudwatch.describe_alarms(**kwargs)
            alarms += page.get("MetricAlarms") or []
            if not page.get("NextToken"):
                return alarms
            kwargs["NextToken"] = page["NextToken"]

    # actions: validate (raise BadInput / NotFound, nothing changed) -> describe -> do

    def check(self, action: str, form: dict[str, str]) -> dict[str, Any]:
        """The action's validated parameters and a sentence of what it will do; BadInput/NotFound change nothing."""
        if action == "cancel":
            order = self.order(form.get("orderId"))
            return {
                "orderId": order["orderId"],
                "what": f"Cancel order {order['orderId']} (now {order['status']}) "
                f"of {order['customerId']} through the API's DELETE /orders/{{orderId}}, as you.",
            }
        if action == "refund":
            order = self.order(form.get("orderId"))
            reason = reason_of(form.get("reason"))
            return {
                "orderId": order["orderId"],
                "customerId": order["customerId"],
                "reason": reason,
                "what": f"Put Refund Requested for order {order['orderId']} (now {order['status']}) of "
                f"{order['customerId']}: cancel and refund it (refused for a COMPLETED order).",
            }
        if action == "restock":
            product_id, quantity, price = (
                product_id_of(form.get("productId")),
                quantity_of(form.get("quantity")),
                price_of(form.get("price")),
            )
            current = self.product(product_id)
            now = f"now {current.get('available', 0)} available" if current else "a new product"
            return {
                "productId": product_id,
                "quantity": quantity,
                "price": price,
                "what": f"Put Inventory Restocked: add {quantity} to {product_id} ({now})"
                + (f" and set its price to {price}." if price else "."),
            }
        if action == "redrive":
            queue, count = (form.get("queue") or "").strip(), count_of(form.get("count"))
            self.queue_url(queue)
            from scripts import dlq

            if queue not in dlq.sources(self.outputs):
                raise BadInput(
                    f"Queue {queue!r} has no dlq_sources entry: redeploy with `invoke deploy --env {self.env}`."
                )
            return {
                "queue": queue,
                "count": count,
                "what": f"Redrive {'every message' if count is None else f'up to {count} message(s)'} of {queue} "
                "to its target, deleting each one the target accepted.",
            }
        raise BadInput(f"Unknown action {action!r}: cancel, refund, restock or redrive.")

    def do(self, action: str, params: dict[str, Any], token: str) -> dict[str, Any]:
        """Carry out a checked action; {"ok": bool, "message": sentence, ...details}."""
        if action == "cancel":
            response = self.api.cancel_order(params["orderId"], token=token)
            body = response.json if isinstance(response.json, dict) else {}
            if response.status == 202:
                return {"ok": True, "message": f"Order {params['orderId']} is {body.get('status', 'CANCELLED')}."}
            return {"ok": False, "message": f"The API answered {response.status}: {body.get('message', body)}."}
        if action == "refund":
            event_id = f"console-refund-{uuid.uuid4()}"
            detail = {"orderId": params["orderId"], "customerId": params["customerId"], "eventId": event_id}
            if params.get("reason"):
                detail["reason"] = params["reason"]
            self._put("RefundRequested", detail)
            return {
                "ok": True,
                "eventId": event_id,
                "message": f"Refund Requested put for order {params['orderId']} (event {event_id}).",
            }
        if action == "restock":
            event_id = f"console-restock-{uuid.uuid4()}"
            detail: dict[str, Any] = {
                "eventId": event_id,
                "productId": params["productId"],
                "quantity": params["quantity"],
            }
            if params.get("price"):
                detail["price"] = params["price"]
            self._put("InventoryRestocked", detail)
            return {
                "ok": True,
                "eventId": event_id,
                "message": f"Inventory Restocked put: +{params['quantity']} {params['productId']} (event {event_id}); "
                "the inventory-management workflow applies it within seconds.",
            }
        if action == "redrive":
            from scripts import dlq

            source = dlq.sources(self.outputs)[params["queue"]]
            result = dlq.redrive(
                self.client("sqs"), self.queue_url(params["queue"]), dlq.Delivery(source, self.client), params["count"]
            )
            message = f"{len(result.delivered)} delivered and deleted, {len(result.failed)} left in {params['queue']}."
            return {"ok": not result.failed, "message": message, "delivered": result.delivered, "failed": result.failed}
        raise BadInput(f"Unknown action {action!r}.")

    def _put(self, contract_name: str, detail: dict[str, Any]) -> None:
        """Put the operator event of that contract (its source and detail-type come from the contract's schema)."""
        contract = event_contracts().EVENTS[contract_name]
        events = self.operator_events() if self.operator_events else self.client("events")
        response = events.put_events(
            Entries=[
                {
                    "Source": contract.source,
                    "DetailType": contract.detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self.outputs["event_bus_name"],
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents refused the event: {response['Entries'][0].get('ErrorMessage')}")


def operator_events_client(env: str, outputs: dict[str, Any]) -> Callable[[], Any]:
    """A factory of EventBridge clients with the operator role's credentials (assumed again when they near expiry)."""
    from scripts.aws_session import aws_client

    cache: dict[str, Any] = {}
    lock = threading.Lock()

    def get() -> Any:
        import boto3

        with lock:
            cached = cache.get("client")
            if cached and (cached[1] - datetime.now(cached[1].tzinfo)).total_seconds() > 300:
                return cached[0]
            role = outputs.get("operator_role_arn")
            if not role:
                raise RuntimeError(f"The outputs have no operator_role_arn: redeploy with `invoke deploy --env {env}`.")
            creds = aws_client(env, "sts").assume_role(RoleArn=role, RoleSessionName=OPERATOR_SESSION)["Credentials"]
            base = aws_client(env, "events")
            client = boto3.client(
                "events",
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=base.meta.region_name,
                endpoint_url=base.meta.endpoint_url,
                config=base.meta.config,
            )
            cache["client"] = (client, creds["Expiration"])
            return client

    return get


def money(value: Any) -> str:
    try:
        return f"{Decimal(str(value)):.2f}"
    except ArithmeticError:
        return str(value)
