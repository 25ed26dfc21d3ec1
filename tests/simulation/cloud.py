"""The simulation's cloud: moto DynamoDB/S3 in process, a captured bus, a virtual clock and fault hooks.

One `SimCloud` per process; `reset()` gives every schedule empty tables. The real service code runs unchanged:
- `invoke(function, payload)` calls the Lambda's real handler (services/<fn>/handler.py) and turns an escaping
  exception into the Step Functions error AWS reports (the exception's class name), so the rendered workflows'
  Retry/Catch see what they see on AWS;
- PutEvents never reaches moto: a botocore `before-call` hook appends each entry to `bus` (the engine delivers
  them at least once) or, when a publish fault is armed, answers FailedEntryCount = 1;
- DynamoDB faults: an armed fault makes the next DynamoDB call fail before its effect (throttling), or after it
  (a read timeout after the write took effect);
- `integration_task` runs a workflow's tasks that call an AWS API themselves (no Lambda) through the same hooked
  clients, so the same faults and the same recording apply to them, with the errors Step Functions reports;
- `shared.clock` and the payment circuit breaker read the virtual clock.
"""

from __future__ import annotations

import copy
import json
import os
import queue
import random
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
# A mutation run (scripts/mutation.py) points the tests at its mutated copy of services/.
SERVICES = Path(os.environ.get("ORDERFLOW_SERVICES_DIR") or REPO_ROOT / "services")
if str(SERVICES) not in sys.path:
    sys.path.insert(0, str(SERVICES))

PREFIX = "orderflow-sim"
_TYPED_FIELDS = ("Key", "Item", "Attributes", "ExpressionAttributeValues")
#: the DynamoDB integrations a workflow may use (scripts/render.TABLE_INTEGRATIONS) -> the client method that runs one
TABLE_TASKS = {
    "arn:aws:states:::dynamodb:getItem": "get_item",
    "arn:aws:states:::dynamodb:putItem": "put_item",
    "arn:aws:states:::dynamodb:updateItem": "update_item",
    "arn:aws:states:::dynamodb:deleteItem": "delete_item",
}
#: the AWS SDK integration of a workflow's transaction, and the optimized EventBridge integration
TRANSACT_WRITE_TASK = "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems"
PUT_EVENTS_TASK = "arn:aws:states:::events:putEvents"
ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = f"{PREFIX}-notifications"
ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "sim",
    "AWS_SECRET_ACCESS_KEY": "sim",
    "AWS_SESSION_TOKEN": "sim",
    "EVENT_BUS_NAME": f"{PREFIX}-bus",
    "NOTIFICATIONS_BUCKET": BUCKET,
    "POWERTOOLS_SERVICE_NAME": "orderflow-sim",
    "POWERTOOLS_METRICS_NAMESPACE": "orderflow",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",
    "LOG_LEVEL": "CRITICAL",
    "PAYMENT_CUSTOMER_LIMIT": "500.00",
    "PAYMENT_DECLINE_CUSTOMERS": "customer-declined",
    "PAYMENT_FAULT_RATE": "0",
    "PAYMENT_FAULT_SEED": "0",
    "CIRCUIT_FAILURE_THRESHOLD": "3",
    "CIRCUIT_COOLDOWN_SECONDS": "30",
    "STALE_ORDER_MINUTES": "30",
    "OUTBOX_GRACE_SECONDS": "120",
}
os.environ.update(ENV)

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError, ReadTimeoutError
from botocore.validate import validate_parameters
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.core.utils import camelcase_to_underscores
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models.table import Table as DynamoTable
from moto.dynamodb.responses import DynamoHandler

from scripts import render, tables

for _table in tables.definitions():
    os.environ[tables.env_var(_table)] = f"{PREFIX}-{_table}"

from aws_lambda_powertools import Metrics

from inventory import handler as inventory_handler
from notification import handler as notification_handler
from order import handler as order_handler
from order import service as order_service
from payment import handler as payment_handler
from payment import service as payment_service
from shared import aws as shared_aws
from shared import clock as shared_clock
from tests.simulation.asl import StatesError, TaskCall
from tests.simulation.permissions import Recorder

