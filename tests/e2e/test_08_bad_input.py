"""Malformed requests: every one answers 4xx with a JSON `message`, writes nothing, publishes nothing.

The cases follow the API's validation order (services/order/validation.py, docs/api.md): content type (415), body
size (413), JSON syntax (400), schema (400), money precision, duplicate products (400); a body naming another customer
than the token (403); then the catalogue (services/order/pricing.py): unknown product (400), a price or total that is
not the catalogue's (409); bad Idempotency-Key (400); unknown routes (404) and wrong methods (405 from the API's
router, or 404 where API Gateway has no route for the method); bad query parameters (400); unknown orders (404).
Issue 11 (part 5) added numbers a Decimal cannot hold or with 40 significant digits, bodies nested 11 and 995 levels
deep, path ids over 2 KB or outside the id rule and crafted nextTokens (valid base64url of JSON that is not a start key
of the caller's list): each is an exact 400, before DynamoDB sees it.
The bodies name run-unique products that are not in the catalogue, so a body that passes validation is 400 "unknown
product"; the 409 cases order `<run>-badp-priced`, which the test puts in the catalogue at 1.25. A missing price or
totalAmount is not malformed (the server prices the order), so it is not among the cases.

Every request is authenticated (docs/auth.md) with the ID token of the customer it concerns: the body's customerId,
or the customer in the path, else the scenario's own caller `<run>-bad-caller`. A body without customerId is not
malformed any more (the token names the customer), so it is not among the cases.

"Nothing published" is checked with a temporary catch-all rule on the bus -> SQS queue, created and deleted by the
fixture: a start canary proves the pipe delivers, the malformed requests go in, an end canary closes the window;
between the two no event may name this scenario's customers. Every case's customer id is run-unique, so "nothing
written" is: the orders table's CustomerId-Index has no order for any of them.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from e2e_support import BusTap

from scripts.polling import wait_until

JSON = {"Content-Type": "application/json"}


def _good(customer: str, product: str, lines: int = 1) -> dict[str, Any]:
    items = [{"productId": f"{product}-{i}", "quantity": 1, "price": 1.25} for i in range(lines)]
    return {"customerId": customer, "items": items, "totalAmount": round(1.25 * lines, 2)}


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of body with the value at path ("items.0.price") replaced; the value DELETE removes the key."""
    doc = json.loads(json.dumps(body))
    node, keys = doc, path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = int(keys[-1]) if isinstance(node, list) else keys[-1]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


DELETE = object()
PRICED = "{run}-badp-priced"


Case = tuple[str, str, str, dict[str, str], bytes | None, tuple[int, ...], str | None]


