"""Check a case-level data file against the schema and turn it into the canonical frame.

Every fault is collected with its row, column, value and what was expected, and all of
them are reported together, so an analyst fixes a file in one pass rather than one
error per run. Nothing unrecognised becomes a silent blank: a code that is not known is
an error. The checks are written out here rather than with a frame-checking library
because each message has to quote the raw cell and the row as the analyst sees it
(line of the CSV, spreadsheet row, SPSS case), which only the loader knows.

The loader hands over each column as codes into its distinct values, so every check
here interprets a distinct value once and then works on whole columns of codes: a
file of 200,000 cases is checked in a few seconds and in little more memory than the
frame it becomes.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bulletin import schema
from bulletin.config import (
    AnalysisSettings,
    Edition,
    default_settings,
    load_edition,
    previous_path,
)
from bulletin.errors import BulletinError, Problem
from bulletin.load import (
    DataProblem,
    Formula,
    RawTable,
    UserMissing,
    column_ref,
    read_table,
)
from bulletin.sufficiency import sufficiency_problems

SHOW_PER_KIND = 50  # problems printed per kind; the rest are counted, never hidden

# Kinds of fault, in the order a report lists them (column faults first: they explain
# many cell faults).
KINDS: tuple[tuple[str, str], ...] = (
    ("file", "The file"),
    ("columns-missing", "Missing or misspelled columns"),
    ("columns-duplicate", "Columns given more than once"),
    ("columns-extra", "Columns not used"),
    ("row-length", "Rows with the wrong number of values"),
    ("blank", "Required values left blank"),
    ("control", "Control characters in cells"),
    ("not-data", "Spreadsheet errors, formulas without a result, and NULL"),
    ("code", "Unknown codes"),
    ("number", "Not a number"),
    ("whole-number", "Not a whole number"),
    ("range", "Outside the plausible range"),
    ("month", "Report month not written YYYY-MM"),
    ("duplicate-id", "Case ids used more than once"),
    ("interview", "Interview details on a case without an RO interview"),
    ("provider", "Provider-level inconsistencies"),
    ("model", "Too little data for the tables and models"),
    ("other", "Other problems"),
)
_HEADINGS = dict(KINDS)

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_MONTHISH = re.compile(r"(\d{4})[-/.](\d{1,2})(?:[-/.]\d{1,2})?(?:[ T].*)?")


class DataError(BulletinError):
    """A data file with faults: its report groups them by kind and caps each group."""

    def __init__(self, message: str, problems: tuple[Problem, ...], intro: str = "") -> None:
        super().__init__(message, problems)
        self.intro = intro

    def report(self) -> str:
        lines = [str(self)]
        if self.intro:
            lines.append(self.intro)
        return "\n".join(lines + [format_problems(self.problems)])


# --- public API -----------------------------------------------------------------------

def load_valid(path: Path, settings: AnalysisSettings, models: bool = True) -> pd.DataFrame:
    """The checked canonical frame, or `DataError` (a `BulletinError`) with every problem.

    `models=False` leaves out the check that the data suffice for the models (a test of
    how a few cells are read need not hold a whole year's variety)."""
    table = read_table(path, settings.max_data_mib)
    frame, problems = check(table, settings, models)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DataError(f"{path}: {_count(len(errors), 'error')} in the data file",
                        problems, f"({table.convention})")
    warnings = len(problems) - len(errors)
    if warnings:
        print(f"  {path}: {_count(warnings, 'warning')}; see "
              f"`bulletin validate {path}`", file=sys.stderr)
    assert frame is not None
    return frame


def validate_command(path: Path | None, edition: str | None,
                     max_mib: int | None = None) -> int:
    """The `validate` subcommand: print every problem; 0 when clean, 2 when not.

    With --edition it checks everything a build of that edition reads: the edition file,
    its data file (or `path`), last year's edition file and last year's data file."""
    ed = load_edition(edition) if edition else None
    settings = ed.analysis if ed else default_settings()
    if path is None:
        if ed is None:
            raise BulletinError("validate: give a data file, or --edition ID to check that "
                                "edition's own data file")
        path = ed.data_file
    limit = max_mib or settings.max_data_mib
    if ed is not None and path == ed.data_file and not path.exists():
        raise BulletinError(f"edition {ed.id}'s data file {path} not found; expected the "
                            f"file named by 'data' in {ed.source_file}")
    table = read_table(path, limit)
    _frame, problems = check(table, settings)
    print(format_report(table, problems))
    code = 2 if any(p.severity == "error" for p in problems) else 0
    if ed is not None and ed.previous:
        code = max(code, _validate_previous(ed, max_mib))
    return code


def _validate_previous(edition: Edition, max_mib: int | None) -> int:
    """Last year's edition file and data, which a build reads for its year-on-year
    wording: a fault there is named as last year's, so it is not mistaken for this one's."""
    last = f"previous edition {edition.previous}"
    path = previous_path(edition)
    try:
        previous = load_edition(path)
    except BulletinError as exc:
        raise BulletinError(f"{last} ({path}): {exc}", exc.problems) from None
    data = previous.data_file
    if not data.exists():
        raise BulletinError(f"{last}'s data file {data} not found; expected the file named "
                            f"by 'data' in {path} (a build of {edition.id} reads it for the "
                            "comparison with last year)")
    try:
        table = read_table(data, max_mib or previous.analysis.max_data_mib)
    except BulletinError as exc:
        raise BulletinError(f"{last}'s data file: {exc}", exc.problems) from None
    _frame, problems = check(table, previous.analysis)
    print(f"\n{last}'s data file:")
    print(format_report(table, problems))
    return 2 if any(p.severity == "error" for p in problems) else 0


def check(table: RawTable, settings: AnalysisSettings, models: bool = True
          ) -> tuple[pd.DataFrame | None, tuple[Problem, ...]]:
    """Every problem in the table, and the canonical frame if there are no errors."""
    cols = schema.columns(settings)
    problems: list[Problem] = list(table.problems)
    where, column_problems = _match_columns(table, cols)
    problems += column_problems
    parsed: dict[str, Parsed] = {}
    for col in cols:
        if col.name in where:
            parsed[col.name], faults = _parse_column(table, where[col.name], col)
            problems += faults
    problems += _required(table, where, cols, parsed)
    problems += _interview(table, where, cols, parsed)
    problems += _duplicate_ids(table, where, parsed)
    problems += _providers(table, where, parsed)
    if models and not any(p.severity == "error" for p in problems):
        written = {name: table.header[j] for name, j in where.items()}
        coded = {name: (c.codes, c.values.tolist()) for name, c in parsed.items()}
        whole = {c.name for c in cols if c.kind == "integer"}
        problems += sufficiency_problems(coded, whole, settings, table.file, written)
    if any(p.severity == "error" for p in problems):
        return None, tuple(problems)
    return _frame(cols, parsed), tuple(problems)


# --- columns --------------------------------------------------------------------------

def _column_key(name: str) -> str:
    """Capitals, spaces, '-' and '_' never distinguish column names."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _match_columns(table: RawTable, cols: tuple[schema.Column, ...]
                   ) -> tuple[dict[str, int], list[Problem]]:
    wanted = {_column_key(c.name): c.name for c in cols}
    found: dict[str, list[int]] = defaultdict(list)
    extras: list[int] = []
    for j, header in enumerate(table.header):
        if not header:
            continue  # an unnamed column: the loader warns if it holds anything
        key = _column_key(header)
        if key in wanted:
            found[wanted[key]].append(j)
        else:
            extras.append(j)
    problems: list[Problem] = []
    where = {name: js[0] for name, js in found.items()}

    def ref(j: int) -> str:
        return f"'{table.header[j]}' (column {column_ref(table.format, j)})"

    for name, js in found.items():
        if len(js) > 1:
            problems.append(DataProblem(
                table.file, f"{len(js)} columns match '{name}': "
                + ", ".join(ref(j) for j in js) + "; the first was used",
                "each column once", column=name, kind="columns-duplicate"))
    spare = {_column_key(table.header[j]): j for j in extras}
    suggested: set[int] = set()
    for col in cols:
        if col.name in where:
            continue
        guess = difflib.get_close_matches(_column_key(col.name), list(spare), n=1, cutoff=0.6)
        hint = ""
        if guess:
            j = spare[guess[0]]
            suggested.add(j)
            hint = f"did you mean {ref(j)}?"
        problems.append(DataProblem(
            table.file, f"column '{col.name}' is missing", f"a column named '{col.name}' "
            "(capitals, spaces, '-' and '_' do not matter)", column=col.name,
            kind="columns-missing", hint=hint))
    for j in extras:
        if j not in suggested:
            problems.append(DataProblem(
                table.file, f"column {ref(j)} is not part of the schema and is ignored",
                "only the columns in docs/data.md", column=table.header[j],
                severity="warning", kind="columns-extra"))
    return where, problems


# --- cells ----------------------------------------------------------------------------

# A parse outcome: (canonical value or None, fault kind or None, message, expected, hint).
Outcome = tuple[object, str | None, str, str, str]


def _label_key(text: str) -> str:
    """Capitals, surrounding space and runs of spaces, '_' and '-' never matter."""
    return re.sub(r"[\s_\-]+", " ", text.casefold()).strip()


_MISSING = frozenset(_label_key(s) for s in schema.MISSING_SPELLINGS)
_NOT_APPLICABLE = frozenset(_label_key(s) for s in schema.NOT_APPLICABLE_SPELLINGS)


def _text(value: object) -> str:
    """A cell as the analyst would read it (Excel and SPSS give 1.0 for 1)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, Formula):
        return value.text
    if isinstance(value, UserMissing):
        shown = _text(value.value)
        return f"{shown} ({value.label})" if value.label else shown
    return str(value)


