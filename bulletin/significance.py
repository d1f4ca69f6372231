"""The significance level and stars: one home for the thresholds every stage uses.

The models (stars on coefficients), the year-on-year comparison (which change counts as
real) and the wording ("higher" only where the test supports it) must agree on them, and
none of those stages should have to import another to do so.
"""

from __future__ import annotations

# The significance level of every comparison the bulletin words or the diff flags.
ALPHA = 0.05


def stars(p: float) -> str:
    """Significance marks as the bulletin prints them."""
    if not p < ALPHA:
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*"
