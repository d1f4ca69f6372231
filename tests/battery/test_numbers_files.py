"""Damaged numbers files given to `diff`, through the real command line.

A numbers file cut off while being written, or edited by hand and broken, must be
refused with its file and line (exit code 2, no traceback), never read as a change in
the numbers. Each case damages one copy of a good file; the other side stays good.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from battery.harness import failed_cleanly, run
from bulletin.facts import RegistryBuilder

TARGET = "table1.b.pct_yes"


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    b = RegistryBuilder()
    b.proportion("table1.a", 46, 100, "Question A")
    b.proportion("table1.b", 61, 120, "Question B, with a comma")
    b.number("fact.ro_interviews", 1965, "Interviews", "count")
    path = tmp_path_factory.mktemp("numbers") / "numbers.csv"
    path.write_text(b.build().to_csv(), encoding="utf-8")
    return path


def _row(lines: list[str]) -> int:
    return next(i for i, ln in enumerate(lines) if ln.startswith(TARGET))


def _field(column: int, value: str) -> Callable[[list[str]], str]:
    def edit(lines: list[str]) -> str:
        import csv
        import io

        i = _row(lines)
        fields = next(csv.reader([lines[i]]))
        fields[column] = value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(fields)
        lines[i] = buf.getvalue()
        return "\n".join(lines) + "\n"
    return edit


def _cut_after(text: str) -> Callable[[list[str]], str]:
    """The file cut off just after `text` on the target row (no line end after it)."""
    def edit(lines: list[str]) -> str:
        i = _row(lines)
        return "\n".join(lines[:i] + [lines[i][:lines[i].index(text) + len(text)]])
    return edit


def _short(lines: list[str]) -> str:
    i = _row(lines)
    lines[i] = ",".join(lines[i].split(",")[:4])
    return "\n".join(lines) + "\n"


def _open_quote(lines: list[str]) -> str:
    i = _row(lines)
    return "\n".join(lines[:i] + [f'{TARGET},50.8,"Question B'] + lines[i + 1:]) + "\n"


# name -> (how the file is damaged, what the message must say besides file and line)
CASES: dict[str, tuple[Callable[[list[str]], str], str]] = {
    "cut-mid-row-key-and-value-only": (_cut_after(",50"), "ends in the middle of a row"),
    "cut-inside-the-label": (_cut_after("Question"), "ends in the middle of a row"),
    "last-row-without-line-end": (lambda ls: "\n".join(ls), "ends in the middle of a row"),
    "short-row": (_short, "field(s) where the header has 8"),
    "missing-label": (_field(2, ""), "column 'label': empty"),
    "missing-unit": (_field(3, ""), "column 'unit': empty"),
    "missing-key": (_field(0, ""), "column 'key': empty"),
    "value-not-a-number": (_field(1, "5O.8"), "'5O.8' is not a number"),
    "flag-not-0-or-1": (_field(7, "maybe"), "column 'unreliable': 'maybe'; expected 0 or 1"),
    "count-not-whole": (_field(4, "sixty-one"), "column 'count'"),
    "unclosed-quote": (_open_quote, "not readable as CSV"),
    "key-twice": (lambda ls: "\n".join(ls + [ls[_row(ls)]]) + "\n", "appears again"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_damaged_numbers_file_is_refused(good: Path, tmp_path: Path, name: str) -> None:
    damage, expected = CASES[name]
    lines = good.read_text(encoding="utf-8").splitlines()
    line = _row(lines) + 1
    if name == "key-twice":
        line = len(lines) + 1
    if name == "last-row-without-line-end":
        line = len(lines)
    bad = tmp_path / "numbers.csv"
    bad.write_text(damage(lines), encoding="utf-8")
    for args in ([str(bad), str(good)], [str(good), str(bad)]):  # either side
        proc = run("diff", *args)
        failed_cleanly(proc, f"{bad}, line {line}", expected)
        assert proc.stdout == ""  # no comparison printed from half a file


NOT_NUMBERS = {
    "not-utf-8": (b"key,value,label\n\xff\xfe,1,x\n", "not a UTF-8 text file"),
    "columns-of-another-file": (b"name,amount\nx,1\n", "missing columns"),
    "without-unit-count-base-columns": (b"key,value,label\nfact.a.b,1,A\n", "missing columns"),
}


@pytest.mark.parametrize("name", list(NOT_NUMBERS))
def test_a_file_that_is_not_a_numbers_file_is_refused(good: Path, tmp_path: Path,
                                                      name: str) -> None:
    content, expected = NOT_NUMBERS[name]
    bad = tmp_path / f"{name}.csv"
    bad.write_bytes(content)
    failed_cleanly(run("diff", str(bad), str(good)), str(bad), expected)
