"""`invoke warm` against the deployed stack (docs/operations.md, "Warm-up and provisioned concurrency"): every function
answers the warm-up request from as many distinct workers as were asked for at once, in both rounds, and the second
round meets no cold start; the warm-up request sent through the HTTP API is only a malformed order (400, nothing
written): API Gateway's events always carry requestContext, so it cannot reach the warm-up answer."""

from __future__ import annotations

from scripts import warmup

WORKERS = 3


def test_warm_starts_distinct_workers_of_every_function_and_the_second_round_is_warm(stack, scenario):
    result = warmup.warm(stack.env, workers=WORKERS, outputs=stack.outputs)

    services = sorted(stack.outputs["function_names"])
    assert services == ["inventory", "notification", "order", "payment"]
    first, second = result["first_round"], result["second_round"]
    for answered in (first, second):
        assert answered["invocations"] == WORKERS * 4
        assert answered["workers_by_function"] == dict.fromkeys(services, WORKERS)
    assert second["cold"] == 0
    scenario.note(
        f"warm: {WORKERS} workers x 4 functions; first round {first['cold']} cold, max {first['max_seconds']:.2f}s; "
        f"second round 0 cold, p50 {second['p50_seconds'] * 1000:.0f} ms (holds {warmup.HOLD_MS} ms)"
    )


def test_a_warm_request_through_the_http_api_is_a_bad_order_and_writes_nothing(stack, scenario):
    customer = stack.name("warm-api")

    response = stack.api.create_order({"action": "warm"}, token=stack.token(customer))

    assert response.status == 400, response
    assert stack.customer_orders(customer) == []
