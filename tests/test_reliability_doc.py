"""docs/reliability.md lists every case of each battery file it covers, and covers the
battery's template, process and numbers-file cases."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
DOC = PROJECT / "docs" / "reliability.md"
REQUIRED = ("test_templates_confined.py", "test_process.py", "test_numbers_files.py")


def _battery_cases() -> dict[str, list[str]]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "tests/battery"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cases: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        if "::" in line:
            path, case = line.split("::", 1)
            cases.setdefault(Path(path).name, []).append(case)
    return cases


def test_the_doc_lists_every_case_of_each_file_it_covers() -> None:
    text = DOC.read_text(encoding="utf-8")
    covered = set(re.findall(r"^### `tests/battery/(test_\w+\.py)`", text, re.M))
    assert set(REQUIRED) <= covered
    cases = _battery_cases()
    assert set(REQUIRED) <= set(cases)
    missing = [f"{name}::{case}" for name, found in cases.items() if name in covered
               for case in found if f"`{case}`" not in text]
    assert not missing, f"cases not described in docs/reliability.md: {missing}"
    listed = re.findall(r"^\| `(test_[^`]+)` \|", text, re.M)
    known = {case for found in cases.values() for case in found}
    assert not [c for c in listed if c not in known], "the doc lists cases that do not exist"
