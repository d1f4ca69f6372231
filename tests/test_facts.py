"""The facts registry: key grammar, disclosure control and the numbers-file round trip."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bulletin.errors import BulletinError
from bulletin.facts import Fact, Registry, RegistryBuilder, slug

# ----------------------------------------------------------------------------- keys


@pytest.mark.parametrize(("level", "expected"), [
    ("High/Very high", "high_very_high"),
    ("71+", "71+"),
    ("1-20", "1-20"),
    ("Ethnic minority", "ethnic_minority"),
    ("Probation Service Officer", "probation_service_officer"),
    ("Hampshire & Isle of Wight", "hampshire_isle_of_wight"),
    ("  yes ", "yes"),
])
def test_slug(level: str, expected: str) -> None:
    assert slug(level) == expected


@pytest.mark.parametrize("key", ["Table1.x.pct_yes", "table1", "table1..n", "table1.x y.n",
                                 "b1.high/very.n", ".table1.n", "table1.n."])
def test_fact_rejects_keys_outside_the_grammar(key: str) -> None:
    with pytest.raises(ValueError, match="key grammar"):
        Fact(key, 1, "x")


def test_fact_rejects_unknown_unit() -> None:
    with pytest.raises(ValueError, match="unknown unit"):
        Fact("table1.x.n", 1, "x", unit="people")


def test_registry_refuses_a_key_twice() -> None:
    with pytest.raises(ValueError, match="twice"):
        Registry([Fact("fact.a", 1, "a"), Fact("fact.a", 2, "a again")])


# ----------------------------------------------------------------------------- disclosure


def test_small_counts_are_suppressed_but_zero_and_min_count_are_not() -> None:
    b = RegistryBuilder(min_count=5)
    for v in (0, 1, 4, 5, 300):
        b.count(f"fact.c{v}", v, "cases")
    reg = b.build()
    assert {v: reg[f"fact.c{v}"].suppressed for v in (0, 1, 4, 5, 300)} == \
        {0: False, 1: True, 4: True, 5: False, 300: False}


def _pct(yes: int, n: int, **kw: int) -> Registry:
    b = RegistryBuilder(**kw)
    b.proportion("b1.q.yes.j", yes, n, "J, where q = yes", counts=("yes", "no"))
    return b.build()


def test_percentage_on_a_small_base_is_suppressed() -> None:
    reg = _pct(2, 4)
    assert reg["b1.q.yes.j.pct_yes"].suppressed
    assert reg["b1.q.yes.j.n"].suppressed
    assert reg["b1.q.yes.j.pct_yes"].value == pytest.approx(50.0)  # kept for the analyst


@pytest.mark.parametrize(("yes", "n"), [(4, 100), (96, 100), (1, 31)])
def test_small_yes_or_no_count_suppresses_the_percentage_and_counts(yes: int, n: int) -> None:
    reg = _pct(yes, n)
    assert reg["b1.q.yes.j.pct_yes"].suppressed
    assert reg["b1.q.yes.j.yes"].suppressed and reg["b1.q.yes.j.no"].suppressed
    assert not reg["b1.q.yes.j.n"].suppressed  # the base alone gives nothing away


def test_all_yes_is_not_suppressed() -> None:
    reg = _pct(40, 40)
    assert not reg["b1.q.yes.j.pct_yes"].suppressed
    assert reg["b1.q.yes.j.pct_yes"].value == pytest.approx(100.0)


@pytest.mark.parametrize(("n", "unreliable"), [(29, True), (30, False), (0, False)])
def test_small_base_is_flagged_unreliable(n: int, unreliable: bool) -> None:
    reg = _pct(n // 2, n)
    assert reg["b1.q.yes.j.pct_yes"].unreliable is unreliable


def test_thresholds_come_from_the_builder() -> None:
    reg = _pct(8, 20, min_count=10, unreliable_base=15)
    assert reg["b1.q.yes.j.pct_yes"].suppressed
    assert not reg["b1.q.yes.j.pct_yes"].unreliable


def test_empty_base_has_no_percentage() -> None:
    reg = _pct(0, 0)
    f = reg["b1.q.yes.j.pct_yes"]
    assert f.value is None and not f.suppressed and (f.count, f.base) == (0, 0)


def test_percentage_carries_count_and_base() -> None:
    f = _pct(13, 52)["b1.q.yes.j.pct_yes"]
    assert (f.count, f.base, f.unit) == (13, 52, "percent")
    assert f.value == pytest.approx(25.0)


def test_count_outside_base_is_refused() -> None:
    with pytest.raises(ValueError, match="not within base"):
        RegistryBuilder().percent("fact.x.pct", 6, 5, "x")


@given(st.integers(0, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.integers(1, 12))
def test_no_small_count_can_be_read_off_a_published_percentage(yes_n: tuple[int, int],
                                                               min_count: int) -> None:
    yes, n = yes_n
    reg = _pct(yes, n, min_count=min_count)
    shown = {k: f for k, f in reg.items() if not f.suppressed}
    if "b1.q.yes.j.pct_yes" in shown:
        # with the percentage and its base public, yes and no are public too
        for count in (n, yes, n - yes):
            assert count == 0 or count >= min_count
    for name, count in (("yes", yes), ("no", n - yes), ("n", n)):
        if f"b1.q.yes.j.{name}" in shown:
            assert count == 0 or count >= min_count


# ----------------------------------------------------------------------------- numbers files


def _sample() -> Registry:
    b = RegistryBuilder()
    b.proportion("table1.workload_manageable", 900, 1940, "Workload manageable",
                 counts=("yes",))
    b.number("b1.skills_knowledge.diff.supports_safety.p", 3.2e-30, "p", "p_value")
    b.number("fact.fieldwork_start", "2018-06", "first month", "month")
    b.number("a1.01.provider", "123", "a provider whose name looks like a number", "text")
    b.number("model.j.term.1.level", None, "no level", "text")
    b.number("model.j.caseload.b", -0.0123456789012345, "B", "coefficient")
    b.number("model.j.chi2_df", 7, "df")
    b.count("a1.01.interviews", 3, "interviews")
    b.proportion("b2.gender.female.j", 20, 25, "J, female")
    return b.build()


def test_numbers_csv_round_trip(survives_numbers_csv) -> None:
    survives_numbers_csv(_sample())


def test_numbers_csv_keeps_tiny_p_values(tmp_path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text(_sample().to_csv(), encoding="utf-8")
    p = Registry.from_csv(path).value("b1.skills_knowledge.diff.supports_safety.p")
    assert 0 < p < 1e-29


def test_numbers_json_is_strict_json() -> None:
    b = RegistryBuilder()
    b.add(Fact("model.j.x.odds_ratio", math.inf, "overflowed", "odds_ratio"))
    b.add(Fact("model.j.x.p", math.nan, "undefined", "p_value"))
    b.number("model.j.y.p", math.nan, "undefined", "p_value")

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON")

    data = json.loads(b.build().to_json(), parse_constant=refuse)
    assert data["model.j.x.odds_ratio"]["value"] is None
    assert data["model.j.x.p"]["value"] is None and data["model.j.y.p"]["value"] is None


def test_from_csv_names_file_and_line(tmp_path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("key,value,label\nfact.ok,1,fine\nNot A Key,2,bad\n", encoding="utf-8")
    with pytest.raises(BulletinError, match=r"numbers\.csv, line 3"):
        Registry.from_csv(path)


def test_from_csv_rejects_other_files(tmp_path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(BulletinError, match="not a numbers file"):
        Registry.from_csv(path)
    with pytest.raises(BulletinError, match="not found"):
        Registry.from_csv(tmp_path / "absent.csv")


def test_numbers_file_with_a_bad_count_names_line_and_column(tmp_path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("key,value,label,unit,count,base,suppressed,unreliable\n"
                    "table1.q.pct_yes,50,Q,percent,fifty,100,0,0\n", encoding="utf-8")
    with pytest.raises(BulletinError, match=r"line 2: column 'count': 'fifty' is not a whole"):
        Registry.from_csv(path)


def test_numbers_file_with_a_repeated_key_names_both_lines(tmp_path) -> None:
    path = tmp_path / "numbers.csv"
    path.write_text("key,value,label\nfact.a.b,1,A\nfact.c.d,2,C\nfact.a.b,3,A\n",
                    encoding="utf-8")
    with pytest.raises(BulletinError, match=r"line 4: key 'fact.a.b' appears again "
                                            r"\(first on line 2\)"):
        Registry.from_csv(path)
