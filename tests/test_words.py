"""Number phrasing: per cent, thousands, proportions in words, comparisons, year on year."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from bulletin import words
from bulletin.change import compare_fact
from bulletin.facts import Fact
from bulletin.words import (
    SUPPRESSED,
    compare,
    in_words,
    num,
    pct,
    pct1,
    proportion_in_words,
    pval,
    share_of,
    since_last,
    stars,
)


def _pct_fact(key: str, yes: int, n: int, suppressed: bool = False) -> Fact:
    return Fact(key, 100.0 * yes / n, "label", "percent", count=yes, base=n,
                suppressed=suppressed)


# -- formats -----------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "whole", "one"), [
    (46.04, "46 per cent", "46.0 per cent"),
    (45.5, "46 per cent", "45.5 per cent"),   # half up, not to even
    (0.45 * 100, "45 per cent", "45.0 per cent"),
    (0.0, "0 per cent", "0.0 per cent"),
    (100, "100 per cent", "100.0 per cent"),
    (-0.2, "0 per cent", "-0.2 per cent"),     # never "-0"
])
def test_pct_and_pct1(value: float, whole: str, one: str) -> None:
    assert pct(value) == whole
    assert pct1(value) == one


def test_half_up_survives_float_noise() -> None:
    assert pct(0.1 + 0.2 + 45.2) == "46 per cent"  # 45.50000000000001
    assert pct(45.49999999999999) == "46 per cent"  # a float sum meaning 45.5


def test_num_thousands() -> None:
    assert num(1965) == "1,965"
    assert num(3308.0) == "3,308"
    assert num(7) == "7"
    assert num(1234567) == "1,234,567"


def test_suppressed_fact_is_always_the_mark() -> None:
    f = _pct_fact("b1.x.no.y.pct_yes", 3, 40, suppressed=True)
    for fn in (pct, pct1, num, in_words, pval, words.display):
        assert fn(f) == SUPPRESSED
    assert share_of(f, "officers") == f"{SUPPRESSED} officers"
    assert "7" not in words.display(f)


def test_missing_value_prints_nothing() -> None:
    f = Fact("table1.q.pct_yes", None, "label", "percent")
    assert pct(f) == "" and num(f) == "" and in_words(f) == ""


def test_text_where_a_number_is_needed_fails_clearly() -> None:
    with pytest.raises(ValueError, match="table1.q.pct_yes"):
        pct(Fact("table1.q.pct_yes", "n/a", "label", "percent"))


@pytest.mark.parametrize(("p", "text", "marks"), [
    (0.0004, "<.001", "***"), (0.004, ".004", "**"), (0.0123, ".012", "*"),
    (0.05, ".05", ""), (0.1, ".10", ""), (0.049999, ".050", "*"), (0.5, ".50", ""),
])
def test_pval_and_stars(p: float, text: str, marks: str) -> None:
    assert pval(p) == text
    assert stars(p) == marks


def test_months_and_dates() -> None:
    assert words.month("2018-06") == "June 2018"
    assert words.long_date("2020-02-01") == "1 February 2020"
    with pytest.raises(ValueError):
        words.month("June")


# -- proportions in words ------------------------------------------------------------------

@pytest.mark.parametrize(("percent", "phrase"), [
    (91, "nine in ten"), (67, "two in three"), (80, "four in five"),
    (46, "less than half"), (70, "seven in ten"), (83, "just over four in five"),
    (87, "almost nine in ten"), (33, "one in three"), (50, "half"), (54, "more than half"),
    (48, "almost half"), (49, "almost half"), (52, "just over half"), (25, "one in four"),
    (86, "around nine in ten"), (37, "almost two in five"), (44, "about two in five"),
    (84, "about four in five"), (15, "around one in five"),
    (0, "none"), (100, "all"), (2, "very few"), (97, "nearly all"),
])
def test_proportion_examples(percent: float, phrase: str) -> None:
    assert proportion_in_words(percent) == phrase


def test_exact_fractions_get_the_bare_phrase() -> None:
    for d in (2, 3, 4, 5, 10):
        for n in range(1, d):
            f = Fraction(n, d)
            phrase = proportion_in_words(float(f) * 100)
            assert phrase == words.fraction_phrase(f)
            assert not re.match(r"(about|around|almost|just|more|less)", phrase)


PHRASE = re.compile(r"^(?:(almost|just over|about|around|less than|more than) )?"
                    r"(half|(one|two|three|four|five|six|seven|eight|nine|nineteen) in "
                    r"(two|three|four|five|ten|twenty))$")
WORD = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
        "eight": 8, "nine": 9, "ten": 10, "nineteen": 19, "twenty": 20}
MIRROR = {"less than": "more than", "almost": "just over", "about": "about",
          "around": "around", "": ""}
MIRROR.update({v: k for k, v in MIRROR.items()})
# docs/style.md: how far from its fraction each qualifier may be, in points and as a
# share of the fraction's minority side.
REACH = {"": (1.0, 0.10), "almost": (3.0, 0.30), "just over": (3.0, 0.30),
         "about": (4.0, 0.35), "around": (5.0, 0.40)}
SIMPLE = sorted({n / d * 100 for d in (2, 3, 4, 5, 10) for n in range(1, d)})


def _parse(phrase: str) -> tuple[str, float]:
    """(qualifier, the fraction as a percentage) of a phrase."""
    m = PHRASE.match(phrase)
    assert m, f"unexpected phrase {phrase!r}"
    frac = 0.5 if m.group(2) == "half" else WORD[m.group(3)] / WORD[m.group(4)]
    return m.group(1) or "", frac * 100


def _tenths(lo: int = 50, hi: int = 950):
    return (t / 10 for t in range(lo, hi + 1))


def test_the_named_fraction_never_goes_down_as_the_value_rises() -> None:
    previous = -1.0
    for p in _tenths():
        _q, frac = _parse(proportion_in_words(p))
        assert frac >= previous, f"{p}: {proportion_in_words(p)!r}"
        previous = frac


def test_each_qualifier_is_true_and_as_close_as_it_claims() -> None:
    """"almost" and "less than" only below the fraction, "just over" and "more than"
    only above; the bare phrase, "almost", "just over", "about" and "around" within
    their reach in points and against the minority side."""
    for p in _tenths():
        phrase = proportion_in_words(p)
        q, frac = _parse(phrase)
        if q in ("almost", "less than"):
            assert p < frac, phrase
        if q in ("just over", "more than"):
            assert p > frac, phrase
        if q in REACH:
            points, share = REACH[q]
            limit = 0.5 if frac == 50 and q == "" else min(points, share * min(frac, 100 - frac))
            assert abs(p - frac) <= limit + 1e-9, f"{p}: {phrase!r}"


def test_never_less_than_for_a_figure_just_below_a_fraction() -> None:
    for p in _tenths():
        phrase = proportion_in_words(p)
        if phrase.startswith("less than"):
            assert not any(0 < f - p <= 3 for f in SIMPLE), f"{p}: {phrase!r}"


@pytest.mark.parametrize(("percent", "phrase"), [
    (5, "one in twenty"), (6, "just over one in twenty"), (7, "almost one in ten"),
    (8, "almost one in ten"), (13, "just over one in ten"), (14, "around one in ten"),
    (16, "about one in five"), (17, "almost one in five"),
    (93, "just over nine in ten"), (94, "almost nineteen in twenty"),
    (95, "nineteen in twenty"),
])
def test_small_shares_are_not_misread(percent: float, phrase: str) -> None:
    assert proportion_in_words(percent) == phrase


def test_complement_gets_the_mirror_phrase() -> None:
    for tenth in range(0, 1001):
        p = tenth / 10
        phrase, other = proportion_in_words(p), proportion_in_words(100 - p)
        if phrase in ("none", "all", "very few", "nearly all"):
            assert other == {"none": "all", "all": "none", "very few": "nearly all",
                             "nearly all": "very few"}[phrase]
            continue
        (q, frac), (oq, ofrac) = _parse(phrase), _parse(other)
        assert MIRROR[q] == oq, (p, phrase, other)
        assert frac + ofrac == pytest.approx(100), (p, phrase, other)


@pytest.mark.parametrize("bad", [-1, 100.5, float("nan"), "46", True])
def test_proportion_rejects_non_percentages(bad: object) -> None:
    with pytest.raises(ValueError):
        proportion_in_words(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("percent", "noun", "text"), [
    (91, "officers", "nine in ten officers"),
    (46, "officers", "less than half of officers"),
    (87, "officers", "almost nine in ten officers"),
    (48, "the officers we interviewed", "almost half of the officers we interviewed"),
    (91, "the officers we interviewed", "nine in ten of the officers we interviewed"),
    (0, "officers", "no officers"),
    (0, "the CRC cases", "none of the CRC cases"),
    (100, "officers", "all officers"),
])
def test_share_of_grammar(percent: float, noun: str, text: str) -> None:
    assert share_of(percent, noun) == text


def test_words_follow_the_printed_figure() -> None:
    a, b = _pct_fact("table1.a.pct_yes", 812, 1000), _pct_fact("table1.b.pct_yes", 8096, 10000)
    assert pct(a) == pct(b) == "81 per cent"
    assert in_words(a) == in_words(b) == "four in five"
    assert share_of(a, "officers") == share_of(b, "officers") == "four in five officers"
    assert in_words(89.5) == "nine in ten"  # printed 90


def test_complement_keeps_suppression() -> None:
    f = _pct_fact("table1.q.pct_yes", 67, 100)
    assert words.complement(f).value == pytest.approx(33)
    assert in_words(words.complement(f)) == "one in three"
    hidden = _pct_fact("table1.q.pct_yes", 3, 100, suppressed=True)
    assert in_words(words.complement(hidden)) == SUPPRESSED


# -- comparisons ---------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "p", "word"), [
    (64, 53, 0.001, "notably higher"), (53, 64, 0.001, "notably lower"),
    (81, 72, 0.001, "higher"), (72, 81, 0.01, "lower"),
    (81, 78, 0.06, "similar"), (81, 78, None, "similar"), (60, 60, 0.01, "similar"),
    (81, 72, 0.06, "not significantly different"), (65, 81, 0.2, "not significantly different"),
    (81, 72, None, "not shown to differ"), (81, 76, 0.3, "not significantly different"),
    (81, 76.5, 0.3, "similar"),
])
def test_compare_only_where_the_test_supports_it(a: float, b: float, p: float | None,
                                                  word: str) -> None:
    assert compare(a, b, p) == word


def test_compare_with_preposition_and_facts() -> None:
    yes, no = _pct_fact("a.pct_yes", 81, 100), _pct_fact("b.pct_yes", 72, 100)
    p = Fact("b1.q.diff.j.p", 0.02, "p", "p_value")
    assert compare(yes, no, p, to=True) == "higher than"
    assert compare(yes, no, Fact("b1.q.diff.j.p", 0.2, "p", "p_value"), to=True) == \
        "not significantly different from"
    close = _pct_fact("b.pct_yes", 78, 100)
    assert compare(yes, close, Fact("b1.q.diff.j.p", 0.6, "p", "p_value"), to=True) == \
        "similar to"
    assert compare(yes, no, None, to=True) == "not shown to differ from"


# -- year on year --------------------------------------------------------------------------

def test_since_last_up_down_and_little_changed() -> None:
    old = _pct_fact("table1.q.pct_yes", 460, 1000)
    up = _pct_fact("table1.q.pct_yes", 560, 1000)
    down = _pct_fact("table1.q.pct_yes", 360, 1000)
    same = _pct_fact("table1.q.pct_yes", 470, 1000)
    assert since_last(up, old, "2018/19", compare_fact) == "up from 46 per cent in 2018/19"
    assert since_last(down, old, "2018/19", compare_fact) == \
        "down from 46 per cent in 2018/19"
    assert since_last(same, old, "2018/19", compare_fact) == \
        "little changed from 46 per cent in 2018/19"


def test_since_last_large_change_without_significance_is_not_little_changed() -> None:
    old = _pct_fact("table1.q.pct_yes", 13, 20)   # 65 per cent of a small sample
    new = _pct_fact("table1.q.pct_yes", 17, 21)   # 81 per cent: a 16-point change, p > .05
    change = compare_fact(old, new)
    assert not change.significant and abs(change.change) >= words.SIMILAR_POINTS
    assert since_last(new, old, "2018/19", compare_fact) == \
        "compared with 65 per cent in 2018/19, not a significant change"


def test_since_last_when_both_years_print_the_same_figure() -> None:
    old = _pct_fact("table1.q.pct_yes", 9100, 10000)
    new = _pct_fact("table1.q.pct_yes", 9110, 10000)  # 91.1 and 91.0: both print 91
    assert since_last(new, old, "2018/19", compare_fact) == "the same as in 2018/19"
    count = Fact("fact.cases_inspected", 3308, "cases", "count")
    assert since_last(count, count, "2018/19", compare_fact) == "the same as in 2018/19"


def test_since_last_says_nothing_without_a_comparable_old_figure() -> None:
    new = _pct_fact("table1.q.pct_yes", 460, 1000)
    hidden = _pct_fact("table1.q.pct_yes", 3, 40, suppressed=True)
    assert since_last(new, None, "2018/19", compare_fact) == ""
    assert since_last(new, hidden, "2018/19", compare_fact) == ""
    assert since_last(hidden, new, "2018/19", compare_fact) == ""


def test_since_last_for_a_count_has_no_direction_word() -> None:
    old = Fact("fact.cases_inspected", 3308, "cases", "count")
    new = Fact("fact.cases_inspected", 3400, "cases", "count")
    assert since_last(new, old, "2018/19", compare_fact) == "compared with 3,308 in 2018/19"


@pytest.mark.parametrize(("fact", "text"), [
    (Fact("fact.cases_inspected", 3308, "n", "count"), "3,308"),
    (Fact("table1.q.pct_yes", 46.04, "p", "percent"), "46 per cent"),
    (Fact("fact.fieldwork_start", "2018-06", "m", "month"), "June 2018"),
    (Fact("a1.01.provider", "Wales", "t", "text"), "Wales"),
    (Fact("model.j.x.b", -0.6349, "b", "coefficient"), "-0.63"),
    (Fact("model.j.nagelkerke_r2", 0.114, "r2"), "0.11"),
    (Fact("model.j.chi2_df", 5, "df"), "5"),
    (Fact("model.j.chi2_p", 0.0004, "p", "p_value"), "<.001"),
])
def test_a_bare_fact_is_formatted_by_its_unit(fact: Fact, text: str) -> None:
    assert words.display(fact) == text


def test_edition_label() -> None:
    assert words.edition_label("2018-19") == "2018/19"


def test_only_follows_the_figure() -> None:
    assert words.only(46) == "only "
    assert words.only(_pct_fact("table1.q.pct_yes", 499, 1000)) == "only "
    assert words.only(50) == "" and words.only(71.2) == ""
    assert words.only(_pct_fact("table1.q.pct_yes", 3, 40, suppressed=True)) == ""
    assert words.only(Fact("table1.q.pct_yes", None, "q", "percent")) == ""


# -- counts, typography, varied phrasing ----------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (1, "one"), (7, "seven"), (9, "nine"), (10, "10"), (21, "21"), (1965, "1,965"),
])
def test_spell_small_counts_in_words(value: int, text: str) -> None:
    assert words.spell(value) == text
    assert words.spell(Fact("fact.n", value, "n", "count")) == text


def test_spell_keeps_suppression() -> None:
    assert words.spell(Fact("fact.n", 3, "n", "count", suppressed=True)) == SUPPRESSED


@pytest.mark.parametrize(("text", "out"), [
    ("51-60", "51–60"), ("18-24", "18–24"), ("-0.67", "−0.67"), ("(-1.20)", "(−1.20)"),
    ("B = -0.05 and 1-20 cases", "B = −0.05 and 1–20 cases"),
    ("2018-06", "2018-06"), ("71+", "71+"), ("post-custody", "post-custody"),
    ("a - b", "a - b"), ("0.67", "0.67"),
])
def test_typeset_ranges_and_minus_signs(text: str, out: str) -> None:
    assert words.typeset(text) == out


def test_typeset_html_touches_text_only() -> None:
    html = '<td id="row-1" class="a-1">-0.67</td><th scope="row">51-60</th>'
    assert words.typeset_html(html) == \
        '<td id="row-1" class="a-1">−0.67</td><th scope="row">51–60</th>'


def test_phrasebook_varies_wording_within_what_the_test_supports() -> None:
    book = words.Phrasebook()
    said = [book.compare(64, 53, 0.001, to=True) for _ in range(4)]
    assert said[0] == compare(64, 53, 0.001, to=True) == "notably higher than"
    assert len(set(said[:3])) == 3 and said[3] == said[0]
    assert all(w in words.Phrasebook.COMPARE["notably higher than"] for w in said)
    # no variant of a non-significant comparison claims a direction
    for _ in range(3):
        assert book.compare(81, 72, 0.2, to=True) == "not significantly different from"
    for kind, variants in words.Phrasebook.COMPARE.items():
        up, down = "higher" in kind or "above" in kind, "lower" in kind
        for v in variants:
            assert ("higher" in v or "above" in v) == up and ("lower" in v or "below" in v) \
                == down, (kind, v)
    again = words.Phrasebook()
    assert again.compare(64, 53, 0.001, to=True) == said[0]
    assert len({book.adjusted() for _ in range(3)}) == 3
