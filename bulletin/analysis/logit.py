"""Binary logistic regression fitted and reported the way SPSS LOGISTIC REGRESSION does.

The bulletin's models were produced in SPSS, so the fitter follows its defaults
(Newton-Raphson, at most 20 iterations, convergence when no estimate changes by more
than 0.1 per cent, redundancy tolerance 1e-8) and its reporting (indicator contrasts
against a reference category, a joint Wald test on the reference row, Exp(B) with a
95% interval, Cox & Snell and Nagelkerke R squared).

We fit with a few lines of numpy instead of statsmodels because stepwise selection
fits many closely related models on one sample: encoding the sample once, starting
each fit from the previous estimates and reusing the information matrix for score
tests is what makes selection on large samples quick. The tests hold the estimates
to statsmodels' to about 1e-6. Once SPSS's criterion is met we keep iterating to a
much tighter one (Newton converges quadratically, so that costs about one iteration),
which is what makes the figures agree with other software to that precision.

A fit is never reported as converged unless the estimates exist and were reached:
convergence is judged on the score and the change in likelihood, poor warm starts are
replaced, and separated data are detected and named (docs/stepwise.md, "Fits that never
lie").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import special
from scipy.linalg import lapack
from scipy.special import expit, gammaln

from bulletin.distributions import chi2_logsf as _chi2_logsf
from bulletin.distributions import chi2_sf, norm_ppf
from bulletin.errors import BulletinError
from bulletin.significance import stars

ITERATE = 20  # SPSS CRITERIA ITERATE: most Newton steps per fit
BCON = 1e-3  # SPSS CRITERIA BCON: relative change in every estimate that counts as converged
EPS = 1e-8  # SPSS CRITERIA EPS: tolerance below which a column counts as redundant
POLISH = 1e-8  # we stop iterating only at this relative change (or at ITERATE); Newton
# converges quadratically, so the estimates are then within ~1e-16 of the maximum
Z95 = norm_ppf(0.975)
CONSTANT = "constant"


def chi2_logsf(stat: float, df: int) -> float:
    """log P(chi-square_df > stat), finite even where the p-value underflows to 0.

    Stepwise entry ranks candidates by p-value; on large samples several p-values
    are below 1e-300, and ranking them needs their logarithms. Beyond scipy's range
    we use the asymptotic expansion of the upper incomplete gamma function.
    """
    value = _chi2_logsf(stat, df)
    if math.isfinite(value):
        return value
    a, x = df / 2.0, stat / 2.0
    series, term = 1.0, 1.0
    for k in range(1, 12):
        term *= (a - k) / x
        series += term
    return (a - 1.0) * math.log(x) - x - float(gammaln(a)) + math.log(series)


# ----------------------------------------------------------------------------- design


@dataclass(frozen=True, eq=False)
class Design:
    """The sample after listwise deletion, encoded once for every model fitted on it.

    Column 0 of `x` is the constant; every variable owns a block of columns
    (one for a continuous variable, one per non-reference level for a categorical).
    """

    outcome: str
    y: np.ndarray
    x: np.ndarray
    variables: tuple[str, ...]
    blocks: tuple[tuple[int, ...], ...]  # column indices of each variable, in `variables` order
    labels: tuple[tuple[str, str | None], ...]  # (variable, level) of every column
    references: tuple[str | None, ...]  # reference level of each variable (None: continuous)
    n_missing: int

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @cached_property
    def _block_of(self) -> dict[str, tuple[int, ...]]:
        return dict(zip(self.variables, self.blocks, strict=True))

    @cached_property
    def spread(self) -> np.ndarray:
        """Standard deviation of every column, x.std(axis=0)."""
        return self.x.std(axis=0)

    def spread_of(self, cols: np.ndarray) -> np.ndarray | None:
        """x[:, cols].std(axis=0), the spread of a model's columns, taken from `spread`
        (computed once per design rather than once per fit), or None where that would
        not give the same bits. A column-major design (as `encode` and `take` make) has
        column-major copies of its columns, and numpy sums each column of those just as
        of the whole; a row-major one's copies may be laid out otherwise."""
        return self.spread[cols] if self.x.flags.f_contiguous else None

    def columns(self, variables: Sequence[str]) -> np.ndarray:
        """Constant plus the columns of `variables`, in that order."""
        block_of = self._block_of
        cols = [0]
        for v in variables:
            cols.extend(block_of[v])
        return np.asarray(cols, dtype=np.intp)

    def widths(self, variables: Sequence[str]) -> list[int]:
        """How many columns each of `variables` has."""
        block_of = self._block_of
        return [len(block_of[v]) for v in variables]

    def block(self, variable: str) -> tuple[int, ...]:
        return self.blocks[self.variables.index(variable)]

    def reference(self, variable: str) -> str | None:
        return self.references[self.variables.index(variable)]

    def restricted(self, variables: Sequence[str]) -> Design:
        """The design `encode` gives for `variables` (some of this design's, in any order)
        on a sample complete on all of this design's: the constant and their columns as
        they are, column-major as `encode` lays them out. Encoding the sample again
        costs more than taking the columns."""
        cols = self.columns(variables)
        blocks: list[tuple[int, ...]] = []
        at = 1
        for width in self.widths(variables):
            blocks.append(tuple(range(at, at + width)))
            at += width
        return Design(self.outcome, self.y, np.asfortranarray(self.x[:, cols]),
                      tuple(variables), tuple(blocks), tuple(self.labels[c] for c in cols),
                      tuple(self.reference(v) for v in variables), self.n_missing)

    def take(self, rows: np.ndarray) -> Design:
        """The design `encode` gives for the sample's cases at positions `rows` (a
        bootstrap resample, say), without going back to the data frame.

        As `encode` would, it drops the column of a level that no case in `rows` has,
        and refuses a reference level that none has. Encoding a resample from its frame
        costs more than fitting it, so resampling the design is what keeps a bootstrap
        of stepwise selection cheap.
        """
        rows = np.asarray(rows, dtype=np.intp)
        # The resample's columns as rows: gathered, tested and picked out in one call
        # each, where a loop over strided columns took as long as a selection's fits.
        xt = np.take(self.x.T, rows, axis=1)
        present = xt.any(axis=1).tolist()
        cases = xt.sum(axis=1).tolist()  # of each level (indicators are 0 or 1: exact)
        keep = [0]
        blocks: list[tuple[int, ...]] = []
        for v, block, ref in zip(self.variables, self.blocks, self.references, strict=True):
            start = len(keep)
            if ref is None:  # continuous
                keep.append(block[0])
            else:
                # Fewer cases at its other levels than cases in all: some are at the
                # reference level. Only otherwise look case by case.
                surely = sum(cases[c] for c in block) < len(rows)
                if len(rows) and not surely and not (xt[list(block)].sum(axis=0) == 0).any():
                    raise BulletinError(
                        f"logistic regression of {self.outcome!r}: reference level "
                        f"{ref!r} of {v!r} does not occur among the {len(rows)} cases used")
                keep.extend(c for c in block if present[c])
            blocks.append(tuple(range(start, len(keep))))
        if len(keep) != xt.shape[0]:
            xt = xt[keep]
        # xt is C-ordered, so its transpose is the column-major matrix `encode` makes.
        return Design(self.outcome, self.y[rows], xt.T, self.variables, tuple(blocks),
                      tuple(self.labels[c] for c in keep), self.references, 0)


