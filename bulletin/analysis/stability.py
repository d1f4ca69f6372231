"""How stable is each model's stepwise selection? A bootstrap check (Austin and Tu, 2004).

Stepwise selection can pick a different set of variables after a small change in the
data, so a published model is only as convincing as its selection is repeatable. Each
model's selection is rerun, with exactly the rules and settings of the published fit,
on `stability_resamples` bootstrap resamples of the cases that model used (drawn with
replacement, same size). We count how often each candidate is selected and how often
the published set is selected exactly.

The resamples are independent, so they run in parallel processes. Every resample has
its own random stream, derived from the seed and the resample's place (model k,
resample i) by numpy's `SeedSequence` spawn keys, so which process runs a resample, and
how many processes there are, cannot change what it draws: the result is a pure
function of the data and the analysis settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bulletin.analysis.models import ModelInputs, model_inputs
from bulletin.analysis.parallel import cores, process_map
from bulletin.errors import BulletinError

# ModelInputs and model_inputs live in `models`, beside the fits they prepare; they are
# named here too because every resample is selected from them.
__all__ = ["ModelInputs", "Stability", "cores", "model_inputs", "resample_rows",
           "selection_stability"]


@dataclass(frozen=True)
class Stability:
    """Bootstrap selection frequencies of one model.

    `selections` holds each resample's selected set (sorted), or None where the
    selection could not be run on that resample (a reference level absent from it, say).
    """

    judgement: str
    published: tuple[str, ...]  # the selection on the full sample, in entry order
    candidates: tuple[str, ...]
    selections: tuple[tuple[str, ...] | None, ...]

    @property
    def resamples(self) -> int:
        """Resamples on which the selection ran (the base of every share)."""
        return sum(s is not None for s in self.selections)

    @property
    def failed(self) -> int:
        return sum(s is None for s in self.selections)

    def count(self, variable: str) -> int:
        return sum(s is not None and variable in s for s in self.selections)

    def share(self, variable: str) -> float:
        """Share of resamples whose selection includes `variable` (NaN if none ran)."""
        return self.count(variable) / self.resamples if self.resamples else math.nan

    @property
    def exact_count(self) -> int:
        target = set(self.published)
        return sum(s is not None and set(s) == target for s in self.selections)

    @property
    def exact_share(self) -> float:
        """Share of resamples selecting exactly the published set (in any order)."""
        return self.exact_count / self.resamples if self.resamples else math.nan


def resample_rows(n: int, seed: int, model: int, resample: int) -> np.ndarray:
    """Row positions of one bootstrap resample: n draws with replacement from n rows.

    The stream is `SeedSequence(seed, spawn_key=(model, resample))`, the same as
    `SeedSequence(seed).spawn(...)[model].spawn(...)[resample]`, so it depends on the
    resample's place alone, never on which process draws it or in what order.
    """
    seq = np.random.SeedSequence(seed, spawn_key=(model, resample))
    return np.random.default_rng(seq).integers(0, n, size=n)


# -- the work of one process ---------------------------------------------------------------

def _one(job: tuple[tuple[ModelInputs, ...], int], task: tuple[int, int],
         ) -> tuple[str, ...] | None:
    inputs, seed = job
    k, i = task
    model = inputs[k]
    try:
        return tuple(sorted(model.select_rows(resample_rows(model.n, seed, k, i))))
    except (BulletinError, np.linalg.LinAlgError):
        return None


def selection_stability(inputs: Sequence[ModelInputs], published: Mapping[str, Sequence[str]],
                        resamples: int, seed: int, workers: int | None = None,
                        ) -> tuple[Stability, ...]:
    """Selection frequencies of every model over `resamples` bootstrap resamples.

    `published` maps each judgement to its full-data selection. `workers` processes
    (default: one per core) share the resamples; with one worker they run here, in this
    process. The result is the same whatever the number of workers.
    """
    inputs = tuple(inputs)
    if resamples <= 0 or not inputs:
        return ()
    for model in inputs:
        model.design  # noqa: B018  (encoded once here, not once per process)
    tasks = [(k, i) for k in range(len(inputs)) for i in range(resamples)]
    workers = min(cores() if workers is None else max(1, workers), len(tasks))
    # A few chunks per process evens out the load (models differ in cost) without
    # paying the round trip per resample.
    results = process_map(_one, (inputs, seed), tasks, workers,
                          chunksize=max(1, math.ceil(len(tasks) / (4 * workers))))
    out = []
    for k, model in enumerate(inputs):
        picks = tuple(results[k * resamples:(k + 1) * resamples])
        out.append(Stability(model.judgement, tuple(published[model.judgement]),
                             model.candidates, picks))
    return tuple(out)
