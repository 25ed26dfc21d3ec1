"""Property-based fuzz of the order API with Hypothesis: requests at and past the edges of the create-order schema
(wrong types, huge / tiny / negative / exponent numbers, long and unicode strings, missing and extra fields, deep
nesting, bodies that are not objects or not JSON), odd headers, query strings, path ids and tokens, driven through the
real handler (API Gateway HTTP API payload 2.0 with a Cognito ID token's claims, tests/unit/helpers.py) on moto.

The property, for every request:
* the status is below 500;
* a 4xx body is a JSON object with a non-empty `message` and a `field` member; a 400 / 409 / 413 / 415 names the
  field (a JSON path, a header, a query parameter or a path parameter);
* a 4xx writes nothing: the orders, outbox and idempotency tables are still empty and PutEvents was not called;
* no DynamoDB request carries a key DynamoDB refuses with a ValidationException (an empty string or more than 1 KB in
  a key value, a CustomerId-Index start key that is not {orderId, customerId, createdAt}): moto accepts those, so
  they are checked where moto receives the request, and an unvalidated id or token cannot pass for a 404 or a 200.

Deterministic: derandomized (the examples depend on this file and the pinned Hypothesis only), no example database, a
bounded number of examples (290 in all: about 15 s on an idle 2-vCPU machine). Run against the code before issue 11's
part 5, the POST, order and list properties each fail (a 500 on `0E-99999999999999999999`, a 1,025-character orderId and
an empty or 1,025-character createdAt in a nextToken reaching DynamoDB).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from order import handler
from shared import aws as shared_aws

from .conftest import CATALOGUE, _wipe
from .helpers import http_event, id_token_claims

#: DynamoDB's smallest key-value limit (a range key: 1,024 bytes; a hash key: 2,048)
DYNAMODB_MAX_KEY_BYTES = 1024
PAGE_KEY = {"orderId", "customerId", "createdAt"}
FIELD_PREFIXES = ("$", "headers.", "queryStringParameters.", "pathParameters.")


class Raw:
    """A JSON number literal written as it is (json.dumps cannot write 0E-1000 or 40 significant digits)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def to_json(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)


# --- values ------------------------------------------------------------------------------------------------------
#: JSON number literals at the edges: the schema's bounds and one past, 40 significant digits, exponents Decimal
#: holds and ones it does not (more than 18 digits), integers past int()'s 4,300 digits
numbers = st.one_of(
    st.sampled_from(
        [
            "0",
            "-0",
            "-0.0",
            "0E-1000",
            "1E+1000",
            "0.01",
            "0.001",
            "19.99",
            "19.990",
            "1",
            "2.0",
            "2e0",
            "1000",
            "1001",
            "1000000",
            "1000000.01",
            "100000000",
            "100000000.01",
            "50",
            "-1",
            "0.1234567890123456789012345678901234567890",
            "19.99000000000000000000000000000000000000",
            "0E-99999999999999999999",
            "1E+99999999999999999999",
            "-1e1000000000000000000",
            "9" * 5000,
        ]
    ),
    st.from_regex(r"-?(0|[1-9][0-9]{0,45})(\.[0-9]{1,45})?([eE][+-]?[0-9]{1,22})?", fullmatch=True),
    st.builds(
        lambda mantissa, exponent: f"{mantissa}E{exponent}",
        st.sampled_from(["0", "1", "-1.5", "19.99"]),
        st.integers(-(10**21), 10**21),
    ),
).map(Raw)
ids = st.one_of(
    st.sampled_from(["prod-1", "prod-2", "customer-1", "alice"]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True),
)
#: strings at the edges of the id rule and of DynamoDB's key size (1 KB range keys, 2 KB hash keys)
edge_strings = st.one_of(
    st.builds(
        lambda c, n: c * n,
        st.sampled_from(["a", "Z", "9", "-", "_", "é", "%", " ", "\x00", "\U0001f600"]),
        st.one_of(st.sampled_from([1025, 3000, 2049, 10000, 1024, 2048, 65, 64, 63, 1, 0]), st.integers(0, 3000)),
    ),
    st.sampled_from(["", " ", "a b", "-a", "_a", "a.b", "a/b", "..", "%00", "%2F", "null", "\ud800", "kundé"]),
)
#: around DynamoDB's key sizes, in characters the path routes accept (the order path draws them often: a 1 KB id among
#: the others is rare in a few dozen examples)
long_ids = st.builds(lambda c, n: c * n, st.sampled_from(["a", "-", "é", "%"]), st.integers(1000, 3000))
odd_strings = st.one_of(
    edge_strings, st.text(max_size=70), st.text(st.characters(codec="utf-8"), min_size=60, max_size=70)
)
strings = st.one_of(ids, odd_strings)
scalars = st.one_of(st.none(), st.booleans(), numbers, strings, st.integers(-(2**70), 2**70))
json_values = st.recursive(
    scalars,
    lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(strings, kids, max_size=4)),
    max_leaves=10,
)


