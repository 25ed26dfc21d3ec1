"""Unit-test fixtures: services/ on sys.path, a moto cloud with every table/bus/bucket of the contract,
and an SQS queue subscribed to the bus (catch-all rule) so tests can assert what was (not) published."""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from scripts import tables

# A mutation run (scripts/mutation.py) points the tests at its mutated copy of services/.
SERVICES = Path(os.environ.get("ORDERFLOW_SERVICES_DIR") or Path(__file__).resolve().parents[2] / "services")
if str(SERVICES) not in sys.path:
    sys.path.insert(0, str(SERVICES))

PREFIX = "orderflow-test"
ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    # <TABLE>_TABLE = <prefix>-<table> for every table of the one definition, as Terraform sets them
    **{tables.env_var(table): f"{PREFIX}-{table}" for table in tables.definitions()},
    "EVENT_BUS_NAME": f"{PREFIX}-bus",
    "NOTIFICATIONS_BUCKET": f"{PREFIX}-notifications",
    "POWERTOOLS_SERVICE_NAME": "orderflow-unit",
    "POWERTOOLS_METRICS_NAMESPACE": "orderflow",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "LOG_LEVEL": "INFO",
    "PAYMENT_CUSTOMER_LIMIT": "5000.00",
    "PAYMENT_DECLINE_CUSTOMERS": "customer-declined",
    "PAYMENT_FAULT_RATE": "0",
    "PAYMENT_FAULT_SEED": "0",
    "CIRCUIT_FAILURE_THRESHOLD": "5",
    "CIRCUIT_COOLDOWN_SECONDS": "30",
    "STALE_ORDER_MINUTES": "30",
}
# Read at import time by the handler modules' Powertools objects (collected with the tests). Everything else is
# set per test / per package through monkeypatch, so other suites in the same pytest run keep their environment.
for _name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_TRACE_DISABLED"):
    os.environ.setdefault(_name, ENV[_name])

import boto3
from moto import mock_aws

from shared import aws as shared_aws
from shared import contracts
from shared.repositories.inventory import product_item
from tests.simulation.permissions import declared, declared_events, grants, iam_requirements


def pytest_configure(config: pytest.Config) -> None:
    # @metrics.log_metrics warns on invocations that emit no business metric (GET, duplicates): expected
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


def _isolate(mp: pytest.MonkeyPatch) -> None:
    """Baseline env; never talk to a real or local cloud (no endpoint override, no profile)."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"}:
            mp.delenv(name)
    for key, value in ENV.items():
        mp.setenv(key, value)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-apply the baseline env for every test (tests monkeypatch individual variables)."""
    _isolate(monkeypatch)
    from aws_lambda_powertools import Metrics

    Metrics().clear_metrics()  # metric sets are shared class-level state in Powertools


@pytest.fixture
def counters() -> Any:
    """The business counters emitted so far in this test, as name -> how many (Powertools' shared metric set)."""
    from aws_lambda_powertools import Metrics

    return lambda: {name: sum(metric["Value"]) for name, metric in Metrics().metric_set.items()}


@dataclass
class Cloud:
    queue_url: str
    _seen: list[dict[str, Any]]

    @property
    def ddb(self) -> Any:
        return boto3.resource("dynamodb")

    def table(self, env_name: str) -> Any:
        return self.ddb.Table(ENV[env_name])

    def items(self, env_name: str) -> list[dict[str, Any]]:
        table = self.table(env_name)
        response = table.scan(ConsistentRead=True)
        items = response["Items"]
        while "LastEvaluatedKey" in response:
            response = table.scan(ConsistentRead=True, ExclusiveStartKey=response["LastEvaluatedKey"])
            items += response["Items"]
        return items

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        """Every event put on the bus so far (drained from the catch-all SQS queue), oldest first."""
        sqs = boto3.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            for message in messages:
                self._seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        if detail_type is None:
            return list(self._seen)
        return [e for e in self._seen if e["detail-type"] == detail_type]

    def put_product(
        self, product_id: str, available: int, reserved: int = 0, price: Decimal | str | None = None
    ) -> None:
        item = product_item(product_id, available, reserved=reserved, price=price)
        self.table("INVENTORY_TABLE").put_item(Item=item)

    def product(self, product_id: str) -> dict[str, Any]:
        return self.table("INVENTORY_TABLE").get_item(Key={"productId": product_id}, ConsistentRead=True)["Item"]

    def s3_keys(self) -> list[str]:
        response = boto3.client("s3").list_objects_v2(Bucket=ENV["NOTIFICATIONS_BUCKET"])
        return sorted(o["Key"] for o in response.get("Contents", []))

    def s3_json(self, key: str) -> dict[str, Any]:
        body = boto3.client("s3").get_object(Bucket=ENV["NOTIFICATIONS_BUCKET"], Key=key)["Body"].read()
        return json.loads(body)


