"""The event contracts: one JSON Schema (draft 4) per event in `schemas/events/<Name>.json`, the one definition of
each event's source (`x-amazon-events-source`), detail-type (`x-amazon-events-detail-type`), version and detail
shape. Terraform reads the same files (the schema registry, every rule's pattern, who may put what), the services
take their source and detail-type constants from here (shared.events), and the tests validate every event put on
the bus against its schema."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "events"


@dataclass(frozen=True)
class EventContract:
    name: str  #: the schema's file name and title, e.g. OrderCreated
    source: str
    detail_type: str
    version: int
    schema: dict[str, Any] = field(repr=False, compare=False)


def load(directory: Path = SCHEMA_DIR) -> dict[str, EventContract]:
    """Every contract of `directory`, by name."""
    found: dict[str, EventContract] = {}
    for path in sorted(directory.glob("*.json")):
        schema = json.loads(path.read_bytes())  # JSON is UTF-8 (json.loads detects it): no locale involved
        found[path.stem] = EventContract(
            path.stem,
            schema["x-amazon-events-source"],
            schema["x-amazon-events-detail-type"],
            schema["x-orderflow-version"],
            schema,
        )
    return found


EVENTS: dict[str, EventContract] = load()


def for_event(source: str, detail_type: str) -> EventContract | None:
    """The contract of an event with this source and detail-type, None when there is none."""
    return next((c for c in EVENTS.values() if c.source == source and c.detail_type == detail_type), None)


@functools.cache
def _validator(name: str) -> Callable[[Any], Any]:
    import fastjsonschema  # compiled on first use only: the Lambdas never validate

    return fastjsonschema.compile(EVENTS[name].schema)


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
