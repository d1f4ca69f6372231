"""Read a case-level data file (CSV, Excel, SPSS or Parquet) into raw cells.

This stage only reads: it keeps every cell as the file gave it (text, number, date or
an SPSS user-missing marker) together with where an analyst would find it, so that
`validate` can quote the exact value and place of every fault. A file that cannot be
read at all (missing, empty, not what its extension says) stops here with one clear
`BulletinError`; faults in individual rows are collected, never raised one by one.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bulletin.errors import BulletinError, Problem

EXTENSIONS = (".csv", ".xlsx", ".sav", ".parquet")

# First bytes of the binary formats people most often mislabel.
_MAGIC = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls workbook, or a password-protected one"),
    (b"$FL2", "an SPSS .sav file"),
    (b"$FL3", "an SPSS .sav file (compressed)"),
    (b"PAR1", "a Parquet file"),
    (b"%PDF", "a PDF document"),
)


@dataclass(frozen=True)
class DataProblem(Problem):
    """A `Problem` that also says where the row is in the file's own terms and which kind
    of fault it is, so reports can group faults and an analyst can find the row."""

    place: str = ""  # e.g. "line 14 of the file", "spreadsheet row 13", "case 12"
    kind: str = "other"
    hint: str = ""  # e.g. "did you mean 'Male'?", shown after the value found
    written: str = ""  # the column's name as the file writes it, if not the canonical one

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
            if self.place:
                where += f" ({self.place})"
        elif self.place:
            where += f", {self.place}"
        if self.column is not None:
            where += f", column '{self.column}'"
            if self.written and self.written != self.column:
                where = where[:-1] + f"' (written '{self.written}')"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (found {self.value!r})"
        if self.hint:
            text += f"; {self.hint}"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


@dataclass(frozen=True)
class UserMissing:
    """An SPSS user-missing code. It means missing, except where its value label says
    "not applicable" and the column allows that answer: validation decides."""

    value: object
    label: str | None


@dataclass(frozen=True)
class RawTable:
    """The cells of one data file, as read, before any interpretation.

    `columns[j][i]` is the cell of the i-th kept row under `header[j]`: a str, int,
    float, bool, date/datetime, `UserMissing`, or None for an empty cell. `rows[i]`
    counts data rows from 1 below the header (blank rows count, so the numbers match
    the file); `places[i]` locates the row in the file's own terms (see `place`).
    """

    file: str
    format: str  # "CSV", "Excel", "SPSS" or "Parquet"
    header: tuple[str, ...]
    columns: tuple[tuple[object, ...], ...]
    rows: tuple[int, ...]  # data-row number (1 = first row below the header)
    places: tuple[int, ...]  # line of the file, spreadsheet row or case number
    problems: tuple[DataProblem, ...] = ()

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    def place(self, i: int) -> str:
        """Where data row i (0-based) is, in words an analyst can act on."""
        n = self.places[i]
        if self.format == "CSV":
            return f"line {n} of the file"
        if self.format == "Excel":
            return f"spreadsheet row {n}"
        if self.format == "SPSS":
            return f"case {n}"
        return ""

    @property
    def convention(self) -> str:
        """How row numbers in messages are counted, for the head of a report."""
        base = "rows are counted from 1 at the first row below the header"
        return {
            "CSV": f"{base}; the line of the file is given in brackets",
            "Excel": f"{base}; the spreadsheet row is given in brackets",
            "SPSS": f"{base}; they are the case numbers in SPSS Data View",
        }.get(self.format, base)


def read_table(path: Path | str) -> RawTable:
    """Read any supported file; raise `BulletinError` if it cannot be read at all."""
    path = Path(path)
    name = str(path)
    ext = path.suffix.lower()
    if path.is_dir():
        raise BulletinError(f"{name}: is a folder; expected a data file "
                            f"({', '.join(EXTENSIONS)})")
    if ext not in EXTENSIONS:
        hint = " (save it as .xlsx or .csv)" if ext == ".xls" else ""
        raise BulletinError(
            f"{name}: cannot read files of type '{ext or '(no extension)'}'{hint}; "
            f"expected one of {', '.join(EXTENSIONS)}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BulletinError(f"{name}: file not found") from None
    except OSError as exc:
        raise BulletinError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise BulletinError(f"{name}: the file is empty")
    reader = {".csv": _read_csv, ".xlsx": _read_excel, ".sav": _read_spss,
              ".parquet": _read_parquet}[ext]
    return reader(path, data)


def _looks_like(data: bytes) -> str | None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    return None


def _not_what_it_says(name: str, expected: str, data: bytes) -> BulletinError:
    what = _looks_like(data)
    if what is None:
        head = data[:2048]
        try:
            head.decode("utf-8")
            what = "a text file"
        except UnicodeDecodeError:
            what = "an unknown binary file"
    return BulletinError(f"{name}: is not {expected}: it looks like {what}. "
                         f"Check the file, or give it the extension of its real type")


# --- CSV ------------------------------------------------------------------------------

def _decode(name: str, data: bytes) -> tuple[str, list[DataProblem]]:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; Windows-1252 as a flagged fallback,
    because Excel's plain "CSV" on Windows writes it."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            raise BulletinError(f"{name}: starts like UTF-16 text but cannot be decoded; "
                                "save it as 'CSV UTF-8'") from None
    what = _looks_like(data)
    if what is not None or b"\x00" in data[:8192]:
        raise BulletinError(
            f"{name}: is not a CSV text file: it looks like {what or 'a binary file'}. "
            "Save it as 'CSV UTF-8 (comma delimited)' or use its real extension")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise BulletinError(
            f"{name}: is not UTF-8 text (first bad byte on line {line}) and not "
            "Windows-1252 either; save it as 'CSV UTF-8 (comma delimited)'") from None
    controls = sum(ch < " " and ch not in "\t\r\n" for ch in text[:8192])
    if controls > len(text[:8192]) / 100:
        raise BulletinError(f"{name}: is not a CSV text file: it looks like a binary file")
    warning = DataProblem(
        name, f"the file is not UTF-8 (first non-UTF-8 byte on line {line}); it was read "
        "as Windows-1252, so check that accented names came out right",
        "a file saved as 'CSV UTF-8'", severity="warning", kind="file")
    return text, [warning]


def _read_csv(path: Path, data: bytes) -> RawTable:
    name = str(path)
    text, problems = _decode(name, data)
    lines = list(io.StringIO(text, newline=""))
    start = 0  # skip leading comments ("# SYNTHETIC ...") and blank lines
    while start < len(lines) and (not lines[start].strip()
                                  or lines[start].lstrip().startswith("#")):
        start += 1
    if start == len(lines):
        raise BulletinError(f"{name}: the file has no header and no data "
                            "(only blank or # comment lines)")
    head = lines[start]
    delimiter = ","
    if "," not in head:
        counts = {d: head.count(d) for d in ("\t", ";")}
        best = max(counts, key=lambda d: counts[d])
        if counts[best]:
            delimiter = best

    consumed = 0

    def feed() -> Iterator[str]:  # counts lines, so each record knows where it starts
        nonlocal consumed
        for line in lines[start:]:
            consumed += 1
            yield line

    reader = csv.reader(feed(), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    try:
        header_line = start + 1
        header = next(reader)
        first = start + consumed + 1
        for record in reader:
            records.append((first, record))
            first = start + consumed + 1
    except csv.Error as exc:
        hint = "; look for an unmatched double quote above it" if "limit" in str(exc) else ""
        raise BulletinError(f"{name}, line {start + consumed}: cannot be read as CSV "
                            f"({exc}){hint}") from None
    return _assemble(name, "CSV", header, records, header_line, problems)


def _assemble(name: str, fmt: str, header: list[object],
              records: list[tuple[int, list[object]]], header_place: int,
              problems: list[DataProblem]) -> RawTable:
    """Shared by CSV and Excel: drop blank rows, check row lengths, store by column.

    In a CSV a row longer than the header means its values have slipped out of line; a
    sheet is a grid, so there a value beyond the header is only an unnamed column. Rows
    may stop short of the header's trailing unnamed columns, or run on with blanks."""
    header_text = [_header_text(h) for h in header]
    named = len(header_text)
    while named and not header_text[named - 1]:
        named -= 1
    if not named:
        raise BulletinError(f"{name}: the header row is blank")
    if fmt == "Excel":
        header_text += [""] * (max((len(r) for _, r in records), default=0) - len(header_text))
    width = len(header_text)
    where = "line {} of the file" if fmt == "CSV" else "spreadsheet row {}"
    kept: list[list[object]] = []
    rows: list[int] = []
    places: list[int] = []
    blank = 0
    unnamed_used: set[int] = set()
    unnamed = [j for j, h in enumerate(header_text) if not h]
    for row, (place, record) in enumerate(records, start=1):
        cells = [(c if c.strip() else None) if isinstance(c, str)
                 else (None if _is_blank(c) else c) for c in record]
        if cells.count(None) == len(cells):
            blank += 1
            continue
        if len(cells) < named or cells[width:].count(None) != max(len(cells) - width, 0):
            found = len(cells)
            if found > width:
                found = max(k + 1 for k, c in enumerate(cells) if c is not None)
            problems.append(DataProblem(
                name, f"this row has {found} values "
                f"but the header names {named} columns, so its cells cannot be matched to "
                "columns (a missing or extra separator, an unmatched double quote, or a "
                "cut-off file?); the row was not checked further",
                f"{named} values", row=row, place=where.format(place), kind="row-length"))
            continue
        cells = cells[:width] + [None] * (width - len(cells))
        for j in unnamed:
            if cells[j] is not None:
                unnamed_used.add(j)
        kept.append(cells)
        rows.append(row)
        places.append(place)
    if not kept and not any(p.kind == "row-length" for p in problems):
        raise BulletinError(f"{name}: has a header ({where.format(header_place)}) but no "
                            "data rows")
    if blank:
        problems.append(DataProblem(name, f"{blank} blank row(s) ignored", severity="warning",
                                    kind="file"))
    for j in sorted(unnamed_used):
        problems.append(DataProblem(
            name, f"column {column_ref(fmt, j)} has values but no name in the header; "
            "it is ignored", "a column name from docs/data.md", severity="warning",
            kind="columns-extra"))
    columns = tuple(zip(*kept, strict=True)) if kept else ((),) * width
    return RawTable(name, fmt, tuple(header_text), columns, tuple(rows), tuple(places),
                    tuple(problems))


