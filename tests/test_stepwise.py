"""Forward stepwise logistic regression against a brute-force statsmodels version.

The brute force refits every model it needs with statsmodels and takes its score
tests from `GLMResults.score_test`, applying the same FSTEP rules; the fast selector
must take the same path, with the same statistics, and end at the same estimates.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from bulletin.analysis.logit import chi2_logsf
from bulletin.analysis.stepwise import fit_logit, forward_stepwise, score_tests
from bulletin.errors import BulletinError

# ----------------------------------------------------------------------------- brute force


def columns(sample: pd.DataFrame, variable: str, reference: dict[str, str]) -> pd.DataFrame:
    """Indicator coding written independently of the package: sorted levels, minus ref."""
    column = sample[variable]
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.astype(float).to_frame()
    levels = sorted(column.astype(str).unique())
    ref = reference.get(variable, levels[0])
    return pd.DataFrame({f"{variable}={lv}": (column.astype(str) == lv).astype(float)
                         for lv in levels if lv != ref}, index=sample.index)


def matrix(sample: pd.DataFrame, variables: list[str], reference: dict[str, str]) -> np.ndarray:
    parts = [pd.Series(1.0, index=sample.index, name="const").to_frame()]
    parts += [columns(sample, v, reference) for v in variables]
    return pd.concat(parts, axis=1).to_numpy()


def logit_fit(y: np.ndarray, x: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.Logit(y, x).fit(disp=0, maxiter=100, tol=1e-12)


def brute_force(frame: pd.DataFrame, outcome: str, candidates: list[str],
                reference: dict[str, str], pin: float = 0.05, pout: float = 0.10,
                removal: str = "lr") -> tuple[list[tuple], list[str]]:
    """FSTEP the slow way: the path as (action, variable, statistic, df, p), final model."""
    sample = frame.dropna(subset=[outcome, *candidates])
    y = sample[outcome].to_numpy(dtype=float)
    model: list[str] = []
    seen = {frozenset()}
    path: list[tuple] = []
    while True:
        x1 = matrix(sample, model, reference)
        glm = sm.GLM(y, x1, family=sm.families.Binomial()).fit(tol=1e-12)
        best = None
        for v in candidates:
            if v in model:
                continue
            z = columns(sample, v, reference).to_numpy()
            test = glm.score_test(exog_extra=z)
            stat, df = float(np.ravel(test.statistic)[0]), z.shape[1]
            p = float(chi2.sf(stat, df))
            if p < pin and (best is None or p < best[3]):
                best = (v, stat, df, p)
        if best is None or frozenset([*model, best[0]]) in seen:
            return path, model
        model = [*model, best[0]]
        seen.add(frozenset(model))
        path.append(("entered", *best))
        while True:
            full = logit_fit(y, matrix(sample, model, reference))
            worst = None
            at = 1
            for v in model:
                width = columns(sample, v, reference).shape[1]
                j = np.arange(at, at + width)
                at += width
                rest = [u for u in model if u != v]
                if removal == "lr":
                    stat = 2 * (full.llf - logit_fit(y, matrix(sample, rest, reference)).llf)
                elif removal == "wald":
                    b = full.params[j]
                    stat = float(b @ np.linalg.solve(full.cov_params()[np.ix_(j, j)], b))
                else:  # conditional: approximate reduced estimates, no refit
                    info = np.linalg.inv(full.cov_params())
                    keep = np.setdiff1d(np.arange(len(full.params)), j)
                    approx = full.params[keep] + np.linalg.solve(
                        info[np.ix_(keep, keep)], info[np.ix_(keep, j)] @ full.params[j])
                    reduced = sm.Logit(y, matrix(sample, rest, reference))
                    stat = 2 * (full.llf - reduced.loglike(approx))
                stat = max(stat, 0.0)
                p = float(chi2.sf(stat, width))
                if p > pout and (worst is None or p > worst[3]):
                    worst = (v, stat, width, p)
            if worst is None:
                break
            rest = [u for u in model if u != worst[0]]
            repeated = frozenset(rest) in seen
            model = rest
            seen.add(frozenset(model))
            path.append(("removed", *worst))
            if repeated:  # carried out, then selection stops
                return path, model


# ----------------------------------------------------------------------------- data


def simulate(seed: int, n: int, n_cont: int, n_cat: int, real: list[bool],
             composite: bool, missing: float) -> tuple[pd.DataFrame, list[str], dict]:
    """Continuous and categorical candidates, some with real effects, some noise.

    A composite candidate (a noisy sum of two others) makes removals happen: it
    tends to enter first and lose its place once its parts are in.
    """
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(index=range(n))
    eta = np.full(n, rng.normal(0, 0.5))
    effects = iter(real + [False] * 10)
    names: list[str] = []
    for i in range(n_cont):
        name = f"x{i}"
        frame[name] = rng.normal(size=n)
        if next(effects):
            eta += rng.choice([-1, 1]) * rng.uniform(0.2, 0.7) * frame[name].to_numpy()
        names.append(name)
    reference: dict[str, str] = {}
    for i in range(n_cat):
        name = f"c{i}"
        k = int(rng.integers(2, 5))
        levels = [f"L{j}" for j in range(k)]
        codes = rng.integers(0, k, size=n)
        values = [levels[c] for c in codes]
        kind = ("string", "object", "category")[int(rng.integers(0, 3))]
        frame[name] = pd.Series(values, dtype=kind)
        if next(effects):
            eta += rng.normal(0, 0.6, size=k)[codes]
        reference[name] = levels[int(rng.integers(0, k))]
        names.append(name)
    if composite and n_cont >= 2:
        frame["sum"] = frame["x0"] + frame["x1"] + rng.normal(0, 1.0, size=n)
        eta += (frame["x0"] + frame["x1"]).to_numpy()
        names.insert(0, "sum")
    frame["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    for name in [*names, "y"]:
        holes = rng.random(n) < missing
        frame.loc[holes, name] = None
    return frame, names, reference


datasets = st.builds(
    simulate,
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(150, 400),
    n_cont=st.integers(1, 3),
    n_cat=st.integers(1, 3),
    real=st.lists(st.booleans(), min_size=6, max_size=6),
    composite=st.booleans(),
    missing=st.sampled_from([0.0, 0.02]),
)


def check_final(result, frame: pd.DataFrame, outcome: str, candidates: list[str],
                reference: dict[str, str]) -> None:
    sample = frame.dropna(subset=[outcome, *candidates])
    assert result.n == len(sample)
    x = matrix(sample, list(result.selected), reference)
    fit = logit_fit(sample[outcome].to_numpy(dtype=float), x)
    ours = [result.constant.b] + [t.b for t in result.terms]
    ses = [result.constant.se] + [t.se for t in result.terms]
    np.testing.assert_allclose(ours, fit.params, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ses, fit.bse, rtol=1e-6, atol=1e-7)
    assert result.minus2ll == pytest.approx(-2 * fit.llf, rel=1e-9)
    assert result.chi_square == pytest.approx(fit.llr, rel=1e-6, abs=1e-6)


# ----------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=datasets, removal=st.sampled_from(["lr", "lr", "wald", "conditional"]))
def test_path_matches_brute_force(data, removal):
    frame, candidates, reference = data
    result = forward_stepwise(frame, "y", candidates, reference, removal=removal)
    path, final = brute_force(frame, "y", candidates, reference, removal=removal)
    assert [(s.action, s.variable, s.df) for s in result.steps] == \
        [(a, v, df) for a, v, _, df, _ in path]
    for step, (_, _, stat, _, p) in zip(result.steps, path, strict=True):
        assert step.statistic == pytest.approx(stat, rel=1e-6, abs=1e-8)
        assert step.p == pytest.approx(p, rel=1e-6, abs=1e-10)
    assert list(result.selected) == final
    assert result.converged
    event(f"{len(result.selected)} selected")
    event("with a removal" if any(s.action == "removed" for s in result.steps) else "no removal")
    check_final(result, frame, "y", candidates, reference)


def test_score_tests_equal_statsmodels():
    frame, candidates, reference = simulate(7, 300, 3, 3, [True] * 6, False, 0.0)
    model = ["x0", "c0"]
    sample = frame.dropna()
    y = sample["y"].to_numpy(dtype=float)
    glm = sm.GLM(y, matrix(sample, model, reference), family=sm.families.Binomial()).fit(
        tol=1e-12)
    from bulletin.analysis.logit import encode, newton
    design = encode(frame, "y", candidates, reference)
    fit = newton(design.x[:, design.columns(model)], design.y)
    others = [v for v in candidates if v not in model]
    tests = score_tests(design, model, fit, others)
    assert [t.variable for t in tests] == others
    for t in tests:
        z = columns(sample, t.variable, reference).to_numpy()
        expected = glm.score_test(exog_extra=z)
        assert t.df == z.shape[1]
        assert t.statistic == pytest.approx(float(np.ravel(expected.statistic)[0]), rel=1e-7)
        assert t.p == pytest.approx(float(np.ravel(expected.pvalue)[0]), rel=1e-6)


def removal_data(seed: int = 4, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    total = a + b + rng.normal(0, 1.0, size=n)
    eta = a + b
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"y": y, "total": total, "a": a, "b": b,
                         "noise": rng.normal(size=n)})


@pytest.mark.parametrize("removal", ["lr", "wald", "conditional"])
def test_a_proxy_leaves_once_its_parts_are_in(removal):
    frame = removal_data()
    result = forward_stepwise(frame, "y", ["total", "a", "b", "noise"], {}, removal=removal)
    actions = [(s.action, s.variable) for s in result.steps]
    assert actions[0] == ("entered", "total")
    assert ("removed", "total") in actions
    assert set(result.selected) == {"a", "b"}
    removed = next(s for s in result.steps if s.action == "removed")
    assert removed.p > 0.10 and removed.test == removal
    path, final = brute_force(frame, "y", ["total", "a", "b", "noise"], {}, removal=removal)
    assert [(a, v) for a, v, *_ in path] == actions
    assert final == list(result.selected)


def test_categorical_enters_as_one_block():
    rng = np.random.default_rng(11)
    n = 800
    group = rng.choice(["north", "south", "east", "west"], size=n)
    shift = {"north": 0.0, "south": 0.9, "east": -0.6, "west": 0.3}
    eta = np.array([shift[g] for g in group])
    frame = pd.DataFrame({"region": pd.array(group, dtype="string"),
                          "noise": rng.normal(size=n),
                          "y": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)})
    levels = {"region": ["north", "west", "south", "east"]}
    result = forward_stepwise(frame, "y", ["noise", "region"], {"region": "north"},
                              levels=levels)
    assert [(s.action, s.variable, s.df) for s in result.steps] == [("entered", "region", 3)]
    assert [t.level for t in result.terms] == ["west", "south", "east"]
    (block,) = result.blocks
    assert (block.variable, block.reference, block.df) == ("region", "north", 3)
    # the block row is the joint Wald test b'V^-1 b of the three indicator coefficients
    fit = logit_fit(frame["y"].to_numpy(), matrix(frame, ["region"], {"region": "north"}))
    b, cov = fit.params[1:], fit.cov_params()[1:, 1:]
    assert block.wald == pytest.approx(float(b @ np.linalg.solve(cov, b)), rel=1e-6)
    frame_rows = result.to_frame()
    assert list(frame_rows["variable"]) == ["region"] * 4 + ["constant"]


def test_listwise_deletion_over_all_candidates():
    frame = removal_data(seed=5, n=400)
    frame.loc[[1, 2, 3], "noise"] = np.nan  # noise never enters, its holes still count
    frame.loc[[4], "y"] = np.nan
    result = forward_stepwise(frame, "y", ["a", "b", "noise"], {})
    assert "noise" not in result.selected
    assert result.n == 396
    assert result.model.n_missing == 4
    check_final(result, frame, "y", ["a", "b", "noise"], {})
    alone = fit_logit(frame, "y", ["a", "b"], {})  # listwise over its own variables only
    assert alone.n == 399


def test_fixed_model_matches_statsmodels():
    frame, candidates, reference = simulate(21, 350, 2, 2, [True] * 4, False, 0.0)
    model = fit_logit(frame, "y", ["x0", "c0", "c1"], reference)
    fit = logit_fit(frame["y"].to_numpy(dtype=float),
                    matrix(frame, ["x0", "c0", "c1"], reference))
    np.testing.assert_allclose([t.b for t in model.terms], fit.params[1:], rtol=1e-6)
    np.testing.assert_allclose([t.se for t in model.terms], fit.bse[1:], rtol=1e-6)
    t = model.terms[0]
    assert t.wald == pytest.approx((fit.params[1] / fit.bse[1]) ** 2, rel=1e-6)
    assert t.odds_ratio == pytest.approx(math.exp(fit.params[1]), rel=1e-6)
    low, high = np.exp(fit.conf_int()[1])
    assert (t.ci_low, t.ci_high) == (pytest.approx(low, rel=1e-6), pytest.approx(high, rel=1e-6))
    n = model.n
    cox = 1 - math.exp(-fit.llr / n)
    assert model.cox_snell_r2 == pytest.approx(cox, rel=1e-6)
    assert model.nagelkerke_r2 == pytest.approx(cox / (1 - math.exp(2 * fit.llnull / n)),
                                                rel=1e-6)
    assert model.chi_square_df == fit.df_model
    assert t.stars == ("***" if t.p < .001 else "**" if t.p < .01 else "*" if t.p < .05
                       else "")
    assert "Variables in the Equation" in model.summary() and "x0" in model.summary()


def test_a_removal_that_repeats_a_model_is_made_then_selection_stops():
    # With PIN above POUT a variable can enter and at once qualify for removal; removing
    # it brings back the constant-only model: the removal is made (the final model keeps
    # no variable the removal test rejected) and selection stops.
    rng = np.random.default_rng(2)
    n = 200
    frame = pd.DataFrame({"y": rng.integers(0, 2, size=n), "u": rng.normal(size=n),
                          "v": rng.normal(size=n)})
    result = forward_stepwise(frame, "y", ["u", "v"], {}, pin=1.0, pout=1e-6)
    first = result.steps[0].variable
    assert [(s.action, s.variable) for s in result.steps] == [("entered", first),
                                                              ("removed", first)]
    assert result.selected == ()
    assert result.stop_reason == ("removing " + first + " brought back a model already "
                                  "fitted, {constant only}")
    assert result.model.terms == () and result.model.chi_square == 0.0
    path, final = brute_force(frame, "y", ["u", "v"], {}, pin=1.0, pout=1e-6)
    assert [(a, v) for a, v, *_ in path] == [("entered", first), ("removed", first)]
    assert final == list(result.selected)


def test_an_entry_that_repeats_a_model_is_not_made():
    # The other half of the rule: total (a noisy 1-df proxy of the 3-df block a) enters,
    # then a, then total leaves; from {a} total meets PIN again, but {total, a} is a model
    # whose removal test has already rejected total: selection stops before the entry.
    rng = np.random.default_rng(5)
    n = 400
    code = rng.integers(0, 4, size=n)
    total = code + rng.normal(0, 0.8, size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.45 * code - 0.7)))).astype(float)
    frame = pd.DataFrame({"y": y, "total": total,
                          "a": pd.array(np.array(["l0", "l1", "l2", "l3"])[code],
                                        dtype="string")})
    result = forward_stepwise(frame, "y", ["total", "a"], {}, pin=0.9, pout=0.05)
    assert [(s.action, s.variable) for s in result.steps] == [
        ("entered", "total"), ("entered", "a"), ("removed", "total")]
    assert result.selected == ("a",)
    assert result.stop_reason == "entering total would give a model already fitted"
    path, final = brute_force(frame, "y", ["total", "a"], {}, pin=0.9, pout=0.05)
    assert [(x, v) for x, v, *_ in path] == [(s.action, s.variable) for s in result.steps]
    assert final == list(result.selected)


def test_a_block_partly_redundant_with_the_model_is_not_entered_and_is_noted():
    # north (0/1) is one of region's indicators; once north is in, region's block has
    # only 2 usable columns of 3. The block enters whole or not at all: not tested.
    rng = np.random.default_rng(12)
    n = 1500
    region = rng.choice(["north", "south", "east", "west"], size=n)
    eta = np.select([region == "north", region == "south", region == "east"],
                    [1.2, 0.15, -0.15], 0.0)
    frame = pd.DataFrame({"y": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float),
                          "north": (region == "north").astype(float),
                          "region": pd.array(region, dtype="string")})
    levels = {"region": ["west", "north", "south", "east"]}
    result = forward_stepwise(frame, "y", ["north", "region"], {"region": "west"},
                              levels=levels)
    assert result.selected == ("north",)
    (test,) = result.not_selected
    assert test.singular and (test.rank, test.df) == (2, 3)
    assert any(note.startswith("region is partly redundant given the final model (only 2 "
                               "of its 3 columns are not)") for note in result.notes)
    # without north, region enters as a 3-df block
    alone = forward_stepwise(frame, "y", ["region"], {"region": "west"}, levels=levels)
    assert [(s.variable, s.df) for s in alone.steps] == [("region", 3)]


def test_separation_is_reported_not_raised():
    rng = np.random.default_rng(4)
    n = 120
    x = rng.normal(size=n)
    frame = pd.DataFrame({"y": (x > 0).astype(int), "x": x, "z": rng.normal(size=n)})
    model = fit_logit(frame, "y", ["x"], {})
    assert not model.converged
    result = forward_stepwise(frame, "y", ["x", "z"], {})
    assert result.selected[0] == "x"
    assert not result.converged and any("did not converge" in n for n in result.notes)
    assert "NOT converge" in result.summary()


def test_empty_level_and_redundant_candidates_are_skipped():
    rng = np.random.default_rng(8)
    n = 300
    a = rng.normal(size=n)
    frame = pd.DataFrame({
        "y": (rng.random(n) < 1 / (1 + np.exp(-1.2 * a))).astype(int),
        "a": a, "copy": 2 * a + 1, "flat": np.ones(n),
        "single": pd.array(["only"] * n, dtype="string"),
    })
    result = forward_stepwise(frame, "y", ["a", "copy", "flat", "single"], {})
    assert len(result.selected) == 1 and result.selected[0] in ("a", "copy")
    redundant = {t.variable for t in result.not_selected if t.singular}
    assert {"flat", "single"} <= redundant and {"a", "copy"} & redundant


def test_bad_input_is_a_bulletin_error():
    frame = removal_data(n=50)
    with pytest.raises(BulletinError, match="removal test"):
        forward_stepwise(frame, "y", ["a"], {}, removal="backward")
    with pytest.raises(BulletinError, match="not in the data"):
        forward_stepwise(frame, "y", ["missing_column"], {})
    bad = frame.assign(y=frame["y"] * 2)
    with pytest.raises(BulletinError, match="must be 0 or 1"):
        fit_logit(bad, "y", ["a"], {})
    cat = frame.assign(g=pd.array(["p", "q"] * 25, dtype="string"))
    with pytest.raises(BulletinError, match="reference level"):
        fit_logit(cat, "y", ["g"], {"g": "r"})
    with pytest.raises(BulletinError, match="not among its levels"):
        fit_logit(cat, "y", ["g"], {}, levels={"g": ["p"]})


def test_log_p_ranks_candidates_beyond_float_range():
    boundary = next(x for x in range(1000, 2000) if not math.isfinite(chi2.logsf(x, 1)))
    before, after = chi2_logsf(boundary - 1, 1), chi2_logsf(boundary + 1, 1)
    assert after == pytest.approx(before - 1.0, abs=0.01)  # slope -1/2 per unit
    assert chi2_logsf(1e5, 2) > chi2_logsf(1e5, 1) > chi2_logsf(2e5, 1)
    assert chi2_logsf(5000, 3) == pytest.approx(2500 * -1 + 0.5 * math.log(2500)
                                                - math.lgamma(1.5), rel=1e-4)
