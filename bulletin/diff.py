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
from bulletin.facts import Registry
from bulletin.significance import ALPHA

EDITION_ID_RE = re.compile(r"^\d{4}-\d{2}$")
CSV_COLUMNS = ("key", "label", "unit", "status", "old", "new", "change", "p",
               "significant", "test")

@dataclass(frozen=True)
class Comparison:
    """Every key both registries share, plus those only one of them has."""

    changes: tuple[Change, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]

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
        return Comparison(changes, tuple(k for k in self.added if k.startswith(prefix)),
                          tuple(k for k in self.removed if k.startswith(prefix)))

    def summary(self) -> str:
        return (f"{len(self.changes)} keys compared, {self.n_changed} changed, "
                f"{self.n_significant} significant, {len(self.added)} added, "
                f"{len(self.removed)} removed")


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
        added=tuple(k for k in new if k not in old),
        removed=tuple(k for k in old if k not in new),
    )


# -- reading the two sides -----------------------------------------------------------

def _check_numbers_file(path: Path) -> None:
    """A numeric fact whose value is not a number is a damaged file: say which line.

    `Registry.from_csv` keeps any unparseable value as text (text facts are legal), so
    the unit is what tells a damaged number apart from a genuine text fact.
    """
    reader = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
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
    """A numbers file's facts, refusing a damaged one with its file and line."""
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
    for title, keys in (("added", comp.added), ("removed", comp.removed)):
        if keys:
            lines.append("")
            lines.append(f"{title} ({len(keys)}):")
            lines += [f"  {k}" for k in keys]
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
    for status, keys in (("added", comp.added), ("removed", comp.removed)):
        for k in keys:
            w.writerow([k, "", "", status, "", "", "", "", "", ""])
    return buf.getvalue()


def to_html(comp: Comparison, old_name: str, new_name: str, summary: str | None = None) -> str:
    """A short standalone page: the summary, the changed keys, what was added or removed."""
    e = html.escape
    title = f"Changes in the bulletin's numbers: {old_name} to {new_name}"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title>",
        "<style>",
        "body{font-family:sans-serif;max-width:70rem;margin:1rem auto;padding:0 1rem;"
        "color:#0b0c0c}",
        "table{border-collapse:collapse}th,td{padding:.25rem .5rem;"
        "border-bottom:1px solid #b1b4b6;text-align:left;vertical-align:top}",
        "td.num{text-align:right;font-variant-numeric:tabular-nums}",
        "caption{text-align:left;font-weight:bold;padding:.5rem 0}",
        "</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{e(title)}</h1>",
        f"<p>{e(summary or comp.summary())}. A change is marked significant where p &lt; {ALPHA} "
        f"({e(Z_TEST)}, or {e(FISHER)} where an expected count is below "
        f"{MIN_EXPECTED:g}); other numbers are shown without a test.</p>",
    ]
    changed = [c for c in comp.changes if c.changed]
    if changed:
        out += [
            "<table>",
            f"<caption>Changed keys, largest change first ({len(changed)})</caption>",
            "<thead><tr>" + "".join(
                f'<th scope="col">{e(h)}</th>' for h in
                ("Key", "Description", old_name, new_name, "Change", "p", "Test",
                 "Significant")) + "</tr></thead>",
            "<tbody>",
        ]
        for c in changed:
            cells = [f'<th scope="row"><code>{e(c.key)}</code></th>',
                     f"<td>{e(c.label)}</td>",
                     f'<td class="num">{e(fmt_value(c.old, c.unit))}</td>',
                     f'<td class="num">{e(fmt_value(c.new, c.unit))}</td>',
                     f'<td class="num">{e(fmt_change(c))}</td>',
                     f'<td class="num">{e(fmt_p(c.p))}</td>',
                     f"<td>{e(c.test)}</td>",
                     f"<td>{'Yes' if c.significant else ('No' if c.p is not None else '')}"
                     "</td>"]
            out.append("<tr>" + "".join(cells) + "</tr>")
        out += ["</tbody>", "</table>"]
    else:
        out.append("<p>No key changed.</p>")
    for title_, keys in (("Added keys", comp.added), ("Removed keys", comp.removed)):
        if keys:
            out.append(f"<h2>{title_} ({len(keys)})</h2>")
            out.append("<ul>" + "".join(f"<li><code>{e(k)}</code></li>" for k in keys)
                       + "</ul>")
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _write(path: Path, text: str) -> None:
    """Whole file or nothing: write beside the target, then rename over it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, text)
    except OSError as exc:
        raise BulletinError(f"{path}: cannot write the comparison: {exc.strerror}") from None


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
        _write(csv_out, to_csv(shown))
    if html_out is not None:
        _write(html_out, to_html(shown, old_label, new_label, summary))
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
