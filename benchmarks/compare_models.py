"""Print the three stepwise models next to the published Tables B3 to B5.

    .venv/bin/python benchmarks/compare_models.py [--data FILE] [--edition ID]

For each model: the cases used, the variables selected against the published ones,
the selection path, and every published row with our B, SE, odds ratio and significance
stars beside the published values and the gap in published standard errors (the larger of
the gap as computed and as printed to two places; an SE printed as 0.00 counts as 0.005).
Ends with the count of matching stars and the largest gap, and how long the analysis
stage took.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from bulletin import words  # noqa: E402
from bulletin.analysis.run import analyse  # noqa: E402
from bulletin.collect import collect_facts  # noqa: E402
from bulletin.config import PACKAGE_DIR, load_edition  # noqa: E402
from bulletin.facts import Registry, slug  # noqa: E402
from bulletin.validate import load_valid  # noqa: E402

PUBLISHED = PACKAGE_DIR / "reference" / "hmip_2020_01" / "tableB3_B5_regression_models.csv"
SE_FLOOR = 0.005  # a published SE printed as 0.00 is below half a unit of the last place


def _f(x: object, width: int = 8, places: int = 2) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return " " * (width - 1) + "-"
    return f"{x:{width}.{places}f}"


def gap_in_se(b: float, row: dict[str, str]) -> float:
    """Distance of our B from the printed one in published SEs, as computed or as printed
    to two places, whichever is larger."""
    b_pub = float(row["B"])
    printed = float(words.round_half_up(b, 2))
    return max(abs(b - b_pub), abs(printed - b_pub)) / max(float(row["SE"]), SE_FLOOR)


def report(registry: Registry, published: list[dict[str, str]]) -> str:
    stars_same = stars_rows = 0
    largest, where = 0.0, ""
    by_model: dict[str, list[dict[str, str]]] = {}
    for r in published:
        by_model.setdefault(r["model"], []).append(r)
    out = []
    for model, prows in by_model.items():
        j = prows[0]["outcome"]
        head = f"model.{j}"
        want = {r["term"] for r in prows if r["term"] != "constant"}
        got = set(registry.value(f"{head}.selected").split(", ")) - {""}
        out += [f"Table {model}: {j}  (n = {registry.value(f'{head}.n')}, "
                f"Nagelkerke R2 = {registry.value(f'{head}.nagelkerke_r2'):.3f})",
                f"  selected  : {', '.join(sorted(got))}",
                f"  published : {', '.join(sorted(want))}",
                f"  {'same variables' if got == want else 'DIFFERENT variables'}"]
        k = 1
        path = []
        while f"{head}.step.{k}.variable" in registry:
            path.append(f"{registry.value(f'{head}.step.{k}.action')} "
                        f"{registry.value(f'{head}.step.{k}.variable')} "
                        f"(p={registry.value(f'{head}.step.{k}.p'):.2g})")
            k += 1
        out.append("  path      : " + "; ".join(path))
        out.append(f"  {'row':<40}{'B':>8}{'pub B':>8}{'SE':>8}{'pub SE':>8}{'OR':>8}"
                   f"{'pub OR':>8}{'gap/SE':>8}{'stars':>6}{'pub':>5}")
        for r in prows:
            key = f"{head}.{r['term']}" + (f".{slug(r['level'])}" if r["level"] else "")
            name = r["term"] + (f" = {r['level']}" if r["level"] else "")
            p = registry.get(f"{key}.p")
            ours = "" if r["term"] == "constant" else words.stars(p) if p is not None else "?"
            if r["term"] != "constant":
                stars_rows += 1
                stars_same += ours == r["stars"]
            mark = f"{ours or '-':>6}{r['stars'] or '-':>5}" + \
                ("" if ours == r["stars"] else "  <- differs")
            if not r["B"]:  # the overall test on the reference row
                shown = "-" if p is None else f"p = {p.value:.3g}"
                out.append(f"  {name + ' (ref ' + r['reference_level'] + ')':<40}"
                           f"{'overall Wald ' + shown:>56}{mark}")
                continue
            vals = {s: registry.get(f"{key}.{s}") for s in ("b", "se", "odds_ratio")}
            vals = {s: (f.value if f else None) for s, f in vals.items()}
            gap = gap_in_se(vals["b"], r) if vals["b"] is not None else None
            if gap is not None and gap > largest:
                largest, where = gap, f"{model} {name}"
            out.append(f"  {name[:39]:<40}{_f(vals['b'])}{_f(float(r['B']))}"
                       f"{_f(vals['se'])}{_f(float(r['SE']))}{_f(vals['odds_ratio'])}"
                       f"{_f(float(r['odds_ratio'])) if r['odds_ratio'] else _f(None)}"
                       f"{_f(gap)}{mark}")
        out.append("")
    out.append(f"stars {stars_same}/{stars_rows}; largest B gap {largest:.2f} published SE "
               f"({where})")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--edition", default="2018-19")
    p.add_argument("--data", type=Path)
    args = p.parse_args(argv)
    edition = load_edition(args.edition)
    frame = load_valid(args.data or edition.data_file, edition.analysis)
    start = time.perf_counter()
    results = analyse(frame, edition)
    seconds = time.perf_counter() - start
    registry = collect_facts(results, edition)
    with PUBLISHED.open(encoding="utf-8", newline="") as fh:
        published = list(csv.DictReader(fh))
    print(report(registry, published))
    print(f"analysis stage: {seconds:.2f} s for {len(frame)} cases "
          f"({len(registry)} facts registered)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
