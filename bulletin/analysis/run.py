"""The analysis stage: the validated case table in, plain result values out.

Everything the bulletin quotes is computed here once, as counts and model results;
the facts stage (`bulletin.collect`) turns them into keyed, disclosure-controlled facts.
Which questions, judgements, bands, groupings and reference levels are used is read
from the edition's analysis settings, so a new edition changes configuration, not code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bulletin.analysis import descriptive as d
from bulletin.analysis.cluster import RobustModel, cluster_robust_models, sample_groups
from bulletin.analysis.derive import derive, levels
from bulletin.analysis.models import ModelResult, fit_models_beside, model_inputs
from bulletin.analysis.stability import Stability, selection_stability
from bulletin.config import AnalysisSettings, Edition
from bulletin.errors import BulletinError
from bulletin.schema import PROVIDER_TYPES, YES

#: Officers "above 50 cases": the caseload at which the bulletin splits its findings.
CASELOAD_BAND = "caseload_band"
WORKLOAD_QUESTION = "workload_manageable"
ROSH = "rosh_level"


@dataclass(frozen=True)
class AnalysisResults:
    """Counts and model results; every proportion is a (yes, n) pair, never a rounded %.

    Frames are long: one row per cell, with the column names given beside each field.
    """

    cases_inspected: int
    by_provider_type: pd.DataFrame  # provider_type, providers, cases, interviews
    providers: pd.DataFrame  # Annex A: provider, provider_type, report_month, cases, interviews
    table1: pd.DataFrame  # variable (question), yes, n
    table2: pd.DataFrame  # variable (judgement), yes, n
    b1: pd.DataFrame  # variable (question or caseload_band), level, judgement, yes, n
    b1_tests: pd.DataFrame  # variable (question), judgement, p, statistic, test
    b2: pd.DataFrame  # variable (case variable), level, judgement, yes, n
    fig2: pd.DataFrame  # level (caseload band), yes, no
    caseload_threshold: int
    caseload_over: pd.DataFrame  # level (provider type), count (> threshold), base
    rosh_mix: pd.DataFrame  # by (provider type), level (grouped RoSH), count, base
    caseload_split: pd.DataFrame  # variable, level (over|up_to), judgement, yes, n
    caseload_split_tests: pd.DataFrame  # variable, judgement, p, statistic, test
    models: tuple[ModelResult, ...]
    # Checks of the models (Annex B): bootstrap stability of each selection, and each
    # final model's standard errors clustered by provider.
    stability: tuple[Stability, ...] = ()
    robust: tuple[RobustModel, ...] = ()


def _require(frame: pd.DataFrame, names: tuple[str, ...]) -> None:
    missing = sorted({c for c in names if c not in frame.columns})
    if missing:
        raise BulletinError(f"the case table lacks column(s) {missing} that the analysis needs")


def _by_provider_type(frame: pd.DataFrame, interviewed: np.ndarray) -> pd.DataFrame:
    rows = []
    for t in PROVIDER_TYPES:
        of_type = d.is_level(frame["provider_type"], t)
        names = frame.loc[of_type, "provider"].dropna().unique()
        rows.append((t, len(names), int(of_type.sum()), int((of_type & interviewed).sum())))
    return pd.DataFrame(rows, columns=["provider_type", "providers", "cases", "interviews"])


def _caseload_split(iv: pd.DataFrame, judgements: tuple[str, ...], threshold: int,
                    answers: d.Masks | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    caseload = pd.to_numeric(iv["caseload"], errors="coerce").astype(float)
    split = pd.Series(np.where(caseload > threshold, "over", "up_to"), index=iv.index,
                      dtype=object).where(caseload.notna())
    work = iv.assign(caseload_split=split)
    cells = d.by_level(work, "caseload_split", ("over", "up_to"), judgements, answers)
    tests = d.yes_no_tests(cells, "caseload_split", judgements, "over", "up_to")
    return cells, tests


def _counts(data: pd.DataFrame, interviewed: np.ndarray, iv: pd.DataFrame,
            s: AnalysisSettings, caseload_threshold: int) -> dict[str, object]:
    """Every count and test of the results, by field: all but the models and their
    checks."""
    questions, judgements = s.question_keys, s.judgement_keys
    answers = d.answer_masks(iv, judgements)
    b1_parts, test_parts = [], []
    for q in questions:
        cells = d.by_level(iv, q, (YES, "no"), judgements, answers)
        b1_parts.append(cells)
        test_parts.append(d.yes_no_tests(cells, q, judgements))
    bands = levels(s, CASELOAD_BAND, iv)
    b1_parts.append(d.by_level(iv, CASELOAD_BAND, bands, judgements, answers))
    b2 = pd.concat([d.by_level(iv, v, levels(s, v, iv), judgements, answers)
                    for v in s.case_variables], ignore_index=True)

    caseload = pd.to_numeric(iv["caseload"], errors="coerce").astype(float)
    over = caseload.gt(caseload_threshold).to_numpy(dtype=bool)
    known = caseload.notna().to_numpy(dtype=bool)
    split_cells, split_tests = _caseload_split(iv, judgements, caseload_threshold, answers)
    return dict(
        cases_inspected=len(data),
        by_provider_type=_by_provider_type(data, interviewed),
        providers=d.providers(data, interviewed),
        table1=d.answers(iv, questions),
        table2=d.answers(iv, judgements),
        b1=pd.concat(b1_parts, ignore_index=True),
        b1_tests=pd.concat(test_parts, ignore_index=True),
        b2=b2,
        fig2=d.answer_counts(iv, WORKLOAD_QUESTION, CASELOAD_BAND, bands),
        caseload_threshold=caseload_threshold,
        caseload_over=d.share_by(iv, over, known, "provider_type", PROVIDER_TYPES),
        rosh_mix=d.level_mix(iv, ROSH, levels(s, ROSH, iv), "provider_type", PROVIDER_TYPES),
        caseload_split=split_cells,
        caseload_split_tests=split_tests,
    )


def analyse(frame: pd.DataFrame, edition: Edition,
            caseload_threshold: int | None = None) -> AnalysisResults:
    """Every count, test and model of the bulletin, for the interviewed cases.

    Interview questions exist only where the responsible officer was interviewed, and
    the published tables are all on those cases; only the number of cases inspected
    and Annex A count every row. On large samples the counts and tests are made while
    the three selections run in processes of their own (`fit_models_beside`).
    """
    s = edition.analysis
    if caseload_threshold is None:
        caseload_threshold = s.caseload_threshold
    questions, judgements = s.question_keys, s.judgement_keys
    derived = {b.name for b in s.bands} | {g.name for g in s.groupings}
    _require(frame, ("provider", "provider_type", "report_month", "ro_interviewed",
                     "caseload", *questions, *judgements,
                     *(b.source for b in s.bands), *(g.source for g in s.groupings),
                     *(v for v in (*s.candidates, *s.case_variables) if v not in derived)))
    data = derive(frame, s)
    interviewed = d.is_level(data["ro_interviewed"], YES)
    iv = data[interviewed]

    inputs = model_inputs(iv, s)
    threshold = caseload_threshold
    (counts, groups), models = fit_models_beside(
        lambda: (_counts(data, interviewed, iv, s, threshold), sample_groups(inputs, iv)),
        s, inputs)
    stability = selection_stability(inputs, {m.judgement: m.result.selected for m in models},
                                    s.stability_resamples, s.stability_seed)
    return AnalysisResults(
        **counts,  # type: ignore[arg-type]  (the fields by name, from _counts)
        models=models,
        stability=stability,
        robust=cluster_robust_models(models, inputs, iv, groups),
    )
