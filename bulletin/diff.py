"""Year-on-year comparison of two facts registries.

One comparison serves two readers: the analyst, who runs `python -m bulletin diff` to see
what moved between editions before signing a bulletin off, and the bulletin's own wording,
which calls `compare_fact` so that "up from 58% to 63%" is only said to be a real change
when the test says so. Both therefore use the same test and the same threshold.

Proportions (facts carrying a yes count and a base) are compared with a pooled
two-proportion z-test, the test most readers of the bulletin will know; when any expected
cell of the 2x2 table is below 5 the normal approximation is poor, so Fisher's exact test
(from scipy, which handles the hypergeometric tails exactly) is used instead. Other
numbers get their change and no test: a coefficient or a count has no sampling model here.
"""

from __future__ import annotations

import csv
import html
import io
import math
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulletin.atomic import write_text_atomic
from bulletin.errors import BulletinError
from bulletin.facts import SUPPRESSED_MARK as SUPPRESSED
from bulletin.facts import Fact, Registry

# The significance level of every comparison the bulletin words or the diff flags.
ALPHA = 0.05
MIN_EXPECTED = 5.0
Z_TEST = "two-proportion z-test"
FISHER = "Fisher's exact test"
NON_NUMERIC_UNITS = ("text", "month")
EDITION_ID_RE = re.compile(r"^\d{4}-\d{2}$")
CSV_COLUMNS = ("key", "label", "unit", "status", "old", "new", "change", "p",
               "significant", "test")

Value = float | int | str | None


@dataclass(frozen=True)
class Change:
    """How one fact moved between two editions.

    `change` is new minus old in the fact's own unit (percentage points for
    percentages); None where either value is missing or not a number. `p` and `test`
    are set only for proportions that could be tested.
    """

    key: str
    label: str
    old: Value
    new: Value
    change: float | int | None
    p: float | None
    significant: bool
    test: str = ""
    unit: str = "number"
    suppressed: bool = False  # either year's figure is withheld (disclosure control)

    @property
    def changed(self) -> bool:
        if self.change is not None:
            return self.change != 0
        return self.old != self.new


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


# -- the statistics ----------------------------------------------------------------

def _is_number(v: Value) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_proportion(f: Fact) -> bool:
    return f.count is not None and f.base is not None


def _check_proportion(f: Fact) -> None:
    if f.base is None or f.count is None or f.base < 0 or not 0 <= f.count <= f.base:
        raise BulletinError(f"fact {f.key}: count {f.count} and base {f.base} are not a "
                            "proportion; expected 0 <= count <= base")


def proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, str]:
    """Two-sided p for x1/n1 against x2/n2, and the name of the test used.

    Returns (None, "") where a base is zero, since there is nothing to compare.
    """
    if n1 <= 0 or n2 <= 0:
        return None, ""
    total, yes = n1 + n2, x1 + x2
    expected = (n1 * yes / total, n1 * (total - yes) / total,
                n2 * yes / total, n2 * (total - yes) / total)
    if min(expected) < MIN_EXPECTED:
        from scipy.stats import fisher_exact
        result = fisher_exact([[x1, n1 - x1], [x2, n2 - x2]], alternative="two-sided")
        return min(1.0, float(result.pvalue)), FISHER
    pooled = yes / total
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0, Z_TEST
    z = (x2 / n2 - x1 / n1) / se
    from scipy.stats import norm
    return float(2 * norm.sf(abs(z))), Z_TEST


def compare_fact(old: Fact, new: Fact) -> Change:
    """How `new` differs from `old` (the key and label are taken from `new`).

    A suppressed figure is replaced by the suppression mark here, at the source, and no
    change or test is computed with it: a difference or a p-value next to the other
    year's figure could give the withheld count away, in any output format.
    """
    if old.suppressed or new.suppressed:
        return Change(key=new.key, label=new.label,
                      old=SUPPRESSED if old.suppressed else old.value,
                      new=SUPPRESSED if new.suppressed else new.value,
                      change=None, p=None, significant=False, unit=new.unit,
                      suppressed=True)
    change: float | int | None = None
    if (new.unit not in NON_NUMERIC_UNITS and _is_number(old.value)
            and _is_number(new.value)):
        change = new.value - old.value  # type: ignore[operator]
    p: float | None = None
    test = ""
    if _is_proportion(old) and _is_proportion(new):
        _check_proportion(old)
        _check_proportion(new)
        p, test = proportion_test(old.count, old.base, new.count, new.base)  # type: ignore[arg-type]
    return Change(key=new.key, label=new.label, old=old.value, new=new.value,
                  change=change, p=p, significant=p is not None and p < ALPHA,
                  test=test, unit=new.unit)


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


def load_side(arg: str) -> tuple[Registry, str]:
    """An edition id or a numbers file (or a build folder holding one) -> its facts.

    For an edition id the built numbers file is used when there is one, so that a diff
    is quick after a build; otherwise the facts are computed from the edition's data.
    """
    path = Path(arg)
    if path.is_dir():
        path = path / "numbers.csv"
    elif not (path.suffix.lower() == ".csv" or path.exists() or "/" in arg or os.sep in arg):
        if not EDITION_ID_RE.match(arg):
            raise BulletinError(f"{arg}: neither a numbers.csv file nor an edition id; "
                                "expected a path to numbers.csv or an id such as 2018-19")
        from bulletin.build import default_out
        from bulletin.config import load_edition
        edition = load_edition(arg)
        built = default_out(edition) / "numbers.csv"
        if built.is_file() and not _stale(built, edition):
            return _read(built), f"{arg} ({built})"
        from bulletin.build import gather
        why = "is older than its data or edition file" if built.is_file() else "found"
        print(f"diff: no up-to-date build of {arg} ({built} {why}); computing its "
              f"facts from {edition.data_file}", file=sys.stderr)
        return gather(edition, quiet=True), arg
    return _read(path), str(path)


def _stale(built: Path, edition: Any) -> bool:
    """A build older than the data or the edition file may not show today's numbers."""
    made = built.stat().st_mtime
    sources = [edition.data_file, edition.source_file]
    return any(p is not None and p.exists() and p.stat().st_mtime > made for p in sources)


def _read(path: Path) -> Registry:
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


def diff_command(old: str, new: str, only_significant: bool = False, prefix: str = "",
                 csv_out: Path | None = None, html_out: Path | None = None) -> int:
    old_reg, old_name = load_side(old)
    new_reg, new_name = load_side(new)
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
