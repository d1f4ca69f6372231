"""The published counts the demonstration data must reproduce, derived from the reference CSVs.

The printed tables give, for each judgement, a base n and a percentage per sub-group.
Because the judgements nest (safety within desistance within sentence), differencing the
n's gives the exact count of every level within each *judgement class* of interviewed
cases, and each percentage admits only a few whole yes counts. This module turns the
tables into those integers so that later stages only ever deal with exact counts.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from bulletin.config import PACKAGE_DIR

# Interviewed cases fall into four classes by which judgements they have.
CLASSES = ("none", "s", "sd", "sds")
JUDGEMENTS = ("sentence_implemented", "supports_desistance", "supports_safety")
# Classes whose cases carry each judgement.
JUDGED_IN = {
    "sentence_implemented": ("s", "sd", "sds"),
    "supports_desistance": ("sd", "sds"),
    "supports_safety": ("sds",),
}
PREFIX = {"sentence_implemented": "sentence", "supports_desistance": "desistance",
          "supports_safety": "safety"}

REFERENCE_FOLDER = "hmip_2020_01"


@dataclass(frozen=True)
class Cell:
    """One published sub-group: cases at `level` of `variable` with judgement `judgement`."""

    variable: str
    level: str
    judgement: str
    n: int
    pct: str  # as printed, e.g. "82.1"

    @property
    def decimals(self) -> int:
        return len(self.pct.split(".")[1]) if "." in self.pct else 0


@dataclass
class Targets:
    """Exact integers for one year: counts by class and level, yes counts by cell."""

    n_cases: int
    n_interviewed: int
    interviewed_by_type: dict[str, int]
    providers: list[tuple[str, str, str]]  # (name, type, report month)
    class_sizes: dict[str, int]
    # variable -> level -> class -> count (None where the tables leave it free)
    level_counts: dict[str, dict[str, dict[str, int | None]]]
    cells: list[Cell]
    judgement_n: dict[str, int]
    judgement_pct: dict[str, str]
    table1_pct: dict[str, int]
    text_facts: dict[str, str]
    # chosen yes counts: (variable, level, judgement) -> k; judgement -> total
    yes: dict[tuple[str, str, str], int] = field(default_factory=dict)
    yes_total: dict[str, int] = field(default_factory=dict)

    def missing(self, variable: str, cls: str) -> int | None:
        counts = [c[cls] for c in self.level_counts[variable].values()]
        if any(c is None for c in counts):
            return None
        return self.class_sizes[cls] - sum(counts)  # type: ignore[arg-type]


def reference_dir() -> Path:
    """The reference tables ship inside the package, so installed copies find them too."""
    return PACKAGE_DIR / "reference" / REFERENCE_FOLDER


def _rows(name: str, folder: Path) -> list[dict[str, str]]:
    with (folder / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def rounds_to(k: int, n: int, printed: str) -> bool:
    """True when 100k/n prints as `printed`, with no half-way tie to argue about."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    scale = 10 ** decimals
    exact = Fraction(100 * k * scale, n)
    target = Fraction(printed) * scale
    return abs(exact - target) < Fraction(1, 2)


def yes_options(n: int, printed: str) -> list[int]:
    centre = int(Fraction(printed) * n / 100)
    return [k for k in range(max(centre - 2, 0), min(centre + 3, n) + 1)
            if rounds_to(k, n, printed)]


