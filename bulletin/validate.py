"""Check a case-level data file against the schema and turn it into the canonical frame.

Every fault is collected with its row, column, value and what was expected, and all of
them are reported together, so an analyst fixes a file in one pass rather than one
error per run. Nothing unrecognised becomes a silent blank: a code that is not known is
an error. The checks are written out here rather than with a frame-checking library
because each message has to quote the raw cell and the row as the analyst sees it
(line of the CSV, spreadsheet row, SPSS case), which only the loader knows.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bulletin import schema
from bulletin.config import AnalysisSettings, default_settings, load_edition
from bulletin.errors import BulletinError, Problem
from bulletin.load import DataProblem, RawTable, UserMissing, column_ref, read_table

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
    ("code", "Unknown codes"),
    ("number", "Not a number"),
    ("whole-number", "Not a whole number"),
    ("range", "Outside the plausible range"),
    ("month", "Report month not written YYYY-MM"),
    ("duplicate-id", "Case ids used more than once"),
    ("interview", "Interview details on a case without an RO interview"),
    ("provider", "Provider-level inconsistencies"),
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

def load_valid(path: Path, settings: AnalysisSettings) -> pd.DataFrame:
    """The checked canonical frame, or `DataError` (a `BulletinError`) with every problem."""
    table = read_table(path)
    frame, problems = check(table, settings)
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


def validate_command(path: Path, edition: str | None) -> int:
    """The `validate` subcommand: print every problem; 0 when clean, 2 when not."""
    settings = load_edition(edition).analysis if edition else default_settings()
    table = read_table(path)
    _frame, problems = check(table, settings)
    print(format_report(table, problems))
    return 2 if any(p.severity == "error" for p in problems) else 0


def check(table: RawTable, settings: AnalysisSettings
          ) -> tuple[pd.DataFrame | None, tuple[Problem, ...]]:
    """Every problem in the table, and the canonical frame if there are no errors."""
    cols = schema.columns(settings)
    problems: list[Problem] = list(table.problems)
    where, column_problems = _match_columns(table, cols)
    problems += column_problems
    parsed: dict[str, list[object]] = {}
    bad: dict[str, set[int]] = {}
    for col in cols:
        if col.name in where:
            values, faults, failed = _parse_column(table, where[col.name], col)
            parsed[col.name], bad[col.name] = values, failed
            problems += faults
    problems += _required(table, where, cols, parsed, bad)
    problems += _interview(table, where, cols, parsed)
    problems += _duplicate_ids(table, where, parsed)
    problems += _providers(table, where, parsed, bad)
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


def _cache_key(value: object) -> object:
    try:
        hash(value)
    except TypeError:
        return (type(value).__name__, repr(value))
    return (type(value).__name__, value)


def _parse_column(table: RawTable, j: int, col: schema.Column
                  ) -> tuple[list[object], list[Problem], set[int]]:
    """Each distinct raw value is interpreted once (files repeat a few codes many times);
    pandas' factorize finds the distinct values, so a large file stays quick."""
    parse = _parser(col)
    column = table.columns[j]
    if set(map(type, column)) <= {str, type(None)}:
        keys: Iterable[object] = column
    else:  # 1, 1.0 and True are equal in Python but are different cells here
        keys = [None if v is None else _cache_key(v) for v in column]
    codes, uniques = pd.factorize(pd.Series(list(keys), dtype=object))
    seen = np.flatnonzero(codes >= 0)
    _, position = np.unique(codes[seen], return_index=True)
    first = seen[position]  # the first row holding each distinct value
    outcomes = [parse(column[i]) for i in first]
    lookup = np.empty(len(outcomes) + 1, dtype=object)  # the last entry serves code -1
    for u, outcome in enumerate(outcomes):
        lookup[u] = outcome[0]
    values = lookup[codes].tolist()
    faulty = [u for u, outcome in enumerate(outcomes) if outcome[1] is not None]
    problems: list[Problem] = []
    failed: set[int] = set()
    if faulty:
        written = table.header[j]
        for i in np.flatnonzero(np.isin(codes, faulty)).tolist():
            _, kind, message, expected, hint = outcomes[codes[i]]
            failed.add(i)
            problems.append(DataProblem(
                table.file, message, expected, row=table.rows[i], column=col.name,
                written=written, value=_show(column[i]), place=table.place(i), kind=kind,
                hint=hint))
    return values, problems, failed


def _written(table: RawTable, where: dict[str, int], name: str) -> str:
    """The column's name as the file writes it (messages show both if they differ)."""
    return table.header[where[name]] if name in where else ""


# --- rows -----------------------------------------------------------------------------

def _required(table: RawTable, where: dict[str, int], cols: Iterable[schema.Column],
              parsed: dict[str, list[object]], bad: dict[str, set[int]]) -> list[Problem]:
    problems: list[Problem] = []
    for col in cols:
        if col.blank_allowed or col.name not in parsed:
            continue
        j = where[col.name]
        expected = (describe_codes(col) if col.kind == "category"
                    else "a value: " + col.description.split(". ")[0].rstrip("."))
        blank = [i for i, value in enumerate(parsed[col.name])
                 if value is None and i not in bad[col.name]]
        if len(blank) > 1 and len(blank) == table.n_rows:  # one message, not thousands
            problems.append(DataProblem(
                table.file, f"a required column is blank on every row "
                f"({_count(len(blank), 'row')})", expected, column=col.name,
                written=table.header[j], kind="blank"))
            continue
        for i in blank:
            raw = table.columns[j][i]
            problems.append(DataProblem(
                table.file, "a required value is blank or missing", expected,
                row=table.rows[i], column=col.name, written=table.header[j],
                value=None if raw is None else _show(raw), place=table.place(i),
                kind="blank"))
    return problems


