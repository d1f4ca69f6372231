"""The stepwise selection's arithmetic as it stood before the bootstrap's selections
were made cheaper: one numpy call after another, each statistic computed where it is
used. tests/test_stepwise_bits.py requires bulletin.analysis to give exactly these bits
(the published models and the bootstrap's selections depend on every one of them), so
this copy is frozen: change it only together with a deliberate change of the results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.special import expit

from bulletin.analysis.logit import (
    EPS,
    GTOL,
    HALVINGS,
    ITERATE,
    POLISH,
    SANE_SCALED_B,
    Design,
    Fit,
    Separation,
    cho_solve,
    find_separation,
    fit_notes,
    model_name,
)
from bulletin.analysis.stepwise import ScoreTest, Step, _check_rules
from bulletin.distributions import chi2_sf, chi2_sf_array
from bulletin.errors import BulletinError


def take(design: Design, rows: np.ndarray) -> Design:
    """The design `encode` gives for the sample's cases at positions `rows` (a
    bootstrap resample, say), without going back to the data frame.

    As `encode` would, it drops the column of a level that no case in `rows` has,
    and refuses a reference level that none has. Encoding a resample from its frame
    costs more than fitting it, so resampling the design is what keeps a bootstrap
    of stepwise selection cheap.
    """
    rows = np.asarray(rows, dtype=np.intp)
    x = design.x[rows]
    keep = [0]
    blocks: list[tuple[int, ...]] = []
    for v, block, ref in zip(design.variables, design.blocks, design.references, strict=True):
        start = len(keep)
        if ref is None:  # continuous
            keep.append(block[0])
        else:
            present = [c for c in block if x[:, c].any()]
            if len(rows) and not (x[:, list(block)].sum(axis=1) == 0).any():
                raise BulletinError(
                    f"logistic regression of {design.outcome!r}: reference level "
                    f"{ref!r} of {v!r} does not occur among the {len(rows)} cases used")
            keep.extend(present)
        blocks.append(tuple(range(start, len(keep))))
    if len(keep) != x.shape[1]:
        x = x[:, keep]
    return Design(design.outcome, design.y[rows], np.asfortranarray(x), design.variables,
                  tuple(blocks), tuple(design.labels[c] for c in keep), design.references, 0)



def loglik(eta: np.ndarray, y: np.ndarray) -> float:
    # log(1 + e^eta) = max(eta, 0) + log1p(e^-|eta|), without overflow
    return float(y @ eta - np.maximum(eta, 0.0).sum() - np.log1p(np.exp(-np.abs(eta))).sum())






def _solve(info: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        return cho_solve(info, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(info, rhs, rcond=None)[0]


def _information(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    info = (x * w[:, None]).T @ x
    return (info + info.T) / 2.0




def _newton_run(x: np.ndarray, y: np.ndarray, beta: np.ndarray, iterate: int,
                ) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray, int, bool, bool]:
    """Newton-Raphson with step halving from `beta`.

    Returns (beta, loglik, last change in loglik, info, prob, iterations,
    polished, stalled): polished when the last step changed no estimate by more
    than POLISH (relative), stalled when a step could not raise the likelihood.
    """
    eta = x @ beta
    ll = loglik(eta, y)
    gain = math.inf
    polished = stalled = False
    iterations = 0
    while True:
        prob = expit(eta)
        w = prob * (1.0 - prob)
        info = _information(x, w)
        if polished or stalled or iterations >= iterate:
            break
        step = _solve(info, x.T @ (y - prob))
        if not np.all(np.isfinite(step)):
            stalled = True
            break
        new = beta + step
        new_eta = x @ new
        new_ll = loglik(new_eta, y)
        halvings = 0
        while not new_ll >= ll - 1e-12 * abs(ll) and halvings < HALVINGS:
            step /= 2.0
            new = beta + step
            new_eta = x @ new
            new_ll = loglik(new_eta, y)
            halvings += 1
        iterations += 1
        if not new_ll >= ll - 1e-12 * abs(ll):
            stalled = True  # no step along Newton's direction raises the likelihood
            continue
        change = np.abs(step) / np.maximum(np.abs(beta), 1.0)
        gain = new_ll - ll
        beta, eta, ll = new, new_eta, new_ll
        polished = change.max(initial=0.0) <= POLISH
    return beta, ll, gain, info, prob, iterations, polished, stalled


def _assess(x: np.ndarray, y: np.ndarray, beta: np.ndarray, ll: float, gain: float,
            info: np.ndarray, prob: np.ndarray, polished: bool, stalled: bool,
            ) -> tuple[np.ndarray, bool, str, Separation | None]:
    """Covariance, and whether the estimates may be reported as a converged fit."""
    k = x.shape[1]
    cov = _solve(info, np.eye(k))
    if not (np.isfinite(beta).all() and math.isfinite(ll)):
        return cov, False, "the estimates are not finite", None
    score = x.T @ (y - prob)
    decrement = float(score @ _solve(info, score))
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    spread = x.std(axis=0)
    scaled = np.abs(beta) * np.where(spread > 0, spread, 0.0)
    sane = bool(np.isfinite(se).all() and (se > 0).all()
                and scaled.max(initial=0.0) <= SANE_SCALED_B)
    small = math.isfinite(decrement) and abs(decrement) <= GTOL and abs(gain) <= GTOL
    if polished and small and sane:
        return cov, True, "", None
    separation = find_separation(x, y)
    if separation is not None:
        return cov, False, f"{separation.kind} separation", separation
    if not small:
        why = "the likelihood could not be raised further" if stalled else \
            "the score was not yet zero when the iteration limit was reached"
        return cov, False, why, None
    if not sane:
        return cov, False, "an estimate or its standard error is beyond a sane bound", None
    return cov, True, "", None


def _null_start(k: int) -> np.ndarray:
    return np.zeros(k)


def newton(x: np.ndarray, y: np.ndarray, start: np.ndarray | None = None,
           iterate: int = ITERATE, alternatives: Sequence[np.ndarray] = ()) -> Fit:
    """Newton-Raphson with step halving; never raises on separation or singularity.

    A warm `start` is used only if it is finite and no worse than the intercept-only
    model's likelihood; otherwise, or if the fit from it does not converge, the fit is
    repeated from each of `alternatives` and from zero, and the best likelihood kept.
    Convergence is judged on the score and the change in likelihood, and a fit whose
    data separate is never reported as converged: on separated data the estimates run
    off to infinity, the fit stops at `iterate` steps with converged=False (as SPSS
    does) and `separation` says which columns separate which cases.
    """
    k = x.shape[1]
    floor = null_loglik(y)
    starts: list[np.ndarray] = []
    for s in (start, *alternatives):
        if s is None:
            continue
        s = np.asarray(s, dtype=float)
        if np.isfinite(s).all() and loglik(x @ s, y) >= floor - 1e-9 * abs(floor):
            starts.append(s.copy())
    starts.append(_null_start(k))
    best: Fit | None = None
    for s in starts:
        beta, ll, gain, info, prob, iterations, polished, stalled = \
            _newton_run(x, y, s, iterate)
        cov, converged, problem, separation = _assess(x, y, beta, ll, gain, info, prob,
                                                      polished, stalled)
        fit = Fit(beta, ll, info, cov, prob, converged, iterations, separation, problem)
        if best is None or (fit.converged, fit.loglik) > (best.converged, best.loglik):
            best = fit
        if converged or separation is not None:
            break
    assert best is not None
    return best


def loglik_bracket(x: np.ndarray, y: np.ndarray, beta: np.ndarray,
                   weights: np.ndarray | None = None, info: np.ndarray | None = None,
                   ) -> tuple[float, float] | None:
    """Bounds (lower, upper) on the maximum log-likelihood of the model with columns `x`;
    None if the upper bound cannot be formed.

    The lower bound is the log-likelihood at `beta`. The upper bound is from the dual
    of the logistic likelihood: for any probabilities p in [0, 1] with X'(y - p) = 0,
    max ll <= sum p log p + (1 - p) log(1 - p) (minus the entropy), because
    log(1 + e^eta) >= p eta + entropy(p) for every p. The probabilities at `beta`,
    corrected by p + W X (X'WX)^-1 X'(y - p), meet that constraint for any positive
    weights W; with the weights at `beta` this is a Newton step and the bound is as tight
    as the Newton decrement. Removal tests pass the full model's weights and the matching
    block of its information matrix (`weights`, `info` = X'WX), which costs no new
    cross-product. They use the bounds to settle "this variable stays" without
    iterating a refit to convergence.
    """
    eta = x @ beta
    lower = loglik(eta, y)
    if not math.isfinite(lower):
        return None
    prob = expit(eta)
    w = prob * (1.0 - prob) if weights is None else weights
    if info is None:
        info = _information(x, w)
    step = _solve(info, x.T @ (y - prob))
    corrected = prob + w * (x @ step)
    if not (np.isfinite(corrected).all() and corrected.min() >= 0.0
            and corrected.max() <= 1.0):
        return None
    upper = float(special.xlogy(corrected, corrected).sum()
                  + special.xlogy(1.0 - corrected, 1.0 - corrected).sum())
    # X'(y - p) is zero only to rounding; allow for what that could add, generously.
    residual = np.abs(x.T @ (y - corrected))
    upper += 2.0 * float(residual @ (np.abs(beta) + np.abs(step) + 1.0)) + 1e-9 * abs(upper)
    return lower, max(upper, lower)


def null_loglik(y: np.ndarray) -> float:
    """Log-likelihood of the constant-only model, which has a closed form."""
    n1 = float(y.sum())
    n0 = float(y.shape[0]) - n1
    return sum(c * math.log(c / (n0 + n1)) for c in (n0, n1) if c > 0)


# ----------------------------------------------------------------------------- reporting


def _weights(design: Design, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return prob * (1.0 - prob), design.y - prob


def score_tests(design: Design, model: Sequence[str], fit: Fit,
                candidates: Sequence[str]) -> tuple[ScoreTest, ...]:
    """Rao score test of adding each candidate (as a block) to the fitted `model`.

    With r = y - p and W = diag(p(1-p)) at the current fit, X1 the model's columns
    and Z the candidates': U = Z'r, A = X1'WX1, B = X1'WZ,
    G = Z'WZ - B'A^-1 B and S_J = U_J' G_JJ^-1 U_J for candidate block J.
    One cross-product of the design serves every candidate.
    """
    if not candidates:
        return ()
    w, r = _weights(design, fit.prob)
    inside = design.columns(model)
    outside_blocks = [design.block(v) for v in candidates]
    outside = np.asarray([c for b in outside_blocks for c in b], dtype=np.intp)
    # One weighted cross-product of the whole design, then A, B and Z'WZ are its blocks.
    full = (design.x * w[:, None]).T @ design.x
    rows_in = full[inside]  # rows, then columns: cheaper than np.ix_, same values
    a = rows_in[:, inside]
    b = rows_in[:, outside]
    zwz = full[outside][:, outside]
    try:
        g = zwz - b.T @ cho_solve(a, b)
    except np.linalg.LinAlgError:
        g = zwz - b.T @ np.linalg.lstsq(a, b, rcond=None)[0]
    u = design.x[:, outside].T @ r
    # Tolerance as SPSS judges redundancy: the share of a column's weighted variance
    # (about its weighted mean) left over after regressing it on the model's columns.
    centred = np.diag(zwz) - full[0, outside] ** 2 / full[0, 0] if full[0, 0] > 0 else \
        np.zeros(len(outside))
    # One-column blocks (most candidates) are tested together: for one column the
    # eigenvalue and the solve below are a product and a division, done here for all.
    gd = np.diag(g)
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = 1.0 / np.sqrt(centred)
        tolerance1 = gd * s1 * s1
        stat1 = u * (u / gd)
        p1 = chi2_sf_array(stat1, 1)
    tests: list[ScoreTest] = []
    pos = 0
    for v, block in zip(candidates, outside_blocks, strict=True):
        j = slice(pos, pos + len(block))
        df = len(block)
        if df == 1:
            if not (centred[pos] > 0 and tolerance1[pos] >= EPS):
                tests.append(ScoreTest(v, math.nan, 1, math.nan, True, 0))
            else:
                stat = float(max(stat1[pos], 0.0))
                tests.append(ScoreTest(v, stat, 1, float(p1[pos]), False, 1))
            pos += 1
            continue
        pos += len(block)
        scale = centred[j]
        # rank: how many of the block's columns are not redundant given the model (a
        # column constant over the sample is redundant with the model's constant)
        varies = scale > 0
        rank = 0
        if varies.any():
            s = 1.0 / np.sqrt(scale[varies])
            gjj = g[j, j][np.ix_(varies, varies)] * s[:, None] * s[None, :]
            rank = int((np.linalg.eigvalsh((gjj + gjj.T) / 2) >= EPS).sum())
        if rank < df or df == 0:
            tests.append(ScoreTest(v, math.nan, df, math.nan, True, rank))
            continue
        stat = float(max(u[j] @ np.linalg.solve(g[j, j], u[j]), 0.0))
        tests.append(ScoreTest(v, stat, df, chi2_sf(stat, df), False, df))
    return tuple(tests)


@dataclass
class _State:
    """The current model during selection (mutable only inside forward_stepwise)."""

    variables: list[str]
    fit: Fit


class _Selector:
    def __init__(self, design: Design, removal: str) -> None:
        self.design = design
        self.removal = removal
        self.notes: list[str] = []
        self.converged = True

    def fit(self, variables: Sequence[str], start: np.ndarray | None,
            alternatives: Sequence[np.ndarray] = ()) -> Fit:
        cols = self.design.columns(variables)
        fit = newton(self.design.x[:, cols], self.design.y, start, alternatives=alternatives)
        if not fit.converged:
            self.converged = False
            for note in fit_notes(self.design, variables, fit):
                if note not in self.notes:
                    self.notes.append(note)
        return fit

    def start(self, state: _State, variables: Sequence[str]) -> np.ndarray:
        """Current estimates rearranged for `variables` (new columns start at 0)."""
        full = np.zeros(self.design.x.shape[1])
        full[self.design.columns(state.variables)] = state.fit.beta
        return full[self.design.columns(variables)]

    def removal_tests(self, state: _State, pout: float = -1.0,
                      ) -> list[tuple[str, float, int, float, Fit | None,
                                      np.ndarray | None]]:
        """(variable, statistic, df, p, refit without it or None, start for the refit).

        For the likelihood-ratio test a variable that certainly stays (p below `pout`
        even at the smallest statistic the bounds of `loglik_bracket` allow) is not
        refitted to convergence: its statistic is then that lower bound, its p an upper
        bound, and its refit None. Every variable that might leave gets the full refit,
        so the removal chosen and every printed statistic are as with full refits.
        """
        out = []
        fit = state.fit
        pos = {}
        at = 1
        for v in state.variables:
            width = len(self.design.block(v))
            pos[v] = np.arange(at, at + width)
            at += width
        for v in state.variables:
            rest = [u for u in state.variables if u != v]
            j = pos[v]
            df = len(j)
            rest_mask = np.ones(len(fit.beta), dtype=bool)
            rest_mask[j] = False
            keep = np.flatnonzero(rest_mask)
            reduced: Fit | None = None
            # The reduced model's estimates approximated from the current fit
            # (b1 + I11^-1 I12 b2): SPSS's conditional statistic uses them as they are,
            # the likelihood-ratio test starts its refit there.
            kept = fit.info[keep]  # rows, then columns: cheaper than np.ix_, same values
            info_kept = kept[:, keep]
            start = fit.beta[keep] + np.linalg.lstsq(
                info_kept, kept[:, j] @ fit.beta[j], rcond=None)[0]
            if self.removal == "lr":
                bounds = None
                if pout > 0 and np.isfinite(start).all():
                    cols = self.design.columns(rest)
                    bounds = loglik_bracket(self.design.x[:, cols], self.design.y, start,
                                            fit.prob * (1.0 - fit.prob), info_kept)
                if bounds is not None:
                    least = max(2.0 * (fit.loglik - bounds[1]), 0.0)
                    if chi2_sf(least, df) < pout:
                        out.append((v, least, df, chi2_sf(least, df), None, start))
                        continue
                reduced = self.fit(rest, start, alternatives=(fit.beta[keep],))
                stat = 2.0 * (fit.loglik - reduced.loglik)
            elif self.removal == "wald":
                b = fit.beta[j]
                stat = float(b @ np.linalg.lstsq(fit.cov[np.ix_(j, j)], b, rcond=None)[0])
            else:
                cols = self.design.columns(rest)
                stat = 2.0 * (fit.loglik - loglik(self.design.x[:, cols] @ start,
                                                  self.design.y))
            stat = max(float(stat), 0.0) if math.isfinite(stat) else math.inf
            out.append((v, stat, df, chi2_sf(stat, df), reduced, start))
        return out



def _path(design: Design, pin: float, pout: float, removal: str,
          ) -> tuple[_Selector, _State, list[Step], str]:
    """The selection: entries and removals until a stopping rule holds."""
    _check_rules(pin, pout, removal)
    selector = _Selector(design, removal)
    state = _State([], selector.fit([], None))
    seen = {frozenset()}
    steps: list[Step] = []
    stop = ""
    while not stop:
        # Entry: the candidate with the smallest score-test p below PIN.
        outside = [v for v in design.variables if v not in state.variables]
        tests = score_tests(design, state.variables, state.fit, outside)
        eligible = [t for t in tests if not t.singular and t.p < pin]
        if not eligible:
            stop = "no variable outside the model meets the entry criterion"
            break
        best = min(eligible, key=lambda t: t.log_p)  # min keeps candidate order on ties
        entered = [*state.variables, best.variable]
        if frozenset(entered) in seen:
            stop = f"entering {best.variable} would give a model already fitted"
            break
        state = _State(entered, selector.fit(entered, selector.start(state, entered)))
        seen.add(frozenset(entered))
        steps.append(Step(len(steps) + 1, "entered", best.variable, "score", best.statistic,
                          best.df, best.p))
        # Removal: the variable with the largest p above POUT, until none qualifies.
        while True:
            checks = [c for c in selector.removal_tests(state, pout) if c[3] > pout]
            if not checks:
                break
            worst = max(checks, key=lambda c: c[3])  # max keeps entry order on ties
            v, stat, df, p, reduced, start = worst
            rest = [u for u in state.variables if u != v]
            # A removal that brings back an earlier model is carried out, and selection
            # stops there (docs/stepwise.md, "Repeated models"): the final model never
            # keeps a variable the removal test has just rejected.
            repeated = frozenset(rest) in seen
            if reduced is None:
                previous = state.fit.beta[np.isin(design.columns(state.variables),
                                                  design.columns(rest))]
                reduced = selector.fit(rest, start, alternatives=(previous,))
            state = _State(rest, reduced)
            seen.add(frozenset(rest))
            steps.append(Step(len(steps) + 1, "removed", v, removal, stat, df, p))
            if repeated:
                stop = (f"removing {v} brought back a model already fitted, "
                        f"{model_name(rest)}")
                break
    return selector, state, steps, stop
