"""scripts/warmup.py (`invoke warm`, the deploy and bench hook) against a fake Lambda API: how many invocations of what,
with which payload and qualifier, what it counts, and its one-sentence failures."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest

from scripts import local_cloud, warmup
from scripts.common import UserError

OUTPUTS = {
    "function_names": {
        "inventory": "orderflow-local-inventory",
        "notification": "orderflow-local-notification",
        "order": "orderflow-local-order",
        "payment": "orderflow-local-payment",
    },
    "function_qualifiers": {"order": "live"},
}


class FakeLambda:
    """Answers like the handlers' @answers_warmup: one worker per concurrent invocation, reused when idle."""

    def __init__(self, function_error: str | None = None, hold: Any = None):
        self.hold = hold or (lambda: None)
        self.calls: list[dict[str, Any]] = []
        self.function_error = function_error
        self.lock = threading.Lock()
        self.idle: dict[str, list[str]] = {}
        self.started = 0

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        key = f"{kwargs['FunctionName']}:{kwargs.get('Qualifier', '$LATEST')}"
        with self.lock:
            self.calls.append(kwargs)
            pool = self.idle.setdefault(key, [])
            cold = not pool
            if cold:
                self.started += 1
                worker = f"w{self.started}"
            else:
                worker = pool.pop()
        answer = {"status": "WARM", "function": kwargs["FunctionName"], "worker": worker, "coldStart": cold}
        self.hold()  # the warm-up request's holdMs: the worker stays busy
        with self.lock:
            self.idle[key].append(worker)
        if self.function_error:
            return {"FunctionError": self.function_error, "Payload": io.BytesIO(b'{"errorMessage": "boom"}')}
        return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeLambda:
    client = FakeLambda()
    monkeypatch.setattr(warmup, "_client", lambda env, pool, deadline: client)
    monkeypatch.setattr(local_cloud, "require_up", lambda port=None: None)
    monkeypatch.delenv(warmup.SKIP_VARIABLE, raising=False)
    return client


def test_each_function_gets_concurrency_times_two_workers_with_the_warm_request(fake, capsys):
    result = warmup.warm("local", concurrency=3, outputs=OUTPUTS)

    assert result["workers_per_function"] == 6  # 3 orders in flight x 2 executions each (preflight.LAMBDAS_PER_ORDER)
    assert len(fake.calls) == 2 * 4 * 6  # two rounds, four functions, six each
    prime = {
        "orderflow-local-inventory": ["dynamodb", "events"],
        "orderflow-local-notification": ["s3"],
        "orderflow-local-order": ["dynamodb", "events"],
        "orderflow-local-payment": ["dynamodb", "events"],
    }  # the AWS services of each role (terraform/service_permissions.json) a warm-up may prime
    assert all(
        json.loads(c["Payload"]) == {"action": "warm", "holdMs": 200, "prime": prime[c["FunctionName"]]}
        for c in fake.calls
    )
    assert {c["InvocationType"] for c in fake.calls} == {"RequestResponse"}
    by_function: dict[tuple[str, str | None], int] = {}
    for c in fake.calls:
        key = (c["FunctionName"], c.get("Qualifier"))
        by_function[key] = by_function.get(key, 0) + 1
    assert by_function == {
        ("orderflow-local-inventory", None): 12,
        ("orderflow-local-notification", None): 12,
        ("orderflow-local-order", "live"): 12,
        ("orderflow-local-payment", None): 12,
    }
    line = capsys.readouterr().out
    assert line.startswith("Warm-up (local): 4 functions x 6 workers in ")


def test_concurrent_invocations_start_distinct_workers_and_the_second_round_is_warm(fake):
    barrier = threading.Barrier(4 * 2)  # each round's 8 invocations are all in flight before any answers
    fake.hold = lambda: barrier.wait(timeout=10)

    result = warmup.warm("local", workers=2, outputs=OUTPUTS)

    first, second = result["first_round"], result["second_round"]
    assert (first["invocations"], first["cold"], first["distinct_workers"]) == (8, 8, 8)
    assert first["workers_by_function"] == {"inventory": 2, "notification": 2, "order": 2, "payment": 2}
    assert (second["invocations"], second["cold"], second["distinct_workers"]) == (8, 0, 8)


