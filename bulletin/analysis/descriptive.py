"""Counts and percentages behind Tables 1, 2, B1, B2, Figure 2, Annex A and the text.

Everything here returns counts (yes and the number answering yes or no), never
rounded percentages: the facts stage turns counts into percentages once, and applies
disclosure control to them. "Not applicable" and blanks are left out of every base.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bulletin.distributions import chi2_2x2, expected_counts, fisher_exact_p
from bulletin.schema import NO, YES

CHI_SQUARE = "chi-square test without continuity correction"
FISHER = "Fisher's exact test (an expected count below 5)"
NO_TEST = "no test (a group has no answers)"
#: Fisher's exact test replaces chi-square when an expected count is below this.
MIN_EXPECTED = 5


def is_level(values: pd.Series, level: str) -> np.ndarray:
    """Boolean mask of rows equal to `level`; missing values are never equal."""
    return values.eq(level).fillna(False).to_numpy(dtype=bool)


def yes_n(values: pd.Series) -> tuple[int, int]:
    """(yes count, number answering yes or no) of a yes/no/not applicable column."""
    yes = int(is_level(values, YES).sum())
    return yes, yes + int(is_level(values, NO).sum())


@dataclass(frozen=True)
class TestResult:
    """A two-sided test of a difference between two proportions."""

    p: float | None
    statistic: float | None
    test: str


def difference_test(yes_a: int, n_a: int, yes_b: int, n_b: int) -> TestResult:
    """Is the yes rate different in group a and group b?

    Pearson's chi-square without continuity correction, as SPSS prints first in its
    crosstabs; Fisher's exact test where an expected count is below 5 and the
    chi-square approximation is poor. Both are computed as scipy.stats computes them
    (`bulletin.distributions`, which is tested against scipy.stats).
    """
    table = np.array([[yes_a, n_a - yes_a], [yes_b, n_b - yes_b]], dtype=float)
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return TestResult(None, None, NO_TEST)
    expected = expected_counts(table)
    if (expected < MIN_EXPECTED).any():
        return TestResult(fisher_exact_p(table.astype(int)), None, FISHER)
    chi2, p = chi2_2x2(table, correction=False)
    return TestResult(p, chi2, CHI_SQUARE)


def answers(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Yes count and base of each yes/no column (Tables 1 and 2)."""
    rows = [(c, *yes_n(frame[c])) for c in columns]
    return pd.DataFrame(rows, columns=["variable", "yes", "n"])


