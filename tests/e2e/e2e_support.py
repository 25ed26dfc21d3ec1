"""What the e2e scenarios use to drive and inspect a deployed stack: its HTTP API and AWS APIs, nothing else.

Clients come from scripts.aws_session.aws_client (the local cloud's endpoint for env local, the default credential chain
otherwise), so the same tests run against `--env local` and a real account. Every wait is a poll with a deadline.

Every API call authenticates like a real client (docs/auth.md): with the Cognito ID token of the order's customer,
from `Stack.token(customer_id)` (`Customers`: users of the stack's user pool, created with the cognito-idp admin APIs).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Self

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from scripts import auth, e2e_restore, openapi
from scripts.api_client import ApiClient, order_payload
from scripts.api_contract import ApiContract, ResponseLog
from scripts.common import services_module
from scripts.history import ExecutionReader, execution_order_id, state_machine_arn_of, summarize_history, task_functions
from scripts.order_timeline import TERMINAL_STATUSES
from scripts.polling import Deadline, wait_until
from scripts.timeutil import iso, parse_ts, utcnow

_deser, _ser = TypeDeserializer(), TypeSerializer()
#: services/shared/repositories/inventory.py: the one definition of a product's item and its writes
inventory = services_module("shared.repositories.inventory")
#: services/notification/service.py: the notification objects' keys (`workflow_key`)
notification_service = services_module("notification.service")


def from_ddb(item: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if item is None else {k: _deser.deserialize(v) for k, v in item.items()}


def to_ddb(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in item.items()}


def plain(value: Any) -> Any:
    """DynamoDB values as JSON-friendly Python (Decimal -> int/float)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [plain(v) for v in value]
    return value


#: docs/architecture.md: every eventId is uuid5(uuid5(NAMESPACE_URL, "urn:orderflow:event"), "<orderId>|<detail-type>")
#: (derived here from the documented formula, not imported from the services)
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:orderflow:event")


def expected_event_id(order_id: str, detail_type: str) -> str:
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{order_id}|{detail_type}"))