def _create_tables(client: Any) -> None:
    """The tables of services/shared/schemas/tables.json (the one definition), in moto."""
    for request in tables.create_table_requests(PREFIX):
        client.create_table(**request)
    for name, attribute in tables.ttl_attributes(PREFIX).items():
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
        )


TABLE_KEYS = {tables.env_var(t): tables.key_names(t) for t in tables.definitions()}


@pytest.fixture(scope="package")
def _moto_session() -> Iterator[str]:
    """One moto cloud for the tests/unit package (creating it per test dominated the run time); stopped, and the
    environment restored, when the package's last test has run."""
    with pytest.MonkeyPatch.context() as mp, mock_aws():
        _isolate(mp)
        shared_aws.reset()
        _create_tables(boto3.client("dynamodb"))
        boto3.client("s3").create_bucket(Bucket=ENV["NOTIFICATIONS_BUCKET"])
        events = boto3.client("events")
        events.create_event_bus(Name=ENV["EVENT_BUS_NAME"])
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName=f"{PREFIX}-bus-tap")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name=f"{PREFIX}-catch-all",
            EventBusName=ENV["EVENT_BUS_NAME"],
            EventPattern=json.dumps({"source": [{"prefix": ""}]}),
        )
        events.put_targets(
            Rule=f"{PREFIX}-catch-all", EventBusName=ENV["EVENT_BUS_NAME"], Targets=[{"Id": "tap", "Arn": queue_arn}]
        )
        yield queue_url
    shared_aws.reset()


def _wipe(queue_url: str) -> None:
    """Empty every table, the bucket and the tap queue: each test starts from a clean cloud."""
    client = boto3.client("dynamodb")
    for env_name, keys in TABLE_KEYS.items():
        names = {f"#k{i}": k for i, k in enumerate(keys)}
        kwargs: dict[str, Any] = {
            "TableName": ENV[env_name],
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
        }
        while True:
            page = client.scan(**kwargs)
            for start in range(0, len(page["Items"]), 25):
                client.batch_write_item(
                    RequestItems={
                        ENV[env_name]: [{"DeleteRequest": {"Key": item}} for item in page["Items"][start : start + 25]]
                    }
                )
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    s3 = boto3.client("s3")
    contents = s3.list_objects_v2(Bucket=ENV["NOTIFICATIONS_BUCKET"]).get("Contents", [])
    if contents:
        s3.delete_objects(Bucket=ENV["NOTIFICATIONS_BUCKET"], Delete={"Objects": [{"Key": o["Key"]} for o in contents]})
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


@pytest.fixture
def cloud(_moto_session: str) -> Iterator[Cloud]:
    _wipe(_moto_session)
    yield Cloud(queue_url=_moto_session, _seen=[])


#: The unit tests' catalogue (inventory items with a `price`): helpers.order_body() orders these at these prices.
CATALOGUE: dict[str, str] = {"prod-1": "19.99", "prod-2": "69.99"}


@pytest.fixture
def catalogue(cloud: Cloud) -> Cloud:
    """The clean cloud with the CATALOGUE products in the inventory table (100 in stock each)."""
    for product_id, price in CATALOGUE.items():
        cloud.put_product(product_id, 100, price=price)
    return cloud


