"""`invoke mutate` (scripts/mutation.py): how it reads the equivalents table, names a mutant's change, maps --paths
and computes the score."""

from __future__ import annotations

import pytest

from scripts import mutation
from scripts.common import UserError

DIFF = """--- src/shared/outbox.py
+++ src/shared/outbox.py
@@ -1,3 +1,3 @@
 def drain(limit):
-    return read(limit=limit,   ttl=60)
+    return read(limit=limit,   ttl=61)
"""


def test_changed_line_is_the_added_lines_whitespace_collapsed():
    assert mutation._changed_line(DIFF) == "return read(limit=limit, ttl=61)"
    two = DIFF + "+    x  =  1\n"
    assert mutation._changed_line(two) == "return read(limit=limit, ttl=61) / x = 1"


def test_equivalents_are_read_only_from_their_section(tmp_path):
    doc = tmp_path / "testing.md"
    doc.write_text(
        "# Testing\n\n## Survivors\n\n| mutant | change | reason |\n|---|---|---|\n"
        "| `a.b.x_f__mutmut_1` | `return 1` | not an equivalent: another section |\n\n"
        "## Equivalent mutants\n\n| mutant | change | why no test can tell |\n|---|---|---|\n"
        "| `shared.outbox.x_drain__mutmut_7` | `return read(limit=limit, ttl=61)` | the TTL is never read |\n"
        "| `order.api.x_route__mutmut_2` | `a \\| b` | a pipe escaped inside a cell |\n"
        "| not-a-mutant | x | header-like rows without a code name are ignored |\n\n"
        "## Next\n\n| `c.d.x_g__mutmut_3` | `y` | after the section |\n",
        encoding="utf-8",
    )
    assert mutation.read_equivalents(doc) == {
        "shared.outbox.x_drain__mutmut_7": ("return read(limit=limit, ttl=61)", "the TTL is never read"),
        "order.api.x_route__mutmut_2": ("a | b", "a pipe escaped inside a cell"),
    }
    assert mutation.read_equivalents(tmp_path / "missing.md") == {}


def test_paths_map_to_globs_over_the_staged_src():
    assert mutation._only_mutate(["services"]) == ["src/*"]
    assert mutation._only_mutate(["services/payment", "services/shared/outbox.py"]) == [
        "src/payment/*",
        "src/shared/outbox.py",
    ]
    with pytest.raises(UserError, match="inside services/"):
        mutation._only_mutate(["scripts/seed.py"])
    with pytest.raises(UserError, match="does not exist"):
        mutation._only_mutate(["services/nope.py"])


def test_score_excludes_equivalents_and_counts_timeouts_as_killed():
    report = mutation.Report(
        statuses={"m1": "killed", "m2": "timeout", "m3": "survived", "m4": "no tests", "m5": "survived"},
        equivalent={"m5": "why"},
    )
    assert sorted(report.killed) == ["m1", "m2"]
    assert sorted(report.survivors) == ["m3", "m4"]
    assert report.score == 50.0
    assert mutation.Report().score == 100.0


def test_progress_reads_the_last_frame_mutmut_drew(tmp_path):
    log = tmp_path / "mutmut.log"
    log.write_text(
        "⠋ Running stats\r⠙ Running stats\n    done\nRunning mutation testing\n"
        "⠏ 0/50  🎉 0 🫥 0  ⏰ 0  🤔 0  🙁 0\r⠋ 12/50  🎉 9 🫥 0  ⏰ 0  🤔 0  🙁 3  🔇 0  🧙 0",
        encoding="utf-8",
    )
    assert mutation._progress(log) == "12/50 judged, 3 survived so far"
    log.write_text("⠋ Generating mutants\r⠙ Running stats", encoding="utf-8")
    assert mutation._progress(log) == "Running stats"
    log.write_text("", encoding="utf-8")
    assert mutation._progress(log) == "starting"


def test_resume_keeps_only_kills_of_unchanged_functions():
    previous = {
        "statuses": {
            "m.x_f__mutmut_1": "killed",
            "m.x_f__mutmut_2": "survived",
            "m.x_g__mutmut_1": "timeout",
            "m.x_h__mutmut_1": "killed",
            "m.x_f__mutmut_3": "timeout",
        },
        "killed_hashes": {
            "m.x_f__mutmut_1": "aaa",
            "m.x_g__mutmut_1": "bbb",
            "m.x_h__mutmut_1": "ccc",
            "m.x_f__mutmut_3": "aaa",
        },
    }
    selected = {
        "m.x_f__mutmut_1": "aaa",  # same function source: the kill holds
        "m.x_f__mutmut_2": "aaa",  # a survivor is judged again
        "m.x_g__mutmut_1": "b2b",  # its function changed: judged again
        "m.x_h__mutmut_1": None,  # no hash known: judged again
        "m.x_k__mutmut_1": "ddd",  # new mutant
        "m.x_f__mutmut_3": "aaa",
    }  # a timeout is judged again (it may have been the machine)
    assert mutation.carried_over(previous, selected) == {"m.x_f__mutmut_1": "killed"}


def test_log_statements_are_the_lines_left_unmutated():
    import re

    patterns = [re.compile(p) for p in mutation.NOT_MUTATED_PATTERNS]
    unmutated = [
        '    logger.info("order created", extra={"x": 1})',
        "        _logger.warning(",
        "logger.exception('boom')",
    ]
    mutated = [
        "    logger = Logger()",
        '    metrics.add_metric(name="x", unit="Count", value=1)',
        "    _logger.append_keys(orderId=order_id)",
        "    log = logger.info  # not a call on this line",
    ]
    assert [line for line in unmutated if any(p.search(line) for p in patterns)] == unmutated
    assert [line for line in mutated if any(p.search(line) for p in patterns)] == []


def test_tests_must_name_files_or_folders_inside_tests():
    assert mutation._test_paths(["tests/unit/test_inventory.py"]) == ["tests/unit/test_inventory.py"]
    for bad in ["services/inventory", "tests/unit/nope.py", "../tests"]:
        with pytest.raises(UserError, match="--tests takes test files or folders inside tests/"):
            mutation._test_paths([bad])


def test_the_sample_is_stable_when_other_mutants_come_and_go():
    names = [f"m.x_f__mutmut_{i}" for i in range(1, 201)]
    key = lambda n: mutation._sample_key(7, n)
    sample = set(sorted(names, key=key)[:20])
    grown = names + [f"m.x_g__mutmut_{i}" for i in range(1, 6)]
    regrown = set(sorted(grown, key=key)[:20])
    assert len(sample & regrown) >= 15  # at most the 5 new mutants displace members
    assert sorted(names, key=lambda n: mutation._sample_key(8, n))[:20] != sorted(names, key=key)[:20]


def test_mutants_a_stopped_run_did_not_reach_are_neither_killed_nor_survivors():
    report = mutation.Report(statuses={"m1": "killed", "m2": "survived", "m3": "not checked", "m4": "not checked"})
    assert report.judged == ["m1", "m2"] and report.unjudged == ["m3", "m4"]
    assert report.survivors == ["m2"] and report.score == 50.0
