"""The generator end to end: targets, population, judgements, repair, checks, CSV text.

Stages run in a fixed order with their own seeded random streams, and every solver call
is a linear or integer program solved to optimality, so the output is the same bytes on
every run and every machine (the test suite checks the SHA-256 against the shipped file).
"""

from __future__ import annotations

import csv
import io

import numpy as np

from bulletin.config import default_settings
from bulletin.demo.design import published_models
from bulletin.demo.outcomes import add_judgements
from bulletin.demo.population import Population, build_population, rng_for
from bulletin.demo.repair import repair, residuals
from bulletin.demo.spec import YearSpec, spec_for
from bulletin.demo.targets import (
    Targets,
    choose_yes_counts,
    load_targets,
    reference_dir,
    shifted_targets,
)
from bulletin.schema import column_names


def header(spec: YearSpec) -> str:
    return (f"# SYNTHETIC demonstration data for bulletin (not real inspection data); "
            f"made by bulletin.demo, seed {spec.seed}, edition {spec.edition}")


def build(edition: str = "2018-19") -> tuple[Population, Targets]:
    spec = spec_for(edition)
    t = load_targets(reference_dir())
    choose_yes_counts(t)
    if spec.base_edition is not None:
        t = shifted_targets(t, dict(spec.shifts), spec.month_shift, spec.drift,
                            rng_for(spec, "drift"))
    pop = build_population(t, spec)
    add_judgements(pop, t, spec, published_models(reference_dir()))
    repair(pop, t, rng_for(spec, "repair"))
    off = residuals(pop, t)
    if off:
        raise RuntimeError(f"published cells not met after repair: {off}")
    _assign_ids(pop, t, spec)
    return pop, t


def _assign_ids(pop: Population, t: Targets, spec: YearSpec) -> None:
    """Order cases by provider (Table A1 order), shuffled within provider, then number them."""
    r = rng_for(spec, "ids")
    rank = {(name, typ): i for i, (name, typ, _) in enumerate(t.providers)}
    prov = [rank[(p, ty)] for p, ty in zip(pop.cols["provider"], pop.cols["provider_type"],
                                           strict=True)]
    order = np.lexsort((r.permutation(pop.n), np.array(prov)))
    pop.cols = {k: v[order] for k, v in pop.cols.items()}
    pop.cls = pop.cls[order]
    pop.interviewed = pop.interviewed[order]
    pop.cols["case_id"] = np.array([f"DEMO-{i + 1:05d}" for i in range(pop.n)], dtype=object)


def to_csv(pop: Population, spec: YearSpec) -> str:
    names = column_names(default_settings())
    buf = io.StringIO()
    buf.write(header(spec) + "\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for i in range(pop.n):
        w.writerow([pop.cols[c][i] for c in names])
    return buf.getvalue()


def generate(edition: str = "2018-19") -> str:
    """The demonstration CSV for `edition`, as text."""
    pop, _ = build(edition)
    return to_csv(pop, spec_for(edition))
