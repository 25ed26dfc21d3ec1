"""Order API authorisation (docs/auth.md): identity from the JWT authorizer's claims, ownership on every route,
operators in the `admins` group, 401 behind the authorizer when an HTTP event carries no usable identity."""

from __future__ import annotations

import pytest

from order import auth, handler, service
from shared.errors import OrderNotFound

from .helpers import changed_claims, get_order, http_event, id_token_claims, order_body, put_order, response_json

#: every order test prices from the unit-test catalogue (conftest.CATALOGUE: prod-1 19.99, prod-2 69.99)
pytestmark = pytest.mark.usefixtures("catalogue")

ALICE, BOB, OPS = "alice", "bob", "ops-1"


def call(lambda_context, method, path, body=None, **kwargs):
    return handler.lambda_handler(http_event(method, path, body, **kwargs), lambda_context)


def assert_nothing_written(cloud):
    assert cloud.items("ORDERS_TABLE") == []
    assert cloud.items("IDEMPOTENCY_TABLE") == []
    assert cloud.events() == []


# ---------------------------------------------------------------------------------------------
# identity extraction
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["admins"], {"admins"}),  # a raw token's JSON array
        (["admins", "ops"], {"admins", "ops"}),
        ("[admins]", {"admins"}),  # API Gateway's string form of an array claim
        ("[admins ops]", {"admins", "ops"}),
        ("[ops admins]", {"admins", "ops"}),
        ("admins ops", {"admins", "ops"}),  # space-separated
        ("admins,ops", {"admins", "ops"}),
        ("[]", set()),
        ("", set()),
        (None, set()),
        (42, set()),
        (["admins", ""], {"admins"}),
    ],
)
def test_parse_groups(value, expected):
    assert auth.parse_groups(value) == frozenset(expected)


def test_caller_from_claims():
    caller = auth.caller_from_event(http_event("GET", "/orders/x", customer=ALICE))
    # sub: helpers.id_token_claims' uuid5(NAMESPACE_URL, "alice")
    assert caller == auth.Caller(ALICE, frozenset(), sub="9750dcc2-516e-5ea0-8a26-54fa6ff6986b")
    assert not caller.is_admin and caller.scope == ALICE
    assert caller.may_access(ALICE) and not caller.may_access(BOB)

    admin = auth.caller_from_event(http_event("GET", "/orders/x", customer=OPS, groups=["staff", "admins"]))
    assert admin.is_admin and admin.scope is None
    assert admin.may_access(BOB) and admin.groups == {"staff", "admins"}


def test_caller_from_raw_list_groups():
    claims = id_token_claims(OPS)
    claims["cognito:groups"] = ["admins"]  # an integration that passes the token's JSON unchanged
    assert auth.caller_from_event(http_event("GET", "/x", claims=claims)).is_admin


@pytest.mark.parametrize(
    "event",
    [
        {"requestContext": {}},
        {"requestContext": {"authorizer": None}},
        {"requestContext": {"authorizer": {"jwt": "x"}}},
        {"requestContext": {"authorizer": {"jwt": {"claims": {}}}}},
        {"requestContext": {"authorizer": {"lambda": {"customerId": "alice"}}}},
        {"requestContext": "nope"},
    ],
)
def test_no_claims_is_unauthenticated(event):
    with pytest.raises(auth.Unauthenticated):
        auth.caller_from_event(event)


def _claims(**changes):
    return changed_claims(ALICE, **changes)


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        (_claims(token_use="access"), auth.Unauthenticated),  # an access token: no customer identity
        (_claims(token_use=None), auth.Unauthenticated),
        (_claims(cognito__username=None), auth.Unauthenticated),
        (_claims(cognito__username=""), auth.Unauthenticated),
        (_claims(cognito__username="bad name"), auth.Forbidden),  # authenticated, but not a valid customer id
        (_claims(cognito__username="x" * 65), auth.Forbidden),
    ],
)
def test_unusable_identity(claims, error):
    with pytest.raises(error):
        auth.caller_from_event(http_event("GET", "/x", claims=claims))