def _show(value: object) -> str:
    text = _text(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _parser(col: schema.Column) -> Callable[[object], Outcome]:
    if col.kind == "category":
        return _category_parser(col)
    if col.kind == "integer":
        return lambda v: _parse_integer(v, col)
    if col.kind == "month":
        return _parse_month
    return _parse_text


def _parse_text(value: object) -> Outcome:
    if isinstance(value, UserMissing):
        return None, None, "", "", ""
    text = " ".join(_text(value).split())
    if _label_key(text) in _MISSING:
        return None, None, "", "", ""
    return text, None, "", "", ""


def _category_parser(col: schema.Column) -> Callable[[object], Outcome]:
    lookup: dict[str, str] = {}
    for code in col.allowed:
        lookup[_label_key(code)] = code
        for other in schema.ALSO_ACCEPTED.get(code, ()):
            lookup[_label_key(other)] = code
    allows_na = schema.NOT_APPLICABLE in col.allowed
    if allows_na:
        for spelling in _NOT_APPLICABLE:
            lookup[spelling] = schema.NOT_APPLICABLE
    expected = describe_codes(col)

    def parse(value: object) -> Outcome:
        if isinstance(value, UserMissing):
            label = _label_key(value.label or "")
            if allows_na and label in _NOT_APPLICABLE:
                return schema.NOT_APPLICABLE, None, "", "", ""
            return None, None, "", "", ""
        key = _label_key(_text(value))
        if key in lookup:
            return lookup[key], None, "", "", ""
        if key in _MISSING:
            return None, None, "", "", ""
        guess = difflib.get_close_matches(key, list(lookup), n=1, cutoff=0.75)
        hint = f"did you mean '{lookup[guess[0]]}'?" if guess else ""
        return None, "code", "not a known code", expected, hint

    return parse


def describe_codes(col: schema.Column) -> str:
    """The allowed codes of a category column and their accepted spellings, in words."""
    parts = []
    for code in col.allowed:
        others = list(schema.ALSO_ACCEPTED.get(code, ()))
        if code == schema.NOT_APPLICABLE:
            others = [s for s in schema.NOT_APPLICABLE_SPELLINGS if s != code]
        parts.append(f"'{code}'" + (f" (or {', '.join(others)})" if others else ""))
    text = "one of " + ", ".join(parts) + "; capitals do not matter"
    if col.blank_allowed:
        text += "; blank if " + col.blank_means
    return text


def _parse_integer(value: object, col: schema.Column) -> Outcome:
    span = f"a whole number from {col.low} to {col.high}"
    expected = span + (f", or blank if {col.blank_means}" if col.blank_allowed else "")
    if isinstance(value, UserMissing):
        return None, None, "", "", ""
    number: float | int
    if isinstance(value, bool | date | datetime):
        return None, "number", "not a number", expected, ""
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real):
        number = float(value)
    else:
        text = _text(value).strip()
        if _label_key(text) in _MISSING:
            return None, None, "", "", ""
        if _INT.fullmatch(text):
            number = int(text)
        elif _FLOAT.fullmatch(text):
            number = float(text)
        else:
            return None, "number", "not a number", expected, ""
    if isinstance(number, float):
        if not math.isfinite(number):
            return None, "number", "not a number", expected, ""
        if not number.is_integer():
            return None, "whole-number", "not a whole number", expected, ""
        number = int(number)
    if col.low is not None and number < col.low or col.high is not None and number > col.high:
        return None, "range", f"outside the plausible range for {col.name}", expected, ""
    return number, None, "", "", ""


