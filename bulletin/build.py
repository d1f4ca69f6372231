"""The build pipeline: config -> load/validate -> analyse -> facts -> figures -> render -> publish.

Each stage is a module with one job; data flows forward as plain values, and each
stage's time is shown so that a slow one is easy to spot. Nothing after the facts
stage sees the case data.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from bulletin.cache import AnalysisCache
from bulletin.config import DEFAULT_EDITION, PROJECT_DIR, Edition, load_edition, load_previous
from bulletin.errors import BulletinError
from bulletin.facts import Registry
from bulletin.figures import Figure

T = TypeVar("T")
FORMATS = ("pdf", "html", "csv", "numbers")


@contextmanager
def _stage(name: str, quiet: bool = False) -> Iterator[None]:
    start = time.perf_counter()
    yield
    if not quiet:
        print(f"  {name:<10} {time.perf_counter() - start:6.2f} s", file=sys.stderr)


def timed(name: str, fn: Callable[..., T], *args: object, quiet: bool = False) -> T:
    with _stage(name, quiet):
        return fn(*args)


def gather(edition: Edition, data: Path | None = None, quiet: bool = False,
           cache: AnalysisCache | None = None) -> Registry:
    """First pass: from the data file to the facts registry (from `cache` when its
    inputs are unchanged: then nothing is loaded or analysed)."""
    def compute() -> Registry:
        from bulletin.analysis.run import analyse
        from bulletin.collect import collect_facts
        from bulletin.validate import load_valid

        frame = timed("load", load_valid, data or edition.data_file, edition.analysis,
                      quiet=quiet)
        results = timed("analyse", analyse, frame, edition, quiet=quiet)
        return timed("facts", collect_facts, results, edition, quiet=quiet)

    return compute() if cache is None else cache.facts(edition, data, compute)


def figures_of(registry: Registry, edition: Edition, data: Path | None = None,
               cache: AnalysisCache | None = None) -> tuple[Figure, ...]:
    """The charts drawn from the registry (from `cache` when its inputs are unchanged)."""
    from bulletin.figures import make_figures

    def compute() -> tuple[Figure, ...]:
        return make_figures(registry, edition)

    return compute() if cache is None else cache.figures(edition, data, compute)


def previous_registry(edition: Edition, cache: AnalysisCache | None = None) -> Registry | None:
    """Last year's facts, for the year-on-year wording; computed from last year's data
    (or the cache keyed by it), not read from an old build folder, so that a build
    depends only on its inputs."""
    last_year = load_previous(edition)
    return None if last_year is None else gather(last_year, quiet=True, cache=cache)


def default_out(edition: Edition) -> Path:
    return PROJECT_DIR / "build" / edition.id


def analyse_command(edition_arg: str | None, data: Path | None, out: Path | None,
                    use_cache: bool = True) -> int:
    from bulletin.publish import write_numbers

    edition = load_edition(edition_arg or DEFAULT_EDITION)
    print(f"analysing edition {edition.id}", file=sys.stderr)
    registry = gather(edition, data, cache=AnalysisCache(enabled=use_cache))
    target = out or default_out(edition)
    write_numbers(registry, target)
    print(f"wrote {len(registry)} facts to {target}/numbers.csv and numbers.json")
    return 0


def build_command(edition_arg: str | None, data: Path | None, out: Path | None,
                  formats: tuple[str, ...], use_cache: bool = True,
                  templates_dir: Path | None = None) -> int:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        found = ", ".join(unknown) if unknown else "nothing"
        raise BulletinError(f"--formats: found {found}; expected a comma-separated "
                            f"subset of {','.join(FORMATS)}")
    from bulletin.check import run_check
    from bulletin.publish import publish
    from bulletin.render import TEMPLATES_DIR, render_bulletin

    edition = load_edition(edition_arg or DEFAULT_EDITION)
    print(f"building edition {edition.id}", file=sys.stderr)
    total = time.perf_counter()
    templates = templates_dir or TEMPLATES_DIR
    cache = AnalysisCache(enabled=use_cache)
    timed("check", run_check, edition, templates, cache.stored_facts(edition, data))
    registry = gather(edition, data, cache=cache)
    previous = timed("previous", previous_registry, edition, cache)
    figures = timed("figures", figures_of, registry, edition, data, cache)
    if cache.hits:
        print(f"  {'cache':<10} used stored {', '.join(cache.hits)}", file=sys.stderr)
    document = timed("render", lambda: render_bulletin(registry, figures, edition, previous,
                                                       templates_dir=templates))
    target = out or default_out(edition)
    timed("publish", publish, document, registry, figures, target, formats)
    print(f"  {'total':<10} {time.perf_counter() - total:6.2f} s", file=sys.stderr)
    print(f"built {target}")
    return 0