HANDLERS = {
    "order": order_handler.lambda_handler,
    "payment": payment_handler.lambda_handler,
    "inventory": inventory_handler.lambda_handler,
    "notification": notification_handler.lambda_handler,
}
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
#: the stack's event bus (terraform/modules/event_bus names it `<prefix>-bus`): the services' EVENT_BUS_NAME
BUS = ENV["EVENT_BUS_NAME"]
BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}"
_TYPES_IN, _TYPES_OUT = TypeDeserializer(), TypeSerializer()
_METRICS = Metrics()  # Powertools shares one metric set between instances
#: the HTTP response a short-circuited PutEvents reports (botocore reads its status code and headers)
_HTTP_OK = SimpleNamespace(status_code=200, headers={})


def _moto_dynamodb_direct(model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
    """Answer a DynamoDB call from moto's DynamoDB handler directly (a botocore before-call short-circuit).

    The same moto code decides every request; only the HTTP round trip (request building, moto's dispatch and
    its response serializer) is skipped, which made a schedule ~4x faster. Errors become the ClientError botocore
    would have parsed (code, message, CancellationReasons).
    """
    handler = DynamoHandler()
    handler.current_account, handler.region = DEFAULT_ACCOUNT_ID, REGION
    handler.body = json.loads(params["body"])
    try:
        result = getattr(handler, camelcase_to_underscores(model.name))()
    except JsonRESTError as exc:
        body = json.loads(exc.description)
        response: dict[str, Any] = {
            "Error": {"Code": exc.relative_error_type, "Message": body.get("message") or body.get("Message", "")},
            "ResponseMetadata": {"HTTPStatusCode": exc.code},
        }
        if "CancellationReasons" in body:
            response["CancellationReasons"] = body["CancellationReasons"]
        raise ClientError(response, model.name) from None
    # moto's DynamoResult already holds fresh plain DynamoDB-JSON dicts: what botocore's parser would return
    return _HTTP_OK, result.result if isinstance(result, ActionResult) else json.loads(result)


def _check_parameters(client: Any, operation: str, parameters: dict[str, Any]) -> None:
    """Step Functions checks a task's parameters against the API's model before it calls the API: a missing field or
    a wrong type (e.g. a number where the model wants a string, {"N": 3}) fails the task with States.Runtime. The
    simulation's clients skip botocore's own validation (speed), so an integration task is checked here."""
    try:
        validate_parameters(parameters, client.meta.service_model.operation_model(operation).input_shape)
    except ParamValidationError as exc:
        raise StatesError(
            "States.Runtime",
            f"The Parameters '{json.dumps(parameters)}' could not be used to start the Task: [{exc.kwargs['report']}]",
        ) from None


def _sdk_error(service: str, exc: ClientError) -> str:
    """An AWS SDK integration's error name: `<Service>.<exception>`, with the Exception suffix AWS adds to a code that
    lacks it (AWS docs, "Learning to use AWS service SDK integrations": S3.BucketAlreadyExistsException)."""
    code = exc.response["Error"]["Code"]
    return f"{service}.{code if code.endswith('Exception') else code + 'Exception'}"


class _TransactionBackup:
    """moto backs up every table a TransactWriteItems touches with a deep copy of the whole Table (schema, indexes,
    items) — a fifth of a schedule's time. Copying only its items restores the same state on a cancelled
    transaction, so the simulation swaps that in for moto's DynamoDB module (nothing else changes)."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, DynamoTable):
            backup = copy.copy(value)
            backup.items = copy.deepcopy(value.items)
            return backup
        return copy.deepcopy(value, memo)


dynamodb_models.copy = _TransactionBackup  # type: ignore[assignment]


@dataclass
class LambdaContext:
    function_name: str = "orderflow-sim"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orderflow-sim"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


@dataclass
class Faults:
    """One-shot faults the engine arms for an invocation (its next PutEvents / its Nth DynamoDB call)."""

    publish_fails: bool = False
    publish_times_out: bool = False  # the PutEvents took effect, its answer was lost (armed for workflow tasks only)
    dynamodb: str | None = None  # "throttle" (before the effect) | "timeout" (after the effect)
    dynamodb_skip: int = 0  # how many DynamoDB calls to let through first

    def clear(self) -> None:
        self.publish_fails, self.publish_times_out, self.dynamodb, self.dynamodb_skip = False, False, None, 0


_NO_FAULTS = Faults()


class Invocation:
    """One Lambda invocation running in a worker thread that stops before each of its AWS calls.

    Exactly one thread runs at a time: the engine's `step()` lets the invocation make its next AWS call and run
    until the one after it (or to its end), so the scheduler interleaves invocations *between their AWS calls*,
    e.g. a refund's void between a charge's intent and its gateway call. Deterministic: the schedule decides.
    """

    def __init__(self, run: Callable[[], Any], faults: Faults) -> None:
        self.run = run
        self.faults = faults
        self.calls = 0
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self._go = threading.Semaphore(0)
        self._back = threading.Semaphore(0)

    # worker side
    def pause(self) -> None:
        self.calls += 1
        self._back.release()
        self._go.acquire()

    def execute(self) -> None:
        # Wait for the first step: the handler's code before its first AWS call must not run concurrently with the
        # engine (it reads the virtual clock and the environment), or a schedule would depend on thread timing.
        self._go.acquire()
        try:
            self.result = self.run()
        except BaseException as exc:  # noqa: BLE001 - handed to the engine, which raises it where it belongs
            self.error = exc
        finally:
            self.done = True

    def finished(self) -> None:
        """Hand control back for the last time (the worker has put itself back in the pool first)."""
        self._back.release()

    # engine side
    def step(self) -> bool:
        """Run to the next AWS call (or the end); True when the invocation has finished."""
        self._go.release()
        self._back.acquire()
        return self.done


class _Workers:
    """Reused worker threads (their idents key shared.aws' per-thread caches)."""

    def __init__(self) -> None:
        self._idle: list[queue.SimpleQueue[Invocation | None]] = []

    def submit(self, invocation: Invocation) -> None:
        if not self._idle:
            jobs: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
            threading.Thread(target=self._loop, args=(jobs,), daemon=True).start()
            self._idle.append(jobs)
        self._idle.pop().put(invocation)

    def _loop(self, jobs: queue.SimpleQueue[Invocation | None]) -> None:
        while (invocation := jobs.get()) is not None:
            _current.invocation = invocation
            invocation.execute()
            _current.invocation = None
            self._idle.append(jobs)  # before the engine runs on: the next invocation reuses this thread
            invocation.finished()


_current = threading.local()


def current_faults() -> Faults:
    """The faults armed for the calls this thread makes: its invocation's, or the workflow task's it runs."""
    invocation = getattr(_current, "invocation", None)
    if invocation is not None:
        return invocation.faults
    return getattr(_current, "task_faults", None) or _NO_FAULTS


def _pause_before_call(**_: Any) -> None:
    invocation = getattr(_current, "invocation", None)
    if invocation is not None:
        invocation.pause()


@dataclass
class SimCloud:
    now: datetime = EPOCH
    bus: list[dict[str, Any]] = field(default_factory=list)
    definitions: dict[str, dict[str, Any]] = field(default_factory=dict)
    function_names: dict[str, str] = field(default_factory=dict)
    order_ids: random.Random = field(default_factory=random.Random)
    _workers: _Workers = field(default_factory=_Workers)
    #: the services' AWS calls as IAM needs (off unless a test turns `calls.enabled` on: see test_permissions.py)
    calls: Recorder = field(default_factory=lambda: Recorder(f"{PREFIX}-"))

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> SimCloud:
        self._mock = mock_aws()
        self._mock.start()
        self._patch_clock()
        self._patch_ids()
        client = boto3.client("dynamodb")
        for request in tables.create_table_requests(PREFIX):
            client.create_table(**request)
        self._s3 = boto3.client("s3")  # the invariants' reader (a client costs ~20 ms to make)
        self._s3.create_bucket(Bucket=BUCKET)
        env = "sim"
        values = render.placeholder_values(env, region=REGION, account_id=ACCOUNT)
        for name, path in render.template_paths().items():
            self.definitions[name] = render.render_definition(
                path.read_text(encoding="utf-8"), values, source=str(path)
            )
        for service in HANDLERS:
            self.function_names[render.function_arn(service, env, region=REGION, account_id=ACCOUNT)] = service
        shared_aws.reset()
        # the simulation's requests are well-formed by construction; validating each one cost ~10% of a schedule
        shared_aws._BOTO_CONFIG = shared_aws._BOTO_CONFIG.merge(Config(parameter_validation=False))
        self._hook_clients()  # the services' cached clients live for the whole process
        self._warm_up()
        self.reset()
        return self

    @staticmethod
    def _warm_up() -> None:
        """A client's first use may make extra calls (S3 region discovery): make them here, outside any schedule,
        so that a schedule replays the same whatever ran before it in the process."""
        try:
            shared_aws.s3_client().head_object(Bucket=BUCKET, Key="warm-up")
        except ClientError:
            pass

    def reset(self) -> None:
        """Empty cloud for the next schedule: empty tables and bucket, empty bus, clock at the epoch.

        Items are cleared in moto's in-memory stores (moto 5.x attributes) instead of re-creating the tables:
        re-creating them took ~95 ms a schedule, clearing takes well under 1 ms.
        """
        from moto.dynamodb.models import dynamodb_backends
        from moto.s3.models import s3_backends

        for table in dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables.values():
            table.items.clear()
        s3_backends[DEFAULT_ACCOUNT_ID]["global"].buckets[BUCKET].keys.clear()
        self.bus.clear()
        self.now = EPOCH
        os.environ["PAYMENT_FAULT_RATE"] = "0"

    # --- clock ---------------------------------------------------------------------------------
    def _patch_ids(self) -> None:
        """New order ids come from `order_ids` (seeded by the schedule): they key the gateway's fault draws."""
        ids = self

        class _SeededUuid:
            def __getattr__(self, name: str) -> Any:
                return getattr(uuid, name)

            @staticmethod
            def uuid4() -> uuid.UUID:
                return uuid.UUID(int=ids.order_ids.getrandbits(128), version=4)

        order_service.uuid = _SeededUuid()

    def _patch_clock(self) -> None:
        shared_clock.utc_now = lambda: self.now
        shared_clock.epoch_seconds = lambda: self.now.timestamp()
        payment_service.CLOCK = lambda: self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def iso(self) -> str:
        return shared_clock.iso(self.now)

    # --- hooks ---------------------------------------------------------------------------------
    def _hook_clients(self) -> None:
        """Hook the services' clients: a pause before every AWS call, faults, the bus, moto's direct path.

        One DynamoDB resource serves every worker thread (shared.aws would make one per thread): only one
        thread runs at a time, and its hooks are registered once.
        """
        self._resource = boto3.resource("dynamodb", config=shared_aws._BOTO_CONFIG)
        tables_by_name: dict[str, Any] = {}

        def table(name: str) -> Any:
            if name not in tables_by_name:
                tables_by_name[name] = self._resource.Table(name)
            return tables_by_name[name]

        shared_aws.dynamodb_resource = lambda: self._resource
        shared_aws.table = table
        events = shared_aws.events_client().meta.events
        for client in (
            shared_aws.events_client(),
            shared_aws.s3_client(),
            shared_aws.dynamodb_client(),
            self._resource.meta.client,
        ):
            client.meta.events.register("before-parameter-build", self.calls)
        events.register("before-call.events", _pause_before_call)
        events.register("before-call.events.PutEvents", self._on_put_events)
        events.register("after-call.events.PutEvents", self._after_put_events)
        shared_aws.s3_client().meta.events.register("before-call.s3", _pause_before_call)
        for client in (shared_aws.dynamodb_client(), self._resource.meta.client):
            client.meta.events.register("before-call.dynamodb", _pause_before_call)
            client.meta.events.register("before-call.dynamodb", self._before_dynamodb)
            client.meta.events.register("before-call.dynamodb", _moto_dynamodb_direct)
            client.meta.events.register("after-call.dynamodb", self._after_dynamodb)

    def _on_put_events(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        faults = current_faults()
        if faults.publish_fails:
            faults.publish_fails = False
            return _HTTP_OK, {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "simulated publish failure"}],
            }
        entries = json.loads(params["body"])["Entries"]  # the serialized request (JSON protocol)
        for entry in entries:
            self.bus.append(
                {"source": entry["Source"], "detail-type": entry["DetailType"], "detail": json.loads(entry["Detail"])}
            )
        return _HTTP_OK, {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{len(self.bus)}"} for _ in entries]}

    @staticmethod
    def _after_put_events(**_: Any) -> None:
        faults = current_faults()
        if faults.publish_times_out:
            faults.publish_times_out = False
            raise ReadTimeoutError(endpoint_url="https://events.simulated")

    @staticmethod
    def _armed(kind: str) -> bool:
        faults = current_faults()
        if faults.dynamodb != kind:
            return False
        if faults.dynamodb_skip > 0:
            faults.dynamodb_skip -= 1
            return False
        faults.dynamodb = None
        return True

    def _before_dynamodb(self, model: Any, **_: Any) -> None:
        if self._armed("throttle"):
            raise ClientError(
                {
                    "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "simulated throttling"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                model.name,
            )

    def _after_dynamodb(self, model: Any, **_: Any) -> None:
        if model.name not in ("GetItem", "Query", "Scan") and self._armed("timeout"):
            raise ReadTimeoutError(endpoint_url="https://dynamodb.simulated")

    # --- Lambda --------------------------------------------------------------------------------
    def start_invocation(self, function: str, payload: Any, faults: Faults | None = None) -> Invocation:
        """Start a Lambda's real handler in a worker thread; it runs only when stepped, up to its first AWS call."""
        invocation = Invocation(lambda: self._handle(function, payload), faults or Faults())
        self._workers.submit(invocation)
        return invocation

    def invoke(self, function: str, payload: Any, faults: Faults | None = None) -> Any:
        """Run an invocation to its end without interleaving (tests, setup)."""
        invocation = self.start_invocation(function, payload, faults)
        while not invocation.step():
            pass
        if invocation.error is not None:
            raise invocation.error
        return invocation.result

    def _handle(self, function: str, payload: Any) -> Any:
        """The handler; a raised exception becomes StatesError(<class name>), the error name AWS reports."""
        self.calls.running(function)
        try:
            result = HANDLERS[function](payload, LambdaContext())
        except Exception as exc:
            self.calls.task(function, payload, answered=False)
            raise StatesError(type(exc).__name__, str(exc)) from exc
        finally:
            self.calls.running(None)
            _METRICS.clear_metrics()  # a Lambda flushes its metrics per invocation; disabled here, they would pile up
        self.calls.task(function, payload, result)
        return result

    def function_for(self, arn: str) -> str:
        return self.function_names[arn]

    # --- service integrations (tasks that call an AWS API themselves) ---------------------------
    def is_integration(self, resource: str) -> bool:
        return resource in TABLE_TASKS or resource in (TRANSACT_WRITE_TASK, PUT_EVENTS_TASK)

    def integration_task(
        self, call: TaskCall, *, workflow: str | None = None, faults: Faults | None = None
    ) -> dict[str, Any]:
        """A workflow's task that calls an AWS API itself, run as Step Functions runs it: the task's parameters are the
        API request, the answer is the API response (no ResponseMetadata), an API error is the StatesError AWS names.

        Its one call goes through the services' hooked clients, so `faults` act on it as on a Lambda's calls: a
        DynamoDB throttle before the effect, a timeout after the effect (States.Timeout: the task timed out, Step
        Functions retries it), a PutEvents entry that fails or times out after the put. With recording on, the call
        is recorded as `workflow`'s, the state machine's role (terraform/main.tf grants it workflow/integrations.json).
        """
        _current.task_faults = faults
        self.calls.running(workflow)
        try:
            if call.resource == TRANSACT_WRITE_TASK:
                return self._transact_write_task(call.parameters)
            if call.resource == PUT_EVENTS_TASK:
                return self._put_events_task(call)
            return self._table_task(call.resource, call.parameters)
        except ReadTimeoutError as exc:
            raise StatesError(
                "States.Timeout", f"simulated: the task timed out after its call took effect: {exc}"
            ) from exc
        finally:
            _current.task_faults = None
            self.calls.running(None)

    @staticmethod
    def _table_task(resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """An optimized DynamoDB integration (`arn:aws:states:::dynamodb:<action>`): typed attribute values in and
        out; an API error is `DynamoDB.<code>`."""
        # the hooked client is a resource's: it takes and answers plain values, so the typed ones are converted
        client = shared_aws.table(parameters["TableName"]).meta.client
        _check_parameters(client, client.meta.method_to_api_mapping[TABLE_TASKS[resource]], parameters)
        request = {
            k: ({n: _TYPES_IN.deserialize(v) for n, v in value.items()} if k in _TYPED_FIELDS else value)
            for k, value in copy.deepcopy(parameters).items()
        }
        try:
            response = getattr(client, TABLE_TASKS[resource])(**request)
        except ClientError as exc:
            raise StatesError(f"DynamoDB.{exc.response['Error']['Code']}", str(exc)) from exc
        response.pop("ResponseMetadata", None)
        return {
            k: ({n: _TYPES_OUT.serialize(v) for n, v in value.items()} if k in _TYPED_FIELDS else value)
            for k, value in response.items()
        }

    @staticmethod
    def _transact_write_task(parameters: dict[str, Any]) -> dict[str, Any]:
        """TransactWriteItems as the AWS SDK integration calls it. The low-level client takes the typed values as they
        are, nested L/M included (a resource's client would type them again); an error is `DynamoDb.<Exception>`."""
        client = shared_aws.dynamodb_client()
        _check_parameters(client, "TransactWriteItems", parameters)
        try:
            response = client.transact_write_items(**parameters)
        except ClientError as exc:
            raise StatesError(_sdk_error("DynamoDb", exc), exc.response["Error"].get("Message", "")) from exc
        response.pop("ResponseMetadata", None)
        # moto answers an empty ConsumedCapacity and ItemCollectionMetrics that DynamoDB leaves out unless asked for
        return {key: value for key, value in response.items() if value not in ([], {})}

    @staticmethod
    def _put_events_task(call: TaskCall) -> dict[str, Any]:
        """PutEvents as the optimized EventBridge integration calls it (AWS docs, "Call EventBridge with Step
        Functions"): Step Functions serialises a Detail object to JSON and appends the execution's and the state
        machine's ARNs to each entry's Resources; a failed entry fails the task with EventBridge.FailedEntry, an API
        error is `EventBridge.<code>`."""
        entries = []
        for entry in call.parameters["Entries"]:
            if entry.get("EventBusName") not in (BUS, BUS_ARN):
                # not a runtime condition but a wiring defect: no rule of the stack would ever see the event
                raise ValueError(
                    f"{call.state_name} puts on {entry.get('EventBusName')!r}, not the stack's bus {BUS!r}"
                )
            resources = [*entry.get("Resources", []), call.execution.execution_id, call.execution.state_machine_id]
            sent = {**entry, "Resources": resources}
            if "Detail" in sent and not isinstance(sent["Detail"], str):
                sent["Detail"] = json.dumps(sent["Detail"], separators=(",", ":"))
            entries.append(sent)
        request = {**call.parameters, "Entries": entries}
        client = shared_aws.events_client()
        _check_parameters(client, "PutEvents", request)
        try:
            response = client.put_events(**request)
        except ClientError as exc:
            raise StatesError(f"EventBridge.{exc.response['Error']['Code']}", str(exc)) from exc
        response.pop("ResponseMetadata", None)
        if response.get("FailedEntryCount"):
            raise StatesError("EventBridge.FailedEntry", json.dumps(response))
        return response

    # --- reads for the invariants ----------------------------------------------------------------
    def table(self, name: str) -> Any:
        return shared_aws.table(f"{PREFIX}-{name}")  # the hooked, cached Table resources

    def scan(self, name: str) -> list[dict[str, Any]]:
        table, items, kwargs = self.table(name), [], {}
        while True:
            page = table.scan(**kwargs)
            items.extend(page.get("Items") or [])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def notification_keys(self) -> list[str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


def http_delete(order_id: str, customer: str) -> dict[str, Any]:
    """API Gateway HTTP API (payload 2.0) event of `DELETE /orders/{id}` by `customer`, as the JWT authorizer
    hands it to the order Lambda (claims of a Cognito ID token)."""
    path = f"/orders/{order_id}"
    claims = {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, customer)),
        "cognito:username": customer,
        "token_use": "id",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_sim",
        "aud": "sim-client",
        "email": f"{customer}@example.com",
    }
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.com"},
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "sim",
            "domainName": "api.example.com",
            "requestId": f"sim-{order_id}",
            "http": {
                "method": "DELETE",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "simulation",
            },
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 0,
            "authorizer": {"jwt": {"claims": claims, "scopes": None}},
        },
    }


_PROCESS_CLOUD: SimCloud | None = None


def process_cloud() -> SimCloud:
    """The process's one started cloud, empty. It patches the process for good, so a second pytest session in the
    same interpreter (mutmut runs stats, then the clean tests, then each mutant's tests) reuses it."""
    global _PROCESS_CLOUD
    if _PROCESS_CLOUD is None:
        _PROCESS_CLOUD = SimCloud().start()
    else:
        _PROCESS_CLOUD.reset()
    return _PROCESS_CLOUD
