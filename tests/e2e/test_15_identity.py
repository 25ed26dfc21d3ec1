"""Stable identity (docs/auth.md, "Stable identity: the token's sub"): a user name deleted and created again gets a new
Cognito `sub`, and the new user does not inherit the old user's orders.

Each order created over HTTP records its owner's `sub`; read and cancel of an order that records another `sub` answer
404 exactly as for another customer's order (and change nothing), the list leaves it out, and an operator (`admins`)
still reaches every order. The old user's ID token stays valid until it expires (JWTs are checked without state,
docs/auth.md), and it reaches the old order but not the new one.
"""

from __future__ import annotations

from e2e_support import jwt_claims

from scripts.api_client import order_payload
from scripts.polling import wait_until


def test_a_recreated_user_name_does_not_inherit_the_old_users_orders(stack, scenario):
    product = stack.name("ident")
    stack.set_stock(product, 10, price="3.00")
    name, operator = stack.name("c-ident"), stack.name("c-ident-ops")
    customers = stack.customers

    customers.ensure(name)
    old_token = customers.sign_in(name)["IdToken"]
    created = stack.api.create_order(order_payload(name, [(product, 1, "3.00")]), token=old_token)
    assert created.status == 201, created
    old_id = created.json["orderId"]
    assert stack.order(old_id, name)["ownerSub"] == jwt_claims(old_token)["sub"]

    # the user is deleted and the name created again: a new user with a new sub
    customers.cognito.admin_delete_user(UserPoolId=customers.pool_id, Username=name)
    customers.ensure(name)
    new_token = customers.sign_in(name)["IdToken"]
    assert jwt_claims(new_token)["cognito:username"] == name
    assert jwt_claims(new_token)["sub"] != jwt_claims(old_token)["sub"]

    read = stack.api.get_order(old_id, token=new_token)
    assert read.status == 404 and read.json == {"message": f"order {old_id} not found", "field": None}, read
    cancel = stack.api.cancel_order(old_id, token=new_token)
    assert cancel.status == 404 and cancel.json == {"message": f"order {old_id} not found", "field": None}, cancel
    assert stack.order(old_id, name).get("claim", {}).get("by") != f"cancel:{old_id}", "the old order was cancelled"

    created = stack.api.create_order(order_payload(name, [(product, 1, "3.00")]), token=new_token)
    assert created.status == 201, created
    new_id = created.json["orderId"]
    assert stack.order(new_id, name)["ownerSub"] == jwt_claims(new_token)["sub"]

    def listed(token: str, expected: list[str]) -> list[str]:
        """GET /customers/{name}/orders once it lists `expected` (CustomerId-Index is eventually consistent)."""

        def ids() -> list[str]:
            resp = stack.api.customer_orders(name, token=token)
            assert resp.status == 200, resp
            return [o["orderId"] for o in resp.json["orders"]]

        return wait_until(
            lambda: (found := ids()) == expected and found, 30, f"GET /customers/{name}/orders = {expected}"
        )

    assert listed(new_token, [new_id]) == [new_id]
    assert listed(old_token, [old_id]) == [old_id]
    assert stack.api.get_order(new_id, token=old_token).status == 404
    assert stack.api.get_order(old_id, token=old_token).status == 200

    ops = stack.token(operator, admin=True)
    assert stack.api.get_order(old_id, token=ops).status == 200
    assert stack.api.get_order(new_id, token=ops).status == 200
    assert listed(ops, [new_id, old_id]) == [new_id, old_id]  # newest first
    scenario.note(
        f"user {name} re-created: old order {old_id} hidden from the new user, new order {new_id} from the old"
    )