def bad_requests(run: str) -> list[Case]:
    """(case, method, path, headers, body, accepted statuses, caller or None). Customer ids are f"{run}-bad-<n>";
    caller None: the customer the request concerns (see caller_of)."""
    cases: list[Case] = []
    n = iter(range(1000))

    def cust() -> str:
        return f"{run}-bad-{next(n)}"

    product = f"{run}-badp"
    priced = [{"productId": PRICED.format(run=run), "quantity": 2, "price": 1.25}]  # in the catalogue at 1.25

    def post(
        case: str,
        body: Any,
        status: tuple[int, ...] = (400,),
        headers: dict[str, str] | None = None,
        caller: str | None = None,
    ) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        cases.append((case, "POST", "/orders", headers if headers is not None else JSON, raw, status, caller))

    # body syntax
    for case, raw in [
        ("empty body", b""),
        ("blank body", b"   \n"),
        ("not JSON", b"customerId=c1&items=1"),
        ("truncated JSON", b'{"customerId": "c"'),
        ("trailing comma", b'{"customerId": "c",}'),
        ("NaN literal", b'{"customerId": "c", "items": [], "totalAmount": NaN}'),
        ("invalid UTF-8", b'{"customerId": "\xff\xfe"}'),
        ("JSON array", b"[]"),
        ("JSON string", b'"order"'),
        ("JSON number", b"42"),
        ("JSON null", b"null"),
        ("empty object", b"{}"),
    ]:
        post(case, raw)
    # customerId
    for case, value in [
        ("customerId null", None),
        ("customerId number", 123),
        ("customerId empty", ""),
        ("customerId with space", "bad id"),
        ("customerId leading dash", "-x"),
        ("customerId 65 chars", "c" * 65),
        ("customerId list", ["c"]),
        ("customerId object", {"id": "c"}),
        ("customerId non-ASCII", "clïent"),
    ]:
        post(case, _with(_good(cust(), product), "customerId", value))
    # a valid body in another customer's name (the token is the scenario's caller): 403, nothing written
    post("customerId of another customer", _good(cust(), product), (403,), caller=f"{run}-bad-caller")
    # items
    for case, value in [
        ("items missing", DELETE),
        ("items null", None),
        ("items empty", []),
        ("items string", "p1"),
        ("items object", {"productId": "p"}),
        ("item number", [1]),
        ("item null", [None]),
    ]:
        post(case, _with(_good(cust(), product), "items", value))
    post("51 items (max 50)", _good(cust(), product, lines=51))
    # item fields
    for case, field, value in [
        ("productId missing", "productId", DELETE),
        ("productId empty", "productId", ""),
        ("productId number", "productId", 42),
        ("productId bad chars", "productId", "p 1!"),
        ("quantity missing", "quantity", DELETE),
        ("quantity 0", "quantity", 0),
        ("quantity negative", "quantity", -1),
        ("quantity fractional", "quantity", 1.5),
        ("quantity string", "quantity", "1"),
        ("quantity null", "quantity", None),
        ("quantity boolean", "quantity", True),
        ("quantity 1.0 (not an integer)", "quantity", 1.0),
        ("quantity 1001 (max 1000)", "quantity", 1001),
        ("price negative", "price", -1.25),
        ("price string", "price", "1.25"),
        ("price null", "price", None),
        ("price 3 decimals", "price", 1.255),
        ("price above max", "price", 1000000.01),
        ("item extra property", "color", "red"),
    ]:
        post(case, _with(_good(cust(), product), f"items.0.{field}", value))
    post(
        "quantity 1e0 (not an integer)",
        json.dumps(_good(cust(), product)).replace('"quantity": 1', '"quantity": 1e0').encode(),
    )
    dup = _good(cust(), product, lines=2)
    dup["items"][1]["productId"] = dup["items"][0]["productId"]
    post("duplicate productId", dup)
    # totalAmount
    for case, value in [
        ("totalAmount null", None),
        ("totalAmount string", "1.25"),
        ("totalAmount negative", -1.25),
        ("totalAmount 3 decimals", 1.251),
    ]:
        post(case, _with(_good(cust(), product), "totalAmount", value))
    # the catalogue: unknown products 400; a price / total that is not the catalogue's 409 (with the current prices)
    post("unknown product", _good(cust(), product))
    post("unknown product, price omitted", _with(_good(cust(), product), "items.0.price", DELETE))
    post(
        "price != catalogue",
        {"customerId": cust(), "items": [{**priced[0], "price": 1.00}], "totalAmount": 2.00},
        (409,),
    )
    for case, value in [("totalAmount != catalogue sum", 2.49), ("totalAmount zero", 0)]:
        post(case, {"customerId": cust(), "items": priced, "totalAmount": value}, (409,))
    post("unknown top-level property", {**_good(cust(), product), "coupon": "FREE"})
    # numbers a Decimal cannot hold, extreme literals, deep nesting: 400, never a 500 (issue 11, part 5)
    for case, literal in [
        ("price exponent beyond Decimal", "0E-99999999999999999999"),
        ("price huge exponent beyond Decimal", "1E+99999999999999999999"),
        ("price 40 significant digits", "0.1234567890123456789012345678901234567890"),
        ("price 1E-1000000000", "1E-1000000000"),
        ("price 1E+1000000000", "1E+1000000000"),
    ]:
        post(case, json.dumps(_good(cust(), product)).replace("1.25", literal, 1).encode())
    post(
        "totalAmount exponent beyond Decimal",
        json.dumps(_good(cust(), product))
        .replace('"totalAmount": 1.25', '"totalAmount": 1E+99999999999999999999')
        .encode(),
    )
    for depth in (11, 995):
        post(
            f"body nested {depth} levels deep",
            (f'{{"customerId": "{cust()}", "items": ' + "[" * depth + "]" * depth + "}").encode(),
        )
    # headers
    post("Content-Type text/plain", _good(cust(), product), (415,), {"Content-Type": "text/plain"})
    post("Content-Type form", _good(cust(), product), (415,), {"Content-Type": "application/x-www-form-urlencoded"})
    post("Content-Type XML", _good(cust(), product), (415,), {"Content-Type": "application/xml"})
    big = _good(cust(), product)
    big["customerId"] = cust()
    post("oversize 40 KB", {**big, "pad": "x" * 40_000}, (413,))
    post("oversize 200 KB", {**_good(cust(), product), "pad": "x" * 200_000}, (413,))
    post("Idempotency-Key with space", _good(cust(), product), (400,), {**JSON, "Idempotency-Key": "bad key"})
    post("Idempotency-Key 129 chars", _good(cust(), product), (400,), {**JSON, "Idempotency-Key": "k" * 129})
    # routes, methods, parameters, unknown ids
    for case, method, path, status in [
        ("unknown route", "GET", "/nope", (404,)),
        ("root", "GET", "/", (404,)),
        ("unknown nested route", "GET", "/orders/x/items", (404,)),
        ("GET /orders", "GET", "/orders", (404, 405)),
        ("PUT /orders", "PUT", "/orders", (404, 405)),
        ("PATCH /orders/{id}", "PATCH", "/orders/x", (404, 405)),
        ("DELETE /orders", "DELETE", "/orders", (404, 405)),
        ("POST /customers/{id}/orders", "POST", f"/customers/{cust()}/orders", (404, 405)),
        ("customerId path invalid", "GET", "/customers/bad%20id!/orders", (400,)),
        ("limit 0", "GET", f"/customers/{cust()}/orders?limit=0", (400,)),
        ("limit not a number", "GET", f"/customers/{cust()}/orders?limit=ten", (400,)),
        ("limit 101", "GET", f"/customers/{cust()}/orders?limit=101", (400,)),
        ("nextToken garbage", "GET", f"/customers/{cust()}/orders?nextToken=%25%25%25", (400,)),
        ("limit superscript two", "GET", f"/customers/{cust()}/orders?limit=%C2%B2", (400,)),
        ("orderId 65 chars", "GET", "/orders/" + "a" * 65, (400,)),
        ("orderId 3000 chars", "GET", "/orders/" + "a" * 3000, (400,)),
        ("cancel orderId 3000 chars", "DELETE", "/orders/" + "a" * 3000, (400,)),
        ("orderId non-ASCII", "GET", "/orders/%C3%A9t%C3%A9", (400,)),
        ("customerId path 3000 chars", "GET", "/customers/" + "c" * 3000 + "/orders", (400,)),
        ("unknown order", "GET", f"/orders/{run}-missing", (404,)),
        ("cancel unknown order", "DELETE", f"/orders/{run}-missing", (404,)),
    ]:
        cases.append((case, method, path, {}, None, status, None))
    # crafted nextTokens: valid base64url of JSON that is not a start key of this customer's list
    for case, key in [
        ("orderId empty", {"orderId": ""}),
        ("orderId 3000 chars", {"orderId": "o" * 3000}),
        ("orderId number", {"orderId": 5}),
        ("createdAt not a timestamp", {"createdAt": "x"}),
        ("extra key", {"status": "PAID"}),
        ("another customer's key", {"customerId": f"{run}-other"}),
    ]:
        customer = cust()
        token = _token({"orderId": "o-1", "customerId": customer, "createdAt": "2024-05-01T12:00:00.000Z", **key})
        cases.append(
            (f"nextToken {case}", "GET", f"/customers/{customer}/orders?nextToken={token}", {}, None, (400,), None)
        )
    return cases