def column_ref(fmt: str, j: int) -> str:
    if fmt == "Excel":
        from openpyxl.utils import get_column_letter
        return f"{get_column_letter(j + 1)} ({j + 1})"
    return str(j + 1)


def _header_text(h: object) -> str:
    if _is_blank(h):
        return ""
    if isinstance(h, float) and h.is_integer():
        h = int(h)
    return " ".join(str(h).split())


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    return False


# --- Excel ----------------------------------------------------------------------------

def _read_excel(path: Path, data: bytes) -> RawTable:
    """The first sheet, via pandas and openpyxl; the header is the first non-blank row
    that is not a # comment, so a title row or two above it does no harm."""
    name = str(path)
    if not data.startswith(b"PK\x03\x04"):
        raise _not_what_it_says(name, "an Excel .xlsx workbook", data)
    import pandas as pd
    try:
        with pd.ExcelFile(path, engine="openpyxl") as book:
            sheets = book.sheet_names
            grid = pd.read_excel(book, sheet_name=sheets[0], header=None, dtype=object)
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise BulletinError(f"{name}: cannot be read as an Excel workbook "
                            f"({type(exc).__name__}: {exc})") from None
    problems: list[DataProblem] = []
    if len(sheets) > 1:
        problems.append(DataProblem(
            name, f"the workbook has {len(sheets)} sheets; only the first, "
            f"'{sheets[0]}', was read", severity="warning", kind="file"))
    rows = [list(r) for r in grid.itertuples(index=False, name=None)]
    start = 0
    while start < len(rows) and _above_header(rows, start):
        start += 1
    if start == len(rows):
        raise BulletinError(f"{name}: the first sheet '{sheets[0]}' is empty")
    records = [(i + 1, [_excel_value(c) for c in rows[i]])
               for i in range(start + 1, len(rows))]
    return _assemble(name, "Excel", rows[start], records, start + 1, problems)


