"""The reliability battery: fault cases for data files, edition files, templates and
processes, each asserting the exit code, that no traceback is shown, that the message
names the place, and that the previous output and the outside world are untouched.

Every test collected under tests/battery/ is one case; the summary line
`N cases: M held` is printed at the end of the run so the count is visible in CI logs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent
_outcomes: dict[str, str] = {}  # node id -> "passed", "failed" or "skipped"


def _in_battery(item_path: str) -> bool:
    return Path(item_path).resolve().is_relative_to(_HERE)


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not _in_battery(report.fspath):
        return
    if report.outcome != "passed":
        _outcomes[report.nodeid] = report.outcome
    elif report.when == "call":
        _outcomes.setdefault(report.nodeid, "passed")


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    if _outcomes:
        held = sum(v == "passed" for v in _outcomes.values())
        skipped = sum(v == "skipped" for v in _outcomes.values())
        ran = len(_outcomes) - skipped
        line = f"reliability battery: {ran} cases: {held} held"
        if skipped:
            line += f" ({skipped} skipped: not possible on this machine)"
        terminalreporter.write_line(line)
