"""The analyst's year-on-year report: two facts registries in, a sorted list of changes out.

The test behind each change is `bulletin.change.compare_fact`, the same one the
bulletin's wording uses. This module only reads registries (it never loads data or
rebuilds an edition: `bulletin.sides` resolves an edition id to its facts) and presents
the comparison as a terminal table, CSV or HTML.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulletin.atomic import write_text_atomic
from bulletin.change import (
    FISHER,
    MIN_EXPECTED,
    NON_NUMERIC_UNITS,
    Z_TEST,
    Change,
    Value,
    compare_fact,
)
from bulletin.errors import BulletinError
from bulletin.facts import CSV_COLUMNS as NUMBERS_COLUMNS
from bulletin.facts import SUPPRESSED_MARK as SUPPRESSED
from bulletin.facts import Fact, Registry
from bulletin.significance import ALPHA

EDITION_ID_RE = re.compile(r"^\d{4}-\d{2}$")
CSV_COLUMNS = ("key", "label", "unit", "status", "old", "new", "change", "p",
               "significant", "test")

@dataclass(frozen=True)
class Comparison:
    """Every key both registries share, plus the facts only one of them has (with their
    values, so that a report can show what was added or removed, not only its key)."""

    changes: tuple[Change, ...]
    added: tuple[Fact, ...]
    removed: tuple[Fact, ...]

    @property
    def added_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.added)

    @property
    def removed_keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.removed)

    @property
    def n_changed(self) -> int:
        return sum(c.changed for c in self.changes)

    @property
    def n_significant(self) -> int:
        return sum(c.significant for c in self.changes)

    def select(self, prefix: str = "", only_significant: bool = False) -> Comparison:
        """The same comparison restricted to keys starting with `prefix` and, if asked,
        to significant changes (added and removed keys are never significant)."""
        changes = tuple(c for c in self.changes if c.key.startswith(prefix)
                        and (c.significant or not only_significant))
        if only_significant:
            return Comparison(changes, (), ())
        return Comparison(changes, tuple(f for f in self.added if f.key.startswith(prefix)),
                          tuple(f for f in self.removed if f.key.startswith(prefix)))

    def summary(self) -> str:
        return (f"{len(self.changes)} keys compared, {self.n_changed} changed, "
                f"{self.n_significant} significant, {len(self.added)} added, "
                f"{len(self.removed)} removed")

    def to_frame(self) -> Any:
        """One row per key (the CSV's columns), for analysis in pandas: old and new are
        numbers where the fact is a number, text otherwise; '' becomes missing."""
        import pandas as pd

        rows = list(csv.DictReader(io.StringIO(to_csv(self))))
        frame = pd.DataFrame(rows, columns=list(CSV_COLUMNS))
        for column in ("old", "new"):
            frame[column] = [_typed(v) for v in frame[column]]
        for column in ("change", "p"):
            frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce")
        frame["significant"] = frame["significant"].map(
            {"1": True, "0": False}).astype("boolean")
        return frame

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False, max_rows=60)


def _typed(text: str) -> float | str | None:
    if text == "":
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _size(c: Change) -> tuple[int, float, str]:
    """Sort order: percentages by the size of their change (percentage points) first,
    as they are what readers compare; then other numbers by absolute change; then
    changed non-numbers; then unchanged keys; ties by key."""
    if c.change is not None:
        return (0 if c.unit == "percent" else 1, -abs(float(c.change)), c.key)
    return (2 if c.changed else 3, 0.0, c.key)


def compare(old: Registry, new: Registry) -> Comparison:
    shared = [k for k in new if k in old]
    changes = sorted((compare_fact(old[k], new[k]) for k in shared), key=_size)
    return Comparison(
        changes=tuple(changes),
        added=tuple(new[k] for k in new if k not in old),
        removed=tuple(old[k] for k in old if k not in new),
    )


# -- reading the two sides -----------------------------------------------------------

def _check_numbers_file(path: Path) -> None:
    """A numeric fact whose value is not a number is a damaged file: say which line.

    `Registry.from_csv` keeps any unparseable value as text (text facts are legal), so
    the unit is what tells a damaged number apart from a genuine text fact.
    """
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline=""))
    missing = [c for c in NUMBERS_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:  # the comparison needs each fact's unit, count and base
        raise BulletinError(f"{path}: not a numbers file as the build writes it; missing "
                            f"columns {missing}")
    for line, row in enumerate(reader, start=2):
        unit = row.get("unit") or "number"
        value = row.get("value") or ""
        if unit in NON_NUMERIC_UNITS or value == "":
            continue
        try:
            float(value)
        except ValueError:
            raise BulletinError(
                f"{path}, line {line}, column 'value': {value!r} is not a number; "
                f"expected a number for fact {row.get('key')!r} (unit {unit})") from None


def read_numbers(path: Path) -> Registry:
    """A numbers file's facts, refusing a damaged one with its file and line: a short
    row, an empty key, label or unit, a file cut off mid-row, a number that is not one."""
    registry = Registry.from_csv(path)
    _check_numbers_file(path)
    return registry


# -- presenting it ------------------------------------------------------------------

def fmt_value(v: Value, unit: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, str) or unit in NON_NUMERIC_UNITS:
        return str(v)
    if unit == "percent":
        return f"{v:.1f}%"
    if unit == "count" and float(v).is_integer():
        return f"{int(v)}"
    if unit == "p_value":
        return fmt_p(float(v))
    return f"{v:.4g}"


def fmt_change(c: Change) -> str:
    if c.change is None:
        return "changed" if c.changed else ""
    d = c.change
    if c.unit == "percent":
        return f"{d:+.1f} pp"
    if c.unit == "count" and float(d).is_integer():
        return f"{int(d):+d}"
    if c.unit == "p_value":
        return f"{d:+.3f}"
    return f"{d:+.4g}"


def fmt_p(p: float | None) -> str:
    """Three decimals, or four near the significance level, so that a p just above
    it never prints as the level itself next to a 'not significant' mark (or below)."""
    if p is None:
        return ""
    if p < 0.001:
        return "<0.001"
    text = f"{p:.3f}"
    if float(text) == ALPHA:
        text = f"{p:.4f}"
    return text


def _short_test(test: str) -> str:
    return {Z_TEST: "z", FISHER: "Fisher"}.get(test, test)


def _clip(text: str, width: int = 28) -> str:
    """Long text values (a list of selected variables) would push every column right."""
    return text if len(text) <= width else text[:width - 3] + "..."


def format_table(comp: Comparison, old_name: str, new_name: str,
                 summary: str | None = None) -> str:
    """An aligned plain-text table of the changed keys, then the summary line
    (`summary` lets the line describe more than the rows shown)."""
    head = ("key", old_name, new_name, "change", "p", "test", "sig")
    rows = [(c.key, _clip(fmt_value(c.old, c.unit)), _clip(fmt_value(c.new, c.unit)),
             fmt_change(c),
             fmt_p(c.p), _short_test(c.test), "*" if c.significant else "")
            for c in comp.changes if c.changed]
    lines: list[str] = []
    if rows:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        right = (False, True, True, True, True, False, False)

        def line(cells: Iterable[str]) -> str:
            out = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right,
                                                                           strict=True)]
            return "  ".join(out).rstrip()

        lines += [line(head), line("-" * w for w in widths)]
        lines += [line(r) for r in rows]
    else:
        lines.append("no changed keys")
    for title, facts in (("added", comp.added), ("removed", comp.removed)):
        if facts:
            lines.append("")
            lines.append(f"{title} ({len(facts)}):")
            width = max(len(f.key) for f in facts)
            lines += [f"  {f.key.ljust(width)}  {_clip(_fact_value(f))}".rstrip()
                      for f in facts]
    lines.append("")
    lines.append((summary or comp.summary()) + f" ({old_name} -> {new_name}; * p < {ALPHA})")
    return "\n".join(lines) + "\n"


def _raw(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(round(v, 10))
    return str(v)


def to_csv(comp: Comparison) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for c in comp.changes:
        w.writerow([c.key, c.label, c.unit, "changed" if c.changed else "unchanged",
                    _raw(c.old), _raw(c.new), _raw(c.change), "" if c.p is None else repr(c.p),
                    "" if c.p is None else int(c.significant), c.test])
    for f in comp.added:
        w.writerow([f.key, f.label, f.unit, "added", "", _raw(_shown(f)), "", "", "", ""])
    for f in comp.removed:
        w.writerow([f.key, f.label, f.unit, "removed", _raw(_shown(f)), "", "", "", "", ""])
    return buf.getvalue()


def _shown(f: Fact) -> Value:
    """A fact's value as a report may show it: the suppression mark if withheld."""
    return SUPPRESSED if f.suppressed else f.value


def _fact_value(f: Fact) -> str:
    return SUPPRESSED if f.suppressed else fmt_value(f.value, f.unit)


# Report sections, by the first part of the key (see the key grammar in bulletin/facts.py).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Table 1: officers' answers to the interview questions", ("table1",)),
    ("Table 2: inspectors' judgements", ("table2",)),
    ("Annex B tables B1 and B2: judgements by answer and by case", ("b1", "b2")),
    ("Models: Tables B3 to B5", ("model",)),
    ("Annex A: providers inspected", ("a1",)),
    ("Figures", ("fig2", "fig3", "fig4", "fig5")),
)
OTHER_SECTION = "Other facts quoted in the text"
NUM = ' class="num"'


