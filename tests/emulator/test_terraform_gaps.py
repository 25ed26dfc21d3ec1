"""Guard tests for the Terraform emulator workarounds (terraform/modules/emulator_compat).

Each test reproduces one gap of the local emulator (MiniStack 1.5.33) that `emulator_compat = true`
(terraform/envs/local.tfvars only) works around. A test PASSES while the gap is still there and FAILS once the
emulator fixes it: that failure is the signal to delete the matching switch from terraform/modules/emulator_compat
(and this test). They talk to a running local cloud at http://127.0.0.1:${ORDERFLOW_LOCAL_PORT:-4566} and skip,
with the reason, when it is not reachable. They create uniquely named resources and delete them afterwards.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import pytest

boto3 = pytest.importorskip("boto3", reason="boto3 is needed to talk to the local cloud")
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
PORT = os.environ.get("ORDERFLOW_LOCAL_PORT", "4566")
ENDPOINT = f"http://127.0.0.1:{PORT}"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
WORKAROUND = "terraform/modules/emulator_compat"


def _reachable() -> str | None:
    """None when the local cloud answers its health check, else the reason to skip."""
    reason = f"local cloud not reachable at {ENDPOINT}; start it or set ORDERFLOW_LOCAL_PORT"
    for path in ("/_ministack/health", "/_localstack/health"):
        try:
            with urllib.request.urlopen(ENDPOINT + path, timeout=2) as response:
                if response.status == 200:
                    return None
        except (urllib.error.URLError, OSError) as exc:
            reason = f"local cloud not reachable at {ENDPOINT} ({exc}); start it or set ORDERFLOW_LOCAL_PORT"
    return reason


_SKIP_REASON = _reachable()
pytestmark = [
    pytest.mark.local_cloud,
    pytest.mark.skipif(_SKIP_REASON is not None, reason=_SKIP_REASON or ""),
]


def _client(service: str):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION, **CREDENTIALS)


def _unique(prefix: str) -> str:
    return f"tfgap-{prefix}-{uuid.uuid4().hex[:8]}"


def _query_protocol(service: str, action: str, version: str, params: dict[str, str]) -> ET.Element:
    """One signed AWS query-protocol (form + XML) call: the protocol the Terraform AWS provider uses for
    CloudWatch, while current boto3 speaks CBOR/JSON to it and sees different answers."""
    body = "&".join(
        f"{urllib.request.quote(k)}={urllib.request.quote(v)}"
        for k, v in {"Action": action, "Version": version, **params}.items()
    )
    request = AWSRequest(
        method="POST",
        url=ENDPOINT + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials("test", "test"), service, REGION).add_auth(request)
    http_request = urllib.request.Request(
        ENDPOINT + "/", data=body.encode(), headers=dict(request.headers.items()), method="POST"
    )
    with urllib.request.urlopen(http_request, timeout=10) as response:
        return ET.fromstring(response.read())


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def test_describe_alarms_xml_omits_period_and_statistic():
    """Gap: DescribeAlarms over XML omits Period, Statistic, Dimensions, ... -> perpetual diff on
    aws_cloudwatch_metric_alarm. Workaround: switch `metric_alarms_enabled` (alarms not created locally)."""
    cloudwatch = _client("cloudwatch")
    name = _unique("alarm")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    try:
        root = _query_protocol("monitoring", "DescribeAlarms", "2010-08-01", {"AlarmNames.member.1": name})
        members = [
            el
            for el in root.iter()
            if _local(el.tag) == "member"
            and any(_local(child.tag) == "AlarmName" and child.text == name for child in el)
        ]
        assert len(members) == 1, f"the alarm {name} was not returned by DescribeAlarms over XML"
        fields = {_local(child.tag) for child in members[0]}
        assert "MetricName" in fields, "sanity: the XML answer should carry the alarm's metric name"
        still_missing = {"Period", "Statistic"} - fields
        assert still_missing == {"Period", "Statistic"}, (
            f"The emulator's XML DescribeAlarms now returns {sorted({'Period', 'Statistic'} & fields)}: the gap "
            f"is (partly) fixed. Re-check `terraform plan` on aws_cloudwatch_metric_alarm and remove "
            f"metric_alarms_enabled from {WORKAROUND}."
        )
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])


def test_sfn_tracing_configuration_not_stored():
    """Gap: CreateStateMachine accepts tracingConfiguration but DescribeStateMachine does not return it ->
    perpetual diff. Workaround: switch `sfn_tracing_enabled` (tracing block omitted locally)."""
    sfn = _client("stepfunctions")
    name = _unique("sfn")
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    arn = sfn.create_state_machine(
        name=name,
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::000000000000:role/tfgap-sfn",
        type="STANDARD",
        tracingConfiguration={"enabled": True},
    )["stateMachineArn"]
    try:
        described = sfn.describe_state_machine(stateMachineArn=arn)
        assert described.get("tracingConfiguration", {}).get("enabled") is not True, (
            "The emulator now stores tracingConfiguration: remove sfn_tracing_enabled from "
            f"{WORKAROUND} so local state machines are traced like on AWS."
        )
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)


def test_scheduler_ignores_eventbridge_parameters():
    """Gap: EventBridge Scheduler puts source `aws.scheduler` / detail-type `Scheduled Event` instead of the
    target's EventBridgeParameters. Workaround: switch `scheduler_event_fallback` (extra rule that rewrites the
    emulator's event into the contract's "Stale Order Sweep Requested")."""
    events, sqs, scheduler = _client("events"), _client("sqs"), _client("scheduler")
    bus, rule, queue, schedule = _unique("bus"), _unique("rule"), _unique("queue"), _unique("schedule")

    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name=rule,
        EventBusName=bus,
        EventPattern=json.dumps({"source": ["aws.scheduler", "orderflow.tfgap"]}),
    )
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    try:
        scheduler.create_schedule(
            Name=schedule,
            ScheduleExpression="at(2020-01-01T00:00:00)",  # already due: fires on the next scheduler tick
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": bus_arn,
                "RoleArn": "arn:aws:iam::000000000000:role/tfgap-scheduler",
                "Input": "{}",
                "EventBridgeParameters": {"Source": "orderflow.tfgap", "DetailType": "Tfgap Probe"},
            },
        )
        received = None
        deadline = time.monotonic() + 45
        while received is None and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5).get("Messages", [])
            if messages:
                received = json.loads(messages[0]["Body"])
        assert received is not None, (
            "The schedule did not deliver within 45 s: the emulator's scheduler changed; re-check "
            f"scheduler_event_fallback in {WORKAROUND}."
        )
        assert (received.get("source"), received.get("detail-type")) == ("aws.scheduler", "Scheduled Event"), (
            f"The emulator's scheduler now honours EventBridgeParameters (got source={received.get('source')!r}, "
            f"detail-type={received.get('detail-type')!r}): remove scheduler_event_fallback from {WORKAROUND}."
        )
    finally:
        try:
            scheduler.delete_schedule(Name=schedule)
        except Exception:  # noqa: BLE001, S110 - cleanup is best effort (the schedule may not exist)
            pass
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=["queue"])
        events.delete_rule(Name=rule, EventBusName=bus)
        events.delete_event_bus(Name=bus)
        sqs.delete_queue(QueueUrl=queue_url)


def test_schemas_api_not_served():
    """Gap: no EventBridge Schemas API (CreateRegistry is refused or unknown) -> aws_schemas_registry cannot be
    created. Workaround: switch `schema_registry_enabled` (no registry locally; the contracts still drive the rules,
    the grants and the tests)."""
    schemas = _client("schemas")
    name = _unique("registry")
    try:
        schemas.create_registry(RegistryName=name, Description="orderflow emulator gap probe")
    except Exception:  # noqa: BLE001 - any refusal (unknown service, 400, 404, 501) is the gap
        return
    schemas.delete_registry(RegistryName=name)
    pytest.fail(
        "The emulator now serves the EventBridge Schemas API: remove schema_registry_enabled from "
        f"{WORKAROUND} so the local stack gets the schema registry like AWS."
    )