def _is_missing(column: pd.Series) -> np.ndarray:
    return column.isna().to_numpy(dtype=bool)


def _levels_of(column: pd.Series) -> tuple[set[str], Callable[[str], np.ndarray]]:
    """The levels occurring in a categorical column (as text), and a function giving a
    level's 0/1 indicator. A pandas category is read from its codes: turning a large
    column of categories into text first took most of the time of encoding it."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        names = [str(c) for c in column.cat.categories]
        if len(set(names)) == len(names):
            codes = column.cat.codes.to_numpy()
            at = {name: i for i, name in enumerate(names)}
            observed = {names[i] for i in np.unique(codes[codes >= 0])}
            return observed, lambda level: (codes == at[level]).astype(float)
    values = column.astype(str)
    return set(values.unique()), lambda level: values.eq(level).to_numpy(dtype=float)


def encode(frame: pd.DataFrame, outcome: str, variables: Sequence[str],
           reference: Mapping[str, str], levels: Mapping[str, Sequence[str]] | None = None,
           ) -> Design:
    """Listwise deletion over outcome + variables, then indicator coding.

    A numeric column is continuous; any other column is categorical, coded as one
    indicator per level other than the reference. Levels are those occurring in the
    sample, in the order of `levels[var]` if given, otherwise sorted.
    """
    variables = tuple(variables)
    levels = levels or {}
    names = (outcome, *variables)
    absent = [v for v in names if v not in frame.columns]
    if absent:
        raise BulletinError(f"logistic regression: column(s) {absent} not in the data")
    if len(set(names)) != len(names):
        raise BulletinError(f"logistic regression: outcome and variables must be distinct "
                            f"(got outcome {outcome!r}, variables {list(variables)})")
    keep = np.ones(len(frame), dtype=bool)
    for v in names:
        keep &= ~_is_missing(frame[v])
    sample = frame.loc[keep, list(names)]
    n = int(keep.sum())
    if n == 0:
        raise BulletinError(f"logistic regression of {outcome!r}: no case has every one of "
                            f"{list(names)} recorded")
    try:
        y = sample[outcome].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise BulletinError(f"logistic regression: outcome {outcome!r} is not numeric",
                            ) from None
    odd = sorted({str(v) for v in y[(y != 0) & (y != 1)]})
    if odd:
        raise BulletinError(f"logistic regression: outcome {outcome!r} must be 0 or 1 "
                            f"(found {', '.join(odd[:5])})")

    coded: list[np.ndarray] = [np.ones(n)]
    blocks: list[tuple[int, ...]] = []
    labels: list[tuple[str, str | None]] = [(CONSTANT, None)]
    references: list[str | None] = []
    for v in variables:
        column = sample[v]
        start = len(coded)
        if pd.api.types.is_numeric_dtype(column.dtype):
            coded.append(column.to_numpy(dtype=float))
            labels.append((v, None))
            references.append(None)
            blocks.append((start,))
            continue
        observed, indicator = _levels_of(column)
        if v in levels:
            declared = [str(level) for level in levels[v]]
            unknown = sorted(observed - set(declared))
            if unknown:
                raise BulletinError(f"logistic regression: variable {v!r} has value(s) "
                                    f"{unknown} not among its levels {declared}")
            order = [level for level in declared if level in observed]
        else:
            order = sorted(observed)
        ref = reference.get(v, order[0])
        if ref not in order:
            raise BulletinError(f"logistic regression of {outcome!r}: reference level {ref!r} "
                                f"of {v!r} does not occur among the {n} cases used "
                                f"(levels found: {order})")
        for level in order:
            if level != ref:
                coded.append(indicator(level))
                labels.append((v, level))
        references.append(ref)
        blocks.append(tuple(range(start, len(coded))))
    # Column-major: a model's columns are then contiguous runs, cheap to gather and to
    # multiply (the inner loops of every fit and score test run down columns).
    x = np.empty((n, len(coded)), order="F")
    for j, column in enumerate(coded):
        x[:, j] = column
    return Design(outcome, y, x, variables, tuple(blocks), tuple(labels), tuple(references),
                  len(frame) - n)


# ----------------------------------------------------------------------------- fitting

#: A fit counts as converged only if the expected gain still available from another
#: Newton step, g'I^-1 g / 2 (the Newton decrement), and the last step's change in the
#: log-likelihood are both below this. Step size alone is no evidence: a step cut short
#: by halving is tiny however far the estimates are from the maximum.
GTOL = 1e-6
#: Sane bound on an estimate: |B| times its column's standard deviation. Beyond it the
#: odds ratio per standard deviation exceeds e^30, which only separation produces.
SANE_SCALED_B = 30.0
#: Step halvings before a Newton step is given up as unable to raise the likelihood.
HALVINGS = 10


@dataclass(frozen=True)
class Separation:
    """Cases whose outcome some combination of the model's columns predicts perfectly.

    `kind` is "complete" (every case) or "quasi-complete" (some cases, others on the
    boundary). `columns` index the fitted matrix's columns whose estimates run off to
    infinity; `cases` counts the cases predicted perfectly, `events` how many of those
    have outcome 1.
    """

    kind: str
    columns: tuple[int, ...]
    cases: int
    events: int


@dataclass(frozen=True, eq=False)
class Fit:
    """Maximum-likelihood estimates of one model on a design's sample."""

    beta: np.ndarray
    loglik: float
    info: np.ndarray  # X'WX at beta (the observed = expected information for the logit)
    cov: np.ndarray
    prob: np.ndarray
    converged: bool
    iterations: int
    separation: Separation | None = None
    problem: str = ""  # why the fit does not count as converged, in words ("" if it does)


