"""`invoke console` driven in a real browser: Debian's headless Chromium through its chromedriver (/usr/bin/chromedriver,
given to Selenium explicitly so that Selenium Manager downloads nothing), against the deployed stack.

One console runs in this process on a free loopback port (scripts/console, as `invoke console` serves it). An
operator of the stack's user pool (group `admins`, a password set here) signs in through the form; the test then
finds an order it placed on the orders page, opens it and checks the execution graph's highlighted path in the SVG;
cancels an order it holds PENDING (the Order Created rule disabled, as test_05 does) and checks the order's status in
DynamoDB; restocks a product and checks the stock; redrives a message it put in a DLQ (the format of test_16) and
checks it is gone and delivered. Every action goes through the confirmation page, and each lands in the audit trail.
Screenshots go to build/<env>/reports/console-*.png.

The browser tests skip, with the reason, only where Chromium or its driver is not installed (scripts/bootstrap.sh
installs both where it may, so CI has them).
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from wsgiref.simple_server import make_server

import pytest

from scripts.api_client import order_payload
from scripts.common import env_build_dir, reports_dir
from scripts.polling import wait_until

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: The path a COMPLETED order takes through order-processing's top level (docs/operations.md's trace).
COMPLETED_PATH = [
    "OwnOrder",
    "UseEventOrder",
    "ProcessPayment",
    "CheckPaymentStatus",
    "ReserveInventory",
    "CheckInventoryStatus",
    "CompleteOrder",
    "PublishCompleted",
    "ForgetCompletedEvent",
    "Finalize",
    "WasItAFailure",
    "OrderFinished",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or not CHROMEDRIVER.exists(),
    reason="Chromium and chromedriver are not installed (apt-get install chromium chromium-driver; "
    "scripts/bootstrap.sh does it as root)",
)


@pytest.fixture(scope="module")
def console(stack):
    """The console served from this process on a free port: (base url, audit log path)."""
    from scripts import console as web_console
    from scripts.console import _Handler, _Server

    server = make_server(web_console.HOST, 0, None, server_class=_Server, handler_class=_Handler)
    port = server.server_port
    server.set_app(web_console.build_app(stack.env, port))
    thread = threading.Thread(target=server.serve_forever, name="console", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", env_build_dir(stack.env) / "audit" / "console.jsonl"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def operator(stack):
    """An operator (admins) with a password this test knows: (user name, password)."""
    user = stack.name("console-ops")[:64]
    customers = stack.customers
    customers.ensure(user, admin=True)
    password = customers.password()
    customers.cognito.admin_set_user_password(
        UserPoolId=customers.pool_id, Username=user, Password=password, Permanent=True
    )
    return user, password


def _shot(driver, stack, name: str) -> None:
    folder = reports_dir(stack.env)
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / f"console-{name}.png"))


def _click(driver, by: str, value: str, within=None) -> None:
    """Click a submit button or link and wait (deadline 60 s) until the browser has left the page it was on."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    (within or driver).find_element(by, value).click()
    WebDriverWait(driver, 60).until(expected_conditions.staleness_of(page))


def _text(driver, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, element_id).text