def _yes_no_masks(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    return is_level(values, YES), is_level(values, NO)


Masks = dict[str, tuple[np.ndarray, np.ndarray]]


def answer_masks(frame: pd.DataFrame, judgements: tuple[str, ...]) -> Masks:
    """Each judgement's yes and no rows, for `by_level` on `frame` (or on a frame with the
    same rows): B1 and B2 count the same judgements within some thirty variables, and
    comparing a column of 200,000 answers to "yes" once is enough."""
    return {j: _yes_no_masks(frame[j]) for j in judgements}


def _count(yes: np.ndarray, no: np.ndarray, within: np.ndarray) -> tuple[int, int]:
    """(yes count, yes-or-no count) among the rows in `within`."""
    n_yes = int(np.count_nonzero(yes & within))
    return n_yes, n_yes + int(np.count_nonzero(no & within))


def by_level(frame: pd.DataFrame, variable: str, levels: tuple[str, ...],
             judgements: tuple[str, ...], answers: Masks | None = None) -> pd.DataFrame:
    """Each judgement's yes count and base within each level of `variable` (B1, B2);
    `answers`: the judgements' `answer_masks` on these rows, if already made.

    Counted with row masks, not by filtering the frame per level: at 200,000 cases
    copying every column for every level cost seconds.
    """
    if answers is None:
        answers = answer_masks(frame, judgements)
    rows = []
    for level in levels:
        within = is_level(frame[variable], level)
        for j in judgements:
            rows.append((variable, level, j, *_count(*answers[j], within)))
    return pd.DataFrame(rows, columns=["variable", "level", "judgement", "yes", "n"])


def yes_no_tests(cells: pd.DataFrame, variable: str, judgements: tuple[str, ...],
                 level_a: str = YES, level_b: str = NO) -> pd.DataFrame:
    """The difference test of each judgement between two levels of `variable`.

    The counts are looked up by (variable, level, judgement), the first row of each, as
    Python values: filtering the cells frame for each of them cost a second at scale
    (text columns are Arrow arrays, and every comparison went through them)."""
    counts: dict[tuple[object, object, object], tuple[int, int]] = {}
    for key in zip(cells["variable"].tolist(), cells["level"].tolist(),
                   cells["judgement"].tolist(), cells["yes"].tolist(), cells["n"].tolist(),
                   strict=True):
        counts.setdefault(key[:3], (int(key[3]), int(key[4])))
    rows = []
    for j in judgements:
        a = counts[(variable, level_a, j)]
        b = counts[(variable, level_b, j)]
        t = difference_test(*a, *b)
        rows.append((variable, j, t.p, t.statistic, t.test))
    return pd.DataFrame(rows, columns=["variable", "judgement", "p", "statistic", "test"])


def answer_counts(frame: pd.DataFrame, variable: str, by: str,
                  levels: tuple[str, ...]) -> pd.DataFrame:
    """Yes and no answers to `variable` within each level of `by` (Figure 2)."""
    answers = _yes_no_masks(frame[variable])
    rows = []
    for level in levels:
        yes, n = _count(*answers, is_level(frame[by], level))
        rows.append((level, yes, n - yes))
    return pd.DataFrame(rows, columns=["level", "yes", "no"])


def share_by(frame: pd.DataFrame, mask: np.ndarray, known: np.ndarray, by: str,
             levels: tuple[str, ...]) -> pd.DataFrame:
    """Within each level of `by`: rows where `mask` holds, out of rows where `known` holds."""
    rows = []
    for level in levels:
        in_level = is_level(frame[by], level)
        rows.append((level, int((mask & known & in_level).sum()),
                     int((known & in_level).sum())))
    return pd.DataFrame(rows, columns=["level", "count", "base"])


def level_mix(frame: pd.DataFrame, variable: str, levels: tuple[str, ...], by: str,
              by_levels: tuple[str, ...]) -> pd.DataFrame:
    """Distribution of `variable` within each level of `by`; base = rows with it known."""
    rows = []
    known = frame[variable].notna().to_numpy(dtype=bool)
    for by_level in by_levels:
        in_by = is_level(frame[by], by_level) & known
        base = int(in_by.sum())
        for level in levels:
            count = int((in_by & is_level(frame[variable], level)).sum())
            rows.append((by_level, level, count, base))
    return pd.DataFrame(rows, columns=["by", "level", "count", "base"])


def providers(frame: pd.DataFrame, interviewed: np.ndarray) -> pd.DataFrame:
    """Annex A: one row per provider (name and type together), in report order.

    Wales and London each have a CRC and an NPS division, so a provider is its name
    and type. Order: month of the report, then name; unknown months last.
    """
    # One row for each distinct provider, type, month and interview, with how many
    # cases it stands for: the groups, their first months and their counts are those of
    # the cases, from a few hundred rows instead of every case as text.
    rows, cases = _distinct(frame[["provider", "provider_type", "report_month"]],
                            interviewed)
    part = frame.iloc[rows]
    work = pd.DataFrame({
        "provider": part["provider"].astype(str).to_numpy(),
        "provider_type": part["provider_type"].astype(str).to_numpy(),
        "report_month": part["report_month"].to_numpy(dtype=object),
        "cases": cases,
        "interviews": cases * interviewed[rows].astype(int),
    })
    months = work.groupby(["provider", "provider_type"])["report_month"].agg(
        lambda s: s.dropna().min() if s.notna().any() else None)
    counts = work.groupby(["provider", "provider_type"]).agg(
        cases=("cases", "sum"), interviews=("interviews", "sum"))
    out = counts.join(months).reset_index()
    out["_unknown"] = out["report_month"].isna()
    out = out.sort_values(["_unknown", "report_month", "provider", "provider_type"],
                          na_position="last").drop(columns="_unknown")
    out["cases"] = out["cases"].astype(int)
    out["interviews"] = out["interviews"].astype(int)
    return out.reset_index(drop=True)[["provider", "provider_type", "report_month",
                                       "cases", "interviews"]]


def _distinct(columns: pd.DataFrame, flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position of the first row of each distinct combination of the values of
    `columns` and `flag`, how many rows have it), in order of first appearance. Missing
    values form a value of their own."""
    key = flag.astype(np.int64)
    for name in columns.columns:
        codes, uniques = pd.factorize(columns[name], use_na_sentinel=True)
        key = key * (len(uniques) + 1) + (codes.astype(np.int64) + 1)
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    return first[order], counts[order].astype(np.int64)
