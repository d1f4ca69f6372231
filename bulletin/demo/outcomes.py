"""The inspectors' judgements: one linear program per judgement, then rounding.

For each judgement, y (the chance of yes for each case that has the judgement) solves a
linear program:

* every published cell count (and the judgement's total) holds;
* on the listwise sample of the published model, the one-step estimate
  beta + A^-1 X'(y - p) of every coefficient (p at the published coefficients) stays
  within a small fraction of its published SE, so the maximum-likelihood estimate lands
  near the published value;
* the efficient score of every other candidate column, (z - X A^-1 X'W z)'(y - p), stays
  within a fraction of its standard deviation, so no other variable qualifies for entry
  at the published model;
* outside the listwise sample, each question's gap in yes rates (answer yes minus answer
  no) stays near the gap inside it, so the excluded cases look like the rest;
* for a year derived from a base year (no published cells), each base-year sub-group's
  yes count near a drawn target: a soft band whose slack costs more than any case's
  distance from the draw;
* among all such y, the one closest to a draw from the published model, which keeps the
  rest of the joint structure (judgements correlated with each other and with the
  covariates) realistic.

The solution is rounded keeping the total; the few cells rounding puts off by one or two
are made exact afterwards by `repair`. HiGHS solves the programs to optimality (no time
limit), so every machine gets the same answer.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.special import expit
from scipy.stats import norm

from bulletin.demo.design import (
    CANDIDATES,
    PublishedModel,
    Term,
    analysis_values,
    column,
    complete_mask,
    terms_of,
)
from bulletin.demo.population import CASELOAD_BANDS, QUESTIONS, Population, rng_for
from bulletin.demo.significance import coefficient_targets
from bulletin.demo.spec import Bounds, YearSpec
from bulletin.demo.targets import JUDGED_IN, JUDGEMENTS, Targets
from bulletin.schema import NO, NOT_APPLICABLE, YES

CORRELATION = 0.6  # latent correlation of successive judgements of one case
SOFT_PENALTY = 4.0  # cost of one case outside a soft sub-group band (a case's own cost <= 1)
# Careful rounding: prices per squared unit (a published SE of an own coefficient's move,
# a case off a published cell count, a score SD of another candidate, a point of gap).
OWN_WEIGHT, CELL_WEIGHT, OTHER_WEIGHT, GAP_WEIGHT = 2000.0, 1.0, 1.0, 1.0
ROOM_REF = 0.2  # terms with less room than this (SEs to a limit) weigh up to 100 times more
ROUNDING_SWAPS = 400  # most swaps while rounding (each must lower the cost)


def caseload_band(caseload: np.ndarray) -> np.ndarray:
    out = np.full(len(caseload), "", dtype=object)
    for i, v in enumerate(caseload):
        if v != "":
            x = int(v)
            for label, lo, hi in CASELOAD_BANDS:
                if lo <= x <= hi:
                    out[i] = label
    return out


def _design(vals: dict[str, np.ndarray], terms: list[Term]) -> np.ndarray:
    return np.column_stack([column(vals, t) for t in terms] + [np.ones(len(vals["caseload"]))])


class JudgementProgram:
    """The integer program of one judgement, kept as arrays so it can be inspected."""

    def __init__(self, pop: Population, t: Targets, judgement: str, model: PublishedModel,
                 bounds: Bounds) -> None:
        self.judgement = judgement
        self.bounds = bounds
        vals = analysis_values(pop.cols)
        vals["caseload_band"] = caseload_band(pop.cols["caseload"])
        judged = pop.interviewed & np.isin(pop.cls, JUDGED_IN[judgement])
        self.rows = np.flatnonzero(judged)
        self.listwise = complete_mask(vals)[self.rows]
        rows_eq: list[np.ndarray] = []
        rhs_eq: list[float] = []
        for (variable, level, j), k in sorted(t.yes.items()):
            if j == judgement:
                rows_eq.append((vals[variable][self.rows] == level).astype(float))
                rhs_eq.append(k)
        rows_eq.append(np.ones(len(self.rows)))
        rhs_eq.append(t.yes_total[judgement])
        self.a_eq, self.b_eq = np.array(rows_eq), np.array(rhs_eq)
        # Soft sub-group targets (a derived year): count within a band, slack penalised.
        soft, soft_lo, soft_hi = [], [], []
        for (variable, level, j), rate in sorted(t.cell_rates.items()):
            if j == judgement:
                member = (vals[variable][self.rows] == level).astype(float)
                n_cell = member.sum()
                half = max(1.0, t.cell_band * np.sqrt(n_cell * rate * (1 - rate)))
                soft.append(member)
                soft_lo.append(round(rate * n_cell - half, 9))
                soft_hi.append(round(rate * n_cell + half, 9))
        self.a_soft = np.array(soft).reshape(-1, len(self.rows))
        self.lo_soft, self.hi_soft = np.array(soft_lo), np.array(soft_hi)

        # Scores on the listwise sample, at the published coefficients.
        lw = self.rows[self.listwise]
        sub = {k: v[lw] for k, v in vals.items()}
        own = list(model.terms)
        x = _design(sub, own)
        beta = np.array(model.b)
        # Nudges (in published SEs) steer terms that forward selection must pick up early.
        names = [tm.name for tm in own] + ["constant"]
        for name, f in bounds.nudges:
            beta[names.index(name)] += f * model.se[names.index(name)]
        beta[-1] += self._constant_shift(x, beta, t.yes_total[judgement] / len(self.rows),
                                         model.se[-1], bounds.constant_shift_se)
        self.room = np.full(len(beta), np.inf)
        if bounds.stars:  # move the target so that our SEs give the published stars
            preferred = beta.copy()
            for _ in range(2):  # the covariance at the target, then once more
                w0 = expit(x @ beta) * (1 - expit(x @ beta))
                cov = np.linalg.inv(x.T @ (x * w0[:, None]))
                beta, self.room = coefficient_targets(model, preferred, cov)
        self.target = beta
        self.beta = beta
        self.x_listwise = x
        p = np.round(expit(x @ beta), 12)
        self.p_listwise = p
        w = p * (1 - p)
        others = [tm for v in CANDIDATES if v not in model.variables for tm in terms_of(v)]
        z = np.column_stack([column(sub, tm) for tm in others])
        a = x.T @ (x * w[:, None])
        bmat = x.T @ (z * w[:, None])
        g = z.T @ (z * w[:, None]) - bmat.T @ np.linalg.solve(a, bmat)
        # Own columns: the one-step (Newton) estimate beta + A^-1 X'(y - p) is linear in y;
        # bound each coefficient's move in published standard errors.
        se_pub = np.array([max(v, 0.005) for v in model.se])  # "0.00" printed: below 0.005
        step = np.linalg.solve(a, x.T)
        own_lim = bounds.own * se_pub
        other_lim = bounds.other * np.sqrt(np.diag(g))
        for name, f in bounds.other_by_variable:
            for i, tm in enumerate(others):
                if tm.variable == name:
                    other_lim[i] = f * np.sqrt(g[i, i])
        # Other columns: the efficient score, i.e. the column's score after projecting out
        # the model's columns, (z - X A^-1 X'W z)'(y - p); its variance is diag(G).
        z_res = z - x @ np.linalg.solve(a, bmat)
        rows_sc = np.vstack([step, z_res.T])
        self.score_names = [tm.name for tm in own] + ["constant"] + [tm.name for tm in others]
        n = len(self.rows)
        a_sc = np.zeros((rows_sc.shape[0], n))
        a_sc[:, self.listwise] = rows_sc
        centre = rows_sc @ p
        lim = np.concatenate([own_lim, other_lim])
        # One unit of each score row: a published SE (own), a score SD (other candidates).
        self.sc_unit = np.concatenate([se_pub, np.sqrt(np.diag(g))])
        self.n_own = len(own_lim)
        self.a_sc = np.round(a_sc, 12)
        self.lo_sc = np.round(centre - lim, 9)
        self.hi_sc = np.round(centre + lim, 9)

        # Outside the listwise sample: each question's yes-rate gap near the inside gap.
        gap_rows, gap_lo, gap_hi = [], [], []
        for q in QUESTIONS:
            v = vals[q][self.rows]
            row = np.zeros(n)
            for part, sign in ((self.listwise, -1.0), (~self.listwise, 1.0)):
                yes_m, no_m = part & (v == "yes"), part & (v == "no")
                if yes_m.sum() < 20 or no_m.sum() < 20:
                    break
                row += sign * (yes_m / yes_m.sum() - no_m / no_m.sum())
            else:
                gap_rows.append(row)
                gap_lo.append(-bounds.outside_gap)
                gap_hi.append(bounds.outside_gap)
        self.a_gap = np.array(gap_rows).reshape(-1, n)
        self.lo_gap, self.hi_gap = np.array(gap_lo), np.array(gap_hi)
        self._widen_gaps(bounds)

        # Starting values for cases outside the listwise sample: the published model with
        # each missing column at its listwise mean.
        full = {k: v[self.rows] for k, v in vals.items()}
        xf = _design(full, own)
        means = np.nanmean(x, axis=0)
        xf = np.where(np.isnan(xf), means, xf)
        self.p_start = expit(xf @ beta)
        self.p_start[self.listwise] = p

    @staticmethod
    def _constant_shift(x: np.ndarray, beta: np.ndarray, rate: float, se: float,
                        cap_se: float) -> float:
        """Shift of the constant (at most `cap_se` published SEs) that brings the listwise
        mean probability to the judgement's overall rate, so the listwise sample's yes rate
        is not far from that of the cases outside it."""
        lo, hi = -cap_se * se, cap_se * se
        for _ in range(60):  # bisection: deterministic and exact enough
            mid = (lo + hi) / 2
            if expit(x @ beta + mid).mean() > rate:
                hi = mid
            else:
                lo = mid
        return round((lo + hi) / 2, 6)

    def _widen_gaps(self, bounds: Bounds) -> None:
        """Widen the outside-gap limit only for questions that cannot meet it.

        A linear program finds the least total widening compatible with the cell counts and
        the score bounds; each question then gets its needed widening plus a margin.
        """
        n, k = len(self.rows), len(self.a_gap)
        if k == 0:
            return
        eye = np.eye(k)
        a_ub = np.vstack([
            np.hstack([self.a_gap, -eye]), np.hstack([-self.a_gap, -eye]),
            np.hstack([self.a_sc, np.zeros((len(self.a_sc), k))]),
            np.hstack([-self.a_sc, np.zeros((len(self.a_sc), k))]),
        ])
        b_ub = np.concatenate([self.hi_gap, -self.lo_gap, self.hi_sc, -self.lo_sc])
        a_eq = np.hstack([self.a_eq, np.zeros((len(self.a_eq), k))])
        res = linprog(np.concatenate([np.zeros(n), np.ones(k)]), A_ub=a_ub, b_ub=b_ub,
                      A_eq=a_eq, b_eq=self.b_eq, bounds=[(0, 1)] * n + [(0, None)] * k,
                      method="highs")
        if res.x is None:
            raise RuntimeError(f"{self.judgement}: the cell counts and score bounds conflict")
        extra = np.round(res.x[n:], 6)
        widen = np.where(extra > 1e-6, extra + bounds.gap_margin, 0.0)
        self.gap_widening = widen
        self.lo_gap = self.lo_gap - widen
        self.hi_gap = self.hi_gap + widen

    def solve(self, z_start: np.ndarray) -> np.ndarray:
        """Binary outcomes for `self.rows`, closest to the draw `z_start` < probit(p).

        A linear program rather than an integer one: with exact cell counts an integer
        program is hard for branch and bound (every case sits in about two dozen cells),
        while the linear optimum leaves only a few dozen fractional cases, and the cells
        their rounding disturbs are repaired exactly afterwards, one variable at a time.
        """
        y0 = (z_start < norm.ppf(self.p_start)).astype(float)
        a = np.vstack([self.a_eq, self.a_sc, self.a_gap])
        lo = np.concatenate([self.b_eq, self.lo_sc, self.lo_gap])
        hi = np.concatenate([self.b_eq, self.hi_sc, self.hi_gap])
        c = 1 - 2 * y0
        if len(self.a_soft):
            lp = self._solve_soft(c, a, lo, hi)
        else:
            lp = linprog(c, A_ub=np.vstack([a, -a]), b_ub=np.concatenate([hi, -lo]),
                         bounds=(0, 1), method="highs")
        if lp.x is None:
            raise RuntimeError(f"{self.judgement}: no outcome meets every target ({lp.message})")
        x = np.round(lp.x[: len(self.rows)], 9)
        y = (x > 1 - 1e-7).astype(int)
        frac = np.flatnonzero((x > 1e-7) & (x <= 1 - 1e-7))
        self.fractional = len(frac)
        if self.bounds.careful_rounding and len(frac):
            return self._round_to_scores(y, frac, x)
        # Round, keeping the judgement's total exact: the fractional cases nearest 1 win.
        need = int(self.b_eq[-1]) - int(y.sum())
        y[frac[np.lexsort((frac, -x[frac]))][:need]] = 1
        return y

    def _round_to_scores(self, y: np.ndarray, frac: np.ndarray, x_lp: np.ndarray) -> np.ndarray:
        """Round the linear program's solution so the model's scores stay at their targets.

        Rounding a few dozen fractional cases one way or the other moves the model's own
        scores by a few units: a tenth of a standard error or more on the fitted
        coefficients. Starting from the plain rounding (the total exact), the judgements of
        two cases, one yes and one no, are swapped while that lowers a quadratic price:
        each own coefficient's one-step move from its target (dearest), each published cell
        count's miss (which `repair` could still fix by moving covariate values), and
        small prices for moving the other candidates' scores and the outside gaps away
        from the linear program's values. Any two of the judgement's cases may swap, so
        the coefficients can be met closely; the best swap comes first, ties by case
        order, so the result is deterministic.
        """
        need = int(self.b_eq[-1]) - int(y.sum())
        y = y.copy()
        y[frac[np.lexsort((frac, -x_lp[frac]))][:need]] = 1
        n_cells = len(self.a_eq) - 1
        own = np.arange(len(self.a_sc)) < self.n_own
        centre_sc = (self.lo_sc + self.hi_sc) / 2
        rows = np.vstack([self.a_eq[:-1], self.a_sc, self.a_gap])
        goal = np.concatenate([self.b_eq[:-1], np.where(own, centre_sc, self.a_sc @ x_lp),
                               self.a_gap @ x_lp])
        # The terms with least room to their limits are held closest.
        focus = np.ones(len(self.a_sc))
        focus[: self.n_own] = np.clip((ROOM_REF / np.maximum(self.room, 1e-3)) ** 2, 1, 100)
        scale = np.concatenate([np.full(n_cells, np.sqrt(CELL_WEIGHT)),
                                np.where(own, np.sqrt(OWN_WEIGHT * focus), np.sqrt(OTHER_WEIGHT))
                                / self.sc_unit,
                                np.full(len(self.a_gap), np.sqrt(GAP_WEIGHT) / 0.01)])
        a = rows * scale[:, None]
        target = goal * scale
        gram = np.round(a.T @ a, 9)
        norm2 = np.diag(gram).copy()
        e = a @ y - target
        for _ in range(ROUNDING_SWAPS):
            ones, zeros = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
            ea = np.round(e @ a, 9)
            # price change of y_i: 1 -> 0 and y_j: 0 -> 1 is |a_j - a_i|^2 + 2 e.(a_j - a_i)
            change = (norm2[ones][:, None] + norm2[zeros][None, :]
                      - 2 * gram[np.ix_(ones, zeros)]
                      - 2 * ea[ones][:, None] + 2 * ea[zeros][None, :])
            best = int(np.argmin(change))
            if not change.flat[best] < -1e-6:
                break
            i, j = ones[best // len(zeros)], zeros[best % len(zeros)]
            y[i], y[j] = 0, 1
            e = e - a[:, i] + a[:, j]
        return y

    def _solve_soft(self, c: np.ndarray, a: np.ndarray, lo: np.ndarray,
                    hi: np.ndarray) -> object:
        """The same program with the soft sub-group bands: a slack per band, each unit of
        it costing more than any case's distance from the draw, so bands hold where they
        can and give way only where they conflict with each other or the hard limits."""
        n, k = len(self.rows), len(self.a_soft)
        eye = np.eye(k)
        a_ub = np.vstack([
            np.hstack([a, np.zeros((len(a), k))]), np.hstack([-a, np.zeros((len(a), k))]),
            np.hstack([self.a_soft, -eye]), np.hstack([-self.a_soft, -eye]),
        ])
        b_ub = np.concatenate([hi, -lo, self.hi_soft, -self.lo_soft])
        return linprog(np.concatenate([c, np.full(k, SOFT_PENALTY)]), A_ub=a_ub, b_ub=b_ub,
                       bounds=[(0, 1)] * n + [(0, None)] * k, method="highs")


def add_judgements(pop: Population, t: Targets, spec: YearSpec,
                   models: dict[str, PublishedModel]) -> dict[str, JudgementProgram]:
    """Fill the three judgement columns of `pop.cols` in place; return the programs."""
    r = rng_for(spec, "judgements")
    z_prev = r.normal(size=pop.n)
    programs = {}
    for j in JUDGEMENTS:
        z = CORRELATION * z_prev + np.sqrt(1 - CORRELATION**2) * r.normal(size=pop.n)
        prog = JudgementProgram(pop, t, j, models[j], spec.bounds_for(j))
        y = prog.solve(z[prog.rows])
        out = np.full(pop.n, "", dtype=object)
        out[prog.rows] = np.where(y == 1, YES, NO)
        # Cases without an interview: the published model at listwise means, with the
        # same correlated draws (no published counts to meet).
        rest = np.flatnonzero(~pop.interviewed & np.isin(pop.cls, JUDGED_IN[j]))
        p_rest = _outside_probability(pop, models[j], prog, rest)
        out[rest] = np.where(z[rest] < norm.ppf(p_rest), YES, NO)
        if j == "supports_safety":
            out[np.isin(pop.cls, ["sd"])] = NOT_APPLICABLE
        pop.cols[j] = out
        programs[j] = prog
        z_prev = z
    return programs


def _outside_probability(pop: Population, model: PublishedModel, prog: JudgementProgram,
                         rows: np.ndarray) -> np.ndarray:
    vals = analysis_values(pop.cols)
    sub = {k: v[rows] for k, v in vals.items()}
    x = _design(sub, list(model.terms))
    lw = prog.rows[prog.listwise]
    xl = _design({k: v[lw] for k, v in vals.items()}, list(model.terms))
    x = np.where(np.isnan(x), np.nanmean(xl, axis=0), x)
    return expit(x @ np.array(model.b))