def _parse_month(value: object) -> Outcome:
    expected = "a month written YYYY-MM, such as 2018-09, or blank if not known"
    if isinstance(value, UserMissing):
        return None, None, "", "", ""
    if isinstance(value, date | datetime):  # a date cell in Excel or SPSS
        return f"{value.year:04d}-{value.month:02d}", None, "", "", ""
    text = _text(value).strip()
    if _label_key(text) in _MISSING:
        return None, None, "", "", ""
    if _MONTH.fullmatch(text):
        return text, None, "", "", ""
    m = _MONTHISH.fullmatch(text)
    hint = ""
    if m and 1 <= int(m.group(2)) <= 12:
        hint = f"did you mean '{m.group(1)}-{int(m.group(2)):02d}'?"
    return None, "month", "not a month written YYYY-MM", expected, hint


# Excel's error values: a formula that failed, or a value pasted from one.
EXCEL_ERRORS = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!",
                "#SPILL!", "#CALC!", "#GETTING_DATA")
_NOT_DATA = {e.casefold(): e for e in EXCEL_ERRORS} | {"null": "NULL"}
# Control characters other than tab, line feed and carriage return (which are spacing).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CELL_EXPECTED = "a value from docs/data.md, or an empty cell where a blank is allowed"


def _cell_fault(value: object) -> Outcome | None:
    """Cells that are not data in any column: control characters, Excel error values,
    formulas saved without a result, and NULL. Each would otherwise pass as a name or
    read as blank and change the figures without a word."""
    if isinstance(value, Formula):
        return (None, "not-data", "a formula with no saved result (the workbook was "
                "written by a program that does not calculate formulas)",
                "a value: open the file in Excel and save it again, or paste the values", "")
    if not isinstance(value, str):
        return None
    control = _CONTROL.search(value)
    if control:
        code = ord(control.group())
        return (None, "control", f"a control character (U+{code:04X}) in the cell",
                "text without control characters; check the export, or retype the cell", "")
    word = _NOT_DATA.get(value.strip().casefold())
    if word == "NULL":
        return (None, "not-data", "NULL is a database's empty marker, not a value",
                _CELL_EXPECTED, "")
    if word:
        return (None, "not-data", f"an Excel error value ({word}), not data",
                _CELL_EXPECTED + "; correct the formula or the value it came from", "")
    return None


