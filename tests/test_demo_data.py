"""The shipped demonstration data against every published figure it is built to reproduce.

The data are read with pandas directly and every count is recomputed here from the raw
columns, independently of the generator's own code, against the reference CSVs.
"""

from __future__ import annotations

import csv
import hashlib
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bulletin.analysis.stepwise import fit_logit, forward_stepwise
from bulletin.change import proportion_test
from bulletin.config import PACKAGE_DIR, default_settings
from bulletin.demo import demo_data_command, shipped_file
from bulletin.schema import column_names
from bulletin.validate import validate_command

REF = PACKAGE_DIR / "reference" / "hmip_2020_01"
DATA = shipped_file("2018-19")
JUDGEMENTS = {"sentence": "sentence_implemented", "desistance": "supports_desistance",
              "safety": "supports_safety"}
CASELOAD = [("1-20", 1, 20), ("21-30", 21, 30), ("31-40", 31, 40), ("41-50", 41, 50),
            ("51-60", 51, 60), ("61-70", 61, 70), ("71+", 71, 10_000)]
AGE = [("18-24", 18, 24), ("25-29", 25, 29), ("30-39", 30, 39), ("40-59", 40, 59),
       ("60+", 60, 200)]
OGRS = [("Low", 0, 49), ("Medium", 50, 74), ("High/Very high", 75, 99)]


