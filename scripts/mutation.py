"""`invoke mutate`: mutation testing of services/ with mutmut 3, judged by the unit suite, then the simulation suite.

Why a staging copy: mutmut names a mutant after its module's file path (a leading `src.` dropped) and its trampoline
activates a mutant only when that name equals the running function's `__module__`. The Lambdas and the tests import
services as top-level packages (`order.service`, `shared.outbox`), so each pass works in a copy of the repository
(one snapshot per run, build/mutation/snapshot/) under build/mutation/<pass>/ with services/ as src/; the suites find the mutated copy through ORDERFLOW_SERVICES_DIR.

Why two passes: the simulation patches the services' clock and AWS clients for its whole process, so it cannot share
a pytest process with the unit suite. The unit pass runs every selected mutant; whatever it leaves alive is run
against the simulation suite. A mutant counts as killed when either suite fails (or times out) with it.

Equivalent mutants (no behaviour can tell them from the original) are listed, with the reason, in the table under
"Equivalent mutants" in docs/testing.md; a listed mutant whose change no longer matches is counted as a survivor.
The score is killed / (mutants - equivalent). Results: build/mutation/report.json and build/mutation/survivors.txt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.common import BUILD_DIR, REPO_ROOT, SERVICES_DIR, UserError

WORK_DIR = BUILD_DIR / "mutation"
TESTING_DOC = REPO_ROOT / "docs" / "testing.md"
EQUIVALENTS_HEADING = "## Equivalent mutants"
#: The score `invoke mutate` and CI's bounded pass must reach (issue 15).
TARGET_SCORE = 85.0
#: CI's bounded pass: a fixed sample, so every run judges the same mutants of the same code.
CI_SAMPLE = 60
CI_SEED = 20261203

#: What the suites read besides services/ (copied into each staging project).
STAGED = ("tests", "scripts", "workflow", "docs", "terraform")
STAGE_IGNORE = shutil.ignore_patterns(".terraform", "*.tfstate*", "__pycache__", ".pytest_cache", "fixtures")
KILLED = {"killed", "timeout"}
#: mutmut's status of a mutant it has not run yet (a run stopped by --budget)
NOT_CHECKED = "not checked"
#: Log statements are not mutated: no component reads their text (the dashboard and alarms read metrics, and no
#: Logs Insights query is defined), so a mutant of one changes nothing a test of behaviour could observe.
#: docs/testing.md states how many mutants this leaves out.
NOT_MUTATED_PATTERNS = (r"^\s*(logger|_logger)\.(debug|info|warning|error|exception|critical)\(",)
PROGRESS_EVERY_SECONDS = 30
#: What `--resume` records as the killer of a verdict kept from the previous report.
CARRIED = "previous run"


@dataclass(frozen=True)
class Pass:
    name: str
    tests: tuple[str, ...]
    #: mutmut forks each mutant's run from its main process ("fork") or from a clean fork server ("forkserver").
    #: The simulation suite is not fork-safe: a run forked from the process that collected its statistics blocks
    #: on a lock some other thread held at the fork, until mutmut's timeout (every simulation-pass "kill" of
    #: 2026-12-03 was such a timeout).
    isolation: str = "fork"


PASSES = (
    # test_mutation_script tests this tool against the repository layout, which the staged copy does not have.
    Pass("unit", ("tests/unit", "--ignore=tests/unit/test_mutation_script.py")),
    # The power test mutates services/ itself in subprocesses; it measures the simulation, not the services.
    Pass(
        "simulation", ("tests/simulation", "--ignore=tests/simulation/test_simulation_power.py"), isolation="forkserver"
    ),
)


@dataclass
class Report:
    statuses: dict[str, str] = field(default_factory=dict)  # mutant -> final status
    killed_by: dict[str, str] = field(default_factory=dict)  # mutant -> pass that killed it (or CARRIED)
    hashes: dict[str, str] = field(default_factory=dict)  # killed mutant -> hash of its function's source
    diffs: dict[str, str] = field(default_factory=dict)  # surviving mutant -> its diff
    equivalent: dict[str, str] = field(default_factory=dict)  # mutant -> reason
    seconds: float = 0.0

    @property
    def judged(self) -> list[str]:
        return [m for m in self.statuses if m not in self.equivalent and self.statuses[m] != NOT_CHECKED]

    @property
    def unjudged(self) -> list[str]:
        return [m for m in self.statuses if self.statuses[m] == NOT_CHECKED]

    @property
    def killed(self) -> list[str]:
        return [m for m in self.judged if self.statuses[m] in KILLED]

    @property
    def survivors(self) -> list[str]:
        return [m for m in self.judged if self.statuses[m] not in KILLED]

    passes: tuple[str, ...] = tuple(stage.name for stage in PASSES)

    def killed_by_pass(self) -> dict[str, int]:
        return {name: sum(1 for p in self.killed_by.values() if p == name) for name in [*self.passes, CARRIED]}

    @property
    def score(self) -> float:
        return 100.0 * len(self.killed) / len(self.judged) if self.judged else 100.0


def _only_mutate(paths: list[str]) -> list[str]:
    """services/... paths (files or folders) as mutmut `only_mutate` globs over the staged src/."""
    globs = []
    for raw in paths:
        path = (REPO_ROOT / raw).resolve()
        try:
            relative = path.relative_to(SERVICES_DIR)
        except ValueError:
            raise UserError(f"--paths takes files or folders inside services/ (got '{raw}').") from None
        if not path.exists():
            raise UserError(f"'{raw}' does not exist: name a file or folder inside services/.")
        src = Path("src") / relative
        globs.append(f"{src.as_posix()}/*" if path.is_dir() else src.as_posix())
    return globs


def _test_paths(tests: list[str]) -> list[str]:
    for raw in tests:
        path = (REPO_ROOT / raw).resolve()
        if not path.exists() or REPO_ROOT / "tests" not in path.parents:
            raise UserError(f"--tests takes test files or folders inside tests/ (got '{raw}').")
    return tests


def _snapshot() -> Path:
    """services/ and what the suites read, copied once per run: every pass judges the same code and tests, however
    the working tree changes while the run takes its hours."""
    snapshot = WORK_DIR / "snapshot"
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(SERVICES_DIR, snapshot / "src", ignore=STAGE_IGNORE)
    for name in STAGED:
        shutil.copytree(REPO_ROOT / name, snapshot / name, ignore=STAGE_IGNORE)
    shutil.copy2(REPO_ROOT / "pyproject.toml", snapshot / "pyproject.toml")
    return snapshot


def _stage(
    project: Path, snapshot: Path, only_mutate: list[str], test_selection: tuple[str, ...], isolation: str
) -> None:
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(snapshot, project)
    config = {
        "source_paths": ["src"],
        "only_mutate": only_mutate,
        "also_copy": list(STAGED),
        "pytest_add_cli_args": [
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "no:cov",
            "-W",
            "ignore::UserWarning",
        ],
        "pytest_add_cli_args_test_selection": list(test_selection),
        "do_not_mutate_patterns": list(NOT_MUTATED_PATTERNS),
        "process_isolation": isolation,
        # Results must come from this run's tests and code only (a fresh project each run).
        "use_git_change_detection": False,
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in config.items()]
    pyproject = (snapshot / "pyproject.toml").read_text(encoding="utf-8")
    (project / "pyproject.toml").write_text(pyproject + "\n".join(lines) + "\n", encoding="utf-8")


def _mutmut_run(project: Path, workers: int, names: list[str], deadline: float | None = None) -> bool:
    """`mutmut run` on the named mutants; its spinner output goes to <project>/mutmut.log. False when it was
    stopped at `deadline` (time.monotonic()): the mutants it judged by then keep their verdicts."""
    env = {**os.environ, "ORDERFLOW_SERVICES_DIR": str(project / "mutants" / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    log = project / "mutmut.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(workers), *names],
            cwd=project,
            env=env,
            text=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        while True:
            try:
                code = process.wait(timeout=PROGRESS_EVERY_SECONDS)
                break
            except subprocess.TimeoutExpired:
                print(f"    {_progress(log)}", flush=True)
                if deadline is not None and time.monotonic() > deadline:
                    os.killpg(process.pid, signal.SIGKILL)  # mutmut and its workers; verdicts are saved per mutant
                    process.wait()
                    print("    budget spent: stopped", flush=True)
                    return False
    if code != 0:
        tail = _log_lines(log)[-15:]
        print("\n".join(tail))
        raise UserError(f"mutmut run failed (exit {code}); its log is {log.relative_to(REPO_ROOT)}.")
    return True


def _log_lines(log: Path) -> list[str]:
    """mutmut's log, its spinner frames (carriage-return separated) as lines."""
    return log.read_text(encoding="utf-8", errors="replace").replace("\r", "\n").splitlines()