# Text that the checks and the text parser leave exactly as it is (letters and digits
# in runs joined by single '-', '_' or '.', like most case ids and names), except these
# words: a missing spelling and NULL.
_PLAIN = re.compile(r"[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)*")
_PLAIN_BUT_SPECIAL = frozenset({"na", "null"})


def _all_plain(values: np.ndarray) -> bool:
    """Whether every value is text that the checks and the text parser leave exactly as
    it is (`_PLAIN`, and not a special word). A column of case ids has a distinct value
    a row, and looking at each in Python took two seconds of a million-case load, so
    they are matched together in C++ (pyarrow's RE2, whose ASCII classes and anchors
    mean what `_PLAIN.fullmatch` means here); anything else is looked at value by
    value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all text: a number, a date, ...
        return False
    if text.null_count or not len(text):
        return False
    if not pc.all(pc.match_substring_regex(text, f"^(?:{_PLAIN.pattern})$")).as_py():
        return False
    # Plain text is ASCII, where lower case is what casefold gives.
    special = pa.array(sorted(_PLAIN_BUT_SPECIAL))
    return not pc.any(pc.is_in(pc.utf8_lower(text), value_set=special)).as_py()


@dataclass
class Parsed:
    """A column interpreted: `codes[i]` indexes `values` (canonical values), -1 where the
    cell is blank or missing or was reported as a fault (`failed`)."""

    codes: np.ndarray
    values: np.ndarray
    failed: np.ndarray

    def known(self) -> np.ndarray:
        return self.codes >= 0

    def equals(self, value: object) -> np.ndarray:
        hits = [k for k, v in enumerate(self.values.tolist()) if v == value]
        return np.isin(self.codes, hits) if hits else np.zeros(len(self.codes), dtype=bool)

    def at(self, i: int) -> object:
        code = self.codes[i]
        return None if code < 0 else self.values[code]

    def full(self) -> np.ndarray:
        """One canonical value (or None) per row, as an object array."""
        lookup = np.empty(len(self.values) + 1, dtype=object)
        lookup[:-1] = self.values
        return lookup[self.codes]


def _parse_column(table: RawTable, j: int, col: schema.Column
                  ) -> tuple[Parsed, list[Problem]]:
    """Each distinct raw value is interpreted once (files repeat a few codes many times),
    then the outcome is spread over the rows by their codes."""
    parse = _parser(col)
    cells = table.columns[j]
    if col.kind in ("id", "text"):  # up to one distinct value a row: the common case first
        if _all_plain(cells.values[:-1]):
            # Each value is its own canonical value (they are distinct), none a fault.
            return Parsed(cells.codes.copy(), cells.values[:-1].copy(),
                          np.zeros(len(cells.codes), dtype=bool)), []
        slow = parse

        def parse(value: object) -> Outcome:
            if (type(value) is str and _PLAIN.fullmatch(value)
                    and value.casefold() not in _PLAIN_BUT_SPECIAL):
                return value, None, "", "", ""
            return _cell_fault(value) or slow(value)

        outcomes = [parse(v) for v in cells.values[:-1].tolist()]
    else:
        outcomes = [_cell_fault(v) or parse(v) for v in cells.values[:-1].tolist()]
    canonical: dict[object, int] = {}
    to_canonical = np.full(len(outcomes) + 1, -1, dtype=np.int32)  # the last serves -1
    for u, outcome in enumerate(outcomes):
        if outcome[0] is not None:
            to_canonical[u] = canonical.setdefault(outcome[0], len(canonical))
    values = np.empty(len(canonical), dtype=object)
    values[:] = list(canonical)
    faulty = [u for u, outcome in enumerate(outcomes) if outcome[1] is not None]
    failed = (np.isin(cells.codes, faulty) if faulty
              else np.zeros(len(cells.codes), dtype=bool))
    problems: list[Problem] = []
    written = table.header[j]
    for i in np.flatnonzero(failed).tolist():
        _, kind, message, expected, hint = outcomes[cells.codes[i]]
        problems.append(DataProblem(
            table.file, message, expected, row=table.rows[i], column=col.name,
            written=written, value=_show(cells[i]), place=table.place(i), kind=kind,
            hint=hint))
    return Parsed(to_canonical[cells.codes], values, failed), problems


def _written(table: RawTable, where: dict[str, int], name: str) -> str:
    """The column's name as the file writes it (messages show both if they differ)."""
    return table.header[where[name]] if name in where else ""