def loglik(eta: np.ndarray, y: np.ndarray) -> float:
    # log(1 + e^eta) = max(eta, 0) + log1p(e^-|eta|), without overflow
    return float(y @ eta - np.maximum(eta, 0.0).sum() - np.log1p(np.exp(-np.abs(eta))).sum())


_POTRF, _POTRS = lapack.get_lapack_funcs(("potrf", "potrs"), (np.empty(1),))


def cho_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a^-1 b for a symmetric positive definite `a`, by Cholesky (np.linalg.LinAlgError
    if `a` is not positive definite).

    The very LAPACK calls `scipy.linalg.cho_solve(cho_factor(a))` makes, so the
    results are the same to the bit, without its argument checks: a bootstrap of
    stepwise selection makes hundreds of thousands of these small solves, and the
    checks cost more than the arithmetic.
    """
    c, info = _POTRF(a, lower=0, overwrite_a=0, clean=0)
    if info > 0:
        raise np.linalg.LinAlgError(f"{info}-th leading minor is not positive definite")
    x, info = _POTRS(c, b, lower=0, overwrite_b=0)
    if info != 0:
        raise ValueError(f"LAPACK potrs: illegal value in argument {-info}")
    return x


def _solve(info: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        return cho_solve(info, rhs)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(info, rhs, rcond=None)[0]


def _information(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    info = (x * w[:, None]).T @ x
    return (info + info.T) / 2.0


def find_separation(x: np.ndarray, y: np.ndarray, tol: float = 1e-6) -> Separation | None:
    """Is there a direction b with s_i x_i'b >= 0 for every case (s_i = +1 for an event,
    -1 otherwise) and > 0 for some? Then the likelihood keeps rising along b and the
    maximum-likelihood estimates do not exist (Albert and Anderson 1984).

    Solved as Konis's (2007) linear programme: maximise sum_i s_i x_i'b subject to
    s_i x_i'b >= 0 and -1 <= b_j <= 1, on columns scaled to a maximum of 1 and with
    duplicate rows merged. Only called for fits that did not converge cleanly, so the
    cost of importing the solver is not paid on ordinary data.
    """
    from scipy.optimize import linprog

    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    signed = (x / scale) * np.where(y > 0.5, 1.0, -1.0)[:, None]
    rows, counts = np.unique(signed, axis=0, return_counts=True)
    res = linprog(-(counts @ rows), A_ub=-rows, b_ub=np.zeros(len(rows)),
                  bounds=[(-1.0, 1.0)] * x.shape[1], method="highs")
    if res.status != 0 or res.x is None:
        return None
    margin = signed @ res.x
    perfect = margin > tol
    if not perfect.any():
        return None
    columns = tuple(int(j) for j in np.flatnonzero(np.abs(res.x) > tol))
    # Complete separation if some b gives every case a positive margin: maximise the
    # smallest margin t (variables b, t; t <= 1).
    k = x.shape[1]
    whole = linprog(np.r_[np.zeros(k), -1.0], A_ub=np.c_[-rows, np.ones(len(rows))],
                    b_ub=np.zeros(len(rows)), bounds=[(-1.0, 1.0)] * k + [(None, 1.0)],
                    method="highs")
    if whole.status == 0 and whole.x is not None and whole.x[-1] > tol:
        b = whole.x[:k]
        return Separation("complete", tuple(int(j) for j in np.flatnonzero(np.abs(b) > tol)),
                          int(len(y)), int(y.sum()))
    return Separation("quasi-complete", columns, int(perfect.sum()), int(y[perfect].sum()))


def _newton_run(x: np.ndarray, y: np.ndarray, beta: np.ndarray, iterate: int,
                at: tuple[np.ndarray, float] | None = None,
                ) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray, int, bool, bool]:
    """Newton-Raphson with step halving from `beta` (`at`: x @ beta and the
    log-likelihood there, if already known).

    Returns (beta, loglik, last change in loglik, info, prob, iterations,
    polished, stalled): polished when the last step changed no estimate by more
    than POLISH (relative), stalled when a step could not raise the likelihood.
    """
    if at is None:
        eta = x @ beta
        ll = loglik(eta, y)
    else:
        eta, ll = at
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
            spread: np.ndarray | None = None,
            ) -> tuple[np.ndarray, bool, str, Separation | None]:
    """Covariance, and whether the estimates may be reported as a converged fit
    (`spread`: the columns' standard deviations, x.std(axis=0), if already known)."""
    k = x.shape[1]
    cov = _solve(info, np.eye(k))
    if not (np.isfinite(beta).all() and math.isfinite(ll)):
        return cov, False, "the estimates are not finite", None
    score = x.T @ (y - prob)
    decrement = float(score @ _solve(info, score))
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    if spread is None:
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
           iterate: int = ITERATE, alternatives: Sequence[np.ndarray] = (),
           spread: np.ndarray | None = None) -> Fit:
    """Newton-Raphson with step halving; never raises on separation or singularity.

    A warm `start` is used only if it is finite and no worse than the intercept-only
    model's likelihood; otherwise, or if the fit from it does not converge, the fit is
    repeated from each of `alternatives` and from zero, and the best likelihood kept.
    Convergence is judged on the score and the change in likelihood, and a fit whose
    data separate is never reported as converged: on separated data the estimates run
    off to infinity, the fit stops at `iterate` steps with converged=False (as SPSS
    does) and `separation` says which columns separate which cases. `spread` may give
    x.std(axis=0), which a caller fitting many models on one design computes once.
    """
    best: Fit | None = None
    for s, at in _starts(x, y, start, alternatives):
        beta, ll, gain, info, prob, iterations, polished, stalled = \
            _newton_run(x, y, s, iterate, at)
        cov, converged, problem, separation = _assess(x, y, beta, ll, gain, info, prob,
                                                      polished, stalled, spread)
        fit = Fit(beta, ll, info, cov, prob, converged, iterations, separation, problem)
        if best is None or (fit.converged, fit.loglik) > (best.converged, best.loglik):
            best = fit
        if converged or separation is not None:
            break
    assert best is not None
    return best