# ---------------------------------------------------------------------------------------------
# 401 on every route without an identity (defence in depth behind the authorizer)
# ---------------------------------------------------------------------------------------------
ROUTES = [
    ("POST", "/orders", order_body()),
    ("GET", "/orders/some-order", None),
    ("DELETE", "/orders/some-order", None),
    ("GET", "/customers/customer-1/orders", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize(
    "identity",
    [
        {"customer": None},
        {"claims": _claims(token_use="access")},
        {"claims": _claims(cognito__username=None)},
    ],
    ids=["no-claims", "access-token", "no-username"],
)
def test_route_without_identity_is_401(cloud, lambda_context, method, path, body, identity):
    order = put_order("PENDING", order_id="some-order")

    response = call(lambda_context, method, path, body, **identity)

    assert response["statusCode"] == 401
    assert response["headers"]["WWW-Authenticate"].startswith("Bearer")
    payload = response_json(response)
    assert set(payload) == {"message", "field"} and payload["field"] is None
    assert cloud.items("ORDERS_TABLE") == [order]  # untouched
    assert cloud.items("IDEMPOTENCY_TABLE") == [] and cloud.events() == []


def test_authentication_comes_before_validation(cloud, lambda_context):
    response = call(lambda_context, "POST", "/orders", raw_body="not json", content_type="text/plain", customer=None)
    assert response["statusCode"] == 401
    assert_nothing_written(cloud)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_invalid_username_is_403_on_every_route(cloud, lambda_context, method, path, body):
    response = call(lambda_context, method, path, body, claims=_claims(cognito__username="no/slash"))
    assert response["statusCode"] == 403
    assert_nothing_written(cloud)


# ---------------------------------------------------------------------------------------------
# POST /orders: the customer comes from the token
# ---------------------------------------------------------------------------------------------
def test_create_without_body_customer_uses_the_token(cloud, lambda_context):
    body = order_body()
    del body["customerId"]

    response = call(lambda_context, "POST", "/orders", body, customer=ALICE)

    assert response["statusCode"] == 201
    [stored] = cloud.items("ORDERS_TABLE")
    assert stored["orderId"] == response_json(response)["orderId"]
    assert stored["customerId"] == ALICE
    [event] = cloud.events("Order Created")
    assert event["detail"]["customerId"] == ALICE


def test_create_with_own_body_customer(cloud, lambda_context):
    response = call(lambda_context, "POST", "/orders", order_body(customerId=ALICE), customer=ALICE)
    assert response["statusCode"] == 201
    assert [o["customerId"] for o in cloud.items("ORDERS_TABLE")] == [ALICE]


@pytest.mark.parametrize("groups", [None, ["admins"]], ids=["customer", "admin"])
@pytest.mark.parametrize("key", [None, "key-1"], ids=["no-key", "idempotency-key"])
def test_create_in_another_customers_name_is_403(cloud, lambda_context, groups, key):
    headers = {"Idempotency-Key": key} if key else None

    response = call(
        lambda_context, "POST", "/orders", order_body(customerId=BOB), customer=ALICE, groups=groups, headers=headers
    )

    assert response["statusCode"] == 403
    assert response_json(response) == {
        "message": "customerId does not match the authenticated customer",
        "field": "$.customerId",
    }
    assert_nothing_written(cloud)


def test_invalid_body_is_400_before_the_customer_check(cloud, lambda_context):
    response = call(lambda_context, "POST", "/orders", order_body(customerId=BOB, totalAmount=109.971), customer=ALICE)
    assert response["statusCode"] == 400 and response_json(response)["field"] == "$.totalAmount"
    assert "2 decimal places" in response_json(response)["message"]
    assert_nothing_written(cloud)


@pytest.mark.parametrize(
    "change",
    [{"totalAmount": 1}, {"items": [{"productId": "prod-404", "quantity": 1}]}],
    ids=["wrong-total", "unknown-product"],
)
def test_customer_check_comes_before_the_catalogue(cloud, lambda_context, change):
    """A body in another customer's name is 403 before the catalogue is read (no 409 prices, no 400 product)."""
    response = call(lambda_context, "POST", "/orders", order_body(customerId=BOB, **change), customer=ALICE)
    assert response["statusCode"] == 403
    assert response_json(response) == {
        "message": "customerId does not match the authenticated customer",
        "field": "$.customerId",
    }
    assert_nothing_written(cloud)


def test_idempotency_keys_are_per_customer(cloud, lambda_context):
    body = order_body()
    del body["customerId"]
    headers = {"Idempotency-Key": "same-key"}

    a = call(lambda_context, "POST", "/orders", body, customer=ALICE, headers=headers)
    b = call(lambda_context, "POST", "/orders", body, customer=BOB, headers=headers)
    a_again = call(lambda_context, "POST", "/orders", body, customer=ALICE, headers=headers)

    assert a["statusCode"] == b["statusCode"] == a_again["statusCode"] == 201
    assert response_json(a)["orderId"] != response_json(b)["orderId"]  # B never gets A's response
    assert response_json(a_again) == response_json(a)
    assert sorted(o["customerId"] for o in cloud.items("ORDERS_TABLE")) == [ALICE, BOB]
    assert len(cloud.items("IDEMPOTENCY_TABLE")) == 2


# ---------------------------------------------------------------------------------------------
# GET /orders/{orderId}
# ---------------------------------------------------------------------------------------------
def test_get_own_order(cloud, lambda_context):
    order = put_order("PAID", customer_id=ALICE)
    response = call(lambda_context, "GET", f"/orders/{order['orderId']}", customer=ALICE)
    assert response["statusCode"] == 200
    assert response_json(response)["customerId"] == ALICE


@pytest.mark.parametrize("groups", [None, ["ops"], "[administrators]"], ids=["no-groups", "other-group", "lookalike"])
def test_get_another_customers_order_is_404_like_an_unknown_one(cloud, lambda_context, groups):
    order = put_order("PAID", customer_id=BOB)

    response = call(lambda_context, "GET", f"/orders/{order['orderId']}", customer=ALICE, groups=groups)
    unknown = call(lambda_context, "GET", "/orders/no-such-order", customer=ALICE, groups=groups)

    assert response["statusCode"] == 404
    assert response_json(response) == {"message": f"order {order['orderId']} not found", "field": None}
    assert unknown["statusCode"] == 404
    assert set(response_json(unknown)) == set(response_json(response))


@pytest.mark.parametrize("groups", [["admins"], "[admins]", "[ops admins]", "admins"])
def test_admin_reads_any_order(cloud, lambda_context, groups):
    order = put_order("PAID", customer_id=BOB)
    response = call(lambda_context, "GET", f"/orders/{order['orderId']}", customer=OPS, groups=groups)
    assert response["statusCode"] == 200
    assert response_json(response)["customerId"] == BOB


# ---------------------------------------------------------------------------------------------
# DELETE /orders/{orderId}
# ---------------------------------------------------------------------------------------------
def test_cancel_own_order(cloud, lambda_context):
    order = put_order("PENDING", customer_id=ALICE)
    response = call(lambda_context, "DELETE", f"/orders/{order['orderId']}", customer=ALICE)
    assert response["statusCode"] == 202
    assert get_order(order["orderId"])["status"] == "CANCELLED"
    assert [e["detail"]["customerId"] for e in cloud.events("Order Cancellation Requested")] == [ALICE]


def test_cancel_another_customers_order_is_404_and_changes_nothing(cloud, lambda_context):
    order = put_order("PENDING", customer_id=BOB)

    response = call(lambda_context, "DELETE", f"/orders/{order['orderId']}", customer=ALICE)

    assert response["statusCode"] == 404
    assert response_json(response) == {"message": f"order {order['orderId']} not found", "field": None}
    assert get_order(order["orderId"]) == order
    assert cloud.events() == []


def test_admin_cancels_any_order(cloud, lambda_context):
    order = put_order("PAID", customer_id=BOB)
    response = call(lambda_context, "DELETE", f"/orders/{order['orderId']}", customer=OPS, groups=["admins"])
    assert response["statusCode"] == 202
    stored = get_order(order["orderId"])
    assert stored["status"] == "CANCELLED" and stored["customerId"] == BOB
    [event] = cloud.events("Order Cancellation Requested")
    assert event["detail"]["customerId"] == BOB and event["detail"]["previousStatus"] == "PAID"


# ---------------------------------------------------------------------------------------------
# GET /customers/{customerId}/orders
# ---------------------------------------------------------------------------------------------
def test_list_own_orders(cloud, lambda_context):
    mine = put_order("PAID", customer_id=ALICE)
    put_order("PAID", customer_id=BOB)
    response = call(lambda_context, "GET", f"/customers/{ALICE}/orders", customer=ALICE)
    assert response["statusCode"] == 200
    assert [o["orderId"] for o in response_json(response)["orders"]] == [mine["orderId"]]


@pytest.mark.parametrize("groups", [None, ["ops"]])
def test_list_another_customers_orders_is_403(cloud, lambda_context, groups):
    put_order("PAID", customer_id=BOB)
    response = call(lambda_context, "GET", f"/customers/{BOB}/orders", customer=ALICE, groups=groups)
    assert response["statusCode"] == 403
    assert response_json(response) == {
        "message": "you may list only your own orders",
        "field": "pathParameters.customerId",
    }


def test_admin_lists_any_customers_orders(cloud, lambda_context):
    theirs = put_order("PAID", customer_id=BOB)
    put_order("PAID", customer_id=ALICE)
    response = call(lambda_context, "GET", f"/customers/{BOB}/orders", customer=OPS, groups="[admins]")
    assert response["statusCode"] == 200
    assert [o["orderId"] for o in response_json(response)["orders"]] == [theirs["orderId"]]


# ---------------------------------------------------------------------------------------------
# service level: the scope is enforced where the order is read
# ---------------------------------------------------------------------------------------------
def test_service_scope(cloud):
    order = put_order("PENDING", customer_id=BOB)
    assert service.get_order(order["orderId"])["customerId"] == BOB
    assert service.get_order(order["orderId"], BOB)["customerId"] == BOB
    with pytest.raises(OrderNotFound):
        service.get_order(order["orderId"], ALICE)
    with pytest.raises(OrderNotFound):
        service.cancel_order(order["orderId"], ALICE)
    assert get_order(order["orderId"])["status"] == "PENDING"
    assert service.cancel_order(order["orderId"], BOB)["status"] == "CANCELLED"


# ---------------------------------------------------------------------------------------------
# stable identity: the token's sub is recorded on each order created over HTTP and checked on every read
# ---------------------------------------------------------------------------------------------
#: helpers.id_token_claims' subs, uuid5(NAMESPACE_URL, <user name>), as literals
ALICE_SUB = "9750dcc2-516e-5ea0-8a26-54fa6ff6986b"
OPS_SUB = "b88c601d-deca-54ba-9767-a83d398df2a8"
#: the sub of an earlier user named alice (deleted, then the name created again)
OLD_ALICE_SUB = "0b3c1a6e-2f7d-4e44-9d0a-5c1e2b3a4d5f"


def alice_again(**kwargs):
    """A token of the *new* alice: the same user name with another sub than OLD_ALICE_SUB."""
    return {"claims": id_token_claims(ALICE), **kwargs}


@pytest.mark.parametrize(
    "sub", [None, "", "a b", "x" * 65, 42, ["s"]], ids=["missing", "empty", "space", "65-chars", "number", "list"]
)
def test_a_token_without_a_valid_sub_is_unauthenticated(sub):
    with pytest.raises(auth.Unauthenticated) as info:
        auth.caller_from_event(http_event("GET", "/x", claims=_claims(sub=sub)))
    assert str(info.value) == "the token carries no valid sub claim"


def test_a_sub_of_64_characters_is_accepted():
    caller = auth.caller_from_event(http_event("GET", "/x", claims=_claims(sub="S" * 64)))
    assert caller == auth.Caller(ALICE, frozenset(), sub="S" * 64)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_route_with_a_token_without_sub_is_401(cloud, lambda_context, method, path, body):
    order = put_order("PENDING", order_id="some-order")
    response = call(lambda_context, method, path, body, claims=_claims(sub=None))
    assert response["statusCode"] == 401
    assert response_json(response) == {"message": "the token carries no valid sub claim", "field": None}
    assert cloud.items("ORDERS_TABLE") == [order] and cloud.items("IDEMPOTENCY_TABLE") == []
    assert cloud.events() == []


def test_an_order_created_over_http_records_the_owners_sub(cloud, lambda_context):
    response = call(lambda_context, "POST", "/orders", order_body(customerId=ALICE), customer=ALICE)
    assert response["statusCode"] == 201
    [stored] = cloud.items("ORDERS_TABLE")
    assert stored["ownerSub"] == ALICE_SUB
    [event] = cloud.events("Order Created")
    assert "ownerSub" not in event["detail"]  # the event contract is unchanged


def test_an_order_created_by_direct_invoke_records_no_sub(cloud, lambda_context):
    result = handler.lambda_handler(order_body(customerId=ALICE), lambda_context)
    stored = get_order(result["orderId"])
    assert stored["customerId"] == ALICE and "ownerSub" not in stored


def test_an_admins_order_records_the_admins_sub(cloud, lambda_context):
    call(lambda_context, "POST", "/orders", order_body(customerId=OPS), customer=OPS, groups=["admins"])
    assert [o["ownerSub"] for o in cloud.items("ORDERS_TABLE")] == [OPS_SUB]


def test_get_an_order_of_an_earlier_user_of_the_same_name_is_404(cloud, lambda_context):
    order = put_order("PAID", customer_id=ALICE, ownerSub=OLD_ALICE_SUB)
    response = call(lambda_context, "GET", f"/orders/{order['orderId']}", **alice_again())
    assert response["statusCode"] == 404
    assert response_json(response) == {"message": f"order {order['orderId']} not found", "field": None}


@pytest.mark.parametrize("owner_sub", [ALICE_SUB, None], ids=["own-sub", "no-sub-recorded"])
def test_get_an_order_of_the_same_sub_or_without_one_is_200(cloud, lambda_context, owner_sub):
    extra = {"ownerSub": owner_sub} if owner_sub else {}
    order = put_order("PAID", customer_id=ALICE, **extra)
    response = call(lambda_context, "GET", f"/orders/{order['orderId']}", customer=ALICE)
    assert response["statusCode"] == 200
    assert response_json(response)["orderId"] == order["orderId"]
    assert "ownerSub" not in response_json(response)  # not part of the public view


def test_cancel_an_order_of_an_earlier_user_of_the_same_name_is_404_and_changes_nothing(cloud, lambda_context):
    order = put_order("PENDING", customer_id=ALICE, ownerSub=OLD_ALICE_SUB)
    response = call(lambda_context, "DELETE", f"/orders/{order['orderId']}", **alice_again())
    assert response["statusCode"] == 404
    assert response_json(response) == {"message": f"order {order['orderId']} not found", "field": None}
    assert get_order(order["orderId"]) == order
    assert cloud.items("OUTBOX_TABLE") == [] and cloud.events() == []


@pytest.mark.parametrize("owner_sub", [ALICE_SUB, None], ids=["own-sub", "no-sub-recorded"])
def test_cancel_an_order_of_the_same_sub_or_without_one_is_202(cloud, lambda_context, owner_sub):
    extra = {"ownerSub": owner_sub} if owner_sub else {}
    order = put_order("PENDING", customer_id=ALICE, **extra)
    response = call(lambda_context, "DELETE", f"/orders/{order['orderId']}", customer=ALICE)
    assert response["statusCode"] == 202
    assert get_order(order["orderId"])["status"] == "CANCELLED"


def test_admins_reach_orders_whatever_sub_they_record(cloud, lambda_context):
    order = put_order("PENDING", customer_id=ALICE, ownerSub=OLD_ALICE_SUB)
    read = call(lambda_context, "GET", f"/orders/{order['orderId']}", customer=OPS, groups=["admins"])
    listed = call(lambda_context, "GET", f"/customers/{ALICE}/orders", customer=OPS, groups=["admins"])
    cancelled = call(lambda_context, "DELETE", f"/orders/{order['orderId']}", customer=OPS, groups=["admins"])
    assert read["statusCode"] == 200 and response_json(read)["orderId"] == order["orderId"]
    assert [o["orderId"] for o in response_json(listed)["orders"]] == [order["orderId"]]
    assert cancelled["statusCode"] == 202 and get_order(order["orderId"])["status"] == "CANCELLED"


def _alices_orders():
    """Newest first: the old user's, mine, mine without a sub (seed), the old user's, mine, mine."""
    plan = [
        ("o-6", OLD_ALICE_SUB),
        ("o-5", ALICE_SUB),
        ("o-4", None),
        ("o-3", OLD_ALICE_SUB),
        ("o-2", ALICE_SUB),
        ("o-1", ALICE_SUB),
    ]
    for minute, (order_id, sub) in enumerate(reversed(plan)):
        extra = {"ownerSub": sub} if sub else {}
        put_order("PAID", order_id=order_id, customer_id=ALICE, updated_at=f"2024-05-01T12:0{minute}:00.000Z", **extra)


def test_list_returns_none_of_the_orders_of_an_earlier_user_of_the_same_name(cloud, lambda_context):
    _alices_orders()
    response = call(lambda_context, "GET", f"/customers/{ALICE}/orders", **alice_again())
    assert response["statusCode"] == 200
    assert response_json(response)["nextToken"] is None
    assert [o["orderId"] for o in response_json(response)["orders"]] == ["o-5", "o-4", "o-2", "o-1"]


def test_list_pages_are_filled_past_hidden_orders(cloud, lambda_context):
    _alices_orders()
    pages, token = [], None
    for _ in range(3):
        query = {"limit": "2", **({"nextToken": token} if token else {})}
        body = response_json(call(lambda_context, "GET", f"/customers/{ALICE}/orders", query=query, **alice_again()))
        pages.append([o["orderId"] for o in body["orders"]])
        token = body["nextToken"]
        if token is None:
            break
    # page 1 reads o-6 (hidden), o-5, then o-4; page 2 reads o-3 (hidden), o-2, then o-1; the index then ends
    assert pages[:2] == [["o-5", "o-4"], ["o-2", "o-1"]]
    assert pages[2:] in ([], [[]])  # DynamoDB may stop at the limit with a key to an empty page; moto ends there


def test_list_with_a_limit_of_one_skips_a_hidden_order(cloud, lambda_context):
    _alices_orders()
    body = response_json(
        call(lambda_context, "GET", f"/customers/{ALICE}/orders", query={"limit": "1"}, **alice_again())
    )
    assert [o["orderId"] for o in body["orders"]] == ["o-5"]
    following = response_json(
        call(
            lambda_context,
            "GET",
            f"/customers/{ALICE}/orders",
            query={"limit": "3", "nextToken": body["nextToken"]},
            **alice_again(),
        )
    )
    assert [o["orderId"] for o in following["orders"]] == ["o-4", "o-2", "o-1"]


def test_idempotency_keys_are_per_sub(cloud, lambda_context):
    """The re-created user name sends the old user's key and body: a new order, not the old user's response."""
    headers = {"Idempotency-Key": "same-key"}
    first = call(
        lambda_context,
        "POST",
        "/orders",
        order_body(customerId=ALICE),
        claims={**id_token_claims(ALICE), "sub": OLD_ALICE_SUB},
        headers=headers,
    )
    again = call(lambda_context, "POST", "/orders", order_body(customerId=ALICE), **alice_again(headers=headers))
    assert first["statusCode"] == again["statusCode"] == 201
    assert response_json(first)["orderId"] != response_json(again)["orderId"]
    assert sorted(o["ownerSub"] for o in cloud.items("ORDERS_TABLE")) == sorted([OLD_ALICE_SUB, ALICE_SUB])
    assert len(cloud.items("IDEMPOTENCY_TABLE")) == 2


def test_service_scope_by_sub(cloud):
    order = put_order("PENDING", customer_id=BOB, ownerSub="sub-b")
    assert service.get_order(order["orderId"], BOB, "sub-b")["orderId"] == order["orderId"]
    assert service.get_order(order["orderId"])["orderId"] == order["orderId"]
    for customer, sub in [(BOB, None), (BOB, "sub-c"), (ALICE, "sub-b")]:
        with pytest.raises(OrderNotFound):
            service.get_order(order["orderId"], customer, sub)
        with pytest.raises(OrderNotFound):
            service.cancel_order(order["orderId"], customer, sub)
    assert get_order(order["orderId"])["status"] == "PENDING"
    assert service.cancel_order(order["orderId"], BOB, "sub-b")["status"] == "CANCELLED"


def test_a_listing_reads_a_bounded_number_of_index_items_and_goes_on_with_a_token(cloud, lambda_context, monkeypatch):
    """Seven orders of an earlier user of the name, then two of mine: with a read budget of 4 index items per
    request (pages of at least 2), the first page is empty but has a token, and the tokens lead to both of mine."""
    for minute, (order_id, sub) in enumerate(
        [("o-1", ALICE_SUB), ("o-2", ALICE_SUB)] + [(f"o-old-{n}", OLD_ALICE_SUB) for n in range(1, 8)]
    ):
        put_order(
            "PAID", order_id=order_id, customer_id=ALICE, updated_at=f"2024-05-01T12:0{minute}:00.000Z", ownerSub=sub
        )
    monkeypatch.setattr(service, "LIST_READ_BUDGET", 4)
    monkeypatch.setattr(service, "LIST_MIN_INDEX_PAGE", 2)
    reads = []
    real_list = service.orders.list_by_customer

    def counted(customer_id, limit, start_key=None):
        page, last_key = real_list(customer_id, limit, start_key)
        reads[-1].append(len(page))
        return page, last_key

    monkeypatch.setattr(service.orders, "list_by_customer", counted)
    pages, token = [], None
    for _ in range(4):
        reads.append([])
        query = {"limit": "2", **({"nextToken": token} if token else {})}
        response = call(lambda_context, "GET", f"/customers/{ALICE}/orders", query=query, **alice_again())
        assert response["statusCode"] == 200
        pages.append([o["orderId"] for o in response_json(response)["orders"]])
        token = response_json(response)["nextToken"]
        if token is None:
            break
    assert pages == [[], ["o-2"], ["o-1"]]
    assert reads == [[2, 2], [2, 2], [1]]


def _listing(monkeypatch, orders_newest_first: list[tuple[str, str]], budget: int, min_page: int):
    """Orders of ALICE (id, owner sub), newest first; the listing's index reads recorded as (Limit, items read)."""
    for minute, (order_id, sub) in enumerate(reversed(orders_newest_first)):
        put_order(
            "PAID", order_id=order_id, customer_id=ALICE, updated_at=f"2024-05-01T12:{minute:02d}:00.000Z", ownerSub=sub
        )
    monkeypatch.setattr(service, "LIST_READ_BUDGET", budget)
    monkeypatch.setattr(service, "LIST_MIN_INDEX_PAGE", min_page)
    reads: list[tuple[int, int]] = []
    real_list = service.orders.list_by_customer

    def counted(customer_id, limit, start_key=None):
        page, last_key = real_list(customer_id, limit, start_key)
        reads.append((limit, len(page)))
        return page, last_key

    monkeypatch.setattr(service.orders, "list_by_customer", counted)
    return reads


def test_each_index_read_asks_for_what_is_still_missing(cloud, monkeypatch):
    """limit 3 of mine among earlier users' orders: each read asks for the orders still missing (at least 2), so
    the second asks for 2, not 3 + the one found; the page ends inside the third read, so the token is that order's."""
    mine, old = ALICE_SUB, OLD_ALICE_SUB
    newest_first = [("m-1", mine), ("x-1", old), ("x-2", old), ("m-2", mine), ("x-3", old), ("m-3", mine), ("x-4", old)]
    reads = _listing(monkeypatch, newest_first, budget=10, min_page=2)

    found, token = service.list_customer_orders(ALICE, 3, None, ALICE, mine)

    assert [o["orderId"] for o in found] == ["m-1", "m-2", "m-3"]
    assert reads == [(3, 3), (2, 2), (2, 2)]
    assert token == {"orderId": "m-3", "customerId": ALICE, "createdAt": "2024-05-01T12:01:00.000Z"}


def test_the_last_index_read_asks_for_no_more_than_the_budget_leaves(cloud, monkeypatch):
    mine, old = ALICE_SUB, OLD_ALICE_SUB
    newest_first = [("m-1", mine), ("x-1", old), ("x-2", old), ("x-3", old), ("m-2", mine)]
    reads = _listing(monkeypatch, newest_first, budget=4, min_page=2)

    found, token = service.list_customer_orders(ALICE, 3, None, ALICE, mine)

    assert [o["orderId"] for o in found] == ["m-1"]
    assert reads == [(3, 3), (1, 1)]  # 4 items read at most: the second read asks for the one left
    assert token is not None  # the rest of the index is still to be read, with the next request


def test_a_page_filled_by_the_last_order_of_the_index_has_no_token(cloud, monkeypatch):
    """Exactly `limit` orders: the page is full at the index's last item, so there is nothing to go on to (a token
    there would send the client after an empty page)."""
    reads = _listing(monkeypatch, [("m-1", ALICE_SUB), ("m-2", ALICE_SUB)], budget=300, min_page=25)

    found, token = service.list_customer_orders(ALICE, 2, None, ALICE, ALICE_SUB)

    assert [o["orderId"] for o in found] == ["m-1", "m-2"]
    assert reads == [(25, 2)]
    assert token is None
