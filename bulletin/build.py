"""The build pipeline: config -> load/validate -> analyse -> facts -> figures -> render -> publish.

Each stage is a module with one job; data flows forward as plain values, and each
stage's time is shown so that a slow one is easy to spot. The lines add up to the wall
time: the interpreter's start and the libraries each stage imports are lines of their
own (a library's import is most of a second, and would otherwise be charged to whichever
stage happens to use it first). Nothing after the facts stage sees the case data.
"""

from __future__ import annotations

import cProfile
import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TypeVar

from bulletin.cache import AnalysisCache
from bulletin.config import DEFAULT_EDITION, PROJECT_DIR, Edition, load_edition, load_previous
from bulletin.errors import BulletinError
from bulletin.facts import Registry
from bulletin.figures import Figure

T = TypeVar("T")
FORMATS = ("pdf", "html", "csv", "numbers")
#: From this many cases a build says what the bootstrap stability check will cost: about
#: 1.7 s of CPU per reselection at 200,000 cases, against milliseconds on a year's cases.
LARGE = 50_000


def stability_note(cases: int, resamples: int) -> str | None:
    """What the bootstrap stability check will cost, to be said before it runs on a
    large sample (from `LARGE` cases, with the check on); None otherwise."""
    if cases < LARGE or resamples <= 0:
        return None
    return (f"{cases:,} cases: the selection stability check (Annex B) reselects each "
            f"model on {resamples} bootstrap resamples, which at this size takes minutes; "
            "for a trial run set analysis.stability_resamples lower in the edition file, "
            "or the environment variable BULLETIN_STABILITY_RESAMPLES (0 leaves the check "
            "out)")


# Per open stage, the seconds spent in the stages printed inside it: a stage's line shows
# its own time only, so that nested lines (imports inside figures) are not counted twice.
_NESTED: list[float] = []
_ACCOUNTED = [0.0]


def _line(name: str, seconds: float) -> None:
    print(f"  {name:<17} {seconds:6.2f} s", file=sys.stderr)


@contextmanager
def _stage(name: str, quiet: bool = False) -> Iterator[None]:
    start = time.perf_counter()
    _NESTED.append(0.0)
    try:
        yield
    finally:
        nested = _NESTED.pop()
        spent = time.perf_counter() - start
        if not quiet:
            if _NESTED:
                _NESTED[-1] += spent
            else:
                _ACCOUNTED[0] += spent
            _line(name, spent - nested)


def _import(*modules: str) -> None:
    for name in modules:
        importlib.import_module(name)


def imports(label: str, *modules: str, quiet: bool = False) -> None:
    """Import a stage's libraries as a line of their own ('imports'), where they are not
    loaded yet: the stage's own line then shows only its own work."""
    missing = [m for m in modules if m not in sys.modules]
    if missing:
        timed(f"imports {label}", _import, *missing, quiet=quiet)


