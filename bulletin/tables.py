"""The bulletin's tables (1, 2, A1, B1-B5), built from the facts registry alone.

Each table is a value holding its cells exactly as printed (rounded, with thousands
separators, significance stars and suppression marks), so that the PDF, the web page
and the CSV files cannot disagree. Row and column labels come from the edition (question
and judgement wording) and from `templates/labels.toml`, which an editor maintains.
"""

from __future__ import annotations

import csv
import html
import io
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bulletin import words
from bulletin.config import PROJECT_DIR, Edition
from bulletin.errors import BulletinError
from bulletin.facts import Fact, Registry, slug

CSV_FOLDER = "tables"  # beside bulletin.html: tables/<id>.csv

LABELS_FILE = PROJECT_DIR / "templates" / "labels.toml"
UNRELIABLE = "[u]"
# A table of at most this many rows fits on a printed page with its notes, so print
# keeps it whole rather than splitting it (class "keep" on its wrapper).
KEEP_WHOLE_ROWS = 12
_GROUP = ' class="group"'
_NUM = ' class="num"'
# A cell printed as a number (right-aligned): digits, separators, signs, marks, stars
# (stars may follow a mark: "61.0 [u]*").
_NUMERIC = re.compile(r"^[\d,.\-*]*(?: ?\[[cu]\])?\**$")
STAR_KEY = "* p < .05; ** p < .01; *** p < .001."
# A number with significance stars after it: the stars hang right of the figures.
_STARRED = re.compile(r"^(.*[\d\]])(\**)$")