@dataclass
class FakeLambdaContext:
    function_name: str = "orderflow-test-fn"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:orderflow-test-fn"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/orderflow-test-fn"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def serialized_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto's DynamoDB process one request at a time.

    moto is not atomic under threads (two TransactWriteItems can read the same `available` and both
    succeed: a lost update, observed with moto 5.2). Real DynamoDB serializes conflicting writes and
    transactions. This lock restores that property *in the emulator only*; the code under test runs
    unchanged, lock-free, from many threads.
    """
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def locked(self: Any) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", locked)


#: The Lambda packages of services/ (each is one function with its own role in terraform/service_permissions.json).
FUNCTION_PACKAGES = frozenset(declared())
SERVICES_PACKAGES = FUNCTION_PACKAGES | {"shared"}
#: DynamoDB reads that can be strongly consistent (on a table; an index answers eventually consistent reads only).
_CONSISTENT_CAPABLE = frozenset({"GetItem", "Query", "Scan"})
_TESTS_DIR = str(Path(__file__).resolve().parents[1]) + os.sep


def _callers() -> tuple[str | None, str | None]:
    """(the Lambda package whose code made the call, the top-level package of the innermost non-SDK caller).
    A test's frame met first means the test made the call, directly or as an actor it injected into the code
    under test (a racing cancel inside a patched read): no function is charged with it."""
    function = innermost = None
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename.startswith(_TESTS_DIR):
            break
        top = str(frame.f_globals.get("__name__", "")).split(".", 1)[0]
        if innermost is None and top not in {"botocore", "boto3", "moto"}:
            innermost = top
        if top in FUNCTION_PACKAGES:
            function = top
            break
        frame = frame.f_back
    return function, innermost


def aws_call_violations(
    function: str | None, innermost: str | None, api: str, operation: str, params: dict[str, Any]
) -> list[str]:
    """What is wrong with one AWS call made by services/ code, against the code base's rules:
    - the running function's role allows it (terraform/service_permissions.json, the table its policy is built
      from; IAM enforces it on AWS, moto does not);
    - every read of a table by services/ code is strongly consistent: each such read decides a write (it follows a
      lost condition, or guards a transition), and an eventually consistent read may miss the write just made;
    - every event a function puts on the bus has a contract (shared/schemas/events) and conforms to it (the
      outbox and publish mechanics, called by their own tests with made-up payloads, are not functions)."""
    problems: list[str] = []
    if function is not None:
        statements = declared()[function]
        allowed = grants(statements)
        for action, resource in iam_requirements(api, operation, params, f"{PREFIX}-"):
            if (action, resource) not in allowed:
                problems.append(f"the {function} function calls {action} on {resource}, which its role lacks")
        if api == "events" and operation == "PutEvents":
            may_put = declared_events(statements)
            for entry in params.get("Entries", []):
                if (entry.get("Source"), entry.get("DetailType")) not in may_put:
                    problems.append(
                        f"the {function} function puts {entry.get('Source')} / "
                        f"{entry.get('DetailType')}, which its role may not"
                    )
                problems.extend(
                    f"an event put by the {function} function breaks its contract: {problem}"
                    for problem in contracts.violations(
                        entry.get("Source"), entry.get("DetailType"), json.loads(entry.get("Detail") or "null")
                    )
                )
    if innermost in SERVICES_PACKAGES and api == "dynamodb":
        reads = []
        if operation in _CONSISTENT_CAPABLE and not params.get("IndexName"):
            reads.append((params.get("TableName"), params.get("ConsistentRead")))
        elif operation == "BatchGetItem":
            reads.extend((name, request.get("ConsistentRead")) for name, request in params["RequestItems"].items())
        problems.extend(
            f"{operation} on {table} by services/ code is not strongly consistent"
            for table, consistent in reads
            if consistent is not True
        )
    return problems


@pytest.fixture(autouse=True)
def aws_calls_follow_the_rules(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every AWS call services/ code makes in any unit test is checked by `aws_call_violations`; the test fails
    at teardown when one broke a rule (recorded rather than raised: the code under test may catch exceptions)."""
    from botocore.client import BaseClient

    violations: list[str] = []
    original = BaseClient._make_api_call

    def checked(client: Any, operation: str, params: dict[str, Any]) -> Any:
        function, innermost = _callers()
        if innermost in SERVICES_PACKAGES or function is not None:
            api = client.meta.service_model.endpoint_prefix
            violations.extend(aws_call_violations(function, innermost, api, operation, params))
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", checked)
    yield violations
    if violations:
        pytest.fail("AWS calls that break the code base's rules:\n" + "\n".join(sorted(set(violations))))


#: task contract (shared/schemas/tasks) -> the function that answers it, (module, name): the handlers dispatch to these
#: through their modules, and most unit tests call them directly, so checking them checks every answer of every test
TASK_FUNCTIONS: dict[str, tuple[str, str]] = {
    "inventory.release": ("inventory.service", "release"),
    "inventory.reserve": ("inventory.service", "reserve"),
    "inventory.restock": ("inventory.service", "restock"),
    "notification.notify": ("notification.service", "notify_workflow"),
    "order.claim": ("order.saga", "claim"),
    "order.find_stale": ("order.saga", "sweep"),
    "payment.charge": ("payment.service", "charge"),
    "payment.refund": ("payment.service", "refund"),
}


def _checking(name: str, function: Any, found: list[str]) -> Any:
    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        found.extend(contracts.task_violations(name, contracts.RESULT, result))
        return result

    return checked


@pytest.fixture(autouse=True)
def task_results_follow_the_contracts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every answer of a workflow action in any unit test -- through its handler or called directly -- is checked
    against the action's result contract (shared/schemas/tasks/<service>.<action>.json); the test fails at teardown
    when one broke it. (The requests are the handlers' own business: they validate each one.)"""
    violations: list[str] = []
    for name, (module_name, function) in TASK_FUNCTIONS.items():
        module = importlib.import_module(module_name)
        monkeypatch.setattr(module, function, _checking(name, getattr(module, function), violations))
    yield violations
    if violations:
        pytest.fail("workflow task answers that break their contract:\n" + "\n".join(sorted(set(violations))))


def money(value: str) -> Decimal:
    return Decimal(value)
