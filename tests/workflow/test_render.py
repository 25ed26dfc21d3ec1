"""scripts/render.py: placeholders, failures, statelint, and static checks of the rendered definitions.

Pure: no local cloud needed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from scripts import emulator_workarounds, render  # noqa: E402
from scripts.render import (  # noqa: E402
    PLACEHOLDERS, WORKFLOWS, InvalidDefinitionError, RenderError, UnresolvedPlaceholderError, render_workflows,
    template_paths, template_placeholders, validate_definition,
)

REGION, ACCOUNT = "eu-west-1", "123456789012"
LAMBDA_SERVICE_ERRORS = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                         "Lambda.TooManyRequestsException"}
SERVICE_ERRORS = {"PaymentGatewayUnavailable", "CircuitOpenError", "RetryableError"}


def rendered(tmp_path: Path, env: str = "local", **kwargs) -> dict[str, dict]:
    paths = render_workflows(env, region=REGION, account_id=ACCOUNT, out_dir=tmp_path / env, **kwargs)
    return {name: json.loads(path.read_text()) for name, path in paths.items()}


def all_states(machine: dict, scope: str = ""):
    """(qualified name, state) of every state, nested ones included."""
    for name, state in machine["States"].items():
        yield f"{scope}{name}", state
        for sub in [state.get("ItemProcessor") or state.get("Iterator")] + state.get("Branches", []):
            if sub:
                yield from all_states(sub, f"{scope}{name}/")


def test_renders_every_workflow_with_every_placeholder_resolved(tmp_path):
    paths = render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path)
    assert set(paths) == set(WORKFLOWS)
    for name, path in paths.items():
        assert path == tmp_path / f"{name}.asl.json"
        text = path.read_text()
        assert "${" not in text
        json.loads(text)
    order = paths["order-processing"].read_text()
    assert f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orderflow-local-payment" in order
    assert f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orderflow-local-inventory" in order
    assert f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orderflow-local-notification" in order
    assert '"orderflow-local-orders"' in order and '"orderflow-local-bus"' in order
    assert "function:orderflow-local-order\"" in paths["inventory-management"].read_text()


def test_default_output_is_build_env_workflow(tmp_path, monkeypatch):
    import scripts.common  # the default output folder is scripts.common.env_build_dir(env)
    monkeypatch.setattr(scripts.common, "BUILD_DIR", tmp_path / "build")
    paths = render_workflows("dev", region=REGION, account_id=ACCOUNT, project="shop")
    assert paths["order-processing"] == tmp_path / "build" / "dev" / "workflow" / "order-processing.asl.json"
    assert "function:shop-dev-payment" in paths["order-processing"].read_text()


def test_rendering_is_deterministic(tmp_path):
    first = render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "a")
    second = render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "b")
    assert all(first[n].read_bytes() == second[n].read_bytes() for n in first)


def test_templates_use_exactly_the_contract_placeholders():
    used = set().union(*(template_placeholders(p.read_text()) for p in template_paths().values()))
    assert used == set(PLACEHOLDERS)


def test_placeholder_values_are_derived_from_names():
    values = render.placeholder_values("prod", region="us-west-2", account_id="999999999999", project="orderflow")
    assert values == {
        "PaymentFunctionArn": "arn:aws:lambda:us-west-2:999999999999:function:orderflow-prod-payment",
        "InventoryFunctionArn": "arn:aws:lambda:us-west-2:999999999999:function:orderflow-prod-inventory",
        "NotificationFunctionArn": "arn:aws:lambda:us-west-2:999999999999:function:orderflow-prod-notification",
        "OrderFunctionArn": "arn:aws:lambda:us-west-2:999999999999:function:orderflow-prod-order",
        "OrdersTableName": "orderflow-prod-orders",
        "EventBusName": "orderflow-prod-bus",
        "RetryableErrors": ["CircuitOpenError", "EventPublishError", "InventoryContention", "NotificationConflict",
                            "PaymentGatewayUnavailable", "RetryableError"],
    }


@pytest.mark.parametrize("env, emulated", [("local", True), ("dev", False), ("prod", False)])
def test_retryable_errors_are_inserted_as_a_list(tmp_path, env, emulated):
    definition = rendered(tmp_path, env)["order-processing"]
    retriers = definition["States"]["ProcessPayment"]["Retry"]
    service_retrier = next(r for r in retriers if "PaymentGatewayUnavailable" in r["ErrorEquals"])
    assert service_retrier["ErrorEquals"] == emulator_workarounds.retryable_errors(env)
    assert ("Runtime.HandlerError" in service_retrier["ErrorEquals"]) is emulated


@pytest.mark.parametrize("env", ["local", "dev", "prod"])
def test_every_rendered_definition_passes_statelint(tmp_path, env):
    paths = render_workflows(env, region=REGION, account_id=ACCOUNT, out_dir=tmp_path, validate=False)
    for path in paths.values():
        assert validate_definition(path) == [], path.name


def write_template(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.asl.json"
    path.write_text(text)
    return path


GOOD = '{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${PaymentFunctionArn}", "End": true}}}'


def test_unresolved_placeholders_are_all_named(tmp_path):
    templates = tmp_path / "templates"
    write_template(templates, "good", GOOD)
    bad = write_template(templates, "bad", GOOD.replace("${PaymentFunctionArn}", "${NoSuchArn}-${AlsoMissing}"))
    with pytest.raises(UnresolvedPlaceholderError) as caught:
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)
    assert caught.value.placeholders == ["AlsoMissing", "NoSuchArn"]
    assert "${NoSuchArn}" in str(caught.value) and "${AlsoMissing}" in str(caught.value)
    assert str(bad) in str(caught.value)
    assert not (tmp_path / "out").exists()  # nothing written when one template fails


def test_malformed_placeholder_is_unresolved(tmp_path):
    templates = tmp_path / "templates"
    write_template(templates, "bad", GOOD.replace("${PaymentFunctionArn}", "${Payment Function}"))
    with pytest.raises(UnresolvedPlaceholderError, match=r"\$\{Payment Function\}"):
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)


def test_invalid_json_names_file_and_line(tmp_path):
    templates = tmp_path / "templates"
    path = write_template(templates, "broken", '{\n  "StartAt": "A",\n  "States": {,}\n}\n')
    with pytest.raises(InvalidDefinitionError) as caught:
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3:")


def test_list_placeholder_inside_a_string_is_invalid_json(tmp_path):
    templates = tmp_path / "templates"
    write_template(templates, "bad", GOOD.replace('"${PaymentFunctionArn}"', '"x-${RetryableErrors}"'))
    with pytest.raises(InvalidDefinitionError, match="invalid JSON"):
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)


def test_statelint_problems_fail_the_render(tmp_path):
    templates = tmp_path / "templates"
    write_template(templates, "dangling", GOOD.replace('"End": true', '"Next": "Nowhere"'))
    with pytest.raises(InvalidDefinitionError, match="Nowhere") as caught:
        render_workflows("local", region=REGION, account_id=ACCOUNT, out_dir=tmp_path / "out", template_dir=templates)
    assert caught.value.problems
    assert isinstance(caught.value, RenderError)


# ---- static checks of the rendered definitions (the seed's bugs as regression tests) --------------------------

@pytest.fixture(scope="module")
def definitions(tmp_path_factory) -> dict[str, dict]:
    return rendered(tmp_path_factory.mktemp("static"), "dev")


def test_no_task_result_replaces_the_state(definitions):
    """The seed's bug: a task without ResultPath replaced the whole state (and $.order with it)."""
    for workflow, definition in definitions.items():
        for name, state in all_states(definition):
            if state["Type"] == "Task":
                assert state.get("ResultPath", "$") not in ("$", None), f"{workflow}/{name}"
                if state["Resource"] == "arn:aws:states:::lambda:invoke":  # keep only the contract's fields
                    assert set(state["ResultSelector"]) >= {"status.$"} or "orders.$" in state["ResultSelector"]
            for catcher in state.get("Catch", []):
                assert catcher.get("ResultPath", "$") != "$", f"{workflow}/{name} catch"