def _progress(log: Path) -> str:
    """The last progress line mutmut drew ("⠏ 310/5780  🎉 277 ... 🙁 33"), as "310/5780 judged, 33 survived"."""
    for line in reversed(_log_lines(log)):
        match = re.search(r"(\d+)/(\d+)\s+🎉 (\d+).*🙁 (\d+)", line)
        if match:
            done, total, _, survived = match.groups()
            return f"{done}/{total} judged, {survived} survived so far"
        if line.strip():
            return line.strip(" ⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")  # a phase: generating mutants, running stats, clean tests ...
    return "starting"


_HELPER = """
import json, sys
from mutmut.mutation.data import SourceFileMutationData
from mutmut.utils.file_utils import walk_mutatable_files
from mutmut.stats import status_by_exit_code
from mutmut.__main__ import copy_src_dir, create_mutants
wanted = set(sys.argv[3:])
if sys.argv[1] == "generate":
    copy_src_dir(); create_mutants(2)
out = {}
for path in walk_mutatable_files():
    data = SourceFileMutationData(path=path); data.load()
    for name, code in data.exit_code_by_key.items():
        function = name.rsplit("__mutmut_", 1)[0].rsplit(".", 1)[1]
        out[name] = {"status": status_by_exit_code[code], "path": str(path),
                     "hash": data.hash_by_function_name.get(function)}
if sys.argv[1] == "diffs":
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    out = {name: get_diff_for_mutant(name, path=out[name]["path"]) for name in wanted}
json.dump(out, open(sys.argv[2], "w"))
"""


