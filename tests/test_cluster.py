"""Standard errors clustered by provider: held to statsmodels, and the changes named."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from bulletin.analysis import descriptive as d
from bulletin.analysis.cluster import (
    ALPHA,
    RobustBlock,
    RobustTerm,
    changed_variables,
    cluster_cov,
    cluster_groups,
    cluster_robust_models,
)
from bulletin.analysis.derive import derive
from bulletin.analysis.logit import encode
from bulletin.analysis.models import fit_models
from bulletin.analysis.stability import model_inputs
from bulletin.config import load_edition
from bulletin.errors import BulletinError
from bulletin.schema import YES
from bulletin.validate import load_valid

EDITION = load_edition("2018-19")
S = EDITION.analysis


@pytest.fixture(scope="module")
def demo():
    data = derive(load_valid(EDITION.data_file, S), S)
    iv = data[d.is_level(data["ro_interviewed"], YES)]
    models = fit_models(iv, S)
    inputs = model_inputs(iv, S)
    return iv, models, inputs, cluster_robust_models(models, inputs, iv)


def _statsmodels(iv, model, inputs):
    """The same model fitted by statsmodels with cov_type='cluster' (its CR1 default)."""
    design = encode(inputs.frame, inputs.judgement, model.result.selected, inputs.reference,
                    inputs.levels)
    groups = pd.factorize(iv.loc[inputs.frame.index, "provider"].astype(str) + "|" +
                          iv.loc[inputs.frame.index, "provider_type"].astype(str))[0]
    fit = sm.Logit(design.y, design.x).fit(disp=0, method="newton", tol=1e-12, maxiter=100,
                                           cov_type="cluster", cov_kwds={"groups": groups})
    return design, fit, len(set(groups))


def test_robust_errors_equal_statsmodels_cluster_errors(demo) -> None:
    iv, models, inputs, robust = demo
    for m, inp, r in zip(models, inputs, robust, strict=True):
        design, fit, clusters = _statsmodels(iv, m, inp)
        assert r.clusters == clusters and r.n == design.n == m.result.n
        terms = (r.constant, *r.terms)
        assert [t.level for t in r.terms] == [lv for _, lv in design.labels[1:]]
        assert np.array([t.b for t in terms]) == pytest.approx(fit.params, rel=1e-6)
        assert np.array([t.se for t in terms]) == pytest.approx(fit.bse, rel=1e-6)
        assert np.array([t.p for t in terms]) == pytest.approx(fit.pvalues, rel=1e-6)
        # the model-based errors are the published ones, and differ from the robust ones
        assert [t.model_se for t in r.terms] == [t.se for t in m.result.terms]
        assert any(abs(t.se / t.model_se - 1) > 0.01 for t in r.terms)


def test_overall_tests_equal_statsmodels_wald_tests(demo) -> None:
    iv, models, inputs, robust = demo
    checked = 0
    for m, inp, r in zip(models, inputs, robust, strict=True):
        design, fit, _ = _statsmodels(iv, m, inp)
        for blk in r.blocks:
            cols = list(design.block(blk.variable))
            restriction = np.zeros((len(cols), design.x.shape[1]))
            restriction[np.arange(len(cols)), cols] = 1.0
            test = fit.wald_test(restriction, scalar=True, use_f=False)
            assert blk.df == len(cols) >= 2
            assert blk.wald == pytest.approx(float(test.statistic), rel=1e-6)
            assert blk.p == pytest.approx(float(test.pvalue), rel=1e-6)
            checked += 1
    assert checked >= 3


def test_cluster_covariance_with_one_case_per_cluster_is_scaled_hc0() -> None:
    """With every case its own cluster the sandwich is White's (HC0) times n/(n-k)."""
    rng = np.random.default_rng(1)
    x = np.column_stack([np.ones(200), rng.normal(size=(200, 2))])
    y = (rng.random(200) < 0.4).astype(float)
    fit = sm.Logit(y, x).fit(disp=0, tol=1e-12, cov_type="HC0")
    ours = cluster_cov(x, y, fit.params, np.arange(200))
    assert ours == pytest.approx(fit.cov_params() * 200 / 197, rel=1e-6)


def test_a_case_without_a_provider_is_an_error(demo) -> None:
    iv, _, inputs, _ = demo
    broken = iv.copy()
    broken.loc[inputs[0].frame.index[0], "provider"] = None
    with pytest.raises(BulletinError, match="has no provider or provider_type"):
        cluster_groups(broken, inputs[0].frame.index)


def _t(variable: str, model_p: float, p: float, level: str | None = "yes") -> RobustTerm:
    return RobustTerm(variable, level, 0.5, 0.2, p, 0.2, model_p)


def test_changes_of_significance_are_named_in_model_order() -> None:
    terms = [_t("kept", 0.001, 0.002), _t("lost", 0.03, 0.08), _t("gained", 0.07, 0.01),
             _t("band", 0.01, 0.2, "High"), _t("band", 0.02, 0.3, "Low"),
             _t("edge", ALPHA, 0.049)]
    # a several-level variable is judged on its overall test, not on its levels
    blocks = [RobustBlock("band", 9.0, 2, 0.04, 0.01)]
    assert changed_variables(["kept", "lost", "gained", "band", "edge"], terms, blocks) == \
        ("lost", "gained", "edge")
    assert changed_variables(["band"], terms, [RobustBlock("band", 1.0, 2, 0.6, 0.01)]) == \
        ("band",)


def test_demo_models_changes_are_consistent_with_their_p_values(demo) -> None:
    _, models, _, robust = demo
    for m, r in zip(models, robust, strict=True):
        blocks = {b.variable: b for b in r.blocks}
        for v in m.result.selected:
            pairs = [(blocks[v].model_p, blocks[v].p)] if v in blocks else \
                [(t.model_p, t.p) for t in r.terms if t.variable == v]
            moved = any((a < ALPHA) != (b < ALPHA) for a, b in pairs)
            assert (v in r.changed) == moved, (m.judgement, v)
        assert all(math.isfinite(t.se) and t.se > 0 for t in (*r.terms, r.constant))


def test_provider_scores_are_summed_as_add_at_sums_them() -> None:
    """cluster_cov's provider scores (by bincount) are those np.add.at gives, to the bit."""
    rng = np.random.default_rng(5)
    n, k, g = 5000, 6, 40
    x = np.asfortranarray(np.c_[np.ones(n), rng.normal(size=(n, k - 1)) * 1e3])
    y = (rng.random(n) < 0.4).astype(float)
    beta = rng.normal(0, 1e-3, size=k)
    groups = rng.integers(0, g, size=n)
    prob = expit(x @ beta)
    scores = np.zeros((g, k))
    np.add.at(scores, groups, x * (y - prob)[:, None])
    bread = np.linalg.pinv((x * (prob * (1 - prob))[:, None]).T @ x, hermitian=True)
    want = g / (g - 1.0) * (n - 1.0) / (n - k) * bread @ (scores.T @ scores) @ bread
    got = cluster_cov(x, y, beta, groups)
    assert np.array_equal(got, (want + want.T) / 2.0)
