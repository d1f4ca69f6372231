"""Is this year's figure really different from last year's? The one test for both readers.

The analyst's `diff` flags what moved between editions, and the bulletin's wording says
"up from 58% to 63%" only where the test says the change is real; both therefore call
`compare_fact`, with the same test and the same significance level. This module is pure
(facts in, a value out) so that the wording layer can use it without importing the
command that loads and rebuilds editions.

Proportions (facts carrying a yes count and a base) are compared with a pooled
two-proportion z-test, the test most readers of the bulletin will know; when any expected
cell of the 2x2 table is below 5 the normal approximation is poor, so Fisher's exact test
is used instead. Other numbers get their change and no test: a coefficient or a count has
no sampling model here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bulletin.errors import BulletinError
from bulletin.facts import SUPPRESSED_MARK as SUPPRESSED
from bulletin.facts import Fact
from bulletin.significance import ALPHA

MIN_EXPECTED = 5.0
Z_TEST = "two-proportion z-test"
FISHER = "Fisher's exact test"
NON_NUMERIC_UNITS = ("text", "month")

Value = float | int | str | None


@dataclass(frozen=True)
class Change:
    """How one fact moved between two editions.

    `change` is new minus old in the fact's own unit (percentage points for
    percentages); None where either value is missing or not a number. `p` and `test`
    are set only for proportions that could be tested.
    """

    key: str
    label: str
    old: Value
    new: Value
    change: float | int | None
    p: float | None
    significant: bool
    test: str = ""
    unit: str = "number"
    suppressed: bool = False  # either year's figure is withheld (disclosure control)

    @property
    def changed(self) -> bool:
        if self.change is not None:
            return self.change != 0
        return self.old != self.new


def _is_number(v: Value) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_proportion(f: Fact) -> bool:
    return f.count is not None and f.base is not None


def _check_proportion(f: Fact) -> None:
    if f.base is None or f.count is None or f.base < 0 or not 0 <= f.count <= f.base:
        raise BulletinError(f"fact {f.key}: count {f.count} and base {f.base} are not a "
                            "proportion; expected 0 <= count <= base")


def proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, str]:
    """Two-sided p for x1/n1 against x2/n2, and the name of the test used.

    Returns (None, "") where a base is zero, since there is nothing to compare.
    """
    if n1 <= 0 or n2 <= 0:
        return None, ""
    total, yes = n1 + n2, x1 + x2
    expected = (n1 * yes / total, n1 * (total - yes) / total,
                n2 * yes / total, n2 * (total - yes) / total)
    if min(expected) < MIN_EXPECTED:
        from bulletin.distributions import fisher_exact_p
        return min(1.0, fisher_exact_p([[x1, n1 - x1], [x2, n2 - x2]])), FISHER
    pooled = yes / total
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0, Z_TEST
    z = (x2 / n2 - x1 / n1) / se
    from bulletin.distributions import norm_sf
    return 2 * norm_sf(abs(z)), Z_TEST


def compare_fact(old: Fact, new: Fact) -> Change:
    """How `new` differs from `old` (the key and label are taken from `new`).

    A suppressed figure is replaced by the suppression mark here, at the source, and no
    change or test is computed with it: a difference or a p-value next to the other
    year's figure could give the withheld count away, in any output format.
    """
    if old.suppressed or new.suppressed:
        return Change(key=new.key, label=new.label,
                      old=SUPPRESSED if old.suppressed else old.value,
                      new=SUPPRESSED if new.suppressed else new.value,
                      change=None, p=None, significant=False, unit=new.unit,
                      suppressed=True)
    change: float | int | None = None
    if (new.unit not in NON_NUMERIC_UNITS and _is_number(old.value)
            and _is_number(new.value)):
        change = new.value - old.value  # type: ignore[operator]
    p: float | None = None
    test = ""
    if _is_proportion(old) and _is_proportion(new):
        _check_proportion(old)
        _check_proportion(new)
        p, test = proportion_test(old.count, old.base, new.count, new.base)  # type: ignore[arg-type]
    return Change(key=new.key, label=new.label, old=old.value, new=new.value,
                  change=change, p=p, significant=p is not None and p < ALPHA,
                  test=test, unit=new.unit)
