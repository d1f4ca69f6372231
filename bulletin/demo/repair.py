"""Make every published cell exact by moving a few covariate values, one variable at a time.

Every published cell counts the yes judgements among cases at one level of *one*
variable. So once the judgements are fixed, each variable can be repaired on its own:
within groups of cases that share judgement class, provider type and the pattern of all
three judgements, move a few cases from one level to another. Moving a case inside such a
group never changes any class's level counts (Table 1, the sub-group n's, the NPS/CRC
facts), and the number of cases of each level per group is a tiny integer program that
HiGHS solves to optimality in milliseconds. Searching over the judgements directly is much
harder: every case sits in about two dozen cells at once.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds as VarBounds
from scipy.optimize import LinearConstraint, milp

from bulletin.demo.design import analysis_values, complete_mask
from bulletin.demo.outcomes import caseload_band
from bulletin.demo.population import AGE_BANDS, CASELOAD_BANDS, OGRS_BANDS, QUESTIONS, Population
from bulletin.demo.targets import JUDGED_IN, JUDGEMENTS, Targets
from bulletin.schema import NOT_APPLICABLE

MISSING_COST = 4.0  # moving a case into or out of "missing" changes the listwise sample
LISTWISE_COST = 20.0  # ... and so does changing a listwise case's value (the model's data)


def cell_variables(t: Targets) -> list[str]:
    return list(dict.fromkeys(c.variable for c in t.cells))


def residuals(pop: Population, t: Targets) -> dict[tuple[str, str, str], int]:
    """Current minus published yes count, for every cell that is off."""
    vals = _values(pop)
    out = {}
    for (variable, level, j), k in t.yes.items():
        rows = pop.interviewed & np.isin(pop.cls, JUDGED_IN[j])
        have = int(np.sum(rows & (vals[variable] == level) & (pop.cols[j] == "yes")))
        if have != k:
            out[(variable, level, j)] = have - k
    return out


def _values(pop: Population) -> dict[str, np.ndarray]:
    vals = analysis_values(pop.cols)
    vals["caseload_band"] = caseload_band(pop.cols["caseload"])
    return vals


def repair(pop: Population, t: Targets, r: np.random.Generator) -> int:
    """Move covariate values until every cell holds; returns the number of cases moved."""
    moved = 0
    for variable in cell_variables(t):
        moved += _repair_variable(pop, t, variable, r)
    return moved


def _repair_variable(pop: Population, t: Targets, variable: str,
                     r: np.random.Generator) -> int:
    vals = _values(pop)
    v = vals[variable]
    levels = list(t.level_counts[variable]) + [""]
    judged = pop.interviewed & (pop.cls != "none")
    rows = np.flatnonzero(judged)
    # Cases whose value of this variable the models see: complete on every other
    # candidate, so in the listwise sample (or entering it if a blank gets a value).
    own = "caseload" if variable == "caseload_band" else variable
    listwise = complete_mask({k: (np.full(len(x), "x", dtype=object) if k == own else x)
                              for k, x in vals.items()})
    pattern = np.array(["".join(pop.cols[j][i][:1] for j in JUDGEMENTS) for i in rows])
    keys = [(pop.cls[i], pattern[k], pop.cols["provider_type"][i]) for k, i in enumerate(rows)]
    groups = sorted(set(keys))
    gi = {g: n for n, g in enumerate(groups)}
    g_of = np.array([gi[k] for k in keys])
    nl = len(levels)
    li = {lv: n for n, lv in enumerate(levels)}
    l_of = np.array([li.get(v[i], li[""]) for i in rows])
    n0 = np.zeros((len(groups), nl))
    np.add.at(n0, (g_of, l_of), 1)
    n_in = np.zeros((len(groups), nl))  # such cases, per group and level
    np.add.at(n_in, (g_of, l_of), listwise[rows].astype(float))

    # N = n0 + u - w_out - w_in, all >= 0 integer: u cases move in, w_out cases the models
    # do not see move out, w_in cases they see move out (dear).
    nv = len(groups) * nl
    def idx(g: int, lv: int) -> int:
        return g * nl + lv

    a_rows, lo, hi = [], [], []

    def add(coef: np.ndarray, rhs: float) -> None:
        # coef applies to N; in terms of the moves: coef @ (u - w) = rhs - coef @ n0
        a_rows.append(np.concatenate([coef, -coef, -coef]))
        lo.append(rhs - coef @ n0.ravel())
        hi.append(rhs - coef @ n0.ravel())

    for g in range(len(groups)):  # group sizes are fixed
        coef = np.zeros(nv)
        coef[[idx(g, lv) for lv in range(nl)]] = 1
        add(coef, n0[g].sum())
    for cls, typ in sorted({(g[0], g[2]) for g in groups}):  # level counts per class/type
        members = [gi[g] for g in groups if g[0] == cls and g[2] == typ]
        for lv in range(nl):
            coef = np.zeros(nv)
            coef[[idx(g, lv) for g in members]] = 1
            add(coef, n0[members, lv].sum())
    for jn, j in enumerate(JUDGEMENTS):  # the published yes counts
        yes_groups = [gi[g] for g in groups if len(g[1]) > jn and g[1][jn] == "y"]
        for level in levels[:-1]:
            if (variable, level, j) not in t.yes:
                continue
            coef = np.zeros(nv)
            coef[[idx(g, li[level]) for g in yes_groups]] = 1
            add(coef, t.yes[(variable, level, j)])
    cost = np.ones((len(groups), nl))
    cost[:, li[""]] = MISSING_COST
    cost = cost.ravel()
    a = sparse.csr_array(np.array(a_rows))
    res = milp(c=np.concatenate([cost, cost, cost + LISTWISE_COST]),
               integrality=np.ones(3 * nv),
               bounds=VarBounds(np.zeros(3 * nv), np.concatenate([
                   np.full(nv, np.inf), (n0 - n_in).ravel(), n_in.ravel()])),
               constraints=LinearConstraint(a, lo, hi))
    if res.x is None:
        raise RuntimeError(f"{variable}: no move of values meets the published cells")
    moves = np.round(res.x).reshape(3, *n0.shape)
    target = n0 + moves[0] - moves[1] - moves[2]
    moved = 0
    for g in range(len(groups)):
        diff = target[g] - n0[g]
        if not diff.any():
            continue
        members = rows[g_of == g]
        donors: list[int] = []
        for lv in np.flatnonzero(diff < 0):
            at = members[l_of[g_of == g] == lv]
            # Prefer cases the models do not see, then a seeded random order.
            order = at[np.lexsort((r.permutation(len(at)), listwise[at]))]
            donors += [int(x) for x in order[: int(-diff[lv])]]
        receivers = [int(lv) for lv in np.flatnonzero(diff > 0) for _ in range(int(diff[lv]))]
        for case, lv in zip(donors, receivers, strict=True):
            _set_value(pop, variable, case, levels[lv], r)
            moved += 1
    return moved


def _set_value(pop: Population, variable: str, case: int, level: str,
               r: np.random.Generator) -> None:
    cols = pop.cols
    if variable in QUESTIONS:
        if level == "" and variable == "relationships_harm" and cols["rosh_level"][case] == "Low":
            level = NOT_APPLICABLE
        cols[variable][case] = level
    elif variable == "caseload_band":
        cols["caseload"][case] = _draw(level, CASELOAD_BANDS, r)
    elif variable == "age_group":
        cols["age"][case] = _draw(level, AGE_BANDS, r)
    elif variable == "ogrs_band":
        cols["ogrs_score"][case] = _draw(level, OGRS_BANDS, r)
    elif variable == "rosh_level":
        cols["rosh_level"][case] = "High" if level == "High/Very high" else level
    else:
        cols[variable][case] = level


def _draw(level: str, bands: tuple, r: np.random.Generator) -> str:
    if level == "":
        return ""
    for label, lo, hi in bands:
        if label == level:
            top = min(hi, lo + 25) if label in ("71+", "60+") else hi
            return str(int(r.integers(lo, top + 1)))
    raise KeyError(level)
