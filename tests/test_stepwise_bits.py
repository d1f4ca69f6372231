"""The selection's fast paths give the very bits of the plain arithmetic.

The published models, the SPSS-match tests and the bootstrap's selections depend on every
bit of every estimate and statistic, so each shortcut taken for speed (resampling a design
in whole-matrix calls, standard deviations once per design, a start's likelihood reused,
fewer log p-values) is held here to tests/stepwise_plain.py, a frozen copy of the
arithmetic as it was written before: on generated samples with redundant columns, constant
columns, rare and absent levels and separated outcomes, and on bootstrap resamples of them.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pandas as pd
import pytest
import stepwise_plain as plain

from bulletin.analysis import logit, stepwise
from bulletin.analysis.logit import Design, encode
from bulletin.analysis.stepwise import ScoreTest, _most_significant, _path, score_tests
from bulletin.errors import BulletinError


def sample(seed: int) -> tuple[pd.DataFrame, list[str]]:
    """Cases with real and noise effects, and by seed some of: a duplicated column, a
    column that is the sum of two others, a constant column, a categorical variable that
    repeats another, one partly redundant with another, a rare level, and a level whose
    cases all have outcome 1."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(80, 400))
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(3)})
    eta = rng.normal(0, 0.4) + frame.to_numpy() @ rng.choice([0.0, 0.5, -0.8], size=3)
    for i in range(3):
        k = int(rng.integers(2, 5))
        codes = rng.choice(k, size=n, p=rng.dirichlet(np.ones(k) * 2))
        frame[f"c{i}"] = pd.Series([f"L{c}" for c in codes], dtype="category")
        eta = eta + rng.normal(0, 0.6, size=k)[codes] * (i != 1)
    names = list(frame.columns)
    extras = rng.random(7) < 0.4
    if extras[0]:
        frame["dup"] = frame["x0"]
    if extras[1]:
        frame["sum"] = frame["x0"] + frame["x1"]
    if extras[2]:
        frame["flat"] = 5.0
    if extras[3]:
        frame["again"] = frame["c0"]
    if extras[4]:  # a level of three cases
        frame["rare"] = pd.Series(np.where(np.arange(n) < 3, "few", "most"), dtype="category")
    if extras[6]:  # given c0, one combination of its two columns is redundant
        merged = np.where(frame["c0"].to_numpy() == "L0", "A", rng.choice(["B", "C"], size=n))
        frame["part"] = pd.Series(merged, dtype="category")
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    if extras[5]:  # every case at level "S" has outcome 1: quasi-complete separation
        sep = rng.random(n) < 0.15
        frame["sep"] = pd.Series(np.where(sep, "S", "T"), dtype="category")
        y[sep] = 1.0
    frame["y"] = y
    names += [c for c in frame.columns if c not in names and c != "y"]
    return frame, names


def designs(seed: int) -> list[Design]:
    frame, names = sample(seed)
    design = encode(frame, "y", names, {})
    rows = np.random.default_rng(seed + 1000).integers(0, design.n, size=design.n)
    out = [design]
    with contextlib.suppress(BulletinError):  # a resample that lost a reference level
        out.append(design.take(rows))
    return out


def same(a: object, b: object) -> bool:
    """Equal to the bit: arrays element for element (NaN where NaN), floats by repr."""
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, float):
        return isinstance(b, float) and repr(a) == repr(b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, logit.Fit):
        return all(same(getattr(a, f), getattr(b, f)) for f in a.__dataclass_fields__)
    if isinstance(a, (ScoreTest, stepwise.Step)):
        return type(a) is type(b) and same(tuple(vars(a).values()), tuple(vars(b).values()))
    return a == b


@pytest.mark.parametrize("seed", range(24))
def test_the_resampled_design_is_the_plain_one(seed: int) -> None:
    frame, names = sample(seed)
    design = encode(frame, "y", names, {})
    rng = np.random.default_rng(seed)
    for size in (design.n, 30, 8):  # small resamples lose levels, or the reference
        rows = rng.integers(0, design.n, size=size)
        try:
            expected = plain.take(design, rows)
        except BulletinError as error:
            with pytest.raises(BulletinError) as raised:
                design.take(rows)
            assert str(raised.value) == str(error)
            continue
        taken = design.take(rows)
        assert same(taken.x, expected.x) and same(taken.y, expected.y)
        assert taken.x.flags.f_contiguous  # column-major, as every fit's sums assume
        assert (taken.blocks, taken.labels, taken.variables, taken.references,
                taken.n_missing) == (expected.blocks, expected.labels, expected.variables,
                                     expected.references, expected.n_missing)


@pytest.mark.parametrize("n", [5, 950, 40_000])
@pytest.mark.parametrize("order", ["F", "C"])
def test_spread_of_a_models_columns_is_the_plain_one(n: int, order: str) -> None:
    rng = np.random.default_rng(n)
    k = 12
    x = np.c_[np.ones(n), rng.normal(3, 7, size=(n, k - 1))
              * rng.choice([1e-3, 1.0, 1e4], size=k - 1)]
    design = Design("y", np.zeros(n), np.asarray(x, order=order), (), (), (), (), 0)
    for _ in range(20):
        cols = np.r_[0, np.sort(rng.choice(np.arange(1, k), size=int(rng.integers(1, k)),
                                           replace=False))]
        spread = design.spread_of(cols)
        if order == "F":  # as encode and take make every design
            assert spread is not None
        if spread is not None:
            assert same(spread, design.x[:, cols].std(axis=0))


