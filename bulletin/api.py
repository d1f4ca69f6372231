"""The package from Python: one edition's cases, facts, models and tables in a notebook.

The command line serves the yearly build; analysts also check figures and answer
questions in a notebook, and should not need to know the pipeline's internals (which
stage derives the bands, which cases the models use) to do so. `open_edition` runs the
same stages as `bulletin build` up to the tables, quietly, and hands back plain values;
`compare` is `bulletin diff` as a data frame. Errors are the same `BulletinError`s the
command line reports, with file, row and column.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bulletin.config import DEFAULT_EDITION, Edition, load_edition
from bulletin.facts import Registry

if TYPE_CHECKING:
    import pandas as pd

    from bulletin.analysis.run import AnalysisResults
    from bulletin.analysis.stepwise import StepwiseResult


@dataclass(frozen=True, repr=False)
class EditionData:
    """One edition, analysed: what a bulletin is made from, as values.

    - `edition`: the settings (edition file over bulletin/defaults.toml);
    - `cases`: the validated canonical case table, one row per inspected case;
    - `facts`: every statistic under its stable key (`facts.to_frame()` for pandas);
    - `models`: judgement key -> the fitted stepwise model (`summary()`, `to_frame()`,
      `steps_frame()`);
    - `tables`: table id -> the table as printed (cells are the printed text; the
      numbers behind them are in `facts`);
    - `results`: the analysis stage's own result value, for anything not above.
    """

    edition: Edition
    cases: pd.DataFrame
    facts: Registry
    models: Mapping[str, StepwiseResult]
    tables: Mapping[str, pd.DataFrame]
    results: AnalysisResults

    def __repr__(self) -> str:
        return (f"<EditionData {self.edition.id}: {len(self.cases):,} cases, "
                f"{len(self.facts):,} facts, models {', '.join(self.models)}; "
                f"tables {', '.join(self.tables)}>")

    def _repr_html_(self) -> str:
        e = html.escape
        return (f"<p><strong>Edition {e(self.edition.id)}</strong> ({e(self.edition.title)}): "
                f"{len(self.cases):,} cases, {len(self.facts):,} facts; models "
                f"{e(', '.join(self.models))}; tables {e(', '.join(self.tables))}.</p>")


def open_edition(id_or_path: str | Path = DEFAULT_EDITION,
                 data: str | Path | None = None) -> EditionData:
    """Load, validate and analyse one edition, quietly.

    `id_or_path` is an edition id (editions/ID.toml) or the path of an edition file;
    `data` replaces the data file the edition names, as `bulletin build --data` does.
    """
    from bulletin.analysis.run import analyse
    from bulletin.build import stability_note
    from bulletin.collect import collect_facts
    from bulletin.tables import build_tables
    from bulletin.validate import load_valid

    edition = load_edition(id_or_path)
    cases = load_valid(Path(data) if data is not None else edition.data_file,
                       edition.analysis)
    note = stability_note(len(cases), edition.analysis.stability_resamples)
    if note:  # a notebook shows a warning; minutes of silence would look like a hang
        warnings.warn(note, stacklevel=2)
    results = analyse(cases, edition)
    facts = collect_facts(results, edition)
    models = {m.judgement: m.result for m in results.models}
    tables = {t.id: _table_frame(t) for t in build_tables(facts, edition)}
    return EditionData(edition=edition, cases=cases, facts=facts,
                       models=MappingProxyType(models), tables=MappingProxyType(tables),
                       results=results)


def _table_frame(table: Any) -> pd.DataFrame:
    import pandas as pd

    width = len(table.columns())
    rows = [tuple(r) + ("",) * (width - len(r)) for r in table.rows]
    frame = pd.DataFrame(rows, columns=list(table.columns()))
    frame.attrs["caption"] = table.caption
    return frame


def compare(old: EditionData | Registry | str | Path,
            new: EditionData | Registry | str | Path,
            prefix: str = "", only_significant: bool = False) -> pd.DataFrame:
    """`bulletin diff` as a data frame: one row per key (status changed, unchanged,
    added or removed; old, new, change, p, significant, test).

    Each side is an opened edition, a registry, an edition id, a build folder or a
    numbers.csv file, as on the command line.
    """
    from bulletin.diff import compare as compare_registries

    comp = compare_registries(_registry(old), _registry(new))
    return comp.select(prefix, only_significant).to_frame()


def _registry(side: EditionData | Registry | str | Path) -> Registry:
    if isinstance(side, EditionData):
        return side.facts
    if isinstance(side, Registry):
        return side
    from bulletin.sides import load_side

    return load_side(str(side), quiet=True)[0]