def _helper(project: Path, mode: str, names: list[str] | None = None) -> dict:
    """Ask mutmut (pinned in pyproject) for the mutants it generated, their statuses or their diffs."""
    answer = project.resolve() / f"mutmut-{mode}.json"
    result = subprocess.run(
        [sys.executable, "-c", _HELPER, mode, str(answer), *(names or [])],
        cwd=project,
        check=False,
        text=True,
        capture_output=True,
    )
    if result.returncode != 0:
        raise UserError(
            f"mutmut could not {mode} in {project}: {result.stderr.strip().splitlines()[-1:]}; "
            "rerun `bash scripts/bootstrap.sh` to install the pinned mutmut."
        )
    return json.loads(answer.read_text(encoding="utf-8"))


def _changed_line(diff: str) -> str:
    """The mutant's added line(s), whitespace-collapsed: what the equivalents table records as the change."""
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return " / ".join(re.sub(r"\s+", " ", line) for line in added)


def read_equivalents(doc: Path = TESTING_DOC) -> dict[str, tuple[str, str]]:
    """mutant -> (change, reason) from the markdown table under EQUIVALENTS_HEADING in docs/testing.md."""
    if not doc.exists():
        return {}
    rows: dict[str, tuple[str, str]] = {}
    in_section = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_section = line.strip() == EQUIVALENTS_HEADING
            continue
        row = line.strip()
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", row[1:-1])] if in_section and row.startswith("|") else []
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = (cells[1].strip("`").replace("\\|", "|"), cells[2])
    return rows