def _starts(x: np.ndarray, y: np.ndarray, start: np.ndarray | None,
            alternatives: Sequence[np.ndarray],
            ) -> Iterator[tuple[np.ndarray, tuple[np.ndarray, float] | None]]:
    """The starts `newton` tries, in order, each with x @ start and the log-likelihood
    there (None for the zero start): the given ones that are finite and no worse than
    the intercept-only model, then zero. A start is checked only when the fits before
    it did not converge, and its check is where its fit begins."""
    floor = null_loglik(y)
    for s in (start, *alternatives):
        if s is None:
            continue
        s = np.asarray(s, dtype=float)
        if np.isfinite(s).all():
            eta = x @ s
            ll = loglik(eta, y)
            if ll >= floor - 1e-9 * abs(floor):
                yield s.copy(), (eta, ll)
    yield _null_start(x.shape[1]), None


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


#: Reduced models bounded together by `loglik_ceilings`: their cases-long rows stay a
#: couple of megabytes at 200,000 cases, and each product reads the design once a batch.
BATCH = 8


def loglik_ceilings(x: np.ndarray, y: np.ndarray, prob: np.ndarray, weights: np.ndarray,
                    models: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                    ) -> list[float | None]:
    """Upper bounds on the maximum log-likelihood of models on subsets of the columns of
    `x`, all from one fit on every column (at its maximum: probabilities `prob`, weights
    `weights`, information X'WX), without a pass over the cases at each model's own
    estimates. None where a bound cannot be formed.

    Each model is (cols, delta, beta): its columns, and the change from the fit to its
    estimates b1 + I11^-1 I12 b2 on every column of `x`, as `beta + delta[cols]`, where
    delta is I11^-1 I12 b2 on the kept columns and -b2 on the dropped ones. The bound is
    the dual one of `loglik_bracket` (for any p in [0, 1], max ll <= sum p log p +
    (1 - p) log(1 - p) + X1'(y - p) b*), taken at the fit's probabilities moved to first
    order, p + W X delta: the fit's score is zero, and I11 delta1 + I12 delta2 = 0, so
    X1'(y - p) is zero but for rounding and the probabilities are near the reduced
    model's own. What rounding leaves of X1'(y - p) is allowed for as in
    `loglik_bracket`. Far from the reduced model's maximum (a variable with a large
    effect) the bound is looser but still holds; removal checks use it only to settle
    that a variable stays, and test whatever it does not settle as before.
    """
    out: list[float | None] = []
    k = x.shape[1]
    xt = x.T  # models by cases, each row contiguous: products and sums run along rows
    for first in range(0, len(models), BATCH):
        batch = models[first:first + BATCH]
        moves = np.zeros((len(batch), k))
        for i, (_, delta, _) in enumerate(batch):
            moves[i] = delta
        moved = moves @ xt
        moved *= weights
        moved += prob
        usable = np.isfinite(moved).all(axis=1)
        usable &= (moved.min(axis=1) >= 0.0) & (moved.max(axis=1) <= 1.0)
        upper = _entropy_sums(moved)
        np.subtract(y, moved, out=moved)
        residual = np.abs(moved @ x)
        for i, (cols, delta, beta) in enumerate(batch):
            u = float(upper[i])
            if not (usable[i] and math.isfinite(u)):
                out.append(None)
                continue
            reach = np.abs(beta + delta[cols]) + np.abs(delta[cols]) + 1.0
            out.append(u + 2.0 * float(residual[i, cols] @ reach) + 1e-9 * abs(u))
    return out


