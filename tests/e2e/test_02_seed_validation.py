"""The seed recipe's "Validation & Testing" section, reproduced against the deployed stack.

1. describe_event_bus shows the custom bus;  2. list_executions lists the executions;  3. the orders table holds the
orders with their status updates;  4. the Lambda log groups exist (`aws logs tail /aws/lambda/<fn>`);
5. three more orders (customer-1..3, prod-001 x1) submitted like the recipe does, by invoking the order Lambda
directly, complete. The recipe priced them at 99.99; the server prices orders from the catalogue now and answers a
different price with 409, so the payload keeps the recipe's shape but names the catalogue price
(scripts/seed.py catalogue_price: 29.99), and the stored order carries it.
"""

from __future__ import annotations

from decimal import Decimal

from e2e_support import Submitted

from scripts.order_timeline import HAPPY_PATH, history_statuses
from scripts.seed import catalogue_price
from scripts.timeutil import utcnow


def test_seed_validation(stack, scenario):
    fns = stack.outputs["function_names"]
    # 5. (first, so that 2-4 have something to show) three orders through a direct invoke of the order Lambda
    subs = []
    price = float(catalogue_price("prod-001"))
    for i in (1, 2, 3):
        payload = {
            "customerId": f"customer-{i}",
            "items": [{"productId": "prod-001", "quantity": 1, "price": price}],
            "totalAmount": price,
        }
        result = stack.invoke("order", payload)
        assert result.get("orderId") and result.get("status") == "PENDING", result
        subs.append(
            Submitted(result["orderId"], payload["customerId"], payload, utcnow(), 201, f"direct invoke customer-{i}")
        )
    scenario.track(*subs)
    final = stack.wait_terminal(scenario, subs)
    for sub in subs:
        assert final[sub.order_id]["status"] == "COMPLETED", final[sub.order_id]
        assert history_statuses(final[sub.order_id]) == list(HAPPY_PATH)

    # 1. the custom bus
    bus = stack.events.describe_event_bus(Name=stack.outputs["event_bus_name"])
    assert bus["Name"] == stack.outputs["event_bus_name"] and bus["Arn"] == stack.outputs["event_bus_arn"], bus

    # 2. list_executions shows these orders' executions, SUCCEEDED
    # (through scripts/history.ExecutionReader: ListExecutions, or an EXPRESS workflow's execution logs on AWS)
    listed = list(stack.executions_reader.list_executions(stack.outputs["state_machine_arn"]))[:100]
    assert listed and all({"executionArn", "status", "startDate"} <= set(e) for e in listed)
    for sub in subs:
        [execution] = stack.wait_executions(sub.order_id)
        assert execution["status"] == "SUCCEEDED"

    # 3. the orders table: the recipe scans with --limit 10; every item has a status and its history
    scanned = stack.ddb.scan(TableName=stack.outputs["orders_table_name"], Limit=10)["Items"]
    assert scanned and all("status" in i and "statusHistory" in i for i in scanned)
    for sub in subs:
        record = stack.order(sub.order_id, sub.customer_id)
        assert record["status"] == "COMPLETED" and len(record["statusHistory"]) == 4
        assert record["totalAmount"] == Decimal("29.99") and record["items"][0]["price"] == Decimal("29.99")

    # 4. the functions' log groups, and the order service's recent log events (what `aws logs tail` shows)
    logs = stack.client("logs")
    for service, name in sorted(fns.items()):
        groups = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
        assert any(g["logGroupName"] == f"/aws/lambda/{name}" for g in groups), f"/aws/lambda/{name} missing: {groups}"
    streams = logs.describe_log_streams(
        logGroupName=f"/aws/lambda/{fns['order']}", orderBy="LastEventTime", descending=True, limit=5
    )["logStreams"]
    scenario.note(f"/aws/lambda/{fns['order']}: {len(streams)} recent log stream(s); all 4 function log groups exist")
    assert streams, f"no log streams in /aws/lambda/{fns['order']}"