def test_lambda_tasks_retry_service_errors_with_backoff_and_jitter(definitions):
    for workflow, definition in definitions.items():
        for name, state in all_states(definition):
            if state.get("Resource") != "arn:aws:states:::lambda:invoke":
                continue
            errors = [set(r["ErrorEquals"]) for r in state["Retry"]]
            assert any(LAMBDA_SERVICE_ERRORS <= e for e in errors), f"{workflow}/{name}"
            assert any(SERVICE_ERRORS <= e for e in errors), f"{workflow}/{name}"
            for retrier in state["Retry"]:
                assert retrier["BackoffRate"] == 2 and retrier["JitterStrategy"] == "FULL", f"{workflow}/{name}"
                assert retrier["IntervalSeconds"] >= 1 and retrier["MaxAttempts"] >= 3
                assert retrier["MaxDelaySeconds"] >= retrier["IntervalSeconds"]
            assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], f"{workflow}/{name}"


def test_every_task_is_caught(definitions):
    for workflow, definition in definitions.items():
        for name, state in all_states(definition):
            if state["Type"] == "Task":
                assert any("States.ALL" in c["ErrorEquals"] for c in state.get("Catch", [])), f"{workflow}/{name}"


def test_order_processing_shape(definitions):
    states = definitions["order-processing"]["States"]
    assert states["NormalizeOrder"]["Parameters"]["order"] == {
        "orderId.$": "$.detail.orderId", "customerId.$": "$.detail.customerId", "items.$": "$.detail.items",
        "totalAmount.$": "$.detail.totalAmount"}
    assert states["ProcessPayment"]["Parameters"]["Payload"] == {
        "action": "charge", "order.$": "$.order", "attempt.$": "$$.State.RetryCount"}
    payment_choices = states["CheckPaymentStatus"]["Choices"]
    assert [(c.get("Variable"), c.get("StringEquals"), c["Next"]) for c in payment_choices] == [
        ("$.payment.status", "PAID", "ReserveInventory"),
        (None, None, "OrderNoLongerPayable"),
        ("$.payment.status", "DECLINED", "NotifyPaymentDeclined")]
    # A charge refused because the order already left PENDING (customer cancel) is not a decline to notify.
    assert payment_choices[1]["And"] == [{"Variable": "$.payment.status", "StringEquals": "DECLINED"},
                                         {"Variable": "$.payment.reason", "StringEquals": "ORDER_NOT_PAYABLE"}]
    assert states["OrderNoLongerPayable"]["Type"] == "Succeed"
    assert {c["Variable"] for c in states["CheckInventoryStatus"]["Choices"]} == {"$.inventory.status"}
    complete = states["CompleteOrder"]
    assert complete["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    assert complete["Parameters"]["TableName"] == "orderflow-dev-orders"
    assert complete["Catch"][0] == {"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
                                    "ResultPath": "$.error", "Next": "DuplicateDelivery"}
    published = states["PublishOrderCompleted"]["Parameters"]["Entries"][0]
    assert published["EventBusName"] == "orderflow-dev-bus" and published["Source"] == "order.workflow"
    assert published["DetailType"] == "Order Completed"
    assert published["Detail"]["eventId.$"] == "States.Format('{}:order-completed', $.order.orderId)"
    assert states["OrderFailed"]["Type"] == "Fail" and states["OrderFailed"]["Error"] == "OrderProcessingFailed"
    assert states["DuplicateDelivery"]["Type"] == "Succeed"
    assert definitions["inventory-management"]["States"]["ExpireStaleOrders"]["MaxConcurrency"] == 5
