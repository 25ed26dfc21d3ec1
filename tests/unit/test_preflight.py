"""`invoke preflight` (scripts/preflight.py): the offline rows, and the dev rows with botocore Stubber (no account
here): missing credentials, too little unreserved Lambda concurrency, a region mismatch, low quotas, a definition
that Step Functions rejects, policies the lint refuses."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from scripts import aws_session, common, preflight, stack
from scripts.common import UserError


def client(service: str, region: str = "us-east-1"):
    return boto3.client(service, region_name=region, aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_local_preflight_passes_offline(monkeypatch):
    monkeypatch.setattr(aws_session, "aws_client", lambda *a, **k: pytest.fail("env local asks no cloud"))
    rows = preflight.run("local")
    assert [(r.name, r.status) for r in rows] == [
        ("terraform", "pass"),
        ("region", "pass"),
        ("credentials", "pass"),
        ("lambda concurrency", "pass"),
        ("in-flight cap", "pass"),
        ("cognito quotas", "pass"),
        ("step functions quotas", "pass"),
        ("workflows", "pass"),
        ("iam policies", "pass"),
    ]
    assert rows[1].found == "us-east-1 from terraform/envs/local.tfvars"
    assert rows[4].found.startswith("20 orders")


def test_dev_without_credentials_fails_with_one_sentence(no_credentials, capsys):
    with pytest.raises(UserError) as exc:
        preflight.require("dev")
    assert str(exc.value) == (
        "Preflight for env 'dev' failed 1 check(s) (credentials): configure them (aws configure, "
        "AWS_PROFILE or AWS_* variables) and retry."
    )
    rows = {
        line.split()[0]: line.split()[1]
        for line in capsys.readouterr().out.splitlines()[3:]
        if line.split() and line.split()[0] not in ("lambda", "in-flight", "cognito", "step", "state", "iam")
    }
    assert rows == {"terraform": "pass", "region": "pass", "credentials": "FAIL", "workflows": "pass"}


def test_credentials_row_names_the_account():
    sts = client("sts")
    with Stubber(sts) as stub:
        stub.add_response(
            "get_caller_identity",
            {"Account": "111122223333", "Arn": "arn:aws:iam::111122223333:user/ci", "UserId": "AIDA"},
        )
        row, account = preflight.check_credentials("dev", sts)
    assert (row.status, row.found, account) == (
        "pass",
        "account 111122223333 as arn:aws:iam::111122223333:user/ci",
        "111122223333",
    )
    with Stubber(sts) as stub:
        stub.add_client_error("get_caller_identity", "ExpiredToken", "expired")
        row, account = preflight.check_credentials("dev", sts)
    assert (row.status, row.found, row.todo, account) == (
        "FAIL",
        "rejected (ExpiredToken)",
        "refresh the credentials and retry",
        None,
    )


def _lambda_settings(total: int, unreserved: int) -> dict:
    return {
        "AccountLimit": {
            "TotalCodeSize": 1,
            "CodeSizeUnzipped": 1,
            "CodeSizeZipped": 1,
            "ConcurrentExecutions": total,
            "UnreservedConcurrentExecutions": unreserved,
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
    }


def test_reserved_concurrency_comes_from_the_tfvars():
    assert preflight.reserved_concurrency("prod") == {"order": 50}
    assert preflight.reserved_concurrency("dev") == {}
    assert preflight.reserved_concurrency("local") == {}


def test_too_little_unreserved_concurrency_fails():
    lam = client("lambda", "eu-west-1")
    with Stubber(lam) as stub:  # prod reserves 50 for order: 140 - 50 leaves 90 < 100
        stub.add_response("get_account_settings", _lambda_settings(140, 140))
        stub.add_client_error(
            "get_function_concurrency",
            "ResourceNotFoundException",
            "no function",
            expected_params={"FunctionName": "orderflow-prod-order"},
        )
        concurrency, cap = preflight.check_lambda_concurrency("prod", lam)
    assert concurrency.status == "FAIL"
    assert concurrency.found == (
        "account 140, unreserved 140; the env reserves order 50 -> 90 unreserved after deploy (AWS requires >= 100)"
    )
    assert concurrency.todo == (
        "request a higher 'Concurrent executions' quota (Service Quotas, lambda L-B99A9384) or "
        "lower lambda_overrides reserved_concurrency in terraform/envs/prod.tfvars"
    )
    assert (cap.status, cap.found.split(" (")[0]) == ("pass", "45 orders")


def test_a_redeploy_gets_its_own_reservation_back():
    lam = client("lambda", "eu-west-1")
    with Stubber(lam) as stub:  # deployed: 1000 - 50 unreserved; the 50 come back before they are taken again
        stub.add_response("get_account_settings", _lambda_settings(1000, 950))
        stub.add_response("get_function_concurrency", {"ReservedConcurrentExecutions": 50})
        concurrency, cap = preflight.check_lambda_concurrency("prod", lam)
    assert (concurrency.status, cap.status) == ("pass", "pass")
    assert "-> 950 unreserved after deploy" in concurrency.found
    assert cap.found.startswith("50 orders (unreserved 950 // 2 Lambdas per order, reservations order 50)")


def test_a_new_account_cannot_carry_the_burst():
    lam = client("lambda")
    with Stubber(lam) as stub:
        stub.add_response("get_account_settings", _lambda_settings(10, 10))
        concurrency, cap = preflight.check_lambda_concurrency("dev", lam)
    assert concurrency.status == "FAIL" and "-> 10 unreserved after deploy" in concurrency.found
    assert (cap.status, cap.found) == (
        "FAIL",
        "5 orders (unreserved 10 // 2 Lambdas per order); the e2e burst uses 20 clients",
    )
    assert cap.todo == "request a 'Concurrent executions' quota of at least 180"


def test_in_flight_cap():
    assert preflight.in_flight_cap(1000, {}) == 500
    assert preflight.in_flight_cap(900, {"order": 50}) == 50
    assert preflight.in_flight_cap(1, {}) == 1
    assert preflight.deployed_in_flight_cap("local") == 20
    lam = client("lambda")
    with Stubber(lam) as stub:
        stub.add_response("get_account_settings", _lambda_settings(1000, 1000))
        assert preflight.deployed_in_flight_cap("dev", lam) == 500


def test_region_mismatch_stops_the_preflight_before_any_client(tmp_path, monkeypatch):
    for module in (common, aws_session, stack, preflight):
        monkeypatch.setattr(module, "ENVS_DIR", tmp_path)
    (tmp_path / "dev.tfvars").write_text('region = "us-east-1"\n')
    (tmp_path / "dev.backend.hcl").write_text('bucket = "b-<ACCOUNT_ID>"\ndynamodb_table = "t"\nregion = "eu-west-1"\n')
    monkeypatch.setattr(aws_session, "aws_client", lambda *a, **k: pytest.fail("no client on a region mismatch"))
    with pytest.raises(UserError) as exc:
        preflight.require("dev")
    assert str(exc.value) == (
        "Preflight for env 'dev' failed 1 check(s) (region): terraform/envs/dev.backend.hcl sets "
        "region eu-west-1 but terraform/envs/dev.tfvars sets us-east-1: delete the backend file's "
        "region line (the tasks add the tfvars region)."
    )


def test_state_bucket_in_another_region_fails():
    s3, ddb = client("s3"), client("dynamodb")
    with Stubber(s3) as stub:
        stub.add_response(
            "get_bucket_location", {"LocationConstraint": "eu-west-1"}, {"Bucket": "orderflow-dev-tfstate-111122223333"}
        )
        row = preflight.check_state_backend("dev", "111122223333", s3, ddb)
    assert (row.status, row.found) == (
        "FAIL",
        ("bucket orderflow-dev-tfstate-111122223333 is in eu-west-1, the env's region is us-east-1"),
    )
    with Stubber(s3) as s3_stub, Stubber(ddb) as ddb_stub:
        s3_stub.add_response("get_bucket_location", {})  # us-east-1 answers no constraint
        ddb_stub.add_client_error("describe_table", "ResourceNotFoundException", "none")
        row = preflight.check_state_backend("dev", "111122223333", s3, ddb)
    assert (row.status, row.todo) == ("FAIL", "run `invoke bootstrap-state --env dev`")


def test_quotas_from_service_quotas_below_need_fail():
    sq = client("service-quotas")
    with Stubber(sq) as stub:
        stub.add_response(
            "list_service_quotas",
            {"Quotas": [{"QuotaName": "Rate of UserAuthentication requests", "QuotaCode": "L-AAAA1111", "Value": 2.0}]},
        )
        stub.add_client_error("list_service_quotas", "NoSuchResourceException", "not listed")
        cognito, sfn = preflight.check_quotas("dev", sq)
    assert cognito.status == "FAIL" and cognito.found.startswith(
        "UserAuthentication 2 (Service Quotas L-AAAA1111), UserCreation 50, UserUpdate 25 RPS; sign-ins"
    )
    assert cognito.todo == "request a higher UserAuthentication quota in Service Quotas (cognito-idp)"
    assert (
        sfn.status == "pass"
        and sfn.found == "StartExecution 150 RPS (documented defaults); the e2e burst starts 200 executions in seconds"
    )


def test_workflows_rejected_by_step_functions_fail():
    sfn = client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_response("validate_state_machine_definition", {"result": "OK", "diagnostics": []})
        stub.add_response(
            "validate_state_machine_definition",
            {
                "result": "FAIL",
                "diagnostics": [
                    {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": "bad", "location": "/States/X"}
                ],
            },
        )
        stub.add_response("validate_state_machine_definition", {"result": "OK", "diagnostics": []})
        row = preflight.check_workflows("dev", "us-east-1", "111122223333", sfn)
    assert (row.status, row.found) == ("FAIL", "order-processing: SCHEMA_VALIDATION_FAILED bad at /States/X")


def test_every_principal_policy_lints_clean_and_the_lint_catches_mistakes():
    policies = preflight.principal_policies("dev", "us-east-1", "111122223333")
    assert sorted(policies) == [
        "inventory",
        "inventory-management workflow",
        "notification",
        "operator",
        "order",
        "order-processing workflow",
        "payment",
        "payment-processing workflow",
        "scheduler",
    ]
    # a state machine role: workflow/integrations.json's grants, as terraform/modules/workflows builds them
    order_processing = {x["Sid"]: x for x in policies["order-processing workflow"]["Statement"]}
    assert sorted(order_processing) == [
        "InvokeOwnFunctions",
        "PutEventsOnBus",
        "TableOrders",
        "TableOutbox",
        "UseTableKeyThroughDynamoDB",
    ]
    assert order_processing["InvokeOwnFunctions"]["Resource"][:2] == [
        "arn:aws:lambda:us-east-1:111122223333:function:orderflow-dev-inventory",
        "arn:aws:lambda:us-east-1:111122223333:function:orderflow-dev-inventory:*",
    ]
    assert len(order_processing["InvokeOwnFunctions"]["Resource"]) == 8
    assert order_processing["TableOutbox"] == {
        "Sid": "TableOutbox",
        "Effect": "Allow",
        "Action": ["dynamodb:DeleteItem", "dynamodb:PutItem"],
        "Resource": ["arn:aws:dynamodb:us-east-1:111122223333:table/orderflow-dev-outbox"],
    }
    assert order_processing["UseTableKeyThroughDynamoDB"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "dynamodb.us-east-1.amazonaws.com"}
    }
    assert order_processing["PutEventsOnBus"] == {
        "Sid": "PutEventsOnBus",
        "Effect": "Allow",
        "Action": ["events:PutEvents"],
        "Resource": ["arn:aws:events:us-east-1:111122223333:event-bus/orderflow-dev-bus"],
        "Condition": {"StringEquals": {"events:source": "order.service", "events:detail-type": ["Order Completed"]}},
    }
    assert [x["Sid"] for x in policies["payment-processing workflow"]["Statement"]] == [
        "InvokeOwnFunctions",
        "TableOutbox",
        "UseTableKeyThroughDynamoDB",
    ]
    assert policies["operator"]["Statement"] == [
        {
            "Sid": "PutEventsOnBus1",
            "Effect": "Allow",
            "Action": ["events:PutEvents"],
            "Resource": ["arn:aws:events:us-east-1:111122223333:event-bus/orderflow-dev-bus"],
            "Condition": {
                "StringEquals": {"events:source": "inventory.admin", "events:detail-type": ["Inventory Restocked"]}
            },
        },
        {
            "Sid": "PutEventsOnBus2",
            "Effect": "Allow",
            "Action": ["events:PutEvents"],
            "Resource": ["arn:aws:events:us-east-1:111122223333:event-bus/orderflow-dev-bus"],
            "Condition": {
                "StringEquals": {"events:source": "orderflow.operator", "events:detail-type": ["Refund Requested"]}
            },
        },
    ]
    assert {s: preflight.lint_policy(d) for s, d in policies.items()} == {s: [] for s in policies}
    bad = {
        "Statement": [
            {"Sid": "A", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::bucket"]},
            {"Sid": "B", "Action": ["dynamodb:GetItems"], "Resource": ["arn:aws:dynamodb:us-east-1:1:table/t"]},
            {"Sid": "C", "Action": ["dynamodb:*"], "Resource": ["*"]},
            {"Sid": "D", "Action": ["dynamodb:PutItem"], "Resource": ["*"]},
        ]
    }
    assert preflight.lint_policy(bad) == [
        "A: s3:GetObject does not apply to arn:aws:s3:::bucket",
        "B: unknown action dynamodb:GetItems",
        "C: wildcard action dynamodb:*",
        "D: dynamodb:PutItem on * although it takes resource ARNs",
    ]


def test_access_analyzer_findings_fail_the_policies_row():
    analyzer = client("accessanalyzer")
    with Stubber(analyzer) as stub:

        def finding(details: str, kind: str, code: str) -> dict:
            return {
                "findings": [
                    {
                        "findingDetails": details,
                        "findingType": kind,
                        "issueCode": code,
                        "learnMoreLink": "https://x",
                        "locations": [],
                    }
                ]
            }

        for _ in range(5):  # inventory, inventory-management workflow, notification, operator, order
            stub.add_response("validate_policy", {"findings": []})
        stub.add_response("validate_policy", finding("no such key", "ERROR", "INVALID_CONDITION_KEY"))
        stub.add_response("validate_policy", finding("too broad", "SECURITY_WARNING", "PASS_ROLE_WITH_STAR"))
        for _ in range(2):  # payment-processing workflow, scheduler
            stub.add_response("validate_policy", {"findings": []})
        row = preflight.check_policies("dev", "us-east-1", "111122223333", analyzer)
        stub.assert_no_pending_responses()
    assert row.status == "FAIL"
    assert "order-processing workflow: ERROR INVALID_CONDITION_KEY: no such key; " in row.found
    assert row.found.endswith("payment: SECURITY_WARNING PASS_ROLE_WITH_STAR: too broad")
    assert "workflow/integrations.json" in row.todo


def test_deploy_to_dev_runs_the_preflight_first(no_credentials, monkeypatch, capsys):
    monkeypatch.setattr(
        stack, "prepare_inputs", lambda env: pytest.fail("nothing is built before the preflight passes")
    )
    with pytest.raises(UserError, match=r"^Preflight for env 'dev' failed 1 check\(s\) \(credentials\): "):
        stack.deploy("dev")
    assert capsys.readouterr().out.startswith("preflight --env dev\ncheck ")


def test_a_refused_call_is_a_failed_row_not_a_traceback():
    lam = client("lambda")
    with Stubber(lam) as stub:
        stub.add_client_error("get_account_settings", "AccessDeniedException", "no")
        rows = preflight._guarded(
            ["lambda concurrency", "in-flight cap"], lambda: preflight.check_lambda_concurrency("dev", lam)
        )
    assert [(r.name, r.status, r.found, r.todo) for r in rows] == [
        (
            "lambda concurrency",
            "FAIL",
            "GetAccountSettings: AccessDeniedException",
            "allow the caller GetAccountSettings and retry",
        ),
        (
            "in-flight cap",
            "FAIL",
            "GetAccountSettings: AccessDeniedException",
            "allow the caller GetAccountSettings and retry",
        ),
    ]


def test_the_start_execution_rate_is_the_refill_rate_not_the_bucket():
    sq = client("service-quotas")
    with Stubber(sq) as stub:
        stub.add_response(
            "list_service_quotas",
            {
                "Quotas": [
                    {
                        "QuotaName": "StartExecution throttle token refill rate per second",
                        "QuotaCode": "L-R",
                        "Value": 300.0,
                    },
                    {"QuotaName": "StartExecution throttle token bucket size", "QuotaCode": "L-B", "Value": 1300.0},
                ]
            },
        )
        assert preflight._quotas(sq, "states", preflight.SFN_QUOTAS) == {
            "StartExecution": (300.0, "Service Quotas L-R")
        }
