"""`invoke logs` (scripts/logs.py): durations, Powertools lines pretty-printed, the order filter, every page read,
and where a workflow's log group lives. The log service is moto's."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest

from scripts import logs
from scripts.common import UserError

NOW = datetime(2026, 12, 6, 12, 0, 0, tzinfo=UTC)
ORDER = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"


def line(message: str, **keys: object) -> str:
    return json.dumps({"level": "INFO", "service": "payment", "message": message, **keys})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10m", datetime(2026, 12, 6, 11, 50, tzinfo=UTC)),
        ("90s", datetime(2026, 12, 6, 11, 58, 30, tzinfo=UTC)),
        ("2h", datetime(2026, 12, 6, 10, 0, tzinfo=UTC)),
        ("1d", datetime(2026, 12, 5, 12, 0, tzinfo=UTC)),
        ("2026-12-06T09:30:00Z", datetime(2026, 12, 6, 9, 30, tzinfo=UTC)),
        ("2026-12-06T09:30:00", datetime(2026, 12, 6, 9, 30, tzinfo=UTC)),
    ],
)
def test_since_is_a_duration_or_a_time(value, expected):
    assert logs.parse_since(value, NOW) == expected


def test_a_bad_since_says_what_is_accepted():
    with pytest.raises(UserError, match=r"^--since 'yesterday' is neither a duration \(10m, 2h, 1d\) nor an ISO"):
        logs.parse_since("yesterday", NOW)


def test_a_powertools_line_is_printed_with_its_order_and_status():
    ms = int(datetime(2026, 12, 6, 10, 1, 2, 345000, tzinfo=UTC).timestamp() * 1000)
    text = line("charge approved", orderId=ORDER, correlation_id=ORDER, status="PAID", cold_start=True)
    assert logs.pretty(ms, text) == (
        f"10:01:02.345 INFO    [payment] charge approved  orderId={ORDER} correlation_id={ORDER} status=PAID"
    )
    failed = line("task failed", exception="Traceback ...\nValueError: x")
    assert logs.pretty(ms, failed).splitlines()[1] == "    Traceback ..."
    assert (
        logs.pretty(ms, "START RequestId: r-1 Version: $LATEST\n")
        == "10:01:02.345 START RequestId: r-1 Version: $LATEST"
    )


def test_only_structured_lines_of_the_order_are_about_it():
    assert logs.about_order(line("x", correlation_id=ORDER), ORDER)
    assert logs.about_order(line("x", orderId=ORDER), ORDER)
    assert not logs.about_order(line("x", orderId="other", note=ORDER), ORDER)
    assert not logs.about_order(f"plain text naming {ORDER}", ORDER)


@pytest.fixture
def group(cloud):
    client = boto3.client("logs")
    name = "/aws/lambda/orderflow-test-payment"
    client.create_log_group(logGroupName=name)
    client.create_log_stream(logGroupName=name, logStreamName="s1")
    yield client, name
    client.delete_log_group(logGroupName=name)


def put(client, name, *messages, at=NOW):
    base = int(at.timestamp() * 1000)
    client.put_log_events(
        logGroupName=name,
        logStreamName="s1",
        logEvents=[{"timestamp": base + i, "message": m} for i, m in enumerate(messages)],
    )


def test_events_keep_the_orders_lines_from_since_on(group):
    client, name = group
    put(client, name, line("old", orderId=ORDER), at=datetime(2026, 12, 6, 11, 0, tzinfo=UTC))
    put(
        client,
        name,
        line("mine", orderId=ORDER),
        line("other", orderId="o-2"),
        "START RequestId: r-1",
        line("me too", correlation_id=ORDER),
    )
    found = [
        json.loads(e["message"])["message"]
        for e in logs.events(client, name, datetime(2026, 12, 6, 11, 30, tzinfo=UTC), ORDER)
    ]
    assert found == ["mine", "me too"]
    everything = [e["message"] for e in logs.events(client, name, datetime(2026, 12, 6, 11, 30, tzinfo=UTC), None)]
    assert len(everything) == 4


def test_print_lines_prints_each_event_once(group):
    client, name = group
    put(client, name, line("a"), line("b"))
    printed, seen = [], set()
    start = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
    assert logs.print_lines(logs.events(client, name, start, None), seen, printed.append) == 2
    assert logs.print_lines(logs.events(client, name, start, None), seen, printed.append) == 0
    assert [p.split("] ", 1)[1] for p in printed] == ["a", "b"]


def test_every_page_is_read():
    class Paged:
        def __init__(self):
            self.calls = []

        def filter_log_events(self, **kwargs):
            self.calls.append(kwargs)
            if "nextToken" not in kwargs:
                return {"events": [{"timestamp": 1, "message": "p1"}], "nextToken": "t"}
            return {"events": [{"timestamp": 2, "message": "p2"}]}

    client = Paged()
    assert [e["message"] for e in logs.events(client, "g", NOW, None)] == ["p1", "p2"]
    assert client.calls[1]["nextToken"] == "t" and client.calls[0]["startTime"] == int(NOW.timestamp() * 1000)


def test_the_order_filter_is_passed_to_the_service_as_a_term():
    class Recorder:
        kwargs = None

        def filter_log_events(self, **kwargs):
            Recorder.kwargs = kwargs
            return {"events": []}

    list(logs.events(Recorder(), "g", NOW, ORDER))
    assert Recorder.kwargs["filterPattern"] == f'"{ORDER}"'


def test_a_workflows_log_group_is_read_from_its_logging_configuration():
    class Sfn:
        def __init__(self, destinations):
            self.destinations = destinations

        def describe_state_machine(self, stateMachineArn):
            return {"loggingConfiguration": {"level": "ALL", "destinations": self.destinations}}

    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/states/orderflow-dev-order-processing:*"
    assert (
        logs.log_group_of_workflow(Sfn([{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}]), "sm")
        == "/aws/vendedlogs/states/orderflow-dev-order-processing"
    )
    assert logs.log_group_of_workflow(Sfn([]), "sm") is None