def _interview(table: RawTable, where: dict[str, int], cols: Iterable[schema.Column],
               parsed: dict[str, list[object]]) -> list[Problem]:
    """Interview details must be blank when the RO was not interviewed. "Not applicable"
    there is read as blank: without an interview no question applied."""
    if "ro_interviewed" not in parsed:
        return []
    fields = [c for c in cols if c.needs_interview and c.name in parsed]
    found: dict[int, list[tuple[schema.Column, object]]] = defaultdict(list)
    for col in fields:
        values = parsed[col.name]
        raw = table.columns[where[col.name]]
        for i, interviewed in enumerate(parsed["ro_interviewed"]):
            if interviewed != schema.NO or values[i] is None:
                continue
            if values[i] == schema.NOT_APPLICABLE:
                values[i] = None
                continue
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


def _duplicate_ids(table: RawTable, where: dict[str, int],
                   parsed: dict[str, list[object]]) -> list[Problem]:
    if "case_id" not in parsed:
        return []
    first: dict[object, int] = {}
    problems: list[Problem] = []
    for i, case in enumerate(parsed["case_id"]):
        if case is None:
            continue
        if case in first:
            problems.append(DataProblem(
                table.file, f"case id also used in {_at(table, first[case])}",
                "a different case id on every row", row=table.rows[i], column="case_id",
                written=_written(table, where, "case_id"),
                value=_show(case), place=table.place(i), kind="duplicate-id"))
        else:
            first[case] = i
    return problems


def _providers(table: RawTable, where: dict[str, int], parsed: dict[str, list[object]],
               bad: dict[str, set[int]]) -> list[Problem]:
    """A provider (name and type together) has one report month and one spelling."""
    if "provider" not in parsed or "provider_type" not in parsed:
        return []
    names, types = parsed["provider"], parsed["provider_type"]
    problems: list[Problem] = []
    spellings: dict[tuple[str, object], dict[str, list[int]]] = defaultdict(dict)
    for i, (name, kind) in enumerate(zip(names, types, strict=True)):
        if name is not None and kind is not None:
            spellings[(str(name).casefold(), kind)].setdefault(str(name), []).append(i)
    for (_, kind), spelt in spellings.items():
        if len(spelt) > 1:
            ordered = sorted(spelt.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
            odd = ordered[1][1][0]
            problems.append(DataProblem(
                table.file, f"the {kind} provider is written in {len(spelt)} ways: "
                + "; ".join(f"'{s}' in {_count(len(rows), 'row')} (first {_at(table, rows[0])})"
                            for s, rows in ordered),
                "one spelling per provider", row=table.rows[odd], column="provider",
                written=_written(table, where, "provider"),
                value=_show(names[odd]), place=table.place(odd), kind="provider"))
    if "report_month" not in parsed:
        return problems
    months: dict[tuple[object, object], dict[object, list[int]]] = defaultdict(dict)
    unreadable = bad["report_month"]  # already reported; not a blank month
    for i, (name, kind, month) in enumerate(zip(names, types, parsed["report_month"],
                                                strict=True)):
        if name is not None and kind is not None and i not in unreadable:
            months[(name, kind)].setdefault(month, []).append(i)
    for (name, kind), by_month in months.items():
        known = sorted(((m, rows) for m, rows in by_month.items() if m is not None),
                       key=lambda kv: (-len(kv[1]), kv[1][0]))
        listed = "; ".join(f"{m} in {_count(len(rows), 'row')} (first {_at(table, rows[0])})"
                           for m, rows in known)
        if len(known) > 1:
            odd = known[1][1][0]
            problems.append(DataProblem(
                table.file, f"provider '{name}' ({kind}) has {len(known)} report months: "
                f"{listed}", "one report month per provider", row=table.rows[odd],
                column="report_month", written=_written(table, where, "report_month"),
                value=str(known[1][0]), place=table.place(odd),
                kind="provider"))
        elif known and None in by_month:
            blank = by_month[None]
            problems.append(DataProblem(
                table.file, f"report_month is blank in {_count(len(blank), 'row')} of "
                f"provider '{name}' ({kind}) but {listed}",
                "the same report month on every row of a provider", row=table.rows[blank[0]],
                column="report_month", written=_written(table, where, "report_month"),
                place=table.place(blank[0]), severity="warning",
                kind="provider"))
    return problems


# --- output ---------------------------------------------------------------------------

def _frame(cols: tuple[schema.Column, ...], parsed: dict[str, list[object]]) -> pd.DataFrame:
    data = {}
    for col in cols:
        dtype = "Int64" if col.kind == "integer" else "str"
        data[col.name] = pd.array(parsed[col.name], dtype=dtype)
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
