"""Unit-test fixtures: services/ on sys.path, a moto cloud with every table/bus/bucket of the contract,
and an SQS queue subscribed to the bus (catch-all rule) so tests can assert what was (not) published."""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest

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
    "ORDERS_TABLE": f"{PREFIX}-orders",
    "INVENTORY_TABLE": f"{PREFIX}-inventory",
    "RESERVATIONS_TABLE": f"{PREFIX}-reservations",
    "PAYMENTS_TABLE": f"{PREFIX}-payments",
    "IDEMPOTENCY_TABLE": f"{PREFIX}-idempotency",
    "CIRCUIT_BREAKER_TABLE": f"{PREFIX}-circuit-breaker",
    "OUTBOX_TABLE": f"{PREFIX}-outbox",
    "PAYMENT_GATEWAY_TABLE": f"{PREFIX}-payment-gateway",
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

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from scripts import tables  # noqa: E402
from shared import aws as shared_aws  # noqa: E402


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

    def put_product(self, product_id: str, available: int, reserved: int = 0,
                    price: Decimal | str | None = None) -> None:
        item: dict[str, Any] = {"productId": product_id, "available": available, "reserved": reserved,
                                "name": product_id}
        if price is not None:
            item["price"] = Decimal(str(price))
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
    """The tables of terraform/modules/data/tables.json (the one definition), in moto."""
    for request in tables.create_table_requests(PREFIX):
        client.create_table(**request)
    for name, attribute in tables.ttl_attributes(PREFIX).items():
        client.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True,
                                                                            "AttributeName": attribute})


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
        kwargs: dict[str, Any] = {"TableName": ENV[env_name], "ProjectionExpression": ", ".join(names),
                                  "ExpressionAttributeNames": names}
        while True:
            page = client.scan(**kwargs)
            for start in range(0, len(page["Items"]), 25):
                client.batch_write_item(RequestItems={ENV[env_name]: [
                    {"DeleteRequest": {"Key": item}} for item in page["Items"][start:start + 25]]})
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    s3 = boto3.client("s3")
    contents = s3.list_objects_v2(Bucket=ENV["NOTIFICATIONS_BUCKET"]).get("Contents", [])
    if contents:
        s3.delete_objects(Bucket=ENV["NOTIFICATIONS_BUCKET"],
                          Delete={"Objects": [{"Key": o["Key"]} for o in contents]})
    sqs = boto3.client("sqs")
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])


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


def money(value: str) -> Decimal:
    return Decimal(value)
