"""A figure's history: every edition's value of each key side by side, with the
year-on-year tests.

`diff` answers "what moved since last year"; with three or more editions an analyst also
asks "is this a trend or a blip", which needs every year at once. Each step between
consecutive editions is tested exactly as `diff` and the bulletin's wording test it
(`bulletin.change.compare_fact`). Like `diff`, this module only reads registries;
`bulletin.sides` finds and, where needed, computes them.
"""

from __future__ import annotations

import csv
import html
import io
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bulletin.change import NON_NUMERIC_UNITS, Change, compare_fact
from bulletin.diff import (
    OTHER_SECTION,
    SECTIONS,
    fmt_change,
    fmt_p,
    fmt_value,
    section_of,
    write_report,
)
from bulletin.errors import BulletinError
from bulletin.facts import SUPPRESSED_MARK as SUPPRESSED
from bulletin.facts import Fact, Registry
from bulletin.significance import ALPHA


@dataclass(frozen=True)
class KeyHistory:
    """One key across editions: its fact in each (None where absent) and the test of
    each step from one edition to the next (None where either side is missing)."""

    key: str
    label: str
    unit: str
    facts: tuple[Fact | None, ...]
    steps: tuple[Change | None, ...]  # len(facts) - 1

    def shown(self, i: int) -> str:
        f = self.facts[i]
        if f is None:
            return ""
        return SUPPRESSED if f.suppressed else fmt_value(f.value, f.unit)

    def points(self) -> list[tuple[int, float]]:
        """(edition index, value) for the numeric, published values: what a chart plots."""
        out = []
        for i, f in enumerate(self.facts):
            if (f is not None and not f.suppressed and f.unit not in NON_NUMERIC_UNITS
                    and isinstance(f.value, int | float) and not isinstance(f.value, bool)
                    and math.isfinite(f.value)):
                out.append((i, float(f.value)))
        return out


@dataclass(frozen=True)
class History:
    editions: tuple[str, ...]
    keys: tuple[KeyHistory, ...]

    def select(self, prefix: str = "") -> History:
        return History(self.editions, tuple(k for k in self.keys if k.key.startswith(prefix)))


def history(editions: Sequence[str], registries: Sequence[Registry]) -> History:
    """Every key of any edition, in key order, with its value in each edition."""
    if len(editions) != len(registries) or not editions:
        raise BulletinError("history: expected at least one edition")
    keys = sorted(set().union(*(set(r) for r in registries)))
    out = []
    for key in keys:
        facts = tuple(r.get(key) for r in registries)
        latest = next(f for f in reversed(facts) if f is not None)
        steps = tuple(compare_fact(a, b) if a is not None and b is not None else None
                      for a, b in zip(facts, facts[1:], strict=False))
        out.append(KeyHistory(key, latest.label, latest.unit, facts, steps))
    return History(tuple(editions), tuple(out))


# -- presenting it ----------------------------------------------------------------------

def format_table(h: History) -> str:
    """Plain text: one row per key, each edition's value, '*' after a value that differs
    significantly from the edition before it."""
    head = ("key", *h.editions)
    rows = []
    for k in h.keys:
        cells = [k.key]
        for i in range(len(h.editions)):
            mark = "*" if i and k.steps[i - 1] is not None and k.steps[i - 1].significant \
                else ""
            cells.append(k.shown(i) + mark)
        rows.append(cells)
    if not rows:
        return "no keys\n"
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
             for r in [list(head), ["-" * w for w in widths], *rows]]
    n_sig = sum(s is not None and s.significant for k in h.keys for s in k.steps)
    lines += ["", f"{len(h.keys)} keys across {len(h.editions)} editions; {n_sig} "
              f"year-on-year changes significant (* p < {ALPHA})"]
    return "\n".join(lines) + "\n"


