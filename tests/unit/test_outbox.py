"""shared.outbox: entry shapes, publish (put then delete), settle, due."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shared import aws as shared_aws
from shared import events, outbox
from shared.errors import EventPublishError

from .conftest import ENV
from .helpers import outbox_items, put_outbox

AT = "2024-01-01T00:00:00.000Z"


def event_entry(order_id, detail_type="Order Created", at=AT):
    detail = {"eventId": f"evt-{order_id}-{detail_type}", "orderId": order_id, "amount": Decimal("19.99")}
    return outbox.event_entry(order_id, "customer-1", "order.service", detail_type, detail, at)


def test_entry_shapes():
    entry = event_entry("o1")
    assert entry == {
        "id": "evt-o1-Order Created",
        "kind": "event",
        "orderId": "o1",
        "customerId": "customer-1",
        "source": "order.service",
        "detailType": "Order Created",
        "detail": '{"eventId":"evt-o1-Order Created","orderId":"o1","amount":19.99}',
        "createdAt": AT,
    }
    assert outbox.finalize_entry("o1", "customer-1", "CANCELLED", AT) == {
        "id": "o1#finalize",
        "kind": "finalize",
        "orderId": "o1",
        "customerId": "customer-1",
        "status": "CANCELLED",
        "createdAt": AT,
    }
    assert outbox.finalize_id("o1") == "o1#finalize"
    action = outbox.put_action(outbox.finalize_entry("o1", "c", "FAILED", AT))
    assert action["Put"]["TableName"] == ENV["OUTBOX_TABLE"]
    assert action["Put"]["Item"]["id"] == {"S": "o1#finalize"}
    assert "ConditionExpression" not in action["Put"]  # a retried writer re-records the same duty


def test_publish_puts_each_event_then_deletes_it(cloud):
    first, second = put_outbox(event_entry("o1")), put_outbox(event_entry("o2", "Order Completed"))
    duty = put_outbox(outbox.finalize_entry("o1", "customer-1", "CANCELLED", AT))

    assert outbox.publish([first, duty, second]) == 2

    published = cloud.events()
    assert [(e["source"], e["detail-type"]) for e in published] == [
        ("order.service", "Order Created"),
        ("order.service", "Order Completed"),
    ]
    assert published[0]["detail"] == {"eventId": "evt-o1-Order Created", "orderId": "o1", "amount": 19.99}
    assert outbox_items() == [duty]  # a finalize duty is never published or deleted by publish


def test_publish_accepts_a_detail_that_is_already_a_dict(cloud):
    entry = dict(event_entry("o1"), detail={"eventId": "e-dict", "orderId": "o1"})
    put_outbox(entry)
    assert outbox.publish([entry]) == 1
    assert cloud.events()[0]["detail"] == {"eventId": "e-dict", "orderId": "o1"}
    assert outbox_items() == []


def test_publish_stops_at_the_first_failure_and_keeps_the_rest(cloud, monkeypatch):
    entries = [put_outbox(event_entry(f"o{i}")) for i in range(3)]
    real = events.publish
    calls = []

    def second_fails(source, detail_type, detail):
        calls.append(detail["eventId"])
        if len(calls) == 2:
            raise EventPublishError("bus down")
        return real(source, detail_type, detail)

    monkeypatch.setattr(events, "publish", second_fails)
    with pytest.raises(EventPublishError):
        outbox.publish(entries)
    assert calls == ["evt-o0-Order Created", "evt-o1-Order Created"]
    assert [e["id"] for e in outbox_items()] == ["evt-o1-Order Created", "evt-o2-Order Created"]
    assert len(cloud.events()) == 1


def test_the_finalize_duty_id_is_the_order_id_and_finalize(cloud):
    """finalize_id is the one definition of the key the workflows' Settle deletes (rendered from it, tests/workflow)."""
    assert outbox.finalize_id("o1") == "o1#finalize"
    assert put_outbox(outbox.finalize_entry("o1", "customer-1", "EXPIRED", AT))["id"] == "o1#finalize"


def test_due_returns_old_entries_oldest_first_up_to_the_limit(cloud):
    fresh = put_outbox(event_entry("fresh", at="2024-06-01T00:00:00.000Z"))
    b = put_outbox(outbox.finalize_entry("b", "c", "FAILED", "2024-01-02T00:00:00.000Z"))
    a2 = put_outbox(event_entry("a2", at="2024-01-01T00:00:00.000Z"))
    a1 = put_outbox(outbox.finalize_entry("a1", "c", "FAILED", "2024-01-01T00:00:00.000Z"))
    c = put_outbox(event_entry("c", at="2024-01-03T00:00:00.000Z"))

    assert outbox.due("2024-05-01T00:00:00.000Z", 100) == [a1, a2, b, c]  # ties broken by id
    assert outbox.due("2024-05-01T00:00:00.000Z", 2) == [a1, a2]
    assert outbox.due("2024-01-01T00:00:00.000Z", 100) == []  # strictly older
    assert fresh in outbox.due("2025-01-01T00:00:00.000Z", 100)


def test_due_reads_every_scan_page(cloud, monkeypatch):
    made = [
        put_outbox(outbox.finalize_entry(f"o{i}", "c", "FAILED", f"2024-01-0{i + 1}T00:00:00.000Z")) for i in range(5)
    ]
    real = shared_aws.table(ENV["OUTBOX_TABLE"])
    scans = []

    class SmallPages:
        def scan(self, **kwargs):
            scans.append(kwargs)
            return real.scan(**kwargs, Limit=2)

    monkeypatch.setattr(outbox, "_table", lambda: SmallPages())
    assert outbox.due("2025-01-01T00:00:00.000Z", 100) == made
    assert len(scans) == 3 and all(s["ConsistentRead"] for s in scans)


def test_event_entry_detail_roundtrips():
    entry = event_entry("o1")
    assert json.loads(entry["detail"])["amount"] == 19.99