def test_the_default_load_is_the_benchs_default_concurrency():
    assert warmup.DEFAULT_ORDERS_IN_FLIGHT == 10
    assert warmup.workers_per_function() == 20
    assert warmup.workers_per_function(concurrency=5) == 10
    assert warmup.workers_per_function(concurrency=5, workers=3) == 3


def test_a_function_error_fails_with_one_sentence(monkeypatch):
    client = FakeLambda(function_error="Unhandled")
    monkeypatch.setattr(warmup, "_client", lambda env, pool, deadline: client)
    monkeypatch.setattr(local_cloud, "require_up", lambda port=None: None)

    with pytest.raises(UserError) as failure:
        warmup.warm("local", workers=1, outputs=OUTPUTS)

    message = str(failure.value)
    assert message.startswith("The warm-up of orderflow-local-")
    assert "(Unhandled: " in message and message.endswith("run `invoke warm` again.")


def test_a_round_past_its_deadline_fails_with_one_sentence(fake):
    fake.hold = lambda: threading.Event().wait(1)  # every invocation outlasts the deadline

    with pytest.raises(UserError) as failure:
        warmup.warm("local", workers=1, outputs=OUTPUTS, deadline=0.2)

    assert str(failure.value) == (
        "The warm-up did not finish in 0s (4 of 4 invocations left): the cloud is overloaded; "
        "run `invoke warm` again with a lower --concurrency."
    )


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"concurrency": 0}])
def test_no_workers_is_refused(kwargs):
    with pytest.raises(UserError, match="must be at least 1"):
        warmup.workers_per_function(**kwargs)


def test_the_hook_skips_when_told(fake, monkeypatch, capsys):
    monkeypatch.setenv(warmup.SKIP_VARIABLE, "1")

    warmup.warm_unless_skipped("local", concurrency=10, outputs=OUTPUTS)

    assert fake.calls == []
    assert capsys.readouterr().out == "Warm-up skipped (ORDERFLOW_SKIP_WARMUP is set).\n"


class FakeAccount:
    def __init__(self, unreserved: int):
        self.unreserved = unreserved

    def get_account_settings(self) -> dict[str, Any]:
        return {"AccountLimit": {"UnreservedConcurrentExecutions": self.unreserved}}


def test_on_aws_the_warm_up_fits_the_accounts_unreserved_concurrency(fake, monkeypatch, capsys):
    from scripts import aws_session

    monkeypatch.setattr(aws_session, "aws_client", lambda env, service: FakeAccount(10))

    result = warmup.warm("dev", concurrency=10, outputs=OUTPUTS)

    assert result["workers_per_function"] == 2  # 10 unreserved executions // 4 functions, not 20
    assert len(fake.calls) == 2 * 4 * 2
    assert capsys.readouterr().out.startswith(
        "Warm-up: 20 workers per function do not fit the account's 10 unreserved concurrent executions; "
        "warming 2 per function.\n"
    )


def test_on_aws_a_warm_up_that_fits_is_not_cut(fake, monkeypatch):
    from scripts import aws_session

    monkeypatch.setattr(aws_session, "aws_client", lambda env, service: FakeAccount(1000))

    assert warmup.warm("dev", concurrency=10, outputs=OUTPUTS)["workers_per_function"] == 20


def test_a_big_warm_up_gets_more_time(fake, monkeypatch):
    deadlines: list[float] = []
    monkeypatch.setattr(warmup, "_client", lambda env, pool, deadline: deadlines.append(deadline) or fake)

    warmup.warm("local", workers=20, outputs=OUTPUTS)
    warmup.warm("local", workers=40, outputs=OUTPUTS)

    assert deadlines == [180.0, 240.0]  # 80 workers: the 180 s default; 160 workers: 1.5 s each
