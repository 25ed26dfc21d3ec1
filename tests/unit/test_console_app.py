"""The console's application through Werkzeug's test client, over the unit tests' moto cloud (orders and inventory
tables, an SQS queue as a DLQ) with fakes for the API (cancel) and the operator's EventBridge client.

Every route needs an operator's session; every POST needs the session's CSRF token; an action is carried out only
after its confirmation, and each one carried out is audited; bad input gets a clear message and changes nothing."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import boto3
import pytest
from werkzeug.test import Client

from scripts.console.app import SESSION_COOKIE
from tests.unit.conftest import ENV
from tests.unit.console_support import BASE, FakeApi, FakeEvents, make_app, token

ORDER_ID = "0b6a3c3e-1f1e-4b59-9a51-1e2d3c4b5a69"


@pytest.fixture
def setup(cloud, tmp_path):
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName="console-test-dlq")["QueueUrl"]
    outputs = {
        "env": "local",
        "orders_table_name": ENV["ORDERS_TABLE"],
        "inventory_table_name": ENV["INVENTORY_TABLE"],
        "payments_table_name": ENV["PAYMENTS_TABLE"],
        "reservations_table_name": ENV["RESERVATIONS_TABLE"],
        "event_bus_name": ENV["EVENT_BUS_NAME"],
        "dlq_urls": {"lambda-notification": dlq_url},
        "dlq_sources": {
            "lambda-notification": {"kind": "lambda", "arn": "arn:aws:lambda:us-east-1:000000000000:function:n"}
        },
        "state_machine_arns": {},
    }
    api, events = FakeApi(), FakeEvents()
    app = make_app(tmp_path, outputs, api, events)
    orders = boto3.resource("dynamodb").Table(ENV["ORDERS_TABLE"])
    orders.put_item(
        Item={
            "orderId": ORDER_ID,
            "customerId": "alice",
            "status": "PENDING",
            "totalAmount": Decimal("20.00"),
            "items": [{"productId": "prod-1", "quantity": 1}],
            "createdAt": "2026-12-06T10:00:00.000Z",
            "updatedAt": "2026-12-06T10:00:00.000Z",
        }
    )
    boto3.resource("dynamodb").Table(ENV["INVENTORY_TABLE"]).put_item(
        Item={"productId": "prod-1", "name": "prod-1", "available": 5, "reserved": 0, "price": Decimal("19.99")}
    )
    return app, api, events, tmp_path / "audit" / "console.jsonl"


def client(app, session_token: str | None = None) -> Client:
    c = Client(app)
    if session_token:
        c.set_cookie(SESSION_COOKIE, session_token, domain="127.0.0.1")
    return c


def csrf_of(c: Client) -> str:
    page = c.get("/orders", base_url=BASE).get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def message(response) -> str:
    return html.unescape(re.search(r'id="(?:message|what)">([^<]*)<', response.get_data(as_text=True)).group(1))


GETS = ["/", "/orders", f"/orders/{ORDER_ID}", "/stock", "/queues", "/queues/lambda-notification", "/audit", "/nowhere"]
POSTS = ["/logout", "/actions/cancel", "/actions/refund", "/actions/restock", "/actions/redrive"]


@pytest.mark.parametrize("path", GETS)
def test_every_page_without_a_session_goes_to_sign_in(setup, path):
    app, *_ = setup
    response = client(app).get(path, base_url=BASE)
    assert (response.status_code, response.headers["Location"]) == (303, "/login")


@pytest.mark.parametrize("path", POSTS)
def test_every_post_without_a_session_is_401_and_changes_nothing(setup, path):
    app, api, events, audit = setup
    response = client(app).post(path, base_url=BASE, data={"orderId": ORDER_ID, "confirm": "yes"})
    assert response.status_code == 401
    assert (api.calls, events.entries, audit.exists()) == ([], [], False)


@pytest.mark.parametrize("path", GETS[:-1])
def test_a_customers_token_opens_no_page(setup, path):
    app, *_ = setup
    response = client(app, token(**{"cognito:groups": []})).get(path, base_url=BASE)
    assert response.status_code == 401
    assert message(response) == "ops is not an operator (group admins): ask for membership (invoke customer --admin)."
    assert any(h.startswith(f"{SESSION_COOKIE}=;") for h in response.headers.getlist("Set-Cookie")), "token dropped"


def test_an_expired_token_is_refused(setup):
    app, *_ = setup
    response = client(app, token(exp=1)).get("/orders", base_url=BASE)
    assert (response.status_code, message(response)) == (401, "The token has expired: sign in again.")


def test_only_loopback_host_names_are_served(setup):
    app, *_ = setup
    response = client(app, token()).get("/orders", base_url="http://evil.example:8765")
    assert response.status_code == 421


def test_sign_in_sets_an_http_only_strict_cookie_and_refuses_bad_credentials(setup):
    app, *_ = setup
    c = client(app)
    form = c.get("/login", base_url=BASE)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    wrong = c.post("/login", base_url=BASE, data={"nonce": nonce, "username": "ops", "password": "nope"})
    assert (wrong.status_code, message(wrong)) == (401, "Wrong user name or password.")
    nonce = re.search(r'name="nonce" value="([^"]+)"', wrong.get_data(as_text=True)).group(1)
    ok = c.post("/login", base_url=BASE, data={"nonce": nonce, "username": "ops", "password": "Right-password-1!"})
    assert (ok.status_code, ok.headers["Location"]) == (303, "/orders")
    cookie = next(h for h in ok.headers.getlist("Set-Cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert c.get("/orders", base_url=BASE).status_code == 200


def test_sign_in_without_the_forms_nonce_is_refused(setup):
    app, *_ = setup
    response = client(app).post("/login", base_url=BASE, data={"nonce": "forged", "token": token()})
    assert (response.status_code, message(response)) == (403, "The sign-in form expired: try again.")


def test_a_pasted_id_token_signs_in(setup):
    app, *_ = setup
    c = client(app)
    nonce = re.search(r'name="nonce" value="([^"]+)"', c.get("/login", base_url=BASE).get_data(as_text=True)).group(1)
    response = c.post("/login", base_url=BASE, data={"nonce": nonce, "token": token()})
    assert response.status_code == 303
    assert ">ops<" in c.get("/stock", base_url=BASE).get_data(as_text=True)


@pytest.mark.parametrize("csrf", [None, "", "0" * 64])
def test_a_post_without_the_sessions_csrf_token_changes_nothing(setup, csrf):
    app, api, events, audit = setup
    data = {"productId": "prod-1", "quantity": "3", "confirm": "yes"} | ({"csrf": csrf} if csrf is not None else {})
    response = client(app, token()).post("/actions/restock", base_url=BASE, data=data)
    assert response.status_code == 403
    assert message(response) == "The form's CSRF token is missing or wrong: reload the page and try again."
    assert (api.calls, events.entries, audit.exists()) == ([], [], False)


def test_a_cross_origin_post_is_refused(setup):
    app, _, events, _ = setup
    c = client(app, token())
    response = c.post(
        "/actions/restock",
        base_url=BASE,
        headers={"Origin": "http://evil.example"},
        data={"csrf": csrf_of(c), "productId": "prod-1", "quantity": "3", "confirm": "yes"},
    )
    assert response.status_code == 403 and events.entries == []


@pytest.mark.parametrize(
    ("action", "form", "status", "text"),
    [
        (
            "restock",
            {"productId": "prod-1", "quantity": "abc"},
            400,
            "Quantity 'abc' is not valid: a whole number from 1 to 1,000,000.",
        ),
        (
            "restock",
            {"productId": "prod-1", "quantity": "0"},
            400,
            "Quantity '0' is not valid: a whole number from 1 to 1,000,000.",
        ),
        (
            "restock",
            {"productId": "prod-1", "quantity": "1000001"},
            400,
            "Quantity '1000001' is not valid: a whole number from 1 to 1,000,000.",
        ),
        (
            "restock",
            {"productId": "prod-1", "quantity": "2", "price": "1.234"},
            400,
            "Price '1.234' is not valid: an amount >= 0 with at most 2 decimals, below 100,000,000 (e.g. 19.99).",
        ),
        (
            "restock",
            {"productId": "bad id!", "quantity": "2"},
            400,
            "Product id 'bad id!' is not valid: 1-64 characters A-Z a-z 0-9 _ - starting with a letter or digit.",
        ),
        (
            "cancel",
            {"orderId": "../etc"},
            400,
            "Order id '../etc' is not valid: 1-64 characters A-Z a-z 0-9 _ - (the orderId of POST /orders).",
        ),
        ("cancel", {"orderId": "no-such-order"}, 404, f"There is no order no-such-order in {ENV['ORDERS_TABLE']}."),
        (
            "refund",
            {"orderId": ORDER_ID, "reason": "x" * 201},
            400,
            "The reason must be at most 200 printable characters.",
        ),
        (
            "redrive",
            {"queue": "nope"},
            400,
            "Queue 'nope' is not a dead-letter queue of this stack: choose one of lambda-notification.",
        ),
        (
            "redrive",
            {"queue": "lambda-notification", "count": "0"},
            400,
            "Count '0' is not valid: a whole number from 1 to 100, or empty for every message.",
        ),
        ("explode", {}, 400, "Unknown action 'explode': cancel, refund, restock, redrive."),
    ],
)
@pytest.mark.parametrize("confirm", [False, True])
def test_bad_input_gets_a_clear_message_and_changes_nothing(setup, action, form, status, text, confirm):
    app, api, events, audit = setup
    c = client(app, token())
    data = {**form, "csrf": csrf_of(c)} | ({"confirm": "yes"} if confirm else {})
    response = c.post(f"/actions/{action}", base_url=BASE, data=data)
    assert (response.status_code, message(response)) == (status, text)
    assert "Nothing was changed." in response.get_data(as_text=True)
    assert (api.calls, events.entries, audit.exists()) == ([], [], False)
    stock = boto3.resource("dynamodb").Table(ENV["INVENTORY_TABLE"]).get_item(Key={"productId": "prod-1"})["Item"]
    assert stock["available"] == 5


@pytest.mark.parametrize(
    ("query", "text"),
    [
        (
            "status=bogus",
            "Status 'BOGUS' is not one of PENDING, PAID, PAYMENT_FAILED, INVENTORY_RESERVED, INVENTORY_UNAVAILABLE, COMPLETED, CANCELLED, EXPIRED, FAILED.",
        ),
        (
            "customer=no%20spaces",
            "Customer id 'no spaces' is not valid: 1-64 characters A-Z a-z 0-9 _ - starting with a letter or digit.",
        ),
        ("since=yesterday", "From 'yesterday' is not a time: use ISO 8601, e.g. 2026-12-06T23:19 (UTC)."),
        ("since=2026-12-07T00:00&until=2026-12-06T00:00", "From is after To: swap them."),
        ("page=bm90LWpzb24", "The page position is not valid: start again from the first page."),
        ("page=eyJvcmRlcklkIjogMX0", "The page position is not valid: start again from the first page."),
    ],
)
def test_bad_order_filters_are_refused(setup, query, text):
    app, *_ = setup
    response = client(app, token()).get(f"/orders?{query}", base_url=BASE)
    assert (response.status_code, message(response)) == (400, text)


def test_cancel_asks_for_confirmation_then_cancels_through_the_api_and_audits(setup):
    app, api, _, audit = setup
    session_token = token()
    c = client(app, session_token)
    csrf = csrf_of(c)
    first = c.post("/actions/cancel", base_url=BASE, data={"csrf": csrf, "orderId": ORDER_ID})
    assert first.status_code == 200
    assert message(first) == (
        f"Cancel order {ORDER_ID} (now PENDING) of alice through the API's DELETE /orders/{{orderId}}, as you."
    )
    assert (api.calls, audit.exists()) == ([], False), "nothing before the confirmation"
    done = c.post("/actions/cancel", base_url=BASE, data={"csrf": csrf, "orderId": ORDER_ID, "confirm": "yes"})
    assert (done.status_code, message(done)) == (200, f"Order {ORDER_ID} is CANCELLED.")
    assert api.calls == [(ORDER_ID, session_token)], "the operator's own token: the API's admins rule applies"
    [record] = [json.loads(line) for line in audit.read_text().splitlines()]
    assert {k: record[k] for k in ("who", "sub", "action", "params", "result", "message")} == {
        "who": "ops",
        "sub": "11111111-2222-3333-4444-555555555555",
        "action": "cancel",
        "params": {"orderId": ORDER_ID},
        "result": "ok",
        "message": f"Order {ORDER_ID} is CANCELLED.",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["at"])


def test_a_refused_cancel_is_reported_and_audited_as_failed(setup):
    app, api, _, audit = setup
    api.answer = (409, {"message": "order is already COMPLETED"})
    c = client(app, token())
    done = c.post("/actions/cancel", base_url=BASE, data={"csrf": csrf_of(c), "orderId": ORDER_ID, "confirm": "yes"})
    assert (done.status_code, message(done)) == (502, "The API answered 409: order is already COMPLETED.")
    [record] = [json.loads(line) for line in audit.read_text().splitlines()]
    assert (record["action"], record["result"]) == ("cancel", "failed")


def test_restock_and_refund_put_the_operator_events(setup):
    app, _, events, audit = setup
    c = client(app, token())
    csrf = csrf_of(c)
    c.post(
        "/actions/restock",
        base_url=BASE,
        data={"csrf": csrf, "productId": "prod-1", "quantity": "7", "price": "21.5", "confirm": "yes"},
    )
    c.post(
        "/actions/refund",
        base_url=BASE,
        data={"csrf": csrf, "orderId": ORDER_ID, "reason": "damaged", "confirm": "yes"},
    )
    restock, refund = events.entries
    assert (restock["Source"], restock["DetailType"], restock["EventBusName"]) == (
        "inventory.admin",
        "Inventory Restocked",
        ENV["EVENT_BUS_NAME"],
    )
    detail = json.loads(restock["Detail"])
    assert detail.pop("eventId").startswith("console-restock-")
    assert detail == {"productId": "prod-1", "quantity": 7, "price": "21.5"}
    assert (refund["Source"], refund["DetailType"]) == ("orderflow.operator", "Refund Requested")
    detail = json.loads(refund["Detail"])
    assert detail.pop("eventId").startswith("console-refund-")
    assert detail == {"orderId": ORDER_ID, "customerId": "alice", "reason": "damaged"}
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(r["action"], r["result"], r["who"]) for r in records] == [
        ("restock", "ok", "ops"),
        ("refund", "ok", "ops"),
    ]


def test_orders_by_customer_read_the_index_and_page(setup):
    app, *_ = setup
    table = boto3.resource("dynamodb").Table(ENV["ORDERS_TABLE"])
    for n in range(30):
        table.put_item(
            Item={
                "orderId": f"order-{n:02d}",
                "customerId": "bob",
                "status": "COMPLETED" if n % 2 else "CANCELLED",
                "totalAmount": Decimal("1.00"),
                "createdAt": f"2026-12-06T11:{n:02d}:00.000Z",
                "updatedAt": f"2026-12-06T11:{n:02d}:00.000Z",
            }
        )
    c = client(app, token())
    first = c.get("/orders?customer=bob", base_url=BASE).get_data(as_text=True)
    ids = re.findall(r'data-order-id="([^"]+)"', first)
    assert ids == [f"order-{n:02d}" for n in range(29, 4, -1)], "newest first, 25 a page"
    assert "Read from CustomerId-Index (customer, created time), newest first (" in first
    next_link = html.unescape(re.search(r'id="next" href="([^"]+)"', first).group(1))
    second = re.findall(r'data-order-id="([^"]+)"', c.get(next_link, base_url=BASE).get_data(as_text=True))
    assert second == [f"order-{n:02d}" for n in range(4, -1, -1)]
    filtered = c.get(
        "/orders?customer=bob&status=cancelled&since=2026-12-06T11:20&until=2026-12-06T11:25", base_url=BASE
    )
    assert re.findall(r'data-order-id="([^"]+)"', filtered.get_data(as_text=True)) == [
        "order-24",
        "order-22",
        "order-20",
    ]
    scanned = c.get("/orders?status=PENDING", base_url=BASE).get_data(as_text=True)
    assert re.findall(r'data-order-id="([^"]+)"', scanned) == [ORDER_ID]
    assert "a scan of the table (no index by status or time alone)" in scanned


def test_pages_show_stock_queues_and_alarms(setup):
    app, *_ = setup
    c = client(app, token())
    stock = c.get("/stock", base_url=BASE).get_data(as_text=True)
    assert re.search(r'data-product-id="prod-1">.*?class="available">5<.*?>19\.99<', stock, re.DOTALL)
    queues = c.get("/queues", base_url=BASE).get_data(as_text=True)
    assert re.search(r'data-queue="lambda-notification">.*?class="depth">0<', queues, re.DOTALL)
    assert "No alarms named orderflow-local-*: the local emulator" in queues
