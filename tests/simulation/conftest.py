"""The simulation suite runs in its own pytest process (scripts/checks.py): its cloud patches the services' clock,
AWS clients and ids for the whole process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # `tests.simulation...` and `scripts...` imports


def pytest_configure(config: pytest.Config) -> None:
    # Powertools warns on every invocation that published no metric (metrics are disabled in the simulation)
    config.addinivalue_line("filterwarnings", "ignore:No application metrics to publish:UserWarning")


@pytest.fixture(scope="session")
def sim_cloud() -> Iterator[object]:
    from tests.simulation.cloud import process_cloud

    yield process_cloud()


@pytest.fixture
def harness(sim_cloud: object) -> object:
    from tests.simulation.scripted import Harness

    return Harness(sim_cloud)  # type: ignore[arg-type]
