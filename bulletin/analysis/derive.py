"""Analysis variables made from the canonical columns: numeric bands and grouped levels.

The cut points and groupings are edition configuration (``[analysis.bands]`` and
``[analysis.groupings]``), so that a change of banding is a one-line edit of a TOML file
and every table, model and fact that uses the band changes with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bulletin.config import AnalysisSettings, Banding, Grouping
from bulletin.errors import BulletinError, Problem
from bulletin.schema import columns

_SETTINGS = "analysis settings"


def _check_bands(banding: Banding) -> None:
    """Bands must be in rising order and must not overlap: a value then has one band."""
    bands = banding.bands
    problems = []
    for b in bands:
        if b.high is not None and b.high < b.low:
            problems.append(Problem(_SETTINGS, f"band '{b.label}' of {banding.name} is empty",
                                    "lowest <= highest", value=f"[{b.low}, {b.high}]"))
    for before, after in zip(bands, bands[1:], strict=False):
        if before.high is None or after.low <= before.high:
            problems.append(Problem(_SETTINGS, f"bands '{before.label}' and '{after.label}' "
                                    f"of {banding.name} overlap or are out of order",
                                    "bands in rising order, each starting above the last"))
    if problems:
        raise BulletinError(f"the banding of {banding.name} is not usable", tuple(problems))


def band(values: pd.Series, banding: Banding) -> pd.Series:
    """The band label of each value; missing stays missing.

    A known value that falls in no band is an error, not a silent gap: it would
    otherwise drop out of every table without anyone noticing.
    """
    _check_bands(banding)
    num = pd.to_numeric(values, errors="coerce").astype("Float64")
    labels = np.full(len(values), np.nan, dtype=object)
    known = num.notna().to_numpy(dtype=bool)
    arr = num.to_numpy(dtype=float, na_value=np.nan)
    for b in banding.bands:
        inside = known & (arr >= b.low)
        if b.high is not None:
            inside &= arr <= b.high
        labels[inside] = b.label
    unbanded = known & pd.isna(labels)
    if unbanded.any():
        bad = sorted({float(v) for v in arr[unbanded]})
        shown = ", ".join(f"{v:g}" for v in bad[:5])
        raise BulletinError(
            f"{banding.source}: values outside every band of {banding.name}",
            (Problem(_SETTINGS, f"{banding.source} value(s) {shown} fall in no band of "
                     f"{banding.name}", "bands covering every valid value "
                     f"(edit analysis.bands.{banding.name})"),))
    return pd.Series(labels, index=values.index, name=banding.name, dtype="str")


def group(values: pd.Series, grouping: Grouping) -> pd.Series:
    """Source levels mapped to their group's label; missing stays missing."""
    mapping = {level: label for label, levels in grouping.groups for level in levels}
    present = values.dropna().unique()
    unknown = sorted(str(v) for v in present if v not in mapping)
    if unknown:
        raise BulletinError(
            f"{grouping.source}: levels not in any group of {grouping.name}",
            (Problem(_SETTINGS, f"{grouping.source} level(s) {unknown} are in no group of "
                     f"{grouping.name}", "every level listed under "
                     f"analysis.groupings.{grouping.name}"),))
    return pd.Series(values.map(mapping), index=values.index, name=grouping.name, dtype="str")


def derive(frame: pd.DataFrame, settings: AnalysisSettings) -> pd.DataFrame:
    """The canonical frame plus every configured band and grouping as a column.

    A band or grouping named like its source column (``rosh_level``) replaces it: the
    analysis only ever uses the grouped levels.
    """
    out = frame.copy(deep=False)  # copy-on-write: the case columns are shared, not copied
    for banding in settings.bands:
        out[banding.name] = band(frame[banding.source], banding)
    for grouping in settings.groupings:
        out[grouping.name] = group(frame[grouping.source], grouping)
    return out


def levels(settings: AnalysisSettings, variable: str, frame: pd.DataFrame) -> tuple[str, ...]:
    """The print order of a categorical variable's levels.

    Configured bands and groupings keep their configured order; canonical categories
    keep the schema's order; anything else (not expected) is sorted after them.
    """
    bandings = {b.name: b.labels for b in settings.bands}
    groupings = {g.name: g.labels for g in settings.groupings}
    if variable in bandings:
        return bandings[variable]
    if variable in groupings:
        return groupings[variable]
    allowed = {c.name: c.allowed for c in columns(settings)}.get(variable, ())
    seen = [str(v) for v in frame[variable].dropna().unique()]
    return tuple(allowed) + tuple(sorted(v for v in seen if v not in allowed))