# --- rows -----------------------------------------------------------------------------

def _required(table: RawTable, where: dict[str, int], cols: Iterable[schema.Column],
              parsed: dict[str, Parsed]) -> list[Problem]:
    problems: list[Problem] = []
    for col in cols:
        if col.blank_allowed or col.name not in parsed:
            continue
        j = where[col.name]
        expected = (describe_codes(col) if col.kind == "category"
                    else "a value: " + col.description.split(". ")[0].rstrip("."))
        column = parsed[col.name]
        blank = np.flatnonzero(~column.known() & ~column.failed).tolist()
        if len(blank) > 1 and len(blank) == table.n_rows:  # one message, not thousands
            problems.append(DataProblem(
                table.file, f"a required column is blank on every row "
                f"({_count(len(blank), 'row')})", expected, column=col.name,
                written=table.header[j], kind="blank"))
            continue
        cells = table.columns[j]
        for i in blank:
            raw = cells[i]
            problems.append(DataProblem(
                table.file, "a required value is blank or missing", expected,
                row=table.rows[i], column=col.name, written=table.header[j],
                value=None if raw is None else _show(raw), place=table.place(i),
                kind="blank"))
    return problems


def _interview(table: RawTable, where: dict[str, int], cols: Iterable[schema.Column],
               parsed: dict[str, Parsed]) -> list[Problem]:
    """Interview details must be blank when the RO was not interviewed. "Not applicable"
    there is read as blank: without an interview no question applied."""
    if "ro_interviewed" not in parsed:
        return []
    fields = [c for c in cols if c.needs_interview and c.name in parsed]
    not_interviewed = parsed["ro_interviewed"].equals(schema.NO)
    found: dict[int, list[tuple[schema.Column, object]]] = defaultdict(list)
    for col in fields:
        column = parsed[col.name]
        filled = not_interviewed & column.known()
        if not filled.any():
            continue
        na = filled & column.equals(schema.NOT_APPLICABLE)
        column.codes[na] = -1
        raw = table.columns[where[col.name]]
        for i in np.flatnonzero(filled & ~na).tolist():
            found[i].append((col, raw[i]))
    problems: list[Problem] = []
    j_ro = where["ro_interviewed"]
    for i, items in sorted(found.items()):
        expected = "blank, because ro_interviewed is 'no' (or ro_interviewed 'yes')"
        if len(items) == 1:
            col, raw = items[0]
            problems.append(DataProblem(
                table.file, f"{col.name} is filled in on a case without an RO interview",
                expected, row=table.rows[i], column=col.name,
                written=_written(table, where, col.name),
                value=_show(raw), place=table.place(i), kind="interview"))
        else:
            listed = ", ".join(f"{c.name}={_show(r)!r}" for c, r in items[:6])
            more = f" and {len(items) - 6} more" if len(items) > 6 else ""
            problems.append(DataProblem(
                table.file, f"ro_interviewed is 'no' but {len(items)} interview fields are "
                f"filled in: {listed}{more}", expected, row=table.rows[i],
                column="ro_interviewed", written=table.header[j_ro],
                value=_show(table.columns[j_ro][i]),
                place=table.place(i), kind="interview"))
    return problems