def select(project: Path, max_mutants: int | None, seed: int) -> dict[str, str | None]:
    """The mutants to judge, each with the hash mutmut keeps of its function's source."""
    generated = _helper(project, "generate")
    names = sorted(generated)
    if not names:
        raise UserError("No mutants were generated: check --paths (files or folders inside services/).")
    if max_mutants is not None and max_mutants < len(names):
        names = sorted(sorted(names, key=lambda name: _sample_key(seed, name))[:max_mutants])
    return {name: generated[name]["hash"] for name in names}


def _sample_key(seed: int, name: str) -> str:
    """A mutant's place in the seed's sample: its own hash, so a change elsewhere in services/ (mutants added or
    removed in another function) leaves every other mutant's membership in the sample as it was."""
    return hashlib.sha256(f"{seed}:{name}".encode()).hexdigest()


def carried_over(previous: dict, selected: dict[str, str | None]) -> dict[str, str]:
    """Killed verdicts of the previous report that still hold: same mutant of a function whose source is unchanged.

    Only kills are kept (tests are added, so a kill stays a kill unless a test was weakened, which the full run
    would show); every survivor, every timeout (it may have been the machine) and every mutant of a changed
    function is judged again."""
    killed = previous.get("killed_hashes", {})
    return {
        name: "killed"
        for name, digest in selected.items()
        if digest is not None and killed.get(name) == digest and previous["statuses"].get(name) == "killed"
    }


def _previous_report() -> dict:
    path = WORK_DIR / "report.json"
    if not path.exists():
        raise UserError(
            "--resume needs build/mutation/report.json from an earlier `invoke mutate`: run it without --resume first."
        )
    return json.loads(path.read_text(encoding="utf-8"))


def run(
    paths: list[str] | None = None,
    max_mutants: int | None = None,
    seed: int = CI_SEED,
    workers: int | None = None,
    target: float = TARGET_SCORE,
    resume: bool = False,
    tests: list[str] | None = None,
    simulation: bool = True,
    budget_minutes: float | None = None,
) -> Report:
    """`tests` (test files or folders) replaces the two suites by one pass over just those tests: the quick
    look at one module; its score can only be lower than the suites' (fewer tests, fewer kills).
    `simulation=False` skips the simulation pass (CI's bounded pass): again a score that can only be lower.
    `budget_minutes` stops the run then (a run of all of services/ takes hours): the report holds what was judged,
    the rest is "not checked", and `--resume` goes on from there."""
    started = time.monotonic()
    deadline = started + budget_minutes * 60 if budget_minutes else None
    only = _only_mutate(paths or ["services"])
    if tests:
        passes: tuple[Pass, ...] = (Pass("selected", (*_test_paths(tests), *PASSES[0].tests[1:])),)
    else:
        passes = PASSES if simulation else PASSES[:1]
    workers = workers or os.cpu_count() or 1
    previous = _previous_report() if resume else None
    report = Report(passes=tuple(stage.name for stage in passes))
    snapshot = _snapshot()
    pending: list[str] | None = None
    for stage in passes:
        if pending == []:
            break
        project = WORK_DIR / stage.name
        _stage(project, snapshot, only, stage.tests, stage.isolation)
        if pending is None:
            selected = select(project, max_mutants, seed)
            kept = carried_over(previous, selected) if previous else {}
            for name, status in kept.items():
                report.statuses[name], report.killed_by[name], report.hashes[name] = status, CARRIED, selected[name]
            pending = [name for name in selected if name not in kept]
            report.hashes.update({name: digest for name, digest in selected.items() if digest is not None})
            print(
                f"mutate: {len(selected)} mutants of {', '.join(paths or ['services'])} (seed {seed}); "
                + (f"{len(kept)} kills kept from the previous report (unchanged functions); " if previous else "")
                + f"{stage.name} suite first; mutmut's own output: build/mutation/<suite>/mutmut.log",
                flush=True,
            )
            if not pending:
                break
        print(f"\n=== mutmut: {len(pending)} mutants against the {stage.name} suite", flush=True)
        stage_started = time.monotonic()
        finished = _mutmut_run(project, workers, pending, deadline)
        statuses = _helper(project, "statuses")
        for name in pending:
            status = statuses[name]["status"]
            if report.statuses.get(name) == "survived" and status == NOT_CHECKED:
                continue  # a later pass stopped before it: the earlier survival stands
            report.statuses[name] = status
            if status in KILLED:
                report.killed_by[name] = stage.name
        print(
            f"    {report.killed_by_pass()[stage.name]} killed by the {stage.name} suite in {time.monotonic() - stage_started:.0f}s",
            flush=True,
        )
        pending = [name for name in pending if report.statuses[name] not in KILLED | {NOT_CHECKED}]
        if not finished:
            break
    survivors = [name for name, status in report.statuses.items() if status not in KILLED | {NOT_CHECKED}]
    report.diffs = _helper(project, "diffs", survivors) if survivors else {}  # every staged project has them all
    for name, (change, reason) in read_equivalents().items():
        if name in report.diffs and _changed_line(report.diffs[name]) == change:
            report.equivalent[name] = reason
    report.seconds = time.monotonic() - started
    _write_report(report, paths or ["services"], max_mutants, seed)
    _print(report, target)
    if report.unjudged:
        print(
            f"PARTIAL: {len(report.unjudged)} of {len(report.statuses)} mutants not judged within the budget; "
            "the score above is of the judged ones. Run the same command with --resume to go on.",
            flush=True,
        )
        return report
    if report.score < target:
        raise UserError(
            f"Mutation score {report.score:.1f}% is under the {target:.0f}% target: kill the survivors "
            f"listed in {WORK_DIR.relative_to(REPO_ROOT)}/survivors.txt or list true equivalents in docs/testing.md."
        )
    return report


