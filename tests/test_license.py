"""The LICENSE file is the full text of the license pyproject.toml declares."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_license_file_matches_the_declared_license():
    declared = re.search(r'^license = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert declared == "Apache-2.0"  # tomllib is not in Python 3.10
    text = (ROOT / "LICENSE").read_text()
    assert re.match(r"\s*Apache License\s+Version 2\.0, January 2004\s+http://www\.apache\.org/licenses/", text)
    assert "END OF TERMS AND CONDITIONS" in text and text.count("\n") > 170  # the full text, not a notice
