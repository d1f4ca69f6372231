"""The facts stage: analysis results in, the keyed registry of every quoted statistic out.

This is where counts become percentages and where disclosure control is applied
(by `RegistryBuilder`), so that no later stage can print a number the registry has not
vetted. Keys follow the grammar in `bulletin.facts`; labels say in words what each
number is, because the numbers file is read by analysts as well as by the renderer.
"""

from __future__ import annotations

import pandas as pd

from bulletin.analysis.cluster import ALPHA, RobustModel, RobustTerm
from bulletin.analysis.logit import Term
from bulletin.analysis.models import ModelResult
from bulletin.analysis.run import AnalysisResults
from bulletin.analysis.stability import Stability
from bulletin.config import AnalysisSettings, Edition
from bulletin.facts import Registry, RegistryBuilder, slug

SCOPE = "interviewed cases"
TEST_NAMES = {"score": "score test", "lr": "likelihood-ratio test", "wald": "Wald test",
              "conditional": "conditional likelihood-ratio test"}


def _words(key: str) -> str:
    return key.replace("_", " ")


class _Names:
    """Readable names of questions, judgements and variables for labels."""

    def __init__(self, settings: AnalysisSettings) -> None:
        self.judgement = {j.key: j.short for j in settings.judgements}
        self.question = {q.key: q.text for q in settings.questions}

    def j(self, key: str) -> str:
        return self.judgement.get(key, _words(key).capitalize())


def _table1_2(b: RegistryBuilder, r: AnalysisResults, names: _Names) -> None:
    for row in r.table1.itertuples(index=False):
        text = names.question.get(row.variable, _words(row.variable))
        b.proportion(f"table1.{row.variable}", row.yes, row.n,
                     f"Table 1, {_words(row.variable)} ('{text}'), {SCOPE} answering "
                     f"yes or no", counts=("yes",))
    for row in r.table2.itertuples(index=False):
        b.proportion(f"table2.{row.variable}", row.yes, row.n,
                     f"Table 2, {names.j(row.variable)}, {SCOPE} judged yes or no",
                     counts=("yes",))


def _cells(b: RegistryBuilder, prefix: str, cells: pd.DataFrame, names: _Names) -> None:
    for c in cells.itertuples(index=False):
        b.proportion(f"{prefix}.{c.variable}.{slug(c.level)}.{c.judgement}", c.yes, c.n,
                     f"{names.j(c.judgement)}, where {_words(c.variable)} = {c.level} "
                     f"({SCOPE})")


def _tests(b: RegistryBuilder, key: str, tests: pd.DataFrame, names: _Names,
           a: str, z: str) -> None:
    for t in tests.itertuples(index=False):
        b.number(key.format(variable=t.variable, judgement=t.judgement),
                 None if pd.isna(t.p) else float(t.p),
                 f"{names.j(t.judgement)}: two-sided p of the difference between "
                 f"{a.format(_words(t.variable))} and {z.format(_words(t.variable))} "
                 f"({t.test})", "p_value")


def _figure2(b: RegistryBuilder, r: AnalysisResults) -> None:
    for row in r.fig2.itertuples(index=False):
        b.proportion(f"fig2.{slug(row.level)}", row.yes, row.yes + row.no,
                     f"Workload manageable, officers with a caseload of {row.level} "
                     f"({SCOPE} answering yes or no)", counts=("yes", "no"))