def _above_header(rows: list[list[object]], i: int) -> bool:
    """Blank rows, # comments and a title (one filled cell above a wider row) come
    before the header."""
    filled = sum(not _is_blank(c) for c in rows[i])
    if filled == 0 or _comment(rows[i]):
        return True
    wider = next((sum(not _is_blank(c) for c in r) for r in rows[i + 1:]
                  if any(not _is_blank(c) for c in r) and not _comment(r)), 0)
    return filled == 1 and wider > 1


def _comment(row: list[object]) -> bool:
    first = next((c for c in row if not _is_blank(c)), None)
    return isinstance(first, str) and first.lstrip().startswith("#")


def _excel_value(value: object) -> object:
    import pandas as pd
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


# --- SPSS -----------------------------------------------------------------------------

def _read_spss(path: Path, data: bytes) -> RawTable:
    """Value labels applied; user-missing codes kept as `UserMissing` (with their label)
    so that a code labelled "Not applicable" can keep that meaning where it is allowed."""
    name = str(path)
    if not data.startswith((b"$FL2", b"$FL3")):
        raise _not_what_it_says(name, "an SPSS .sav file", data)
    import pyreadstat
    try:
        frame, meta = pyreadstat.read_sav(str(path), user_missing=True, output_format="dict")
    except Exception as exc:  # pyreadstat raises its own types for damaged files
        raise BulletinError(f"{name}: cannot be read as an SPSS .sav file "
                            f"({type(exc).__name__}: {exc})") from None
    header = list(frame)
    if not header:
        raise BulletinError(f"{name}: the SPSS file has no variables")
    n = len(frame[header[0]])
    if n == 0:
        raise BulletinError(f"{name}: the SPSS file has variables but no cases")
    columns = []
    for var in header:
        labels = meta.variable_value_labels.get(var, {})
        ranges = meta.missing_ranges.get(var, [])
        columns.append(tuple(_spss_value(v, labels, ranges) for v in frame[var]))
    cases = tuple(range(1, n + 1))
    return RawTable(name, "SPSS", tuple(header), tuple(columns), cases, cases)