def load_targets(folder: Path | None = None) -> Targets:
    """Read the published tables and derive every exact count (no yes counts yet)."""
    folder = folder or reference_dir()
    facts = {r["key"]: r["value"] for r in _rows("text_facts.csv", folder)}
    t2 = {r["key"]: r for r in _rows("table2_inspector_judgements.csv", folder)}
    n = {j: int(t2[j]["n"]) for j in JUDGEMENTS}
    n_int = int(facts["ro_interviews"])
    sizes = {
        "none": n_int - n["sentence_implemented"],
        "s": n["sentence_implemented"] - n["supports_desistance"],
        "sd": n["supports_desistance"] - n["supports_safety"],
        "sds": n["supports_safety"],
    }
    cells: list[Cell] = []
    level_counts: dict[str, dict[str, dict[str, int | None]]] = {}
    rows = [(r["key"], r["response"], r) for r in _rows("tableB1_by_interview_response.csv",
                                                        folder)]
    rows += [(r["variable"], r["category"], r) for r in _rows("tableB2_by_case_variable.csv",
                                                              folder)]
    for variable, level, r in rows:
        level = level.lower() if level in ("Yes", "No") else level
        ns: dict[str, int | None] = {}
        for j in JUDGEMENTS:
            raw_n, raw_pct = r[f"{PREFIX[j]}_n"], r[f"{PREFIX[j]}_pct_yes"]
            ns[j] = int(raw_n) if raw_n else None
            if raw_n:
                cells.append(Cell(variable, level, j, int(raw_n), raw_pct))
        s, d, f = ns["sentence_implemented"], ns["supports_desistance"], ns["supports_safety"]
        level_counts.setdefault(variable, {})[level] = {
            "none": None,
            "s": None if s is None or d is None else s - d,
            "sd": None if d is None or f is None else d - f,
            "sds": f,
        }
    providers = [(r["provider"], r["provider_type"], r["report_published"])
                 for r in _rows("tableA1_providers.csv", folder)]
    return Targets(
        n_cases=int(facts["cases_inspected"]),
        n_interviewed=n_int,
        interviewed_by_type={"CRC": int(facts["ro_interviews_crc"]),
                             "NPS": int(facts["ro_interviews_nps"])},
        providers=providers,
        class_sizes=sizes,
        level_counts=level_counts,
        cells=cells,
        judgement_n=n,
        judgement_pct={j: t2[j]["pct_yes"] for j in JUDGEMENTS},
        table1_pct={r["key"]: int(r["pct_yes"])
                    for r in _rows("table1_interview_questions.csv", folder)},
        text_facts=facts,
    )