def _write_report(report: Report, paths: list[str], max_mutants: int | None, seed: int) -> None:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    summary = {
        "paths": paths,
        "max": max_mutants,
        "seed": seed,
        "seconds": round(report.seconds),
        "mutants": len(report.statuses),
        "equivalent": len(report.equivalent),
        "killed": len(report.killed),
        "survived": len(report.survivors),
        "score": round(report.score, 1),
        "unjudged": len(report.unjudged),
        "killed_by": report.killed_by_pass(),
        "statuses": report.statuses,
        "equivalents": report.equivalent,
        "killed_hashes": {name: report.hashes[name] for name in report.killed if name in report.hashes},
    }
    (WORK_DIR / "report.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    blocks = [
        f"# {name}: {report.statuses[name]}\n# change: {_changed_line(report.diffs.get(name, ''))}\n"
        f"{report.diffs.get(name, '')}"
        for name in sorted(report.survivors)
    ]
    (WORK_DIR / "survivors.txt").write_text("\n".join(blocks), encoding="utf-8")


def _print(report: Report, target: float) -> None:
    print("\nSurviving mutants (diffs in build/mutation/survivors.txt):")
    for name in sorted(report.survivors):
        print(f"  {name} [{report.statuses[name]}]: {_changed_line(report.diffs.get(name, ''))}")
    by_pass = ", ".join(f"{name} {count}" for name, count in report.killed_by_pass().items())
    timeouts = sum(1 for name in report.killed if report.statuses[name] == "timeout")
    print(
        f"\nMutation score: {report.score:.1f}% ({len(report.killed)} killed of {len(report.judged)}, "
        f"{timeouts} of them by a timeout; {by_pass}; "
        f"{len(report.equivalent)} equivalent excluded; {len(report.survivors)} survived) in {report.seconds:.0f}s; "
        f"target {target:.0f}%."
    )


def ci_sample() -> Report:
    """CI's bounded pass: the fixed seeded sample, judged by the unit suite alone (the simulation pass would add
    ~2 minutes of stats for a few kills), failing under the target."""
    return run(max_mutants=CI_SAMPLE, seed=CI_SEED, simulation=False)