def _narrative(b: RegistryBuilder, r: AnalysisResults, edition: Edition,
               names: _Names) -> None:
    b.count("fact.cases_inspected", r.cases_inspected, "Cases inspected (all cases)")
    types = r.by_provider_type
    b.count("fact.ro_interviews", int(types.interviews.sum()),
            "Cases with a responsible officer interview")
    b.number("fact.providers", int(types.providers.sum()),
             "Providers inspected (a provider is its name and type)", "count")
    for row in types.itertuples(index=False):
        t = slug(row.provider_type)
        b.count(f"fact.ro_interviews_{t}", row.interviews,
                f"Cases with a responsible officer interview, {row.provider_type}")
        b.number(f"fact.providers_{t}", row.providers,
                 f"Providers inspected, {row.provider_type}", "count")
    b.number("fact.fieldwork_start", edition.fieldwork_start,
             "First month of fieldwork (edition settings)", "month")
    b.number("fact.fieldwork_end", edition.fieldwork_end,
             "Last month of fieldwork (edition settings)", "month")
    prog = edition.programme
    b.number("fact.sample_confidence", prog.sample_confidence,
             "Confidence level each inspection's case sample was sized for, per cent "
             "(edition settings)", "percent")
    b.number("fact.sample_margin", prog.sample_margin,
             "Margin of error each case sample was sized for, percentage points "
             "(edition settings)")
    b.number("fact.earlier_programme_start", prog.earlier_start,
             "First month of the earlier inspection programme (edition settings)", "month")
    b.number("fact.earlier_programme_end", prog.earlier_end,
             "Last month of the earlier inspection programme (edition settings)", "month")
    limit = r.caseload_threshold
    for row in r.caseload_over.itertuples(index=False):
        b.percent(f"fact.caseload_over_{limit}.{slug(row.level)}.pct", row.count, row.base,
                  f"Interviewed responsible officers with more than {limit} cases, "
                  f"{row.level} (% of those stating a caseload)")
    for row in r.rosh_mix.itertuples(index=False):
        b.percent(f"fact.rosh.{slug(row.by)}.{slug(row.level)}.pct", row.count, row.base,
                  f"Risk of serious harm {row.level}, {row.by} ({SCOPE}, % of those "
                  f"with a RoSH level)")
    for c in r.caseload_split.itertuples(index=False):
        side = f"more than {limit}" if c.level == "over" else f"{limit} or fewer"
        b.proportion(f"fact.caseload_{c.level}_{limit}.{c.judgement}", c.yes, c.n,
                     f"{names.j(c.judgement)}, where the officer's caseload is {side} "
                     f"({SCOPE})")
    _tests(b, f"fact.caseload_over_{limit}.diff.{{judgement}}.p", r.caseload_split_tests,
           names, f"caseloads above {limit}", f"caseloads of {limit} or fewer")


def _annex_a(b: RegistryBuilder, r: AnalysisResults) -> None:
    for i, row in enumerate(r.providers.itertuples(index=False), start=1):
        key = f"a1.{i:02d}"
        name = f"{row.provider} ({row.provider_type})"
        b.number(f"{key}.provider", row.provider, f"Annex A row {i}: provider", "text")
        b.number(f"{key}.provider_type", row.provider_type,
                 f"Annex A row {i}: type of provider", "text")
        month = None if pd.isna(row.report_month) else str(row.report_month)
        b.number(f"{key}.report_month", month, f"{name}: month the report was published",
                 "month")
        b.count(f"{key}.cases", row.cases, f"{name}: cases inspected")
        b.count(f"{key}.interviews", row.interviews,
                f"{name}: cases with a responsible officer interview")


def _term(b: RegistryBuilder, key: str, what: str, t: Term) -> None:
    b.number(f"{key}.b", t.b, f"{what}: coefficient B", "coefficient")
    b.number(f"{key}.se", t.se, f"{what}: standard error of B", "coefficient")
    b.number(f"{key}.wald", t.wald, f"{what}: Wald statistic (1 df)", "statistic")
    b.number(f"{key}.p", t.p, f"{what}: p of the Wald test", "p_value")
    b.number(f"{key}.odds_ratio", t.odds_ratio, f"{what}: odds ratio Exp(B)", "odds_ratio")
    b.number(f"{key}.ci_low", t.ci_low, f"{what}: odds ratio, 95% interval, lower",
             "odds_ratio")
    b.number(f"{key}.ci_high", t.ci_high, f"{what}: odds ratio, 95% interval, upper",
             "odds_ratio")