@pytest.mark.parametrize("seed", range(12))
def test_newton_from_any_start_is_the_plain_fit(seed: int) -> None:
    for design in designs(seed):
        rng = np.random.default_rng(seed)
        x, y = design.x, design.y
        good = plain.newton(x, y).beta
        starts = [None, good, good + rng.normal(0, 0.3, size=len(good)),
                  np.full(len(good), np.nan), rng.normal(0, 40, size=len(good))]
        for start in starts:
            for alternatives in ((), (good,), (np.full(len(good), np.inf), good * 0.5)):
                fast = logit.newton(x, y, start, alternatives=alternatives,
                                    spread=design.spread)
                assert same(fast, plain.newton(x, y, start, alternatives=alternatives))
                assert same(logit.newton(x, y, start, alternatives=alternatives), fast)


@pytest.mark.parametrize("seed", range(16))
def test_score_and_removal_tests_are_the_plain_ones(seed: int) -> None:
    for design in designs(seed):
        rng = np.random.default_rng(seed)
        for size in (1, 3, 5):
            model = list(rng.choice(design.variables, size=min(size, len(design.variables)),
                                    replace=False))
            fit = plain.newton(design.x[:, design.columns(model)], design.y)
            others = [v for v in design.variables if v not in model]
            assert same(score_tests(design, model, fit, others),
                        plain.score_tests(design, model, fit, others))
            for removal in ("lr", "wald", "conditional"):
                for pout in (-1.0, 0.1, 0.9):
                    fast = stepwise._Selector(design, removal)
                    slow = plain._Selector(design, removal)
                    got = fast.removal_tests(stepwise._State(model, fit), pout)
                    want = slow.removal_tests(plain._State(model, fit), pout)
                    for quick, exact in zip(got, want, strict=True):
                        if quick[4] is None and quick[3] < pout:
                            # settled from bounds (at a start by Cholesky, not least
                            # squares): it stays, as in the plain arithmetic; no removal
                            # and no printed figure depends on its bound's bits
                            assert quick[0] == exact[0] and exact[3] < pout
                        else:
                            assert same(quick, exact)
                    # fewer refits: never a note or a failed fit the plain path has not
                    assert set(fast.notes) <= set(slow.notes)
                    assert fast.converged or not slow.converged


@pytest.mark.parametrize("seed", range(40))
def test_the_selection_path_is_the_plain_one(seed: int) -> None:
    rules = [("lr", 0.05, 0.10), ("wald", 0.05, 0.10), ("conditional", 0.05, 0.10),
             ("lr", 0.3, 0.35), ("lr", 0.5, 0.9)]
    for design in designs(seed):
        for removal, pin, pout in rules[seed % 3:seed % 3 + 3]:
            fast, state, steps, stop = _path(design, pin, pout, removal)
            slow, p_state, p_steps, p_stop = plain._path(design, pin, pout, removal)
            assert same(steps, p_steps) and stop == p_stop
            assert state.variables == p_state.variables and same(state.fit, p_state.fit)
            assert fast.notes == slow.notes and fast.converged == slow.converged


def test_the_entry_ranking_is_by_log_p() -> None:
    """Entry takes the smallest log p, the first in candidate order on ties; it computes
    log p only for candidates within a factor of two of the smallest p."""
    rng = np.random.default_rng(3)
    stats = [0.0, 1e-3, 3.84, 3.85, 7.0, 7.0, 40.0, 1300.0, 1400.0, 1500.0]
    for _ in range(3000):
        tests = []
        for i in range(int(rng.integers(1, 7))):
            df = int(rng.integers(1, 4))
            stat = float(rng.choice(stats)) if rng.random() < 0.5 else float(
                rng.exponential(rng.choice([2.0, 30.0, 900.0])))
            tests.append(ScoreTest(f"v{i}", stat, df, logit.chi2_sf(stat, df), False, df))
        eligible = [t for t in tests if t.p < 0.8]
        if eligible:
            assert _most_significant(eligible) is min(eligible, key=lambda t: t.log_p)
    underflowed = [ScoreTest("a", 1500.0, 1, 0.0, False, 1),
                   ScoreTest("b", 1600.0, 1, 0.0, False, 1)]
    assert _most_significant(underflowed).variable == "b"
    assert math.isfinite(underflowed[1].log_p)


@pytest.mark.parametrize("seed", range(12))
def test_a_restricted_design_is_the_encoded_one(seed: int) -> None:
    """A final model's design taken from the selection's (cluster-robust errors) is the
    one encoding its sample for those variables gives, to the bit and column-major."""
    frame, names = sample(seed)
    design = encode(frame, "y", names, {})
    rng = np.random.default_rng(seed)
    for size in (1, 2, len(names)):
        chosen = list(rng.choice(names, size=size, replace=False))
        got = design.restricted(chosen)
        want = encode(frame, "y", chosen, {})
        assert same(got.x, want.x) and same(got.y, want.y)
        assert got.x.flags.f_contiguous
        assert (got.variables, got.blocks, got.labels, got.references, got.n_missing) == \
            (want.variables, want.blocks, want.labels, want.references, want.n_missing)
