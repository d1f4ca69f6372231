"""Derived variables and the descriptive counts, on small frames whose answers are known
by construction, and the whole analysis stage against direct counts on a random frame."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from bulletin.analysis import descriptive as d
from bulletin.analysis.derive import band, derive, group
from bulletin.analysis.run import analyse
from bulletin.config import Band, Banding, Grouping, load_edition
from bulletin.errors import BulletinError
from bulletin.schema import columns

EDITION = load_edition()
S = EDITION.analysis


def case_frame(n: int, **values: object) -> pd.DataFrame:
    """A canonical frame of `n` rows: given columns as given, every other one blank."""
    data = {}
    for col in columns(S):
        v = values.get(col.name, [None] * n)
        data[col.name] = pd.array(list(v), dtype="Int64" if col.kind == "integer" else "str")
    return pd.DataFrame(data)


# ----------------------------------------------------------------------------- derive

CASELOAD = S.banding("caseload_band")


def test_bands_at_their_edges_and_the_open_top() -> None:
    values = pd.Series([1, 20, 21, 30, 50, 51, 70, 71, 200, None], dtype="Int64")
    assert band(values, CASELOAD).tolist()[:-1] == [
        "1-20", "1-20", "21-30", "21-30", "41-50", "51-60", "61-70", "71+", "71+"]
    assert pd.isna(band(values, CASELOAD).iloc[-1])


def test_age_and_ogrs_bands_follow_configuration() -> None:
    ages = band(pd.Series([18, 24, 25, 59, 60, 99], dtype="Int64"), S.banding("age_group"))
    assert ages.tolist() == ["18-24", "18-24", "25-29", "40-59", "60+", "60+"]
    ogrs = band(pd.Series([0, 49, 50, 74, 75, 99], dtype="Int64"), S.banding("ogrs_band"))
    assert ogrs.tolist() == ["Low", "Low", "Medium", "Medium", "High/Very high",
                             "High/Very high"]


def test_a_value_outside_every_band_is_an_error() -> None:
    with pytest.raises(BulletinError, match="outside every band") as err:
        band(pd.Series([12, 0], dtype="Int64"), CASELOAD)
    assert "caseload value(s) 0" in err.value.report()


def test_overlapping_bands_are_refused() -> None:
    bad = Banding("x_band", "x", (Band("a", 1, 10), Band("b", 10, 20)))
    with pytest.raises(BulletinError, match="not usable"):
        band(pd.Series([5], dtype="Int64"), bad)
    unordered = Banding("x_band", "x", (Band("a", 1, None), Band("b", 10, 20)))
    with pytest.raises(BulletinError, match="not usable"):
        band(pd.Series([5], dtype="Int64"), unordered)


def test_grouping_joins_levels_and_keeps_blanks() -> None:
    rosh = pd.Series(["Low", "High", "Very high", "Medium", None], dtype="str")
    out = group(rosh, S.grouping("rosh_level"))
    assert out.tolist()[:4] == ["Low", "High/Very high", "High/Very high", "Medium"]
    assert pd.isna(out.iloc[4])


def test_grouping_refuses_a_level_in_no_group() -> None:
    g = Grouping("rosh_level", "rosh_level", (("Low", ("Low",)),))
    with pytest.raises(BulletinError, match="not in any group"):
        group(pd.Series(["Low", "High"], dtype="str"), g)


def test_derive_adds_bands_and_replaces_grouped_source() -> None:
    f = case_frame(3, caseload=[10, 55, None], age=[30, 61, 18], ogrs_score=[10, 80, None],
                   rosh_level=["Very high", "Low", None])
    out = derive(f, S)
    assert out["caseload_band"].tolist()[:2] == ["1-20", "51-60"]
    assert out["age_group"].tolist() == ["30-39", "60+", "18-24"]
    assert out["rosh_level"].tolist()[:2] == ["High/Very high", "Low"]
    assert f["rosh_level"].tolist()[0] == "Very high"  # the input is not changed


# ----------------------------------------------------------------------------- counts


def test_yes_n_leaves_out_not_applicable_and_blanks() -> None:
    s = pd.Series(["yes", "no", "not applicable", None, "yes", "yes"], dtype="str")
    assert d.yes_n(s) == (3, 4)


def test_by_level_counts_each_judgement_within_each_level() -> None:
    f = case_frame(
        6,
        skills_knowledge=["yes", "yes", "yes", "no", "no", None],
        sentence_implemented=["yes", "no", "yes", "no", "no", "yes"],
        supports_safety=["yes", "not applicable", None, "yes", "no", "yes"],
    )
    cells = d.by_level(f, "skills_knowledge", ("yes", "no"),
                       ("sentence_implemented", "supports_safety"))
    got = {(r.level, r.judgement): (r.yes, r.n) for r in cells.itertuples()}
    assert got == {("yes", "sentence_implemented"): (2, 3), ("no", "sentence_implemented"): (0, 2),
                   ("yes", "supports_safety"): (1, 1), ("no", "supports_safety"): (1, 2)}


def _pearson(table: np.ndarray) -> tuple[float, float]:
    rows, cols, total = table.sum(1), table.sum(0), table.sum()
    expected = np.outer(rows, cols) / total
    stat = float(((table - expected) ** 2 / expected).sum())
    return stat, float(chi2.sf(stat, 1))


def _fisher(a: int, b: int, c: int, e: int) -> float:
    """Two-sided Fisher exact p by summing hypergeometric probabilities (<= observed)."""
    r1, c1, n = a + b, a + c, a + b + c + e

    def prob(x: int) -> float:
        return math.comb(c1, x) * math.comb(n - c1, r1 - x) / math.comb(n, r1)

    observed = prob(a)
    support = range(max(0, r1 - (n - c1)), min(r1, c1) + 1)
    return sum(prob(x) for x in support if prob(x) <= observed * (1 + 1e-7))


def test_difference_test_uses_uncorrected_chi_square() -> None:
    t = d.difference_test(60, 100, 45, 100)
    stat, p = _pearson(np.array([[60, 40], [45, 55]]))
    assert t.test == d.CHI_SQUARE
    assert t.statistic == pytest.approx(stat) and t.p == pytest.approx(p)


def test_difference_test_uses_fisher_when_an_expected_count_is_small() -> None:
    t = d.difference_test(9, 10, 3, 12)
    table = np.array([[9, 1], [3, 9]])
    expected = np.outer(table.sum(1), table.sum(0)) / table.sum()
    assert (expected < 5).any()
    assert t.test == d.FISHER
    assert t.p == pytest.approx(_fisher(9, 1, 3, 9))


def test_difference_test_without_answers_in_a_group() -> None:
    t = d.difference_test(0, 0, 5, 10)
    assert t.p is None and t.test == d.NO_TEST


def test_providers_are_name_and_type_in_report_order() -> None:
    f = case_frame(
        6,
        provider=["Wales", "Wales", "Essex", "Wales", "Essex", "Zeta"],
        provider_type=["CRC", "NPS", "CRC", "CRC", "CRC", "CRC"],
        report_month=["2019-07", "2019-04", "2018-10", "2019-07", "2018-10", None],
    )
    interviewed = np.array([True, False, True, True, False, False])
    out = d.providers(f, interviewed)
    assert out[["provider", "provider_type"]].values.tolist() == [
        ["Essex", "CRC"], ["Wales", "NPS"], ["Wales", "CRC"], ["Zeta", "CRC"]]
    assert out["cases"].tolist() == [2, 1, 2, 1]
    assert out["interviews"].tolist() == [1, 0, 2, 0]
    assert out["report_month"].tolist()[:3] == ["2018-10", "2019-04", "2019-07"]


def _providers_case_by_case(frame: pd.DataFrame, interviewed: np.ndarray) -> pd.DataFrame:
    """Annex A grouped from every case as text: what `providers` gives from the distinct
    combinations (a frozen copy of the plain grouping)."""
    work = pd.DataFrame({
        "provider": frame["provider"].astype(str).to_numpy(),
        "provider_type": frame["provider_type"].astype(str).to_numpy(),
        "report_month": frame["report_month"].to_numpy(dtype=object),
        "interviewed": interviewed.astype(int),
    })
    months = work.groupby(["provider", "provider_type"])["report_month"].agg(
        lambda s: s.dropna().min() if s.notna().any() else None)
    counts = work.groupby(["provider", "provider_type"]).agg(
        cases=("interviewed", "size"), interviews=("interviewed", "sum"))
    out = counts.join(months).reset_index()
    out["_unknown"] = out["report_month"].isna()
    out = out.sort_values(["_unknown", "report_month", "provider", "provider_type"],
                          na_position="last").drop(columns="_unknown")
    out["cases"] = out["cases"].astype(int)
    out["interviews"] = out["interviews"].astype(int)
    return out.reset_index(drop=True)[["provider", "provider_type", "report_month",
                                       "cases", "interviews"]]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("coded", [False, True])  # text, or categories as loaded
def test_providers_from_distinct_rows_are_those_case_by_case(seed: int, coded: bool,
                                                             ) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    names = rng.choice(["Wales", "Essex", "Kent", "Zeta", "Avon"], size=n)
    months = rng.choice(["2018-10", "2019-04", "2019-07", None], size=n,
                        p=[0.3, 0.3, 0.2, 0.2]).astype(object)
    months[names == "Zeta"] = None  # a provider whose month is never known
    f = case_frame(n, provider=list(names),
                   provider_type=list(rng.choice(["CRC", "NPS"], size=n)),
                   report_month=list(months))
    if coded:
        f = f.astype({"provider_type": "category", "report_month": "category"})
    interviewed = rng.random(n) < 0.6
    pd.testing.assert_frame_equal(d.providers(f, interviewed),
                                  _providers_case_by_case(f, interviewed))


# ----------------------------------------------------------------------------- the stage


def random_cases(n: int = 700, seed: int = 7) -> pd.DataFrame:
    """A random canonical frame with a real effect of one question, for the whole stage."""
    rng = np.random.default_rng(seed)
    interviewed = rng.random(n) < 0.7
    pick = lambda options, p=None: rng.choice(options, n, p=p).astype(object)  # noqa: E731
    answers = {}
    for q in S.questions:
        a = (pick(["yes", "no", "not applicable"], [0.45, 0.45, 0.1]) if q.not_applicable
             else pick(["yes", "no"]))
        a[~interviewed] = None
        a[rng.random(n) < 0.01] = None
        answers[q.key] = a
    skills = answers["skills_knowledge"] == "yes"
    judged = {}
    for j in S.judgement_keys:
        p = 1 / (1 + np.exp(-(-1.0 + 2.0 * skills)))
        judged[j] = np.where(rng.random(n) < p, "yes", "no").astype(object)
        judged[j][rng.random(n) < 0.02] = None
    judged["supports_safety"][rng.random(n) < 0.1] = "not applicable"
    provider = rng.integers(0, 4, n)
    names = np.array(["Wales", "Wales", "Essex", "Kent"])[provider]
    types = np.array(["CRC", "NPS", "CRC", "NPS"])[provider]
    months = np.array(["2019-07", "2019-04", "2018-10", "2019-06"])[provider]
    caseload = rng.integers(1, 95, n).astype(object)
    caseload[~interviewed | (rng.random(n) < 0.03)] = None
    grade = pick(["Probation Officer", "Probation Service Officer", "Other or not clear"])
    grade[~interviewed] = None
    return case_frame(
        n, case_id=[f"C{i}" for i in range(n)], provider=names, provider_type=types,
        report_month=months, ro_interviewed=np.where(interviewed, "yes", "no"),
        ro_grade=grade, caseload=caseload, age=rng.integers(18, 90, n),
        gender=pick(["Male", "Female"]), ethnicity=pick(["White", "Ethnic minority"]),
        ogrs_score=rng.integers(0, 100, n), rosh_level=pick(["Low", "Medium", "High",
                                                            "Very high"]),
        supervision_type=pick(["Community sentence", "Post-custody"]), **answers, **judged)


@pytest.fixture(scope="module")
def stage() -> tuple[pd.DataFrame, object]:
    frame = random_cases()
    return frame, analyse(frame, EDITION)


def _iv(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["ro_interviewed"] == "yes"]


def test_stage_counts_every_case_but_tabulates_interviews(stage) -> None:
    frame, r = stage
    iv = _iv(frame)
    assert r.cases_inspected == len(frame)
    for row in r.table1.itertuples():
        col = iv[row.variable]
        assert (row.yes, row.n) == ((col == "yes").sum(), col.isin(["yes", "no"]).sum())
    for row in r.table2.itertuples():
        col = iv[row.variable]
        assert (row.yes, row.n) == ((col == "yes").sum(), col.isin(["yes", "no"]).sum())


def test_stage_b1_cells_and_tests_match_a_crosstab(stage) -> None:
    frame, r = stage
    iv = _iv(frame)
    for q in S.question_keys:
        for j in S.judgement_keys:
            sub = iv[iv[j].isin(["yes", "no"])]
            tab = pd.crosstab(sub[q], sub[j])
            for level in ("yes", "no"):
                cell = r.b1[(r.b1.variable == q) & (r.b1.level == level)
                            & (r.b1.judgement == j)].iloc[0]
                assert (cell.yes, cell.n) == (tab.loc[level, "yes"], tab.loc[level].sum())
            test = r.b1_tests[(r.b1_tests.variable == q) & (r.b1_tests.judgement == j)].iloc[0]
            _, p = _pearson(tab.loc[["yes", "no"], ["yes", "no"]].to_numpy(dtype=float))
            assert test.p == pytest.approx(p)


def test_stage_caseload_bands_b2_and_figure2(stage) -> None:
    frame, r = stage
    iv = _iv(frame)
    load = iv["caseload"].astype(float)
    cut = pd.cut(load, [0, 20, 30, 40, 50, 60, 70, np.inf], labels=CASELOAD.labels)
    for level in CASELOAD.labels:
        in_band = (cut == level).to_numpy()
        cell = r.b1[(r.b1.variable == "caseload_band") & (r.b1.level == level)
                    & (r.b1.judgement == "supports_desistance")].iloc[0]
        col = iv.loc[in_band, "supports_desistance"]
        assert (cell.yes, cell.n) == ((col == "yes").sum(), col.isin(["yes", "no"]).sum())
        fig = r.fig2[r.fig2.level == level].iloc[0]
        w = iv.loc[in_band, "workload_manageable"]
        assert (fig.yes, fig.no) == ((w == "yes").sum(), (w == "no").sum())
    female = iv[iv["gender"] == "Female"]["supports_safety"]
    cell = r.b2[(r.b2.variable == "gender") & (r.b2.level == "Female")
                & (r.b2.judgement == "supports_safety")].iloc[0]
    assert (cell.yes, cell.n) == ((female == "yes").sum(), female.isin(["yes", "no"]).sum())
    assert list(r.b2.variable.unique()) == list(S.case_variables)
    high = iv["rosh_level"].isin(["High", "Very high"])
    cell = r.b2[(r.b2.variable == "rosh_level") & (r.b2.level == "High/Very high")
                & (r.b2.judgement == "sentence_implemented")].iloc[0]
    col = iv.loc[high, "sentence_implemented"]
    assert (cell.yes, cell.n) == ((col == "yes").sum(), col.isin(["yes", "no"]).sum())


def test_stage_narrative_counts(stage) -> None:
    frame, r = stage
    iv = _iv(frame)
    types = r.by_provider_type.set_index("provider_type")
    assert types.loc["CRC", "providers"] == 2 and types.loc["NPS", "providers"] == 2
    assert types.interviews.sum() == len(iv)
    load = iv["caseload"].astype(float)
    for t in ("CRC", "NPS"):
        of_type = (iv["provider_type"] == t).to_numpy() & load.notna().to_numpy()
        row = r.caseload_over[r.caseload_over.level == t].iloc[0]
        assert (row["count"], row.base) == ((load[of_type] > 50).sum(), of_type.sum())
        mix = r.rosh_mix[(r.rosh_mix.by == t) & (r.rosh_mix.level == "Medium")].iloc[0]
        rosh = iv.loc[iv["provider_type"] == t, "rosh_level"]
        assert (mix["count"], mix.base) == ((rosh == "Medium").sum(), rosh.notna().sum())
    over = iv[load > 50]["sentence_implemented"]
    cell = r.caseload_split[(r.caseload_split.level == "over")
                            & (r.caseload_split.judgement == "sentence_implemented")].iloc[0]
    assert (cell.yes, cell.n) == ((over == "yes").sum(), over.isin(["yes", "no"]).sum())


def test_stage_threshold_is_strictly_above() -> None:
    f = random_cases(300, seed=3)
    known = f["caseload"].notna().to_numpy()
    f["caseload"] = pd.array(np.where(known, np.where(np.arange(300) % 3, 50, 51), None),
                             dtype="Int64")
    r = analyse(f, EDITION)
    crc = (f["provider_type"] == "CRC").to_numpy() & (f["ro_interviewed"] == "yes").to_numpy()
    row = r.caseload_over[r.caseload_over.level == "CRC"].iloc[0]
    assert row["count"] == int((f["caseload"][crc] == 51).sum())
    assert row.base == int(f["caseload"][crc].notna().sum())
    assert r.fig2.level[r.fig2.yes + r.fig2.no > 0].tolist() == ["41-50", "51-60"]


def test_stage_follows_configured_bands() -> None:
    """A different banding in the settings changes the tables, with no code change."""
    coarse = Banding("caseload_band", "caseload", (Band("1-50", 1, 50), Band("51+", 51, None)))
    bands = tuple(coarse if b.name == "caseload_band" else b for b in S.bands)
    edition = replace(EDITION, analysis=replace(S, bands=bands))
    frame = random_cases(400, seed=11)
    r = analyse(frame, edition)
    assert r.fig2.level.tolist() == ["1-50", "51+"]
    iv = _iv(frame)
    answered = iv["workload_manageable"].isin(["yes", "no"]) & iv["caseload"].notna()
    assert int(r.fig2.yes.sum() + r.fig2.no.sum()) == int(answered.sum())


def test_stage_names_missing_columns() -> None:
    frame = random_cases(50, seed=2).drop(columns=["ogrs_score", "clear_roles"])
    with pytest.raises(BulletinError, match=r"\['clear_roles', 'ogrs_score'\]"):
        analyse(frame, EDITION)


def test_model_frame_codes_outcome_and_answers() -> None:
    from bulletin.analysis.models import model_frame

    f = derive(case_frame(
        4, supports_safety=["yes", "no", "not applicable", None],
        relationships_harm=["yes", "not applicable", "no", None],
        caseload=[12, None, 70, 33], rosh_level=["High", "Low", None, "Medium"],
        age=[20, 30, 40, 50]), S)
    m = model_frame(f, S, "supports_safety")
    assert list(m.columns) == ["supports_safety", *S.candidates]
    assert m["supports_safety"].tolist()[:2] == [1.0, 0.0]
    assert m["supports_safety"].isna().tolist() == [False, False, True, True]
    assert m["relationships_harm"].isna().tolist() == [False, True, False, True]
    assert m["relationships_harm"].dropna().tolist() == ["yes", "no"]
    assert m["caseload"].dtype == float and math.isnan(m["caseload"].iloc[1])
    assert m["rosh_level"].tolist()[:2] == ["High/Very high", "Low"]
    assert m["age_group"].tolist() == ["18-24", "30-39", "40-59", "40-59"]
