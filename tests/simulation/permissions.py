"""What each service's code calls on AWS, as (service, IAM action, symbolic resource), recorded from its boto3 calls.

terraform/service_permissions.json declares the same pairs (it builds the Lambda policies); test_permissions.py
compares the two. The symbols are that file's: table/<name>, table/<name>/index/*, bus, bucket, bucket/*.
A workflow's state machine role is a principal too (named as the workflow): the calls of its tasks that call an AWS
API themselves (cloud.integration_task) are recorded the same way, against workflow/integrations.json.
IAM authorises some API calls as other actions (AWS Service Authorization Reference):
- TransactWriteItems: each item by its own action on its own table (Put -> PutItem, Update -> UpdateItem,
  Delete -> DeleteItem, ConditionCheck -> ConditionCheckItem); TransactGetItems: GetItem per item;
- BatchGetItem / BatchWriteItem: that action on every table named;
- Query / Scan with IndexName: the action on table/<name>/index/*;
- S3 HeadObject: s3:GetObject on the object, and a missing key answers 404 (not 403) only with s3:ListBucket on the
  bucket; ListObjectsV2: s3:ListBucket.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DECLARED_FILE = REPO_ROOT / "terraform" / "service_permissions.json"

Call = tuple[str, str, str]  # (principal: a service or a workflow, IAM action, resource symbol)
Event = tuple[str, str, str]  # (principal, source, detail-type) of one PutEvents entry

_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_S3_ACTIONS = {
    "PutObject": [("s3:PutObject", "bucket/*")],
    "GetObject": [("s3:GetObject", "bucket/*")],
    "HeadObject": [("s3:GetObject", "bucket/*"), ("s3:ListBucket", "bucket")],
    "ListObjectsV2": [("s3:ListBucket", "bucket")],
}


def declared() -> dict[str, list[dict[str, Any]]]:
    return json.loads(DECLARED_FILE.read_text(encoding="utf-8"))["services"]


def declared_events(statements: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    """The (source, detail-type) pairs a service's statements (or a workflow's integrations) allow it to put (their
    `events`: contract names)."""
    from shared.contracts import EVENTS

    return {(EVENTS[name].source, EVENTS[name].detail_type) for s in statements for name in s.get("events", [])}


def declared_workflows() -> dict[str, dict[str, Any]]:
    """workflow/integrations.json's `workflows`: what each state machine's role is granted."""
    from scripts import render

    return json.loads(render.INTEGRATIONS_PATH.read_text(encoding="utf-8"))["workflows"]


def workflow_table_grants(integration: dict[str, Any]) -> set[tuple[str, str]]:
    """A workflow's `tables` ({"orders": ["UpdateItem"]}) as the (IAM action, resource symbol) pairs recorded."""
    return {
        (f"dynamodb:{action}", f"table/{table}")
        for table, actions in integration.get("tables", {}).items()
        for action in actions
    }


def grants(statements: Iterable[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(action, resource) for s in statements for action in s["actions"] for resource in s["resources"]}


def iam_requirements(api: str, operation: str, params: dict[str, Any], table_prefix: str) -> list[tuple[str, str]]:
    """The (IAM action, resource symbol) pairs one API call needs; raise on an operation this table cannot map."""

    def table(name: str) -> str:
        if not name.startswith(table_prefix):
            raise ValueError(f"{operation} names table {name!r} outside the stack ({table_prefix}*)")
        return "table/" + name[len(table_prefix) :]

    if api == "dynamodb":
        if operation == "TransactWriteItems":
            return [
                (f"dynamodb:{_TRANSACT_ITEM_ACTIONS[kind]}", table(body["TableName"]))
                for item in params["TransactItems"]
                for kind, body in item.items()
            ]
        if operation == "TransactGetItems":
            return [("dynamodb:GetItem", table(item["Get"]["TableName"])) for item in params["TransactItems"]]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", table(name)) for name in params["RequestItems"]]
        resource = table(params["TableName"])
        if params.get("IndexName"):
            resource += "/index/*"
        return [(f"dynamodb:{operation}", resource)]
    if api == "events":
        if operation != "PutEvents":
            raise ValueError(f"unmapped EventBridge operation {operation}")
        return [("events:PutEvents", "bus")]
    if api == "s3":
        if operation not in _S3_ACTIONS:
            raise ValueError(f"unmapped S3 operation {operation}")
        return _S3_ACTIONS[operation]
    raise ValueError(f"unmapped AWS API {api}")


class Recorder:
    """A botocore `before-parameter-build` hook (it sees the API parameters, before any fault or short-circuit)
    that records, per principal, what each call needs; the running principal is set by the simulated Lambda runtime
    (a service) or by the cloud running a workflow's integration task (a workflow)."""

    def __init__(self, table_prefix: str) -> None:
        self.table_prefix = table_prefix
        self.calls: set[Call] = set()
        #: what each PutEvents entry put: IAM authorises every entry by events:source and events:detail-type
        self.events: set[Event] = set()
        #: what was wrong with an event put, against its contract (shared/schemas/events)
        self.contract_violations: list[str] = []
        #: the workflow actions invoked, as (service, action), and what was wrong with a request or an answer against
        #: its task contract (shared/schemas/tasks)
        self.tasks: set[tuple[str, str]] = set()
        self.task_violations: list[str] = []
        self.enabled = False
        self._service = threading.local()

    def running(self, service: str | None) -> None:
        self._service.name = service

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        service = getattr(self._service, "name", None)
        if not self.enabled or service is None:
            return  # setup and the invariants' reads are not a service's calls
        api = model.service_model.endpoint_prefix
        for action, resource in iam_requirements(api, model.name, params, self.table_prefix):
            self.calls.add((service, action, resource))
        if api == "events" and model.name == "PutEvents":
            from shared.contracts import violations

            for entry in params.get("Entries", []):
                self.events.add((service, entry.get("Source"), entry.get("DetailType")))
                self.contract_violations += [
                    f"{service}: {problem}"
                    for problem in violations(
                        entry.get("Source"), entry.get("DetailType"), json.loads(entry.get("Detail") or "null")
                    )
                ]

    def task(self, service: str, payload: Any, result: Any = None, *, answered: bool = True) -> None:
        """Check one invocation of a workflow action: its request (unless it is a whole event, whose contract is the
        event's) and, when the handler answered, its answer."""
        if not self.enabled:
            return
        from shared import contracts

        contract = contracts.task_for(service, payload)
        if contract is None:
            return
        self.tasks.add((service, contract.action))
        problems = []
        if payload.get("action") == contract.action:
            problems += contracts.task_violations(contract.name, contracts.REQUEST, payload)
        if answered:
            problems += contracts.task_violations(contract.name, contracts.RESULT, result)
        self.task_violations += [f"{service}: {problem}" for problem in problems]