def _entropy_sums(p: np.ndarray) -> np.ndarray:
    """Row sums of p log p + (1 - p) log(1 - p) for p in [0, 1] (0 log 0 = 0)."""
    logs = np.zeros_like(p)
    np.log(p, out=logs, where=p > 0.0)
    total = np.einsum("ij,ij->i", p, logs)
    q = 1.0 - p
    logs.fill(0.0)
    np.log(q, out=logs, where=q > 0.0)
    return total + np.einsum("ij,ij->i", q, logs)


def null_loglik(y: np.ndarray) -> float:
    """Log-likelihood of the constant-only model, which has a closed form."""
    n1 = float(y.sum())
    n0 = float(y.shape[0]) - n1
    return sum(c * math.log(c / (n0 + n1)) for c in (n0, n1) if c > 0)


# ----------------------------------------------------------------------------- reporting


@dataclass(frozen=True)
class Term:
    """One coefficient: a continuous variable, or one level against the reference."""

    variable: str
    level: str | None
    b: float
    se: float
    wald: float
    df: int
    p: float
    odds_ratio: float
    ci_low: float
    ci_high: float
    stars: str


@dataclass(frozen=True)
class Block:
    """Joint Wald test of a categorical variable's coefficients (its reference row)."""

    variable: str
    reference: str
    wald: float
    df: int
    p: float
    stars: str