def ref(name: str) -> list[dict[str, str]]:
    with (REF / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def pct(k: int, n: int, decimals: int) -> str:
    q = Decimal(1).scaleb(-decimals)
    return str((Decimal(100 * k) / Decimal(n)).quantize(q, rounding=ROUND_HALF_UP))


def banded(values: pd.Series, bands: list[tuple[str, int, int]]) -> pd.Series:
    num = pd.to_numeric(values.replace("", np.nan))
    out = pd.Series("", index=values.index, dtype=object)
    for label, lo, hi in bands:
        out[(num >= lo) & (num <= hi)] = label
    return out


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(DATA, comment="#", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def data(raw: pd.DataFrame) -> pd.DataFrame:
    """The raw columns plus the bands and groupings the published tables use."""
    d = raw.copy()
    d["caseload_band"] = banded(d["caseload"], CASELOAD)
    d["age_group"] = banded(d["age"], AGE)
    d["ogrs_band"] = banded(d["ogrs_score"], OGRS)
    d["rosh_level"] = d["rosh_level"].replace({"High": "High/Very high",
                                               "Very high": "High/Very high"})
    return d


@pytest.fixture(scope="module")
def interviewed(data: pd.DataFrame) -> pd.DataFrame:
    return data[data["ro_interviewed"] == "yes"]


def test_file_is_labelled_synthetic_with_canonical_columns(raw: pd.DataFrame) -> None:
    first = DATA.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# SYNTHETIC demonstration data for bulletin")
    assert tuple(raw.columns) == column_names(default_settings())
    assert raw["case_id"].str.fullmatch(r"DEMO-\d{5}").all()
    assert raw["case_id"].is_unique


def test_case_and_interview_counts(raw: pd.DataFrame) -> None:
    facts = {r["key"]: r["value"] for r in ref("text_facts.csv")}
    assert len(raw) == int(facts["cases_inspected"])
    i = raw[raw["ro_interviewed"] == "yes"]
    assert len(i) == int(facts["ro_interviews"])
    assert (i["provider_type"] == "CRC").sum() == int(facts["ro_interviews_crc"])
    assert (i["provider_type"] == "NPS").sum() == int(facts["ro_interviews_nps"])
    providers = {(r["provider"], r["provider_type"]): r["report_published"]
                 for r in ref("tableA1_providers.csv")}
    seen = set(zip(raw["provider"], raw["provider_type"], strict=True))
    assert seen == set(providers)
    months = raw.apply(lambda r: providers[(r["provider"], r["provider_type"])], axis=1)
    assert (raw["report_month"] == months).all()


def test_codes_and_ranges(raw: pd.DataFrame) -> None:
    schema_codes = {
        "provider_type": {"CRC", "NPS"}, "ro_interviewed": {"yes", "no"},
        "rosh_level": {"Low", "Medium", "High", "Very high", ""},
        "gender": {"Male", "Female", ""}, "ethnicity": {"White", "Ethnic minority", ""},
        "supervision_type": {"Community sentence", "Post-custody", ""},
        "ro_grade": {"Probation Officer", "Probation Service Officer", "Other or not clear",
                     ""},
    }
    for col, allowed in schema_codes.items():
        assert set(raw[col]) <= allowed, col
    assert set(raw["rosh_level"]) >= {"Low", "Medium", "High", "Very high"}
    for col, lo, hi in (("age", 18, 100), ("ogrs_score", 0, 99), ("caseload", 1, 200)):
        v = raw[col][raw[col] != ""]
        assert v.str.fullmatch(r"\d+").all(), col
        assert v.astype(int).between(lo, hi).all(), col


def test_table1(interviewed: pd.DataFrame) -> None:
    for r in ref("table1_interview_questions.csv"):
        a = interviewed[r["key"]]
        yes, no = int((a == "yes").sum()), int((a == "no").sum())
        assert pct(yes, yes + no, 0) == r["pct_yes"], r["key"]


def test_table2(interviewed: pd.DataFrame) -> None:
    for r in ref("table2_inspector_judgements.csv"):
        j = interviewed[r["key"]]
        n, yes = int(j.isin(["yes", "no"]).sum()), int((j == "yes").sum())
        assert (n, pct(yes, n, 0)) == (int(r["n"]), r["pct_yes"]), r["key"]


def published_cells() -> list[tuple[str, str, str, int, str]]:
    cells = []
    for r in ref("tableB1_by_interview_response.csv"):
        level = r["response"].lower() if r["response"] in ("Yes", "No") else r["response"]
        for short in JUDGEMENTS:
            cells.append((r["key"], level, short, int(r[f"{short}_n"]), r[f"{short}_pct_yes"]))
    for r in ref("tableB2_by_case_variable.csv"):
        for short in JUDGEMENTS:
            if r[f"{short}_n"]:
                cells.append((r["variable"], r["category"], short, int(r[f"{short}_n"]),
                              r[f"{short}_pct_yes"]))
    return cells


def test_every_published_cell_is_exact(interviewed: pd.DataFrame) -> None:
    cells = published_cells()
    assert len(cells) == 17 * 6 + 7 * 3 + 49
    wrong = []
    for variable, level, short, n_pub, pct_pub in cells:
        j = interviewed[JUDGEMENTS[short]]
        sub = j[(interviewed[variable] == level) & j.isin(["yes", "no"])]
        n, yes = len(sub), int((sub == "yes").sum())
        decimals = len(pct_pub.split(".")[1]) if "." in pct_pub else 0
        if n != n_pub or pct(yes, n, decimals) != pct_pub:
            wrong.append((variable, level, short, n, n_pub, pct(yes, n, decimals), pct_pub))
    assert not wrong


def test_text_facts(interviewed: pd.DataFrame) -> None:
    facts = {r["key"]: r["value"] for r in ref("text_facts.csv")}
    cl = pd.to_numeric(interviewed["caseload"].replace("", np.nan))
    for typ, key in (("NPS", "nps_staff_caseload_over_50"), ("CRC", "crc_staff_caseload_over_50")):
        c = cl[(interviewed["provider_type"] == typ) & cl.notna()]
        assert pct(int((c > 50).sum()), len(c), 0) == facts[key]
    crc = interviewed[(interviewed["provider_type"] == "CRC") & (interviewed["rosh_level"] != "")]
    assert pct(int((crc["rosh_level"] == "Medium").sum()), len(crc), 0) == facts["crc_rosh_medium"]
    # Figure 2: yes outnumbers no in every band up to 50, no outnumbers yes above.
    for label, lo, _ in CASELOAD:
        w = interviewed["workload_manageable"][interviewed["caseload_band"] == label]
        yes, no = int((w == "yes").sum()), int((w == "no").sum())
        assert (yes > no) if lo <= 50 else (no > yes), label
    # Figure 3: "about seven in ten" (the B1 cells fix this share at 70.8%).
    s = interviewed["sentence_implemented"][(cl > 50) & interviewed["sentence_implemented"]
                                             .isin(["yes", "no"])]
    assert abs(100 * (s == "yes").mean() - 70) < 1


def test_judgements_nest_and_blanks(data: pd.DataFrame) -> None:
    s, d, f = (data[k] for k in JUDGEMENTS.values())
    judged = {k: v.isin(["yes", "no"]) for k, v in (("s", s), ("d", d), ("f", f))}
    assert not (judged["d"] & ~judged["s"]).any()
    assert not (judged["f"] & ~judged["d"]).any()
    assert (f[judged["d"] & ~judged["f"]] == "not applicable").all()
    assert (f[~judged["d"]] == "").all()
    out = data[data["ro_interviewed"] == "no"]
    interview_cols = ["ro_grade", "caseload", *default_settings().question_keys]
    assert (out[interview_cols] == "").all().all()
    for col in ("age", "gender", "rosh_level", "sentence_implemented"):
        assert (out[col] != "").mean() > 0.9, col


def test_structure_is_plausible(data: pd.DataFrame, interviewed: pd.DataFrame) -> None:
    hvh = data["rosh_level"] == "High/Very high"
    assert (data["provider_type"][hvh] == "NPS").all()
    cl = pd.to_numeric(interviewed["caseload"].replace("", np.nan))
    assert cl[interviewed["provider_type"] == "NPS"].median() < \
        cl[interviewed["provider_type"] == "CRC"].median()
    yn = interviewed[list(default_settings().question_keys)].replace(
        {"yes": 1.0, "no": 0.0, "not applicable": np.nan, "": np.nan}).astype(float)
    corr = yn.corr().to_numpy()
    off = corr[~np.eye(len(corr), dtype=bool)]
    assert off.mean() > 0.1  # organisational answers hang together
    assert yn.corrwith(cl)["workload_manageable"] < -0.2
    j = interviewed[list(JUDGEMENTS.values())].replace(
        {"yes": 1.0, "no": 0.0, "not applicable": np.nan, "": np.nan}).astype(float)
    assert (j.corr().to_numpy()[np.triu_indices(3, 1)] > 0.2).all()
    sizes = data.groupby(["provider", "provider_type"]).size()
    assert len(sizes) == 28 and sizes.min() >= 20


# ----------------------------------------------------------------------------- models

CANDIDATES = list(default_settings().candidates)


def model_frame(data: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Listwise over all 25 candidates and the outcome, coded for the analysis functions."""
    d = data[data["ro_interviewed"] == "yes"].copy()
    frame = pd.DataFrame(index=d.index)
    for q in default_settings().question_keys:
        frame[q] = d[q].where(d[q].isin(["yes", "no"]))
    for v in ("age_group", "gender", "ethnicity", "supervision_type", "ogrs_band",
              "rosh_level", "ro_grade"):
        frame[v] = d[v].where(d[v] != "")
    frame["caseload"] = pd.to_numeric(d["caseload"].replace("", np.nan))
    frame[outcome] = d[outcome].map({"yes": 1.0, "no": 0.0})
    return frame.dropna()


def reference() -> dict[str, str]:
    s = default_settings()
    return {v: s.reference_level(v) for v in CANDIDATES if v != "caseload"}


def published(outcome: str) -> tuple[list[str], dict[tuple[str, str], tuple[float, float]]]:
    rows = [r for r in ref("tableB3_B5_regression_models.csv") if r["outcome"] == outcome]
    variables = list(dict.fromkeys(r["term"] for r in rows if r["term"] != "constant"))
    coef = {(r["term"], r["level"].lower() if r["level"] in ("Yes", "No") else r["level"]):
            (float(r["B"]), float(r["SE"])) for r in rows if r["B"]}
    return variables, coef


# The printed SE of B5's constant (1.30) is several times that of every other term and of
# the constant refitted on the same cases (about 0.4), so it is most likely a misprint;
# measured against it, "within 1 SE" would allow a gap of 1.3. That term must also lie
# within 1 SE of the refit.
DOUBTFUL_SE = {("supports_safety", ("constant", ""))}


@pytest.mark.parametrize("outcome", list(JUDGEMENTS.values()))
def test_published_model_coefficients(data: pd.DataFrame, outcome: str) -> None:
    """Every B with the published sign and within 1 published SE of the printed value."""
    frame = model_frame(data, outcome)
    variables, coef = published(outcome)
    fitted = fit_logit(frame, outcome, variables, reference())
    got = {(t.variable, t.level or ""): (t.b, t.se) for t in fitted.terms}
    got[("constant", "")] = (fitted.constant.b, fitted.constant.se)
    lines, far = [], []
    for key, (b_pub, se_pub) in coef.items():
        b, se_fit = got[key]
        se = se_pub if se_pub > 0 else 0.005  # printed 0.00: below half a unit
        if (outcome, key) in DOUBTFUL_SE:
            se = min(se, se_fit)
        dist = (b - b_pub) / se
        lines.append(f"{outcome} {key}: B={b:.3f} published {b_pub:.2f} ({se_pub:.2f}) "
                     f"distance {dist:+.2f} SE")
        if abs(dist) > 1 or np.sign(b) != np.sign(b_pub):
            far.append(key)
    print("\n".join(lines))
    assert set(got) == set(coef)
    assert not far, "\n".join(lines)


@pytest.mark.parametrize("outcome", list(JUDGEMENTS.values()))
def test_stepwise_selects_the_published_variables(data: pd.DataFrame, outcome: str) -> None:
    frame = model_frame(data, outcome)
    s = default_settings()
    result = forward_stepwise(frame, outcome, CANDIDATES, reference(), pin=s.pin, pout=s.pout,
                              removal="lr")
    print(result.summary())
    assert set(result.selected) == set(published(outcome)[0])


@pytest.mark.parametrize(("model", "factor"), [("sentence_implemented", 1.08),
                                               ("supports_desistance", 0.92),
                                               ("supports_safety", 1.0)])
def test_coefficient_targets_keep_the_published_stars(model: str, factor: float) -> None:
    """With standard errors a few per cent off the printed ones (as on our samples), the
    generator's targets keep every published star, term and joint test, and every B
    within 0.25 published SE of the printed value, as computed and as printed."""
    from scipy.stats import chi2, norm

    from bulletin.analysis.logit import stars
    from bulletin.demo.design import published_models
    from bulletin.demo.significance import coefficient_targets, published_se
    from bulletin.demo.targets import reference_dir
    from bulletin.words import round_half_up

    m = published_models(reference_dir())[model]
    se_pub = published_se(m)
    se = se_pub * factor
    same = np.array([[a.variable == b.variable for b in m.terms] + [False] for a in m.terms]
                    + [[False] * len(m.terms) + [True]])
    cov = np.outer(se, se) * np.where(same, np.where(np.eye(len(se), dtype=bool), 1, 0.6), 0)
    target, room = coefficient_targets(m, np.array(m.b), cov)
    assert (room > 0).all()
    for i, tm in enumerate(m.terms):
        assert stars(2 * norm.sf(abs(target[i]) / se[i])) == m.stars[i], tm.name
    for i, b_pub in enumerate(m.b):
        assert abs(target[i] - b_pub) <= 0.25 * se_pub[i]
        assert abs(float(round_half_up(target[i], 2)) - b_pub) <= 0.25 * se_pub[i]
    for variable, published_stars in m.block_stars:
        idx = [i for i, tm in enumerate(m.terms) if tm.variable == variable]
        v = target[idx]
        wald = v @ np.linalg.inv(cov[np.ix_(idx, idx)]) @ v
        assert stars(chi2.sf(wald, len(idx))) == published_stars, variable
    # the printed B's themselves would not do for B3 (OGRS Medium falls to two stars)
    if factor > 1:
        z = [abs(b) / s for b, s in zip(m.b, se, strict=False)]
        assert any(stars(2 * norm.sf(zi)) != st for zi, st in zip(z, m.stars, strict=False))


# ----------------------------------------------------------------------------- determinism

@pytest.mark.slow
def test_regeneration_gives_the_shipped_bytes(tmp_path: Path) -> None:
    out = tmp_path / "demo.csv"
    assert demo_data_command(out, "2018-19", regenerate=True) == 0
    assert hashlib.sha256(out.read_bytes()).hexdigest() == \
        hashlib.sha256(DATA.read_bytes()).hexdigest()


def test_copy_is_the_shipped_file(tmp_path: Path) -> None:
    out = tmp_path / "demo.csv"
    assert demo_data_command(out, "2018-19", regenerate=False) == 0
    assert out.read_bytes() == DATA.read_bytes()


# ----------------------------------------------------------------------------- 2019-20

NEXT = shipped_file("2019-20")


@pytest.fixture(scope="module")
def next_year() -> pd.DataFrame:
    return pd.read_csv(NEXT, comment="#", dtype=str, keep_default_na=False)


def test_next_year_is_synthetic_canonical_and_consistent(next_year: pd.DataFrame) -> None:
    assert NEXT.read_text(encoding="utf-8").startswith(
        "# SYNTHETIC demonstration data for bulletin")
    assert tuple(next_year.columns) == column_names(default_settings())
    assert next_year["case_id"].str.fullmatch(r"DEMO-\d{5}").all()
    d = next_year
    hvh = d["rosh_level"].isin(["High", "Very high"])
    assert (d["provider_type"][hvh] == "NPS").all()
    s, f = d["sentence_implemented"], d["supports_safety"]
    dd = d["supports_desistance"]
    assert not (dd.isin(["yes", "no"]) & ~s.isin(["yes", "no"])).any()
    assert not (f.isin(["yes", "no"]) & ~dd.isin(["yes", "no"])).any()
    out = d[d["ro_interviewed"] == "no"]
    assert (out[["ro_grade", "caseload", *default_settings().question_keys]] == "").all().all()


def test_next_year_moves_plausibly(raw: pd.DataFrame, next_year: pd.DataFrame) -> None:
    """Workload manageable up notably, caseloads down, most other answers about the same."""
    def share(d: pd.DataFrame, col: str) -> float:
        x = d[d["ro_interviewed"] == "yes"][col]
        return (x == "yes").sum() / x.isin(["yes", "no"]).sum()

    def caseload(d: pd.DataFrame) -> pd.Series:
        x = d[d["ro_interviewed"] == "yes"]["caseload"]
        return pd.to_numeric(x[x != ""])

    assert share(next_year, "workload_manageable") > share(raw, "workload_manageable") + 0.05
    assert caseload(next_year).median() < caseload(raw).median()
    for q in ("skills_knowledge", "clear_roles", "relationships_desistance"):
        assert abs(share(next_year, q) - share(raw, q)) < 0.03, q
    assert 0.8 < len(next_year) / len(raw) < 1.2


def test_next_year_validates_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_command(NEXT, None) == 0
    assert "OK: no errors, 0 warnings." in capsys.readouterr().out


def yes_n(d: pd.DataFrame, col: str) -> tuple[int, int]:
    """Yes count and yes-or-no base among interviewed cases."""
    x = d[d["ro_interviewed"] == "yes"][col]
    return int((x == "yes").sum()), int(x.isin(["yes", "no"]).sum())


def movement(old: pd.DataFrame, new: pd.DataFrame, col: str) -> tuple[float, float]:
    """Change in the yes share (points) and the two-sided p the `diff` command reports."""
    (x1, n1), (x2, n2) = yes_n(old, col), yes_n(new, col)
    p, _test = proportion_test(x1, n1, x2, n2)
    assert p is not None
    return 100 * (x2 / n2 - x1 / n1), p


# Questions the 2019-20 spec moves on purpose; the rest move by chance only.
SHIFTED = {"workload_manageable", "workloads_actively_managed", "inservice_training"}


def test_next_year_table1_moves_like_a_fresh_sample(raw: pd.DataFrame,
                                                    next_year: pd.DataFrame) -> None:
    """Workload manageable clearly and significantly up; every other question moves by
    a point or two, seldom significantly, and almost never by nothing."""
    moves = {q: movement(raw, next_year, q) for q in default_settings().question_keys}
    change, p = moves["workload_manageable"]
    assert change > 5 and p < 0.001
    significant = [q for q, (_, p) in moves.items() if p < 0.05]
    assert len(significant) <= 4, significant
    chance = {q: m for q, m in moves.items() if q not in SHIFTED}
    assert sum(p < 0.05 for _, p in chance.values()) <= 1
    assert all(abs(c) < 4 for c, _ in chance.values()), chance
    assert sum(abs(c) >= 0.2 for c, _ in chance.values()) >= len(chance) - 2, chance
    sizes = sorted(abs(c) for c, _ in chance.values())
    assert 0.4 <= sizes[len(sizes) // 2] <= 3, sizes


def test_next_year_judgements_and_risk_move_a_little(raw: pd.DataFrame,
                                                     next_year: pd.DataFrame) -> None:
    for j in JUDGEMENTS.values():
        change, p = movement(raw, next_year, j)
        assert 0.2 <= abs(change) < 4 and p > 0.05, (j, change, p)

    def risk_mix(d: pd.DataFrame) -> pd.Series:
        r = d[(d["ro_interviewed"] == "yes") & (d["rosh_level"] != "")]["rosh_level"]
        return 100 * r.value_counts(normalize=True)

    mix = (risk_mix(next_year) - risk_mix(raw)).abs()
    assert mix.max() < 3 and (mix >= 0.2).sum() >= 2, mix


def test_next_year_caseloads_fall(raw: pd.DataFrame, next_year: pd.DataFrame) -> None:
    """CRC officers above 50 cases: significantly fewer; NPS about the same."""
    def over_50(d: pd.DataFrame, typ: str) -> tuple[int, int]:
        i = d[(d["ro_interviewed"] == "yes") & (d["provider_type"] == typ)]
        cl = pd.to_numeric(i["caseload"][i["caseload"] != ""])
        return int((cl > 50).sum()), len(cl)

    (x1, n1), (x2, n2) = over_50(raw, "CRC"), over_50(next_year, "CRC")
    assert x2 / n2 < x1 / n1 - 0.05 and proportion_test(x1, n1, x2, n2)[0] < 0.001
    (x1, n1), (x2, n2) = over_50(raw, "NPS"), over_50(next_year, "NPS")
    assert abs(x2 / n2 - x1 / n1) < 0.03


@pytest.mark.slow
def test_next_year_regenerates_to_the_shipped_bytes(tmp_path: Path) -> None:
    out = tmp_path / "next.csv"
    assert demo_data_command(out, "2019-20", regenerate=True) == 0
    assert out.read_bytes() == NEXT.read_bytes()


def test_bad_requests_are_clear_errors(tmp_path: Path) -> None:
    from bulletin.errors import BulletinError

    with pytest.raises(BulletinError, match="no demonstration data for edition"):
        demo_data_command(tmp_path / "x.csv", "1999-00")
    with pytest.raises(BulletinError, match="does not exist"):
        demo_data_command(tmp_path / "missing" / "x.csv", "2018-19")
    assert not list(tmp_path.iterdir())