def process_age() -> float | None:
    """Seconds since this process started (Linux), for the report's 'startup' line: the
    interpreter and the command line's own imports, before the first stage."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/self/stat", encoding="ascii") as fh:
            started = int(fh.read().rsplit(")", 1)[1].split()[19]) / ticks
        with open("/proc/uptime", encoding="ascii") as fh:
            return max(0.0, float(fh.read().split()[0]) - started)
    except (OSError, ValueError, IndexError):
        return None


def timed(name: str, fn: Callable[..., T], *args: object, quiet: bool = False) -> T:
    with _stage(name, quiet):
        return fn(*args)


def gather(edition: Edition, data: Path | None = None, quiet: bool = False,
           cache: AnalysisCache | None = None) -> Registry:
    """First pass: from the data file to the facts registry (from `cache` when its
    inputs are unchanged: then nothing is loaded or analysed)."""
    def compute() -> Registry:
        imports("analysis", "bulletin.validate", "bulletin.analysis.run", "bulletin.collect",
                quiet=quiet)
        from bulletin.analysis.run import analyse
        from bulletin.collect import collect_facts
        from bulletin.validate import load_valid

        frame = timed("load", load_valid, data or edition.data_file, edition.analysis,
                      quiet=quiet)
        note = stability_note(len(frame), edition.analysis.stability_resamples)
        if not quiet and note:
            print(f"note: {note}", file=sys.stderr)
        results = timed("analyse", analyse, frame, edition, quiet=quiet)
        return timed("facts", collect_facts, results, edition, quiet=quiet)

    return compute() if cache is None else cache.facts(edition, data, compute)


def figures_of(registry: Registry, edition: Edition, data: Path | None = None,
               cache: AnalysisCache | None = None) -> tuple[Figure, ...]:
    """The charts drawn from the registry (from `cache` when its inputs are unchanged)."""
    from bulletin.figures import make_figures

    def compute() -> tuple[Figure, ...]:
        imports("figures", "matplotlib.pyplot")
        return make_figures(registry, edition)

    return compute() if cache is None else cache.figures(edition, data, compute)


def previous_registry(edition: Edition, cache: AnalysisCache | None = None) -> Registry | None:
    """Last year's facts, for the year-on-year wording; computed from last year's data
    (or the cache keyed by it), not read from an old build folder, so that a build
    depends only on its inputs."""
    last_year = load_previous(edition)
    if last_year is None:
        return None
    try:
        return gather(last_year, quiet=True, cache=cache)
    except BulletinError as exc:
        raise BulletinError(
            f"previous edition {last_year.id} (last year's figures, for the year-on-year "
            f"wording of {edition.id}): {exc}", exc.problems) from None


def default_out(edition: Edition) -> Path:
    return PROJECT_DIR / "build" / edition.id


def analyse_command(edition_arg: str | None, data: Path | None, out: Path | None,
                    use_cache: bool = True) -> int:
    from bulletin.manifest import inputs_of
    from bulletin.publish import output_lock, write_numbers

    edition = load_edition(edition_arg or DEFAULT_EDITION)
    print(f"analysing edition {edition.id}", file=sys.stderr)
    target = out or default_out(edition)
    with output_lock(target):  # a second run on the same folder stops before analysing
        registry = gather(edition, data, cache=AnalysisCache(enabled=use_cache))
        write_numbers(registry, target, inputs_of(edition, data))
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
    from bulletin import pdfworker

    started = time.perf_counter()
    _ACCOUNTED[0] = 0.0
    age = process_age()
    if age is not None:
        _line("startup", age)
    worker = (timed("start pdf worker", pdfworker.PdfWorker)
              if "pdf" in formats and pdfworker.wanted() else None)
    with _closing(worker), ExitStack() as stack:
        imports("render", "bulletin.check", "bulletin.render", "bulletin.publish")
        from bulletin.check import run_check
        from bulletin.manifest import inputs_of
        from bulletin.publish import output_lock, publish
        from bulletin.render import TEMPLATES_DIR, render_bulletin

        edition = timed("config", load_edition, edition_arg or DEFAULT_EDITION)
        print(f"building edition {edition.id}", file=sys.stderr)
        target = out or default_out(edition)
        # A second build writing the same folder stops here, before any work it could
        # not publish; publishing finds the lock held by this process.
        stack.enter_context(output_lock(target))
        templates = templates_dir or TEMPLATES_DIR
        cache = AnalysisCache(enabled=use_cache)
        timed("check", lambda: run_check(edition, templates, cache.stored_facts(edition, data)))
        registry = gather(edition, data, cache=cache)
        previous = timed("previous", previous_registry, edition, cache)
        figures = timed("figures", figures_of, registry, edition, data, cache)
        if cache.hits:
            print(f"  {'cache':<17} used stored {', '.join(cache.hits)}", file=sys.stderr)
        document = timed("render", lambda: render_bulletin(
            registry, figures, edition, previous, templates_dir=templates))
        pdf = None
        layouts = cache.folder / "layout" if use_cache else None
        if worker is not None:
            worker.submit(document.html_print, TEMPLATES_DIR, document.published, layouts)
            pdf = worker.result
        else:
            imports("pdf", "weasyprint")
        inputs = inputs_of(edition, data, templates)
        timed("publish", lambda: publish(document, registry, figures, target, formats,
                                         pdf=pdf, inputs=inputs, layout_cache=layouts))
    if worker is not None and worker.render_seconds is not None:
        print(f"  (in parallel, the PDF worker: import {worker.import_seconds or 0:.2f} s, "
              f"layout {worker.render_seconds:.2f} s)", file=sys.stderr)
    total = time.perf_counter() - started + (age or 0.0)
    other = total - _ACCOUNTED[0] - (age or 0.0)
    if other >= 0.01:  # between the lines: messages, the cache's bookkeeping
        _line("other", other)
    _line("total", total)
    print(f"built {target}")
    return 0


@contextmanager
def _closing(worker: object | None) -> Iterator[None]:
    try:
        yield
    finally:
        if worker is not None:
            timed("stop pdf worker", worker.close)  # type: ignore[attr-defined]


def profiled(path: Path, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
    """Run `fn` under cProfile and write the statistics to `path` (open them with
    `python -m pstats FILE` or snakeviz). The PDF worker, a separate process, is not
    in the profile: set BULLETIN_PDF_WORKER=0 to profile the PDF in this process."""
    profile = cProfile.Profile()
    try:
        return profile.runcall(fn, *args, **kwargs)
    finally:
        try:
            profile.dump_stats(str(path))
        except OSError as exc:
            print(f"--profile: cannot write {path}: {exc.strerror}", file=sys.stderr)
        else:
            print(f"profile written to {path}", file=sys.stderr)
