"""The facts stage: keys as the contract defines them, values from counts, disclosure flags."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_descriptive import EDITION, S, random_cases

from bulletin.analysis.run import AnalysisResults, analyse
from bulletin.collect import collect_facts
from bulletin.facts import Registry, slug

J = S.judgement_keys
Q = S.question_keys


def _cells(variable: str, levels: list[str], yes: int, n: int) -> list[tuple]:
    return [(variable, lv, j, yes, n) for lv in levels for j in J]


def hand_results() -> AnalysisResults:
    """Results whose facts are known: every cell 30 yes of 40 except the ones noted."""
    cols = ["variable", "level", "judgement", "yes", "n"]
    b1 = []
    for q in Q:
        b1 += _cells(q, ["yes", "no"], 30, 40)
    b1 += _cells("caseload_band", list(S.banding("caseload_band").labels), 30, 40)
    b1 = pd.DataFrame(b1, columns=cols)
    b1.loc[(b1.variable == "skills_knowledge") & (b1.level == "no"), ["yes", "n"]] = (2, 4)
    b1.loc[(b1.variable == "clear_roles") & (b1.level == "no"), ["yes", "n"]] = (3, 200)
    b1.loc[(b1.variable == "clear_roles") & (b1.level == "yes"), ["yes", "n"]] = (10, 20)
    b2 = []
    for v in S.case_variables:
        b2 += _cells(v, ["A level", "High/Very high"], 30, 40)
    tests = pd.DataFrame([(q, j, 0.01, 6.6, "chi-square test") for q in Q for j in J],
                         columns=["variable", "judgement", "p", "statistic", "test"])
    split = pd.DataFrame([("caseload_split", lv, j, 20, 40) for lv in ("over", "up_to")
                          for j in J], columns=cols)
    bands = list(S.banding("caseload_band").labels)
    return AnalysisResults(
        cases_inspected=100,
        by_provider_type=pd.DataFrame([("CRC", 3, 60, 40), ("NPS", 2, 40, 25)],
                                      columns=["provider_type", "providers", "cases",
                                               "interviews"]),
        providers=pd.DataFrame([("Essex", "CRC", "2018-10", 50, 30),
                                ("Wales", "NPS", None, 50, 3)],
                               columns=["provider", "provider_type", "report_month",
                                        "cases", "interviews"]),
        table1=pd.DataFrame([(q, 46, 100) for q in Q], columns=["variable", "yes", "n"]),
        table2=pd.DataFrame([(j, 78, 100) for j in J], columns=["variable", "yes", "n"]),
        b1=b1, b1_tests=tests, b2=pd.DataFrame(b2, columns=cols),
        fig2=pd.DataFrame([(b, 10, 3) for b in bands], columns=["level", "yes", "no"]),
        caseload_threshold=50,
        caseload_over=pd.DataFrame([("CRC", 20, 30), ("NPS", 1, 20)],
                                   columns=["level", "count", "base"]),
        rosh_mix=pd.DataFrame([("CRC", "Medium", 21, 30), ("NPS", "High/Very high", 12, 20)],
                              columns=["by", "level", "count", "base"]),
        caseload_split=split,
        caseload_split_tests=pd.DataFrame([("caseload_split", j, 0.2, 1.6, "chi-square test")
                                           for j in J],
                                          columns=["variable", "judgement", "p", "statistic",
                                                   "test"]),
        models=(),
    )


@pytest.fixture(scope="module")
def hand() -> Registry:
    return collect_facts(hand_results(), EDITION)


def test_tables_1_and_2(hand: Registry) -> None:
    for q in Q:
        f = hand[f"table1.{q}.pct_yes"]
        assert (f.value, f.count, f.base, f.unit) == (pytest.approx(46.0), 46, 100, "percent")
        assert hand.value(f"table1.{q}.n") == 100 and hand.value(f"table1.{q}.yes") == 46
    f = hand["table2.supports_desistance.pct_yes"]
    assert f.value == pytest.approx(78.0) and "Supports desistance" in f.label


def test_b1_and_b2_keys_values_and_labels(hand: Registry) -> None:
    f = hand["b1.workload_manageable.yes.supports_desistance.pct_yes"]
    assert f.value == pytest.approx(75.0)
    assert f.label.startswith("Supports desistance, where workload manageable = yes")
    assert hand.value("b1.caseload_band.71+.sentence_implemented.n") == 40
    assert hand.value("b2.rosh_level.high_very_high.supports_safety.n") == 40
    p = hand["b1.skills_knowledge.diff.supports_safety.p"]
    assert p.value == pytest.approx(0.01) and "chi-square" in p.label and p.unit == "p_value"


def test_disclosure_control_reaches_the_registry(hand: Registry) -> None:
    small = "b1.skills_knowledge.no.sentence_implemented"
    assert hand[f"{small}.pct_yes"].suppressed and hand[f"{small}.n"].suppressed
    few_yes = "b1.clear_roles.no.sentence_implemented"
    assert hand[f"{few_yes}.pct_yes"].suppressed and not hand[f"{few_yes}.n"].suppressed
    unreliable = hand["b1.clear_roles.yes.sentence_implemented.pct_yes"]
    assert unreliable.unreliable and not unreliable.suppressed
    fine = hand["b1.workload_manageable.yes.sentence_implemented.pct_yes"]
    assert not (fine.suppressed or fine.unreliable)
    assert hand["a1.02.interviews"].suppressed and not hand["a1.01.interviews"].suppressed
    assert hand["fact.caseload_over_50.nps.pct"].suppressed
    assert hand["fig2.1-20.no"].suppressed and hand["fig2.1-20.yes"].suppressed


def test_figure2_and_narrative(hand: Registry) -> None:
    assert hand.value("fig2.51-60.yes") == 10 and hand.value("fig2.51-60.no") == 3
    assert hand.value("fig2.51-60.n") == 13
    assert hand.value("fact.cases_inspected") == 100
    assert hand.value("fact.ro_interviews") == 65
    assert hand.value("fact.ro_interviews_crc") == 40
    assert hand.value("fact.providers") == 5 and hand.value("fact.providers_nps") == 2
    assert hand.value("fact.fieldwork_start") == EDITION.fieldwork_start
    assert hand["fact.fieldwork_end"].unit == "month"
    f = hand["fact.caseload_over_50.crc.pct"]
    assert (f.value, f.count, f.base) == (pytest.approx(200 / 3), 20, 30)
    assert hand.value("fact.rosh.crc.medium.pct") == pytest.approx(70.0)
    assert "interviewed cases" in hand["fact.rosh.crc.medium.pct"].label
    assert hand.value("fact.caseload_up_to_50.supports_safety.pct_yes") == pytest.approx(50.0)
    assert hand.value("fact.caseload_over_50.diff.supports_safety.p") == pytest.approx(0.2)


def test_annex_a_rows_in_given_order(hand: Registry) -> None:
    assert hand.value("a1.01.provider") == "Essex" and hand.value("a1.02.provider") == "Wales"
    assert hand.value("a1.01.report_month") == "2018-10"
    assert hand.value("a1.02.report_month") is None
    assert hand.value("a1.02.provider_type") == "NPS" and hand.value("a1.01.cases") == 50


def test_thresholds_come_from_the_edition() -> None:
    from dataclasses import replace
    strict = replace(EDITION, analysis=replace(S, min_count=50, unreliable_base=10))
    reg = collect_facts(hand_results(), strict)
    f = reg["b1.workload_manageable.yes.sentence_implemented.pct_yes"]
    assert f.suppressed and not f.unreliable


# ----------------------------------------------------------------------------- contract

# keys.md, as patterns: <q>, <j>, <level>, <k>, <nn>
_Q, _J = "|".join(Q), "|".join(J)
_L = r"[a-z0-9_+\-]+"
STAT = r"(b|se|wald|p|odds_ratio|ci_low|ci_high)"
CONTRACT = [
    rf"table1\.({_Q})\.(pct_yes|n|yes)",
    rf"table2\.({_J})\.(pct_yes|n|yes)",
    rf"b1\.({_Q})\.(yes|no)\.({_J})\.(pct_yes|n)",
    rf"b1\.caseload_band\.{_L}\.({_J})\.(pct_yes|n)",
    rf"b1\.({_Q})\.diff\.({_J})\.p",
    rf"b2\.({'|'.join(S.case_variables)})\.{_L}\.({_J})\.(pct_yes|n)",
    rf"fig2\.{_L}\.(yes|no|pct_yes|n)",
    rf"model\.({_J})\.(n|minus2ll|chi2|chi2_df|chi2_p|nagelkerke_r2|cox_snell_r2|selected)",
    rf"model\.({_J})\.{_L}\.{_L}\.{STAT}",
    rf"model\.({_J})\.{_L}\.{STAT}",
    rf"model\.({_J})\.{_L}\.(wald|df|p|reference)",
    rf"model\.({_J})\.constant\.(b|se|wald|p)",
    rf"model\.({_J})\.step\.[1-9][0-9]*\.(variable|action|statistic|df|p)",
    rf"model\.({_J})\.term\.[1-9][0-9]*\.(variable|level|kind)",
    r"a1\.[0-9]{2}\.(provider|provider_type|report_month|cases|interviews)",
    r"fact\.(cases_inspected|ro_interviews|ro_interviews_crc|ro_interviews_nps|providers"
    r"|providers_crc|providers_nps|fieldwork_start|fieldwork_end|sample_confidence"
    r"|sample_margin|earlier_programme_start|earlier_programme_end)",
    r"fact\.caseload_over_50\.(crc|nps)\.pct",
    r"fact\.rosh\.(crc|nps)\.(low|medium|high_very_high)\.pct",
    rf"fact\.caseload_(over|up_to)_50\.({_J})\.(pct_yes|n)",
    rf"fact\.caseload_over_50\.diff\.({_J})\.p",
    rf"stability\.({_J})\.(resamples|failed)",
    rf"stability\.({_J})\.({'|'.join(S.candidates)}|exact_set)\.share",
    rf"robust\.({_J})\.(clusters|changed|changed_count)",
    rf"robust\.({_J})\.{_L}(\.{_L})?\.(se|p)",
    rf"robust\.({_J})\.{_L}\.(wald|df)",
    r"robust\.alpha",
]


@pytest.fixture(scope="module")
def full() -> Registry:
    return collect_facts(analyse(random_cases(), EDITION), EDITION)


def test_every_key_is_in_the_contract(full: Registry) -> None:
    stray = [k for k in full if not any(re.fullmatch(p, k) for p in CONTRACT)]
    assert stray == []


def test_every_contract_key_is_present(full: Registry) -> None:
    needed = [f"table1.{q}.{s}" for q in Q for s in ("pct_yes", "n", "yes")]
    needed += [f"b1.{q}.{a}.{j}.{s}" for q in Q for a in ("yes", "no") for j in J
               for s in ("pct_yes", "n")]
    needed += [f"b1.{q}.diff.{j}.p" for q in Q for j in J]
    needed += [f"b1.caseload_band.{slug(b)}.{j}.n" for b in S.banding("caseload_band").labels
               for j in J]
    needed += [f"b2.age_group.{slug(b)}.{j}.pct_yes" for b in S.banding("age_group").labels
               for j in J]
    needed += [f"fig2.{slug(b)}.{s}" for b in S.banding("caseload_band").labels
               for s in ("yes", "no", "pct_yes", "n")]
    needed += [f"model.{j}.{s}" for j in J for s in ("n", "minus2ll", "chi2", "chi2_df",
                                                     "chi2_p", "nagelkerke_r2",
                                                     "cox_snell_r2")]
    needed += [f"model.{j}.constant.{s}" for j in J for s in ("b", "se", "wald", "p")]
    needed += [f"fact.rosh.{t}.{lv}.pct" for t in ("crc", "nps")
               for lv in ("low", "medium", "high_very_high")]
    needed += [f"fact.caseload_{side}_50.{j}.pct_yes" for side in ("over", "up_to")
               for j in J]
    needed += [f"stability.{j}.{v}.share" for j in J for v in (*S.candidates, "exact_set")]
    needed += [f"stability.{j}.{s}" for j in J for s in ("resamples", "failed")]
    needed += [f"robust.{j}.{s}" for j in J for s in ("clusters", "changed", "changed_count",
                                                      "constant.se", "constant.p")]
    needed += ["robust.alpha"]
    assert [k for k in needed if k not in full] == []


def test_model_rows_point_at_registered_facts(full: Registry) -> None:
    for j in J:
        k = 1
        kinds = []
        while f"model.{j}.term.{k}.variable" in full:
            var = full.value(f"model.{j}.term.{k}.variable")
            level = full.value(f"model.{j}.term.{k}.level")
            kind = full.value(f"model.{j}.term.{k}.kind")
            kinds.append(kind)
            if kind == "level":
                assert f"model.{j}.{var}.{slug(level)}.b" in full
            elif kind == "block":
                assert level is None and f"model.{j}.{var}.wald" in full
                assert full.value(f"model.{j}.{var}.reference") == S.reference_level(var)
            elif kind == "continuous":
                assert f"model.{j}.{var}.odds_ratio" in full
            k += 1
        assert kinds[-1] == "constant" and kinds.count("constant") == 1
        selected = full.value(f"model.{j}.selected")
        entered = [full.value(f"model.{j}.step.{i}.variable") for i in range(1, 40)
                   if f"model.{j}.step.{i}.action" in full
                   and full.value(f"model.{j}.step.{i}.action") == "entered"]
        assert set((selected or "").split(", ")) - {""} <= set(entered)


def test_skills_effect_is_found(full: Registry) -> None:
    """The random frame gives skills_knowledge a real effect on every judgement."""
    for j in J:
        assert "skills_knowledge" in full.value(f"model.{j}.selected").split(", ")
        assert full.value(f"model.{j}.skills_knowledge.yes.b") > 0


def test_full_registry_survives_the_numbers_csv(full: Registry, survives_numbers_csv) -> None:
    survives_numbers_csv(full)