class Customers:
    """The customers of the stack's user pool (outputs `user_pool_id`, `user_pool_client_id`) and their ID tokens.

    A customer is a user whose username is the customer id (the API takes the customer from the ID token's
    `cognito:username`). `token()` creates the user when missing (AdminCreateUser, no invitation), puts it in or out of
    the `admins` group, sets a fresh random password and signs in with USER_PASSWORD_AUTH as a client would; the
    token is cached until a minute before it expires. The same steps as `invoke customer` (scripts/auth.py), kept
    here so that the suite needs nothing but boto3 and the outputs. Users created by this session are deleted by
    `close()`. Thread-safe (submit_many asks from many threads)."""

    ADMIN_GROUP = auth.ADMIN_GROUP
    SYMBOLS = "!#%*+-=?@^_"

    def __init__(self, cognito: Any, pool_id: str, client_id: str):
        self.cognito, self.pool_id, self.client_id = cognito, pool_id, client_id
        self._tokens: dict[tuple[str, bool], tuple[str, float]] = {}
        self._created: set[str] = set()
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    @classmethod
    def password(cls) -> str:
        chars = [
            secrets.choice(string.ascii_lowercase),
            secrets.choice(string.ascii_uppercase),
            secrets.choice(string.digits),
            secrets.choice(cls.SYMBOLS),
        ]
        chars += [secrets.choice(string.ascii_letters + string.digits + cls.SYMBOLS) for _ in range(28)]
        return "".join(chars)

    def _user_lock(self, customer_id: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(customer_id, threading.Lock())

    def ensure(self, customer_id: str, admin: bool = False) -> None:
        try:
            self.cognito.admin_create_user(
                UserPoolId=self.pool_id,
                Username=customer_id,
                MessageAction="SUPPRESS",
                UserAttributes=[
                    {"Name": "email", "Value": f"{customer_id}@e2e.orderflow.invalid"},
                    {"Name": "email_verified", "Value": "true"},
                ],
            )
            with self._lock:
                self._created.add(customer_id)
        except self.cognito.exceptions.UsernameExistsException:
            pass
        change = self.cognito.admin_add_user_to_group if admin else self.cognito.admin_remove_user_from_group
        change(UserPoolId=self.pool_id, Username=customer_id, GroupName=self.ADMIN_GROUP)

    def sign_in(self, customer_id: str, client_id: str | None = None) -> dict[str, Any]:
        """A fresh password, then USER_PASSWORD_AUTH with the app client (or another one): AuthenticationResult."""
        password = self.password()
        self.cognito.admin_set_user_password(
            UserPoolId=self.pool_id, Username=customer_id, Password=password, Permanent=True
        )
        result = self.cognito.initiate_auth(
            ClientId=client_id or self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": customer_id, "PASSWORD": password},
        )
        assert "AuthenticationResult" in result, f"sign-in of {customer_id} answered a challenge: {result}"
        return result["AuthenticationResult"]

    def sign_in_all(self, customer_ids: Iterable[str]) -> None:
        """Tokens for every customer, one after the other: Cognito's request-rate quotas are per account and
        category (docs/terraform.md, "First deploy"), so a burst signs in its customers before it starts instead of
        from its client threads; throttling that still happens is retried by the shared client config."""
        for customer_id in dict.fromkeys(customer_ids):
            self.token(customer_id)

    def token(self, customer_id: str, admin: bool = False) -> str:
        """The customer's ID token (a member of `admins` when `admin`, else not)."""
        key = (customer_id, admin)
        with self._user_lock(customer_id):
            cached = self._tokens.get(key)
            if cached and cached[1] - time.time() > 60:
                return cached[0]
            self.ensure(customer_id, admin)
            token = self.sign_in(customer_id)["IdToken"]
            self._tokens = {k: v for k, v in self._tokens.items() if k[0] != customer_id}  # membership changed
            self._tokens[key] = (token, float(jwt_claims(token)["exp"]))
            return token

    def close(self) -> None:
        with self._lock:
            created, self._created = sorted(self._created), set()
        for customer_id in created:
            with contextlib.suppress(Exception):  # best effort: the pool may be gone with a destroy
                self.cognito.admin_delete_user(UserPoolId=self.pool_id, Username=customer_id)


def app_client_config(cognito: Any, pool_id: str, client_id: str) -> dict[str, Any]:
    """An app client's configuration as UpdateUserPoolClient takes it (DescribeUserPoolClient minus read-only and
    empty values): what `Stack.app_client_settings` and `invoke e2e`'s restore send back."""
    described = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"]
    accepted = cognito.meta.service_model.operation_model("UpdateUserPoolClient").input_shape.members
    return {k: v for k, v in described.items() if k in accepted and v not in (None, "")}


def jwt_claims(token: str) -> dict[str, Any]:
    """The (unverified) claims of a JWT."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@dataclass
class Submitted:
    """An order submitted through the API (or the Lambda), as the test saw it."""

    order_id: str
    customer_id: str
    payload: dict[str, Any]
    accepted_at: datetime
    http_status: int
    label: str = ""
    response: Any = None


@dataclass
class Scenario:
    """One scenario's record for the report: the orders it followed and notes (written by the conftest)."""

    name: str
    nodeid: str
    orders: list[Submitted] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    history_limit: int = 40

    def track(self, *orders: Submitted) -> None:
        self.orders.extend(orders)

    def note(self, text: str) -> None:
        self.notes.append(text)


class Stack:
    """The deployed stack under test: outputs, clients, API, and the checks the scenarios share."""

    def __init__(
        self, env: str, outputs: dict[str, Any], run_id: str, reports_dir: Path, say: Callable[[str], None] = print
    ):
        from scripts.common import is_local

        self.env, self.outputs, self.run_id, self.reports_dir, self.say = env, outputs, run_id, reports_dir, say
        self.local = is_local(env)
        # every response of the run is checked against the OpenAPI document (test_98_openapi_conformance.py)
        self.responses = ResponseLog(ApiContract(openapi.document()))
        self.api = ApiClient(outputs["api_url"], contract=self.responses.record)
        self.started = utcnow()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._exec_cache: dict[str, dict[str, Any]] = {}  # executionArn -> {name, orderId, status, start, stop}
        self._functions: dict[str, dict[str, str]] = {}  # state machine ARN -> {state: function}
        self._batches = 0
        # Generous on the local cloud for a 2-core CI box with cold Lambda workers; AWS is faster but farther.
        self.order_timeout = 90.0 if self.local else 180.0
        # Backpressure for bursts (docs/e2e.md "Backpressure"): the cap `invoke preflight` derives, from the local
        # cloud's worker processes or the account's unreserved Lambda concurrency; ORDERFLOW_E2E_MAX_IN_FLIGHT
        # overrides it (0: none).
        cap = os.environ.get("ORDERFLOW_E2E_MAX_IN_FLIGHT")
        if cap is None:
            from scripts.preflight import deployed_in_flight_cap

            cap = str(deployed_in_flight_cap(env, None if self.local else self.client("lambda")))
        self.max_in_flight = int(cap) or None
        self._customers: Customers | None = None
        self._canary: dict[str, Any] | None = None  # an owned order whose Order Created proves the rule routes
        self.own_event_ids: set[str] = set()  # the EventIds of what the suite itself put (put_event)
        self.bus_tap: BusTap | None = None  # every event of the run (opened by the session fixture)

    # --- customers and their tokens ----------------------------------------------------------------------------------
    @property
    def customers(self) -> Customers:
        with self._lock:
            if self._customers is None:
                pool, client = self.outputs.get("user_pool_id"), self.outputs.get("user_pool_client_id")
                assert pool and client, (
                    "the outputs have no user_pool_id / user_pool_client_id: the stack predates "
                    "the API's authentication, redeploy it (`invoke deploy`)"
                )
                from scripts.aws_session import aws_client

                self._customers = Customers(aws_client(self.env, "cognito-idp"), pool, client)
            return self._customers

    def token(self, customer_id: str, admin: bool = False) -> str:
        """The ID token of `customer_id` (created in the user pool when missing); `admin`: a member of `admins`."""
        return self.customers.token(customer_id, admin)

    def close(self) -> None:
        """Session end: delete the users this run created, and the bus tap."""
        if self._customers is not None:
            self._customers.close()
        if self.bus_tap is not None:
            self.bus_tap.close()

    # --- clients ---------------------------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                from scripts.aws_session import aws_client

                self._clients[service] = aws_client(self.env, service)
            return self._clients[service]

    @property
    def ddb(self) -> Any:
        return self.client("dynamodb")

    @property
    def sfn(self) -> Any:
        return self.client("stepfunctions")

    @property
    def executions_reader(self) -> ExecutionReader:
        """Lists, describes and reads the history of executions whatever the workflow's type (scripts/history.py:
        the history API, or an EXPRESS workflow's execution logs on AWS)."""
        return ExecutionReader.for_stack(self.outputs, self.client, env=self.env)

    @property
    def order_workflow_type(self) -> str:
        return (self.outputs.get("workflow_types") or {}).get("order-processing", "STANDARD")

    @property
    def events(self) -> Any:
        return self.client("events")

    def name(self, tag: str) -> str:
        """A run-unique id for a product, customer or key: <run_id>-<tag>."""
        return f"{self.run_id}-{tag}"

    # --- orders through the API ----------------------------------------------------------------------------------
    def submit(
        self,
        payload: dict[str, Any],
        label: str = "",
        idempotency_key: str | None = None,
        expect: int | tuple[int, ...] = 201,
        as_customer: str | None = None,
    ) -> Submitted:
        """POST /orders with the ID token of `as_customer` (default: the payload's customerId, which may then be
        left out of the payload)."""
        customer = as_customer or payload["customerId"]
        resp = self.api.create_order(payload, idempotency_key=idempotency_key, token=self.token(customer))
        expected = (expect,) if isinstance(expect, int) else expect
        assert resp.status in expected, f"POST /orders {payload} as {customer} -> expected {expected}, got {resp!r}"
        body = resp.json or {}
        assert isinstance(body, dict) and body.get("orderId"), f"POST /orders answered no orderId: {resp!r}"
        return Submitted(body["orderId"], customer, payload, utcnow(), resp.status, label, body)

    def submit_many(
        self,
        payloads: list[tuple[dict[str, Any], str]],
        workers: int = 20,
        max_in_flight: int | None = None,
        label: str = "submit",
    ) -> tuple[list[Submitted], list[Any]]:
        """Submit from `workers` concurrent client threads; returns (accepted, failures).

        Each request carries its own Idempotency-Key, so a request that times out, or is answered 5xx / 429 / 409
        "in progress", is retried with the same key: at most one order per payload, however the retries go.
        max_in_flight: when set, a client waits before submitting while that many accepted orders are not terminal
        (backpressure: `Stack.max_in_flight`, docs/e2e.md "Backpressure"). Its customers are signed in first, one
        after the other (`Customers.sign_in_all`)."""
        from concurrent.futures import ThreadPoolExecutor

        self.customers.sign_in_all(payload["customerId"] for payload, _ in payloads)  # before the burst, in order
        sem = threading.BoundedSemaphore(max_in_flight) if max_in_flight else None
        with self._lock:
            self._batches += 1
            batch_no = self._batches
        in_flight: dict[str, Submitted] = {}
        lock, done = threading.Lock(), threading.Event()
        counts = {"accepted": 0, "failed": 0, "retries": 0}

        def track() -> None:  # releases a permit per order that reached a terminal state
            from scripts.aws_session import aws_client

            ddb, table, last = aws_client(self.env, "dynamodb"), self.outputs["orders_table_name"], 0.0
            while not (done.is_set() and not in_flight):
                with lock:
                    pending = list(in_flight.values())
                for i in range(0, len(pending), 100):
                    keys = [
                        {"orderId": {"S": b.order_id}, "customerId": {"S": b.customer_id}} for b in pending[i : i + 100]
                    ]
                    try:
                        items = ddb.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
                    except Exception:  # noqa: BLE001 - try again next round
                        items = {}
                    for item in items.get("Responses", {}).get(table, []):
                        if item.get("status", {}).get("S") in TERMINAL_STATUSES:
                            with lock:
                                if in_flight.pop(item["orderId"]["S"], None) is not None and sem:
                                    sem.release()
                if time.monotonic() - last > 2.0:
                    last = time.monotonic()
                    self.say(
                        f"  [{label}] {counts['accepted']}/{len(payloads)} accepted, {len(in_flight)} in flight"
                        f" (cap {max_in_flight or '-'}), {counts['retries']} retried requests"
                    )
                time.sleep(0.3)

        def one(item: tuple[dict[str, Any], str], index: int) -> Submitted | Any:
            payload, item_label = item
            key = f"{self.run_id}-b{batch_no}-{index}"  # unique per payload across the run
            if sem:
                sem.acquire()
            result: Any = None
            for attempt in range(8):
                if attempt:
                    with lock:
                        counts["retries"] += 1
                    time.sleep(min(5.0, 0.5 * 2**attempt))
                try:
                    resp = self.api.create_order(payload, idempotency_key=key, token=self.token(payload["customerId"]))
                except ConnectionError as exc:
                    result = exc
                    continue
                body = resp.json if isinstance(resp.json, dict) else {}
                if resp.status == 201 and body.get("orderId"):
                    sub = Submitted(
                        body["orderId"], payload["customerId"], payload, utcnow(), resp.status, item_label, body
                    )
                    with lock:
                        in_flight[sub.order_id] = sub
                        counts["accepted"] += 1
                    return sub
                result = resp
                if not (
                    resp.status in (429, 500, 502, 503, 504)
                    or (resp.status == 409 and "in progress" in str(body.get("message")))
                ):
                    break
            with lock:
                counts["failed"] += 1
            if sem:
                sem.release()
            return result

        tracker = threading.Thread(target=track, daemon=True)
        tracker.start()
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(one, payloads, range(len(payloads))))
        finally:
            done.set()
            with lock:
                in_flight.clear()
            tracker.join(timeout=10)
        return [r for r in results if isinstance(r, Submitted)], [r for r in results if not isinstance(r, Submitted)]

    # --- tables ----------------------------------------------------------------------------------------------------
    def order(self, order_id: str, customer_id: str) -> dict[str, Any] | None:
        item = self.ddb.get_item(
            TableName=self.outputs["orders_table_name"],
            ConsistentRead=True,
            Key={"orderId": {"S": order_id}, "customerId": {"S": customer_id}},
        ).get("Item")
        return from_ddb(item)

    def orders(self, subs: Iterable[Submitted]) -> dict[str, dict[str, Any] | None]:
        """Current records of the orders, by orderId (BatchGetItem, consistent reads)."""
        subs = list(subs)
        out: dict[str, dict[str, Any] | None] = {s.order_id: None for s in subs}
        table = self.outputs["orders_table_name"]
        for i in range(0, len(subs), 100):
            keys = [{"orderId": {"S": s.order_id}, "customerId": {"S": s.customer_id}} for s in subs[i : i + 100]]
            request = {table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                resp = self.ddb.batch_get_item(RequestItems=request)
                for item in resp.get("Responses", {}).get(table, []):
                    record = from_ddb(item)
                    out[record["orderId"]] = record
                request = resp.get("UnprocessedKeys") or None
        return out

    def customer_orders(self, customer_id: str) -> list[dict[str, Any]]:
        """Orders of a customer from the table's CustomerId-Index (what GET /customers/{id}/orders serves)."""
        resp = self.ddb.query(
            TableName=self.outputs["orders_table_name"],
            IndexName="CustomerId-Index",
            KeyConditionExpression="customerId = :c",
            ExpressionAttributeValues={":c": {"S": customer_id}},
        )
        return [from_ddb(i) for i in resp.get("Items", [])]

    def wait_customer_orders(
        self, customer_id: str, order_ids: list[str], timeout: float = 30.0
    ) -> list[dict[str, Any]]:
        """customer_orders() once the index lists exactly `order_ids` (in any order): a GSI is eventually consistent
        (no ConsistentRead), so a read right after a write may not show it yet."""
        return wait_until(
            lambda: (
                (found := self.customer_orders(customer_id))
                and sorted(o["orderId"] for o in found) == sorted(order_ids)
                and found
            ),
            timeout,
            f"CustomerId-Index listing {order_ids} for {customer_id}",
        )

    def item(self, table_key: str, order_id: str) -> dict[str, Any] | None:
        return from_ddb(
            self.ddb.get_item(
                TableName=self.outputs[table_key], ConsistentRead=True, Key={"orderId": {"S": order_id}}
            ).get("Item")
        )

    def payment(self, order_id: str) -> dict[str, Any] | None:
        return self.item("payments_table_name", order_id)

    def reservation(self, order_id: str) -> dict[str, Any] | None:
        return self.item("reservations_table_name", order_id)

    def _scan(self, table_key: str, order_id: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"TableName": self.outputs[table_key], "ConsistentRead": True}
        if order_id is not None:
            kwargs |= {"FilterExpression": "orderId = :o", "ExpressionAttributeValues": {":o": {"S": order_id}}}
        while True:
            page = self.ddb.scan(**kwargs)
            items.extend(from_ddb(i) for i in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _scan_for_order(self, table_key: str, order_id: str) -> list[dict[str, Any]]:
        return self._scan(table_key, order_id)

    def _by_order(self, table_key: str, order_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        wanted = set(order_ids)
        out: dict[str, list[dict[str, Any]]] = {oid: [] for oid in wanted}
        for item in self._scan(table_key):
            if item.get("orderId") in wanted:
                out[item["orderId"]].append(item)
        return out

    def ledgers(self, order_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """`ledger()` of many orders with one Scan."""
        return self._by_order("payment_gateway_table_name", order_ids)

    def outboxes(self, order_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """`outbox()` of many orders with one Scan (the table holds only pending work)."""
        return self._by_order("outbox_table_name", order_ids)

    def ledger(self, order_id: str) -> list[dict[str, Any]]:
        """The payment gateway's ledger entries for the order (table `payment_gateway_table_name`, key paymentId =
        the charge's idempotency key; status AUTHORIZED / DECLINED / VOIDED / REVERSED / REFUNDED). The money held
        for the order is the amount of its AUTHORIZED entries. A filtered Scan: the provider's view, independent of
        the payments row."""
        return self._scan_for_order("payment_gateway_table_name", order_id)

    def held(self, order_id: str) -> Decimal:
        """Money the gateway holds for the order: the sum of its AUTHORIZED ledger entries."""
        return sum(
            (Decimal(str(e["amount"])) for e in self.ledger(order_id) if e["status"] == "AUTHORIZED"), Decimal(0)
        )

    def outbox(self, order_id: str) -> list[dict[str, Any]]:
        """What the order still owes (outbox table: `event` entries not yet published, its `finalize` duty); empty
        once everything is delivered and the claimer settled."""
        return self._scan_for_order("outbox_table_name", order_id)

    def stock(self, product_id: str) -> int | None:
        item = from_ddb(
            self.ddb.get_item(
                TableName=self.outputs["inventory_table_name"],
                ConsistentRead=True,
                Key={"productId": {"S": product_id}},
            ).get("Item")
        )
        return None if item is None else int(item.get("available", 0))

    def set_stock(self, product_id: str, available: int, name: str | None = None, price: str | None = None) -> None:
        """How operators set stock and price: write `available` (and the catalogue `price`, a 2-decimal string such as
        "19.99") on the product's inventory item. The order service prices every line from `price`: a product written
        without one cannot be ordered (400), and an order naming another price is answered 409."""
        inventory.put_product(
            self.ddb,
            self.outputs["inventory_table_name"],
            product_id,
            available,
            name=name or f"e2e {product_id}",
            price=price,
        )

    def price(self, product_id: str) -> Decimal | None:
        """The product's catalogue price (consistent read), None when it has none or does not exist."""
        item = (
            from_ddb(
                self.ddb.get_item(
                    TableName=self.outputs["inventory_table_name"],
                    ConsistentRead=True,
                    Key={"productId": {"S": product_id}},
                ).get("Item")
            )
            or {}
        )
        return item.get("price")

    def wait_terminal(
        self,
        scenario: Scenario | None,
        subs: list[Submitted],
        timeout: float | None = None,
        also: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Poll the orders table until every order is terminal (and `also(order)` holds); print progress lines;
        fail listing the stuck ones at the deadline."""
        timeout = timeout or self.order_timeout
        label = scenario.name if scenario else "orders"
        deadline, started, last_print = Deadline(timeout), time.monotonic(), 0.0
        while True:
            current = self.orders(subs)
            done = {
                oid: o
                for oid, o in current.items()
                if o and o.get("status") in TERMINAL_STATUSES and (also is None or also(o))
            }
            now = time.monotonic()
            if len(done) == len(subs) or deadline.expired() or now - last_print >= 2.0:
                self.say(
                    f"  [{label}] {len(subs)} orders: {len(done)} terminal, {len(subs) - len(done)} in flight "
                    f"({now - started:.1f}s)"
                )
                last_print = now
            if len(done) == len(subs):
                return done  # type: ignore[return-value]
            if deadline.expired():
                stuck = {oid: (o or {}).get("status", "<no record>") for oid, o in current.items() if oid not in done}
                sample = dict(list(stuck.items())[:10])
                raise AssertionError(f"{len(stuck)} of {len(subs)} orders not terminal after {timeout:.0f}s: {sample}")
            time.sleep(0.3 if len(subs) < 20 else 0.75)

    def wait_settled(
        self,
        scenario: Scenario | None,
        subs: list[Submitted],
        timeout: float | None = None,
        extra_keys: Iterable[str] = (),
    ) -> dict[str, dict[str, Any]]:
        """Wait until every order is terminal *and* settled: a terminal status is the claim, and the claimer's
        finalization (refund, release, notification) comes after it; `settle` deletes the order's outbox duty last.
        So: terminal, nothing in the outbox for the order, and no execution of order-processing or
        payment-processing (plus `extra_keys`) still RUNNING for it. Returns the final orders."""
        deadline = Deadline(timeout or self.order_timeout)
        self.wait_terminal(scenario, subs, timeout=deadline.left or 1.0)
        ids = {s.order_id for s in subs}
        keys = ("order-processing", "payment-processing", *extra_keys)

        def settled() -> bool:
            if any(self.outboxes(ids).values()):
                return False
            return not any(
                e["orderId"] in ids and e["status"] == "RUNNING" for key in keys for e in self.executions(key)
            )

        wait_until(
            settled,
            max(deadline.left, 1.0),
            f"{len(ids)} terminal orders settled (empty outbox, no running execution)",
            0.5,
        )
        return self.orders(subs)  # type: ignore[return-value]

    # --- notifications (S3) ---------------------------------------------------------------------------------------
    def notification(self, order_id: str, kind: str) -> dict[str, Any] | None:
        """The notification object's metadata (ETag, LastModified) or None; key notifications/<orderId>/<kind>.json."""
        s3 = self.client("s3")
        try:
            head = s3.head_object(
                Bucket=self.outputs["notifications_bucket"], Key=notification_service.workflow_key(order_id, kind)
            )
        except s3.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return {"ETag": head.get("ETag"), "LastModified": head.get("LastModified")}

    def notification_body(self, order_id: str, kind: str) -> Any:
        obj = self.client("s3").get_object(
            Bucket=self.outputs["notifications_bucket"], Key=notification_service.workflow_key(order_id, kind)
        )
        return json.loads(obj["Body"].read())

    def notification_keys(self, order_id: str) -> list[str]:
        resp = self.client("s3").list_objects_v2(
            Bucket=self.outputs["notifications_bucket"], Prefix=f"notifications/{order_id}/"
        )
        return sorted(o["Key"] for o in resp.get("Contents", []))

    def wait_notification(self, order_id: str, kind: str, timeout: float = 30.0) -> dict[str, Any]:
        return wait_until(
            lambda: self.notification(order_id, kind), timeout, notification_service.workflow_key(order_id, kind)
        )

    def workflow_notifications(self, order_id: str) -> list[str]:
        """Every object under `notifications/<orderId>/`, named relative to it without `.json`: the outcome types
        the workflows wrote (`<type>.json`). Nothing else is written (no rule targets the notification Lambda), so
        anything else (an `events/...` object) shows here and fails the caller's `== [type]`."""
        prefix = f"notifications/{order_id}/"
        return [k[len(prefix) :].removesuffix(".json") for k in self.notification_keys(order_id)]

    # --- Step Functions --------------------------------------------------------------------------------------------
    def sm_arn(self, key: str = "order-processing") -> str:
        return self.outputs["state_machine_arns"][key]

    def executions(self, key: str = "order-processing", since: datetime | None = None) -> list[dict[str, Any]]:
        """Executions of a state machine started since `since` (default: this run), each with its orderId (from the
        input); newest first."""
        since = since or (self.started - timedelta(seconds=5))
        reader = self.executions_reader
        found = list(reader.list_executions(self.sm_arn(key), since))
        out = []
        for ex in found:
            cached = self._exec_cache.get(ex["executionArn"])
            if cached is None or cached["status"] == "RUNNING":
                desc = reader.describe(ex["executionArn"])
                cached = {
                    "arn": ex["executionArn"],
                    "name": ex["name"],
                    "stateMachine": key,
                    "status": desc["status"],
                    "orderId": execution_order_id(desc.get("input")),
                    "input": desc.get("input"),
                    "start": iso(parse_ts(desc.get("startDate"))),
                    "stop": iso(parse_ts(desc.get("stopDate"))),
                }
                self._exec_cache[ex["executionArn"]] = cached
            out.append(cached)
        return out

    def executions_for(self, order_id: str, key: str = "order-processing") -> list[dict[str, Any]]:
        """This order's executions of a state machine, oldest first."""
        return sorted((e for e in self.executions(key) if e["orderId"] == order_id), key=lambda e: e["start"] or "")

    def wait_executions(
        self,
        order_id: str,
        count: int = 1,
        key: str = "order-processing",
        terminal: bool = True,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        def check() -> list[dict[str, Any]] | None:
            found = self.executions_for(order_id, key)
            if len(found) < count or (terminal and any(e["status"] == "RUNNING" for e in found)):
                return None
            return found

        return wait_until(
            check, timeout or self.order_timeout, f"{count} finished {key} execution(s) for {order_id}", 0.5
        )

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.executions_reader.events(execution_arn)

    def task_functions(self, state_machine_arn: str) -> dict[str, str]:
        """{state: Lambda function} of a state machine's definition (cached)."""
        with self._lock:
            cached = self._functions.get(state_machine_arn)
        if cached is None:
            cached = task_functions(self.sfn.describe_state_machine(stateMachineArn=state_machine_arn)["definition"])
            with self._lock:
                self._functions[state_machine_arn] = cached
        return cached

    def summary(self, execution_arn: str) -> dict[str, Any]:
        sm_arn = state_machine_arn_of(execution_arn)
        return summarize_history(self.history(execution_arn), self.task_functions(sm_arn))

    def output(self, execution_arn: str) -> Any:
        """A finished execution's output (None for a failed one)."""
        return json.loads(self.executions_reader.describe(execution_arn).get("output") or "null")

    def finalized(self, execution_arn: str) -> dict[str, Any] | None:
        """What the execution's finalize branch did: the branch output `$.finalized[0]` = {order, claim, refund?,
        release?, notification, settled} (refund/release only for a compensating claim); None when it did not
        finalize. The one cloud-independent view of the branch (docs/e2e.md, gap 9)."""
        out = self.output(execution_arn)
        done = out.get("finalized") if isinstance(out, dict) else None
        return done[0] if isinstance(done, list) and done else None

    def top_level_calls(self, execution_arn: str) -> list[str]:
        """The Lambda functions the execution's top-level task states called (one entry per attempt), in order. The
        Finalize branch's tasks are left out (they are in `finalized()`): MiniStack records them without state
        events or function names (docs/e2e.md, gap 9)."""
        sm_arn = state_machine_arn_of(execution_arn)
        top = set(json.loads(self.sfn.describe_state_machine(stateMachineArn=sm_arn)["definition"])["States"])
        return [t["function"] for t in self.summary(execution_arn)["tasks"] if t.get("function") and t["state"] in top]

    def last_state(self, execution_arn: str) -> str | None:
        states = self.summary(execution_arn)["states"]
        return states[-1]["name"] if states else None

    # --- dead letters ----------------------------------------------------------------------------------------------
    def dead_letter_a_healthy_event(self, customer_id: str) -> tuple[str, dict[str, Any]]:
        """Put in the notification Lambda's DLQ, in the format AWS writes to a Lambda DLQ (the invoke's event as the
        body, RequestID/ErrorCode/ErrorMessage attributes), a valid `notify` request (what the finalize fragment's
        NotifyOutcome sends) whose failure has since been fixed: a redrive must write
        `notifications/<orderId>/payment-declined.json`. Returns (orderId, the request)."""
        order_id = str(uuid.uuid4())
        request = {
            "action": "notify",
            "type": "payment-declined",
            "order": {"orderId": order_id, "customerId": customer_id, "totalAmount": "12.50"},
            "details": {"status": "PAYMENT_FAILED", "reason": "declined"},
        }
        self.client("sqs").send_message(
            QueueUrl=self.outputs["dlq_urls"]["lambda-notification"],
            MessageBody=json.dumps(request),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                "ErrorCode": {"DataType": "String", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": "e2e: a failure that has since been fixed"},
            },
        )
        return order_id, request

    # --- EventBridge -----------------------------------------------------------------------------------------------
    def put_event(self, source: str, detail_type: str, detail: dict[str, Any] | str) -> str:
        """Put one event. An operator-only source (output `operator_event_sources`) goes through the operator role
        (sts:AssumeRole on output `operator_role_arn`), as an operator's tooling must: no other principal of the
        stack may put it (docs/terraform.md, "Who may put which events"). Other sources use the suite's identity."""
        entry = {
            "Source": source,
            "DetailType": detail_type,
            "EventBusName": self.outputs["event_bus_name"],
            "Detail": detail if isinstance(detail, str) else json.dumps(detail),
        }
        events = self._operator_events() if source in self._operator_sources() else self.events
        resp = events.put_events(Entries=[entry])
        assert resp.get("FailedEntryCount", 0) == 0, f"put_events failed: {resp.get('Entries')}"
        with self._lock:
            self.own_event_ids.add(resp["Entries"][0]["EventId"])
        return resp["Entries"][0]["EventId"]

    def _operator_sources(self) -> list[str]:
        sources, role = self.outputs.get("operator_event_sources"), self.outputs.get("operator_role_arn")
        assert sources and role, (
            "the outputs have no operator_role_arn / operator_event_sources: the stack predates "
            "the operator role, redeploy it (`invoke deploy`)"
        )
        return sources

    def _operator_events(self) -> Any:
        """An EventBridge client with the operator role's credentials, assumed again 5 minutes before they expire."""
        sts = self.client("sts")
        with self._lock:
            cached = getattr(self, "_operator_client", None)
            if cached is not None and (cached[1] - datetime.now(cached[1].tzinfo)).total_seconds() > 300:
                return cached[0]
        import boto3

        session = "".join(c if c.isalnum() or c in "+=,.@-_" else "-" for c in f"orderflow-e2e-{self.run_id}")[:64]
        creds = sts.assume_role(RoleArn=self.outputs["operator_role_arn"], RoleSessionName=session)["Credentials"]
        meta = self.events.meta  # the suite's own events client: same region, endpoint and botocore config
        client = boto3.client(
            "events",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=meta.region_name,
            endpoint_url=meta.endpoint_url,
            config=meta.config,
        )
        with self._lock:
            self._operator_client = (client, creds["Expiration"])
        return client

    def rules(self) -> list[dict[str, Any]]:
        out, kwargs = [], {"EventBusName": self.outputs["event_bus_name"]}
        while True:
            page = self.events.list_rules(**kwargs)
            out.extend(page.get("Rules", []))
            if not page.get("NextToken"):
                return out
            kwargs["NextToken"] = page["NextToken"]

    def rule_for(self, detail_type: str, target_arn: str | None = None) -> dict[str, Any]:
        """The bus rule whose pattern names `detail_type` (and targets `target_arn`, when given); archive-managed
        rules are skipped."""
        matches = []
        for rule in self.rules():
            if rule.get("ManagedBy"):
                continue
            try:
                pattern = json.loads(rule.get("EventPattern") or "{}")
            except ValueError:
                continue
            if detail_type not in (pattern.get("detail-type") or []):
                continue
            if target_arn:
                targets = self.events.list_targets_by_rule(
                    Rule=rule["Name"], EventBusName=self.outputs["event_bus_name"]
                )
                if not any(t["Arn"] == target_arn for t in targets.get("Targets", [])):
                    continue
            matches.append(rule)
        assert matches, f"no rule on {self.outputs['event_bus_name']} routes '{detail_type}'" + (
            f" to {target_arn}" if target_arn else ""
        )
        return matches[0]

    # --- changes to the stack that a test must undo ------------------------------------------------------------
    def _pending(self, update: Callable[[dict[str, Any]], None]) -> None:
        """Record (or clear) a change in build/<env>/reports/.e2e-restore.json before making (after undoing) it, so
        that `invoke e2e` can put things back if this process dies in between."""
        e2e_restore.record(self.reports_dir, update)

    def _canary_order(self) -> dict[str, Any]:
        """An order of this run that has completed, and the Order Created event that started it: re-put, that event
        starts an execution that OwnOrder's condition refuses and that ends at once (test_07), so it proves whether the
        Order Created rule routes without touching any scenario's data."""
        if self._canary is None:
            product = self.name("canary")
            self.set_stock(product, 1, price="1.00")
            sub = self.submit(order_payload(self.name("c-canary"), [(product, 1, "1.00")]), label="rule canary")
            self.wait_terminal(None, [sub])
            [first] = self.wait_executions(sub.order_id)
            event = json.loads(first["input"])
            self._canary = {
                "orderId": sub.order_id,
                "source": event["source"],
                "detailType": event["detail-type"],
                "detail": event["detail"],
            }
        return self._canary

    def _canary_routed(self, event_id: str) -> bool:
        """Did the canary put as `event_id` start an order-processing execution (the execution input is the event)?"""
        return any(
            json.loads(e["input"] or "{}").get("id") == event_id
            for e in self.executions_for(self._canary_order()["orderId"])
        )

    def _put_canary(self) -> str:
        canary = self._canary_order()
        return self.put_event(canary["source"], canary["detailType"], canary["detail"])

    def wait_rule_routing(self, routing: bool) -> None:
        """Poll until the Order Created rule's state has reached the router. EventBridge applies Enable/DisableRule
        eventually, after DescribeRule already reports it. Enabled: a canary put now starts an execution (canaries
        are re-put while the change propagates). Disabled: a canary put now starts none within the delivery window
        (2 s locally, 10 s on AWS, where delivery takes well under a second)."""
        timeout, window = (30.0, 2.0) if self.local else (180.0, 10.0)
        deadline = Deadline(timeout)
        while True:
            event_id = self._put_canary()
            try:
                wait_until(lambda event_id=event_id: self._canary_routed(event_id), window, "the canary's execution")
                routed = True
            except TimeoutError:
                routed = False
            if routed == routing:
                return
            if deadline.expired():
                raise AssertionError(
                    f"the Order Created rule still {'does not route' if routing else 'routes'} "
                    f"canary events after {timeout:.0f}s"
                )

    @contextlib.contextmanager
    def rule_disabled(self, detail_type: str, target_arn: str | None = None) -> Iterator[dict[str, Any]]:
        """Disable the rule routing `detail_type` for the block; re-enable it after, even on failure. The Order
        Created rule is proven off (and on again) by canary events, not by DescribeRule alone."""
        rule = self.rule_for(detail_type, target_arn)
        bus, name = self.outputs["event_bus_name"], rule["Name"]
        provable = detail_type == "Order Created"
        if provable:
            self._canary_order()  # made while the rule still routes
        self._pending(lambda p: p.__setitem__("rules", sorted(set(p.get("rules", [])) | {name})))
        self.events.disable_rule(Name=name, EventBusName=bus)
        try:
            wait_until(
                lambda: self.events.describe_rule(Name=name, EventBusName=bus)["State"] == "DISABLED",
                30,
                f"rule {name} DISABLED",
            )
            if provable:
                self.wait_rule_routing(False)
            yield rule
        finally:
            self.events.enable_rule(Name=name, EventBusName=bus)
            self._pending(lambda p: p.__setitem__("rules", sorted(set(p.get("rules", [])) - {name})))
            if provable:
                self.wait_rule_routing(True)

    @contextlib.contextmanager
    def app_client_settings(self, **changes: Any) -> Iterator[dict[str, Any]]:
        """Run the block with the API's Cognito app client reconfigured; restore it after, even on failure.
        UpdateUserPoolClient replaces the whole configuration, so the described one is sent back with `changes`."""
        cognito, pool, client = self.customers.cognito, self.customers.pool_id, self.customers.client_id
        original = app_client_config(cognito, pool, client)
        key = f"{pool}/{client}"
        self._pending(lambda p: p.setdefault("user_pool_clients", {}).__setitem__(key, original))
        try:
            cognito.update_user_pool_client(**{**original, **changes})
            yield {**original, **changes}
        finally:
            cognito.update_user_pool_client(**original)
            self._pending(lambda p: p.get("user_pool_clients", {}).pop(key, None))

    @contextlib.contextmanager
    def function_environment(self, service: str, changes: dict[str, str]) -> Iterator[dict[str, str]]:
        """Run the block with `changes` merged into a stack function's environment variables; restore after."""
        lam, name = self.client("lambda"), self.outputs["function_names"][service]
        original = lam.get_function_configuration(FunctionName=name).get("Environment", {}).get("Variables", {})

        def apply(variables: dict[str, str]) -> None:
            lam.update_function_configuration(FunctionName=name, Environment={"Variables": variables})
            lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})

        self._pending(lambda p: p.setdefault("functions", {}).__setitem__(name, original))
        apply({**original, **changes})
        try:
            yield {**original, **changes}
        finally:
            apply(original)
            self._pending(lambda p: p.get("functions", {}).pop(name, None))

    # --- Lambda ----------------------------------------------------------------------------------------------------
    def invoke(self, service: str, payload: dict[str, Any]) -> Any:
        """Synchronous invoke of a stack function (the task contracts of docs/architecture.md)."""
        resp = self.client("lambda").invoke(
            FunctionName=self.outputs["function_names"][service], Payload=json.dumps(payload, default=str).encode()
        )
        body = resp["Payload"].read()
        result = json.loads(body or b"null")
        assert not resp.get("FunctionError"), f"{service} Lambda failed on {payload}: {result}"
        return result

    def task_order(self, sub: Submitted) -> dict[str, Any]:
        """The `order` object the workflows hand to the Lambdas: the stored order's items and total (the server's
        prices; the payload may leave them out)."""
        stored = self.order(sub.order_id, sub.customer_id) or {}
        items = [
            {"productId": i["productId"], "quantity": int(i["quantity"]), "price": str(i["price"])}
            for i in stored.get("items", [])
        ] or sub.payload["items"]
        total = stored.get("totalAmount")
        return {
            "orderId": sub.order_id,
            "customerId": sub.customer_id,
            "items": items,
            "totalAmount": str(total) if total is not None else sub.payload["totalAmount"],
        }


class StockSampler:
    """Samples a product's `available` in a background thread (consistent reads) while orders run."""

    def __init__(self, stack: Stack, product_id: str, interval: float = 0.05):
        self.stack, self.product_id, self.interval = stack, product_id, interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from scripts.aws_session import aws_client

        ddb = aws_client(self.stack.env, "dynamodb")  # its own client: boto3 clients are shared-safe, pools are not big
        table = self.stack.outputs["inventory_table_name"]
        while not self._stop.is_set():
            try:
                item = ddb.get_item(
                    TableName=table, ConsistentRead=True, Key={"productId": {"S": self.product_id}}
                ).get("Item")
                if item:
                    self.samples.append(int(item["available"]["N"]))
            except Exception:  # noqa: BLE001, S110 - a missed sample is not a finding
                pass
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class BusTap:
    """A rule matching every event on the stack's bus, delivering to a temporary SQS queue: what the bus carried,
    drained up to a canary event the tap puts itself. `close()` deletes the rule and the queue."""

    CANARY = ("orderflow.e2e", "E2E Canary")

    def __init__(self, stack: Stack, purpose: str) -> None:
        self.stack, self.name = stack, stack.name(purpose)[:64]
        self.sqs, self.events, self.bus = stack.client("sqs"), stack.events, stack.outputs["event_bus_name"]
        self.queue_url = self.sqs.create_queue(QueueName=self.name)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rule_arn = self.events.put_rule(
            Name=self.name,
            EventBusName=self.bus,
            EventPattern=json.dumps({"source": [{"prefix": ""}]}),
            Description=f"temporary: e2e {purpose} (deleted by the suite)",
        )["RuleArn"]
        self.sqs.set_queue_attributes(
            QueueUrl=self.queue_url,
            Attributes={
                "Policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": queue_arn,
                                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                            }
                        ],
                    }
                )
            },
        )
        self.events.put_targets(Rule=self.name, EventBusName=self.bus, Targets=[{"Id": "tap", "Arn": queue_arn}])

    def is_canary(self, event: dict[str, Any], marker: str) -> bool:
        detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
        return (event.get("source"), event.get("detail-type")) == self.CANARY and (
            detail.get("runId"),
            detail.get("marker"),
        ) == (self.stack.run_id, marker)

    def drain(self, marker: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """Put a canary with `marker`, then every event delivered until it arrives (the canary included), oldest
        receipt first; fails when the canary does not arrive in time."""
        timeout = timeout or (60 if self.stack.local else 120)
        self.stack.put_event(*self.CANARY, {"runId": self.stack.run_id, "marker": marker})
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            for message in messages:
                seen.append(json.loads(message["Body"]))
            if messages:
                self.sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
            if any(self.is_canary(e, marker) for e in seen):
                return seen
        raise AssertionError(
            f"the tap rule did not deliver canary '{marker}' within {timeout:.0f}s: {len(seen)} other events"
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):  # best effort: the stack may be gone with a destroy
            self.events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=["tap"])
            self.events.delete_rule(Name=self.name, EventBusName=self.bus)
        with contextlib.suppress(Exception):
            self.sqs.delete_queue(QueueUrl=self.queue_url)
