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
import re
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


_SMALL = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@number_filter("spell")
def spell(v: Number) -> str:
    """A count in running text: one to nine in words, 10 and above in figures ("seven
    divisions", "21 CRCs"), as GOV.UK and ONS style have it. Not for a figure with a unit
    (per cent, months, percentage points): those always take figures."""
    if isinstance(v, float) and not v.is_integer() or v < 0:
        return num(v)
    n = int(v)
    return _SMALL[n] if n < len(_SMALL) else f"{n:,}"


# -- typography --------------------------------------------------------------------------

MINUS = "\u2212"
EN_DASH = "\u2013"
_RANGE = re.compile(r"(?<![\d.,/-])(\d[\d,]*)-(\d[\d,]*)(?![\d/-])")
_NEGATIVE = re.compile(r"(?<![\w.,)-])-(?=\.?\d)")


def typeset(text: Any) -> str:
    """Printed number typography (docs/style.md, "Dashes and signs"): an en dash in a
    range of numbers ("51–60") and a true minus sign in a negative number ("−0.67").

    The data (numbers.csv, the table CSVs, band labels in settings) keep ASCII; only what
    a reader sees is typeset. A year-month ("2018-06") is left alone.
    """
    out = "" if text is None else str(text)
    out = _RANGE.sub(lambda m: m.group(0) if _is_year_month(m) else
                     f"{m.group(1)}{EN_DASH}{m.group(2)}", out)
    return _NEGATIVE.sub(MINUS, out)


def _is_year_month(m: re.Match[str]) -> bool:
    a, b = m.group(1), m.group(2)
    return len(a) == 4 and len(b) == 2 and a.startswith(("19", "20"))


def typeset_html(markup: str) -> str:
    """`typeset` applied to the text between tags only (never to an id, class or link)."""
    return re.sub(r">([^<]+)<", lambda m: ">" + typeset(m.group(1)) + "<", markup)


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
# be "almost one in ten", double the true share of the minority).
_DENOMINATORS = (2, 3, 4, 5, 10)
_FRACTIONS: tuple[Fraction, ...] = tuple(sorted(
    {Fraction(n, d) for d in _DENOMINATORS for n in range(1, d)}
    | {Fraction(1, 20), Fraction(19, 20)},
))
# How close each qualifier claims to be (docs/style.md, "Proportions in words"): a limit
# in percentage points and a limit as a share of the fraction's minority side (the
# smaller of the fraction and the rest), whichever is tighter. Three points is close to
# a half but not to one in twenty.
#   bare phrase ("nine in ten")          within 1 point and a tenth of the minority side
#   "almost" (below) / "just over" (above) within 3 points and 30 per cent of it
#   "about" (either side)                within 4 points and 35 per cent of it
#   "around" (either side)               within 5 points and 40 per cent of it
# Half is named outright only at 50 (49 is "almost half"), and is never "about" or
# "around": either side of it the phrase says which side ("less than half").
TIERS = (("", 1.0, 0.10), ("just", 3.0, 0.30), ("about", 4.0, 0.35),
         ("around", 5.0, 0.40))
EXACT_WITHIN = TIERS[0][1]
EDGE = 5.0              # below this "very few", above 100 minus this "nearly all"
# One in twenty and nineteen in twenty name only values close to them; a value further
# off is described against the next fraction inwards ("almost one in ten" for 7 per cent).
_INWARD = {Fraction(1, 20): Fraction(1, 10), Fraction(19, 20): Fraction(9, 10)}
HALF = Fraction(1, 2)


def fraction_phrase(f: Fraction) -> str:
    if f == HALF:
        return "half"
    return f"{_NUMBER_WORDS[f.numerator]} in {_NUMBER_WORDS[f.denominator]}"


def nearest_fraction(percent: Number) -> Fraction:
    """The nearest simple fraction; on a tie the one with the smaller denominator."""
    share = Fraction(percent).limit_denominator(10**6) / 100
    return min(_FRACTIONS, key=lambda f: (abs(share - f), f.denominator, f))


