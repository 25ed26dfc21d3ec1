"""Fixtures and the recording plugin of the end-to-end suite.

Run through `invoke e2e --env <env>` (scripts/e2e.py), which sets:
  ORDERFLOW_ENV          the env (local, dev, ...)         ORDERFLOW_OUTPUTS     path of build/<env>/outputs.json
  ORDERFLOW_RUN_ID       unique ids for this run's data    ORDERFLOW_E2E_RECORDS where the scenario records go (JSON)
  ORDERFLOW_E2E_STRICT=1 a missing stack is an error, not a skip
A bare `pytest` skips the scenarios: they change a deployed stack, so they run only when asked, through `invoke e2e` or
with ORDERFLOW_ENV set (`ORDERFLOW_ENV=local pytest tests/e2e -k cancel`; records then go to
build/<env>/reports/e2e-records-direct.json).

Each scenario test takes the `scenario` fixture and `scenario.track(...)`s its orders; after the test the fixture
collects each order's final record and execution histories, and the outcome (from the test report), into the
records JSON that the runner turns into the summary table and the HTML report.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from e2e_support import BusTap, Scenario, Stack, plain

from scripts.common import UserError, env_build_dir, read_outputs
from scripts.order_timeline import end_to_end_seconds, stage_seconds
from scripts.timeutil import iso, new_run_id, utcnow

_OUTCOME = pytest.StashKey[dict[str, Any]]()
_records: dict[str, Any] = {"meta": {}, "scenarios": []}
_records_lock = threading.Lock()


def _env() -> str:
    return os.environ.get("ORDERFLOW_ENV", "local")


def _records_path() -> Path:
    explicit = os.environ.get("ORDERFLOW_E2E_RECORDS")
    # a direct pytest run does not overwrite the records of the last `invoke e2e`
    return Path(explicit) if explicit else env_build_dir(_env()) / "reports" / "e2e-records-direct.json"


def _write_records() -> None:
    path = _records_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_records, indent=1, default=str))
    os.replace(tmp, path)


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    # `invoke e2e` forwards its SIGTERM/SIGINT as SIGTERM: stop like Ctrl-C does, running the fixtures' teardown
    # (re-enable rules, restore function environments). SIGINT too, in case this process started with it ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line("markers", "e2e: end-to-end scenario against a deployed stack")
    config.addinivalue_line("markers", "slow: a scenario that moves hundreds of orders")
    # botocore's own datetime.utcnow() (fixed in newer botocore): thousands of lines of noise per run
    config.addinivalue_line("filterwarnings", "ignore:datetime.datetime.utcnow:DeprecationWarning:botocore")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        message = None
        if report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash is not None else str(report.longrepr)[-2000:]
        elif report.skipped and isinstance(report.longrepr, tuple):
            message = report.longrepr[2]
        state = report.outcome
        if hasattr(report, "wasxfail"):  # an expected failure is not a skip: name it as pytest does
            state, message = ("xfailed" if report.skipped else "xpassed"), report.wasxfail
        item.stash[_OUTCOME] = {"outcome": state, "message": message}


def _say_factory(config: pytest.Config):
    """Progress lines to the terminal while orders are in flight, around pytest's output capture."""
    capman = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")

    def say(line: str) -> None:
        if reporter is None:
            print(line, flush=True)
            return
        if capman is not None:
            with capman.global_and_fixture_disabled():
                reporter.write_line(line)
        else:
            reporter.write_line(line)

    return say


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config):
    if "ORDERFLOW_ENV" not in os.environ:
        pytest.skip("end-to-end scenarios change a deployed stack: run `invoke e2e --env <env>` (or set ORDERFLOW_ENV)")
    env = _env()
    strict = os.environ.get("ORDERFLOW_E2E_STRICT") == "1"
    try:
        explicit = os.environ.get("ORDERFLOW_OUTPUTS")
        outputs = json.loads(Path(explicit).read_text()) if explicit else read_outputs(env)
    except (UserError, FileNotFoundError) as exc:
        if strict:
            pytest.fail(f"no deployed stack for env '{env}': {exc}")
        pytest.skip(
            f"no deployed stack for env '{env}' ({exc}); run `invoke deploy --env {env}` then `invoke e2e --env {env}`"
        )
    if env == "local":
        from scripts import local_cloud

        if local_cloud.health() is None:
            (pytest.fail if strict else pytest.skip)(f"the local cloud is not running on {local_cloud.endpoint()}")
    run_id = os.environ.get("ORDERFLOW_RUN_ID") or new_run_id()
    _records["meta"].update({"env": env, "run_id": run_id, "started": iso(utcnow())})
    deployed = Stack(env, outputs, run_id, env_build_dir(env) / "reports", say=_say_factory(pytestconfig))
    # before any scenario: every event of the run reaches test_99_event_contracts.py
    deployed.bus_tap = BusTap(deployed, "contracts")
    try:
        yield deployed
    finally:
        deployed.close()  # the Cognito users this run created


def _order_record(
    stack: Stack, scenario: Scenario, sub: Any, order: dict[str, Any] | None, with_history: bool
) -> dict[str, Any]:
    order = plain(order) if order else {}
    record = {
        "orderId": sub.order_id,
        "customerId": sub.customer_id,
        "label": sub.label,
        "httpStatus": sub.http_status,
        "acceptedAt": iso(sub.accepted_at),
        "createdAt": order.get("createdAt"),
        "status": order.get("status"),
        "statusHistory": order.get("statusHistory", []),
        "latency_s": end_to_end_seconds(order) if order else None,
        "stages": stage_seconds(order) if order else {},
        "executions": [],
    }
    if with_history:
        for key in ("order-processing", "payment-processing"):
            try:
                for ex in stack.executions_for(sub.order_id, key):
                    summary = stack.summary(ex["arn"])
                    record["executions"].append(
                        {k: ex[k] for k in ("arn", "name", "stateMachine", "start", "stop")}
                        | {
                            "status": summary["status"],
                            "error": summary["error"],
                            "states": summary["states"],
                            "retries": summary["retries"],
                        }
                    )
            except Exception as exc:  # noqa: BLE001 - a report gap, not a test failure
                record["executions"].append({"name": f"<history unavailable: {exc}>", "stateMachine": key})
    return record


@pytest.fixture
def scenario(request: pytest.FixtureRequest, stack: Stack):
    name = request.node.name.removeprefix("test_")
    sc = Scenario(name=name, nodeid=request.node.nodeid)
    started = time.monotonic()
    yield sc
    duration = time.monotonic() - started
    result = request.node.stash.get(_OUTCOME, {"outcome": "interrupted", "message": None})
    orders: list[dict[str, Any]] = []
    try:
        current = stack.orders(sc.orders) if sc.orders else {}
        for i, sub in enumerate(sc.orders):
            orders.append(_order_record(stack, sc, sub, current.get(sub.order_id), with_history=i < sc.history_limit))
        if len(sc.orders) > sc.history_limit:
            sc.note(f"execution histories collected for the first {sc.history_limit} of {len(sc.orders)} orders")
    except Exception as exc:  # noqa: BLE001
        sc.note(f"could not collect the final records: {exc}")
    with _records_lock:
        _records["scenarios"].append(
            {
                "name": name,
                "nodeid": sc.nodeid,
                "outcome": result["outcome"],
                "message": result["message"],
                "duration_s": round(duration, 2),
                "notes": sc.notes,
                "orders": orders,
            }
        )
        _records["meta"]["finished"] = iso(utcnow())
        _write_records()
