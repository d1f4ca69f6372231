"""Read a case-level data file (CSV, Excel, SPSS or Parquet) into raw cells.

This stage only reads: it keeps every cell as the file gave it (text, number, date, an
SPSS user-missing marker or an Excel formula with no saved result) together with where
an analyst would find it, so that `validate` can quote the exact value and place of
every fault. A file that cannot be read at all (missing, not a regular file, too large,
empty, not what its extension says) stops here with one clear `BulletinError`; faults
in individual rows are collected, never raised one by one.

Cells are stored by column as codes into the column's distinct values (a file repeats
a few codes many times), so a large file costs a few bytes a cell rather than a Python
object each, and validation can interpret each distinct value once.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from bulletin import plain_csv
from bulletin.errors import BulletinError, Problem

EXTENSIONS = (".csv", ".xlsx", ".sav", ".parquet")
DEFAULT_MAX_MIB = 1024  # far above a year's cases (about 30 MiB per 200,000 rows of CSV)
_CHUNK = 8192  # CSV records coded together

# First bytes of the binary formats people most often mislabel.
_MAGIC = (
    (b"PK\x03\x04", "a zip archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel .xls workbook, or a password-protected one"),
    (b"$FL2", "an SPSS .sav file"),
    (b"$FL3", "an SPSS .sav file (compressed)"),
    (b"PAR1", "a Parquet file"),
    (b"%PDF", "a PDF document"),
)
# Control bytes other than tab, line feed and carriage return: a text file has at most
# a stray few (each reported at its cell); a binary file is full of them.
_CONTROL_BYTES = bytes([*range(0, 9), 11, 12, *range(14, 32), 127])


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
class Formula:
    """An Excel formula cell saved without its result (a program that writes workbooks
    without calculating them): there is no value to read, and reading it as blank would
    quietly change the figures, so validation reports it."""

    text: str


class Cells(Sequence[Any]):
    """One column of raw cells: `codes[i]` indexes `values`, -1 is an empty cell.

    Behaves as the tuple of cells it stands for (indexing, slicing, iteration and
    equality), while validation works on `codes` and `values` directly.
    """

    __slots__ = ("codes", "values")
    __hash__ = None  # type: ignore[assignment]  # compared by content, like a list

    def __init__(self, codes: np.ndarray, values: Sequence[object]) -> None:
        self.codes = np.asarray(codes, dtype=np.int32)
        self.values = np.empty(len(values) + 1, dtype=object)  # the last serves code -1
        self.values[:len(values)] = list(values)

    @property
    def distinct(self) -> int:
        return len(self.values) - 1

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Any, ...]: ...
    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return tuple(self.values[self.codes[i]].tolist())
        return self.values[self.codes[i]]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values[self.codes].tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Cells | tuple | list):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Cells({tuple(self)!r})"


class Numbers(Sequence[int]):
    """Row numbers held as one array; indexing gives ints, slicing and equality behave
    as a tuple of them."""

    __slots__ = ("array",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, values: Iterable[int] | np.ndarray) -> None:
        self.array = np.asarray(values if isinstance(values, np.ndarray) else list(values),
                                dtype=np.int64)

    def __len__(self) -> int:
        return len(self.array)

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[int, ...]: ...
    def __getitem__(self, i: int | slice) -> int | tuple[int, ...]:
        if isinstance(i, slice):
            return tuple(self.array[i].tolist())
        return int(self.array[i])

    def __iter__(self) -> Iterator[int]:
        return iter(self.array.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Numbers | tuple | list):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"Numbers({tuple(self)!r})"


@dataclass(frozen=True, eq=False)
class RawTable:
    """The cells of one data file, as read, before any interpretation.

    `columns[j][i]` is the cell of the i-th kept row under `header[j]`: a str, int,
    float, bool, date/datetime, `UserMissing`, `Formula`, or None for an empty cell.
    `rows[i]` counts data rows from 1 below the header (blank rows count, so the numbers
    match the file); `places[i]` locates the row in the file's own terms (see `place`).
    """

    file: str
    format: str  # "CSV", "Excel", "SPSS" or "Parquet"
    header: tuple[str, ...]
    columns: tuple[Cells, ...]
    rows: Numbers  # data-row number (1 = first row below the header)
    places: Numbers  # line of the file, spreadsheet row or case number
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


def read_table(path: Path | str, max_mib: int = DEFAULT_MAX_MIB) -> RawTable:
    """Read any supported file; raise `BulletinError` if it cannot be read at all.

    Only a regular file is read: a named pipe would block for ever and a device such as
    /dev/zero would fill the memory, so both are refused before anything is read, and
    so is a file larger than `max_mib` MiB.
    """
    path = Path(path)
    name = str(path)
    data = _read_bytes(path, name, max_mib)
    ext = path.suffix.lower()
    if not data.strip():
        raise BulletinError(f"{name}: the file is empty")
    if ext == ".csv":  # the bytes are let go once decoded: a large file is then held once
        plain = _read_plain_csv(name, data)
        if plain is not None:
            return plain
        text, problems = _decode(name, data)
        del data
        return _read_csv(path, text, problems)
    reader = {".xlsx": _read_excel, ".sav": _read_spss, ".parquet": _read_parquet}[ext]
    return reader(path, data)


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _read_bytes(path: Path, name: str, max_mib: int) -> bytes:
    """The whole file, from a descriptor whose type is checked before any read (opening
    without blocking, so a named pipe with no writer cannot hang the run)."""
    folder = BulletinError(f"{name}: is a folder; expected a data file "
                           f"({', '.join(EXTENSIONS)})")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise BulletinError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise folder from None
    except OSError as exc:
        raise BulletinError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        mode = info.st_mode
        if stat.S_ISDIR(mode):
            raise folder
        if not stat.S_ISREG(mode):
            what = next((w for test, w in _KINDS if test(mode)), "not a regular file")
            raise BulletinError(f"{name}: is {what}, not a file saved on disk; expected a "
                                f"data file ({', '.join(EXTENSIONS)})")
        ext = path.suffix.lower()
        if ext not in EXTENSIONS:
            hint = " (save it as .xlsx or .csv)" if ext == ".xls" else ""
            raise BulletinError(
                f"{name}: cannot read files of type '{ext or '(no extension)'}'{hint}; "
                f"expected one of {', '.join(EXTENSIONS)}")
        limit = max_mib * 2**20
        size = info.st_size
        data = b""
        if size <= limit:
            os.set_blocking(fd, True)
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = fh.read(limit + 1)
    except OSError as exc:
        raise BulletinError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if size > limit or len(data) > limit:
        raise BulletinError(
            f"{name}: is {max(size, len(data)) / 2**20:,.1f} MiB, more than the limit of "
            f"{max_mib:,} MiB for a data file; expected a smaller file, or, if this really "
            "is the data, a higher limit (max_data_mib under [analysis] in the edition "
            "file, or validate --max-mib)")
    return data


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

def _binary(head: bytes) -> bool:
    """Many control bytes near the start: a binary file (one NUL in a cell is not)."""
    controls = sum(head.count(b) for b in _CONTROL_BYTES)
    return controls > max(2, len(head) // 100)


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
    if what is not None or _binary(data[:8192]):
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


def _read_csv(path: Path, text: str, problems: list[DataProblem]) -> RawTable:
    name = str(path)
    # Lines as Python's universal newlines split them (\n, \r\n or a lone \r) and
    # nothing else: str.splitlines (much the quicker) also splits at form feeds and other
    # control characters, which here are faults to report at their cell.
    if _OTHER_BREAKS.search(text):
        source: Iterator[str] = (m.group() for m in _LINE.finditer(text))
    else:
        source = iter(text.splitlines(keepends=True))
    del text
    start = 0  # skip leading comments ("# SYNTHETIC ...") and blank lines
    head = ""
    for line in source:
        if _is_header(line):
            head = line
            break
        start += 1
    if not head:
        raise BulletinError(f"{name}: the file has no header and no data "
                            "(only blank or # comment lines)")
    delimiter = _delimiter(head)

    def lines() -> Iterator[str]:
        yield head
        yield from source

    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        header = next(reader)
        assembler = _Assembler(name, "CSV", header, start + 1, problems, plain=True)
        width = assembler.width
        first = start + reader.line_num + 1
        rows: list[int] = []
        places: list[int] = []
        records: list[list[Any]] = []
        for row, record in enumerate(reader, start=1):  # the hot loop: kept to appends
            if len(record) == width or (record := assembler.fit(row, first, record)):
                records.append(record)
                rows.append(row)
                places.append(first)
                if len(records) == _CHUNK:
                    assembler.take(rows, places, records)
                    rows, places, records = [], [], []
            first = start + reader.line_num + 1
        assembler.take(rows, places, records)
    except csv.Error as exc:
        hint = "; look for an unmatched double quote above it" if "limit" in str(exc) else ""
        raise BulletinError(f"{name}, line {start + reader.line_num}: cannot be read as CSV "
                            f"({exc}){hint}") from None
    return assembler.finish()


def _read_plain_csv(name: str, data: bytes) -> RawTable | None:
    """A UTF-8 file whose body `plain_csv` can parse, read that quick way; None for any
    other file, which the csv module then reads and words the faults of. The header is
    found and read as `_read_csv` does, splitting at LF alone: `plain_csv.plain` refuses
    a file with any other line end, the lines above the header included."""
    if (data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
            or _looks_like(data) is not None or _binary(data[:8192])):
        return None
    offset = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    start = 0
    while True:
        end = data.find(b"\n", offset)
        if end < 0:  # no data below the header, or no header: the csv module says so
            return None
        raw, offset = data[offset:end + 1], end + 1
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _is_header(line):
            break
        start += 1
    if '"' in line:
        return None
    delimiter = _delimiter(line)
    header = next(csv.reader([line], delimiter=delimiter))
    assembler = _Assembler(name, "CSV", header, start + 1, [], plain=True)
    coded = plain_csv.codes(data, offset, delimiter, assembler.width)
    if coded is None:
        return None
    n = len(coded[0][0])
    first = start + 2  # the line below the header
    assembler.take_coded(np.arange(1, n + 1, dtype=np.int64),
                         np.arange(first, first + n, dtype=np.int64), coded)
    return assembler.finish()


def _is_header(line: str) -> bool:
    """The header is the first line that is neither blank nor a # comment."""
    return bool(line.strip()) and not line.lstrip().startswith("#")


