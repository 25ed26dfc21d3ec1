"""The simulation must be able to fail: each known defect, put back (tests/simulation/mutants.py), is found within
a fixed, seeded set of schedules. Each mutant runs in its own process (a mutant patches the services)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.simulation.conftest import REPO_ROOT
from tests.simulation.mutants import MUTANTS

SCHEDULES = 40
SEED = 11
#: the violation each mutant must be found by (its kind, as the runner's summary counts it): the invariant that names
#: the defect, not some later consequence of it
FOUND_BY = {
    "charge-key-per-call": None,
    "no-execution-claim": "executions acted on the order",
    "claim-from-terminal": None,
    "no-outbox": None,
    "no-void-in-flight": None,
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_the_simulation_finds_the_defect(mutant: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-W",
            "ignore",
            "-m",
            "tests.simulation.runner",
            "--schedules",
            str(SCHEDULES),
            "--seed",
            str(SEED),
            "--workers",
            "2",
            "--mutant",
            mutant,
        ],
        cwd=REPO_ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = result.stdout.splitlines()[0] if result.stdout else result.stderr[-2000:]
    print(summary)
    assert result.returncode == 1, f"{mutant}: no violation in {SCHEDULES} schedules: {summary}"
    assert " 0 with violations" not in summary
    if FOUND_BY[mutant] is not None:
        assert FOUND_BY[mutant] in result.stdout, f"{mutant}: not found by '{FOUND_BY[mutant]}': {result.stdout[:1500]}"
