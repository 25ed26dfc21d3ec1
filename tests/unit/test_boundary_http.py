"""The order Lambda's HTTP boundary, exact: the 401 answers for each unusable identity, a malformed groups claim,
the idempotency store (its table, its DynamoDB client, the in-progress lease from the Lambda's remaining time),
strict base64 bodies, media types with several parameters, and a direct invoke's non-finite floats. Expected values
are literals; every refusal is checked to change nothing."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from order import api, auth, handler
from shared import aws as shared_aws
from shared.errors import OrderValidationError

from .conftest import ENV
from .helpers import changed_claims, http_event, order_body, put_order, response_json

pytestmark = pytest.mark.usefixtures("catalogue")

UNAUTHENTICATED_HEADER = 'Bearer error="invalid_token"'


def call(lambda_context, method, path, body=None, **kwargs):
    return handler.lambda_handler(http_event(method, path, body, **kwargs), lambda_context)


def assert_nothing_written(cloud):
    assert cloud.items("ORDERS_TABLE") == []
    assert cloud.items("OUTBOX_TABLE") == []
    assert cloud.items("IDEMPOTENCY_TABLE") == []
    assert cloud.events() == []


def claims(**changes):
    return changed_claims("alice", **changes)


@pytest.fixture
def fresh_clients(monkeypatch):
    """An empty client cache for this test (restored afterwards): the idempotency store is built here, not reused."""
    monkeypatch.setattr(shared_aws, "_cache", {})


# ---------------------------------------------------------------------------------------------
# 401: each unusable identity answers with its own message
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("identity", "message"),
    [
        (claims(token_use="access"), "an ID token is required (token_use must be 'id')"),
        (claims(token_use=None), "an ID token is required (token_use must be 'id')"),
        (claims(token_use="ID"), "an ID token is required (token_use must be 'id')"),
        (claims(cognito__username=None), "the token carries no cognito:username claim"),
        (claims(cognito__username=""), "the token carries no cognito:username claim"),
        (claims(cognito__username=["alice"]), "the token carries no cognito:username claim"),
        (claims(sub=None), "the token carries no valid sub claim"),
    ],
    ids=["access-token", "no-token-use", "token-use-upper", "no-username", "empty-username", "list-username", "no-sub"],
)
def test_each_unusable_identity_is_401_with_its_reason(cloud, lambda_context, identity, message):
    response = call(lambda_context, "POST", "/orders", order_body(), claims=identity)

    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == UNAUTHENTICATED_HEADER
    assert response_json(response) == {"message": message, "field": None}
    assert_nothing_written(cloud)


@pytest.mark.parametrize("bad_claims", ["[alice]", ["token_use", "id"], 42], ids=["string", "list", "number"])
def test_claims_that_are_not_an_object_are_no_identity(cloud, lambda_context, bad_claims):
    event = http_event("POST", "/orders", order_body())
    event["requestContext"]["authorizer"]["jwt"]["claims"] = bad_claims

    response = handler.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"] == UNAUTHENTICATED_HEADER
    assert response_json(response) == {
        "message": "authentication required: send an ID token as `Authorization: Bearer <token>`",
        "field": None,
    }
    assert_nothing_written(cloud)


# ---------------------------------------------------------------------------------------------
# a groups claim with one bracket only is a group name, not an array
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[admins", {"[admins"}),
        ("admins]", {"admins]"}),
        ("[ops admins", {"[ops", "admins"}),
        ("x]admins[x", {"x]admins[x"}),
    ],
)
def test_a_groups_claim_with_one_bracket_keeps_it(value, expected):
    assert auth.parse_groups(value) == frozenset(expected)


@pytest.mark.parametrize("groups", ["[admins", "admins]"])
def test_a_half_bracketed_admins_group_is_no_operator(cloud, lambda_context, groups):
    order = put_order("PAID", customer_id="bob")

    got = call(lambda_context, "GET", f"/orders/{order['orderId']}", customer="carol", groups=groups)
    listed = call(lambda_context, "GET", "/customers/bob/orders", customer="carol", groups=groups)

    assert got["statusCode"] == 404
    assert response_json(got) == {"message": f"order {order['orderId']} not found", "field": None}
    assert listed["statusCode"] == 403
    assert response_json(listed) == {
        "message": "you may list only your own orders",
        "field": "pathParameters.customerId",
    }


# ---------------------------------------------------------------------------------------------
# the idempotency store
# ---------------------------------------------------------------------------------------------
def test_the_idempotency_store_uses_the_shared_dynamodb_client(cloud, lambda_context, monkeypatch, fresh_clients):
    client = shared_aws.dynamodb_client()
    calls = []

    def throttled(**kwargs):
        calls.append(kwargs["TableName"])
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "PutItem"
        )

    monkeypatch.setattr(client, "put_item", throttled)

    response = call(lambda_context, "POST", "/orders", order_body(), headers={"Idempotency-Key": "key-1"})

    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "1"
    assert response_json(response) == {"message": "service temporarily unavailable, please retry", "field": None}
    assert calls == ["orderflow-test-idempotency"]
    assert_nothing_written(cloud)


def test_the_idempotency_store_follows_the_configured_table(cloud, lambda_context, monkeypatch, fresh_clients):
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "orderflow-test-idempotency-old")
    assert api._idempotency()[0].table_name == "orderflow-test-idempotency-old"  # built, no AWS call
    monkeypatch.setenv("IDEMPOTENCY_TABLE", ENV["IDEMPOTENCY_TABLE"])

    response = call(lambda_context, "POST", "/orders", order_body(), headers={"Idempotency-Key": "key-1"})

    assert response["statusCode"] == 201
    [record] = cloud.items("IDEMPOTENCY_TABLE")
    assert record["status"] == "COMPLETED"
    assert len(cloud.items("ORDERS_TABLE")) == 1


def test_a_request_holds_its_key_in_progress_for_the_lambdas_remaining_time(cloud, lambda_context, fresh_clients):
    before_ms = int(time.time() * 1000)
    response = call(lambda_context, "POST", "/orders", order_body(), headers={"Idempotency-Key": "key-1"})
    after_ms = int(time.time() * 1000) + 1

    assert response["statusCode"] == 201
    [record] = cloud.items("IDEMPOTENCY_TABLE")
    # conftest.FakeLambdaContext has 30,000 ms left: a crashed attempt frees the key 30 s later, not after 24 hours
    assert before_ms + 30_000 <= int(record["in_progress_expiration"]) <= after_ms + 30_000


# ---------------------------------------------------------------------------------------------
# body decoding and media type, over HTTP
# ---------------------------------------------------------------------------------------------
def test_a_base64_body_with_a_character_outside_the_alphabet_is_400(cloud, lambda_context):
    event = http_event("POST", "/orders", order_body(), base64_body=True)
    event["body"] = event["body"][:8] + "!" + event["body"][8:]

    response = handler.lambda_handler(event, lambda_context)

    assert response["statusCode"] == 400
    assert response_json(response) == {"message": "request body is not valid base64", "field": "$"}
    assert_nothing_written(cloud)


def test_a_json_media_type_with_two_parameters_creates_the_order(cloud, lambda_context):
    response = call(
        lambda_context, "POST", "/orders", order_body(), content_type="application/json; charset=utf-8; profile=order"
    )

    assert response["statusCode"] == 201
    [stored] = cloud.items("ORDERS_TABLE")
    assert stored["orderId"] == response_json(response)["orderId"]
    assert stored["totalAmount"] == Decimal("109.97")


# ---------------------------------------------------------------------------------------------
# a direct invoke's non-finite floats (the Lambda runtime parses NaN, Infinity and 1e999 as floats)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("payload", "message", "field"),
    [
        ({"customerId": float("nan")}, "$.customerId must be string", "$.customerId"),
        ({"customerId": float("inf")}, "$.customerId must be string", "$.customerId"),
        (
            {"items": [{"productId": float("inf"), "quantity": 1}]},
            "$.items[0].productId must be string",
            "$.items[0].productId",
        ),
        (
            {"items": [{"productId": "prod-1", "quantity": float("nan")}]},
            "$.items[0].quantity must be integer",
            "$.items[0].quantity",
        ),
        ({"totalAmount": float("-inf")}, "$.totalAmount must be number", "$.totalAmount"),
    ],
)
def test_a_direct_invoke_with_a_non_finite_float_is_refused_at_its_field(
    cloud, lambda_context, payload, message, field
):
    for product_id in ("nan", "inf"):  # products that a float read as a string would name
        cloud.put_product(product_id, 10, price="1.00")
    body = {"customerId": "customer-1", "items": [{"productId": "prod-1", "quantity": 1}], **payload}

    with pytest.raises(OrderValidationError) as info:
        handler.lambda_handler(body, lambda_context)

    assert (info.value.message, info.value.field, info.value.status_code) == (message, field, 400)
    assert_nothing_written(cloud)