def _delimiter(head: str) -> str:
    """A comma, unless the header has none: then a tab or semicolon if it has those."""
    if "," in head:
        return ","
    counts = {d: head.count(d) for d in ("\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_OTHER_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _cell_key(value: object) -> object:
    """What makes two cells the same cell: 1, 1.0 and True are equal in Python but are
    different cells here."""
    if value is None or isinstance(value, str):
        return value
    try:
        hash(value)
    except TypeError:
        return (type(value).__name__, repr(value))
    return (type(value).__name__, value)


class _Assembler:
    """Shared by CSV and Excel: drop blank rows, check row lengths, store by column.

    In a CSV a row longer than the header means its values have slipped out of line; a
    sheet is a grid, so there a value beyond the header is only an unnamed column. Rows
    may stop short of the header's trailing unnamed columns, or run on with blanks.
    Records of the header's width are coded a chunk at a time, column by column; only
    rows of another length are looked at one by one."""

    def __init__(self, name: str, fmt: str, header: Sequence[object], header_place: int,
                 problems: list[DataProblem], width: int | None = None,
                 plain: bool = False) -> None:
        header_text = [_header_text(h) for h in header]
        named = len(header_text)
        while named and not header_text[named - 1]:
            named -= 1
        if not named:
            raise BulletinError(f"{name}: the header row is blank")
        if width is not None:
            header_text += [""] * (width - len(header_text))
        self.name, self.fmt, self.named, self.plain = name, fmt, named, plain
        self.header = tuple(header_text)
        self.width = len(header_text)
        self.header_place = header_place
        self.problems = problems
        self.where = "line {} of the file" if fmt == "CSV" else "spreadsheet row {}"
        self.lookup: list[dict[object, int]] = [{} for _ in range(self.width)]
        self.distinct: list[list[Any]] = [[] for _ in range(self.width)]
        self.codes: list[list[np.ndarray]] = [[] for _ in range(self.width)]
        self.rows: list[np.ndarray] = []
        self.places: list[np.ndarray] = []
        self.blank = 0

    def fit(self, row: int, place: int, record: list[Any]) -> list[Any] | None:
        """A record of another length than the header: padded with blanks, or None when
        it is blank (counted) or cannot be matched to the columns (reported)."""
        cells = [None if _is_blank(c) else c for c in record]
        if cells.count(None) == len(cells):
            self.blank += 1
            return None
        width = self.width
        if len(cells) < self.named or cells[width:].count(None) != max(len(cells) - width, 0):
            found = len(cells)
            if found > width:
                found = max(k + 1 for k, c in enumerate(cells) if c is not None)
            self.problems.append(DataProblem(
                self.name, f"this row has {found} values "
                f"but the header names {self.named} columns, so its cells cannot be matched "
                "to columns (a missing or extra separator, an unmatched double quote, or a "
                "cut-off file?); the row was not checked further",
                f"{self.named} values", row=row, place=self.where.format(place),
                kind="row-length"))
            return None
        return cells[:width] + [None] * (width - len(cells))

    def take(self, rows: list[int], places: list[int], records: list[list[Any]]) -> None:
        """Code a chunk of records of the header's width, column by column; rows whose
        cells are all blank are dropped and counted."""
        if not records:
            return
        import pandas as pd
        grid = np.empty((len(records), self.width), dtype=object)
        grid[:] = records
        self._keep(np.asarray(rows, dtype=np.int64), np.asarray(places, dtype=np.int64),
                   [self._code(j, grid[:, j], pd) for j in range(self.width)])

    def take_coded(self, rows: np.ndarray, places: np.ndarray,
                   coded: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Like `take`, for text already coded column by column (codes into each column's
        distinct texts, as `plain_csv.codes` gives them)."""
        self._keep(rows, places, [self._local(j, local, uniques)
                                  for j, (local, uniques) in enumerate(coded)])

    def _keep(self, rows: np.ndarray, places: np.ndarray, coded: list[np.ndarray]) -> None:
        filled = np.zeros(len(rows), dtype=bool)
        for codes in coded:
            filled |= codes >= 0
        self.blank += int((~filled).sum())
        self.rows.append(rows[filled])
        self.places.append(places[filled])
        for j, codes in enumerate(coded):
            self.codes[j].append(codes[filled])

    def _code(self, j: int, cells: np.ndarray, pd: Any) -> np.ndarray:
        """Codes of one column's cells in this chunk; blank cells are -1.

        Text from a CSV is coded against this chunk's own distinct values, merged once
        for the whole file in `finish` (one pass in C, not a dictionary look-up per new
        value); cells of other types are coded against the file's distinct values at
        once, keeping the first cell of each as read."""
        if self.plain:
            local, uniques = pd.factorize(cells)
            return self._local(j, local, uniques)
        plain = all(c is None or type(c) is str for c in cells)
        keys = cells if plain else pd.Series([_cell_key(c) for c in cells], dtype=object)
        local, uniques = pd.factorize(keys)
        lookup, distinct = self.lookup[j], self.distinct[j]
        first: dict[int, int] = {}
        if not plain:
            seen = np.flatnonzero(local >= 0)
            _, position = np.unique(local[seen], return_index=True)
            first = dict(enumerate(seen[position].tolist()))
        mapped = np.empty(len(uniques) + 1, dtype=np.int32)
        mapped[-1] = -1
        for u, key in enumerate(uniques):
            code = lookup.get(key)
            if code is None:
                value = key if plain else cells[first[u]]
                if _is_blank(value):
                    code = -1
                else:
                    code = len(distinct)
                    distinct.append(value)
                lookup[key] = code
            mapped[u] = code
        return mapped[local]

    def _local(self, j: int, local: np.ndarray, uniques: np.ndarray) -> np.ndarray:
        """Codes into this chunk's distinct texts, with blank texts made -1; the texts
        are kept for `_merge`."""
        blank = np.fromiter((not u.strip() for u in uniques), bool, len(uniques))
        if blank.any():
            renumber = np.full(len(uniques) + 1, -1, dtype=np.int32)
            renumber[np.flatnonzero(~blank)] = np.arange(int((~blank).sum()))
            local, uniques = renumber[local], uniques[~blank]
        self.distinct[j].append(uniques)
        return local.astype(np.int32, copy=False)

    def _merge(self, j: int) -> tuple[np.ndarray, list[object]]:
        """Column j's chunk codes as codes into the file's distinct values, in the order
        each value first occurs."""
        import pandas as pd
        chunks = self.distinct[j]
        if not chunks:
            return np.empty(0, dtype=np.int32), []
        merged, distinct = pd.factorize(np.concatenate(chunks))
        merged = merged.astype(np.int32)
        out, start = [], 0
        for local, uniques in zip(self.codes[j], chunks, strict=True):
            lookup = np.append(merged[start:start + len(uniques)], np.int32(-1))
            out.append(lookup[local])
            start += len(uniques)
        return np.concatenate(out), distinct.tolist()

    def finish(self) -> RawTable:
        n = sum(len(r) for r in self.rows)
        if not n and not any(p.kind == "row-length" for p in self.problems):
            raise BulletinError(f"{self.name}: has a header "
                                f"({self.where.format(self.header_place)}) but no data rows")
        if self.blank:
            self.problems.append(DataProblem(self.name, f"{self.blank} blank row(s) ignored",
                                             severity="warning", kind="file"))
        columns = []
        for j in range(self.width):
            if self.plain:
                codes, distinct = self._merge(j)
            else:
                codes = (np.concatenate(self.codes[j]) if self.codes[j]
                         else np.empty(0, dtype=np.int32))
                distinct = self.distinct[j]
            columns.append(Cells(codes, distinct))
            if not self.header[j] and (codes >= 0).any():
                self.problems.append(DataProblem(
                    self.name, f"column {column_ref(self.fmt, j)} has values but no name in "
                    "the header; it is ignored", "a column name from docs/data.md",
                    severity="warning", kind="columns-extra"))
        rows = np.concatenate(self.rows) if self.rows else np.empty(0, dtype=np.int64)
        places = np.concatenate(self.places) if self.places else np.empty(0, dtype=np.int64)
        return RawTable(self.name, self.fmt, self.header, tuple(columns), Numbers(rows),
                        Numbers(places), tuple(self.problems))


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
    """The first sheet, via openpyxl; the header is the first non-blank row that is not a
    # comment, so a title row or two above it does no harm.

    Every cell keeps what the workbook holds: an error value (#N/A, #DIV/0!, ...) stays
    its text and a formula without a saved result becomes a `Formula`, so that
    validation reports them instead of reading them as blank."""
    name = str(path)
    if not data.startswith(b"PK\x03\x04"):
        raise _not_what_it_says(name, "an Excel .xlsx workbook", data)
    try:
        sheets, grid = _excel_grid(data)
    except BulletinError:
        raise
    except Exception as exc:  # openpyxl raises many types for a damaged workbook
        raise BulletinError(f"{name}: cannot be read as an Excel workbook "
                            f"({type(exc).__name__}: {exc})") from None
    problems: list[DataProblem] = []
    if len(sheets) > 1:
        problems.append(DataProblem(
            name, f"the workbook has {len(sheets)} sheets; only the first, "
            f"'{sheets[0]}', was read", severity="warning", kind="file"))
    start = 0
    while start < len(grid) and _above_header(grid, start):
        start += 1
    if start == len(grid):
        raise BulletinError(f"{name}: the first sheet '{sheets[0]}' is empty")
    width = max((len(r) for r in grid[start:]), default=0)
    assembler = _Assembler(name, "Excel", grid[start], start + 1, problems, width=width)
    # A sheet is a grid: a short row ends in blanks.
    records = [grid[i] + [None] * (width - len(grid[i])) for i in range(start + 1, len(grid))]
    rows = [i - start for i in range(start + 1, len(grid))]
    places = [i + 1 for i in range(start + 1, len(grid))]
    del grid
    assembler.take(rows, places, records)
    return assembler.finish()


def _excel_grid(data: bytes) -> tuple[list[str], list[list[object]]]:
    """The first sheet's cells, row by row; formula cells hold their saved result, or a
    `Formula` when there is none."""
    import openpyxl
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        sheets = book.sheetnames
        grid: list[list[object]] = []
        formulas: list[tuple[int, int]] = []
        for i, row in enumerate(book.worksheets[0].iter_rows()):
            values: list[object] = []
            for j, cell in enumerate(row):
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", None) == "f":
                    formulas.append((i, j))
                values.append(_excel_value(value))
            grid.append(values)
    finally:
        book.close()
    if formulas:  # a second pass for the results the workbook saved with its formulas
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            saved = {(i, j): _excel_value(getattr(cell, "value", None))
                     for i, row in enumerate(book.worksheets[0].iter_rows())
                     for j, cell in enumerate(row)}
        finally:
            book.close()
        for i, j in formulas:
            result = saved.get((i, j))
            grid[i][j] = Formula(str(grid[i][j])) if result is None else result
    return sheets, grid


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
    """A cell as pandas gave it: whole-number floats as ints, timestamps as datetimes."""
    import pandas as pd
    if isinstance(value, float) and value.is_integer():
        return int(value)
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
        columns.append(_coded(frame.pop(var), lambda v, lb=labels, rg=ranges:
                              _spss_value(v, lb, rg)))
    cases = Numbers(np.arange(1, n + 1))
    return RawTable(name, "SPSS", tuple(header), tuple(columns), cases, cases)


def _coded(values: Any, convert: Any) -> Cells:
    """A column from an array: distinct values found by pandas, each converted once."""
    import pandas as pd
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    keys = series.astype(object)
    if not all(v is None or type(v) is str for v in keys.dropna().unique()):
        keys = keys.map(lambda v: None if _is_missing(v) else _cell_key(v))
    local, uniques = pd.factorize(keys.to_numpy(dtype=object))
    seen = np.flatnonzero(local >= 0)
    _, position = np.unique(local[seen], return_index=True)
    raw = series.to_numpy(dtype=object)
    distinct: list[object] = []
    mapped = np.full(len(uniques) + 1, -1, dtype=np.int32)
    for u, i in enumerate(seen[position].tolist()):
        value = convert(raw[i])
        if value is not None:
            mapped[u] = len(distinct)
            distinct.append(value)
    return Cells(mapped[local], distinct)


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
        frame = pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for damaged files
        raise BulletinError(f"{name}: cannot be read as a Parquet file "
                            f"({type(exc).__name__}: {exc})") from None
    if frame.shape[1] == 0:
        raise BulletinError(f"{name}: the Parquet file has no columns")
    if frame.shape[0] == 0:
        raise BulletinError(f"{name}: the Parquet file has columns but no rows")
    columns = []
    for k in range(frame.shape[1]):
        values = frame.iloc[:, k].astype(object)
        columns.append(_coded(values, _parquet_value))
    header = tuple(_header_text(c) for c in frame.columns)
    rows = Numbers(np.arange(1, frame.shape[0] + 1))
    return RawTable(name, "Parquet", header, tuple(columns), rows, rows)


def _parquet_value(value: object) -> object:
    import pandas as pd
    if _is_missing(value):
        return None
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def _is_missing(value: object) -> bool:
    import pandas as pd
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
