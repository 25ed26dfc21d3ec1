"""The contracts between the parts, one JSON Schema (draft 4) file each:

- events, `schemas/events/<Name>.json`: the one definition of each event's source (`x-amazon-events-source`),
  detail-type (`x-amazon-events-detail-type`), version and detail shape. Terraform reads the same files (the schema
  registry, every rule's pattern, who may put what), the services take their source and detail-type constants from
  here (shared.events), and the tests validate every event put on the bus against its schema.
- workflow tasks, `schemas/tasks/<service>.<action>.json`: the payload a workflow sends a Lambda for one action
  (`definitions/Request`) and what the Lambda answers (`definitions/Result`). The handlers validate every action
  request at the boundary (`task_request`: a malformed one fails with InvalidTaskInput, not retried, before anything
  is read or written); the tests validate every answer (unit tests, the simulation, the workflow harness).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import InvalidTaskInput, UnsupportedEvent

SCHEMA_ROOT = Path(__file__).resolve().parent / "schemas"
SCHEMA_DIR = SCHEMA_ROOT / "events"
TASK_SCHEMA_DIR = SCHEMA_ROOT / "tasks"


@dataclass(frozen=True)
class EventContract:
    name: str  #: the schema's file name and title, e.g. OrderCreated
    source: str
    detail_type: str
    version: int
    schema: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class TaskContract:
    name: str  #: the schema's file name and title, `<service>.<action>`, e.g. payment.charge
    service: str
    action: str
    #: the event contract whose event the service also takes for this action, whole (`x-orderflow-event`)
    event: str | None
    schema: dict[str, Any] = field(repr=False, compare=False)


@functools.cache
def tables() -> dict[str, dict[str, Any]]:
    """The tables' keys, indexes and TTL (schemas/tables.json): Terraform creates the tables from the same file."""
    return json.loads((SCHEMA_ROOT / "tables.json").read_text(encoding="utf-8"))


def index_on(table: str, hash_key: str) -> str:
    """The name of `table`'s global secondary index whose hash key is `hash_key` (KeyError when none is)."""
    names = [
        name for name, index in tables()[table]["global_secondary_indexes"].items() if index["hash_key"] == hash_key
    ]
    if len(names) != 1:
        raise KeyError(f"{table} has {len(names)} indexes on {hash_key}, not one")
    return names[0]


def _schemas(directory: Path) -> dict[str, dict[str, Any]]:
    """Every schema file of `directory`, by file name without `.json`."""
    # JSON is UTF-8 (json.loads detects it): no locale involved
    return {path.stem: json.loads(path.read_bytes()) for path in sorted(directory.glob("*.json"))}


def load(directory: Path = SCHEMA_DIR) -> dict[str, EventContract]:
    """Every event contract of `directory`, by name."""
    return {
        name: EventContract(
            name,
            schema["x-amazon-events-source"],
            schema["x-amazon-events-detail-type"],
            schema["x-orderflow-version"],
            schema,
        )
        for name, schema in _schemas(directory).items()
    }


def load_tasks(directory: Path = TASK_SCHEMA_DIR) -> dict[str, TaskContract]:
    """Every task contract of `directory`, by name."""
    return {
        name: TaskContract(
            name, schema["x-orderflow-service"], schema["x-orderflow-action"], schema.get("x-orderflow-event"), schema
        )
        for name, schema in _schemas(directory).items()
    }


EVENTS: dict[str, EventContract] = load()
TASKS: dict[str, TaskContract] = load_tasks()
#: the two parts of a task contract (its schema's definitions)
REQUEST, RESULT = "Request", "Result"


def for_event(source: str, detail_type: str) -> EventContract | None:
    """The contract of an event with this source and detail-type, None when there is none."""
    return next((c for c in EVENTS.values() if c.source == source and c.detail_type == detail_type), None)


@functools.cache
def _validator(name: str, part: str | None = None) -> Callable[[Any], Any]:
    """The compiled schema of event `name`, or of `part` of task `name`: compiled once per process, on first use
    (a Lambda compiles only the requests of the actions it serves)."""
    import fastjsonschema

    if part is None:
        return fastjsonschema.compile(EVENTS[name].schema)
    return fastjsonschema.compile({**TASKS[name].schema, "$ref": f"#/definitions/{part}"})


def prepare(service: str) -> list[str]:
    """Compile the request contract of every action `service` serves, as each action's first request would: a
    warm-up request (shared.warmup) does it, so that no real request pays for it. Returns the task names."""
    names = sorted(c.name for c in TASKS.values() if c.service == service)
    for name in names:
        _validator(name, REQUEST)
    return names


def violations(source: str, detail_type: str, detail: Any) -> list[str]:
    """What is wrong with an event against its contract: [] when it conforms."""
    contract = for_event(source, detail_type)
    if contract is None:
        return [f"no contract for source {source!r} / detail-type {detail_type!r}"]
    import fastjsonschema

    try:
        _validator(contract.name)({"source": source, "detail-type": detail_type, "detail": detail})
    except fastjsonschema.JsonSchemaValueException as exc:
        return [f"{contract.name} v{contract.version}: {exc.message}"]
    return []


def sources(names: list[str]) -> dict[str, list[str]]:
    """source -> detail-types of the named contracts, each list in the names' order: what a PutEvents grant of those
    events allows (terraform/service_permissions.json names events; IAM conditions on source and detail-type)."""
    grouped: dict[str, list[str]] = {}
    for name in names:
        grouped.setdefault(EVENTS[name].source, []).append(EVENTS[name].detail_type)
    return grouped


def actions(service: str) -> list[str]:
    """The workflow actions `service` serves, sorted."""
    return sorted(c.action for c in TASKS.values() if c.service == service)


def task_for(service: str, payload: Any) -> TaskContract | None:
    """The task contract of a payload sent to `service`: by its `action`, or for a whole event, the action that takes
    it (`x-orderflow-event`); None when there is none."""
    if not isinstance(payload, dict):
        return None
    action = payload.get("action")
    for contract in TASKS.values():
        if contract.service == service and (
            contract.action == action
            or (
                action is None
                and contract.event is not None
                and (payload.get("source"), payload.get("detail-type"))
                == (EVENTS[contract.event].source, EVENTS[contract.event].detail_type)
            )
        ):
            return contract
    return None


def task_violations(name: str, part: str, payload: Any) -> list[str]:
    """What is wrong with a request or result (`part`: REQUEST / RESULT) of task `name`: [] when it conforms."""
    import fastjsonschema

    try:
        _validator(name, part)(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        return [f"{name} {part.lower()}: {exc.message}"]
    return []


def task_request(service: str, event: Any) -> str:
    """The action of a workflow task request to `service`, validated against its contract at the handler's boundary.

    An event that is no action of the service's: UnsupportedEvent; a request that breaks the action's contract:
    InvalidTaskInput naming what is wrong. Both are errors the workflows do not retry, raised before any effect."""
    action = event.get("action") if isinstance(event, dict) else None
    if not isinstance(action, str) or f"{service}.{action}" not in TASKS:
        raise UnsupportedEvent(f"unsupported {service} action {action!r}")
    problems = task_violations(f"{service}.{action}", REQUEST, event)
    if problems:
        raise InvalidTaskInput(problems[0])
    return action
