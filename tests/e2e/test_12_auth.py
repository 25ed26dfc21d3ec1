"""Authentication and authorisation of the order API (docs/auth.md), from the outside.

Who may call: every route sits behind API Gateway's JWT authorizer (the stack's Cognito user pool; audience = its app
client). No token, a malformed, tampered, expired or wrong-audience token: 401, and nothing is written, cancelled or
published. An access token passes the authorizer (API Gateway does not tell ID from access tokens) but names no
customer: the Lambda answers 401.

What they may touch: the customer is the ID token's `cognito:username`. Customer A cannot read or cancel B's order
(404, as for an unknown id), list B's orders (403) or order in B's name (403); a member of `admins` can read, list
and cancel anyone's orders (but orders only in their own name).

Where MiniStack 1.5.33 checks less than AWS, the single assertion concerned is marked xfail on the local cloud with
the gap's name from docs/auth.md ("MiniStack JWT validation"); tests/emulator/test_auth_gaps.py guards the gaps.
"""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
from e2e_support import app_client_config, jwt_claims

from scripts.api_client import order_payload
from scripts.polling import wait_until

AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def flipped_signature(token: str) -> str:
    """The token with bytes of its signature inverted."""
    head, payload, signature = token.split(".")
    raw = bytearray(_unb64(signature))
    for i in (0, len(raw) // 2, len(raw) - 1):
        raw[i] ^= 0xFF
    return f"{head}.{payload}.{_b64(bytes(raw))}"


def changed_payload(token: str, **claims: object) -> str:
    """The token with claims changed (e.g. another cognito:username) and the original signature."""
    head, payload, signature = token.split(".")
    doc = json.loads(_unb64(payload))
    doc.update({k.replace("__", ":"): v for k, v in claims.items()})
    return f"{head}.{_b64(json.dumps(doc).encode())}.{signature}"


@pytest.fixture
def second_client(stack):
    """Another app client of the same user pool (its tokens have another audience); deleted after the test."""
    cognito, pool = stack.customers.cognito, stack.customers.pool_id
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName=stack.name("e2e-other")[:128], GenerateSecret=False, ExplicitAuthFlows=AUTH_FLOWS
    )["UserPoolClient"]["ClientId"]
    try:
        yield client_id
    finally:
        cognito.delete_user_pool_client(UserPoolId=pool, ClientId=client_id)


@pytest.fixture
def expired_token(stack):
    """An expired ID token of the stack's own app client (right issuer and audience: only the expiry is wrong).

    The app client's ID-token lifetime is set to the shortest the cloud allows for one sign-in and restored at once
    (`Stack.app_client_settings`, recorded for `invoke e2e`'s restore). MiniStack allows 1 second
    (tests/emulator/test_auth_gaps.py); AWS's minimum is 5 minutes, so on AWS the test waits that long only with
    ORDERFLOW_E2E_WAIT_FOR_EXPIRY=1 and is skipped otherwise."""
    cognito = stack.customers.cognito
    customer = stack.name("c-auth-expired")
    stack.customers.ensure(customer)
    units = app_client_config(cognito, stack.customers.pool_id, stack.customers.client_id).get("TokenValidityUnits", {})
    token = None
    for validity, unit in ((1, "seconds"), (5, "minutes")):
        if unit == "minutes" and os.environ.get("ORDERFLOW_E2E_WAIT_FOR_EXPIRY") != "1":
            pytest.skip(
                "this cloud refuses ID-token lifetimes below 5 minutes (AWS's minimum): set "
                "ORDERFLOW_E2E_WAIT_FOR_EXPIRY=1 to wait that long for a token to expire"
            )
        try:
            with stack.app_client_settings(IdTokenValidity=validity, TokenValidityUnits={**units, "IdToken": unit}):
                token = stack.customers.sign_in(customer)["IdToken"]
            break
        except cognito.exceptions.InvalidParameterException:
            continue
    assert token, "could not get a short-lived ID token"
    time.sleep(max(0.0, jwt_claims(token)["exp"] - time.time()) + 1.5)
    return token


def _routes(order_id: str, customer: str, body: dict) -> list[tuple[str, str, dict | None]]:
    return [
        ("POST", "/orders", body),
        ("GET", f"/orders/{order_id}", None),
        ("DELETE", f"/orders/{order_id}", None),
        ("GET", f"/customers/{customer}/orders", None),
    ]


