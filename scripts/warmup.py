"""`invoke warm --env <env> [--concurrency C] [--workers N]`: start the Lambda workers a load will need, before it comes.

Every function of the stack (names from the deployed outputs, `function_names`; the alias from `function_qualifiers`
when provisioned concurrency is on) is invoked N times at once, RequestResponse, each from its own thread, with the
warm-up request of services/shared/warmup.py (`{"action": "warm", "holdMs": HOLD_MS, "prime": [...]}`): the handler
answers after its imports, touching nothing, having created the boto3 clients its code uses (`prime`: the AWS services
of its role in terraform/service_permissions.json that a warm-up may prime). A request holds its worker HOLD_MS, so the N concurrent requests of one function cannot be
served one after the other by one worker: N distinct workers (execution environments) start, and the answers' worker
ids count them. A second round then measures what the load will meet (all warm: its latency is the warm invoke).

N, the workers per function: the load's orders in flight (`--concurrency`, the bench's meaning; default
DEFAULT_ORDERS_IN_FLIGHT) times the Lambda executions one order in flight may hold at once
(scripts/preflight.py LAMBDAS_PER_ORDER: its workflow's current task and the next order's POST, which can be of the
same function: an order's claim and the next order's POST on the order Lambda).
`--workers` sets N directly.

Runs at the end of every `invoke deploy` (local and cloud) and at the start of every `invoke bench` (with its
concurrency). ORDERFLOW_SKIP_WARMUP=1 skips it there (to measure a cold start).

On the local cloud (MiniStack 1.5.33) each concurrent invocation leases its own worker subprocess, and an idle one is
reaped after LAMBDA_WARM_TTL_SECONDS (300 s) except the first of each function: a warm-up keeps for 5 minutes. On AWS
an execution environment lives longer but with no guarantee; provisioned concurrency (terraform `provisioned_concurrency`,
docs/operations.md) is the guaranteed form.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from scripts.common import UserError, check_env, is_local, read_outputs, services_module
from scripts.stats import percentile

#: What the expected load keeps in flight: the bench's default --concurrency (README's main job keeps fewer).
DEFAULT_ORDERS_IN_FLIGHT = 10
#: How long each warm-up request holds its worker (ms): longer than the spread of N requests sent at once.
HOLD_MS = 200
#: How long a warm-up may take in all (s): 80 cold workers (20 per function) at once took 26-48 s on 2 vCPUs
#: (docs/benchmarks.md, "Warm-up"); a bigger warm-up gets DEADLINE_PER_WORKER seconds per worker if that is more.
DEADLINE_SECONDS = 180.0
DEADLINE_PER_WORKER = 1.5
#: The switch that skips the warm-up of deploy and bench.
SKIP_VARIABLE = "ORDERFLOW_SKIP_WARMUP"


def skipped() -> bool:
    return os.environ.get(SKIP_VARIABLE, "") not in ("", "0")


def workers_per_function(concurrency: int | None = None, workers: int | None = None) -> int:
    """N: `workers`, else the orders in flight times the Lambda executions one order may hold at once."""
    from scripts.preflight import LAMBDAS_PER_ORDER

    if workers is not None:
        n = workers
    else:
        n = (DEFAULT_ORDERS_IN_FLIGHT if concurrency is None else concurrency) * LAMBDAS_PER_ORDER
    if n < 1:
        raise UserError("--concurrency and --workers must be at least 1.")
    return n


def primed_clients() -> dict[str, list[str]]:
    """service -> the boto3 clients its warm-up creates in advance: the AWS services its role may call
    (terraform/service_permissions.json, the one list of what each service's code calls) that a warm-up may prime."""
    import json

    from scripts.common import TERRAFORM_DIR

    primable = services_module("shared.warmup").PRIMABLE
    table = json.loads((TERRAFORM_DIR / "service_permissions.json").read_text())["services"]
    return {
        service: sorted({a.split(":")[0] for s in statements for a in s["actions"]} & set(primable))
        for service, statements in table.items()
    }


def targets(outputs: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """service -> (function name, qualifier or None): what the workflows, rules and API invoke."""
    qualifiers = outputs.get("function_qualifiers") or {}
    return {service: (name, qualifiers.get(service)) for service, name in sorted(outputs["function_names"].items())}


def _client(env: str, pool: int, deadline: float) -> Any:
    from botocore.config import Config

    from scripts import aws_session, local_cloud

    config = Config(
        retries=dict(aws_session.AWS_RETRIES),
        max_pool_connections=pool,
        connect_timeout=10,
        read_timeout=deadline,
    )
    kwargs = {"endpoint_url": local_cloud.endpoint()} if is_local(env) else {}
    return aws_session.session(env).client("lambda", config=config, **kwargs)


def _invoke(client: Any, service: str, name: str, qualifier: str | None, prime: list[str]) -> dict[str, Any]:
    import json

    import botocore.exceptions

    kwargs = {"Qualifier": qualifier} if qualifier else {}
    started = time.monotonic()
    try:
        response = client.invoke(
            FunctionName=name,
            InvocationType="RequestResponse",
            Payload=json.dumps({"action": "warm", "holdMs": HOLD_MS, "prime": prime}).encode(),
            **kwargs,
        )
        body = response["Payload"].read().decode(errors="replace")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise UserError(
            f"The warm-up could not invoke {name}{':' + qualifier if qualifier else ''} ({exc}): "
            "is the stack deployed and the cloud reachable? Run `invoke deploy`, then `invoke warm` again."
        ) from None
    seconds = time.monotonic() - started
    answer = json.loads(body) if body else None
    status = services_module("shared.warmup").WARM_STATUS
    if response.get("FunctionError") or not isinstance(answer, dict) or answer.get("status") != status:
        raise UserError(
            f"The warm-up of {name} failed ({response.get('FunctionError') or 'unexpected answer'}: {body[:200]}): "
            f"see `invoke logs {service}` and run `invoke warm` again."
        )
    return {"service": service, "seconds": seconds, "worker": answer["worker"], "cold": bool(answer["coldStart"])}


def _round(
    client: Any,
    pool: ThreadPoolExecutor,
    goals: dict[str, tuple[str, str | None]],
    n: int,
    deadline: float,
    prime: dict[str, list[str]],
) -> list[dict[str, Any]]:
    futures = [
        pool.submit(_invoke, client, s, name, q, prime.get(s, [])) for s, (name, q) in goals.items() for _ in range(n)
    ]
    done, pending = wait(futures, timeout=deadline, return_when=FIRST_EXCEPTION)
    for future in done:
        if future.exception() is not None:
            for other in pending:
                other.cancel()
            raise future.exception()
    if pending:
        raise UserError(
            f"The warm-up did not finish in {deadline:.0f}s ({len(pending)} of {len(futures)} invocations left): "
            "the cloud is overloaded; run `invoke warm` again with a lower --concurrency."
        )
    return [f.result() for f in futures]


def _within_account(client: Any, n: int, functions: int) -> int:
    """On AWS: N such that every function's N concurrent warm-ups fit the account's unreserved concurrency at once
    (more would be throttled, and would take the concurrency a real load needs)."""
    unreserved = int(client.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"])
    fits = max(1, unreserved // functions)
    if fits < n:
        print(
            f"Warm-up: {n} workers per function do not fit the account's {unreserved} unreserved concurrent "
            f"executions; warming {fits} per function.",
            flush=True,
        )
    return min(n, fits)


def warm(
    env: str,
    concurrency: int | None = None,
    workers: int | None = None,
    deadline: float | None = None,
    outputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Warm N workers of every function (two rounds); print one line; return the figures."""
    check_env(env)
    n = workers_per_function(concurrency, workers)
    outputs = outputs or read_outputs(env)
    if is_local(env):
        from scripts import local_cloud

        local_cloud.require_up()
    goals = targets(outputs)
    if not is_local(env):
        from scripts.aws_session import aws_client

        n = _within_account(aws_client(env, "lambda"), n, len(goals))
    total = n * len(goals)
    if deadline is None:
        deadline = max(DEADLINE_SECONDS, DEADLINE_PER_WORKER * total)
    client = _client(env, total, deadline)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=total, thread_name_prefix="warm") as pool:
        prime = primed_clients()
        first = _round(client, pool, goals, n, deadline, prime)
        first_seconds = time.monotonic() - started
        second = _round(client, pool, goals, n, max(1.0, deadline - first_seconds), prime)
    result = {
        "env": env,
        "functions": {s: {"name": name, "qualifier": q} for s, (name, q) in goals.items()},
        "workers_per_function": n,
        "hold_ms": HOLD_MS,
        "seconds": round(time.monotonic() - started, 2),
        "first_round": _summary(first, goals, first_seconds),
        "second_round": _summary(second, goals, None),
    }
    one, two = result["first_round"], result["second_round"]
    print(
        f"Warm-up ({env}): {len(goals)} functions x {n} workers in {result['seconds']:.1f}s: first round "
        f"{one['cold']} cold starts, {one['distinct_workers']} distinct workers, max {one['max_seconds']:.2f}s; "
        f"second round {two['cold']} cold, p50 {two['p50_seconds'] * 1000:.0f} ms "
        f"(holds {HOLD_MS} ms), max {two['max_seconds'] * 1000:.0f} ms",
        flush=True,
    )
    return result


def _summary(answers: list[dict[str, Any]], goals: dict[str, Any], seconds: float | None) -> dict[str, Any]:
    latencies = [a["seconds"] for a in answers]
    return {
        "invocations": len(answers),
        "cold": sum(a["cold"] for a in answers),
        "distinct_workers": len({(a["service"], a["worker"]) for a in answers}),
        "workers_by_function": {s: len({a["worker"] for a in answers if a["service"] == s}) for s in goals},
        "p50_seconds": round(percentile(latencies, 50), 3),
        "max_seconds": round(max(latencies), 3),
        **({"seconds": round(seconds, 2)} if seconds is not None else {}),
    }


def warm_unless_skipped(env: str, concurrency: int | None = None, outputs: dict[str, Any] | None = None) -> None:
    """The deploy and bench hook: warm, or say that ORDERFLOW_SKIP_WARMUP skipped it."""
    if skipped():
        print(f"Warm-up skipped ({SKIP_VARIABLE} is set).", flush=True)
        return
    warm(env, concurrency=concurrency, outputs=outputs)