def to_csv(h: History) -> str:
    """key, label, unit, then each edition's value, and for each later edition the
    change from the one before, its p-value and whether it is significant."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = ["key", "label", "unit"] + list(h.editions)
    for ed in h.editions[1:]:
        cols += [f"{ed} change", f"{ed} p", f"{ed} significant"]
    w.writerow(cols)
    for k in h.keys:
        row: list[object] = [k.key, k.label, k.unit]
        for f in k.facts:
            row.append("" if f is None else (SUPPRESSED if f.suppressed else _raw(f.value)))
        for s in k.steps:
            if s is None:
                row += ["", "", ""]
            else:
                row += [_raw(s.change), "" if s.p is None else repr(s.p),
                        "" if s.p is None else int(s.significant)]
        w.writerow(row)
    return buf.getvalue()


def _raw(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else repr(round(v, 10))
    return str(v)


def sparkline(k: KeyHistory, n: int, width: int = 120, height: int = 32) -> str:
    """A small line chart of the key's values, with an accessible name that reads the
    values out; '' where fewer than two values can be plotted."""
    pts = k.points()
    if len(pts) < 2:
        return ""
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    if k.unit == "percent":
        lo, hi = min(lo, max(0.0, lo - 5)), max(hi, min(100.0, hi + 5))
    span = (hi - lo) or 1.0
    pad = 4

    def xy(i: int, v: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * (i / max(1, n - 1))
        y = height - pad - (height - 2 * pad) * ((v - lo) / span)
        return round(x, 1), round(y, 1)

    coords = [xy(i, v) for i, v in pts]
    line = " ".join(f"{x},{y}" for x, y in coords)
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="2.5"/>' for x, y in coords)
    label = "; ".join(f"{i + 1}: {k.shown(i)}" for i, _ in pts)
    return (f'<svg class="spark" width="{width}" height="{height}" role="img" '
            f'viewBox="0 0 {width} {height}" aria-label="{html.escape(label)}">'
            f'<polyline points="{line}" fill="none" stroke="#1d70b8" stroke-width="2"/>'
            f'<g fill="#1d70b8">{dots}</g></svg>')


_CSS = """
body{font-family:system-ui,sans-serif;color:#0b0c0c;margin:0 auto;padding:1rem;max-width:80rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{padding:.35rem .5rem;border-bottom:1px solid #b1b4b6;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #0b0c0c}
.num{text-align:right;white-space:nowrap}
.desc{font-weight:400;min-width:14rem}
.key{font-size:.85rem;color:#505a5f;word-break:break-all}
.sig{font-weight:700;color:#00703c}
"""


def to_html(h: History) -> str:
    """A standalone page: per section, one row per key with each edition's value, the
    latest step's change and test, and a small chart of the values."""
    e = html.escape
    title = f"History of the bulletin's numbers: {h.editions[0]} to {h.editions[-1]}"
    out = ["<!DOCTYPE html>", '<html lang="en-GB">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{e(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           "<main>", f"<h1>{e(title)}</h1>",
           f"<p>{len(h.keys)} keys across {len(h.editions)} editions "
           f"({e(', '.join(h.editions))}). A value in <span class=\"sig\">bold green</span> "
           f"differs significantly from the edition before it (p &lt; {ALPHA}: "
           "two-proportion z-test, or Fisher's exact test for small counts). Each chart "
           "plots the key's values in edition order.</p>"]
    groups: dict[str, list[KeyHistory]] = {}
    for k in h.keys:
        groups.setdefault(section_of(k.key), []).append(k)
    order = [t for t, _ in SECTIONS] + [OTHER_SECTION]
    for n, name in enumerate(order):
        rows = groups.get(name)
        if not rows:
            continue
        out += [f'<section aria-labelledby="h{n}">', f'<h2 id="h{n}">{e(name)}</h2>',
                f'<div class="scroll" role="region" tabindex="0" aria-labelledby="h{n}">',
                "<table>", f"<caption>{e(name)}: values by edition</caption>",
                "<thead><tr><th scope=\"col\">Description</th>"
                + "".join(f'<th scope="col" class="num">{e(ed)}</th>' for ed in h.editions)
                + '<th scope="col" class="num">Latest change</th>'
                '<th scope="col" class="num">p</th><th scope="col">Chart</th></tr></thead>',
                "<tbody>"]
        for k in rows:
            cells = [f'<th scope="row" class="desc">{e(k.label or k.key)}<br>'
                     f'<span class="key"><code>{e(k.key)}</code></span></th>']
            for i in range(len(h.editions)):
                step = k.steps[i - 1] if i else None
                cls = "num sig" if step is not None and step.significant else "num"
                cells.append(f'<td class="{cls}">{e(k.shown(i))}</td>')
            last = k.steps[-1] if k.steps else None
            cells.append(f'<td class="num">{e(fmt_change(last)) if last else ""}</td>')
            cells.append(f'<td class="num">{e(fmt_p(last.p)) if last else ""}</td>')
            cells.append(f"<td>{sparkline(k, len(h.editions))}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out += ["</tbody>", "</table>", "</div>", "</section>"]
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def history_command(editions: Sequence[str], registries: Sequence[Registry],
                    prefix: str = "", csv_out: Path | None = None,
                    html_out: Path | None = None) -> int:
    h = history(editions, registries).select(prefix)
    if csv_out is not None:
        write_report(csv_out, to_csv(h), "the history")
    if html_out is not None:
        write_report(html_out, to_html(h), "the history")
    sys.stdout.write(format_table(h))
    return 0
