"""Fits that never lie: bad starts, separation and convergence judged on the score.

A fit is reported as converged only where the maximum-likelihood estimates exist and
were reached. These tests build data where each way of getting that wrong happens and
check the fitted values against statsmodels on the same design.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from bulletin.analysis.logit import encode, find_separation, fit_logit, loglik, newton
from bulletin.analysis.stepwise import _Selector, _State, forward_stepwise


def separated_pair(seed: int = 0, n: int = 30) -> pd.DataFrame:
    """Two continuous variables whose sum decides the outcome: together they separate
    the data completely, either alone has a finite fit."""
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"y": (x + z > 0).astype(float), "x": x, "z": z})


def statsmodels_fit(frame: pd.DataFrame, variables: list[str]):
    y = frame["y"].to_numpy(dtype=float)
    x = sm.add_constant(frame[variables].to_numpy(dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.Logit(y, x).fit(disp=0, maxiter=100, tol=1e-12)


def test_the_approximate_start_after_a_removal_is_garbage_here() -> None:
    # The precondition of the next tests: from the separated model {z, x}, the reduced
    # model's start b1 + I11^-1 I12 b2 is far worse than the intercept-only model.
    frame = separated_pair()
    design = encode(frame, "y", ["z", "x"], {})
    full = newton(design.x, design.y)
    assert not full.converged
    keep, drop = np.array([0, 2]), np.array([1])
    start = full.beta[keep] + np.linalg.lstsq(full.info[np.ix_(keep, keep)],
                                              full.info[np.ix_(keep, drop)]
                                              @ full.beta[drop], rcond=None)[0]
    null = -2 * loglik(np.zeros(design.n), design.y)
    assert -2 * loglik(design.x[:, keep] @ start, design.y) > 10 * null


@pytest.mark.parametrize("seed", [0, 43, 52])
def test_refit_after_a_removal_is_the_finite_fit(seed: int) -> None:
    # Wald removes one of the pair (Hauck-Donner: separation inflates its S.E.); the
    # model left is refitted from the approximate start, which is garbage here.
    frame = separated_pair(seed)
    result = forward_stepwise(frame, "y", ["x", "z"], {}, removal="wald")
    assert [s.action for s in result.steps] == ["entered", "entered", "removed"]
    (kept,) = result.selected
    fit = statsmodels_fit(frame, [kept])
    assert result.model.converged
    ours = [result.constant.b, result.terms[0].b]
    np.testing.assert_allclose(ours, fit.params, rtol=1e-6)
    np.testing.assert_allclose([result.constant.se, result.terms[0].se], fit.bse, rtol=1e-6)
    assert result.minus2ll == pytest.approx(-2 * fit.llf, rel=1e-9)
    # the path had a separated fit, so the selection as a whole is not called converged
    assert not result.converged
    assert any("complete separation in {" in note and "x" in note for note in result.notes)


@pytest.mark.parametrize("seed", [0, 43])
def test_lr_removal_test_uses_the_finite_reduced_fits(seed: int) -> None:
    frame = separated_pair(seed)
    design = encode(frame, "y", ["x", "z"], {})
    selector = _Selector(design, "lr")
    state = _State(["x", "z"], selector.fit(["x", "z"], None))
    assert not state.fit.converged and state.fit.separation is not None
    for variable, stat, df, _, reduced, _ in selector.removal_tests(state):
        rest = [v for v in ("x", "z") if v != variable]
        truth = statsmodels_fit(frame, rest)
        assert reduced is not None and reduced.converged
        assert -2 * reduced.loglik == pytest.approx(-2 * truth.llf, rel=1e-9)
        # the separated full model's -2LL is ~0, so the statistic is about -2LL(reduced)
        assert stat == pytest.approx(-2 * truth.llf, abs=1e-4) and df == 1


def test_a_garbage_start_falls_back_and_keeps_the_better_likelihood() -> None:
    frame = separated_pair(3, n=200)
    design = encode(frame, "y", ["x"], {})
    truth = statsmodels_fit(frame, ["x"])
    for start in (np.array([5e4, -8e4]), np.array([np.nan, 1.0]), np.array([0.0, np.inf])):
        fit = newton(design.x, design.y, start)
        assert fit.converged
        np.testing.assert_allclose(fit.beta, truth.params, rtol=1e-7)
    # a fair warm start is used as it is
    near = truth.params + 0.01
    assert newton(design.x, design.y, near).iterations < newton(design.x, design.y).iterations


def test_quasi_complete_separation_names_the_variable_and_level() -> None:
    rng = np.random.default_rng(5)
    n = 300
    band = rng.choice(["Low", "Medium", "High"], size=n)
    age = rng.normal(40, 10, size=n)
    y = (rng.random(n) < 0.4).astype(float)
    y[band == "High"] = 1.0  # every High case has the outcome
    frame = pd.DataFrame({"y": y, "band": pd.array(band, dtype="string"), "age": age})
    model = fit_logit(frame, "y", ["age", "band"], {"band": "Low"})
    assert not model.converged
    (note,) = model.notes
    high = int((band == "High").sum())
    assert note.startswith("quasi-complete separation in {age, band}: band = High predicts")
    assert f"{high} of {n} cases" in note and f"({high} with outcome 1)" in note
    assert "Note: quasi-complete" in model.summary()
    result = forward_stepwise(frame, "y", ["age", "band"], {"band": "Low"})
    assert "band" in result.selected and not result.converged
    assert any(n.startswith("quasi-complete separation") for n in result.notes)


def test_complete_separation_is_never_reported_as_converged() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=120)
    frame = pd.DataFrame({"y": (x > 0).astype(int), "x": x})
    model = fit_logit(frame, "y", ["x"], {})
    assert not model.converged
    assert model.notes and model.notes[0].startswith("complete separation in {x}: x predicts "
                                                     "the outcome of 120 of 120 cases")


def test_find_separation_on_data_without_it() -> None:
    rng = np.random.default_rng(9)
    x = np.c_[np.ones(200), rng.normal(size=(200, 2))]
    y = (rng.random(200) < 0.5).astype(float)
    assert find_separation(x, y) is None
    sep = find_separation(x[:, :2], (x[:, 1] > 0.3).astype(float))
    assert sep is not None and sep.kind == "complete" and 1 in sep.columns


def test_stopping_at_any_iteration_on_separated_data_is_not_converged() -> None:
    # Stopped early (two iterations) on separated data: whatever the step sizes say,
    # the score is not zero and the data separate, so this is no converged fit.
    rng = np.random.default_rng(6)
    x = rng.normal(size=80)
    design = encode(pd.DataFrame({"y": (x > 0).astype(float), "x": x}), "y", ["x"], {})
    for iterate in (2, 20, 50):
        fit = newton(design.x, design.y, iterate=iterate)
        assert not fit.converged and fit.separation is not None


def test_model_notes_reach_the_registry() -> None:
    from dataclasses import replace

    from test_collect import EDITION, hand_results

    from bulletin.analysis.models import ModelResult
    from bulletin.collect import collect_facts

    frame = separated_pair().rename(columns={"y": "supports_safety"})
    result = forward_stepwise(frame, "supports_safety", ["x", "z"], {}, removal="wald")
    assert result.notes
    results = replace(hand_results(), models=(ModelResult("supports_safety", result, ()),))
    registry = collect_facts(results, EDITION)
    for k, note in enumerate(result.notes, start=1):
        fact = registry[f"model.supports_safety.note.{k}"]
        assert (fact.value, fact.unit) == (note, "text")
    assert f"model.supports_safety.note.{len(result.notes) + 1}" not in registry


@pytest.mark.parametrize("seed", range(6))
def test_loglik_bracket_holds_the_maximum(seed: int) -> None:
    from bulletin.analysis.logit import loglik_bracket

    rng = np.random.default_rng(seed)
    n, k = 400, 4
    x = np.c_[np.ones(n), rng.normal(size=(n, k - 1))]
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ rng.normal(0, 0.8, size=k))))).astype(float)
    best = float(statsmodels_logit(y, x).llf)
    for scale in (0.0, 0.05, 0.3):
        start = statsmodels_logit(y, x).params + rng.normal(0, scale, size=k)
        bounds = loglik_bracket(x, y, start)
        if bounds is None:  # the Newton-corrected probabilities left [0, 1]: no bound
            assert scale > 0.05
            continue
        lower, upper = bounds
        assert lower <= best + 1e-9 and best <= upper + 1e-9
        # any positive weights give a valid (if looser) upper bound
        w = rng.uniform(0.05, 0.25, size=n)
        other = loglik_bracket(x, y, start, w, (x * w[:, None]).T @ x)
        if other is not None:
            assert other[0] == lower and best <= other[1] + 1e-9
        if scale == 0.0:
            assert upper - lower < 1e-6  # at the maximum it closes (to the rounding allowance)


@pytest.mark.parametrize("seed", range(8))
def test_loglik_ceilings_hold_every_reduced_maximum(seed: int) -> None:
    """From one fit of every column, an upper bound on the maximum of each model that
    lacks one block of columns (removal checks settle "stays" with it): never below the
    reduced model's maximum, and close to it where the block's effect is small."""
    from bulletin.analysis.logit import loglik_ceilings

    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(300, 3000)), 6
    x = np.c_[np.ones(n), rng.normal(size=(n, 2)), rng.random((n, k - 3)) < 0.4]
    x = np.asfortranarray(x, dtype=float)
    effects = rng.normal(0, 0.7, size=k) * rng.choice([0.0, 0.05, 1.0], size=k)
    y = (rng.random(n) < 1 / (1 + np.exp(-(x @ effects)))).astype(float)
    fit = newton(x, y)
    assert fit.converged
    blocks = [[j] for j in range(1, k)] + [[1, 2], [3, 4, 5]]
    models, exact = [], []
    for j in blocks:
        keep = np.array([c for c in range(k) if c not in j])
        kept = fit.info[keep]
        shift = np.linalg.solve(kept[:, keep], kept[:, j] @ fit.beta[j])
        delta = np.zeros(k)
        delta[keep], delta[j] = shift, -fit.beta[j]
        models.append((keep, delta, fit.beta[keep]))
        exact.append(float(statsmodels_logit(y, x[:, keep]).llf))
    ceilings = loglik_ceilings(x, y, fit.prob, fit.prob * (1 - fit.prob), models)
    for best, ceiling in zip(exact, ceilings, strict=True):
        assert ceiling is not None
        assert best <= ceiling + 1e-9 * abs(best)
        assert ceiling <= fit.loglik + 1e-6  # no looser than the full model's maximum
        lr = 2 * (fit.loglik - best)
        if lr < 10:  # a small effect: the bound is close (a statistic barely moves)
            assert 2 * (ceiling - best) < 0.05 * lr + 1e-6


def statsmodels_logit(y: np.ndarray, x: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.Logit(y, x).fit(disp=0, maxiter=100, tol=1e-12)


@pytest.mark.parametrize("removal_seed", [1, 2, 3])
def test_bounded_removal_tests_decide_as_full_refits(removal_seed: int) -> None:
    # Variables that certainly stay are settled from the bracket; everything that might
    # leave gets the full refit, so the decisions and the statistics of variables that
    # may leave equal those of full refits.
    rng = np.random.default_rng(removal_seed)
    n = 500
    a, b, c = rng.normal(size=(3, n))
    total = a + b + rng.normal(0, 1.0, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(a + 0.6 * b + 0.05 * c)))).astype(float)
    frame = pd.DataFrame({"y": y, "total": total, "a": a, "b": b, "c": c})
    design = encode(frame, "y", ["total", "a", "b", "c"], {})
    selector = _Selector(design, "lr")
    model = ["total", "a", "b", "c"]
    state = _State(model, selector.fit(model, None))
    full = selector.removal_tests(state)
    quick = selector.removal_tests(state, pout=0.10)
    assert any(r[4] is None for r in quick)  # some settled without a refit
    for exact, fast in zip(full, quick, strict=True):
        assert exact[0] == fast[0]
        assert (exact[3] > 0.10) == (fast[3] > 0.10)
        if fast[4] is None:
            assert fast[1] <= exact[1] + 1e-9 and fast[3] < 0.10
        else:
            assert fast[1] == exact[1] and fast[3] == exact[3]


def test_the_direct_cholesky_solve_is_scipys_to_the_bit() -> None:
    """logit.cho_solve makes scipy's LAPACK calls without its checks; the bootstrap's
    results (and so the numbers file) depend on it giving the very same bits."""
    from scipy import linalg

    from bulletin.analysis.logit import cho_solve

    rng = np.random.default_rng(11)
    for k in (1, 2, 7, 26):
        m = rng.normal(size=(3 * k, k))
        a = m.T @ m + 1e-3 * np.eye(k)
        for b in (rng.normal(size=k), rng.normal(size=(k, 3))):
            ours = cho_solve(a, b)
            theirs = linalg.cho_solve(linalg.cho_factor(a, check_finite=False), b,
                                      check_finite=False)
            assert ours.shape == theirs.shape and np.array_equal(ours, theirs)
    with pytest.raises(np.linalg.LinAlgError):
        cho_solve(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2))
