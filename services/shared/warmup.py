"""The warm-up request every handler answers (`scripts/warmup.py`, `invoke warm`): one definition, one decorator.

A warm-up request is `{"action": "warm"}`, optionally with `"holdMs": 0..1000` and `"prime": [...]` (boto3 clients
among PRIMABLE). The decorated handler answers it at once with `{"status": "WARM", "function", "worker",
"coldStart"}` without running the handler: no contract validation, no DynamoDB / S3 / EventBridge call, no log line,
trace or business metric. Its module (and so every import of the function) has already been loaded when the answer
is given, which is what warms a worker; `prime` also creates the named clients (shared.aws's cache, and the DynamoDB
resource for this thread, and a Table resource for every table the function's environment names) the function's
first real request would otherwise create: no request is sent. Every warm-up also compiles the request contracts of
the function's service (shared.contracts.prepare), which its first request of each action would otherwise compile:
under load, those first-request costs of every new worker at once were the tail of a run's first seconds.

- `worker` names the process (a random id taken once per worker), so the caller can count how many distinct
  workers (execution environments) answered; `coldStart` is true on the worker's first request.
- `holdMs` keeps the worker busy that long before answering, so concurrent warm-up requests cannot be served one
  after the other by the same worker: each concurrent request then needs its own worker.

No other request has this shape: the workflow actions are validated against their contracts (none is `warm`), and
an API Gateway event always has `requestContext`, so a warm-up request cannot come through the HTTP API.
"""

from __future__ import annotations

import functools
import importlib
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

#: The request's `action` and the answer's `status`.
WARM_ACTION = "warm"
WARM_STATUS = "WARM"
#: The longest `holdMs` a warm-up request may ask for.
MAX_HOLD_MS = 1000
#: The boto3 clients a warm-up request may ask to create in advance (`prime`).
PRIMABLE = ("dynamodb", "events", "s3")

#: This worker's id (one per process: a new execution environment imports this module anew).
WORKER_ID = uuid.uuid4().hex[:12]
_served = False


def warm_request(event: Any) -> dict[str, Any] | None:
    """The event as a warm-up request (`{"action": "warm", "holdMs"?, "prime"?}`), or None when it is anything else."""
    if not isinstance(event, dict) or event.get("action") != WARM_ACTION:
        return None
    if not set(event) <= {"action", "holdMs", "prime"}:  # so no API Gateway event (it has requestContext) is one
        return None
    hold, prime = event.get("holdMs", 0), event.get("prime", [])
    if isinstance(hold, bool) or not isinstance(hold, int) or not 0 <= hold <= MAX_HOLD_MS:
        return None
    if not isinstance(prime, list) or not all(isinstance(p, str) and p in PRIMABLE for p in prime):
        return None
    return {"action": WARM_ACTION, "holdMs": hold, "prime": prime}


def _prime(clients: list[str]) -> None:
    from shared import aws

    for name in clients:
        aws.client(name)
        if name == "dynamodb":
            aws.dynamodb_resource()
            # every table the environment names (`<TABLE>_TABLE`, terraform/main.tf's rule): building the first
            # Table resource imports boto3.dynamodb.table; no request is sent
            for variable, value in sorted(os.environ.items()):
                if variable.endswith("_TABLE") and value.strip():
                    aws.table(value.strip())


def answer(
    function_name: str, hold_ms: int = 0, prime: list[str] | None = None, service: str | None = None
) -> dict[str, Any]:
    """The answer to a warm-up request (after compiling `service`'s request contracts, creating the `prime` clients
    and holding the worker `hold_ms`)."""
    global _served
    if service is not None:
        from shared import contracts

        contracts.prepare(service)
    _prime(prime or [])
    if hold_ms:
        time.sleep(hold_ms / 1000)
    cold, _served = not _served, True
    return {"status": WARM_STATUS, "function": function_name, "worker": WORKER_ID, "coldStart": cold}


def answers_warmup(handler: Callable[[Any, Any], Any] | None = None, *, preload: tuple[str, ...] = ()) -> Any:
    """Decorate a Lambda handler (outermost) so that it answers a warm-up request itself; every other event goes to
    the handler unchanged. `preload`: the modules the handler imports lazily (to keep a cold start lean for the
    requests that do not need them) that a warm-up imports, so the first real request after it finds them loaded.
    Usable bare (`@answers_warmup`) or with arguments (`@answers_warmup(preload=("order.api",))`). The service whose
    contracts a warm-up compiles is the handler's package (`payment.handler` -> payment)."""
    if handler is None:
        return functools.partial(answers_warmup, preload=preload)
    service = handler.__module__.split(".")[0]

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        request = warm_request(event)
        if request is None:
            global _served
            _served = True
            return handler(event, context)
        for module in preload:
            importlib.import_module(module)
        return answer(
            getattr(context, "function_name", None) or "unknown", request["holdMs"], request["prime"], service
        )

    wrapper.preload = preload  # type: ignore[attr-defined]
    return wrapper