def _tier(percent: float, f: Fraction) -> str | None:
    """The closest tier whose limits `percent` is within, for the fraction `f`."""
    d = abs(percent - float(f) * 100)
    minority = min(float(f), 1 - float(f)) * 100
    for name, points, share in TIERS:
        if f == HALF and name in ("about", "around"):
            return None  # either side of half, what matters is which side
        if f == HALF and name == "":
            points = 0.5  # 49 is "almost half": the side of half is the news
        if d <= min(points, share * minority) + 1e-9:
            return name
    return None


def _qualified(percent: float, f: Fraction, tier: str) -> str:
    phrase = fraction_phrase(f)
    if tier == "":
        return phrase
    if tier == "just":
        return f"almost {phrase}" if percent < float(f) * 100 else f"just over {phrase}"
    return f"{tier} {phrase}"


def proportion_in_words(percent: Number) -> str:
    """A percentage as a plain-English proportion, by the rule in docs/style.md.

    The nearest simple fraction is named outright within a point of it (91 -> "nine in
    ten"); "almost" just below it and "just over" just above (87 -> "almost nine in ten",
    53 -> "just over half"); "about" a little further either side and "around" further
    still (84 -> "about four in five", 15 -> "around one in five"). How far each word
    reaches shrinks with the fraction's minority side, so 8 per cent is "almost one in
    ten" but never "nearly one in twenty". Either side of half, beyond "almost" and "just
    over", the side is what matters: 46 -> "less than half", 54 -> "more than half".
    "Less than" is never used for a figure just below a fraction. The rule is symmetric
    (100 minus a value gets the mirror phrase). Exactly 0 and 100 are "none" and "all";
    other values within 5 points of them "very few" and "nearly all".
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
    p = float(percent)
    f = nearest_fraction(percent)
    tier = _tier(p, f)
    if f in _INWARD and tier not in ("", "just"):
        f, tier = _INWARD[f], _tier(p, _INWARD[f])
    if tier is not None:
        return _qualified(p, f, tier)
    side = "more" if p > float(f) * 100 else "less"
    return f"{side} than {fraction_phrase(f)}"


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


class Phrasebook:
    """Stock phrases varied across one bulletin, so that the ninth comparison does not
    read like the first (docs/style.md, "Varying stock phrases").

    One phrasebook serves one render: each call takes the next wording of its kind in
    turn, so the text is the same on every build. The choice of kind is `compare`'s
    (what the test supports); only the wording within a kind varies.
    """

    COMPARE: dict[str, tuple[str, ...]] = {
        "notably higher than": ("notably higher than", "well above", "markedly higher than"),
        "notably lower than": ("notably lower than", "well below", "markedly lower than"),
        "higher than": ("higher than", "above"),
        "lower than": ("lower than", "below"),
        "similar to": ("similar to", "close to"),
        "notably higher": ("notably higher", "markedly higher"),
        "notably lower": ("notably lower", "markedly lower"),
    }
    ADJUSTED = ("once the other factors were taken into account",
                "with the other factors held constant",
                "after allowing for the other factors")

    def __init__(self) -> None:
        self.used: dict[str, int] = {}

    def _next(self, kind: str, choices: tuple[str, ...]) -> str:
        k = self.used.get(kind, 0)
        self.used[kind] = k + 1
        return choices[k % len(choices)]

    def compare(self, a: Any, b: Any, p: Any, to: bool = False) -> str:
        """`compare`, with the wording of its answer varied in turn."""
        word = compare(a, b, p, to)
        return self._next(word, self.COMPARE.get(word, (word,)))

    DIFFERENCE = {True: ("a statistically significant difference",
                         "a difference that is statistically significant"),
                  False: ("a difference that is not statistically significant",
                          "not a statistically significant difference")}

    def difference(self, p: Any, also: bool = False) -> str:
        """What the test says of a difference just given ("a statistically significant
        difference", or that it is not), its wording varied in turn. With `also`, a
        significant one is "also" significant (say so only where the one before was)."""
        sig = significant(p)
        text = self._next(f"difference-{sig}", self.DIFFERENCE[sig])
        return f"also {text}" if also and sig else text

    def adjusted(self) -> str:
        """"once the other factors were taken into account", and its variants in turn:
        what a model's result holds after (say it only where the model supports it)."""
        return self._next("adjusted", self.ADJUSTED)


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
