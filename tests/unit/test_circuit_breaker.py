"""Circuit breaker state machine with an injected clock (no sleeps)."""

from __future__ import annotations

from decimal import Decimal

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
    clock = Clock()
    cb = CircuitBreaker.from_config(clock=clock)
    assert (cb.failure_threshold, cb.cooldown_seconds, cb.name) == (2, 7, "payment-gateway")
    assert cb.table_name == ENV["CIRCUIT_BREAKER_TABLE"] and cb.clock is clock


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


# --- exact effects: the stored item, the error's message and wait, the counters the dashboard reads -----------------

T0 = 1_700_000_000.0


def stored(cloud) -> dict:
    return cloud.table("CIRCUIT_BREAKER_TABLE").get_item(Key={"name": "payment-gateway"}).get("Item")


def test_opening_writes_the_whole_item_and_counts_once(breaker, cloud, counters):
    fail_times(breaker, Gateway(), 3)
    assert stored(cloud) == {"name": "payment-gateway", "state": "OPEN", "failures": 3, "openedAt": T0}
    assert counters() == {"CircuitOpened": 1}
    breaker.record_failure(trial=False)  # a late failure of the same outage: neither counted nor re-opened
    assert stored(cloud) == {"name": "payment-gateway", "state": "OPEN", "failures": 3, "openedAt": T0}
    assert counters() == {"CircuitOpened": 1}


def test_the_threshold_is_reached_exactly_at_the_threshold(cloud, clock):
    breaker = CircuitBreaker(ENV["CIRCUIT_BREAKER_TABLE"], failure_threshold=2, cooldown_seconds=30, clock=clock)
    fail_times(breaker, Gateway(), 1)
    assert stored(cloud) == {"name": "payment-gateway", "state": "CLOSED", "failures": 1}
    fail_times(breaker, Gateway(), 1)
    assert stored(cloud)["state"] == "OPEN"


def test_open_circuit_error_names_the_circuit_and_the_wait(breaker, clock):
    fail_times(breaker, Gateway(), 3)
    clock.now += 12.5
    with pytest.raises(CircuitOpenError, match=r"^circuit payment-gateway is open; retry in 17\.5s$"):
        breaker.before_call()


def test_trial_claim_writes_half_open_and_its_start(breaker, cloud, clock):
    fail_times(breaker, Gateway(), 3)
    clock.now += 30
    assert breaker.before_call() == (True, 3)
    assert stored(cloud) == {
        "name": "payment-gateway",
        "state": "HALF_OPEN",
        "failures": 3,
        "openedAt": T0,
        "trialStartedAt": T0 + 30,
    }
    with pytest.raises(CircuitOpenError, match=r"^circuit payment-gateway is half-open \(trial in progress\)$") as info:
        breaker.before_call()
    assert info.value.retry_after_seconds == 30


def test_a_silent_trial_is_taken_over_after_exactly_one_cooldown(breaker, cloud, clock):
    fail_times(breaker, Gateway(), 3)
    clock.now += 30
    breaker.before_call()
    clock.now += 29.9
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    clock.now += 0.1
    assert breaker.before_call() == (True, 3)
    assert stored(cloud)["trialStartedAt"] == T0 + 60
    assert stored(cloud)["state"] == "HALF_OPEN"


def test_lost_trial_races_report_a_full_cooldown(breaker, clock, monkeypatch):
    fail_times(breaker, Gateway(), 3)
    clock.now += 30
    real = breaker._conditional_update
    monkeypatch.setattr(breaker, "_conditional_update", lambda **_: None)
    with pytest.raises(CircuitOpenError, match=r"^circuit payment-gateway trial already taken$") as info:
        breaker.before_call()
    assert info.value.retry_after_seconds == 30
    monkeypatch.setattr(breaker, "_conditional_update", real)
    breaker.before_call()
    clock.now += 30
    monkeypatch.setattr(breaker, "_conditional_update", lambda **_: None)
    with pytest.raises(CircuitOpenError, match=r"^circuit payment-gateway trial already taken$") as info:
        breaker.before_call()
    assert info.value.retry_after_seconds == 30


