"""Each Lambda's policy (built from terraform/service_permissions.json) against what its code calls.

The simulation records every AWS call the services make across seeded schedules (every actor, every fault kind), as
IAM actions on symbolic resources (tests/simulation/permissions.py): at least SCHEDULES of them, then more (up to
MAX_SCHEDULES) until every event a service may put has been put and every grant that must be observed was used,
since some paths are rare in random schedules (an Inventory Released needs a compensation after a reservation: first
at schedule 477 of seed 4242 on 2026-12-07, once CompleteOrder became one atomic transaction -- a cancel can land
only between the reservation and that one step -- where it was schedule 136 while a Lambda read before it wrote). A call the table
does not grant fails here (AccessDenied on AWS, invisible on the emulator, which enforces no IAM); a grant no code
path uses fails too, unless its statement says why it cannot be observed in process (`unobserved`), and an
`unobserved` reason on a grant that is observed after all is stale and fails.
Each workflow's state machine role is checked the same way against workflow/integrations.json: the table actions and
the events of its tasks that call an AWS API themselves (DynamoDB integrations, the transaction, PutEvents).
"""

from __future__ import annotations

import pytest

from tests.simulation import engine, invariants
from tests.simulation.cloud import HANDLERS, PREFIX, SimCloud
from tests.simulation.permissions import (
    Call,
    Event,
    Recorder,
    declared,
    declared_events,
    declared_workflows,
    grants,
    iam_requirements,
    workflow_table_grants,
)
from tests.simulation.runner import schedule_seed

SCHEDULES = 60
MAX_SCHEDULES = 800
SEED = 4242
SERVICES = tuple(HANDLERS)


@pytest.fixture(scope="module")
def observed(sim_cloud: SimCloud) -> set[Call]:
    sim_cloud.calls.calls.clear()
    sim_cloud.calls.events.clear()
    sim_cloud.calls.contract_violations.clear()
    sim_cloud.calls.tasks.clear()
    sim_cloud.calls.task_violations.clear()
    sim_cloud.calls.enabled = True
    table = declared()
    events_granted = {
        (service, *event) for service in SERVICES for event in declared_events(table.get(service, []))
    } | {
        (workflow, *event)
        for workflow, integration in declared_workflows().items()
        for event in declared_events([integration])
    }
    tables_granted = {
        (workflow, *pair)
        for workflow, integration in declared_workflows().items()
        for pair in workflow_table_grants(integration)
    } | {  # and every service grant that says it can be observed (a release's UpdateItem, e.g., is rare too)
        (service, *pair)
        for service, statements in table.items()
        for statement in statements
        if "unobserved" not in statement
        for pair in grants([statement])
    }
    ran = 0
    try:
        while ran < SCHEDULES or (
            ran < MAX_SCHEDULES
            and not (events_granted <= sim_cloud.calls.events and tables_granted <= sim_cloud.calls.calls)
        ):
            outcome = engine.run_schedule(sim_cloud, schedule_seed(SEED, ran), invariants.check)
            assert not outcome.violations, outcome.violations
            ran += 1
    finally:
        sim_cloud.calls.enabled = False
    print(
        f"permissions: {len(sim_cloud.calls.calls)} (service, action, resource) triples observed in "
        f"{ran} schedules, seed {SEED}"
    )
    return set(sim_cloud.calls.calls)


def test_every_call_the_code_makes_is_granted(observed: set[Call]) -> None:
    table = declared()
    missing = sorted(
        (service, action, resource)
        for service, action, resource in observed
        if service in SERVICES and (action, resource) not in grants(table.get(service, []))
    )
    assert not missing, f"calls without a grant in terraform/service_permissions.json: {missing}"


def test_every_grant_is_used_or_says_why_it_cannot_be_observed(observed: set[Call]) -> None:
    unused, stale = [], []
    for service, statements in declared().items():
        used = {(action, resource) for svc, action, resource in observed if svc == service}
        for statement in statements:
            pairs = grants([statement])
            if "unobserved" not in statement:
                unused += [(service, statement["sid"], pair) for pair in sorted(pairs - used)]
            elif pairs <= used:
                stale.append((service, statement["sid"]))
    assert not unused, f"granted but never called (remove it, or say in `unobserved` why): {unused}"
    assert not stale, f"`unobserved` on statements whose every grant is observed: {stale}"