@dataclass(frozen=True)
class Table:
    """One table as printed.

    `header` is one or more rows of column headings; a heading repeated in adjacent
    columns of a row spans them. The first `row_header_cols` cells of a row label it.
    `row_classes` (one per row, may be "") lets the stylesheets mark special rows.
    `text_cols` names data columns that hold words, never numbers, whatever a cell
    happens to look like; other data columns are numeric when every filled cell is.
    """

    id: str
    number: str
    title: str
    header: tuple[tuple[str, ...], ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = ()
    row_header_cols: int = 1
    row_classes: tuple[str, ...] = ()
    text_cols: frozenset[int] = frozenset()

    @property
    def caption(self) -> str:
        return f"Table {self.number}: {self.title}"

    @property
    def csv_path(self) -> str:
        """Where the table's CSV sits relative to the bulletin's HTML (as published), so
        that the web edition can link to it."""
        return f"{CSV_FOLDER}/{self.id}.csv"

    def columns(self) -> tuple[str, ...]:
        """One name per column: the header rows joined (for CSV and checks)."""
        names = []
        for i in range(len(self.header[-1])):
            parts: list[str] = []
            for row in self.header:
                if row[i] and row[i] not in parts:
                    parts.append(row[i])
            names.append(": ".join(parts))
        return tuple(names)

    def numeric_columns(self) -> frozenset[int]:
        """Columns printed as numbers (right-aligned, heading and cells alike).

        Decided per column, not per cell, so that a heading sits over its figures and
        a blank or a word in a column of numbers does not break the alignment.
        """
        out = set()
        for i in range(self.row_header_cols, len(self.header[-1])):
            if i in self.text_cols:
                continue
            filled = [r[i] for r in self.rows if i < len(r) and r[i]]
            if filled and all(_NUMERIC.match(cell) for cell in filled):
                out.add(i)
        return frozenset(out)

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns())
        w.writerows(self.rows)
        return buf.getvalue()

    def to_html(self) -> str:
        """The table as accessible HTML, for print and web alike.

        - The wrapper around the table is a focusable, labelled scroll region (a wide
          table scrolls sideways on a phone, and a keyboard user can scroll it).
        - Each heading has an id, and every cell lists its headings in `headers`, so
          that a two-row heading (a group over "n" and "Yes (%)") and a row group label
          reach each cell without relying on `scope` guesses.
        - Rows that share a first-column label (a row group) get a `<tbody>` of their
          own, headed by that label with `scope="rowgroup"`.
        """
        e = html.escape
        keep = " keep" if len(self.rows) <= KEEP_WHOLE_ROWS else ""
        cap_id = f"{self.id}-caption"
        out = [f'<div class="table-wrap{keep}" id="{e(self.id)}">',
               f'<div class="table-scroll" role="region" tabindex="0" '
               f'aria-labelledby="{e(cap_id)}">',
               '<table class="data-table">',
               f'<caption id="{e(cap_id)}">{e(self.caption)}</caption>']
        numeric = self.numeric_columns()
        starred = {j for j in numeric for r in self.rows
                   if j < len(r) and (m := _STARRED.match(r[j])) and m.group(2)}
        col_heads = self._column_heads()
        last = len(self.header) - 1
        if len(self.header) > 1:
            out.append("".join(f'<colgroup span="{n}"></colgroup>'
                               for _, n in _runs(self.header[0])))
        out.append("<thead>")
        # A heading with nothing under it in the later heading rows spans them (no
        # empty cells in the head, which a reader would announce as blank headings).
        tall = {c for c, text in enumerate(self.header[0])
                if text and all(not row[c] for row in self.header[1:])} \
            if len(self.header) > 1 else set()
        for r, row in enumerate(self.header):
            cells, col = [], 0
            for text, n in _runs(row):
                if r and not text and n == 1 and col in tall:
                    pass  # covered by the heading above, which spans down
                elif not text:
                    cells.append(f"<td{_span(n)}></td>")
                elif r == 0 and col in tall and n == 1:
                    num = _NUM if col in numeric else ""
                    cells.append(f'<th id="{self._hid(r, col)}" scope="col" '
                                 f'rowspan="{len(self.header)}"{num}>{e(text)}</th>')
                else:
                    hid = self._hid(r, col)
                    above = [self._hid(rr, c) for rr, c in col_heads[col] if rr < r]
                    hdrs = f' headers="{" ".join(above)}"' if above else ""
                    if n > 1:
                        cells.append(f'<th id="{hid}" scope="colgroup"{_span(n)}{_GROUP}'
                                     f'{hdrs}>{e(text)}</th>')
                    else:
                        num = _NUM if col in numeric and r == last else ""
                        cells.append(f'<th id="{hid}" scope="col"{num}{hdrs}>'
                                     f'{e(text)}</th>')
                col += n
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</thead>")
        # Only a table with two heading columns has row groups (a label over several
        # rows' own headings); elsewhere each row is headed by its own first cell.
        spans = (_rowspans([r[0] for r in self.rows]) if self.row_header_cols > 1
                 else [1] * len(self.rows))
        group = ""  # id of the current row group's label
        for i, row in enumerate(self.rows):
            if spans[i] > 1:
                if i:
                    out.append("</tbody>")
                out.append('<tbody class="group">')
                group = self._hid(f"r{i}", 0)
            elif spans[i] == 1 and (i == 0 or group):
                if i:
                    out.append("</tbody>")
                out.append("<tbody>")
                group = ""
            cls = self.row_classes[i] if i < len(self.row_classes) else ""
            cells, row_ids = [], [group] if group else []
            for j, cell in enumerate(row):
                if j < self.row_header_cols:
                    hid = self._hid(f"r{i}", j)
                    if j == 0 and spans[i] == 0:
                        continue
                    if j == 0 and spans[i] > 1:
                        cells.append(f'<th id="{hid}" scope="rowgroup" rowspan="{spans[i]}">'
                                     f"{e(cell)}</th>")
                    elif cell:
                        hdrs = f' headers="{" ".join(row_ids)}"' if row_ids else ""
                        cells.append(f'<th id="{hid}" scope="row"{hdrs}>{e(cell)}</th>')
                        row_ids.append(hid)
                    else:  # a blank label: the cell still names its headings
                        ids = row_ids + [self._hid(r, c) for r, c in col_heads.get(j, [])]
                        cells.append(f'<td headers="{" ".join(ids)}"></td>')
                else:
                    ids = row_ids + [self._hid(r, c) for r, c in col_heads.get(j, [])]
                    hdrs = f' headers="{" ".join(ids)}"' if ids else ""
                    num = _NUM if j in numeric else ""
                    m = _STARRED.match(cell) if j in starred else None
                    if m:  # stars in a box of their own, so the figures line up
                        cells.append(f'<td{num}{hdrs}>{e(m.group(1))}'
                                     f'<span class="stars">{e(m.group(2))}</span></td>')
                    else:
                        cells.append(f"<td{num}{hdrs}>{e(cell)}</td>")
            attr = f' class="{cls}"' if cls else ""
            out.append(f"<tr{attr}>" + "".join(cells) + "</tr>")
        out.append("</tbody>\n</table>\n</div>")
        if self.notes:
            out.append('<ul class="table-notes">' + "".join(
                f"<li>{e(n)}</li>" for n in self.notes) + "</ul>")
        out.append("</div>")
        return "\n".join(out)

    def _hid(self, row: int | str, col: int) -> str:
        """The id of a heading cell: `<table id>-h<row>-<col>` (body rows `r<i>`)."""
        return f"{self.id}-h{row}-{col}"

    def _column_heads(self) -> dict[int, list[tuple[int, int]]]:
        """column -> the (header row, start column) of every heading over it, top first."""
        out: dict[int, list[tuple[int, int]]] = {}
        for r, row in enumerate(self.header):
            col = 0
            for text, n in _runs(row):
                if text:
                    for c in range(col, col + n):
                        out.setdefault(c, []).append((r, col))
                col += n
        return out