def section_of(key: str) -> str:
    head = key.split(".", 1)[0]
    for title, heads in SECTIONS:
        if head in heads:
            return title
    return OTHER_SECTION


def _section_order() -> list[str]:
    return [t for t, _ in SECTIONS] + [OTHER_SECTION]


_REPORT_CSS = """
:root{--ink:#0b0c0c;--rule:#b1b4b6;--muted:#505a5f;--sig:#00703c;--bg:#f3f2f1}
body{font-family:system-ui,sans-serif;color:var(--ink);margin:0 auto;padding:1rem;
 max-width:80rem;line-height:1.4}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;margin:2rem 0 .5rem}
.summary{background:var(--bg);padding:.75rem 1rem;border-left:5px solid var(--ink)}
.summary dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;margin:.5rem 0}
.summary dt{font-weight:600}.summary dd{margin:0}
.filter{margin:1rem 0;font-size:1.05rem}
.filter input{width:1.25rem;height:1.25rem;vertical-align:middle}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{padding:.35rem .5rem;border-bottom:1px solid var(--rule);text-align:left;
 vertical-align:top}
thead th{border-bottom:2px solid var(--ink);white-space:nowrap}
.num{text-align:right;white-space:nowrap}
.key{font-size:.85rem;color:var(--muted);word-break:break-all;font-weight:400}
.key code{font-family:ui-monospace,monospace}
.desc{min-width:14rem;font-weight:400}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
 white-space:nowrap}
tr.sig td.sigmark{color:var(--sig);font-weight:700}
body:has(#only-significant:checked) tr.not-sig{display:none}
body:has(#only-significant:checked) .no-test{display:none}
details{margin:.5rem 0}summary{cursor:pointer;font-weight:600}
@media (max-width:40rem){
 table.changes thead{position:absolute;left:-9999px}
 table.changes tr{display:block;border-bottom:2px solid var(--rule);padding:.5rem 0}
 table.changes th,table.changes td{display:block;border:0;padding:.1rem 0;text-align:left}
 table.changes td[data-label]::before{content:attr(data-label) ": ";font-weight:600}
 .desc{min-width:0}
}
"""