@pytest.fixture(scope="module")
def observed_events(observed: set[Call], sim_cloud: SimCloud) -> set[Event]:
    print(f"permissions: {len(sim_cloud.calls.events)} (service, source, detail-type) triples put on the bus")
    return set(sim_cloud.calls.events)


def test_every_event_a_service_puts_is_its_own(observed_events: set[Event]) -> None:
    """The `events` of a PutEvents statement become its events:source / events:detail-type condition on AWS: an
    event the code puts that is not listed there is refused (NotAuthorizedForSourceException), and a listed one
    no code puts is a grant too many (e.g. a service allowed to forge an operator's source)."""
    table = declared()
    for service in SERVICES:
        put = {(source, detail_type) for svc, source, detail_type in observed_events if svc == service}
        assert put == declared_events(table.get(service, [])), (
            f"{service}: events put {sorted(put)} != the `events` of its PutEvents statements in "
            f"terraform/service_permissions.json {sorted(declared_events(table.get(service, [])))}"
        )


def test_every_event_a_service_puts_conforms_to_its_contract(observed_events: set[Event], sim_cloud: SimCloud) -> None:
    """Every entry of every PutEvents in the schedules, validated against shared/schemas/events/<name>.json."""
    assert len(observed_events) >= 9  # the nine service events were put (and so checked)
    assert sim_cloud.calls.contract_violations == []


def test_every_task_request_and_answer_conforms_to_its_contract(observed: set[Call], sim_cloud: SimCloud) -> None:
    """Every workflow action the schedules invoked: the request the workflow sent and the handler's answer, validated
    against shared/schemas/tasks/<service>.<action>.json (an invalid request would also fail in the handler, and the
    workflow's Catch could hide it: recorded here)."""
    from shared import contracts

    assert sim_cloud.calls.tasks == {(c.service, c.action) for c in contracts.TASKS.values()}
    assert sim_cloud.calls.task_violations == []


def test_the_recorder_reports_a_request_or_an_answer_that_breaks_its_contract() -> None:
    recorder = Recorder(P)
    recorder.task("payment", {"action": "charge", "order": {"orderId": "o1", "customerId": "c1"}}, {"status": "PAID"})
    assert recorder.task_violations == []  # off: only a test that turns it on records
    recorder.enabled = True
    recorder.task("payment", {"action": "charge", "order": {"orderId": "o1"}}, answered=False)
    recorder.task("inventory", {"action": "release", "order": {"orderId": "o1", "customerId": "c1"}}, {"status": "X"})
    recorder.task(
        "inventory", {"action": "release", "order": {"orderId": "o1", "customerId": "c1"}}, {"status": "RELEASED"}
    )
    restocked = {
        "source": "inventory.admin",
        "detail-type": "Inventory Restocked",
        "detail": {},
    }  # the event's contract
    recorder.task("inventory", restocked, {"status": "RESTOCKED", "available": "7"})
    recorder.task("shipping", {"action": "ship"}, {})
    assert recorder.task_violations == [
        "payment: payment.charge request: data.order must contain ['customerId'] properties",
        "inventory: inventory.release result: data.status must be one of ['RELEASED', 'NOT_RESERVED', 'NOT_COMPENSABLE']",
        "inventory: inventory.restock result: data.available must be integer",
    ]
    assert recorder.tasks == {("payment", "charge"), ("inventory", "release"), ("inventory", "restock")}


def test_no_service_may_put_an_operator_or_scheduler_source() -> None:
    sources = {source for statements in declared().values() for source, _ in declared_events(statements)}
    assert sources == {"order.service", "payment.service", "inventory.service"}


def test_every_service_is_observed(observed: set[Call]) -> None:
    assert {service for service, _, _ in observed if service in SERVICES} == {
        "order",
        "payment",
        "inventory",
        "notification",
    }


