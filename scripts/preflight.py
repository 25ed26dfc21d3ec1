"""`invoke preflight --env <env>`: what a deploy and the suites need from the account, checked before anything runs.

One row per check (pass / FAIL / skip, what was found, what to do). `invoke deploy` runs it first for dev and prod.
On env local every row is offline (no local cloud needed); dev and prod add the rows that ask AWS: the caller's
account (STS), the state backend, Lambda's account concurrency, Cognito and Step Functions quotas (Service Quotas,
else the documented defaults), every rendered workflow (ValidateStateMachineDefinition) and every service policy
(Access Analyzer ValidatePolicy).

The in-flight cap of the suites comes from here too (`in_flight_cap`, `deployed_in_flight_cap`): how many orders the
e2e burst (tests/e2e) and `invoke bench` may keep in flight so that their Lambda tasks are not throttled beyond the
workflows' retries.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.common import (
    ENVS_DIR,
    PROJECT,
    TERRAFORM_DIR,
    UserError,
    check_env,
    env_build_dir,
    event_contracts,
    is_local,
)

#: MiniStack runs one worker process per concurrent Lambda invocation on this machine (docs/e2e.md, "Local cloud
#: gaps"): 20 orders in flight keep a 2-vCPU box responsive.
LOCAL_IN_FLIGHT_CAP = 20
#: An order in flight holds at most two Lambda executions at once: its workflow's current task and the API's order
#: Lambda serving the next order's POST (no bus event invokes a Lambda).
LAMBDAS_PER_ORDER = 2
#: AWS refuses a reservation that leaves less than this unreserved (PutFunctionConcurrency).
MIN_UNRESERVED = 100
#: Service Quotas code of "Concurrent executions" (Lambda).
LAMBDA_CONCURRENCY_QUOTA = "L-B99A9384"
#: The largest burst the suites drive: tests/e2e/test_10_concurrency.py, 200 orders from 20 clients.
SUITE_BURST_ORDERS = 200
#: Clients of that burst: the fewest orders in flight that still make it a burst.
CLIENTS_PER_BURST = 20
#: Placeholder account for offline checks when the real one is unknown (no credentials, or env local).
PLACEHOLDER_ACCOUNT = "123456789012"

#: Documented default request-rate quotas (per account and region) of what the suites call, and what they need.
#: Cognito: docs.aws.amazon.com/cognito/latest/developerguide/quotas.html; Step Functions:
#: docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (the smallest regions' values).
COGNITO_QUOTAS = {"UserAuthentication": 120, "UserCreation": 50, "UserUpdate": 25}
COGNITO_NEED = "sign-ins run one at a time before a burst: a few RPS per category"
SFN_QUOTAS = {"StartExecution": 150}
SFN_NEED = f"the e2e burst starts {SUITE_BURST_ORDERS} executions in seconds"


@dataclass
class Check:
    name: str
    status: str  # "pass", "FAIL" or "skip"
    found: str
    todo: str = ""


def _pass(name: str, found: str) -> Check:
    return Check(name, "pass", found)


def _fail(name: str, found: str, todo: str) -> Check:
    return Check(name, "FAIL", found, todo)


def _skip(name: str, found: str) -> Check:
    return Check(name, "skip", found)


# --- inputs of the env (offline) -----------------------------------------------------------------------------------


def reserved_concurrency(env: str) -> dict[str, int]:
    """{service: reserved_concurrency} of `lambda_overrides` in terraform/envs/<env>.tfvars."""
    import hcl2

    with (ENVS_DIR / f"{env}.tfvars").open() as handle:
        overrides = hcl2.load(handle).get("lambda_overrides") or {}
    if isinstance(overrides, list):  # python-hcl2 wraps blocks in lists
        overrides = overrides[0] if overrides else {}
    return {
        service: int(o["reserved_concurrency"])
        for service, o in overrides.items()
        if isinstance(o, dict) and o.get("reserved_concurrency") is not None
    }


def in_flight_cap(unreserved: int, reserved: dict[str, int]) -> int:
    """Orders that may be in flight at once on AWS: what the unreserved pool runs (LAMBDAS_PER_ORDER each), and no
    more than a reserved function's reservation (each order runs that function at most once at a time)."""
    return max(1, min([unreserved // LAMBDAS_PER_ORDER, *reserved.values()]))


def deployed_in_flight_cap(env: str, lambda_client: Any | None = None) -> int:
    """The suites' in-flight cap for a deployed env: LOCAL_IN_FLIGHT_CAP on the local cloud; on AWS from the account's
    unreserved concurrency now (the stack's reservations already taken out) and the env's reservations."""
    if is_local(env):
        return LOCAL_IN_FLIGHT_CAP
    if lambda_client is None:
        from scripts.aws_session import aws_client

        lambda_client = aws_client(env, "lambda")
    settings = lambda_client.get_account_settings()["AccountLimit"]
    return in_flight_cap(int(settings["UnreservedConcurrentExecutions"]), reserved_concurrency(env))


def function_name(env: str, service: str) -> str:
    return f"{PROJECT}-{env}-{service}"


def _resource_arns(env: str, region: str, account: str) -> dict[str, str]:
    """The symbolic resources of terraform/service_permissions.json as ARNs shaped like the ones root main.tf builds
    (placeholder key id: the lint needs the shape, not the key)."""
    from scripts.render import bus_name  # the one naming rule of the bus (render puts it into the workflows too)

    arns = {
        "bus": f"arn:aws:events:{region}:{account}:event-bus/{bus_name(env, PROJECT)}",
        "key": f"arn:aws:kms:{region}:{account}:key/00000000-0000-0000-0000-000000000000",
        "bucket": f"arn:aws:s3:::{PROJECT}-{env}-notifications-{account}",
    }
    arns["bucket/*"] = arns["bucket"] + "/*"
    return arns


def principal_policies(env: str, region: str, account: str) -> dict[str, dict[str, Any]]:
    """{principal: IAM policy document} from terraform/service_permissions.json, symbols expanded to ARNs: each
    service's policy, and the PutEvents grants of the scheduler and the operator role (other_publishers); and each
    state machine role's grants from workflow/integrations.json (`<workflow> workflow`), shaped as
    terraform/modules/workflows builds them: its functions (and their qualifiers), its table actions with the key
    through DynamoDB, and its PutEvents per source. The roles' fixed X-Ray and log-delivery statements are left out:
    those APIs take only "*" (the module's comment; terraform/tests guards every other "*")."""
    table = json.loads((TERRAFORM_DIR / "service_permissions.json").read_text())
    arns = _resource_arns(env, region, account)
    contracts = event_contracts()

    def arn(symbol: str) -> str:
        if symbol.startswith("arn:"):
            return symbol
        if symbol.startswith("table/"):
            name, _, rest = symbol[len("table/") :].partition("/")
            return f"arn:aws:dynamodb:{region}:{account}:table/{PROJECT}-{env}-{name}" + (f"/{rest}" if rest else "")
        if symbol not in arns:
            raise UserError(
                f"terraform/service_permissions.json names an unknown resource '{symbol}': use one of "
                "table/<name>, table/<name>/index/*, bus, bucket, bucket/*, key."
            )
        return arns[symbol]

    def expand(s: dict[str, Any]) -> list[dict[str, Any]]:
        base = {
            "Sid": s["sid"],
            "Effect": "Allow",
            "Action": s["actions"],
            "Resource": [arn(r) for r in s["resources"]],
        }
        if "condition" in s:
            base["Condition"] = s["condition"]
        events = contracts.sources(s.get("events") or [])
        # as root main.tf does: one statement per event source, conditioned on it and its detail-types
        return [
            {
                **base,
                "Sid": f"{s['sid']}{i + 1}" if len(events) > 1 else s["sid"],
                "Condition": {"StringEquals": {"events:source": source, "events:detail-type": types}},
            }
            for i, (source, types) in enumerate(sorted(events.items()))
        ] or [base]

    policies = {
        service: {"Version": "2012-10-17", "Statement": [x for s in statements for x in expand(s)]}
        for service, statements in table["services"].items()
    }
    # the scheduler's and the operator's PutEvents grants come from the same table (other_publishers)
    for principal, events in table["other_publishers"].items():
        grant = {"sid": "PutEventsOnBus", "actions": ["events:PutEvents"], "resources": ["bus"], "events": events}
        policies[principal] = {"Version": "2012-10-17", "Statement": expand(grant)}
    for workflow, statements in _workflow_grants(env, region, account).items():
        policies[f"{workflow} workflow"] = {
            "Version": "2012-10-17",
            "Statement": [x for s in statements for x in expand(s)],
        }
    return policies


def _workflow_grants(env: str, region: str, account: str) -> dict[str, list[dict[str, Any]]]:
    """Each workflow's grants in service_permissions.json's shape (sid, actions, resources, events), from
    workflow/integrations.json: tables, the key and the bus by their symbols, functions by their ARNs (render's, which
    `arn()` passes through)."""
    from scripts.render import declared_events, declared_integrations, declared_table_actions, function_arn

    invokes, table_actions, events = declared_integrations(), declared_table_actions(), declared_events()
    grants: dict[str, list[dict[str, Any]]] = {}
    for workflow in sorted(invokes):
        functions = [
            function_arn(s, env, region=region, account_id=account, project=PROJECT) for s in sorted(invokes[workflow])
        ]
        statements: list[dict[str, Any]] = []
        if functions:
            resources = [r for f in functions for r in (f, f + ":*")]
            statements.append(
                {"sid": "InvokeOwnFunctions", "actions": ["lambda:InvokeFunction"], "resources": resources}
            )
        by_table: dict[str, list[str]] = {}
        for table, action in sorted(table_actions.get(workflow, ())):
            by_table.setdefault(table, []).append(f"dynamodb:{action}")
        for table, actions in sorted(by_table.items()):
            sid = "Table" + "".join(part.title() for part in table.split("-"))
            statements.append({"sid": sid, "actions": actions, "resources": [f"table/{table}"]})
        if by_table:
            statements.append(
                {
                    "sid": "UseTableKeyThroughDynamoDB",
                    "actions": ["kms:Decrypt"],
                    "resources": ["key"],
                    "condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
                }
            )
        if events.get(workflow):
            statements.append(
                {
                    "sid": "PutEventsOnBus",
                    "actions": ["events:PutEvents"],
                    "resources": ["bus"],
                    "events": sorted(events[workflow]),
                }
            )
        grants[workflow] = statements
    return grants


def lint_policy(document: dict[str, Any]) -> list[str]:
    """Offline lint of an identity policy against policy_sentry's IAM database: unknown or wildcard actions, and
    resources that fit none of an action's resource types (e.g. s3:GetObject on a bucket ARN)."""
    from policy_sentry.querying.actions import get_action_data
    from policy_sentry.util.arns import does_arn_match

    problems = []
    for statement in document["Statement"]:
        sid = statement.get("Sid", "?")
        for action in statement["Action"]:
            if "*" in action:
                problems.append(f"{sid}: wildcard action {action}")
                continue
            service, _, name = action.partition(":")
            rows = get_action_data(service, name).get(service, [])
            if not rows:
                problems.append(f"{sid}: unknown action {action}")
                continue
            formats = {r["resource_arn_format"] for r in rows} - {"*"}
            for resource in statement["Resource"]:
                if resource == "*":
                    if formats:
                        problems.append(f"{sid}: {action} on * although it takes resource ARNs")
                elif not formats:
                    problems.append(f"{sid}: {action} takes no resource ARN, only *")
                elif not any(does_arn_match(resource, f) for f in formats):
                    problems.append(f"{sid}: {action} does not apply to {resource}")
    return problems


# --- the checks ----------------------------------------------------------------------------------------------------


def check_region(env: str) -> Check:
    from scripts import aws_session, stack

    try:
        region = aws_session.region(env)
        if not is_local(env):
            stack.backend_settings(env)
    except UserError as exc:
        return _fail("region", "tfvars and backend disagree or are incomplete", str(exc))
    where = f"terraform/envs/{env}.tfvars" + ("" if is_local(env) else f", written into the {env}.backend.hcl config")
    ignored = sorted({os.environ[v] for v in ("AWS_REGION", "AWS_DEFAULT_REGION") if os.environ.get(v)} - {region})
    note = f" (AWS_REGION {', '.join(ignored)} ignored: every client uses the env's)" if ignored else ""
    return _pass("region", f"{region} from {where}{note}")


def check_credentials(env: str, sts: Any) -> tuple[Check, str | None]:
    import botocore.exceptions

    from scripts.aws_session import CREDENTIALS_TODO

    if is_local(env):
        return _pass("credentials", "local cloud: dummy credentials, account 000000000000"), None
    try:
        identity = sts.get_caller_identity()
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError):
        return _fail("credentials", "no AWS credentials found", CREDENTIALS_TODO), None
    except botocore.exceptions.ClientError as exc:
        return _fail(
            "credentials", f"rejected ({exc.response['Error']['Code']})", "refresh the credentials and retry"
        ), None
    except botocore.exceptions.EndpointConnectionError as exc:
        return _fail("credentials", f"STS unreachable ({exc})", "check the network and the region, then retry"), None
    return _pass("credentials", f"account {identity['Account']} as {identity['Arn']}"), identity["Account"]


def check_state_backend(env: str, account: str, s3: Any, ddb: Any) -> Check:
    import botocore.exceptions

    from scripts import stack

    settings = stack.backend_settings(env)
    bucket, table, region = (
        settings["bucket"].replace("<ACCOUNT_ID>", account),
        settings["dynamodb_table"],
        settings["region"],
    )
    todo = f"run `invoke bootstrap-state --env {env}`"
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    except botocore.exceptions.ClientError as exc:
        return _fail("state backend", f"bucket {bucket}: {exc.response['Error']['Code']}", todo)
    if location != region:
        return _fail(
            "state backend",
            f"bucket {bucket} is in {location}, the env's region is {region}",
            f'set region = "{location}" in terraform/envs/{env}.tfvars, or use a new bucket name in {env}.backend.hcl',
        )
    try:
        ddb.describe_table(TableName=table)
    except botocore.exceptions.ClientError as exc:
        return _fail("state backend", f"lock table {table} in {region}: {exc.response['Error']['Code']}", todo)
    return _pass("state backend", f"bucket {bucket} and lock table {table} in {region}")


def check_lambda_concurrency(env: str, lam: Any | None) -> list[Check]:
    """Account concurrency against the env's reservations (AWS keeps MIN_UNRESERVED unreserved), and the suites'
    in-flight cap that follows."""
    reserved = reserved_concurrency(env)
    wanted = sum(reserved.values())
    described = ", ".join(f"{s} {n}" for s, n in sorted(reserved.items())) or "none"
    if is_local(env):
        return [
            _pass("lambda concurrency", f"reserved by the env: {described}; the local cloud has no account quota"),
            _pass(
                "in-flight cap",
                f"{LOCAL_IN_FLIGHT_CAP} orders (local cloud: one Lambda worker process per "
                "concurrent invocation on this machine)",
            ),
        ]
    if lam is None:
        return [_skip("lambda concurrency", "needs credentials"), _skip("in-flight cap", "needs credentials")]
    limit = lam.get_account_settings()["AccountLimit"]
    total, unreserved = int(limit["ConcurrentExecutions"]), int(limit["UnreservedConcurrentExecutions"])
    held = 0  # what this env's functions reserve today (a redeploy gives it back before taking the new value)
    for service in reserved:
        try:
            held += int(
                lam.get_function_concurrency(FunctionName=function_name(env, service)).get(
                    "ReservedConcurrentExecutions"
                )
                or 0
            )
        except lam.exceptions.ResourceNotFoundException:
            pass
    after = unreserved + held - wanted
    found = (
        f"account {total}, unreserved {unreserved}; the env reserves {described} -> {after} unreserved after "
        f"deploy (AWS requires >= {MIN_UNRESERVED})"
    )
    rows = [
        _pass("lambda concurrency", found)
        if after >= MIN_UNRESERVED
        else _fail(
            "lambda concurrency",
            found,
            f"request a higher 'Concurrent executions' quota (Service Quotas, lambda {LAMBDA_CONCURRENCY_QUOTA}) or lower "
            f"lambda_overrides reserved_concurrency in terraform/envs/{env}.tfvars",
        )
    ]
    cap = in_flight_cap(max(after, 0), reserved)
    found = f"{cap} orders (unreserved {max(after, 0)} // {LAMBDAS_PER_ORDER} Lambdas per order" + (
        f", reservations {described})" if reserved else ")"
    )
    if cap < CLIENTS_PER_BURST:
        rows.append(
            _fail(
                "in-flight cap",
                found + f"; the e2e burst uses {CLIENTS_PER_BURST} clients",
                f"request a 'Concurrent executions' quota of at least {MIN_UNRESERVED + 2 * LAMBDAS_PER_ORDER * CLIENTS_PER_BURST}",
            )
        )
    else:
        rows.append(_pass("in-flight cap", found + "; the e2e burst and `invoke bench --concurrency` stay under it"))
    return rows


def _quotas(sq: Any, service_code: str, names: dict[str, int]) -> dict[str, tuple[float, str]]:
    """{keyword: (value, source)}: the applied Service Quotas value whose name holds the keyword, else the default."""
    found: dict[str, tuple[float, str]] = {k: (float(v), "documented default") for k, v in names.items()}
    if sq is None:
        return found
    try:
        for page in sq.get_paginator("list_service_quotas").paginate(ServiceCode=service_code):
            for quota in page.get("Quotas", []):
                for keyword in names:
                    name = quota.get("QuotaName", "").lower().replace(" ", "")
                    # a throttle's token bucket has a size and a refill rate: the rate is the sustained RPS
                    if keyword.lower() in name and "bucketsize" not in name and "Value" in quota:
                        found[keyword] = (float(quota["Value"]), f"Service Quotas {quota.get('QuotaCode')}")
    except Exception:  # noqa: BLE001, S110 - not callable here (permissions, service not listed): the defaults stand
        pass
    return found


def check_quotas(env: str, sq: Any | None) -> list[Check]:
    rows = []
    for name, code, quotas, need in (
        ("cognito quotas", "cognito-idp", COGNITO_QUOTAS, COGNITO_NEED),
        ("step functions quotas", "states", SFN_QUOTAS, SFN_NEED),
    ):
        values = _quotas(None if is_local(env) else sq, code, quotas)
        defaults = all(src == "documented default" for _, src in values.values())
        text = (
            ", ".join(
                f"{k} {v:g}" + ("" if src == "documented default" else f" ({src})") for k, (v, src) in values.items()
            )
            + " RPS"
            + (" (documented defaults)" if defaults else "")
        )
        low = [k for k, (v, _) in values.items() if v < 5]
        if low:
            rows.append(
                _fail(name, f"{text}; {need}", f"request a higher {', '.join(low)} quota in Service Quotas ({code})")
            )
        else:
            rows.append(_pass(name, f"{text}; {need}"))
    return rows


def check_workflows(env: str, region: str, account: str, sfn: Any | None) -> Check:
    """Render every workflow as deploy does (statelint runs inside render); on AWS also ValidateStateMachineDefinition.
    MiniStack 1.5.33 answers OK to any definition (probed with one that has no states), so env local stays offline."""
    from scripts.render import RenderError, render_workflows
    from scripts.stack import order_workflow_type

    out_dir = env_build_dir(env) / "preflight" / "workflow"
    workflow_type = order_workflow_type(env)  # rendered and validated as the deploy will (docs/architecture.md)
    try:
        rendered = render_workflows(
            env,
            region=region,
            account_id=account,
            project=PROJECT,
            out_dir=out_dir,
            order_workflow_type=workflow_type,
        )
    except (RenderError, RuntimeError) as exc:
        return _fail("workflows", f"render: {exc}", "fix the workflow template named above")
    found = f"{len(rendered)} rendered, statelint 3.1.0 clean"
    if sfn is None:
        return _pass(
            "workflows",
            found
            + (
                " (offline: MiniStack's ValidateStateMachineDefinition accepts anything)"
                if is_local(env)
                else " (ValidateStateMachineDefinition needs credentials)"
            ),
        )
    problems = []
    for name, path in sorted(rendered.items()):
        result = sfn.validate_state_machine_definition(
            definition=Path(path).read_text(), type=workflow_type if name == "order-processing" else "STANDARD"
        )
        if result.get("result") != "OK":
            problems += [
                f"{name}: {d.get('code')} {d.get('message')} at {d.get('location')}"
                for d in result.get("diagnostics", [])
            ]
    if problems:
        return _fail("workflows", "; ".join(problems), "fix the workflow templates under workflow/")
    return _pass("workflows", found + ", ValidateStateMachineDefinition OK")


def check_policies(env: str, region: str, account: str, analyzer: Any | None) -> Check:
    policies = principal_policies(env, region, account)
    problems = [f"{service} {p}" for service, doc in sorted(policies.items()) for p in lint_policy(doc)]
    statements = sum(len(d["Statement"]) for d in policies.values())
    source = f"{len(policies)} policies, {statements} statements"
    if analyzer is not None:
        for service, doc in sorted(policies.items()):
            paginator = analyzer.get_paginator("validate_policy")
            for page in paginator.paginate(policyDocument=json.dumps(doc), policyType="IDENTITY_POLICY"):
                problems += [
                    f"{service}: {f['findingType']} {f['issueCode']}: {f['findingDetails']}"
                    for f in page.get("findings", [])
                    if f["findingType"] in ("ERROR", "SECURITY_WARNING")
                ]
    if problems:
        return _fail(
            "iam policies",
            f"{source}: " + "; ".join(problems),
            "fix the statements in terraform/service_permissions.json (a service, the scheduler, the operator) or "
            "workflow/integrations.json (a state machine role)",
        )
    how = "policy_sentry lint" + (" and Access Analyzer ValidatePolicy" if analyzer is not None else " (offline)")
    source += " (terraform/service_permissions.json, workflow/integrations.json)"
    return _pass("iam policies", f"{source}: {how} clean")


def run(env: str) -> list[Check]:
    """Every check of the env, in order; AWS rows are skipped when there are no credentials."""
    from scripts import aws_session, stack

    check_env(env)
    rows = [
        _pass("terraform", stack.terraform_bin())
        if _has_terraform()
        else _fail(
            "terraform", "not on PATH", "install Terraform >= 1.9 (https://developer.hashicorp.com/terraform/install)"
        )
    ]
    region_row = check_region(env)
    rows.append(region_row)
    if region_row.status == "FAIL":
        return rows  # every client below would be built for the wrong region
    region = aws_session.region(env)
    if is_local(env):
        clients: dict[str, Any] = {}
        account = aws_session.LOCAL_ACCOUNT_ID
        rows.append(check_credentials(env, None)[0])
    else:
        credentials, account = check_credentials(env, aws_session.aws_client(env, "sts"))
        rows.append(credentials)
        clients = (
            {
                name: aws_session.aws_client(env, service)
                for name, service in (
                    ("s3", "s3"),
                    ("ddb", "dynamodb"),
                    ("lambda", "lambda"),
                    ("sq", "service-quotas"),
                    ("sfn", "stepfunctions"),
                    ("analyzer", "accessanalyzer"),
                )
            }
            if account
            else {}
        )
        if account:
            rows.append(check_state_backend(env, account, clients["s3"], clients["ddb"]))
        else:
            rows.append(_skip("state backend", "needs credentials"))
    account = account or PLACEHOLDER_ACCOUNT
    rows += _guarded(
        ["lambda concurrency", "in-flight cap"], lambda: check_lambda_concurrency(env, clients.get("lambda"))
    )
    rows += check_quotas(env, clients.get("sq"))
    rows += _guarded(["workflows"], lambda: [check_workflows(env, region, account, clients.get("sfn"))])
    rows += _guarded(["iam policies"], lambda: [check_policies(env, region, account, clients.get("analyzer"))])
    return rows


def _guarded(names: list[str], rows: Any) -> list[Check]:
    """The rows, or FAIL rows saying which call AWS refused (e.g. the caller may not call it)."""
    import botocore.exceptions

    try:
        return rows()
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "?")
        todo = (
            f"allow the caller {exc.operation_name} and retry"
            if "AccessDenied" in code or "Unauthorized" in code
            else "retry; if it persists, see the AWS error"
        )
        return [_fail(name, f"{exc.operation_name}: {code}", todo) for name in names]


def _has_terraform() -> bool:
    import shutil

    return shutil.which("terraform") is not None


def table(rows: list[Check]) -> str:
    from scripts.text_table import format_table

    return format_table(["check", "result", "found", "to do"], [[r.name, r.status, r.found, r.todo] for r in rows])


def require(env: str) -> list[Check]:
    """Print the table; raise UserError naming the failed checks (deploy calls this for dev and prod)."""
    rows = run(env)
    print(f"preflight --env {env}", flush=True)
    print(table(rows), flush=True)
    failed = [r for r in rows if r.status == "FAIL"]
    if failed:
        first = failed[0]
        raise UserError(
            f"Preflight for env '{env}' failed {len(failed)} check(s) ({', '.join(r.name for r in failed)}): "
            f"{first.todo.rstrip('.')}" + (", then fix the other rows marked FAIL above." if len(failed) > 1 else ".")
        )
    return rows