def _movers(comp: Comparison, n: int = 5) -> list[Change]:
    """The largest significant changes in percentages: what a reader looks for first."""
    sig = [c for c in comp.changes if c.significant and c.change is not None]
    return sorted(sig, key=lambda c: -abs(float(c.change)))[:n]  # type: ignore[arg-type]


def to_html(comp: Comparison, old_name: str, new_name: str, summary: str | None = None) -> str:
    """A standalone report, readable on a phone: a summary first (what was compared,
    what changed significantly, the largest movers), then the changes section by section
    with a control to show only the significant ones, then what was added or removed,
    with values."""
    e = html.escape
    title = f"Changes in the bulletin's numbers: {old_name} to {new_name}"
    changed = [c for c in comp.changes if c.changed]
    out = [
        "<!DOCTYPE html>", '<html lang="en-GB">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>", f"<style>{_REPORT_CSS}</style>", "</head>", "<body>",
        "<main>", f"<h1>{e(title)}</h1>",
        '<section class="summary" aria-labelledby="summary-h">',
        '<h2 id="summary-h">Summary</h2>', "<dl>",
        f"<dt>Keys compared</dt><dd>{len(comp.changes)}</dd>",
        f"<dt>Changed</dt><dd>{comp.n_changed}</dd>",
        f"<dt>Significant at 5 per cent</dt><dd>{comp.n_significant}</dd>",
        f"<dt>Added</dt><dd>{len(comp.added)}</dd>",
        f"<dt>Removed</dt><dd>{len(comp.removed)}</dd>", "</dl>",
    ]
    movers = _movers(comp)
    if movers:
        out.append("<p>Largest significant changes:</p><ul>")
        out += [f"<li>{e(c.label or c.key)}: {e(fmt_value(c.old, c.unit))} to "
                f"{e(fmt_value(c.new, c.unit))} ({e(fmt_change(c))}, p {e(fmt_p(c.p))})</li>"
                for c in movers]
        out.append("</ul>")
    shown = f" ({e(summary)})" if summary and "only" in summary else ""
    out += [f"<p>A change is significant where p &lt; "
            f"{ALPHA} ({e(Z_TEST)}, or {e(FISHER)} where an expected count is below "
            f"{MIN_EXPECTED:g}); other numbers are shown without a test{shown}.</p>",
            "</section>"]
    if changed:
        out.append('<p class="filter"><input type="checkbox" id="only-significant"> '
                   '<label for="only-significant">Show only significant changes</label></p>')
    by_section: dict[str, list[Change]] = {}
    for c in changed:
        by_section.setdefault(section_of(c.key), []).append(c)
    heads = ("Description", old_name, new_name, "Change", "p", "Test", "Significant")
    for n, name in enumerate(_section_order()):
        rows = by_section.get(name)
        if not rows:
            continue
        n_sig = sum(c.significant for c in rows)
        tested = any(c.p is not None for c in rows)
        extra = "" if tested else ' class="no-test"'
        out += [f'<section aria-labelledby="s{n}"{extra}>',
                f'<h2 id="s{n}">{e(name)}</h2>',
                f"<p>{len(rows)} changed, {n_sig} significant.</p>",
                f'<div class="scroll" role="region" tabindex="0" aria-labelledby="s{n}">',
                '<table class="changes">',
                f'<caption class="visually-hidden">Changed figures: {e(name)}</caption>',
                "<thead><tr>" + "".join(
                    f'<th scope="col"{NUM if i in (1, 2, 3, 4) else ""}>{e(h)}</th>'
                    for i, h in enumerate(heads)) + "</tr></thead>", "<tbody>"]
        for c in rows:
            cls = "sig" if c.significant else "not-sig"
            sig = "Yes" if c.significant else ("No" if c.p is not None else "")
            out.append(
                f'<tr class="{cls}"><th scope="row" class="desc">{e(c.label or c.key)}'
                f'<br><span class="key"><code>{e(c.key)}</code></span></th>'
                f'<td class="num" data-label="{e(old_name)}">{e(fmt_value(c.old, c.unit))}</td>'
                f'<td class="num" data-label="{e(new_name)}">{e(fmt_value(c.new, c.unit))}</td>'
                f'<td class="num" data-label="Change">{e(fmt_change(c))}</td>'
                f'<td class="num" data-label="p">{e(fmt_p(c.p))}</td>'
                f'<td data-label="Test"><abbr title="{e(c.test)}">'
                f"{e(_short_test(c.test))}</abbr></td>"
                f'<td class="sigmark" data-label="Significant">{sig}</td></tr>')
        out += ["</tbody>", "</table>", "</div>", "</section>"]
    if not changed:
        out.append("<p>No key changed.</p>")
    for title_, facts, side in (("Added keys", comp.added, new_name),
                                ("Removed keys", comp.removed, old_name)):
        if not facts:
            continue
        out += ["<section>", f"<h2>{e(title_)} ({len(facts)})</h2>",
                f"<p>Keys in {e(side)} only: a model that selected different variables, "
                "or a question asked in one year only.</p>",
                "<details><summary>Show them with their values</summary>",
                '<div class="scroll" role="region" tabindex="0" '
                f'aria-label="{e(title_)}">', '<table class="changes">',
                f"<caption>{e(title_)}, with their values</caption>",
                f'<thead><tr><th scope="col">Description</th>'
                f'<th scope="col" class="num">{e(side)}</th></tr></thead>', "<tbody>"]
        out += [f'<tr><th scope="row" class="desc">{e(f.label or f.key)}<br>'
                f'<span class="key"><code>{e(f.key)}</code></span></th>'
                f'<td class="num" data-label="{e(side)}">{e(_fact_value(f))}</td></tr>'
                for f in facts]
        out += ["</tbody>", "</table>", "</div>", "</details>", "</section>"]
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def write_report(path: Path, text: str, what: str = "the comparison") -> None:
    """Whole file or nothing: write beside the target, then rename over it; a file-system
    failure is a plain error naming the file and what was being written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    except OSError as exc:
        raise BulletinError(f"{path}: cannot write {what}: {exc.strerror}") from None


def diff_command(old: str, new: str, old_side: tuple[Registry, str],
                 new_side: tuple[Registry, str], only_significant: bool = False,
                 prefix: str = "", csv_out: Path | None = None,
                 html_out: Path | None = None) -> int:
    """The report for two sides already read (`bulletin.sides.load_side`); `old` and `new`
    are the arguments as the user gave them, for the column headings."""
    old_reg, old_name = old_side
    new_reg, new_name = new_side
    base = compare(old_reg, new_reg).select(prefix)
    shown = base.select(only_significant=only_significant)
    summary = base.summary()
    if only_significant:
        summary += "; only significant changes listed"
    old_label, new_label = _column_name(old), _column_name(new)
    if old_label == new_label:
        old_label, new_label = "old", "new"
    if csv_out is not None:
        write_report(csv_out, to_csv(shown))
    if html_out is not None:
        write_report(html_out, to_html(shown, old_label, new_label, summary))
    sys.stdout.write(f"comparing {old_name} -> {new_name}\n\n")
    sys.stdout.write(format_table(shown, old_label, new_label, summary))
    return 0


def _column_name(arg: str) -> str:
    """A short heading for a side: the edition id, or the folder a numbers file sits in."""
    if EDITION_ID_RE.match(arg):
        return arg
    p = Path(arg)
    if p.name == "numbers.csv" and p.parent.name:
        return p.parent.name
    return p.stem or arg
