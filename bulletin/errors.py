"""Errors that reach the user as a readable message and exit code 2, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One fault in an input, located as precisely as the input allows.

    Problems are values so that a stage can collect all of them and report them
    together, instead of stopping at the first.
    """

    file: str
    message: str
    expected: str = ""
    row: int | None = None  # 1-based data row as the user sees it in a spreadsheet
    column: str | None = None
    value: str | None = None
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (found {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


class BulletinError(Exception):
    """A fault in the user's input or settings: reported plainly, exit code 2."""

    exit_code = 2

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems

    def report(self) -> str:
        lines = [str(self)]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)