def test_trial_claims_are_conditional_on_the_state_they_read(breaker, cloud, clock):
    """A second caller that read OPEN (or the old trial start) before the first claim landed must lose."""
    fail_times(breaker, Gateway(), 3)
    clock.now += 30
    seen = breaker.state()
    breaker.before_call()  # the winner
    stale = CircuitBreaker(ENV["CIRCUIT_BREAKER_TABLE"], failure_threshold=3, cooldown_seconds=30, clock=clock)
    stale.state = lambda: seen  # read before the winner's write
    with pytest.raises(CircuitOpenError, match="trial already taken"):
        stale.before_call()
    clock.now += 30
    seen = breaker.state()
    breaker.before_call()  # takes over the silent trial
    stale.state = lambda: seen
    with pytest.raises(CircuitOpenError, match="trial already taken"):
        stale.before_call()
    assert stored(cloud)["trialStartedAt"] == T0 + 60


def test_a_reopen_elsewhere_makes_an_old_open_read_lose(breaker, cloud, clock):
    fail_times(breaker, Gateway(), 3)
    seen = breaker.state()  # OPEN since T0
    cloud.table("CIRCUIT_BREAKER_TABLE").update_item(  # another Lambda's trial failed: re-opened at T0 + 40
        Key={"name": "payment-gateway"},
        UpdateExpression="SET openedAt = :t",
        ExpressionAttributeValues={":t": Decimal(str(T0 + 40))},
    )
    clock.now += 30
    breaker.state = lambda: seen
    with pytest.raises(CircuitOpenError, match="trial already taken"):
        breaker.before_call()


def test_successful_trial_closes_the_whole_item_and_counts(breaker, cloud, clock, counters):
    fail_times(breaker, Gateway(), 3)
    clock.now += 30
    trial, seen = breaker.before_call()
    breaker.record_success(trial, seen)
    assert stored(cloud) == {"name": "payment-gateway", "state": "CLOSED", "failures": 0}
    assert counters() == {"CircuitOpened": 1, "CircuitClosed": 1}


def test_failed_trial_reopens_the_whole_item_and_counts(breaker, cloud, clock, counters):
    fail_times(breaker, Gateway(), 3)
    clock.now += 31
    trial, _ = breaker.before_call()
    breaker.record_failure(trial)
    assert stored(cloud) == {"name": "payment-gateway", "state": "OPEN", "failures": 3, "openedAt": T0 + 31}
    assert counters() == {"CircuitOpened": 2}


def test_late_trial_reports_neither_write_nor_count(breaker, cloud, counters):
    fail_times(breaker, Gateway(), 2)
    breaker.record_success(trial=True, failures_seen=0)
    breaker.record_failure(trial=True)
    assert stored(cloud) == {"name": "payment-gateway", "state": "CLOSED", "failures": 2}
    assert counters() == {}


def test_a_success_resets_failures_only_while_closed(breaker, cloud, clock):
    fail_times(breaker, Gateway(), 2)
    breaker.record_success(trial=False, failures_seen=2)
    assert stored(cloud) == {"name": "payment-gateway", "state": "CLOSED", "failures": 0}
    fail_times(breaker, Gateway(), 3)
    breaker.record_success(trial=False, failures_seen=2)  # a slow success from before the circuit opened
    assert stored(cloud) == {"name": "payment-gateway", "state": "OPEN", "failures": 3, "openedAt": T0}


def test_a_success_with_no_failures_seen_writes_nothing(breaker, cloud):
    breaker.record_success(trial=False, failures_seen=0)
    assert stored(cloud) is None


def test_state_reads_consistently(breaker, monkeypatch):
    calls = []

    class Table:
        def get_item(self, **kwargs):
            calls.append(kwargs)
            return {}

    monkeypatch.setattr(CircuitBreaker, "_table", property(lambda self: Table()))
    assert breaker.state() == {"state": "CLOSED", "failures": 0, "openedAt": None, "trialStartedAt": None}
    assert calls == [{"Key": {"name": "payment-gateway"}, "ConsistentRead": True}]


def test_defaults_are_the_documented_ones():
    cb = CircuitBreaker("t")
    assert (cb.name, cb.failure_threshold, cb.cooldown_seconds, cb.failure_types) == (
        "payment-gateway",
        5,
        30,
        (PaymentGatewayUnavailable,),
    )


def test_clock_is_kept_to_the_millisecond(cloud):
    cb = CircuitBreaker(ENV["CIRCUIT_BREAKER_TABLE"], failure_threshold=1, clock=lambda: 1_700_000_000.12345)
    fail_times(cb, Gateway(), 1)
    assert str(stored(cloud)["openedAt"]) == "1700000000.123"


def test_call_passes_every_argument_and_returns_the_result(breaker):
    assert breaker.call(lambda *args, **kwargs: (args, kwargs), 1, "two", three=3) == ((1, "two"), {"three": 3})
