"""Every shipped suite (tasks/suites/*.yaml) is in the docs' suite table and in the README's `run --suite` list."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_shipped_suite_is_in_the_suite_table_and_the_readme():
    suites = sorted(p.stem for p in (ROOT / "tasks" / "suites").glob("*.yaml"))
    assert {"quick", "smoke", "gpu"} <= set(suites)
    table = re.findall(r"^\| `([a-z0-9_]+)`(?: \(default\))? \|", (ROOT / "docs" / "tuning.md").read_text(), re.M)
    assert sorted(set(table) & set(suites)) == suites, f"suites missing from docs/tuning.md: {set(suites) - set(table)}"
    listed = re.search(r"run \[--suite ([a-z0-9_|]+)\|FILE\.yaml\]", (ROOT / "README.md").read_text())
    assert listed and sorted(set(listed.group(1).split("|"))) == suites