def test_requests_without_a_valid_token_are_refused(stack, scenario, second_client):
    product, alice = stack.name("auth"), stack.name("c-auth-a")
    stack.set_stock(product, 5, price="11.00")
    token = stack.token(alice)
    order = stack.submit(order_payload(alice, [(product, 1, "11.00")]), label="the customer's own order")
    scenario.track(order)

    # tokens that must not get in (each sign-in sets a new password; issued tokens stay valid)
    access_token = stack.customers.sign_in(alice)["AccessToken"]
    other_audience = stack.customers.sign_in(alice, client_id=second_client)["IdToken"]
    assert jwt_claims(other_audience)["aud"] == second_client != jwt_claims(token)["aud"]
    bad_tokens = {
        "malformed: not a JWT": "not-a-jwt",
        "malformed: three empty parts": "..",
        "malformed: two parts": ".".join(token.split(".")[:2]),
        "malformed: header not JSON": _b64(b"{not json") + "." + token.split(".", 1)[1],
        "tampered: signature bytes flipped": flipped_signature(token),
        "tampered: cognito:username changed": changed_payload(token, cognito__username=stack.name("c-auth-b")),
        "tampered: admins group added": changed_payload(token, cognito__groups=["admins"]),
        "tampered: alg none, no signature": _b64(json.dumps({"alg": "none"}).encode())
        + "."
        + token.split(".")[1]
        + ".",
        "wrong audience (another app client)": other_audience,
        "access token (no customer identity)": access_token,
    }
    routes = _routes(order.order_id, alice, order_payload(alice, [(product, 1, "11.00")]))
    failures = []
    for method, path, body in routes:
        attempts = {
            "no Authorization header": {},
            "empty bearer": {"Authorization": "Bearer "},
            "Basic credentials": {"Authorization": "Basic " + _b64(f"{alice}:secret".encode())},
        }
        attempts.update({name: {"Authorization": f"Bearer {bad}"} for name, bad in bad_tokens.items()})
        for name, headers in attempts.items():
            resp = stack.api.request(method, path, json_body=body, headers=headers, retries=0)
            if resp.status != 401:
                failures.append(f"{method} {path} with {name}: {resp.status} {resp.body[:150]!r}")
    scenario.note(f"{len(routes)} routes x {len(bad_tokens) + 3} bad credentials: {len(failures)} not refused with 401")
    assert not failures, "\n".join(failures)

    # nothing happened: still one order for the customer, not cancelled; the real token still works
    final = stack.wait_terminal(scenario, [order])[order.order_id]
    assert final["status"] == "COMPLETED" and "CANCELLED" not in [h["status"] for h in final["statusHistory"]], final
    assert [o["orderId"] for o in stack.wait_customer_orders(alice, [order.order_id])] == [order.order_id]
    assert stack.api.get_order(order.order_id, token=token).status == 200


def test_expired_token_is_refused(stack, scenario, expired_token):
    """An ID token of the right pool and app client that has expired: 401 on every route, nothing written."""
    claims = jwt_claims(expired_token)
    assert claims["aud"] == stack.customers.client_id and claims["exp"] < time.time(), claims
    customer = claims["cognito:username"]
    body = order_payload(customer, [(stack.name("auth-expired"), 1, "1.00")])
    for method, path, payload in _routes(stack.name("no-such-order"), customer, body):
        resp = stack.api.request(method, path, json_body=payload, retries=0, token=expired_token)
        assert resp.status == 401, f"{method} {path} with an expired token: {resp!r}"
    assert stack.customer_orders(customer) == []
    # the app client is back to its configured lifetime
    fresh = jwt_claims(stack.token(customer))
    assert fresh["exp"] - fresh["iat"] >= 300, fresh


def test_refusal_names_the_bearer_scheme(stack, scenario, request):
    """AWS's authorizer answers 401 with `www-authenticate: Bearer ... error="invalid_token"`."""
    if stack.local:
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason=(
                    "MiniStack 1.5.33 gap (docs/auth.md, MiniStack JWT validation: 'www-authenticate on 401'): its JWT "
                    "authorizer answers 401 without a www-authenticate header"
                ),
            )
        )
    resp = stack.api.request(
        "GET", f"/orders/{stack.name('no-such-order')}", headers={"Authorization": "Bearer x.y.z"}, retries=0
    )
    assert resp.status == 401
    assert (resp.header("www-authenticate") or "").startswith("Bearer"), resp.headers


