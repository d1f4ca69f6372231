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

import numpy as np

from bulletin.config import PACKAGE_DIR
from bulletin.demo.spec import Drift

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
    # A derived year's sub-group yes rates, met approximately (no exact cells to meet):
    # (variable, level, judgement) -> rate; each within `cell_band` binomial SDs.
    cell_rates: dict[tuple[str, str, str], float] = field(default_factory=dict)
    cell_band: float = 0.5

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


def shifted_targets(base: Targets, shifts: dict[str, float], month_shift: int,
                    drift: Drift | None = None,
                    rng: np.random.Generator | None = None) -> Targets:
    """A plausible next year: the base year's counts moved by the given shifts.

    `shifts` holds `scale_cases` (factor on every class size), a logit shift per question
    or judgement (yes share moves), `caseload` (a shift per band step: negative moves
    officers to smaller caseloads) and `nps_caseload_over_50` (logit shift of the NPS
    share above 50 cases). With `drift` (and its `rng`) every share also moves a little by
    chance and the counts are drawn as a fresh sample, so the year does not repeat the base
    year's percentages; without it the counts are the base year's, scaled. There are no
    published cells for such a year, so the generator forces none.
    """
    scale = shifts.get("scale_cases", 1.0)
    if drift is not None and rng is None:
        raise ValueError("a drifting year needs its random stream")
    sampler = _Sampler(drift, rng)
    n_cases = round(base.n_cases * scale)
    if sampler.sampling:
        n_int = sampler.binomial(n_cases, base.n_interviewed / base.n_cases)
        sizes = sampler.counts(n_int, {c: float(n) for c, n in base.class_sizes.items()})
    else:
        sizes = {c: round(n * scale) for c, n in base.class_sizes.items()}
    level_counts: dict[str, dict[str, dict[str, int | None]]] = {}
    for variable, levels in base.level_counts.items():
        # The population's own drift: one draw per variable, shared by every class.
        is_question = set(levels) == {"yes", "no"}
        yes_shift = shifts.get(variable, 0.0) + sampler.normal()
        level_factor = {lv: math.exp(sampler.normal()) for lv in levels
                        if not is_question}
        new: dict[str, dict[str, int | None]] = {lv: {} for lv in levels}
        for cls in CLASSES:
            counts = {lv: levels[lv][cls] for lv in levels}
            if any(v is None for v in counts.values()):
                for lv in levels:
                    new[lv][cls] = None
                continue
            weights = {lv: float(v) for lv, v in counts.items()}  # type: ignore[arg-type]
            missing = base.class_sizes[cls] - sum(weights.values())
            if is_question and yes_shift != 0.0:
                answered = weights["yes"] + weights["no"]
                if answered:
                    p = _expit(_logit(weights["yes"] / answered) + yes_shift)
                    weights = {"yes": answered * p, "no": answered * (1 - p)}
            if level_factor:
                known = sum(weights.values())
                weights = {lv: w * level_factor[lv] for lv, w in weights.items()}
                if variable == "caseload_band" and "caseload" in shifts:
                    weights = {lv: w * math.exp(shifts["caseload"] * i)
                               for i, (lv, w) in enumerate(weights.items())}
                total = sum(weights.values()) or 1.0
                weights = {lv: w * known / total for lv, w in weights.items()}
            split = sampler.counts(sizes[cls], {**weights, "": missing})
            for lv in levels:
                new[lv][cls] = split[lv]
        level_counts[variable] = new
    n_interviewed = sum(sizes.values())
    crc_share = base.interviewed_by_type["CRC"] / base.n_interviewed
    if sampler.sampling:
        # Every High/Very high case is at the NPS, so its interviews follow their number.
        per_case = base.interviewed_by_type["NPS"] / _high_risk_counts(base.level_counts)
        nps = round(_high_risk_counts(level_counts) * per_case * math.exp(sampler.normal()))
        crc = n_interviewed - nps
    else:
        crc = round(n_interviewed * crc_share)
    facts = {"crc_rosh_medium": base.text_facts.get("crc_rosh_medium", "70")}
    if drift is not None:
        # The CRC medium-risk share then follows from the drawn RoSH counts (every low-risk
        # case is at a CRC), and the NPS share of officers above 50 cases drifts.
        del facts["crc_rosh_medium"]
        nps = float(base.text_facts["nps_staff_caseload_over_50"]) / 100
        nps = _expit(_logit(nps) + shifts.get("nps_caseload_over_50", 0.0) + sampler.normal())
        facts["nps_staff_caseload_over_50"] = f"{100 * nps:.1f}"
    t = Targets(
        n_cases=n_cases,
        n_interviewed=n_interviewed,
        interviewed_by_type={"CRC": crc, "NPS": n_interviewed - crc},
        providers=[(p, ty, _add_months(m, month_shift)) for p, ty, m in base.providers],
        class_sizes=sizes,
        level_counts=level_counts,
        cells=[],
        judgement_n={},
        judgement_pct={},
        table1_pct={},
        text_facts=facts,
    )
    t.judgement_n = {j: sum(sizes[c] for c in JUDGED_IN[j]) for j in JUDGEMENTS}
    # Only each judgement's total is exact: per-cell yes counts derived independently from
    # the base year need not be jointly attainable, and a year without published tables
    # has nothing to match exactly. Sub-group rates are soft targets (below), if any.
    moved = {}
    for j in JUDGEMENTS:
        moved[j] = shifts.get(j, 0.0) + sampler.normal()
        rate = _expit(_logit(base.yes_total[j] / base.judgement_n[j]) + moved[j])
        t.yes_total[j] = (sampler.binomial(t.judgement_n[j], rate) if sampler.sampling
                          else round(rate * t.judgement_n[j]))
    if drift is not None:
        # Sub-group rates: the base year's, moved with the judgement, plus the difference
        # two independent samples show (sqrt 2 sampling SEs, logit scale). Without them
        # the sub-group gaps would follow the latent structure alone and shrink against
        # the base year's.
        for j in JUDGEMENTS:
            for c in base.cells:
                if c.judgement != j:
                    continue
                k = base.yes[(c.variable, c.level, j)]
                p = min(max(k / c.n, 0.5 / c.n), 1 - 0.5 / c.n)
                se = math.sqrt(2 / (c.n * p * (1 - p)))
                t.cell_rates[(c.variable, c.level, j)] = _expit(
                    _logit(p) + moved[j] + sampler.normal(se))
        t.cell_band = drift.cell_band
    return t