def _span(n: int) -> str:
    return f' colspan="{n}"' if n > 1 else ""


def _runs(row: Iterable[str]) -> list[tuple[str, int]]:
    """Adjacent equal non-empty headings merged: ("A","A","B") -> [("A",2),("B",1)]."""
    out: list[tuple[str, int]] = []
    for text in row:
        if out and text and out[-1][0] == text:
            out[-1] = (text, out[-1][1] + 1)
        else:
            out.append((text, 1))
    return out


def _rowspans(first: list[str]) -> list[int]:
    """Rowspan of each first-column cell: n on the first of a run of equal labels, else 0."""
    spans = [0] * len(first)
    i = 0
    while i < len(first):
        j = i
        while j + 1 < len(first) and first[j + 1] == first[i] and first[i]:
            j += 1
        spans[i] = j - i + 1
        i = j + 1
    return spans


# -- labels ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Labels:
    """Short names for variables and questions in tables (from templates/labels.toml)."""

    variables: Mapping[str, str]
    questions: Mapping[str, str]
    levels: Mapping[str, tuple[str, ...]]

    def variable(self, key: str) -> str:
        return self.variables.get(key) or self.questions.get(key) or \
            key.replace("_", " ").capitalize()

    def question(self, key: str, default: str) -> str:
        return self.questions.get(key, default)


