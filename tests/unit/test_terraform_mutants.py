"""Every Terraform mutant (scripts/terraform_mutants.py) still applies to the code as it is: its text occurs exactly
once in its file. `invoke mutate-terraform` refuses a stale mutant only after its control run; this finds one at
once (the declaration mutant went stale when integrations.json gained `tables`, and was found only by the task)."""

from __future__ import annotations

import pytest

from scripts import terraform_mutants
from scripts.common import REPO_ROOT


@pytest.mark.parametrize("mutant", terraform_mutants.MUTANTS, ids=lambda m: m.name)
def test_the_mutant_applies_exactly_once(mutant):
    path = REPO_ROOT / "terraform" / mutant.file
    text = path.read_text(encoding="utf-8")
    assert text.count(mutant.old) == 1, f"{mutant.name}: {text.count(mutant.old)} occurrences in {mutant.file}"
    assert mutant.old != mutant.new


def test_the_names_are_unique_and_the_list_is_not_empty():
    names = [m.name for m in terraform_mutants.MUTANTS]
    assert len(names) == len(set(names)) == 20