def choose_yes_counts(t: Targets) -> None:
    """Pick one yes count per cell and per judgement total, consistently.

    Each variable's rows without a recorded level take the yes count left over, which
    must lie between 0 and the number of such rows; among the admissible choices the one
    whose left-over rate is closest to the overall rate wins, so missing rows look typical.
    """
    for j in JUDGEMENTS:
        n_j = t.judgement_n[j]
        by_var: dict[str, list[Cell]] = {}
        for c in t.cells:
            if c.judgement == j:
                by_var.setdefault(c.variable, []).append(c)
        best: tuple[float, int, dict] | None = None
        totals = [k for k in range(n_j + 1) if rounds_to(k, n_j, t.judgement_pct[j])]
        for total in totals:
            rate = total / n_j
            chosen: dict[tuple[str, str, str], int] = {}
            cost = 0.0
            ok = True
            for _var, cs in by_var.items():
                n_missing = n_j - sum(c.n for c in cs)
                combos: list[tuple[int, ...]] = [()]
                for c in cs:
                    combos = [x + (k,) for x in combos for k in yes_options(c.n, c.pct)]
                scored = []
                for combo in combos:
                    left = total - sum(combo)
                    if 0 <= left <= n_missing:
                        dev = abs(left - rate * n_missing)
                        dev += sum(abs(k - c.n * rate) * 1e-6 for k, c in zip(combo, cs,
                                                                              strict=True))
                        scored.append((dev, combo))
                if not scored:
                    ok = False
                    break
                dev, combo = min(scored)
                cost += dev
                for k, c in zip(combo, cs, strict=True):
                    chosen[(c.variable, c.level, j)] = k
            if ok and (best is None or cost < best[0]):
                best = (cost, total, chosen)
        if best is None:
            raise ValueError(f"no consistent yes counts for {j}")
        t.yes_total[j] = best[1]
        t.yes.update(best[2])


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _expit(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _split(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Whole counts summing to `total` in proportion to `weights` (largest remainder)."""
    s = sum(weights.values()) or 1.0
    raw = {k: total * w / s for k, w in weights.items()}
    base = {k: int(math.floor(v)) for k, v in raw.items()}
    order = sorted(raw, key=lambda k: (-(raw[k] - base[k]), list(raw).index(k)))
    for k in order[: total - sum(base.values())]:
        base[k] += 1
    return base


def shifted_targets(base: Targets, shifts: dict[str, float], month_shift: int) -> Targets:
    """A plausible next year: the base year's counts moved by the given shifts.

    `shifts` holds `scale_cases` (factor on every class size), a logit shift per question
    or judgement (yes share moves), and `caseload` (a shift per band step: negative moves
    officers to smaller caseloads). There are no published text facts or cells for such a
    year, so the generator forces none of them.
    """
    scale = shifts.get("scale_cases", 1.0)
    sizes = {c: round(n * scale) for c, n in base.class_sizes.items()}
    level_counts: dict[str, dict[str, dict[str, int | None]]] = {}
    for variable, levels in base.level_counts.items():
        new: dict[str, dict[str, int | None]] = {lv: {} for lv in levels}
        for cls in CLASSES:
            counts = {lv: levels[lv][cls] for lv in levels}
            if any(v is None for v in counts.values()):
                for lv in levels:
                    new[lv][cls] = None
                continue
            weights = {lv: float(v) for lv, v in counts.items()}  # type: ignore[arg-type]
            missing = base.class_sizes[cls] - sum(weights.values())
            if variable in shifts and "yes" in weights:
                answered = weights["yes"] + weights["no"]
                if answered:
                    p = _expit(_logit(weights["yes"] / answered) + shifts[variable])
                    weights = {"yes": answered * p, "no": answered * (1 - p)}
            if variable == "caseload_band" and "caseload" in shifts:
                weights = {lv: w * math.exp(shifts["caseload"] * i)
                           for i, (lv, w) in enumerate(weights.items())}
                known = sum(counts.values())  # type: ignore[arg-type]
                total = sum(weights.values()) or 1.0
                weights = {lv: w * known / total for lv, w in weights.items()}
            split = _split(sizes[cls], {**weights, "": missing})
            for lv in levels:
                new[lv][cls] = split[lv]
        level_counts[variable] = new
    t = Targets(
        n_cases=round(base.n_cases * scale),
        n_interviewed=sum(sizes.values()),
        interviewed_by_type={},
        providers=[(p, ty, _add_months(m, month_shift)) for p, ty, m in base.providers],
        class_sizes=sizes,
        level_counts=level_counts,
        cells=[],
        judgement_n={},
        judgement_pct={},
        table1_pct={},
        text_facts={"crc_rosh_medium": base.text_facts.get("crc_rosh_medium", "70")},
    )
    t.judgement_n = {j: sum(sizes[c] for c in JUDGED_IN[j]) for j in JUDGEMENTS}
    crc_share = base.interviewed_by_type["CRC"] / base.n_interviewed
    t.interviewed_by_type = {"CRC": round(t.n_interviewed * crc_share)}
    t.interviewed_by_type["NPS"] = t.n_interviewed - t.interviewed_by_type["CRC"]
    # Only each judgement's total is set: per-cell yes counts derived independently from
    # the base year need not be jointly attainable, and a year without published tables
    # has nothing to match exactly. The judgements then follow the latent structure.
    for j in JUDGEMENTS:
        rate = _expit(_logit(base.yes_total[j] / base.judgement_n[j]) + shifts.get(j, 0.0))
        t.yes_total[j] = round(rate * t.judgement_n[j])
    return t


def _add_months(month: str, k: int) -> str:
    y, m = (int(x) for x in month.split("-"))
    m += k
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return f"{y:04d}-{m:02d}"