def test_customers_reach_only_their_own_orders(stack, scenario):
    def listed_when(customer: str, token: str, expected: list[str]) -> list[str]:
        """GET /customers/{id}/orders once it lists `expected`: the route reads CustomerId-Index, a GSI, which
        shows a write eventually (every answer on the way must still be 200)."""

        def ids() -> list[str]:
            resp = stack.api.customer_orders(customer, token=token)
            assert resp.status == 200, resp
            return [o["orderId"] for o in resp.json["orders"]]

        return wait_until(
            lambda: (found := ids()) == expected and found, 30, f"GET /customers/{customer}/orders = {expected}"
        )

    product = stack.name("own")
    stack.set_stock(product, 10, price="5.00")
    alice, bob, operator = stack.name("c-own-a"), stack.name("c-own-b"), stack.name("c-own-ops")
    a, b, ops = stack.token(alice), stack.token(bob), stack.token(operator, admin=True)
    assert "admins" in jwt_claims(ops).get("cognito:groups", []) and "cognito:groups" not in jwt_claims(a)

    # the customer comes from the token: no customerId in the body is fine
    body = order_payload(alice, [(product, 1, "5.00")])
    del body["customerId"]
    mine = stack.submit(body, label="A's order (customerId from the token)", as_customer=alice)
    assert stack.order(mine.order_id, alice) is not None, "the order must be stored under the token's customer"
    with stack.rule_disabled("Order Created", stack.sm_arn("order-processing")):
        theirs = stack.submit(order_payload(bob, [(product, 1, "5.00")]), label="B's order (held PENDING)")
        scenario.track(mine, theirs)

        # A cannot read or cancel B's order (404 like an unknown id), list B's orders or order as B (403)
        unknown = stack.api.get_order(stack.name("no-such-order"), token=a)
        read = stack.api.get_order(theirs.order_id, token=a)
        assert read.status == 404 == unknown.status, read
        assert set(read.json or {}) == set(unknown.json or {}) and bob not in read.body.decode(), read
        cancel = stack.api.cancel_order(theirs.order_id, token=a)
        assert cancel.status == 404, cancel
        assert stack.order(theirs.order_id, bob)["status"] == "PENDING", "A's DELETE must not touch B's order"
        listed = stack.api.customer_orders(bob, token=a)
        assert listed.status == 403 and "orders" not in (listed.json or {}), listed
        as_bob = stack.api.create_order(order_payload(bob, [(product, 1, "5.00")]), token=a)
        assert as_bob.status == 403, as_bob
        assert [o["orderId"] for o in stack.wait_customer_orders(bob, [theirs.order_id])] == [theirs.order_id], (
            "nothing written for B"
        )
        assert [o["orderId"] for o in stack.wait_customer_orders(alice, [mine.order_id])] == [mine.order_id], (
            "nothing written for A"
        )
        # ... and B cannot reach A's either
        assert stack.api.get_order(mine.order_id, token=b).status == 404
        assert stack.api.customer_orders(alice, token=b).status == 403

        # each reaches their own
        own = stack.api.get_order(theirs.order_id, token=b)
        assert own.status == 200 and own.json["customerId"] == bob, own
        assert listed_when(alice, a, [mine.order_id]) == [mine.order_id]

        # an operator reads, lists and cancels anyone's orders, but orders only in their own name
        read = stack.api.get_order(theirs.order_id, token=ops)
        assert read.status == 200 and read.json["customerId"] == bob, read
        assert listed_when(bob, ops, [theirs.order_id]) == [theirs.order_id]
        as_bob = stack.api.create_order(order_payload(bob, [(product, 1, "5.00")]), token=ops)
        assert as_bob.status == 403, as_bob
        cancel = stack.api.cancel_order(theirs.order_id, token=ops)
        assert cancel.status == 202 and cancel.json["status"] == "CANCELLED", cancel

    final = stack.wait_terminal(scenario, [mine, theirs])
    assert final[mine.order_id]["status"] == "COMPLETED" and final[mine.order_id]["customerId"] == alice
    assert final[theirs.order_id]["status"] == "CANCELLED" and final[theirs.order_id]["customerId"] == bob
    [compensation] = stack.wait_executions(theirs.order_id, key="payment-processing")
    assert compensation["status"] == "SUCCEEDED", compensation
    assert [o["orderId"] for o in stack.wait_customer_orders(bob, [theirs.order_id])] == [theirs.order_id]