def _token(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def caller_of(run: str, path: str, body: bytes | None) -> str:
    """The customer a request concerns: the body's run customer, else the path's, else the scenario's caller."""
    customers = _customer_ids(body, f"{run}-bad-") if body else []
    if customers:
        return customers[0]
    if path.startswith(f"/customers/{run}-bad-"):
        return path.split("/")[2]
    return f"{run}-bad-caller"


@pytest.fixture
def event_catcher(stack):
    """A catch-all rule on the bus delivering to a temporary SQS queue (BusTap); yields a function that returns
    every event delivered up to an end canary."""
    tap = BusTap(stack, "catch")
    try:
        yield tap.drain
    finally:
        tap.close()


def test_bad_input_rejected(stack, scenario, event_catcher):
    stack.set_stock(PRICED.format(run=stack.run_id), 10, price="1.25")
    event_catcher("start")  # the pipe works (and what was queued before is drained)
    cases = bad_requests(stack.run_id)
    assert len(cases) >= 60, len(cases)
    failures = []
    for case, method, path, headers, body, statuses, caller in cases:
        token = stack.token(caller or caller_of(stack.run_id, path, body))
        resp = stack.api.request(method, path, headers=headers, body=body, retries=0, token=token)
        doc = resp.json
        if resp.status not in statuses:
            failures.append(f"{case}: {method} {path} -> {resp.status} (want {statuses}) {resp.body[:200]!r}")
        elif not (isinstance(doc, dict) and isinstance(doc.get("message"), str) and doc["message"]):
            failures.append(f"{case}: {resp.status} without a JSON message: {resp.body[:200]!r}")
        elif resp.status in (400, 409, 413, 415) and not (resp.header("content-type") or "").startswith(
            "application/json"
        ):
            failures.append(f"{case}: Content-Type {resp.header('content-type')!r}")
        elif resp.status == 409 and not (
            doc.get("prices") == [{"productId": PRICED.format(run=stack.run_id), "price": 1.25}]
            and doc.get("totalAmount") == 2.5
        ):
            failures.append(f"{case}: 409 without the catalogue's prices and total: {doc!r}")
    scenario.note(f"{len(cases)} malformed requests, {len(cases) - len(failures)} answered as expected")
    assert not failures, "\n".join(failures)

    # nothing published: no event between the canaries names one of this scenario's customers or products
    events = event_catcher("end")
    marker = f"{stack.run_id}-bad"
    leaked = [e for e in events if marker in json.dumps(e.get("detail", {}))]
    assert not leaked, leaked[:3]
    scenario.note(f"{len(events)} events seen on the bus during the scenario, none from a malformed request")

    # nothing written
    customers = sorted({c for _, _, _, _, body, _, _ in cases if body for c in _customer_ids(body, marker)})
    assert len(customers) > 40, customers
    written = {c: stack.customer_orders(c) for c in customers}
    assert not any(written.values()), {c: o for c, o in written.items() if o}
    wait_until(
        lambda: (
            not stack.executions("order-processing")
            or all(marker not in (e.get("input") or "") for e in stack.executions("order-processing"))
        ),
        5,
        "no execution for a malformed request",
    )


def _customer_ids(body: bytes, marker: str) -> list[str]:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # the deeply nested body
        return []
    value = doc.get("customerId") if isinstance(doc, dict) else None
    return [value] if isinstance(value, str) and value.startswith(marker) else []