def _high_risk_counts(level_counts: dict[str, dict[str, dict[str, int | None]]]) -> int:
    return sum(c or 0 for c in level_counts["rosh_level"]["High/Very high"].values())


class _Sampler:
    """The chance part of a derived year: drift draws and sample counts, or none at all.

    Probabilities are rounded to 12 decimals before they reach a draw, so a last-bit
    difference in `exp` or `log` between platforms cannot change a count.
    """

    def __init__(self, drift: Drift | None, rng: np.random.Generator | None) -> None:
        self.drift, self.rng = drift, rng
        self.sampling = drift is not None and drift.sample

    def normal(self, sd: float | None = None) -> float:
        if self.drift is None or self.rng is None:
            return 0.0
        return float(self.rng.normal(scale=self.drift.share_sd if sd is None else sd))

    def binomial(self, n: int, p: float) -> int:
        assert self.rng is not None
        return int(self.rng.binomial(n, round(p, 12)))

    def counts(self, total: int, weights: dict[str, float]) -> dict[str, int]:
        """Whole counts summing to `total`: a multinomial sample when sampling, else the
        proportional split (largest remainder)."""
        if not self.sampling:
            return _split(total, weights)
        assert self.rng is not None
        w = np.array([max(v, 0.0) for v in weights.values()])
        p = np.round(w / w.sum(), 12)
        drawn = self.rng.multinomial(total, p / p.sum())
        return {k: int(c) for k, c in zip(weights, drawn, strict=True)}


def _add_months(month: str, k: int) -> str:
    y, m = (int(x) for x in month.split("-"))
    m += k
    y, m = y + (m - 1) // 12, (m - 1) % 12 + 1
    return f"{y:04d}-{m:02d}"
