"""Every response the run received keeps the OpenAPI document (scripts/openapi.py, `invoke openapi`).

The session's ApiClient hands each response to `Stack.responses` (scripts/api_contract.ResponseLog), which checks
its status against those documented for its route (a method and path no route has: API Gateway's 404) and its body
against the documented schema. This test runs late, sends a round of its own (every route, success and refusals, so
it proves something when it runs alone) and then asserts that no response of the run broke the document.
"""

from __future__ import annotations

import base64
import json

from scripts.api_client import order_payload

#: responses of a whole run: the suite sends hundreds; this test alone sends 13
WHOLE_RUN_MINIMUM = 50


def _own_round(stack, scenario) -> int:
    """One request per route and per kind of answer; returns how many."""
    product, customer, other = stack.name("openapi"), stack.name("c-openapi"), stack.name("c-openapi-b")
    stack.set_stock(product, 5, price="4.00")
    token, other_token = stack.token(customer), stack.token(other)
    sub = stack.submit(order_payload(customer, [(product, 1, "4.00")]), label="openapi order")  # 201
    scenario.track(sub)
    page_token = base64.urlsafe_b64encode(json.dumps({"orderId": "x"}).encode()).decode().rstrip("=")
    answers = [
        stack.api.get_order(sub.order_id, token=token).status,  # 200
        stack.api.customer_orders(customer, token=token).status,  # 200
        stack.api.request("GET", f"/customers/{customer}/orders?limit=1", token=token).status,  # 200
        stack.api.request("GET", f"/customers/{customer}/orders?nextToken={page_token}", token=token).status,  # 400
        stack.api.customer_orders(customer, token=other_token).status,  # 403
        stack.api.get_order(sub.order_id, token=other_token).status,  # 404
        stack.api.get_order("bad%20id!", token=token).status,  # 400
        stack.api.create_order(
            {"items": [{"productId": product, "quantity": 1, "price": 9.99}]}, token=token
        ).status,  # 409
        stack.api.request(
            "POST", "/orders", body="{}", headers={"Content-Type": "text/plain"}, token=token, retries=0
        ).status,  # 415
        stack.api.get_order(sub.order_id).status,  # 401
        stack.api.request("GET", "/nope", token=token).status,  # 404
        stack.api.cancel_order(stack.name("no-such-order"), token=token).status,  # 404
    ]
    assert answers == [200, 200, 200, 400, 403, 404, 400, 409, 415, 401, 404, 404], answers
    return 1 + len(answers)


def test_every_response_of_the_run_keeps_the_openapi_document(stack, scenario, request):
    own = _own_round(stack, scenario)
    log = stack.responses
    others_ran = len(request.session.items) > 1
    scenario.note(f"{log.checked} responses checked against the OpenAPI document, {len(log.violations)} broke it")
    assert not log.violations, "\n".join(log.violations[:20])
    assert log.checked >= own
    if others_ran:
        assert log.checked > WHOLE_RUN_MINIMUM, f"only {log.checked} responses were checked in the whole run"
