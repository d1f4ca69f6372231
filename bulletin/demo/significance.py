"""Coefficient targets that keep the published significance levels.

The published B's are printed to two decimals and the stars follow from B / SE. Our
listwise samples are not the bulletin's, so our standard errors differ from the printed
ones by a few per cent either way, and a B aimed exactly at the printed value can land on
the wrong side of a star boundary (B3's OGRS Medium: printed *** at z = 3.4; with an SE
8% larger, ours came out **). So each model's target coefficients are chosen afresh:

* every B stays within `GAP_LIMIT` published SEs of the printed value, both as computed
  and as printed to two decimals;
* with *our* predicted covariance, every term's |B| / SE and every categorical variable's
  joint Wald statistic fall inside the published star band;
* among such targets, the one with the largest common margin (in standard errors) to all
  those limits, up to `MARGIN_CAP`, and then the one nearest the preferred values.

The margin matters because integer outcomes cannot hit a target exactly: the fitted B's
land a few hundredths of an SE away. Each term's own margin (its *room*) is returned too,
so that the rounding can hold the tightest terms closest.

The search is a small smooth program (scipy's SLSQP from a fixed start), so it is
deterministic; its result is rounded before use.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from scipy.stats import chi2, norm

from bulletin.demo.design import PublishedModel

# Two-sided p thresholds of the printed stars: "" p >= .05, * < .05, ** < .01, *** < .001
LEVELS = {"": (1.0, 0.05), "*": (0.05, 0.01), "**": (0.01, 0.001), "***": (0.001, 0.0)}
SE_FLOOR = 0.005  # a printed SE of 0.00 is below half a unit of the last place
GAP_LIMIT = 0.25  # most distance of a B from the printed value, in published SEs
MARGIN_CAP = 0.2  # beyond this margin (in SEs) the target stays nearest the printed value
NEAR = 0.01  # weight of the distance from the preferred values, against the margin
SIGN_KEEP = 0.001  # a B printed without stars keeps its sign by at least this much


def z_band(stars: str) -> tuple[float, float]:
    """|z| range of a single term printed with `stars`."""
    hi_p, lo_p = LEVELS[stars]
    return (float(norm.isf(hi_p / 2)) if hi_p < 1 else 0.0,
            float(norm.isf(lo_p / 2)) if lo_p > 0 else np.inf)


def root_chi2_band(stars: str, df: int) -> tuple[float, float]:
    """sqrt(Wald) range of a joint test on `df` degrees of freedom printed with `stars`."""
    hi_p, lo_p = LEVELS[stars]
    return (float(np.sqrt(chi2.isf(hi_p, df))) if hi_p < 1 else 0.0,
            float(np.sqrt(chi2.isf(lo_p, df))) if lo_p > 0 else np.inf)


def published_se(model: PublishedModel) -> np.ndarray:
    return np.array([max(s, SE_FLOOR) for s in model.se])


def gap_limits(se_pub: np.ndarray) -> np.ndarray:
    """Largest |B - printed B| keeping both B and B rounded to two places within
    `GAP_LIMIT` published SEs of the printed value."""
    steps = np.floor(GAP_LIMIT * se_pub * 100 + 1e-9)  # whole hundredths allowed
    return np.minimum(GAP_LIMIT * se_pub, (steps + 0.5) * 0.01) - 1e-6


Constraint = tuple[Callable[[np.ndarray], float], list[int]]  # margin in SEs, terms


def _constraints(model: PublishedModel, cov: np.ndarray) -> list[Constraint]:
    """Every limit as a function of the coefficients giving its margin in standard errors
    (negative: broken), with the terms it concerns."""
    b_pub = np.array(model.b)
    se = np.sqrt(np.diag(cov))
    lim = gap_limits(published_se(model))
    sign = np.sign(b_pub)
    out: list[Constraint] = []
    for i in range(len(b_pub)):
        out.append((lambda b, i=i: (lim[i] - abs(b[i] - b_pub[i])) / se[i], [i]))
        if i == len(model.terms):  # the constant: no stars
            continue
        lo, hi = z_band(model.stars[i])
        if lo > 0:
            out.append((lambda b, i=i, lo=lo: sign[i] * b[i] / se[i] - lo, [i]))
        else:  # not significant: keep the printed sign
            out.append((lambda b, i=i: (sign[i] * b[i] - SIGN_KEEP) / se[i], [i]))
        if np.isfinite(hi):
            out.append((lambda b, i=i, hi=hi: hi - sign[i] * b[i] / se[i], [i]))
    for variable, stars in model.block_stars:
        idx = [i for i, tm in enumerate(model.terms) if tm.variable == variable]
        inv = np.linalg.inv(cov[np.ix_(idx, idx)])
        lo, hi = root_chi2_band(stars, len(idx))

        def root_wald(b: np.ndarray, idx: list[int] = idx, inv: np.ndarray = inv) -> float:
            v = b[idx]
            return float(np.sqrt(max(v @ inv @ v, 0.0)))

        if lo > 0:
            out.append((lambda b, f=root_wald, lo=lo: f(b) - lo, idx))
        if np.isfinite(hi):
            out.append((lambda b, f=root_wald, hi=hi: hi - f(b), idx))
    return out


def coefficient_targets(model: PublishedModel, preferred: np.ndarray,
                        cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Target coefficients (terms and constant) and each one's room: the least margin, in
    standard errors, of the limits it enters (negative where a limit cannot be met)."""
    cons = _constraints(model, cov)
    s_pub = published_se(model)
    k = len(preferred)
    preferred = _roomy(model, preferred, cov, cons)

    def cost(v: np.ndarray) -> float:
        return -v[-1] + NEAR * float(np.sum(((v[:-1] - preferred) / s_pub) ** 2))

    def grad(v: np.ndarray) -> np.ndarray:
        g = np.zeros(k + 1)
        g[:-1] = 2 * NEAR * (v[:-1] - preferred) / s_pub**2
        g[-1] = -1.0
        return g

    slsqp = [{"type": "ineq", "fun": lambda v, f=f: f(v[:-1]) - v[-1]} for f, _ in cons]
    slsqp.append({"type": "ineq", "fun": lambda v: MARGIN_CAP - v[-1]})
    start = np.append(np.array(model.b, dtype=float), 0.0)
    start[-1] = min(f(start[:-1]) for f, _ in cons)
    res = minimize(cost, start, jac=grad, method="SLSQP", constraints=slsqp,
                   options={"maxiter": 300, "ftol": 1e-12})
    target = np.round(res.x[:-1], 9)
    room = np.full(k, np.inf)
    for f, idx in cons:
        m = f(target)
        for i in idx:
            room[i] = min(room[i], m)
    return target, room


def _roomy(model: PublishedModel, preferred: np.ndarray, cov: np.ndarray,
           cons: list[Constraint]) -> np.ndarray:
    """The preferred values, each moved (alone) to keep `MARGIN_CAP` from its own limits,
    or to the middle of them where they are closer than that: the margin search keeps
    only the least margin up, and pulls the rest towards these points."""
    se = np.sqrt(np.diag(cov))
    out = preferred.copy()
    for i in range(len(out)):
        own = [f for f, idx in cons if idx == [i]]
        grid = preferred[i] + se[i] * np.linspace(-1.0, 1.0, 2001)  # steps of 0.001 SE
        trial = np.tile(preferred, (len(grid), 1))
        trial[:, i] = grid
        room = np.min([[f(v) for v in trial] for f in own], axis=0)
        best = np.flatnonzero(room >= min(room.max(), MARGIN_CAP) - 1e-12)
        out[i] = grid[best[np.argmin(np.abs(grid[best] - preferred[i]))]]
    return out