def _model(b: RegistryBuilder, m: ModelResult, names: _Names) -> None:
    res, j = m.result, m.judgement
    head = f"model.{j}"
    title = f"Model of {names.j(j)}"
    b.count(f"{head}.n", res.n, f"{title}: cases used (complete on every candidate)")
    b.number(f"{head}.minus2ll", res.minus2ll, f"{title}: -2 log likelihood", "statistic")
    b.number(f"{head}.chi2", res.chi_square, f"{title}: model chi-square", "statistic")
    b.number(f"{head}.chi2_df", res.chi_square_df, f"{title}: model chi-square df")
    b.number(f"{head}.chi2_p", res.chi_square_p, f"{title}: p of the model chi-square",
             "p_value")
    b.number(f"{head}.nagelkerke_r2", res.nagelkerke_r2, f"{title}: Nagelkerke R squared")
    b.number(f"{head}.cox_snell_r2", res.cox_snell_r2, f"{title}: Cox & Snell R squared")
    b.number(f"{head}.selected", ", ".join(res.selected),
             f"{title}: variables selected, in order of entry", "text")
    for t in res.terms:
        level = "" if t.level is None else f".{slug(t.level)}"
        what = f"{title}, {_words(t.variable)}" + (f" = {t.level}" if t.level else "")
        _term(b, f"{head}.{t.variable}{level}", what, t)
    for blk in res.blocks:
        what = f"{title}, {_words(blk.variable)} (reference {blk.reference}), overall"
        b.number(f"{head}.{blk.variable}.wald", blk.wald, f"{what} Wald statistic",
                 "statistic")
        b.number(f"{head}.{blk.variable}.df", blk.df, f"{what} Wald test df")
        b.number(f"{head}.{blk.variable}.p", blk.p, f"{what} Wald test p", "p_value")
        b.number(f"{head}.{blk.variable}.reference", blk.reference,
                 f"{title}, {_words(blk.variable)}: reference level", "text")
    c = res.constant
    b.number(f"{head}.constant.b", c.b, f"{title}, constant: coefficient B", "coefficient")
    b.number(f"{head}.constant.se", c.se, f"{title}, constant: standard error",
             "coefficient")
    b.number(f"{head}.constant.wald", c.wald, f"{title}, constant: Wald statistic",
             "statistic")
    b.number(f"{head}.constant.p", c.p, f"{title}, constant: p of the Wald test", "p_value")
    for k, s in enumerate(res.steps, start=1):
        what = f"{title}, step {k}"
        b.number(f"{head}.step.{k}.variable", s.variable, f"{what}: variable", "text")
        b.number(f"{head}.step.{k}.action", s.action, f"{what}: entered or removed", "text")
        b.number(f"{head}.step.{k}.statistic", s.statistic,
                 f"{what}: {TEST_NAMES.get(s.test, s.test)} statistic", "statistic")
        b.number(f"{head}.step.{k}.df", s.df, f"{what}: df")
        b.number(f"{head}.step.{k}.p", s.p, f"{what}: p of the {TEST_NAMES.get(s.test, s.test)}",
                 "p_value")
    for k, row in enumerate(m.rows, start=1):
        what = f"{title}, table row {k}"
        b.number(f"{head}.term.{k}.variable", row.variable, f"{what}: variable", "text")
        b.number(f"{head}.term.{k}.level", row.level,
                 f"{what}: level (empty on a variable's overall row)", "text")
        b.number(f"{head}.term.{k}.kind", row.kind,
                 f"{what}: block, level, continuous or constant", "text")


def _model_notes(b: RegistryBuilder, m: ModelResult, names: _Names) -> None:
    """Why a model's fit is not to be trusted (separation, no convergence), numbered."""
    title = f"Model of {names.j(m.judgement)}"
    for k, note in enumerate(m.result.notes, start=1):
        b.number(f"model.{m.judgement}.note.{k}", note, f"{title}: note {k} on the fits",
                 "text")