@dataclass(frozen=True)
class Constant:
    b: float
    se: float
    wald: float
    df: int
    p: float
    odds_ratio: float


@dataclass(frozen=True)
class FittedModel:
    """A fitted model as a value: everything needed to summarise, test and export it."""

    outcome: str
    n: int
    n_events: int
    n_missing: int
    variables: tuple[str, ...]
    terms: tuple[Term, ...]
    blocks: tuple[Block, ...]
    constant: Constant
    chi_square: float
    chi_square_df: int
    chi_square_p: float
    minus2ll: float
    cox_snell_r2: float
    nagelkerke_r2: float
    converged: bool
    iterations: int
    notes: tuple[str, ...] = ()  # why the fit is not to be trusted (separation, no convergence)

    def summary(self) -> str:
        return format_model(self)

    def to_frame(self) -> pd.DataFrame:
        return model_frame(self)


def _safe_exp(value: float) -> float:
    return math.exp(value) if value < 709.0 else math.inf


def _wald_p(wald: float, df: int) -> float:
    return chi2_sf(wald, df) if math.isfinite(wald) else math.nan


def report(design: Design, variables: Sequence[str], fit: Fit) -> FittedModel:
    """Turn a fit of `variables` (columns as in `design.columns(variables)`) into a value."""
    variables = tuple(variables)
    cols = design.columns(variables)
    beta = fit.beta
    se = np.sqrt(np.clip(np.diag(fit.cov), 0.0, None))
    terms: list[Term] = []
    blocks: list[Block] = []
    pos = 1
    for v in variables:
        width = len(design.block(v))
        here = slice(pos, pos + width)
        ref = design.reference(v)
        if ref is not None and width:
            b = beta[here]
            try:
                wald = float(b @ np.linalg.solve(fit.cov[here, here], b))
            except np.linalg.LinAlgError:
                wald = math.nan
            p = _wald_p(wald, width)
            blocks.append(Block(v, ref, wald, width, p, stars(p)))
        for j in range(pos, pos + width):
            b, s = float(beta[j]), float(se[j])
            wald = (b / s) ** 2 if s > 0 else math.nan
            p = _wald_p(wald, 1)
            terms.append(Term(v, design.labels[cols[j]][1], b, s, wald, 1, p, _safe_exp(b),
                              _safe_exp(b - Z95 * s), _safe_exp(b + Z95 * s), stars(p)))
        pos += width
    b0, s0 = float(beta[0]), float(se[0])
    wald0 = (b0 / s0) ** 2 if s0 > 0 else math.nan
    constant = Constant(b0, s0, wald0, 1, _wald_p(wald0, 1), _safe_exp(b0))
    ll0 = null_loglik(design.y)
    n = design.n
    lr = max(2.0 * (fit.loglik - ll0), 0.0)
    df = len(cols) - 1
    cox_snell = 1.0 - math.exp(-lr / n)
    ceiling = 1.0 - math.exp(2.0 * ll0 / n)
    return FittedModel(
        outcome=design.outcome, n=n, n_events=int(design.y.sum()), n_missing=design.n_missing,
        variables=variables, terms=tuple(terms), blocks=tuple(blocks), constant=constant,
        chi_square=lr, chi_square_df=df, chi_square_p=chi2_sf(lr, df) if df else 1.0,
        minus2ll=-2.0 * fit.loglik, cox_snell_r2=cox_snell,
        nagelkerke_r2=cox_snell / ceiling if ceiling > 0 else math.nan,
        converged=fit.converged, iterations=fit.iterations,
        notes=fit_notes(design, variables, fit),
    )