def _at(table: RawTable, i: int) -> str:
    place = table.place(i)
    return f"row {table.rows[i]}" + (f" ({place})" if place else "")


def _first_rows(codes: np.ndarray, size: int) -> np.ndarray:
    """The first row holding each code 0..size-1 (-1 where a code never occurs)."""
    first = np.full(size, -1, dtype=np.int64)
    present = np.flatnonzero(codes >= 0)
    found, position = np.unique(codes[present], return_index=True)
    first[found] = present[position]
    return first


def _duplicate_ids(table: RawTable, where: dict[str, int],
                   parsed: dict[str, Parsed]) -> list[Problem]:
    if "case_id" not in parsed:
        return []
    ids = parsed["case_id"]
    first = _first_rows(ids.codes, len(ids.values))
    again = ids.known()
    again[first[first >= 0]] = False
    problems: list[Problem] = []
    for i in np.flatnonzero(again).tolist():
        case = ids.at(i)
        problems.append(DataProblem(
            table.file, f"case id also used in {_at(table, int(first[ids.codes[i]]))}",
            "a different case id on every row", row=table.rows[i], column="case_id",
            written=_written(table, where, "case_id"),
            value=_show(case), place=table.place(i), kind="duplicate-id"))
    return problems


def _groups(keys: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows counted by every combination of codes in `keys`, with each group's first row,
    groups in the order their first rows come in the file."""
    frame = pd.DataFrame(keys)
    frame["row"] = np.arange(len(frame))
    out = frame.groupby(list(keys), sort=False)["row"].agg(["size", "min"]).reset_index()
    return out.sort_values("min", kind="stable").reset_index(drop=True)


def _providers(table: RawTable, where: dict[str, int],
               parsed: dict[str, Parsed]) -> list[Problem]:
    """A provider (name and type together) has one report month and one spelling."""
    if "provider" not in parsed or "provider_type" not in parsed:
        return []
    names, types = parsed["provider"], parsed["provider_type"]
    both = names.known() & types.known()
    rows = np.flatnonzero(both)
    problems: list[Problem] = []
    folded_of = pd.factorize(np.array([str(v).casefold() for v in names.values.tolist()],
                                      dtype=object))[0] if len(names.values) else np.empty(0)
    groups = _groups({"fold": np.asarray(folded_of, dtype=np.int64)[names.codes[rows]],
                      "type": types.codes[rows], "name": names.codes[rows]})
    groups["min"] = rows[groups["min"].to_numpy()]
    by_fold = groups.groupby(["fold", "type"], sort=False)
    order = by_fold["min"].min().sort_values(kind="stable").index
    for key in order:
        spelt = by_fold.get_group(key)
        if len(spelt) < 2:
            continue
        kind = types.values[key[1]]
        ordered = sorted(((str(names.values[n]), int(size), int(first)) for n, size, first
                          in zip(spelt["name"], spelt["size"], spelt["min"], strict=True)),
                         key=lambda t: (-t[1], t[2]))
        odd = ordered[1][2]
        problems.append(DataProblem(
            table.file, f"the {kind} provider is written in {len(ordered)} ways: "
            + "; ".join(f"'{s}' in {_count(n, 'row')} (first {_at(table, first)})"
                        for s, n, first in ordered),
            "one spelling per provider", row=table.rows[odd], column="provider",
            written=_written(table, where, "provider"),
            value=_show(names.at(odd)), place=table.place(odd), kind="provider"))
    if "report_month" not in parsed:
        return problems
    months = parsed["report_month"]
    rows = np.flatnonzero(both & ~months.failed)  # unreadable months already reported
    groups = _groups({"name": names.codes[rows], "type": types.codes[rows],
                      "month": months.codes[rows]})
    groups["min"] = rows[groups["min"].to_numpy()]
    by_provider = groups.groupby(["name", "type"], sort=False)
    order = by_provider["min"].min().sort_values(kind="stable").index
    for key in order:
        group = by_provider.get_group(key)
        name, kind = names.values[key[0]], types.values[key[1]]
        known = sorted(((months.values[m], int(size), int(first)) for m, size, first
                        in zip(group["month"], group["size"], group["min"], strict=True)
                        if m >= 0), key=lambda t: (-t[1], t[2]))
        listed = "; ".join(f"{m} in {_count(n, 'row')} (first {_at(table, first)})"
                           for m, n, first in known)
        blank = group[group["month"] < 0]
        if len(known) > 1:
            odd = known[1][2]
            problems.append(DataProblem(
                table.file, f"provider '{name}' ({kind}) has {len(known)} report months: "
                f"{listed}", "one report month per provider", row=table.rows[odd],
                column="report_month", written=_written(table, where, "report_month"),
                value=str(known[1][0]), place=table.place(odd),
                kind="provider"))
        elif known and len(blank):
            count, first = int(blank["size"].iloc[0]), int(blank["min"].iloc[0])
            problems.append(DataProblem(
                table.file, f"report_month is blank in {_count(count, 'row')} of "
                f"provider '{name}' ({kind}) but {listed}",
                "the same report month on every row of a provider", row=table.rows[first],
                column="report_month", written=_written(table, where, "report_month"),
                place=table.place(first), severity="warning",
                kind="provider"))
    return problems


# --- output ---------------------------------------------------------------------------

def _categorical(col: schema.Column, labels: list[str], codes: np.ndarray,
                 missing: np.ndarray) -> pd.Categorical:
    """The column as a pandas category whose categories do not depend on the file: the
    schema's codes in the schema's order (months in time order), whatever occurs."""
    allowed = [str(a) for a in col.allowed]
    known = set(allowed)
    categories = allowed + sorted(label for label in labels if label not in known)
    position = {c: i for i, c in enumerate(categories)}
    remap = np.array([position[label] for label in labels] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(np.where(missing, -1, remap[np.where(missing, 0, codes)]),
                                     categories=pd.Index(categories, dtype="str"))


def _frame(cols: tuple[schema.Column, ...], parsed: dict[str, Parsed]) -> pd.DataFrame:
    """Whole numbers as nullable integers; coded answers and months as categories; ids
    and names as pandas' string type. One column at a time, so that only one column of
    Python objects exists at once.

    A category column holds a handful of codes over every case, so as a pandas category
    it costs a byte a cell where text costs a dozen or more: at 200,000 cases the frame
    is 15 MiB instead of 74, and every copy the analysis takes shrinks with it. Ids and
    names are (nearly) all distinct, so text is the smaller form for them.
    """
    import pyarrow as pa

    data = {}
    for col in cols:
        column = parsed[col.name]
        missing = column.codes < 0
        if col.kind == "integer":
            values = np.array(column.values.tolist() or [0], dtype=np.int64)
            data[col.name] = pd.arrays.IntegerArray(
                values[np.where(missing, 0, column.codes)], missing)
            continue
        labels = [str(v) for v in column.values.tolist()]
        if col.kind in ("category", "month") and len(set(labels)) == len(labels):
            data[col.name] = _categorical(col, labels, column.codes, missing)
        else:  # decoded by pyarrow from the codes: no Python string per row
            codes = pa.array(column.codes, mask=missing)
            data[col.name] = pd.array(pa.DictionaryArray.from_arrays(
                codes, pa.array(labels, pa.large_string())).dictionary_decode(), dtype="str")
    return pd.DataFrame(data, columns=[c.name for c in cols])


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def format_problems(problems: Iterable[Problem], cap: int = SHOW_PER_KIND) -> str:
    """Errors, then warnings, grouped by kind; at most `cap` shown per kind, the rest
    counted by column so that a wholly wrong file still gives a useful picture."""
    problems = list(problems)
    lines: list[str] = []
    for severity, title in (("error", "ERRORS"), ("warning", "WARNINGS")):
        chosen = [p for p in problems if p.severity == severity]
        if not chosen:
            continue
        lines += ["", f"{title} ({len(chosen):,})"]
        groups: dict[str, list[Problem]] = defaultdict(list)
        for p in chosen:
            kind = getattr(p, "kind", "other")
            groups[kind if kind in _HEADINGS else "other"].append(p)
        for kind, heading in KINDS:
            group = groups.get(kind)
            if not group:
                continue
            group.sort(key=lambda p: (p.row is not None, p.row or 0))
            lines.append(f"{heading}: {len(group):,}")
            lines += [f"  - {p}" for p in group[:cap]]
            rest = group[cap:]
            if rest:
                by_column = Counter(p.column or "(whole file)" for p in rest)
                detail = ", ".join(f"{n:,} in '{c}'" for c, n in by_column.most_common(8))
                if len(by_column) > 8:
                    detail += f", and {len(by_column) - 8} more columns"
                lines.append(f"  ... and {len(rest):,} more of this kind not shown "
                             f"({detail})")
    return "\n".join(lines)


def format_report(table: RawTable, problems: tuple[Problem, ...]) -> str:
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    head = (f"{table.file}: {table.format} file, {_count(table.n_rows, 'data row')} read "
            f"({table.convention}).")
    body = format_problems(problems)
    if errors:
        tail = (f"NOT READY: {_count(errors, 'error')}, {_count(warnings, 'warning')}. "
                "Fix the errors and run validate again; docs/data.md describes every column.")
    else:
        tail = f"OK: no errors, {_count(warnings, 'warning')}."
    return "\n".join([head, body, "", tail] if body else [head, tail])
