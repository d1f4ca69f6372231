"""Forward stepwise logistic regression with SPSS's METHOD=FSTEP rules.

The published models were selected this way, so each rule follows SPSS's
LOGISTIC REGRESSION (see docs/stepwise.md): entry by the smallest score-test
p-value below PIN, a categorical variable entering and leaving as one block, a
removal check after every entry (largest p above POUT leaves, repeated until none
does), and a stop when nothing qualifies or a step would bring back a model already
seen. Every step uses the same sample: cases complete on the outcome and on every
candidate.

Speed comes from computing the score test of every candidate from the one current
fit (a single weighted cross-product of the whole design per step) rather than
refitting per candidate, and from starting every fit at the previous estimates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bulletin.analysis.logit import (
    EPS,
    Block,
    Constant,
    Design,
    Fit,
    FittedModel,
    Term,
    chi2_logsf,
    cho_solve,
    encode,
    fit_logit,
    fit_notes,
    format_model,
    loglik,
    loglik_bracket,
    loglik_ceilings,
    model_name,
    newton,
    report,
)
from bulletin.distributions import chi2_sf, chi2_sf_array
from bulletin.errors import BulletinError

__all__ = ["ScoreTest", "Step", "StepwiseResult", "fit_logit", "forward_stepwise",
           "score_tests", "select", "selected_variables"]

REMOVAL_TESTS = ("lr", "wald", "conditional")
#: Below this a p-value may have lost precision (subnormal numbers start at 2.2e-308);
#: entry ranks such candidates by log p alone.
TINY_P = 1e-280


@dataclass(frozen=True)
class Step:
    """One change to the model: a variable entered (score test) or removed."""

    number: int
    action: str  # "entered" or "removed"
    variable: str
    test: str  # "score", "lr", "wald" or "conditional"
    statistic: float
    df: int
    p: float


@dataclass(frozen=True)
class ScoreTest:
    """Score test of adding one candidate to the current model ('Variables not in
    the Equation'); a candidate whose columns are redundant given the model is singular."""

    variable: str
    statistic: float
    df: int
    p: float
    singular: bool
    rank: int = -1  # columns not redundant given the model (df when not singular)

    @property
    def log_p(self) -> float:
        """log p, finite where p underflows: entry ranks the eligible candidates by it
        (computed only for them: a bootstrap makes thousands of score tests)."""
        return math.nan if self.singular else chi2_logsf(self.statistic, self.df)


@dataclass(frozen=True)
class StepwiseResult:
    """The selection path and the final model, as one value."""

    outcome: str
    n: int
    selected: tuple[str, ...]  # final model's variables, in entry order
    steps: tuple[Step, ...]
    model: FittedModel
    not_selected: tuple[ScoreTest, ...]  # score tests at the final model
    stop_reason: str
    converged: bool  # every fit on the path converged
    notes: tuple[str, ...]

    @property
    def terms(self) -> tuple[Term, ...]:
        return self.model.terms

    @property
    def blocks(self) -> tuple[Block, ...]:
        return self.model.blocks

    @property
    def constant(self) -> Constant:
        return self.model.constant

    @property
    def chi_square(self) -> float:
        return self.model.chi_square

    @property
    def chi_square_df(self) -> int:
        return self.model.chi_square_df

    @property
    def chi_square_p(self) -> float:
        return self.model.chi_square_p

    @property
    def minus2ll(self) -> float:
        return self.model.minus2ll

    @property
    def cox_snell_r2(self) -> float:
        return self.model.cox_snell_r2

    @property
    def nagelkerke_r2(self) -> float:
        return self.model.nagelkerke_r2

    def to_frame(self) -> pd.DataFrame:
        return self.model.to_frame()

    def _repr_html_(self) -> str:
        """The coefficients table in a notebook, headed by the model's fit."""
        return (f"<p>Forward stepwise logistic regression for <code>{self.outcome}</code>, "
                f"n = {self.n:,}; -2LL {self.minus2ll:.3f}, Nagelkerke R\u00b2 "
                f"{self.nagelkerke_r2:.3f}</p>" + self.to_frame().to_html())

    def steps_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(s) for s in self.steps],
                            columns=["number", "action", "variable", "test", "statistic",
                                     "df", "p"])

    def summary(self) -> str:
        lines = [f"Forward stepwise selection for {self.outcome} (n = {self.n})", "",
                 f"{'Step':>4}  {'Action':<8} {'Variable':<32}{'Test':<12}{'Statistic':>10}"
                 f"{'df':>4}{'Sig.':>8}"]
        for s in self.steps:
            lines.append(f"{s.number:>4}  {s.action:<8} {s.variable[:31]:<32}{s.test:<12}"
                         f"{s.statistic:>10.3f}{s.df:>4}{s.p:>8.4f}")
        lines += [f"Stopped: {self.stop_reason}", ""]
        lines += [format_model(self.model)]
        if self.not_selected:
            lines += ["", "Variables not in the Equation (score tests)"]
            for t in self.not_selected:
                mark = "  (redundant)" if t.singular else ""
                lines.append(f"  {t.variable[:34]:<34}{t.statistic:>10.3f}{t.df:>4}"
                             f"{t.p:>8.4f}{mark}")
        if self.notes:
            lines += ["", "Notes:"] + [f"  - {note}" for note in self.notes]
        return "\n".join(lines)


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
    outside = design.columns(candidates)[1:]
    widths = design.widths(candidates)
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
    # As Python values, read one at a time below (the same values as the arrays').
    testable1 = ((centred > 0) & (tolerance1 >= EPS)).tolist()
    stats1, ps1 = stat1.tolist(), p1.tolist()
    tests: list[ScoreTest] = []
    pos = 0
    for v, df in zip(candidates, widths, strict=True):
        if df == 1:
            if testable1[pos]:
                tests.append(ScoreTest(v, max(stats1[pos], 0.0), 1, ps1[pos], False, 1))
            else:
                tests.append(ScoreTest(v, math.nan, 1, math.nan, True, 0))
            pos += 1
            continue
        j = slice(pos, pos + df)
        pos += df
        scale = centred[j]
        # rank: how many of the block's columns are not redundant given the model (a
        # column constant over the sample is redundant with the model's constant)
        varies = scale > 0
        rank = 0
        if varies.any():
            every = varies.all()  # as a rule; then no columns need picking out
            s = 1.0 / np.sqrt(scale if every else scale[varies])
            gjj = g[j, j] if every else g[j, j][np.ix_(varies, varies)]
            gjj = gjj * s[:, None] * s[None, :]
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
        fit = newton(self.design.x[:, cols], self.design.y, start, alternatives=alternatives,
                     spread=self.design.spread_of(cols))
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

        The bounds hold at any estimates. At a converged fit every variable is first
        bounded from the fit alone, all together (`_settled`, `loglik_ceilings`): on
        large samples that settles nearly all of them for the cost of two products of
        the design. A variable not settled there is tried at a start solved by Cholesky,
        a fraction of the cost of the least-squares start below. Only a variable that is
        not settled either gets that start, its bounds and its refit, so what might
        leave is tested exactly as always.
        """
        out = []
        fit = state.fit
        design = self.design
        cols = design.columns(state.variables)
        bounded = self.removal == "lr" and pout > 0
        weights = fit.prob * (1.0 - fit.prob) if bounded else None
        every = np.arange(len(fit.beta))
        widths = design.widths(state.variables)
        # Bounds from the fit alone need it at its maximum; any other fit's variables are
        # tested one by one below.
        settled = self._settled(state, cols, widths, weights, pout) \
            if bounded and fit.converged else {}
        at = 1
        for v, df in zip(state.variables, widths, strict=True):
            j = every[at:at + df]  # the variable's places among the model's columns
            keep = np.concatenate((every[:at], every[at + df:]))  # and the others'
            at += df
            if v in settled:
                least, p, quick = settled[v]
                out.append((v, least, df, p, None, quick))
                continue
            reduced: Fit | None = None
            # The reduced model's estimates approximated from the current fit
            # (b1 + I11^-1 I12 b2): SPSS's conditional statistic uses them as they are,
            # the likelihood-ratio test starts its refit there.
            kept = fit.info[keep]  # rows, then columns: cheaper than np.ix_, same values
            info_kept = kept[:, keep]
            shift = kept[:, j] @ fit.beta[j]
            # the columns of the model without v, for the bounds and the conditional test
            x_rest = design.x[:, cols[keep]] if self.removal != "wald" else design.x[:, :0]
            if bounded:
                try:
                    quick = fit.beta[keep] + cho_solve(info_kept, shift)
                except np.linalg.LinAlgError:
                    quick = None
                stays = None if quick is None else \
                    self._stays(fit, x_rest, quick, weights, info_kept, df, pout)
                if stays is not None:
                    out.append((v, *stays, None, quick))
                    continue
            start = fit.beta[keep] + np.linalg.lstsq(info_kept, shift, rcond=None)[0]
            if self.removal == "lr":
                stays = self._stays(fit, x_rest, start, weights, info_kept, df, pout) \
                    if bounded else None
                if stays is not None:
                    out.append((v, *stays, None, start))
                    continue
                rest = [u for u in state.variables if u != v]
                reduced = self.fit(rest, start, alternatives=(fit.beta[keep],))
                stat = 2.0 * (fit.loglik - reduced.loglik)
            elif self.removal == "wald":
                b = fit.beta[j]
                stat = float(b @ np.linalg.lstsq(fit.cov[np.ix_(j, j)], b, rcond=None)[0])
            else:
                stat = 2.0 * (fit.loglik - loglik(x_rest @ start, design.y))
            stat = max(float(stat), 0.0) if math.isfinite(stat) else math.inf
            out.append((v, stat, df, chi2_sf(stat, df), reduced, start))
        return out

    def _settled(self, state: _State, cols: np.ndarray, widths: Sequence[int],
                 weights: np.ndarray, pout: float,
                 ) -> dict[str, tuple[float, float, np.ndarray]]:
        """The variables that certainly stay, each with (least statistic, its p, the
        start for a refit): every variable's reduced model bounded together from the
        current fit (`loglik_ceilings`), at its approximate estimates solved by
        Cholesky, without a pass over the cases at each."""
        fit = state.fit
        every = np.arange(len(fit.beta))
        models: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        names: list[tuple[str, int, np.ndarray]] = []
        at = 1
        for v, df in zip(state.variables, widths, strict=True):
            j = every[at:at + df]
            keep = np.concatenate((every[:at], every[at + df:]))
            at += df
            kept = fit.info[keep]  # rows, then columns: cheaper than np.ix_, same values
            try:
                shift = cho_solve(kept[:, keep], kept[:, j] @ fit.beta[j])
            except np.linalg.LinAlgError:
                continue
            if not np.isfinite(shift).all():
                continue
            delta = np.zeros(len(fit.beta))
            delta[keep] = shift
            delta[j] = -fit.beta[j]
            models.append((keep, delta, fit.beta[keep]))
            names.append((v, df, fit.beta[keep] + shift))
        if not models:
            return {}
        ceilings = loglik_ceilings(self.design.x[:, cols], self.design.y, fit.prob, weights,
                                   models)
        settled = {}
        for (v, df, quick), ceiling in zip(names, ceilings, strict=True):
            if ceiling is not None:
                least = max(2.0 * (fit.loglik - ceiling), 0.0)
                p = chi2_sf(least, df)
                if p < pout:
                    settled[v] = (least, p, quick)
        return settled

    def _stays(self, fit: Fit, x_rest: np.ndarray, start: np.ndarray, weights: np.ndarray,
               info_kept: np.ndarray, df: int, pout: float) -> tuple[float, int, float] | None:
        """(least statistic, df, its p) if the bounds of `loglik_bracket` at `start` on
        the reduced model's columns `x_rest` settle that the variable stays (its p is
        below `pout` even at the least statistic they allow), else None."""
        if not np.isfinite(start).all():
            return None
        bounds = loglik_bracket(x_rest, self.design.y, start, weights, info_kept)
        if bounds is None:
            return None
        least = max(2.0 * (fit.loglik - bounds[1]), 0.0)
        p = chi2_sf(least, df)
        return (least, df, p) if p < pout else None


def forward_stepwise(frame: pd.DataFrame, outcome: str, candidates: Sequence[str],
                     reference: Mapping[str, str], pin: float = 0.05, pout: float = 0.10,
                     removal: str = "lr", levels: Mapping[str, Sequence[str]] | None = None,
                     ) -> StepwiseResult:
    """Select a logistic model for `outcome` from `candidates` as SPSS FSTEP would.

    `removal` is the test for leaving the model: "lr" (likelihood ratio, refitting
    without the variable; SPSS FSTEP(LR)), "wald" (FSTEP(WALD)) or "conditional"
    (FSTEP(COND): the likelihood ratio at estimates derived from the current fit).
    """
    _check_rules(pin, pout, removal)
    return select(encode(frame, outcome, candidates, reference, levels), pin, pout, removal)


def _check_rules(pin: float, pout: float, removal: str) -> None:
    if removal not in REMOVAL_TESTS:
        raise BulletinError(f"stepwise selection: removal test {removal!r} is not one of "
                            f"{', '.join(REMOVAL_TESTS)}")
    for name, value in (("PIN", pin), ("POUT", pout)):
        if not 0.0 < value <= 1.0:
            raise BulletinError(f"stepwise selection: {name} must be in (0, 1], got {value}")


def select(design: Design, pin: float = 0.05, pout: float = 0.10, removal: str = "lr",
           ) -> StepwiseResult:
    """`forward_stepwise` on a sample already encoded (every candidate in `design`)."""
    selector, state, steps, stop = _path(design, pin, pout, removal)
    return _result(design, selector, state, steps, stop)


def selected_variables(design: Design, pin: float = 0.05, pout: float = 0.10,
                       removal: str = "lr") -> tuple[str, ...]:
    """Only the variables `select` would select, in entry order: the bootstrap reruns
    selection hundreds of times on resampled designs (`Design.take`) and needs no more,
    so the final model's report and score tests are not made."""
    return tuple(_path(design, pin, pout, removal)[1].variables)


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
        best = _most_significant(eligible)
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