def model_name(variables: Sequence[str]) -> str:
    return "{" + (", ".join(variables) or "constant only") + "}"


def fit_notes(design: Design, variables: Sequence[str], fit: Fit) -> tuple[str, ...]:
    """Plain-words notes on a fit that is not to be trusted: which variable and level
    separate the outcome, or why the estimates did not converge."""
    if fit.converged:
        return ()
    cols = design.columns(variables)
    name = model_name(variables)
    sep = fit.separation
    if sep is None:
        return (f"the fit of {name} did not converge in {fit.iterations} iterations "
                f"({fit.problem or 'no reason recorded'})",)
    by = [f"{v} = {level}" if level is not None else v
          for v, level in (design.labels[cols[j]] for j in sep.columns if j != 0)]
    what = ("every case has the same outcome" if not by else
            f"{' and '.join(by)} predict{'s' if len(by) == 1 else ''} the outcome of "
            f"{sep.cases} of {design.n} cases perfectly ({sep.events} with outcome 1)")
    return (f"{sep.kind} separation in {name}: {what}; maximum-likelihood estimates do "
            f"not exist and the fit did not converge (stopped after {fit.iterations} "
            f"iterations)",)


def fit_logit(frame: pd.DataFrame, outcome: str, variables: Sequence[str],
              reference: Mapping[str, str], levels: Mapping[str, Sequence[str]] | None = None,
              ) -> FittedModel:
    """Fit one fixed model on the cases complete in `outcome` and `variables`."""
    design = encode(frame, outcome, variables, reference, levels)
    fit = newton(design.x, design.y)
    return report(design, design.variables, fit)