def _spss_value(value: object, labels: dict, ranges: list[dict]) -> object:
    if _is_blank(value):
        return None
    for r in ranges:
        lo, hi = r.get("lo"), r.get("hi")
        try:
            hit = value == lo if isinstance(value, str) else lo <= value <= hi
        except TypeError:
            hit = False
        if hit:
            return UserMissing(value, labels.get(value))
    return labels.get(value, value)


# --- Parquet --------------------------------------------------------------------------

def _read_parquet(path: Path, data: bytes) -> RawTable:
    name = str(path)
    if not (data.startswith(b"PAR1") and data.endswith(b"PAR1")):
        raise _not_what_it_says(name, "a Parquet file", data)
    import pandas as pd
    try:
        frame = pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for damaged files
        raise BulletinError(f"{name}: cannot be read as a Parquet file "
                            f"({type(exc).__name__}: {exc})") from None
    if frame.shape[1] == 0:
        raise BulletinError(f"{name}: the Parquet file has no columns")
    if frame.shape[0] == 0:
        raise BulletinError(f"{name}: the Parquet file has columns but no rows")
    columns = []
    for col in frame.columns:
        values = frame[col].astype(object)
        columns.append(tuple(None if _is_missing(v) else _excel_value(v) for v in values))
    header = tuple(_header_text(c) for c in frame.columns)
    rows = tuple(range(1, frame.shape[0] + 1))
    return RawTable(name, "Parquet", header, tuple(columns), rows, rows)


def _is_missing(value: object) -> bool:
    import pandas as pd
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