def mostly(good: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` 4 times in 5, else `odd` (Hypothesis starts from the simplest draw, 0: a good one)."""
    return st.integers(0, 4).flatmap(lambda n: odd if n == 4 else good)


def near(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value of the right shape, sometimes any JSON value."""
    return mostly(good, json_values)


def with_extras(fields: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda d, extra: {**d, **extra},
        fields,
        st.one_of(st.just({}), st.just({}), st.dictionaries(strings, json_values, max_size=2)),
    )


#: a line the catalogue prices (conftest.CATALOGUE), with the catalogue's price or none
good_items = st.fixed_dictionaries(
    {"productId": st.sampled_from(sorted(CATALOGUE)), "quantity": st.integers(1, 3)},
    optional={"price": st.sampled_from(sorted(CATALOGUE.values())).map(Raw)},
)
items = mostly(
    good_items,
    with_extras(
        st.fixed_dictionaries(
            {},
            optional={
                "productId": near(ids),
                "quantity": near(st.one_of(st.integers(-2, 1002), numbers)),
                "price": near(numbers),
            },
        )
    ),
)
item_lists = mostly(st.lists(items, min_size=1, max_size=2), st.lists(items, max_size=52))
bodies = mostly(
    st.fixed_dictionaries(
        {"items": near(item_lists)},
        optional={
            "customerId": near(st.sampled_from(["customer-1", "alice"])),
            "totalAmount": near(st.one_of(numbers, st.sampled_from(["39.98", "109.97"]).map(Raw))),
        },
    ),
    with_extras(
        st.fixed_dictionaries(
            {},
            optional={
                "customerId": near(st.sampled_from(["customer-1", "alice"])),
                "items": near(item_lists),
                "totalAmount": near(numbers),
            },
        )
    ),
)
deep_bodies = st.builds(
    lambda depth, shape: {
        "[": "[" * depth + "]" * depth,
        "{": '{"a":' * depth + "{}" + "}" * depth,
        "items": '{"items":' + "[" * depth + "]" * depth + "}",
    }[shape],
    st.one_of(st.sampled_from([9, 10, 11, 500, 900, 985, 990, 995, 998, 1000, 1100, 5000]), st.integers(1, 1200)),
    st.sampled_from(["[", "{", "items"]),
)
body_texts = st.one_of(
    bodies.map(to_json),
    bodies.map(to_json),
    bodies.map(to_json),
    json_values.map(to_json),
    deep_bodies,
    st.text(max_size=200),
    st.builds(lambda body, pad: to_json(body) + " " * pad, bodies, st.sampled_from([32768 - 60, 32768, 40000])),
    st.sampled_from(
        [
            "",
            " ",
            "null",
            "NaN",
            "[]",
            '"order"',
            '{"items": [], "totalAmount": Infinity}',
            '"\ud800"',
            '{"items": [{"productId": "prod-1", "quantity": 1}]}',
            '{"items": [{"productId": "prod-1"',
        ]
    ),
)

# --- requests ----------------------------------------------------------------------------------------------------
content_types = mostly(
    st.just("application/json"),
    st.one_of(
        st.none(),
        st.text(max_size=40),
        st.sampled_from(
            [
                "Application/JSON; charset=utf-8",
                "text/plain",
                "application/jsonx",
                "",
                "application/json;;;",
                "multipart/form-data; boundary=x",
            ]
        ),
    ),
)
idempotency_keys = st.one_of(
    st.none(), st.none(), st.text(max_size=140), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}", fullmatch=True)
)
claims = mostly(
    st.just(id_token_claims("customer-1")),
    st.one_of(
        st.just(id_token_claims("ops-1", ["admins"])),
        st.builds(lambda name: id_token_claims(name), strings),
        st.builds(lambda sub: {**id_token_claims("customer-1"), "sub": sub}, near(strings)),
    ),
)
#: ids as path segments and token members: mostly valid, else at the edges or any JSON value
near_ids = st.one_of(ids, edge_strings, json_values)
created_ats = st.sampled_from(["2024-05-01T12:00:00.000Z", "2024-05-01T12:00:00Z"])
page_key_fields = {
    "orderId": near_ids,
    "customerId": mostly(st.just("customer-1"), strings),
    "createdAt": st.one_of(
        created_ats,
        edge_strings,
        json_values,
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,14}Z?", fullmatch=True),
    ),
}
#: CustomerId-Index start keys: mostly of the exact shape (with a member at an edge), else members missing or extra
page_keys = mostly(
    st.fixed_dictionaries(page_key_fields), with_extras(st.fixed_dictionaries({}, optional=page_key_fields))
)
tokens = mostly(
    page_keys.map(lambda k: base64.urlsafe_b64encode(to_json(k).encode("utf-8", "surrogatepass")).decode().rstrip("=")),
    st.one_of(st.binary(max_size=300).map(lambda b: base64.urlsafe_b64encode(b).decode()), strings),
)
limits = st.sampled_from(["0", "1", "2", "100", "101", "²", "1" * 5000, " 5", "-1", "1.0", "1,2"])
queries = st.one_of(
    st.none(),
    st.dictionaries(
        st.one_of(st.sampled_from(["limit", "nextToken"]), strings), st.one_of(limits, tokens, strings), max_size=3
    ),
)
list_queries = mostly(st.fixed_dictionaries({"nextToken": tokens}, optional={"limit": limits}), queries)


def event_of(
    draw: st.DrawFn,
    method: str,
    path: str,
    query: Any = None,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    event = http_event(
        method, path, headers=headers, query=query, content_type=draw(content_types), claims=draw(claims)
    )
    event["body"], event["isBase64Encoded"] = body, base64_body
    return event


@st.composite
def post_requests(draw: st.DrawFn) -> dict[str, Any]:
    """POST /orders: bodies near the schema, encodings, Idempotency-Keys."""
    body = draw(body_texts)
    key = draw(idempotency_keys)
    encoding = draw(mostly(st.just("text"), st.sampled_from(["base64", "not-base64", "binary"])))
    if encoding == "base64":
        body = base64.b64encode(body.encode("utf-8", "surrogatepass")).decode()
    elif encoding == "binary":
        body = base64.b64encode(draw(st.binary(max_size=200))).decode()
    return event_of(
        draw,
        "POST",
        "/orders",
        draw(queries),
        body,
        {"Idempotency-Key": key} if key is not None else {},
        encoding != "text",
    )


@st.composite
def order_requests(draw: st.DrawFn) -> dict[str, Any]:
    """GET / DELETE /orders/{orderId}: path ids at the edges of the id rule and of DynamoDB's key size."""
    order_id = draw(st.one_of(ids, long_ids, edge_strings, json_values))
    return event_of(draw, draw(st.sampled_from(["GET", "DELETE"])), f"/orders/{order_id}", draw(queries))


@st.composite
def list_requests(draw: st.DrawFn) -> dict[str, Any]:
    """GET /customers/{customerId}/orders: path ids, limits and crafted nextTokens."""
    return event_of(
        draw, "GET", f"/customers/{draw(mostly(st.just('customer-1'), near_ids))}/orders", draw(list_queries)
    )


@st.composite
def other_requests(draw: st.DrawFn) -> dict[str, Any]:
    """Any method on any path, with any query string and body."""
    segments = draw(st.lists(st.one_of(st.sampled_from(["orders", "customers"]), strings), max_size=4))
    return event_of(
        draw,
        draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])),
        "/" + "/".join(segments),
        draw(queries),
        draw(st.one_of(st.none(), body_texts)),
    )


# --- the property ------------------------------------------------------------------------------------------------
def key_problems(target: str, params: dict[str, Any]) -> list[str]:
    """What DynamoDB would refuse in a request's keys (moto does not): a ValidationException on AWS."""
    problems = []
    keys = [params.get("Key") or {}, params.get("ExclusiveStartKey") or {}]
    if target.endswith(".Query"):
        keys.append(params.get("ExpressionAttributeValues") or {})
    start_key = params.get("ExclusiveStartKey")
    if start_key is not None and params.get("IndexName") == "CustomerId-Index" and set(start_key) != PAGE_KEY:
        problems.append(f"{target}: start key {sorted(start_key)}")
    for key in keys:
        for name, value in key.items():
            text = value.get("S") if isinstance(value, dict) else None
            if isinstance(text, str) and not 1 <= len(text.encode("utf-8", "surrogatepass")) <= DYNAMODB_MAX_KEY_BYTES:
                problems.append(f"{target}: {name} of {len(text)} characters")
    return problems


@pytest.fixture
def dynamodb_key_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from moto.dynamodb.responses import DynamoHandler

    problems: list[str] = []
    original = DynamoHandler.call_action

    def checked(self: Any) -> Any:
        problems.extend(key_problems(self.headers.get("X-Amz-Target", ""), getattr(self, "params", None) or {}))
        return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", checked)
    return problems


@pytest.fixture
def put_events_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    client = shared_aws.events_client()
    calls: list[dict[str, Any]] = []
    real = client.put_events

    def recorded(**kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(client, "put_events", recorded)
    return calls


def test_key_problems_are_what_dynamodb_refuses():
    """The checker itself, on literal requests."""
    ok = {"Key": {"orderId": {"S": "o-1"}}, "ExpressionAttributeValues": {":c": {"S": "c" * 1024}}}
    assert key_problems("DynamoDB_20120810.Query", ok) == []
    assert key_problems("DynamoDB_20120810.GetItem", {"Key": {"orderId": {"S": ""}}}) == [
        "DynamoDB_20120810.GetItem: orderId of 0 characters"
    ]
    assert key_problems("DynamoDB_20120810.Query", {"ExpressionAttributeValues": {":id": {"S": "é" * 513}}}) == [
        "DynamoDB_20120810.Query: :id of 513 characters"
    ]
    assert key_problems(
        "DynamoDB_20120810.Query",
        {"IndexName": "CustomerId-Index", "ExclusiveStartKey": {"orderId": {"S": "o"}, "customerId": {"S": "c"}}},
    ) == ["DynamoDB_20120810.Query: start key ['customerId', 'orderId']"]


def fuzz(strategy: st.SearchStrategy[dict[str, Any]], examples: int) -> Any:
    """@given(event=strategy), derandomized, `examples` examples; the fixtures serve every example of a test."""
    return lambda test: settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )(given(event=strategy)(test))


class Slate:
    """Every example starts from the catalogue alone: the fixtures serve all examples of a test, so the cloud is wiped
    and the catalogue put back after an example that was answered 2xx (only those may have written)."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self.dirty = True

    def clean(self) -> None:
        if self.dirty:
            _wipe(self.cloud.queue_url)
            for product_id, price in CATALOGUE.items():
                self.cloud.put_product(product_id, 100, price=price)
            self.dirty = False


@pytest.fixture
def slate(cloud: Any) -> Slate:
    return Slate(cloud)


def assert_the_property(
    slate: Slate, lambda_context: Any, key_checks: list[str], put_events: list[Any], event: dict[str, Any]
) -> None:
    slate.clean()
    key_checks.clear()
    put_events.clear()

    response = handler.lambda_handler(event, lambda_context)

    status = response["statusCode"]
    slate.dirty = status < 400
    cloud = slate.cloud
    assert status < 500, response
    assert key_checks == [], key_checks
    if status >= 400:
        body = json.loads(response["body"])
        assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], body
        assert "field" in body, body
        if status in (400, 409, 413, 415):
            assert isinstance(body["field"], str) and body["field"].startswith(FIELD_PREFIXES), body
        assert cloud.items("ORDERS_TABLE") == []
        assert cloud.items("OUTBOX_TABLE") == []
        assert cloud.items("IDEMPOTENCY_TABLE") == []
        assert put_events == []


@fuzz(post_requests(), 120)
def test_fuzz_post_orders(slate, lambda_context, dynamodb_key_checks, put_events_calls, event):
    assert_the_property(slate, lambda_context, dynamodb_key_checks, put_events_calls, event)


@fuzz(order_requests(), 60)
def test_fuzz_read_and_cancel_an_order(slate, lambda_context, dynamodb_key_checks, put_events_calls, event):
    assert_the_property(slate, lambda_context, dynamodb_key_checks, put_events_calls, event)


@fuzz(list_requests(), 80)
def test_fuzz_list_a_customers_orders(slate, lambda_context, dynamodb_key_checks, put_events_calls, event):
    assert_the_property(slate, lambda_context, dynamodb_key_checks, put_events_calls, event)


@fuzz(other_requests(), 30)
def test_fuzz_other_methods_and_paths(slate, lambda_context, dynamodb_key_checks, put_events_calls, event):
    assert_the_property(slate, lambda_context, dynamodb_key_checks, put_events_calls, event)