# ----------------------------------------------------------------------------- output

FRAME_COLUMNS = ("variable", "level", "reference", "b", "se", "wald", "df", "p",
                 "odds_ratio", "ci_low", "ci_high", "stars")


def model_frame(model: FittedModel) -> pd.DataFrame:
    """The 'Variables in the Equation' table: block rows, level rows, then the constant."""
    rows: list[dict[str, object]] = []
    blocks = {b.variable: b for b in model.blocks}
    for v in model.variables:
        block = blocks.get(v)
        if block is not None:
            rows.append(dict(variable=v, level=None, reference=block.reference,
                             wald=block.wald, df=block.df, p=block.p, stars=block.stars))
        for t in model.terms:
            if t.variable == v:
                rows.append(dict(variable=v, level=t.level,
                                 reference=block.reference if block else None, b=t.b,
                                 se=t.se, wald=t.wald, df=t.df, p=t.p,
                                 odds_ratio=t.odds_ratio, ci_low=t.ci_low,
                                 ci_high=t.ci_high, stars=t.stars))
    c = model.constant
    rows.append(dict(variable=CONSTANT, level=None, reference=None, b=c.b, se=c.se,
                     wald=c.wald, df=c.df, p=c.p, odds_ratio=c.odds_ratio,
                     stars=stars(c.p)))
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


def _num(value: object, fmt: str) -> str:
    return "" if pd.isna(value) else format(value, fmt)


def _sig(p: object) -> str:
    if pd.isna(p):
        return ""
    return f"{p:.3f}".lstrip("0") if p < 1 else "1.000"


def format_model(model: FittedModel) -> str:
    """A plain-text table laid out like SPSS's 'Variables in the Equation'."""
    frame = model_frame(model)
    head = (f"{'':<36}{'B':>9}{'S.E.':>9}{'Wald':>10}{'df':>4}{'Sig.':>7}{'Exp(B)':>9}"
            f"{'95% CI Exp(B)':>19}")
    lines = [f"Logistic regression of {model.outcome}: n = {model.n} "
             f"({model.n_events} events, {model.n_missing} cases dropped as incomplete)",
             "", "Variables in the Equation", head, "-" * len(head)]
    for row in frame.itertuples(index=False):
        if not pd.isna(row.level):
            name = f"  {row.variable}({row.level})"
        elif not pd.isna(row.reference):
            name = f"{row.variable} [ref: {row.reference}]"
        else:
            name = str(row.variable)
        ci = f"{_num(row.ci_low, '9.3f')}{_num(row.ci_high, '10.3f')}"
        lines.append(f"{name[:36]:<36}{_num(row.b, '9.3f'):>9}{_num(row.se, '9.3f'):>9}"
                     f"{_num(row.wald, '10.3f'):>10}{row.df:>4}{_sig(row.p):>7}"
                     f"{_num(row.odds_ratio, '9.3f'):>9}{ci:>19}  {row.stars}".rstrip())
    lines += ["",
              f"-2 Log likelihood {model.minus2ll:.3f}; Cox & Snell R Square "
              f"{model.cox_snell_r2:.3f}; Nagelkerke R Square {model.nagelkerke_r2:.3f}",
              f"Model chi-square {model.chi_square:.3f}, df {model.chi_square_df}, "
              f"Sig. {_sig(model.chi_square_p)}",
              f"Estimation {'converged' if model.converged else 'did NOT converge'} "
              f"after {model.iterations} iteration(s)"]
    lines += [f"Note: {note}" for note in model.notes]
    return "\n".join(lines)
