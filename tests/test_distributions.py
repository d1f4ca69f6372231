"""bulletin.distributions against scipy.stats, value for value, over grids.

The package computes these without importing scipy.stats (half a second and 40 MiB at
start-up); the claim is that every value is the one scipy.stats gives, to the last bit,
so that no published figure moves.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from bulletin import distributions as d


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_chi2_sf_and_logsf() -> None:
    xs = [0.0, -1.0, 1e-300, 1e-8, 0.01, 0.5, 1.0, 3.841458820694124, 6.6, 10.0, 37.5,
          100.0, 750.0, 1400.0, 1e4, math.inf, math.nan]
    xs += list(np.random.default_rng(1).gamma(2.0, 3.0, size=200))
    for df, x in itertools.product([1, 2, 3, 4, 5, 7, 10, 16, 30], xs):
        assert same(d.chi2_sf(x, df), float(stats.chi2.sf(x, df))), (x, df)
        assert same(d.chi2_logsf(x, df), float(stats.chi2.logsf(x, df))), (x, df)
    for df in (1, 3):  # the array form gives chi2_sf's values, bit for bit
        many = d.chi2_sf_array(np.array(xs), df)
        assert all(same(float(p), d.chi2_sf(x, df)) for p, x in zip(many, xs, strict=True))


def test_normal_cdf_sf_ppf() -> None:
    xs = np.r_[np.linspace(-40, 40, 801), [-math.inf, math.inf, 1e-12, -1e-12]]
    for x in xs:
        assert d.norm_cdf(x) == float(stats.norm.cdf(x))
        assert d.norm_sf(x) == float(stats.norm.sf(x))
    for q in np.r_[np.linspace(0, 1, 1001), [1e-300, 1e-20, 0.975, 1 - 1e-16]]:
        assert same(d.norm_ppf(q), float(stats.norm.ppf(q))), q


def fisher(table: list[list[int]]) -> float:
    return float(stats.fisher_exact(table, alternative="two-sided").pvalue)


def test_fisher_exact_every_small_table() -> None:
    for a, b, c, e in itertools.product(range(7), repeat=4):
        table = [[a, b], [c, e]]
        assert d.fisher_exact_p(table) == fisher(table), table


def test_fisher_exact_larger_tables() -> None:
    rng = np.random.default_rng(7)
    for _ in range(500):
        n = int(rng.integers(1, 3000))
        table = rng.multinomial(n, rng.dirichlet([1, 1, 1, 1])).reshape(2, 2).tolist()
        assert d.fisher_exact_p(table) == fisher(table), table
    with pytest.raises(ValueError):
        d.fisher_exact_p([[1, -1], [2, 3]])


def test_fisher_fallback_formula_agrees_closely() -> None:
    # If a scipy release drops the Boost hypergeometric functions, a log-gamma formula
    # takes over; it must give the same p-values to rounding.
    h = d._Hypergeom(60, 25, 30)
    for k in range(h.low, h.high + 1):
        assert math.exp(d._hypergeom_logpmf(k, 60, 25, 30)) == pytest.approx(h.pmf(k),
                                                                           rel=1e-10)


@pytest.mark.parametrize("correction", [False, True])
def test_chi_square_of_2x2_tables(correction: bool) -> None:
    rng = np.random.default_rng(3)
    tables = [rng.integers(0, 400, size=(2, 2)) for _ in range(500)]
    tables += [np.array(t).reshape(2, 2) for t in itertools.product(range(1, 6), repeat=4)]
    for table in tables:
        expected = stats.contingency.expected_freq(table)
        assert np.array_equal(d.expected_counts(table), expected)
        if (expected == 0).any():
            continue
        stat, p, _, _ = stats.chi2_contingency(table, correction=correction)
        assert d.chi2_2x2(table, correction=correction) == (float(stat), float(p)), table


def test_the_analysis_stage_does_not_import_scipy_stats() -> None:
    code = ("import sys, bulletin.analysis.run, bulletin.collect, bulletin.change; "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