def _most_significant(eligible: Sequence[ScoreTest]) -> ScoreTest:
    """The candidate with the smallest log p (the first in candidate order on ties).

    log p costs far more than p, so it is computed only for the candidates whose p is
    within a factor of two of the smallest: any other's log p exceeds the smallest's by
    about log 2, far beyond the rounding of either, so it could not be chosen. Where the
    smallest p is so small that it has lost precision or underflowed to 0, every
    candidate's log p is computed.
    """
    least = min(t.p for t in eligible)
    contenders = eligible if least < TINY_P else [t for t in eligible if t.p <= 2.0 * least]
    if len(contenders) == 1:
        return contenders[0]
    return min(contenders, key=lambda t: t.log_p)  # min keeps candidate order on ties


def _result(design: Design, selector: _Selector, state: _State, steps: list[Step],
            stop: str) -> StepwiseResult:
    """The final model reported, with the score tests of the variables left out."""
    outside = [v for v in design.variables if v not in state.variables]
    final = score_tests(design, state.variables, state.fit, outside)
    for t in final:
        if t.singular and 0 < t.rank < t.df:
            selector.notes.append(
                f"{t.variable} is partly redundant given the final model (only {t.rank} "
                f"of its {t.df} columns are not); as a block it enters whole or not at "
                "all, so it was not tested for entry")
        elif t.singular:
            selector.notes.append(f"{t.variable} is redundant given the final model "
                                  "and could not be tested for entry")
    model = report(design, state.variables, state.fit)
    notes = [*selector.notes, *(n for n in model.notes if n not in selector.notes)]
    return StepwiseResult(design.outcome, design.n, tuple(state.variables), tuple(steps), model,
                          final, stop, selector.converged and model.converged, tuple(notes))
