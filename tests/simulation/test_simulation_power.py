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
