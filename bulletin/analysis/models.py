"""The bulletin's three models (Annex B, Tables B3 to B5): one per inspector judgement.

Each is a forward stepwise logistic regression (SPSS FSTEP, `bulletin.analysis.stepwise`)
over the same candidates: the interview answers and the case and officer variables.
This module only prepares the data the way the analysis defines it and decides the
order in which a model's rows are printed; the selection itself lives in `stepwise`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import numpy as np
import pandas as pd

from bulletin.analysis.derive import levels
from bulletin.analysis.logit import Design, encode
from bulletin.analysis.parallel import beside, cores, process_map
from bulletin.analysis.stepwise import (
    StepwiseResult,
    forward_stepwise,
    select,
    selected_variables,
)
from bulletin.config import AnalysisSettings
from bulletin.schema import NO, YES

CONSTANT = "constant"
T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    """One printed row of a model table.

    kind: "block" (a categorical variable's overall test, on its reference row),
    "level" (one level against the reference), "continuous" or "constant".
    """

    variable: str
    level: str | None
    kind: str


@dataclass(frozen=True)
class ModelResult:
    judgement: str
    result: StepwiseResult
    rows: tuple[Row, ...]


def _binary(values: pd.Series) -> pd.Series:
    """yes -> 1, no -> 0; "not applicable" and blanks are missing."""
    out = np.full(len(values), np.nan)
    out[values.eq(YES).fillna(False).to_numpy(dtype=bool)] = 1.0
    out[values.eq(NO).fillna(False).to_numpy(dtype=bool)] = 0.0
    return pd.Series(out, index=values.index)


def _as_text(values: pd.Series) -> pd.Series:
    """Categories stay categories (a byte a cell: the loader's form for coded answers);
    anything else becomes text. Encoding reads the same values from either."""
    return values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("str")


def _yes_no(values: pd.Series) -> pd.Series:
    """An interview answer as a two-level category; "not applicable" is missing."""
    return _as_text(values.where(values.isin([YES, NO])))


def is_continuous(frame: pd.DataFrame, variable: str) -> bool:
    return pd.api.types.is_numeric_dtype(frame[variable].dtype)


def _candidates(cases: pd.DataFrame, settings: AnalysisSettings) -> dict[str, pd.Series]:
    """The candidates as the models read them: the same for every judgement's model."""
    data = {}
    for v in settings.candidates:
        column = cases[v]
        if v in settings.question_keys:
            data[v] = _yes_no(column)
        elif pd.api.types.is_numeric_dtype(column.dtype):
            data[v] = pd.to_numeric(column, errors="coerce").astype(float)
        else:
            data[v] = _as_text(column)
    return data


def model_frame(cases: pd.DataFrame, settings: AnalysisSettings, judgement: str,
                candidates: dict[str, pd.Series] | None = None) -> pd.DataFrame:
    """Outcome (0/1) and candidates, one row per interviewed case, missing where unknown
    (`candidates`: `_candidates` of these cases, if already made).

    Interview answers of "not applicable" become missing, so the case drops out of the
    model (listwise, inside the selection) rather than forming a third level.
    """
    if candidates is None:
        candidates = _candidates(cases, settings)
    return pd.DataFrame({judgement: _binary(cases[judgement]), **candidates},
                        index=cases.index)


def table_rows(result: StepwiseResult, settings: AnalysisSettings) -> tuple[Row, ...]:
    """Print order of a model table: case and officer variables first, then the
    interview answers, each in candidate order; levels in configured order; the
    constant last."""
    selected = set(result.selected)
    questions = set(settings.question_keys)
    ordered = [v for v in settings.candidates if v in selected and v not in questions]
    ordered += [v for v in settings.candidates if v in selected and v in questions]
    blocks = {b.variable for b in result.blocks}
    rows: list[Row] = []
    for v in ordered:
        terms = [t for t in result.terms if t.variable == v]
        if v not in blocks:
            rows += [Row(v, None, "continuous") for _ in terms]
            continue
        if len(terms) > 1:
            rows.append(Row(v, None, "block"))
        rows += [Row(v, t.level, "level") for t in terms]
    rows.append(Row(CONSTANT, None, "constant"))
    return tuple(rows)


@dataclass(frozen=True, eq=False)
class ModelInputs:
    """Everything `forward_stepwise` is given for one judgement's model.

    `frame` holds only the cases the model uses (complete on the outcome and on every
    candidate), so a resample of its rows is a resample of the model's sample.
    """

    judgement: str
    frame: pd.DataFrame
    candidates: tuple[str, ...]
    reference: Mapping[str, str]
    levels: Mapping[str, Sequence[str]]
    pin: float
    pout: float
    removal: str

    @property
    def n(self) -> int:
        return len(self.frame)

    @cached_property
    def design(self) -> Design:
        """The sample encoded once; each resample is taken from it (`Design.take`)."""
        return encode(self.frame, self.judgement, self.candidates, self.reference,
                      self.levels)

    def select(self, frame: pd.DataFrame | None = None) -> tuple[str, ...]:
        """The variables the stepwise rules select on `frame` (default: the full sample)."""
        result = forward_stepwise(self.frame if frame is None else frame, self.judgement,
                                  self.candidates, self.reference, pin=self.pin,
                                  pout=self.pout, removal=self.removal, levels=self.levels)
        return tuple(result.selected)

    def select_rows(self, rows: np.ndarray) -> tuple[str, ...]:
        """The selection on the sample's cases at positions `rows` (a resample): the same
        as `select(frame.iloc[rows])`, from the encoded design."""
        return selected_variables(self.design.take(rows), self.pin, self.pout, self.removal)


def model_inputs(cases: pd.DataFrame, settings: AnalysisSettings) -> tuple[ModelInputs, ...]:
    """Each judgement's model sample and selection rules: the one preparation behind
    the published fit (`fit_models`), its bootstrap and its clustered errors."""
    out: list[ModelInputs] = []
    categorical: list[str] = []
    reference: dict[str, str] = {}
    order: dict[str, tuple[str, ...]] = {}
    candidates = _candidates(cases, settings)  # prepared once, for every judgement
    for j in settings.judgement_keys:  # one at a time: at scale each frame is large
        frame = model_frame(cases, settings, j, candidates)
        if not out:
            categorical = [v for v in settings.candidates if not is_continuous(frame, v)]
            reference = {v: settings.reference_level(v) for v in categorical}
            order = {v: levels(settings, v, cases) for v in categorical}
        sample = frame[frame.notna().all(axis=1).to_numpy(dtype=bool)]
        # The sample lives as long as the analysis: as categories its text costs a byte
        # a cell (encoding reads the same values either way).
        sample = sample.astype(dict.fromkeys(categorical, "category"))
        out.append(ModelInputs(j, sample, tuple(settings.candidates), reference, order,
                               settings.pin, settings.pout, settings.removal_test))
    return tuple(out)


#: From this many cases in all the models' samples, the selections run in parallel
#: processes: below it a selection takes a fraction of a second and a process costs more.
PARALLEL_FROM = 20_000

def _select_one(inputs: tuple[ModelInputs, ...], k: int) -> StepwiseResult:
    i = inputs[k]
    return select(i.design, i.pin, i.pout, i.removal)


def _workers(inputs: Sequence[ModelInputs], workers: int | None) -> int:
    """Processes for the selections: one per core (or `workers`), one per selection at
    most, and none besides this one below PARALLEL_FROM cases."""
    if sum(i.n for i in inputs) < PARALLEL_FROM:
        return 1
    return min(cores() if workers is None else max(1, workers), len(inputs))


def _results(inputs: Sequence[ModelInputs], results: Sequence[StepwiseResult],
             settings: AnalysisSettings) -> tuple[ModelResult, ...]:
    return tuple(ModelResult(i.judgement, r, table_rows(r, settings))
                 for i, r in zip(inputs, results, strict=True))


def fit_models(cases: pd.DataFrame, settings: AnalysisSettings,
               inputs: Sequence[ModelInputs] | None = None, workers: int | None = None,
               ) -> tuple[ModelResult, ...]:
    """One stepwise model per judgement, on the interviewed cases given (or on `inputs`,
    already prepared from them by `model_inputs`).

    On large samples the selections run side by side, one process each up to `workers`
    (default: one per core); they are independent and give the same result anywhere.
    """
    inputs = tuple(model_inputs(cases, settings) if inputs is None else inputs)
    workers = _workers(inputs, workers)
    for i in inputs:
        i.design  # noqa: B018  (encoded here once, inherited by the processes)
    results = process_map(_select_one, inputs, range(len(inputs)), workers)
    return _results(inputs, results, settings)


def fit_models_beside(here: Callable[[], T], settings: AnalysisSettings,
                      inputs: Sequence[ModelInputs], workers: int | None = None,
                      ) -> tuple[T, tuple[ModelResult, ...]]:
    """(here(), the models `fit_models` gives for `inputs`): on large samples each
    selection runs in a forked process of its own while `here` (the rest of the
    analysis) runs in this one (`parallel.beside`); otherwise one after the other here.
    The models are the same to the bit either way."""
    inputs = tuple(inputs)
    workers = _workers(inputs, workers)
    for i in inputs:
        i.design  # noqa: B018  (encoded here once, inherited by the processes)
    done, results = beside(here, _select_one, inputs, range(len(inputs)), workers)
    return done, _results(inputs, results, settings)