def _stability(b: RegistryBuilder, st: Stability, names: _Names) -> None:
    head, title = f"stability.{st.judgement}", f"Model of {names.j(st.judgement)}"
    b.number(f"{head}.resamples", st.resamples,
             f"{title}: bootstrap resamples on which the stepwise selection was rerun "
             "(the base of the selection shares)", "count")
    b.number(f"{head}.failed", st.failed,
             f"{title}: bootstrap resamples on which the selection could not be run "
             "(left out of the shares)", "count")
    for v in st.candidates:
        b.number(f"{head}.{v}.share", st.share(v),
                 f"{title}: share of bootstrap resamples whose selection includes "
                 f"{_words(v)} (0 to 1)")
    b.number(f"{head}.exact_set.share", st.exact_share,
             f"{title}: share of bootstrap resamples selecting exactly the published "
             "variables (0 to 1)")


def _robust_term(b: RegistryBuilder, key: str, what: str, t: RobustTerm) -> None:
    b.number(f"{key}.se", t.se, f"{what}: standard error of B clustered by provider "
             "(CR1)", "coefficient")
    b.number(f"{key}.p", t.p, f"{what}: p of the Wald test with standard errors clustered "
             "by provider", "p_value")


def _robust(b: RegistryBuilder, r: RobustModel, names: _Names) -> None:
    head, title = f"robust.{r.judgement}", f"Model of {names.j(r.judgement)}"
    b.number(f"{head}.clusters", r.clusters,
             f"{title}: providers (clusters) among the cases used", "count")
    for t in r.terms:
        level = "" if t.level is None else f".{slug(t.level)}"
        what = f"{title}, {_words(t.variable)}" + (f" = {t.level}" if t.level else "")
        _robust_term(b, f"{head}.{t.variable}{level}", what, t)
    _robust_term(b, f"{head}.constant", f"{title}, constant", r.constant)
    for blk in r.blocks:
        what = f"{title}, {_words(blk.variable)}, overall"
        b.number(f"{head}.{blk.variable}.wald", blk.wald,
                 f"{what} Wald statistic with standard errors clustered by provider",
                 "statistic")
        b.number(f"{head}.{blk.variable}.df", blk.df, f"{what} Wald test df")
        b.number(f"{head}.{blk.variable}.p", blk.p,
                 f"{what} Wald test p with standard errors clustered by provider", "p_value")
    b.number(f"{head}.changed", ", ".join(r.changed) or None,
             f"{title}: variables whose significance at p < {ALPHA} differs with standard "
             "errors clustered by provider, in model order (empty: none)", "text")
    b.number(f"{head}.changed_count", len(r.changed),
             f"{title}: number of variables whose significance at p < {ALPHA} differs with "
             "standard errors clustered by provider", "count")


def collect_facts(results: AnalysisResults, edition: Edition) -> Registry:
    """Every statistic of the bulletin under its key, with disclosure control applied."""
    s = edition.analysis
    names = _Names(s)
    b = RegistryBuilder(min_count=s.min_count, unreliable_base=s.unreliable_base)
    _table1_2(b, results, names)
    _cells(b, "b1", results.b1, names)
    _tests(b, "b1.{variable}.diff.{judgement}.p", results.b1_tests, names,
           "{} = yes", "{} = no")
    _cells(b, "b2", results.b2, names)
    _figure2(b, results)
    _narrative(b, results, edition, names)
    _annex_a(b, results)
    for m in results.models:
        _model(b, m, names)
        _model_notes(b, m, names)
    for st in results.stability:
        _stability(b, st, names)
    for r in results.robust:
        _robust(b, r, names)
    if results.robust:
        b.number("robust.alpha", ALPHA, "Significance level at which a change of "
                 "significance under provider clustering is reported", "p_value")
    return b.build()
