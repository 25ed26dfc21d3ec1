"""Circuit breaker state machine with an injected clock (no sleeps)."""

from __future__ import annotations

import pytest

from payment.circuit_breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from shared.errors import CircuitOpenError, PaymentGatewayUnavailable

from .conftest import ENV


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Gateway:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    def __call__(self) -> str:
        self.calls += 1
        if self.fail:
            raise PaymentGatewayUnavailable("down")
        return "ok"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(cloud, clock) -> CircuitBreaker:
    return CircuitBreaker(ENV["CIRCUIT_BREAKER_TABLE"], failure_threshold=3, cooldown_seconds=30, clock=clock)


def fail_times(breaker: CircuitBreaker, gateway: Gateway, n: int) -> None:
    gateway.fail = True
    for _ in range(n):
        with pytest.raises(PaymentGatewayUnavailable):
            breaker.call(gateway)


def test_closed_by_default_and_passes_calls(breaker):
    gateway = Gateway()
    assert breaker.call(gateway) == "ok"
    assert breaker.state()["state"] == CLOSED
    assert gateway.calls == 1


def test_opens_after_threshold_consecutive_failures_then_fails_fast(breaker, clock):
    gateway = Gateway()
    fail_times(breaker, gateway, 2)
    assert breaker.state() == {"state": CLOSED, "failures": 2, "openedAt": None, "trialStartedAt": None}
    fail_times(breaker, gateway, 1)
    state = breaker.state()
    assert state["state"] == OPEN and float(state["openedAt"]) == clock.now

    gateway.fail = False
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(gateway)
    assert gateway.calls == 3  # the gateway was not called while open
    assert info.value.retry_after_seconds == pytest.approx(30)
    clock.now += 29.9
    with pytest.raises(CircuitOpenError):
        breaker.call(gateway)
    assert gateway.calls == 3


def test_success_resets_consecutive_failures(breaker):
    gateway = Gateway()
    fail_times(breaker, gateway, 2)
    gateway.fail = False
    breaker.call(gateway)
    assert breaker.state()["failures"] == 0
    fail_times(breaker, gateway, 2)
    assert breaker.state()["state"] == CLOSED


def test_half_open_after_cooldown_and_success_closes(breaker, clock):
    gateway = Gateway()
    fail_times(breaker, gateway, 3)
    clock.now += 30
    gateway.fail = False

    assert breaker.call(gateway) == "ok"  # the single trial call

    assert gateway.calls == 4
    assert breaker.state() == {"state": CLOSED, "failures": 0, "openedAt": None, "trialStartedAt": None}


def test_half_open_failure_reopens(breaker, clock):
    gateway = Gateway()
    fail_times(breaker, gateway, 3)
    clock.now += 31
    fail_times(breaker, gateway, 1)  # trial fails
    state = breaker.state()
    assert state["state"] == OPEN and float(state["openedAt"]) == clock.now
    with pytest.raises(CircuitOpenError):
        breaker.call(gateway)
    assert gateway.calls == 4


def test_only_one_trial_while_half_open(breaker, clock):
    gateway = Gateway()
    fail_times(breaker, gateway, 3)
    clock.now += 30
    trial, _ = breaker.before_call()  # first caller wins the trial...
    assert trial is True and breaker.state()["state"] == HALF_OPEN
    with pytest.raises(CircuitOpenError):  # ...everyone else fails fast
        breaker.before_call()
    # the trial went silent (crashed Lambda): after another cool-down somebody else may try
    clock.now += 30
    trial, _ = breaker.before_call()
    assert trial is True
    breaker.record_success(trial, 0)
    assert breaker.state()["state"] == CLOSED


def test_lost_race_for_the_trial_fails_fast(breaker, clock, monkeypatch):
    gateway = Gateway()
    fail_times(breaker, gateway, 3)
    clock.now += 30
    monkeypatch.setattr(breaker, "_conditional_update", lambda **_: None)  # somebody else claimed it
    with pytest.raises(CircuitOpenError):
        breaker.before_call()


def test_lost_race_for_a_stale_trial_fails_fast(breaker, clock, monkeypatch):
    gateway = Gateway()
    fail_times(breaker, gateway, 3)
    clock.now += 30
    breaker.before_call()
    clock.now += 30
    monkeypatch.setattr(breaker, "_conditional_update", lambda **_: None)
    with pytest.raises(CircuitOpenError):
        breaker.before_call()


def test_failures_while_open_are_not_counted(breaker, clock):
    gateway = Gateway()
    fail_times(breaker, gateway, 3)
    failures = breaker.state()["failures"]
    breaker.record_failure(trial=False)  # a slow call that started before the circuit opened
    assert breaker.state()["failures"] == failures
    assert breaker.state()["state"] == OPEN


def test_late_trial_report_after_state_changed_is_ignored(breaker):
    breaker.record_success(trial=True, failures_seen=0)  # circuit is CLOSED: nothing to close
    breaker.record_failure(trial=True)  # not HALF_OPEN: nothing to re-open
    assert breaker.state()["state"] == CLOSED


def test_other_exceptions_do_not_count(breaker):
    def bug():
        raise ValueError("not a gateway failure")

    with pytest.raises(ValueError):
        breaker.call(bug)
    assert breaker.state()["failures"] == 0


def test_unexpected_dynamodb_errors_propagate(breaker, monkeypatch):
    from botocore.exceptions import ClientError

    class Table:
        def update_item(self, **_):
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "UpdateItem")

    monkeypatch.setattr(CircuitBreaker, "_table", property(lambda self: Table()))
    with pytest.raises(ClientError):
        breaker._conditional_update(UpdateExpression="SET x = :x")


def test_from_config_reads_env(cloud, monkeypatch):
    monkeypatch.setenv("CIRCUIT_FAILURE_THRESHOLD", "2")
    monkeypatch.setenv("CIRCUIT_COOLDOWN_SECONDS", "7")
    cb = CircuitBreaker.from_config(clock=Clock())
    assert (cb.failure_threshold, cb.cooldown_seconds, cb.name) == (2, 7, "payment-gateway")


def test_state_without_timestamps_still_recovers(breaker, clock, cloud):
    table = cloud.table("CIRCUIT_BREAKER_TABLE")
    table.put_item(Item={"name": "payment-gateway", "state": OPEN, "failures": 3})  # no openedAt
    trial, _ = breaker.before_call()
    assert trial is True and breaker.state()["state"] == HALF_OPEN
    table.put_item(Item={"name": "payment-gateway", "state": HALF_OPEN, "failures": 3})  # no trialStartedAt
    trial, _ = breaker.before_call()
    assert trial is True
    with pytest.raises(CircuitOpenError):  # the claim above set trialStartedAt: the next caller fails fast
        breaker.before_call()


def test_open_circuit_reports_the_remaining_cooldown(breaker, clock):
    gateway = Gateway()
    fail_times(breaker, gateway, 3)
    clock.now += 12.5
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(gateway)
    assert info.value.retry_after_seconds == pytest.approx(17.5)
    clock.now += 17.5
    trial, _ = breaker.before_call()
    with pytest.raises(CircuitOpenError) as info:  # a trial is in flight: wait a full cool-down
        breaker.before_call()
    assert trial is True and info.value.retry_after_seconds == 30
