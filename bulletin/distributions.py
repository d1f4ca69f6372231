"""The few distribution functions and tests the bulletin needs, without scipy.stats.

Importing scipy.stats costs about half a second and 40 MiB, for a handful of calls that
are each one scipy.special function underneath. This module makes those calls directly,
the way scipy.stats makes them, so every value is the same to the last bit
(tests/test_distributions.py compares them with scipy.stats over a grid):

- chi-square survival function: `special.chdtrc`, the logarithm of it for log p;
- normal cdf, survival function and quantile: `special.ndtr` and `special.ndtri`;
- Fisher's exact test of a 2x2 table, two-sided, with scipy's algorithm: tables as likely
  as the observed one (within a relative 1e-14) or less likely make up the p-value;
  hypergeometric probabilities from the Boost functions scipy.special exposes for
  scipy.stats (a log-gamma formula if a scipy release no longer has them);
- Pearson's chi-square test of a 2x2 table, with or without Yates's correction, as
  `scipy.stats.chi2_contingency` computes it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special
from scipy.special import _ufuncs

# ----------------------------------------------------------------------------- chi-square


def chi2_sf(x: float, df: float) -> float:
    """P(chi-square_df > x)."""
    if math.isnan(x):
        return math.nan
    return 1.0 if x <= 0 else float(special.chdtrc(df, x))


def chi2_sf_array(x: np.ndarray, df: float) -> np.ndarray:
    """`chi2_sf` of every element, in one call (the same values: stepwise selection tests
    every one-column candidate at each step)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(x <= 0, 1.0, special.chdtrc(df, x))


def chi2_logsf(x: float, df: float) -> float:
    """log P(chi-square_df > x); -inf where the probability underflows.

    As scipy.stats does it: log of the survival function above the median, log1p of
    minus the cdf below it (where the survival function is close to 1).
    """
    if math.isnan(x):
        return math.nan
    if x <= 0:
        return 0.0
    if x == math.inf:
        return -math.inf
    median = 2 * special.gammaincinv(df / 2, 0.5)
    with np.errstate(divide="ignore"):
        if x > median:
            return float(np.log(special.chdtrc(df, x)))
        return float(np.log1p(-special.chdtr(df, x)))


# ----------------------------------------------------------------------------- normal


def norm_cdf(x: float) -> float:
    return float(special.ndtr(x))


def norm_sf(x: float) -> float:
    return float(special.ndtr(-x))


def norm_ppf(q: float) -> float:
    return float(special.ndtri(q))


# ----------------------------------------------------------------------------- hypergeometric


def _hypergeom_logpmf(k: float, total: float, good: float, draws: float) -> float:
    bad = total - good
    return float(special.betaln(good + 1, 1) + special.betaln(bad + 1, 1)
                 + special.betaln(total - draws + 1, draws + 1)
                 - special.betaln(k + 1, good - k + 1)
                 - special.betaln(draws - k + 1, bad - draws + k + 1)
                 - special.betaln(total + 1, 1))


class _Hypergeom:
    """P(K = k) etc. for k successes in `draws` draws from `total` items, `good` of them
    successes; the support checks are scipy.stats.hypergeom's."""

    def __init__(self, total: int, good: int, draws: int) -> None:
        self.total, self.good, self.draws = total, good, draws
        self.low, self.high = max(0, draws - (total - good)), min(good, draws)

    def _boost(self, name: str, k: int) -> float | None:
        f = getattr(_ufuncs, name, None)
        return None if f is None else float(f(k, self.good, self.draws, self.total))

    def pmf(self, k: int) -> float:
        if not self.low <= k <= self.high:
            return 0.0
        value = self._boost("_hypergeom_pmf", k)
        if value is None:
            value = math.exp(_hypergeom_logpmf(k, self.total, self.good, self.draws))
        return min(max(value, 0.0), 1.0)

    def cdf(self, k: int) -> float:
        if k >= self.high:
            return 1.0
        if k < self.low:
            return 0.0
        value = self._boost("_hypergeom_cdf", k)
        if value is None:
            value = sum(self.pmf(i) for i in range(self.low, k + 1))
        return min(max(value, 0.0), 1.0)

    def sf(self, k: int) -> float:
        if k < self.low:
            return 1.0
        if k >= self.high:
            return 0.0
        value = self._boost("_hypergeom_sf", k)
        if value is None:
            value = sum(self.pmf(i) for i in range(k + 1, self.high + 1))
        return min(max(value, 0.0), 1.0)


def _binary_search(f, d: float, lo: int, hi: int) -> int:
    """The i in [lo, hi] with f(i) <= d < f(i + 1), f ascending (scipy's search)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        value = f(mid)
        if value < d:
            lo = mid + 1
        elif value > d:
            hi = mid - 1
        else:
            return mid
    return lo if f(lo) <= d else lo - 1


def fisher_exact_p(table: object) -> float:
    """Two-sided p of Fisher's exact test of a 2x2 table of counts, as scipy computes it."""
    c = np.asarray(table, dtype=np.int64)
    if c.shape != (2, 2) or (c < 0).any():
        raise ValueError("Fisher's exact test needs a 2x2 table of non-negative counts")
    if 0 in c.sum(axis=0) or 0 in c.sum(axis=1):
        return 1.0
    n1 = int(c[0, 0] + c[0, 1])
    n2 = int(c[1, 0] + c[1, 1])
    n = int(c[0, 0] + c[1, 0])
    x = int(c[0, 0])
    h = _Hypergeom(n1 + n2, n1, n)
    mode = int((n + 1) * (n1 + 1) / (n1 + n2 + 2))
    pexact = h.pmf(x)
    pmode = h.pmf(mode)
    epsilon = 1e-14
    gamma = 1 + epsilon
    if abs(pexact - pmode) / max(pexact, pmode) <= epsilon:
        return 1.0
    if x < mode:
        plower = h.cdf(x)
        if h.pmf(n) > pexact * gamma:
            return min(plower, 1.0)
        guess = _binary_search(lambda i: -h.pmf(i), -pexact * gamma, mode, n)
        p = plower + h.sf(guess)
    else:
        pupper = h.sf(x - 1)
        if h.pmf(0) > pexact * gamma:
            return min(pupper, 1.0)
        guess = _binary_search(h.pmf, pexact * gamma, 0, mode)
        p = pupper + h.cdf(guess)
    return min(p, 1.0)


# ----------------------------------------------------------------------------- 2x2 tables


def expected_counts(table: object) -> np.ndarray:
    """Expected counts under independence: row total x column total / grand total."""
    observed = np.asarray(table, dtype=float)
    rows = observed.sum(axis=1, keepdims=True)
    cols = observed.sum(axis=0, keepdims=True)
    return rows * cols / observed.sum()


def chi2_2x2(table: object, correction: bool = False) -> tuple[float, float]:
    """(Pearson's chi-square, its p on 1 df) for a 2x2 table with no empty margin;
    with `correction`, Yates's continuity correction (moving each count towards its
    expected value by at most 0.5), as scipy.stats.chi2_contingency applies it."""
    observed = np.asarray(table, dtype=float)
    if observed.shape != (2, 2):
        raise ValueError("the chi-square test here needs a 2x2 table")
    expected = expected_counts(observed)
    if (expected == 0).any():
        raise ValueError("a 2x2 table with an empty row or column has no chi-square test")
    if correction:
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    stat = float(np.sum((observed - expected) ** 2 / expected, axis=None))
    return stat, chi2_sf(stat, 1)