def _audit(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def signed_in(console, browser, operator, stack):
    from selenium.webdriver.common.by import By

    base, _ = console
    user, password = operator
    browser.get(base + "/orders")
    assert browser.current_url == base + "/login", "no session: the console sends the browser to sign in"
    browser.find_element(By.ID, "username").send_keys(user)
    browser.find_element(By.ID, "password").send_keys("Wrong-password-1!")
    _click(browser, By.ID, "sign-in")
    assert _text(browser, "message") == "Wrong user name or password."
    browser.find_element(By.ID, "username").send_keys(user)
    browser.find_element(By.ID, "password").send_keys(password)
    _click(browser, By.ID, "sign-in")
    assert browser.current_url == base + "/orders"
    assert _text(browser, "who") == user
    cookie = browser.get_cookie("orderflow_console")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    _shot(browser, stack, "orders")
    return base


def test_console_finds_an_order_and_shows_the_path_its_execution_took(stack, scenario, browser, signed_in):
    from selenium.webdriver.common.by import By

    product = stack.name("console-graph")
    stack.set_stock(product, 5, price="10.00")
    customer = stack.name("console-c")
    sub = stack.submit(order_payload(customer, [(product, 1, "10.00")]))
    scenario.track(sub)
    assert stack.wait_terminal(scenario, [sub])[sub.order_id]["status"] == "COMPLETED"
    [execution] = stack.wait_executions(sub.order_id)  # finalize runs on after the order is COMPLETED
    assert execution["status"] == "SUCCEEDED", execution

    browser.get(signed_in + "/orders")
    browser.find_element(By.ID, "customer").send_keys(customer)
    _click(browser, By.ID, "filter")
    assert _text(browser, "how").startswith("Read from CustomerId-Index")
    rows = browser.find_elements(By.CSS_SELECTOR, "#orders tr[data-order-id]")
    assert [r.get_attribute("data-order-id") for r in rows] == [sub.order_id]
    assert rows[0].find_element(By.CSS_SELECTOR, ".status").text == "COMPLETED"
    _click(browser, By.LINK_TEXT, sub.order_id, rows[0])

    assert _text(browser, "order-status") == "COMPLETED"
    section = browser.find_element(By.CSS_SELECTOR, "section.execution[data-workflow='order-processing']")
    assert section.get_attribute("data-status") == "SUCCEEDED"
    coloured = {
        node.find_element(By.TAG_NAME, "title").get_attribute("textContent"): node.get_attribute("class")
        for node in section.find_elements(By.CSS_SELECTOR, "svg g.node.visited")
    }
    for state in COMPLETED_PATH:
        assert coloured.get(state) == "node visited succeeded", (state, coloured)
    for state in ("RefundPayment", "ReleaseInventory", "ClaimFailed", "OrderFailed", "OwnershipUnknown"):
        assert state not in coloured, f"{state} was not on this order's path: {coloured}"
    trace_kinds = {row.text.split()[1] for row in browser.find_elements(By.CSS_SELECTOR, "#trace tr")[1:]}
    assert {"order", "status", "execution", "state", "payment", "reservation"} <= trace_kinds
    _shot(browser, stack, "order-graph")
    scenario.note(f"console: {sub.order_id} found by customer; {len(coloured)} states coloured")


def test_console_cancels_an_order_after_confirmation(stack, scenario, browser, signed_in, console):
    from selenium.webdriver.common.by import By

    _, audit_path = console
    product = stack.name("console-cancel")
    stack.set_stock(product, 5, price="10.00")
    with stack.rule_disabled("Order Created", stack.sm_arn("order-processing")):
        sub = stack.submit(order_payload(stack.name("console-cc"), [(product, 1, "10.00")]))
        scenario.track(sub)
        assert stack.order(sub.order_id, sub.customer_id)["status"] == "PENDING"

        browser.get(f"{signed_in}/orders/{sub.order_id}")
        assert _text(browser, "order-status") == "PENDING"
        _click(browser, By.ID, "cancel")
        assert _text(browser, "what").startswith(f"Cancel order {sub.order_id} (now PENDING)")
        assert stack.order(sub.order_id, sub.customer_id)["status"] == "PENDING", "nothing before the confirmation"
        _shot(browser, stack, "cancel-confirm")
        _click(browser, By.ID, "confirm")
        assert _text(browser, "message") == f"Order {sub.order_id} is CANCELLED."
    assert stack.order(sub.order_id, sub.customer_id)["status"] == "CANCELLED"
    final = stack.wait_terminal(scenario, [sub])[sub.order_id]
    assert final["status"] == "CANCELLED" and final["claim"]["by"] == f"cancel:{sub.order_id}", final
    user = browser.find_element(By.ID, "who").text
    [record] = [r for r in _audit(audit_path) if r["action"] == "cancel" and r["params"] == {"orderId": sub.order_id}]
    assert (record["who"], record["result"]) == (user, "ok")


def test_console_restocks_a_product_and_refuses_bad_input(stack, scenario, browser, signed_in, console):
    from selenium.webdriver.common.by import By

    _, audit_path = console
    product = stack.name("console-restock")
    stack.set_stock(product, 5, price="10.00")
    browser.get(signed_in + "/stock")
    assert browser.find_element(By.CSS_SELECTOR, f"tr[data-product-id='{product}'] .available").text == "5"

    browser.find_element(By.ID, "productId").send_keys(product)
    browser.find_element(By.ID, "quantity").send_keys("-3")
    _click(browser, By.ID, "restock")
    assert _text(browser, "message") == "Quantity '-3' is not valid: a whole number from 1 to 1,000,000."
    assert stack.stock(product) == 5

    browser.get(signed_in + "/stock")
    browser.find_element(By.ID, "productId").send_keys(product)
    browser.find_element(By.ID, "quantity").send_keys("7")
    _click(browser, By.ID, "restock")
    assert _text(browser, "what") == f"Put Inventory Restocked: add 7 to {product} (now 5 available)."
    _click(browser, By.ID, "confirm")
    assert _text(browser, "message").startswith(f"Inventory Restocked put: +7 {product} (event console-restock-")
    wait_until(lambda: stack.stock(product) == 12, 60, f"{product} restocked to 12")
    browser.get(signed_in + "/stock")
    assert browser.find_element(By.CSS_SELECTOR, f"tr[data-product-id='{product}'] .available").text == "12"
    _shot(browser, stack, "stock")
    records = [r for r in _audit(audit_path) if r["action"] == "restock" and r["params"]["productId"] == product]
    assert [(r["params"]["quantity"], r["result"]) for r in records] == [(7, "ok")]
    scenario.note(f"console: {product} restocked 5 -> 12; a quantity of -3 refused")


def test_console_redrives_a_dead_letter(stack, scenario, browser, signed_in, console):
    from selenium.webdriver.common.by import By

    from scripts import dlq

    _, audit_path = console
    url = stack.outputs["dlq_urls"]["lambda-notification"]
    sqs = stack.client("sqs")
    order_id, request = stack.dead_letter_a_healthy_event("console-e2e")

    def mine() -> list:
        return [m for m in dlq.peek(sqs, url, 10) if isinstance(m.payload, dict) and m.payload == request]

    wait_until(
        mine,
        30,
        "the message in the lambda-notification DLQ",
    )
    browser.get(signed_in + "/queues")
    row = browser.find_element(By.CSS_SELECTOR, "tr[data-queue='lambda-notification']")
    assert int(row.find_element(By.CSS_SELECTOR, ".depth").text) >= 1
    _shot(browser, stack, "queues")
    _click(browser, By.CSS_SELECTOR, "button.redrive", row)
    assert _text(browser, "what").startswith("Redrive every message of lambda-notification")
    _click(browser, By.ID, "confirm")
    function = stack.outputs["function_names"]["notification"]
    delivered = [p.text for p in browser.find_elements(By.CSS_SELECTOR, ".delivered")]
    assert any(text.endswith(f": invoked {function} (async)") for text in delivered), delivered

    key = f"notifications/{order_id}/payment-declined.json"
    bucket = stack.outputs["notifications_bucket"]
    s3 = stack.client("s3")
    wait_until(lambda: s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount"), 60, f"{key} written")
    stored = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert (stored["orderId"], stored["type"], stored["details"]) == (order_id, "payment-declined", request["details"])
    assert not mine()
    records = [r for r in _audit(audit_path) if r["action"] == "redrive"]
    assert records and records[-1]["params"] == {"queue": "lambda-notification", "count": None}
    scenario.note(f"console: redrove lambda-notification; {key} written")
