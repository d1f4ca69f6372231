"""Model columns of the candidate variables, as the published models code them.

The generator needs the design matrix of the 25 candidates to bound the score of each
column; it codes them here (indicator contrasts against the published reference
categories) rather than through the analysis stage, so that generating data does not
depend on the code that will later analyse it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bulletin.demo.population import AGE_BANDS, OGRS_BANDS, QUESTIONS

# variable -> (levels in order, reference level); questions are yes vs no.
CATEGORICAL = {
    "age_group": (tuple(b for b, *_ in AGE_BANDS), "18-24"),
    "gender": (("Male", "Female"), "Male"),
    "ethnicity": (("White", "Ethnic minority"), "White"),
    "supervision_type": (("Community sentence", "Post-custody"), "Community sentence"),
    "ogrs_band": (tuple(b for b, *_ in OGRS_BANDS), "Low"),
    "rosh_level": (("Low", "Medium", "High/Very high"), "High/Very high"),
    "ro_grade": (("Probation Officer", "Probation Service Officer", "Other or not clear"),
                 "Probation Officer"),
}
CANDIDATES = (*QUESTIONS, "age_group", "gender", "ethnicity", "supervision_type",
              "ogrs_band", "rosh_level", "ro_grade", "caseload")


def _band(values: np.ndarray, bands: tuple) -> np.ndarray:
    out = np.full(len(values), "", dtype=object)
    for i, v in enumerate(values):
        if v != "":
            x = int(v)
            for label, lo, hi in bands:
                if lo <= x <= hi:
                    out[i] = label
    return out


def analysis_values(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Banded and grouped values of the candidates ("" = missing for the models)."""
    vals = {q: np.where(np.isin(cols[q], ["yes", "no"]), cols[q], "") for q in QUESTIONS}
    vals["age_group"] = _band(cols["age"], AGE_BANDS)
    vals["ogrs_band"] = _band(cols["ogrs_score"], OGRS_BANDS)
    rosh = cols["rosh_level"]
    vals["rosh_level"] = np.where(np.isin(rosh, ["High", "Very high"]), "High/Very high", rosh)
    for k in ("gender", "ethnicity", "supervision_type", "ro_grade", "caseload"):
        vals[k] = cols[k]
    return vals


@dataclass(frozen=True)
class Term:
    variable: str
    level: str  # "" for caseload and the constant

    @property
    def name(self) -> str:
        return f"{self.variable}[{self.level}]" if self.level else self.variable


def terms_of(variable: str) -> list[Term]:
    if variable == "caseload":
        return [Term("caseload", "")]
    if variable in CATEGORICAL:
        levels, ref = CATEGORICAL[variable]
        return [Term(variable, lv) for lv in levels if lv != ref]
    return [Term(variable, "yes")]


def column(vals: dict[str, np.ndarray], term: Term) -> np.ndarray:
    v = vals[term.variable]
    if term.variable == "caseload":
        return np.array([float(x) if x != "" else np.nan for x in v])
    return np.where(v == "", np.nan, (v == term.level).astype(float))


def complete_mask(vals: dict[str, np.ndarray]) -> np.ndarray:
    """Cases complete on every candidate (the listwise sample before the outcome)."""
    ok = np.ones(len(vals["caseload"]), dtype=bool)
    for v in CANDIDATES:
        ok &= vals[v] != ""
    return ok


@dataclass(frozen=True)
class PublishedModel:
    outcome: str
    variables: tuple[str, ...]
    terms: tuple[Term, ...]
    b: tuple[float, ...]  # per term; the constant last
    se: tuple[float, ...]
    stars: tuple[str, ...] = ()  # per term as printed ("" for the constant)
    # the joint Wald test of each categorical variable with several terms, as printed
    block_stars: tuple[tuple[str, str], ...] = ()


def published_models(folder: Path) -> dict[str, PublishedModel]:
    """Tables B3-B5 as coefficient vectors in the generator's column order."""
    rows: dict[str, list[dict[str, str]]] = {}
    with (folder / "tableB3_B5_regression_models.csv").open(newline="",
                                                            encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows.setdefault(r["outcome"], []).append(r)
    out = {}
    for outcome, rs in rows.items():
        variables = tuple(dict.fromkeys(r["term"] for r in rs if r["term"] != "constant"))
        coef = {}
        blocks = []
        for r in rs:
            if r["B"] == "":
                blocks.append((r["term"], r["stars"]))
                continue
            level = r["level"].lower() if r["level"] in ("Yes", "No") else r["level"]
            coef[(r["term"], level)] = (float(r["B"]), float(r["SE"]), r["stars"])
        terms = [t for v in variables for t in terms_of(v)]
        keys = [(t.variable, t.level) for t in terms] + [("constant", "")]
        out[outcome] = PublishedModel(
            outcome, variables, tuple(terms), tuple(coef[k][0] for k in keys),
            tuple(coef[k][1] for k in keys), tuple(coef[k][2] for k in keys), tuple(blocks))
    return out
