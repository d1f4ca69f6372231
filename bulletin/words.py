"""How numbers become words: the phrasing rules every sentence of the bulletin shares.

The templates never format a number themselves; they pass a fact through one of these
functions, so that "46 per cent", "less than half" and "higher" follow one rule
everywhere and a suppressed figure can never leak into the text as a number. Each
function accepts either a `Fact` or a plain number; given a suppressed fact it returns
`SUPPRESSED` (the same mark the tables and charts print).

The functions are plain Python so that they can be tested across their whole range;
`bulletin.render` registers them as Jinja filters and globals.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from bulletin.facts import SUPPRESSED_MARK as SUPPRESSED
from bulletin.facts import Fact
from bulletin.significance import ALPHA
from bulletin.significance import stars as significance_stars

# A significant difference of at least this many percentage points is called "notable".
NOTABLE_POINTS = 10.0
# A difference that is not significant is called "similar" (or "little changed") only if it
# is also smaller than this: on a small sample a 16-point gap can fail the test, and
# "similar" would then misdescribe the figures printed beside it.
SIMILAR_POINTS = 5.0
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

Number = float | int


# -- reading values ----------------------------------------------------------------------

def is_suppressed(x: Any) -> bool:
    return isinstance(x, Fact) and x.suppressed


def value_of(x: Any) -> Any:
    """The raw value of a fact, or `x` itself."""
    return x.value if isinstance(x, Fact) else x


def _number(x: Any, what: str) -> Number | None:
    v = value_of(x)
    if v is None or isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        key = f" ({x.key})" if isinstance(x, Fact) else ""
        raise ValueError(f"{what} needs a number, got {v!r}{key}")
    return v


def round_half_up(value: Number, places: int = 0) -> Decimal:
    """Rounding as readers expect it (45.5 -> 46), not Python's round-half-even.

    The float is first taken to ten places so that 45.4999999999 (a sum of floats that
    means 45.5) rounds up as well.
    """
    d = Decimal(repr(round(float(value), 10)))
    q = Decimal(1).scaleb(-places)
    out = d.quantize(q, rounding=ROUND_HALF_UP)
    return out if out != 0 else abs(out)  # never "-0"


def number_filter(what: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Makes a formatter of plain numbers into a filter of facts: a suppressed fact gives
    the suppression mark and a missing value "", before the formatter sees anything, so
    no filter can forget either. `what` names the filter in error messages."""
    def wrap(fmt: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(fmt)
        def filter_(x: Any, *args: Any) -> str:
            if is_suppressed(x):
                return SUPPRESSED
            v = _number(x, what)
            return "" if v is None else fmt(v, *args)
        return filter_
    return wrap


@number_filter("a fixed-point number")
def fixed(v: Number, places: int) -> str:
    """A number with a fixed count of decimals ("-0.65"); "" if missing."""
    return f"{round_half_up(v, places):f}"


# -- filters -----------------------------------------------------------------------------

@number_filter("pct")
def pct(v: Number) -> str:
    """46.04 -> "46 per cent" (whole per cent, as in the narrative and Tables 1 and 2)."""
    return f"{round_half_up(v, 0):f} per cent"


@number_filter("pct1")
def pct1(v: Number) -> str:
    """46.04 -> "46.0 per cent"."""
    return f"{round_half_up(v, 1):f} per cent"


@number_filter("num")
def num(v: Number) -> str:
    """1965 -> "1,965"; whole numbers only get no decimals."""
    if isinstance(v, float) and not v.is_integer():
        return f"{round_half_up(v, 1):,f}"
    return f"{int(v):,}"


@number_filter("pval")
def pval(v: Number) -> str:
    """A p-value or threshold as printed in social research: 0.05 -> ".05", tiny -> "<.001"."""
    if v < 0.001:
        return "<.001"
    places = 2 if round_half_up(v, 2) == Decimal(repr(float(v))) else 3
    text = f"{round_half_up(v, places):f}"
    return text[1:] if text.startswith("0.") else text


def stars(p: Any) -> str:
    """The significance stars of a p-value (the models' own rule); "" where the p-value
    is missing or suppressed."""
    v = _number(p, "stars")
    if v is None or is_suppressed(p):
        return ""
    return significance_stars(v)


def month(x: Any) -> str:
    """'2018-06' -> 'June 2018'."""
    text = str(value_of(x))
    try:
        year, m = text.split("-")[:2]
        return f"{MONTHS[int(m) - 1]} {int(year)}"
    except (ValueError, IndexError):
        raise ValueError(f"month needs YYYY-MM, got {text!r}") from None


def long_date(x: Any) -> str:
    """'2020-02-01' -> '1 February 2020'."""
    text = str(value_of(x))
    try:
        year, m, day = text.split("-")
        return f"{int(day)} {MONTHS[int(m) - 1]} {int(year)}"
    except (ValueError, IndexError):
        raise ValueError(f"date needs YYYY-MM-DD, got {text!r}") from None


def complement(x: Any) -> Any:
    """100 minus a percentage, keeping the suppression flag (for "one in three did not")."""
    v = _number(x, "complement")
    new = None if v is None else 100 - v
    if isinstance(x, Fact):
        return Fact(x.key, new, f"{x.label} (complement)", x.unit,
                    None if x.count is None or x.base is None else x.base - x.count,
                    x.base, x.suppressed, x.unreliable)
    return new


# -- proportions in words ----------------------------------------------------------------

_NUMBER_WORDS = {0: "none", 1: "one", 2: "two", 3: "three", 4: "four", 5: "five",
                 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten", 19: "nineteen",
                 20: "twenty"}
# Simple fractions a reader takes in at a glance: halves, thirds, quarters, fifths, tenths,
# and at the two ends one in twenty and nineteen in twenty (without them 5 per cent would
# be "nearly one in ten", double the true share of the minority).
_DENOMINATORS = (2, 3, 4, 5, 10)
_FRACTIONS: tuple[Fraction, ...] = tuple(sorted(
    {Fraction(n, d) for d in _DENOMINATORS for n in range(1, d)}
    | {Fraction(1, 20), Fraction(19, 20)},
))
# Beyond the plain fractions a phrase is only as close as its qualifier claims, measured
# both in points and against the minority share (the smaller of the share and the rest):
# three points is close to a half but far from one in ten.
EXACT_WITHIN = 1.0      # points: "nine in ten" covers 89-91 ...
EXACT_RELATIVE = 0.10   # ... and never more than a tenth of the minority share
JUST_WITHIN = 2.5       # points: "just over / just under" ...
CLOSE_RELATIVE = 0.125  # ... and this share of the minority; also the limit for
                        # "about" (above) and "nearly" (below)
NEAR_WITHIN = 5.0       # points: the furthest "about" / "nearly" can reach
EDGE = 5.0              # below this "very few", above 100 minus this "nearly all"
# Far from one in twenty (or nineteen in twenty) the phrase is bounded by the next plain
# fraction inwards: "less than one in ten" reads better than "more than one in twenty".
_INWARD = {Fraction(1, 20): Fraction(1, 10), Fraction(19, 20): Fraction(9, 10)}


def fraction_phrase(f: Fraction) -> str:
    if f == Fraction(1, 2):
        return "half"
    return f"{_NUMBER_WORDS[f.numerator]} in {_NUMBER_WORDS[f.denominator]}"


def nearest_fraction(percent: Number) -> Fraction:
    """The nearest simple fraction; on a tie the one with the smaller denominator."""
    share = Fraction(percent).limit_denominator(10**6) / 100
    return min(_FRACTIONS, key=lambda f: (abs(share - f), f.denominator, f))


def proportion_in_words(percent: Number) -> str:
    """A percentage as a plain-English proportion: 91 -> "nine in ten", 46 -> "less than half".

    The nearest simple fraction is named outright within one point of it (and within a
    tenth of the minority share, so 6 per cent is not "one in twenty"); "just over" or
    "just under" it within 2.5 points (and an eighth of the minority share); "about"
    (above) or "nearly" (below) a little further, where the minority share is large
    enough for that to stay close. Further away the phrase makes no claim of closeness:
    "more than" or "less than" the fraction, always true of the value ("less than half",
    the usual English; 13 per cent is "more than one in ten", not "about one in ten").
    The rule is symmetric: 100 minus a value gets the mirror phrase. Exactly 0 and 100
    are "none" and "all"; other values within 5 points of them "very few" and
    "nearly all".
    """
    if isinstance(percent, bool) or not isinstance(percent, int | float) or \
            math.isnan(percent) or not 0 <= percent <= 100:
        raise ValueError(f"a percentage between 0 and 100 is needed, got {percent!r}")
    if percent == 0:
        return "none"
    if percent == 100:
        return "all"
    if percent < EDGE:
        return "very few"
    if percent > 100 - EDGE:
        return "nearly all"
    f = nearest_fraction(percent)
    d = percent - float(f) * 100
    minority = min(float(f), 1 - float(f)) * 100
    phrase = fraction_phrase(f)
    if abs(d) <= min(EXACT_WITHIN, EXACT_RELATIVE * minority) + 1e-9:
        return phrase
    close = CLOSE_RELATIVE * minority + 1e-9
    if abs(d) <= min(JUST_WITHIN, close):
        return f"just over {phrase}" if d > 0 else f"just under {phrase}"
    if f != Fraction(1, 2) and abs(d) <= min(NEAR_WITHIN, close):
        return f"about {phrase}" if d > 0 else f"nearly {phrase}"
    if f in _INWARD:
        inner = _INWARD[f]
        return f"{'less' if inner > f else 'more'} than {fraction_phrase(inner)}"
    return f"more than {phrase}" if d > 0 else f"less than {phrase}"


def printed_percent(v: Number) -> float:
    """The whole per cent `pct` prints: the words follow the figure beside them, so two
    figures both printed "81 per cent" never read "four in five" and "just over four in
    five"."""
    return float(round_half_up(v, 0))


@number_filter("in_words")
def in_words(v: Number) -> str:
    """`proportion_in_words` of the printed whole per cent (suppression-aware)."""
    return proportion_in_words(printed_percent(v))


def share_of(x: Any, noun: str) -> str:
    """The proportion in words with its noun, in grammatical English.

    `share_of(91, "officers")` -> "nine in ten officers"; `share_of(46, "officers")` ->
    "less than half of officers"; with a definite noun ("the officers we interviewed")
    every phrase takes "of": "nine in ten of the officers we interviewed". 0 gives "no
    officers" (or "none of the ..."), 100 "all officers".
    """
    if is_suppressed(x):
        return f"{SUPPRESSED} {noun}"
    v = _number(x, "share_of")
    if v is None:
        return ""
    phrase = proportion_in_words(printed_percent(v))
    definite = noun.startswith("the ")
    if phrase == "all":
        return f"all {noun}"
    if phrase == "none":
        return f"none of {noun}" if definite else f"no {noun}"
    if definite or "half" in phrase:
        return f"{phrase} of {noun}"
    return f"{phrase} {noun}"


def only(x: Any) -> str:
    """"only " where a share is below half, else "" (put straight before the figure:
    `which {{ f | only }}{{ f | pct }} ...`), so that the word follows the data instead
    of being typed into a sentence that a later edition's figure may contradict.
    Nothing for a suppressed or missing figure: "only [c]" would hint at the value.
    """
    if is_suppressed(x):
        return ""
    v = _number(x, "only")
    return "only " if v is not None and v < 50 else ""


# -- comparisons -------------------------------------------------------------------------

def significant(p: Any, alpha: float = ALPHA) -> bool:
    """True only where a test was run and its p is below `alpha`."""
    v = _number(p, "significant")
    return v is not None and v < alpha


def compare(a: Any, b: Any, p: Any, to: bool = False) -> str:
    """How `a` stands against `b`, in words the test supports.

    "higher"/"lower" only where p < .05; "notably" added where that difference is also
    at least ten percentage points. Without a significant difference: "similar" where the
    gap is also under five points (or the figures are missing); otherwise "not
    significantly different" (the test ran) or "not shown to differ" (no test could be
    run), which neither claims a difference nor calls 65 and 81 per cent similar. With
    `to`, the word comes with its preposition ("higher than", "similar to", "not
    significantly different from") so that a sentence reads either way.
    """
    va, vb = _number(a, "compare"), _number(b, "compare")
    if va is None or vb is None or va == vb or \
            not significant(p) and abs(va - vb) < SIMILAR_POINTS:
        return "similar to" if to else "similar"
    if not significant(p):
        word = "not shown to differ" if _number(p, "compare") is None else \
            "not significantly different"
        return f"{word} from" if to else word
    word = "higher" if va > vb else "lower"
    if abs(va - vb) >= NOTABLE_POINTS:
        word = f"notably {word}"
    return f"{word} than" if to else word


# -- year on year ------------------------------------------------------------------------

def edition_label(edition_id: str | None) -> str:
    """'2018-19' -> '2018/19' (how the bulletin names an inspection year)."""
    return (edition_id or "").replace("-", "/")


def _format_by_unit(fact: Fact, value: Any) -> str:
    if fact.unit == "percent":
        return pct(value)
    if fact.unit == "count":
        return num(value)
    if fact.unit == "month":
        return month(value)
    if fact.unit == "text":
        return str(value)
    if fact.unit == "p_value":
        return pval(value)
    if fact.unit in ("coefficient", "odds_ratio", "statistic") or \
            isinstance(value, float) and not value.is_integer():
        return fixed(value, 2)
    return num(value)


def display(fact: Fact) -> str:
    """A fact printed bare (`{{ fact("key") }}`): formatted by its unit, suppression-aware."""
    if fact.suppressed:
        return SUPPRESSED
    if fact.value is None:
        return ""
    return _format_by_unit(fact, fact.value)


def since_last(new: Fact, old: Fact | None, previous_label: str,
               compare_fact: Callable[[Fact, Fact], Any]) -> str:
    """"up from 46 per cent in 2018/19", "little changed from ...", "the same as in
    2018/19" or "" (nothing to say).

    "up"/"down" only where the year-on-year test finds a significant change; "little
    changed" only where the change is not significant and also under five points; a
    larger change the test does not support is "compared with 46 per cent in 2018/19,
    not a significant change", which claims neither a movement nor stability. A number
    with no test (a count) is given as "compared with". Where the two years print the
    same figure, "little changed from 91 per cent" beside this year's 91 per cent would
    read oddly, so it is "the same as in 2018/19". Nothing is said where last year's
    fact is missing or either year's figure is suppressed.
    """
    if old is None or old.suppressed or new.suppressed or old.value is None \
            or new.value is None:
        return ""
    change = compare_fact(old, new)
    then = f"{_format_by_unit(old, old.value)} in {previous_label}"
    if _format_by_unit(old, old.value) == _format_by_unit(new, new.value):
        return f"the same as in {previous_label}"
    if change.p is None:
        return f"compared with {then}"
    if change.significant and change.change:
        return f"{'up' if change.change > 0 else 'down'} from {then}"
    if change.change is not None and abs(change.change) >= SIMILAR_POINTS:
        return f"compared with {then}, not a significant change"
    return f"little changed from {then}"
