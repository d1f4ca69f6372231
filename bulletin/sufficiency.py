"""Whether a checked data set holds enough for the bulletin's models.

A file can be free of faults cell by cell and still be unusable: a column blank
throughout, a single case, a reference level that never occurs. The models would then
fail deep inside the regression with no file or column named. These checks find the
same conditions first, from the settings the analysis reads (candidates, bands,
groupings, reference levels), and name the column and the setting.

The models are fitted on the interviewed cases that have the judgement and every
candidate recorded (an interview answer of "not applicable" counts as not recorded),
so that is the sample checked here. The checks work on each column's codes into its
distinct values, as validation holds them, so they cost little even for a large file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bulletin.config import AnalysisSettings
from bulletin.load import DataProblem
from bulletin.schema import NO, YES

# A column as validation holds it: per row an index into the distinct canonical values,
# -1 where the cell is blank or missing.
Coded = tuple[np.ndarray, Sequence[object]]

_CANDIDATES = "the models use it (analysis.candidates)"


def _recode(column: Coded, relabel: Mapping[object, str | None]
            ) -> tuple[np.ndarray, list[str]]:
    """Codes into new labels: each distinct value mapped once, then spread by code."""
    codes, values = column
    labels = list(dict.fromkeys(v for v in relabel.values() if v is not None))
    index = {label: k for k, label in enumerate(labels)}
    lookup = np.full(len(values) + 1, -1, dtype=np.int64)  # the last serves -1
    for u, value in enumerate(values):
        label = relabel.get(value)
        if label is not None:
            lookup[u] = index[label]
    return lookup[codes], labels


def _variable(columns: Mapping[str, Coded], settings: AnalysisSettings, variable: str
              ) -> tuple[str, np.ndarray, list[object]] | None:
    """The source column of a model variable, and its codes and labels as the model sees
    it (-1: missing); None when it is neither a column nor made from one."""
    for banding in settings.bands:
        if banding.name == variable and banding.source in columns:
            _, values = columns[banding.source]
            relabel: dict[object, str | None] = {}
            for value in values:
                relabel[value] = next(
                    (b.label for b in banding.bands if isinstance(value, int | float)
                     and value >= b.low and (b.high is None or value <= b.high)), None)
            codes, labels = _recode(columns[banding.source], relabel)
            return banding.source, codes, list(labels)
    for grouping in settings.groupings:
        if grouping.name == variable and grouping.source in columns:
            mapping = {level: label for label, levels in grouping.groups for level in levels}
            _, values = columns[grouping.source]
            codes, labels = _recode(columns[grouping.source],
                                    {v: mapping.get(str(v)) for v in values})
            return grouping.source, codes, list(labels)
    if variable not in columns:
        return None
    if variable in settings.question_keys or variable in settings.judgement_keys:
        _, values = columns[variable]
        codes, labels = _recode(columns[variable],
                                {v: v if v in (YES, NO) else None for v in values})
        return variable, codes, list(labels)
    codes, values = columns[variable]
    return variable, codes, list(values)


def _reference_key(settings: AnalysisSettings, variable: str) -> str:
    refs = dict(settings.reference)
    return f"analysis.reference.{variable if variable in refs else 'question'}"


def sufficiency_problems(columns: Mapping[str, Coded], whole_numbers: set[str],
                         settings: AnalysisSettings, file: str,
                         written: Mapping[str, str]) -> list[DataProblem]:
    """Faults that would stop the models, each naming its column (no row: they are
    about the whole file). `whole_numbers` are the continuous columns."""
    problems: list[DataProblem] = []

    def fault(column: str, message: str, expected: str) -> None:
        problems.append(DataProblem(file, message, expected, column=column,
                                    written=written.get(column, ""), kind="model"))

    if "ro_interviewed" not in columns:
        return problems
    ro_codes, ro_values = columns["ro_interviewed"]
    yes = [k for k, v in enumerate(ro_values) if v == YES]
    interviewed = np.isin(ro_codes, yes)
    n = int(interviewed.sum())
    if not n:
        fault("ro_interviewed", f"no case has ro_interviewed 'yes' ({len(ro_codes):,} "
              "cases read); the interview tables and the models are on interviewed cases",
              "at least some cases whose responsible officer was interviewed")
        return problems
    variables: dict[str, tuple[str, np.ndarray, list[object]]] = {}
    for v in (*settings.candidates, *settings.judgement_keys):
        found = _variable(columns, settings, v)
        if found is not None:
            source, codes, labels = found
            variables[v] = (source, codes[interviewed], labels)
    empty = False
    for v, (source, codes, _) in variables.items():
        if (codes >= 0).any():
            continue
        empty = True
        blank = not (columns[source][0][interviewed] >= 0).any()
        why = (f"column '{source}' is blank on all {n:,} interviewed cases" if blank else
               f"column '{source}' has no usable value on any of the {n:,} interviewed "
               "cases" + (" (only 'not applicable')" if v in settings.question_keys else ""))
        use = f"; {v} is made from it and " if v != source else "; "
        use += (_CANDIDATES if v in settings.candidates
                else "it is the outcome of one of the models")
        fault(source, why + use, "values on at least some interviewed cases")
    if empty:
        return problems
    derived = {b.name for b in settings.bands} | {g.name for g in settings.groupings}
    categorical = [v for v in settings.candidates if v in variables
                   and (v in derived or v not in whole_numbers)]

    def reference(v: str) -> tuple[str, int] | None:
        try:
            ref = settings.reference_level(v)
        except KeyError:
            return None
        labels = variables[v][2]
        return ref, labels.index(ref) if ref in labels else -2

    def of(v: str) -> str:
        source = variables[v][0]
        return f"{v} (made from column '{source}')" if v != source else f"column '{v}'"

    missing_ref: set[str] = set()
    for v in categorical:
        source, codes, labels = variables[v]
        found = reference(v)
        if found is None or (codes == found[1]).any():
            continue
        missing_ref.add(v)
        seen = sorted({str(labels[c]) for c in np.unique(codes[codes >= 0]).tolist()})
        fault(source, f"the reference level '{found[0]}' of {of(v)} does not occur on any "
              f"of the {n:,} interviewed cases (levels found: {', '.join(seen)})",
              f"some interviewed cases at '{found[0]}', or another reference level in "
              f"{_reference_key(settings, v)}")
    for j in settings.judgement_keys:
        if j not in variables:
            continue
        _, outcome, answers = variables[j]
        with_outcome = outcome >= 0
        complete = with_outcome.copy()
        for v in settings.candidates:
            if v in variables:
                complete &= variables[v][1] >= 0
        size = int(complete.sum())
        if not size:
            counts = sorted((int(((variables[v][1] >= 0) & with_outcome).sum()),
                             variables[v][0]) for v in settings.candidates if v in variables)
            fewest = ", ".join(f"'{c}' ({k:,})" for k, c in counts[:3])
            fault(j, f"no interviewed case has {j} and every model variable recorded, so "
                  f"its model has no cases; the columns recorded least often among the "
                  f"{int(with_outcome.sum()):,} interviewed cases judged are {fewest}",
                  "interviewed cases recorded on every column in analysis.candidates")
            continue
        given = np.unique(outcome[complete]).tolist()
        if len(given) < 2:
            fault(j, f"{j} is '{answers[given[0]]}' on all {size:,} cases its model uses "
                  "(cases with every model variable recorded), so there is nothing to model",
                  "both yes and no among those cases")
        for v in categorical:
            found = reference(v)
            if v in missing_ref or found is None:
                continue
            if not (variables[v][1][complete] == found[1]).any():
                missing_ref.add(v)
                fault(variables[v][0], f"the reference level '{found[0]}' of {of(v)} does "
                      f"not occur among the {size:,} cases the model of {j} uses "
                      "(interviewed cases with every model variable recorded)",
                      f"some of those cases at '{found[0]}', or another reference level "
                      f"in {_reference_key(settings, v)}")
    return problems
