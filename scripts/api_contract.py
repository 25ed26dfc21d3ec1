"""Does a response of the HTTP API keep its OpenAPI document (scripts/openapi.py)? `ApiContract.violations` names what
a response breaks: an undocumented status for its route, a body that is not JSON or not of the documented schema
(JSON Schema 2020-12, the document's dialect). A method and path no route has must be the gateway's NoRoute answer.
`ResponseLog` collects the verdicts of many responses across threads (the e2e suite's every request)."""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

#: the document's base URI in the validators' registry: its `#/components/...` refs resolve against it
DOCUMENT_URI = "urn:orderflow:openapi"
JSON = "application/json"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class ApiContract:
    def __init__(self, document: dict[str, Any]):
        self.document = document
        self._registry = Registry().with_resource(DOCUMENT_URI, Resource(document, DRAFT202012))
        # (method, compiled path template, template): static paths first, so /orders never reads as /orders/{id}
        templates = sorted(document["paths"], key=lambda t: ("{" in t, t))
        self._routes = [
            (method.upper(), re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(t)) + "$"), t)
            for t in templates
            for method in document["paths"][t]
        ]
        self._validators: dict[str, Draft202012Validator] = {}

    def operation(self, method: str, path: str) -> str | None:
        """The documented path template of a request (`/orders/{orderId}`), None when no route has it."""
        bare = urlsplit(path).path
        return next((t for m, rule, t in self._routes if m == method.upper() and rule.match(bare)), None)

    def violations(self, method: str, path: str, status: int, body: bytes | str | None) -> list[str]:
        """What the response breaks; [] when it keeps the document."""
        template = self.operation(method, path)
        where = f"{method.upper()} {urlsplit(path).path[:120]} -> {status}"
        if template is None:
            if status != 404:
                return [f"{where}: no route has this method and path, so API Gateway answers 404"]
            pointer = _pointer("components", "responses", "NoRoute")
            response = self.document["components"]["responses"]["NoRoute"]
        else:
            responses = self.document["paths"][template][method.lower()]["responses"]
            if str(status) not in responses:
                return [
                    (
                        f"{where}: status not documented for {method.upper()} {template} "
                        f"(documented: {', '.join(sorted(responses))})"
                    )
                ]
            pointer = _pointer("paths", template, method.lower(), "responses", str(status))
            response = responses[str(status)]
        if JSON not in response.get("content", {}):
            return []
        try:
            parsed = json.loads(body or b"")
        except ValueError:
            return [f"{where}: the body is not JSON: {body[:120]!r}"]
        validator = self._validator(f"{pointer}/content/{_pointer(JSON)}/schema")
        return [
            f"{where}: {'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}"
            for e in sorted(validator.iter_errors(parsed), key=lambda e: list(map(str, e.absolute_path)))
        ]

    def _validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            self._validators[pointer] = Draft202012Validator(
                {"$ref": f"{DOCUMENT_URI}#/{pointer}"}, registry=self._registry
            )
        return self._validators[pointer]


class ResponseLog:
    """Every response checked against a contract, and what broke it; thread-safe. `record` fits ApiClient's
    `contract` hook."""

    def __init__(self, contract: ApiContract):
        self.contract = contract
        self.checked = 0
        self.violations: list[str] = []
        self._lock = threading.Lock()

    def record(self, method: str, path: str, status: int, body: bytes | str | None) -> None:
        found = self.contract.violations(method, path, status, body)
        with self._lock:
            self.checked += 1
            self.violations += found
