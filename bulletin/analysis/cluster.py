"""Each final model's standard errors allowing for cases clustered within providers.

The models treat every case as independent, but cases come from a few dozen providers,
and cases of one provider share its management, caseloads and culture. Standard errors
that ignore this can be too small. Here the final (published) model of each judgement
keeps its estimates and gets cluster-robust (sandwich) standard errors by provider,
with the small-sample correction statsmodels applies by default (CR1):

    V = c (X'WX)^-1 [sum over providers g of s_g s_g'] (X'WX)^-1,
    s_g = X_g'(y_g - p_g),  c = G/(G-1) * (N-1)/(N-K)

for G providers, N cases and K coefficients. Tests hold V to statsmodels'
`Logit(...).fit(cov_type="cluster")` (relative 1e-6). We compute it ourselves because
the model is already fitted: only the design and the fitted probabilities are needed.
A variable whose significance at the 5 per cent level differs between the two sets of
standard errors is named in `changed`; a categorical variable with several levels is
judged on its overall (joint Wald) test, as the model tables print it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from bulletin.analysis.models import ModelInputs, ModelResult
from bulletin.distributions import chi2_sf
from bulletin.errors import BulletinError

ALPHA = 0.05  # the significance level at which a change is reported
CLUSTER_COLUMNS = ("provider", "provider_type")  # a provider is its name and its type


@dataclass(frozen=True)
class RobustTerm:
    """One coefficient with both standard errors and both Wald p-values."""

    variable: str  # "constant" for the constant
    level: str | None
    b: float
    se: float  # cluster-robust
    p: float
    model_se: float  # as published (independent cases)
    model_p: float


@dataclass(frozen=True)
class RobustBlock:
    """Overall (joint Wald) test of a categorical variable with several levels."""

    variable: str
    wald: float
    df: int
    p: float
    model_p: float


@dataclass(frozen=True)
class RobustModel:
    judgement: str
    n: int
    clusters: int
    terms: tuple[RobustTerm, ...]  # in the model's term order
    blocks: tuple[RobustBlock, ...]
    constant: RobustTerm
    changed: tuple[str, ...]  # variables whose significance at ALPHA changes, model order


def cluster_groups(cases: pd.DataFrame, index: pd.Index) -> np.ndarray:
    """Provider code (0..G-1) of each case in `index`; a provider is its name and type."""
    part = cases.loc[index, list(CLUSTER_COLUMNS)]
    if part.isna().any(axis=None):
        raise BulletinError("cluster-robust standard errors: a case used in a model has no "
                            f"{' or '.join(CLUSTER_COLUMNS)}; expected every case to name "
                            "its provider")
    text = part.astype(str)
    keys = text.iloc[:, 0]
    for column in text.columns[1:]:  # joined column-wise: a row-wise join is 100x slower
        keys = keys + "\x1f" + text[column]
    codes, _ = pd.factorize(keys, sort=True)
    return codes.astype(np.intp)


def cluster_cov(x: np.ndarray, y: np.ndarray, beta: np.ndarray, groups: np.ndarray,
                ) -> np.ndarray:
    """CR1 cluster-robust covariance of logistic regression estimates `beta`."""
    n, k = x.shape
    prob = expit(x @ beta)
    bread = np.linalg.pinv((x * (prob * (1.0 - prob))[:, None]).T @ x, hermitian=True)
    g = int(groups.max()) + 1 if len(groups) else 0
    # Each provider's score, column by column: bincount adds the cases in order, as
    # np.add.at does, at a fraction of its cost.
    residual = y - prob
    scores = np.zeros((g, k))
    for j in range(k):
        scores[:, j] = np.bincount(groups, weights=x[:, j] * residual, minlength=g)
    meat = scores.T @ scores
    if g < 2 or n <= k:
        return np.full((k, k), math.nan)
    c = g / (g - 1.0) * (n - 1.0) / (n - k)
    cov = c * bread @ meat @ bread
    return (cov + cov.T) / 2.0


def _p(b: float, se: float) -> float:
    return chi2_sf((b / se) ** 2, 1) if se > 0 and math.isfinite(se) else math.nan


def _significant(p: float) -> bool:
    return bool(p < ALPHA)


def cluster_robust(model: ModelResult, inputs: ModelInputs, cases: pd.DataFrame,
                   groups: np.ndarray | None = None) -> RobustModel:
    """The published model of one judgement with standard errors clustered by provider
    (`groups`: `cluster_groups` of its sample, if already made)."""
    res = model.result
    # The selection's sample encoded for its final model: the columns the selection
    # used, as encoding the sample for those variables alone gives them.
    design = inputs.design.restricted(res.selected)
    if design.n != res.n:
        raise BulletinError(f"cluster-robust standard errors for {inputs.judgement}: the "
                            f"model used {res.n} cases but {design.n} were found")
    by_label = {(t.variable, t.level): t for t in res.terms}
    beta = np.empty(design.x.shape[1])
    beta[0] = res.constant.b
    for j, label in enumerate(design.labels[1:], start=1):
        beta[j] = by_label[label].b
    if groups is None:  # the rows `encode` kept, in order
        groups = cluster_groups(cases, inputs.frame.index)
    cov = cluster_cov(design.x, design.y, beta, groups)
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))

    terms = []
    for j, label in enumerate(design.labels[1:], start=1):
        t = by_label[label]
        terms.append(RobustTerm(t.variable, t.level, t.b, float(se[j]), _p(t.b, se[j]),
                                t.se, t.p))
    c = res.constant
    constant = RobustTerm("constant", None, c.b, float(se[0]), _p(c.b, se[0]), c.se, c.p)
    blocks = []
    model_block_p = {b.variable: b.p for b in res.blocks}
    for v in res.selected:
        cols = np.asarray(design.block(v), dtype=np.intp)
        if len(cols) < 2:
            continue
        b = beta[cols]
        try:
            wald = float(b @ np.linalg.solve(cov[np.ix_(cols, cols)], b))
        except np.linalg.LinAlgError:
            wald = math.nan
        p = chi2_sf(wald, len(cols)) if math.isfinite(wald) else math.nan
        blocks.append(RobustBlock(v, wald, len(cols), p, model_block_p.get(v, math.nan)))
    return RobustModel(inputs.judgement, design.n, int(groups.max()) + 1, tuple(terms),
                       tuple(blocks), constant, changed_variables(res.selected, terms, blocks))


def changed_variables(variables: Sequence[str], terms: Sequence[RobustTerm],
                      blocks: Sequence[RobustBlock]) -> tuple[str, ...]:
    """Variables whose significance at ALPHA differs between the model's standard errors
    and the cluster-robust ones: a several-level variable by its overall test, any
    other by its one coefficient."""
    overall = {b.variable: b for b in blocks}
    out = []
    for v in variables:
        if v in overall:
            pairs = [(overall[v].model_p, overall[v].p)]
        else:
            pairs = [(t.model_p, t.p) for t in terms if t.variable == v]
        if any(_significant(a) != _significant(b) for a, b in pairs):
            out.append(v)
    return tuple(out)


def sample_groups(inputs: Sequence[ModelInputs], cases: pd.DataFrame,
                  ) -> dict[str, np.ndarray]:
    """`cluster_groups` of each judgement's model sample: they need no model, so the
    analysis makes them while the selections run."""
    return {i.judgement: cluster_groups(cases, i.frame.index) for i in inputs}


def cluster_robust_models(models: Sequence[ModelResult], inputs: Sequence[ModelInputs],
                          cases: pd.DataFrame, groups: Mapping[str, np.ndarray] | None = None,
                          ) -> tuple[RobustModel, ...]:
    """Every model refitted with provider-clustered standard errors, in model order
    (`groups`: `sample_groups`, if already made)."""
    by_judgement = {i.judgement: i for i in inputs}
    return tuple(cluster_robust(m, by_judgement[m.judgement], cases,
                                None if groups is None else groups[m.judgement])
                 for m in models)