def test_each_workflow_does_exactly_the_table_actions_its_role_is_granted(observed: set[Call]) -> None:
    """A workflow's DynamoDB integrations and the items of its transactions (each by its own IAM action on its own
    table) against its `tables` in workflow/integrations.json, which terraform/main.tf grants its role: an action
    not declared is AccessDenied on AWS (invisible on the emulator), a declared one never done is a grant too many."""
    workflows = declared_workflows()
    assert {p for p, action, _ in observed if p not in SERVICES and action.startswith("dynamodb:")} <= set(workflows)
    for workflow, integration in workflows.items():
        done = {
            (action, resource) for p, action, resource in observed if p == workflow and action.startswith("dynamodb:")
        }
        assert done == workflow_table_grants(integration), (
            f"{workflow}: table actions done {sorted(done)} != its `tables` in workflow/integrations.json "
            f"{sorted(workflow_table_grants(integration))}"
        )


def test_each_workflow_puts_exactly_the_events_its_role_is_granted(observed_events: set[Event]) -> None:
    """A workflow's PutEvents tasks against its `events` in workflow/integrations.json (contract names, the
    events:source / events:detail-type its role may put)."""
    workflows = declared_workflows()
    if not any("events" in integration for integration in workflows.values()):
        pytest.skip("workflow/integrations.json declares no workflow `events` yet: no workflow's role may put events")
    assert {p for p, _, _ in observed_events if p not in SERVICES} <= set(workflows)
    for workflow, integration in workflows.items():
        put = {(source, detail_type) for p, source, detail_type in observed_events if p == workflow}
        assert put == declared_events([integration]), (
            f"{workflow}: events put {sorted(put)} != its `events` in workflow/integrations.json "
            f"{sorted(declared_events([integration]))}"
        )


# --- the mapping from API calls to IAM actions (literal expectations from the Service Authorization Reference) ---
P = f"{PREFIX}-"


def test_a_transaction_needs_each_items_action_on_its_table() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": f"{P}outbox", "Item": {}}},
            {"Update": {"TableName": f"{P}orders", "Key": {}}},
            {"Delete": {"TableName": f"{P}outbox", "Key": {}}},
            {"ConditionCheck": {"TableName": f"{P}inventory", "Key": {}}},
        ]
    }
    assert iam_requirements("dynamodb", "TransactWriteItems", params, P) == [
        ("dynamodb:PutItem", "table/outbox"),
        ("dynamodb:UpdateItem", "table/orders"),
        ("dynamodb:DeleteItem", "table/outbox"),
        ("dynamodb:ConditionCheckItem", "table/inventory"),
    ]


def test_batches_index_queries_and_s3_reads_map_to_their_iam_actions() -> None:
    assert iam_requirements("dynamodb", "BatchGetItem", {"RequestItems": {f"{P}inventory": {}}}, P) == [
        ("dynamodb:BatchGetItem", "table/inventory")
    ]
    assert iam_requirements("dynamodb", "Query", {"TableName": f"{P}orders", "IndexName": "Live-Index"}, P) == [
        ("dynamodb:Query", "table/orders/index/*")
    ]
    assert iam_requirements("dynamodb", "Query", {"TableName": f"{P}orders"}, P) == [("dynamodb:Query", "table/orders")]
    assert iam_requirements("s3", "HeadObject", {"Bucket": "b", "Key": "k"}, P) == [
        ("s3:GetObject", "bucket/*"),
        ("s3:ListBucket", "bucket"),
    ]
    assert iam_requirements("events", "PutEvents", {"Entries": []}, P) == [("events:PutEvents", "bus")]


def test_an_unmapped_call_or_a_foreign_table_fails_loudly() -> None:
    with pytest.raises(ValueError, match="outside the stack"):
        iam_requirements("dynamodb", "GetItem", {"TableName": "someone-elses"}, P)
    with pytest.raises(ValueError, match="unmapped S3 operation"):
        iam_requirements("s3", "DeleteObject", {}, P)
    with pytest.raises(ValueError, match="unmapped AWS API"):
        iam_requirements("sqs", "SendMessage", {}, P)
