"""Run many schedules (in worker processes), report violations with their seeds, replay one seed with its trace.

`python -m tests.simulation.runner --schedules 2000 --seed 7 [--workers 2]` (what `invoke simulate` runs):
schedule i of a run with base seed S uses seed `schedule_seed(S, i)`, printed for every failing schedule, and
`--replay SEED` runs exactly that schedule again and prints its trace.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

TRACE_TAIL = 80


def schedule_seed(base_seed: int, index: int) -> int:
    return random.Random(f"{base_seed}:{index}").getrandbits(48)


@dataclass
class Report:
    schedules: int = 0
    steps: int = 0
    executions: int = 0
    faults: int = 0
    failures: list[tuple[int, list[str], list[str]]] = field(default_factory=list)  # (seed, violations, trace)
    kinds: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def merge(self, other: Report) -> None:
        self.schedules += other.schedules
        self.steps += other.steps
        self.executions += other.executions
        self.faults += other.faults
        self.failures.extend(other.failures)
        self.kinds.update(other.kinds)


_IDS = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|\b[0-9a-f]{8}\b|\d+(\.\d+)?")


def _kind(violation: str) -> str:
    """A violation's kind for the summary: its text without ids and numbers."""
    return _IDS.sub("#", violation)[:90]


_cloud = None
_mutant: str | None = None


def _worker_cloud():  # type: ignore[no-untyped-def]
    global _cloud
    if _cloud is None:
        from tests.simulation.cloud import SimCloud

        _cloud = SimCloud().start()
        if _mutant:
            from tests.simulation.mutants import MUTANTS

            MUTANTS[_mutant](_cloud)
    return _cloud


def run_seeds(seeds: list[int]) -> Report:
    from tests.simulation import engine, invariants

    cloud = _worker_cloud()
    report = Report()
    for seed in seeds:
        outcome = engine.run_schedule(cloud, seed, invariants.check)
        report.schedules += 1
        report.steps += outcome.steps
        report.executions += outcome.executions
        report.faults += outcome.faults
        if outcome.violations:
            report.failures.append((seed, outcome.violations, outcome.trace[-TRACE_TAIL:]))
            report.kinds.update(_kind(v) for v in outcome.violations)
    return report


def explore(schedules: int, base_seed: int, workers: int) -> Report:
    seeds = [schedule_seed(base_seed, i) for i in range(schedules)]
    started = time.perf_counter()
    if workers <= 1:
        report = run_seeds(seeds)
    else:
        chunks = [seeds[i::workers] for i in range(workers)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            report = Report()
            for part in pool.map(run_seeds, chunks):
                report.merge(part)
    report.seconds = time.perf_counter() - started
    return report


def print_report(report: Report, base_seed: int, out=sys.stdout) -> None:  # type: ignore[no-untyped-def]
    rate = report.schedules / report.seconds if report.seconds else 0.0
    print(
        f"simulation: base seed {base_seed}: {report.schedules} schedules, {report.executions} executions, "
        f"{report.steps} steps, {report.faults} faults injected, {len(report.failures)} with violations, "
        f"{report.seconds:.1f} s ({rate:.1f} schedules/s)",
        file=out,
    )
    for kind, count in report.kinds.most_common():
        print(f"  {count:5d} x {kind}", file=out)
    for seed, violations, _ in report.failures[:10]:
        print(f"  seed {seed}: {'; '.join(violations)[:300]}", file=out)
        print(f"    replay: invoke simulate --replay {seed}", file=out)


def replay(seed: int, out=sys.stdout) -> list[str]:  # type: ignore[no-untyped-def]
    from tests.simulation import engine, invariants

    outcome = engine.run_schedule(_worker_cloud(), seed, invariants.check)
    print(f"schedule seed {seed}: {outcome.plan}", file=out)
    for line in outcome.trace:
        print(line, file=out)
    print("violations: " + ("; ".join(outcome.violations) or "none"), file=out)
    return outcome.violations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SIMULATION_SEED", "1")))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--replay", type=int, help="run one schedule seed and print its trace")
    parser.add_argument("--mutant", help="put one known defect back (tests/simulation/mutants.py) and explore")
    args = parser.parse_args(argv)
    global _mutant
    _mutant = args.mutant
    if args.replay is not None:
        return 1 if replay(args.replay) else 0
    report = explore(args.schedules, args.seed, args.workers)
    print_report(report, args.seed)
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