def load_labels(path: Path = LABELS_FILE) -> Labels:
    try:
        with Path(path).open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise BulletinError(f"{path}: labels file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise BulletinError(f"{path}: not valid TOML: {exc}") from None
    levels = {k: tuple(v) for k, v in raw.get("levels", {}).items()}
    return Labels(dict(raw.get("variables", {})), dict(raw.get("questions", {})), levels)


# -- cell formats ------------------------------------------------------------------------

class _Cells:
    """Fact lookups and cell formats, remembering which marks a table used (for its notes)."""

    def __init__(self, registry: Registry, where: str) -> None:
        self.registry = registry
        self.where = where
        self.suppressed = False
        self.unreliable = False

    def get(self, key: str) -> Fact:
        try:
            return self.registry[key]
        except KeyError:
            raise BulletinError(f"{self.where}: the facts registry has no {key!r}") from None

    def opt(self, key: str) -> Fact | None:
        return self.registry.get(key)

    def _mark(self, f: Fact | None) -> str | None:
        if f is None or f.value is None:
            return ""
        if f.suppressed:
            self.suppressed = True
            return words.SUPPRESSED
        return None

    def count(self, f: Fact | None) -> str:
        m = self._mark(f)
        return m if m is not None else words.num(f)

    def pct(self, f: Fact | None, places: int) -> str:
        m = self._mark(f)
        if m is not None:
            return m
        text = f"{words.round_half_up(f.value, places):f}"  # type: ignore[union-attr]
        if f.unreliable:  # type: ignore[union-attr]
            self.unreliable = True
            text += f" {UNRELIABLE}"
        return text

    def fixed(self, f: Fact | None, places: int = 2) -> str:
        m = self._mark(f)
        return m if m is not None else words.fixed(f, places)

    def stars(self, f: Fact | None) -> str:
        return "" if f is None or f.suppressed else words.stars(f)

    def notes(self, edition: Edition, extra: Iterable[str] = ()) -> tuple[str, ...]:
        out = list(extra)
        if self.suppressed:
            out.append(f"{words.SUPPRESSED} Figure withheld: it rests on fewer than "
                       f"{edition.analysis.min_count} cases.")
        if self.unreliable:
            out.append(f"{UNRELIABLE} Percentage on fewer than "
                       f"{edition.analysis.unreliable_base} cases: treat with caution.")
        return tuple(out)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- the tables --------------------------------------------------------------------------

def table1(registry: Registry, edition: Edition, labels: Labels) -> Table:
    c = _Cells(registry, "Table 1")
    rows = []
    for q in edition.analysis.questions:
        f = c.get(f"table1.{q.key}.pct_yes")
        rows.append((q.standard, q.text, c.count(c.get(f"table1.{q.key}.n")), c.pct(f, 0)))
    return Table("table1", "1", "Responsible officers' answers to the interview questions",
                 (("Standard", "Question", "Officers answering", "Yes (%)"),), tuple(rows),
                 c.notes(edition, ["Percentages are of officers answering yes or no."]),
                 row_header_cols=2)


def table2(registry: Registry, edition: Edition, labels: Labels) -> Table:
    c = _Cells(registry, "Table 2")
    rows = []
    for j in edition.analysis.judgements:
        rows.append((j.text, c.count(c.get(f"table2.{j.key}.n")),
                     c.pct(c.get(f"table2.{j.key}.pct_yes"), 0)))
    return Table("table2", "2", "Inspectors' judgements on the quality of delivery",
                 (("Judgement", "Cases judged", "Yes (%)"),), tuple(rows),
                 c.notes(edition, ["Cases with a responsible officer interview. The safety "
                                   "judgement is made only where there were indicators of "
                                   "risk of harm to others."]))


def tableA1(registry: Registry, edition: Edition, labels: Labels) -> Table:
    c = _Cells(registry, "Table A1")
    rows = []
    k = 1
    while f"a1.{k:02d}.provider" in registry:
        p = f"a1.{k:02d}"
        report = c.get(f"{p}.report_month").value
        rows.append((str(c.get(f"{p}.provider").value), str(c.get(f"{p}.provider_type").value),
                     words.month(report) if report else "not known",
                     c.count(c.opt(f"{p}.cases")), c.count(c.opt(f"{p}.interviews"))))
        k += 1
    if not rows:
        raise BulletinError("Table A1: the facts registry has no a1.01.provider")
    return Table("tableA1", "A1", "Inspections included, in order of publication",
                 (("Provider", "Type", "Report published", "Cases inspected",
                   "Officer interviews"),), tuple(rows), c.notes(edition),
                 text_cols=frozenset({1, 2}))


def _judgement_header(edition: Edition, first: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    top = list(first)
    sub = [""] * len(first)
    for j in edition.analysis.judgements:
        top += [j.short, j.short]
        sub += ["n", "Yes (%)"]
    return (tuple(top), tuple(sub))


def _levels(registry: Registry, prefix: str, known: Iterable[str]) -> list[str]:
    """Levels present under `prefix` (e.g. 'b2.gender.'), known order first."""
    seen: dict[str, None] = {}
    for key in registry:
        if key.startswith(prefix):
            seen.setdefault(key[len(prefix):].split(".")[0], None)
    order = [slug(k) for k in known if slug(k) in seen]
    return order + sorted(lv for lv in seen if lv not in order and lv != "diff")


def _level_names(edition: Edition, labels: Labels, variable: str) -> dict[str, str]:
    """slug -> printed name for the levels of a variable."""
    names: dict[str, str] = {}
    a = edition.analysis
    for b in a.bands:
        if b.name == variable:
            names.update({slug(x): x for x in b.labels})
    for g in a.groupings:
        if g.name == variable:
            names.update({slug(x): x for x in g.labels})
    names.update({slug(x): x for x in labels.levels.get(variable, ())})
    return names


def tableB1(registry: Registry, edition: Edition, labels: Labels) -> Table:
    c = _Cells(registry, "Table B1")
    judgements = edition.analysis.judgements
    rows: list[tuple[str, ...]] = []
    starred = False
    blocks = [(q.key, labels.question(q.key, q.text)) for q in edition.analysis.questions]
    blocks.append(("caseload_band", labels.variable("caseload_band")))
    for var, label in blocks:
        names = _level_names(edition, labels, var)
        known = ["yes", "no"] if var != "caseload_band" else list(names.values())
        for level in _levels(registry, f"b1.{var}.", known):
            cells = [label, names.get(level, _cap(level))]
            for j in judgements:
                p = f"b1.{var}.{level}.{j.key}"
                cell = c.pct(c.opt(f"{p}.pct_yes"), 1)
                if level == "yes":
                    s = c.stars(c.opt(f"b1.{var}.diff.{j.key}.p"))
                    starred = starred or bool(s)
                    cell += s
                cells += [c.count(c.opt(f"{p}.n")), cell]
            rows.append(tuple(cells))
    extra = ["Percentage of cases judged yes, by the officer's answer (n: cases judged)."]
    if starred:
        extra.append("Stars on a 'Yes' row: the difference between officers answering yes "
                     "and no is statistically significant. " + STAR_KEY)
    return Table("tableB1", "B1",
                 "Judgements on quality of delivery by the officer's interview answers "
                 "and caseload", _judgement_header(edition, ("Interview question", "Answer")),
                 tuple(rows), c.notes(edition, extra), row_header_cols=2)


def tableB2(registry: Registry, edition: Edition, labels: Labels) -> Table:
    c = _Cells(registry, "Table B2")
    rows: list[tuple[str, ...]] = []
    for var in edition.analysis.case_variables:
        names = _level_names(edition, labels, var)
        for level in _levels(registry, f"b2.{var}.", names.values()):
            cells = [labels.variable(var), names.get(level, _cap(level.replace("_", " ")))]
            for j in edition.analysis.judgements:
                p = f"b2.{var}.{level}.{j.key}"
                cells += [c.count(c.opt(f"{p}.n")), c.pct(c.opt(f"{p}.pct_yes"), 1)]
            rows.append(tuple(cells))
    return Table("tableB2", "B2",
                 "Judgements on quality of delivery by characteristics of the service user "
                 "and the officer", _judgement_header(edition, ("Characteristic", "Group")),
                 tuple(rows), c.notes(edition, ["Percentage of cases judged yes "
                                                "(n: cases judged)."]), row_header_cols=2)


def _model_terms(registry: Registry, j: str) -> list[tuple[str, str, str]]:
    """(kind, variable, level) rows in the order of model.<j>.term.<k>.*; constant last."""
    out: list[tuple[str, str, str]] = []
    k = 1
    while f"model.{j}.term.{k}.variable" in registry:
        var = str(registry[f"model.{j}.term.{k}.variable"].value)
        lv = registry.get(f"model.{j}.term.{k}.level")
        level = "" if lv is None or lv.value is None else str(lv.value)
        kind_f = registry.get(f"model.{j}.term.{k}.kind")
        if kind_f is not None and kind_f.value:
            kind = str(kind_f.value)
        elif var == "constant":
            kind = "constant"
        elif level:
            kind = "level"
        elif f"model.{j}.{var}.b" in registry:
            kind = "continuous"
        else:
            kind = "block"
        k += 1
        if kind != "constant":
            out.append((kind, var, level))
    out.append(("constant", "constant", ""))
    return out


def model_table(registry: Registry, edition: Edition, labels: Labels, index: int) -> Table:
    j = edition.analysis.judgements[index]
    number = f"B{3 + index}"
    c = _Cells(registry, f"Table {number}")
    head = f"model.{j.key}"
    rows: list[tuple[str, ...]] = []
    classes: list[str] = []
    for kind, var, level in _model_terms(registry, j.key):
        label = "Constant" if kind == "constant" else labels.variable(var)
        if kind == "block":
            ref = registry.get(f"{head}.{var}.reference")
            try:
                ref_text = str(ref.value) if ref is not None and ref.value else \
                    edition.analysis.reference_level(var)
            except KeyError:
                ref_text = ""
            rows.append((label, f"Reference: {_cap(ref_text)}" if ref_text else "", "", "",
                         c.fixed(c.opt(f"{head}.{var}.wald")), "",
                         c.stars(c.opt(f"{head}.{var}.p"))))
            classes.append("block-test")
            continue
        p = f"{head}.{var}" + (f".{slug(level)}" if kind == "level" else "")
        rows.append((label, _cap(level) if kind == "level" else "",
                     c.fixed(c.get(f"{p}.b")), c.fixed(c.get(f"{p}.se")),
                     c.fixed(c.opt(f"{p}.wald")),
                     "" if kind == "constant" else c.fixed(c.opt(f"{p}.odds_ratio")),
                     "" if kind == "constant" else c.stars(c.opt(f"{p}.p"))))
        classes.append(kind if kind == "constant" else "")
    summary = [STAR_KEY]
    n, chi2 = registry.get(f"{head}.n"), registry.get(f"{head}.chi2")
    if n is not None:
        summary.append(f"Cases in the model: {c.count(n)}.")
    if chi2 is not None and chi2.value is not None:
        df = registry.get(f"{head}.chi2_df")
        pv = registry.get(f"{head}.chi2_p")
        text = f"Model chi-square {c.fixed(chi2)}"
        if df is not None and df.value is not None:
            text += f" on {words.num(df)} df"
        if pv is not None and pv.value is not None:
            pt = words.pval(pv)
            text += f" (p < {pt[1:]})" if pt.startswith("<") else f" (p = {pt})"
        summary.append(text + ".")
    r2 = registry.get(f"{head}.nagelkerke_r2")
    if r2 is not None and r2.value is not None:
        summary.append(f"Nagelkerke R squared {c.fixed(r2)}.")
    # A fit the estimation flagged (separation, a redundant block): the reader is told
    # beside the table, not only in the numbers file.
    for note in registry.with_prefix(f"{head}.note.").values():
        if note.value:
            summary.append(f"Note on the estimation: {note.value}")
    a = edition.analysis
    summary.append(f"Forward stepwise selection: a variable entered at p < "
                   f"{words.pval(a.pin)} and was removed at p > {words.pval(a.pout)}. "
                   "A variable's first row gives the overall test of it, with its "
                   "reference category.")
    return Table(f"table{number}", number,
                 f"Logistic regression model: {j.short.lower()} (final step)",
                 (("Variable", "Category", "B", "SE", "Wald", "Odds ratio", "Sig."),),
                 tuple(rows), c.notes(edition, summary), row_header_cols=2,
                 row_classes=tuple(classes))


# -- checks of the models: selection stability and provider clustering -------------------

def _model_order(edition: Edition) -> list[str]:
    """Candidates as the model tables order them: case and officer variables, then the
    interview answers, each in candidate order."""
    a = edition.analysis
    questions = set(a.question_keys)
    return [v for v in a.candidates if v not in questions] + \
        [v for v in a.candidates if v in questions]


def check_numbers(edition: Edition) -> tuple[str, str]:
    """Numbers of the stability and cluster-robust tables: after the model tables."""
    after = 3 + len(edition.analysis.judgements)
    return f"B{after}", f"B{after + 1}"


def stability_table(registry: Registry, edition: Edition, labels: Labels) -> Table:
    number = check_numbers(edition)[0]
    c = _Cells(registry, f"Table {number}")
    judgements = edition.analysis.judgements
    chosen = {j.key: set(str(c.get(f"model.{j.key}.selected").value or "").split(", "))
              for j in judgements}
    rows: list[tuple[str, ...]] = []
    for v in _model_order(edition):
        cells = [labels.variable(v)]
        for j in judgements:
            cells += ["Yes" if v in chosen[j.key] else "",
                      c.fixed(c.get(f"stability.{j.key}.{v}.share"))]
        rows.append(tuple(cells))
    last = ["Exactly the published variables"]
    for j in judgements:
        last += ["", c.fixed(c.get(f"stability.{j.key}.exact_set.share"))]
    rows.append(tuple(last))
    top, sub = ["Variable"], [""]
    for j in judgements:
        top += [j.short, j.short]
        sub += ["In model", "Share selected"]
    counts = {words.num(c.get(f"stability.{j.key}.resamples")) for j in judgements}
    notes = [f"Share of {' / '.join(sorted(counts))} bootstrap resamples of each model's "
             "cases in which forward stepwise selection, with the published settings, "
             "chose the variable; the last row is the share choosing exactly the "
             "variables of the published model (in model: the variable is in Tables "
             f"B3 to B{2 + len(judgements)})."]
    failed = [(j, c.get(f"stability.{j.key}.failed")) for j in judgements]
    failed = [(j, f) for j, f in failed if f.value]
    if failed:
        notes.append("Resamples on which the selection could not be run, left out: " +
                     "; ".join(f"{j.short.lower()} {words.num(f)}" for j, f in failed) + ".")
    text_cols = frozenset(range(1, 1 + 2 * len(judgements), 2))
    return Table(f"table{number}", number,
                 "Stability of the stepwise selection over bootstrap resamples",
                 (tuple(top), tuple(sub)), tuple(rows), c.notes(edition, notes),
                 row_classes=tuple([""] * (len(rows) - 1) + ["constant"]),
                 text_cols=text_cols)


def robust_table(registry: Registry, edition: Edition, labels: Labels) -> Table:
    number = check_numbers(edition)[1]
    c = _Cells(registry, f"Table {number}")
    rows: list[tuple[str, ...]] = []
    classes: list[str] = []
    changed: list[str] = []
    for j in edition.analysis.judgements:
        head, robust = f"model.{j.key}", f"robust.{j.key}"
        for kind, var, level in _model_terms(registry, j.key):
            label = "Constant" if kind == "constant" else labels.variable(var)
            if kind == "block":
                rows.append((j.short, label, "Overall", "", "",
                             c.stars(c.opt(f"{head}.{var}.p")), "",
                             c.stars(c.opt(f"{robust}.{var}.p"))))
                classes.append("block-test")
                continue
            part = f".{var}" + (f".{slug(level)}" if kind == "level" else "")
            rows.append((j.short, label, _cap(level) if kind == "level" else "",
                         c.fixed(c.get(f"{head}{part}.b"), 3),
                         c.fixed(c.get(f"{head}{part}.se"), 3),
                         c.stars(c.opt(f"{head}{part}.p")),
                         c.fixed(c.get(f"{robust}{part}.se"), 3),
                         c.stars(c.opt(f"{robust}{part}.p"))))
            classes.append(kind if kind == "constant" else "")
        names = c.get(f"{robust}.changed").value
        if names:
            changed += [f"{labels.variable(v)} ({j.short.lower()})"
                        for v in str(names).split(", ")]
    clusters = {words.num(c.get(f"robust.{j.key}.clusters"))
                for j in edition.analysis.judgements}
    alpha = words.pval(c.get("robust.alpha"))
    last = f"B{2 + len(edition.analysis.judgements)}"
    notes = [STAR_KEY,
             f"B, SE and Sig. as in Tables B3 to {last} (here to three decimals). Robust SE: "
             "standard error allowing for cases clustered within the "
             f"{' / '.join(sorted(clusters))} providers (sandwich estimator with the usual "
             "small-sample correction); "
             "Robust sig.: significance with it. 'Overall' rows test all categories of a "
             "variable together.",
             ("Variables whose significance at p < " + alpha + " changes with clustering: "
              + "; ".join(changed) + ".") if changed else
             f"No variable's significance at p < {alpha} changes with clustering."]
    return Table(f"table{number}", number,
                 "Logistic regression models with standard errors clustered by provider",
                 (("Model", "Variable", "Category", "B", "SE", "Sig.", "Robust SE",
                   "Robust sig."),), tuple(rows), c.notes(edition, notes),
                 row_header_cols=3, row_classes=tuple(classes))


def build_tables(registry: Registry, edition: Edition, labels: Labels | None = None
                 ) -> tuple[Table, ...]:
    """Tables 1, 2, A1 and B1-B5 (one model table per judgement), in print order; then,
    where the registry holds them, the checks of the models (selection stability and
    standard errors clustered by provider)."""
    labels = labels if labels is not None else load_labels()
    out = [table1(registry, edition, labels), table2(registry, edition, labels),
           tableA1(registry, edition, labels), tableB1(registry, edition, labels),
           tableB2(registry, edition, labels)]
    out += [model_table(registry, edition, labels, i)
            for i in range(len(edition.analysis.judgements))]
    judgements = edition.analysis.judgement_keys
    if judgements and f"stability.{judgements[0]}.resamples" in registry:
        out.append(stability_table(registry, edition, labels))
    if judgements and f"robust.{judgements[0]}.clusters" in registry:
        out.append(robust_table(registry, edition, labels))
    return tuple(out)
