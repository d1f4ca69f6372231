"""Writes the bulletin's outputs (PDF, HTML, table CSVs, numbers files, figures) in one go.

Everything is written into a staging folder beside the output folder and swapped in only
when every file has been written, so a build that fails half-way (a refused image, a
full disk, a bug) leaves last time's output exactly as it was. A reader never finds a
new PDF next to an old numbers file.
"""

from __future__ import annotations

import datetime
import functools
import gc
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Protocol

from bulletin import confine, manifest
from bulletin.atomic import exchange, exclusive
from bulletin.config import PROJECT_DIR
from bulletin.errors import BulletinError
from bulletin.facts import Registry

TEMPLATES_DIR = PROJECT_DIR / "templates"
FIGURES_DIR = PROJECT_DIR / "figures"
FORMATS = ("pdf", "html", "csv", "numbers")
# Hand-made artwork copied beside the generated figures, so the output folder holds all.
ARTWORK = {"figure1.svg": FIGURES_DIR / "standards-framework.svg"}


class _Table(Protocol):
    id: str

    def to_csv(self) -> str: ...


class _Figure(Protocol):
    id: str
    svg: str


class _Document(Protocol):
    title: str
    html_print: str
    html_web: str
    tables: Sequence[_Table]


# -- atomic output folder ---------------------------------------------------------------

# What a build may write into its output folder, by format. A run replaces only what it
# makes (`analyse` the numbers files, `--formats html` the web edition, its tables and
# figures); the rest stays, and the manifest says whether it is older than its inputs.
# Other files a user keeps in the folder are left alone.
OUTPUTS = ("bulletin.pdf", "bulletin.html", "numbers.csv", "numbers.json", "tables",
           "figures", manifest.NAME)
MADE_BY = {
    "numbers": ("numbers.csv", "numbers.json"),
    "csv": ("tables",),
    "html": ("bulletin.html", "tables", "figures"),  # the web edition links to the CSVs
    "pdf": ("bulletin.pdf", "figures"),
}
_NEW, _OLD = ".new-", ".old-"


def _fault(point: str) -> None:
    """A test hook: `BULLETIN_FAULT=kill:<point>` (or `interrupt:<point>`) stops the
    process at a named point of the swap, so that the reliability battery can check
    what a killed or interrupted run leaves, deterministically. Unset, it does nothing."""
    faults = os.environ.get("BULLETIN_FAULT", "").split(",")
    if f"kill:{point}" in faults:
        os.kill(os.getpid(), signal.SIGKILL)
    if f"interrupt:{point}" in faults:
        # To this thread, not the process: a signal sent to the process may be taken by
        # another thread (a library's worker), and this one would then not be woken.
        signal.raise_signal(signal.SIGINT)
        time.sleep(1)  # the KeyboardInterrupt arrives here


def _leftovers(out: Path, kind: str) -> list[Path]:
    prefix = f".{out.name}{kind}"
    return sorted(p for p in out.parent.iterdir() if p.name.startswith(prefix) and p.is_dir())


def _recover(out: Path) -> None:
    """Tidies what a run that was killed part-way left beside `out` (the caller holds
    the lock, so no other run is using them): the previous output is put back if `out`
    is missing, and every staging and set-aside folder is removed."""
    news, olds = _leftovers(out, _NEW), _leftovers(out, _OLD)
    if not news and not olds:
        return
    if not out.exists() and olds:
        newest = max(olds, key=lambda p: p.stat().st_mtime)
        newest.rename(out)
        olds.remove(newest)
        print(f"  publish: {out} was missing after an earlier run was stopped part-way; "
              f"restored the previous output from {newest.name}", file=sys.stderr)
    for folder in news + olds:
        shutil.rmtree(folder, ignore_errors=True)
    if news or olds:
        print(f"  publish: removed {len(news) + len(olds)} unfinished folder(s) left "
              f"beside {out} by an earlier run that was stopped", file=sys.stderr)


@contextmanager
def staged(out: Path, replaces: Sequence[str] = OUTPUTS) -> Iterator[Path]:
    """Yields a staging folder beside `out`; on success swaps it in for `out`.

    The stage starts as a copy of `out` less the outputs named in `replaces`, so what
    this run does not make (and files a user keeps in the folder) survives. On any
    failure the stage is deleted and `out` is untouched; a file-system failure is
    reported plainly. A lock file beside `out` stops a second run writing the same
    folder at the same time, and leftovers of a killed run are tidied first.
    """
    out = Path(out)
    with output_lock(out), _staging(out, replaces) as stage:
        yield stage


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """The output folder's lock (a file beside it), held for the block: a second run
    writing the same folder stops at once with a message. A build takes it before it
    analyses, so that a second build stops before doing work it could not publish;
    publishing in the same process then finds it held already."""
    out = Path(out)
    with ExitStack() as stack:
        try:
            if out.exists() and not out.is_dir():
                raise BulletinError(f"{out}: exists and is not a folder; cannot write the "
                                    "bulletin")
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BulletinError(f"{out}: cannot create the output folder: "
                                f"{exc.strerror}") from None
        lock = out.parent / f".{out.name}.lock"
        try:
            stack.enter_context(exclusive(lock, str(out)))
        except OSError as exc:
            raise BulletinError(f"{out}: cannot write the output ({exc.strerror}: cannot "
                                f"make the lock file {lock}); the previous output is "
                                "unchanged") from None
        yield


@contextmanager
def _staging(out: Path, replaces: Sequence[str]) -> Iterator[Path]:
    stage: Path | None = None
    try:
        _recover(out)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}{_NEW}", dir=out.parent))
        if out.is_dir():
            shutil.copytree(out, stage, dirs_exist_ok=True, symlinks=True,
                            ignore=lambda folder, names: [n for n in names if n in replaces]
                            if Path(folder) == out else ())
        yield stage
        _fault("written")
        _swap_in(stage, out)
    except OSError as exc:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        where = f": {exc.filename}" if exc.filename else ""
        raise BulletinError(f"{out}: cannot write the output ({exc.strerror}{where}); "
                            "the previous output is unchanged") from None
    except BaseException:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        raise


def _swap_in(stage: Path, out: Path) -> None:
    """One atomic exchange where the system offers it (the edition folder is never
    missing); else two renames, old aside and new in, which the next run repairs if
    this one is killed between them."""
    os.chmod(stage, 0o755)  # mkdtemp makes it private; the output folder should not be
    if not out.exists():
        stage.rename(out)
        return
    if "no-exchange" not in os.environ.get("BULLETIN_FAULT", "") and exchange(stage, out):
        _fault("exchanged")
        shutil.rmtree(stage, ignore_errors=True)  # now holds the old output
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}{_OLD}", dir=out.parent))
    old.rmdir()
    out.rename(old)
    try:
        _fault("between")
        stage.rename(out)
    except BaseException:
        old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="\n")
    else:
        path.write_bytes(data)


# -- the PDF -----------------------------------------------------------------------------

class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _weasyprint_log() -> Iterator[_Collect]:
    """WeasyPrint reports a missing image or an undefined contents target only as a log
    record (its logger has a NullHandler): collect them so none goes unseen."""
    logger = logging.getLogger("weasyprint")
    handler = _Collect()
    level = logger.level
    logger.setLevel(logging.WARNING)  # whatever the caller's logging set-up
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@contextmanager
def _source_date(published: str | None) -> Iterator[None]:
    """Pins SOURCE_DATE_EPOCH to the publication date while the PDF is written.

    Where HarfBuzz's subsetter is missing, WeasyPrint subsets fonts with fontTools,
    which stamps the current time into each embedded font unless this variable is set;
    pinning it keeps an old edition's PDF byte-identical on such machines too. A value
    the caller set already is respected.
    """
    if not published or "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    moment = datetime.datetime.fromisoformat(published).replace(tzinfo=datetime.UTC)
    os.environ["SOURCE_DATE_EPOCH"] = str(int(moment.timestamp()))
    try:
        yield
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Python's cycle collector, run less often while WeasyPrint lays out and writes.

    A layout makes millions of small objects, and by default the collector walks the
    growing heap again every 700 allocations: about an eighth of the PDF's time (2.85 to
    2.5 s of CPU, measured). What was imported before is frozen out of the collector's
    walks, and it runs a thirtieth as often; memory stays bounded, the bytes are the same.
    """
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


SIDE_BY_SIDE = 2  # stretch documents laid out at once in the PDF worker


def _logged(log: _Collect, job: Callable[[], Any]) -> tuple[Any, list[tuple[int, str]], int]:
    mark = len(log.records)
    value = job()
    return value, [(r.levelno, r.getMessage()) for r in log.records[mark:]], os.getpid()


def _side_by_side(log: _Collect, jobs: list[Callable[[], Any]]) -> list[Any]:
    """`forked.run`, bringing back what WeasyPrint logged in the other processes, so
    that a message there fails the build or is shown as one here would be."""
    from bulletin import forked

    out = []
    for value, records, pid in forked.run([functools.partial(_logged, log, job)
                                           for job in jobs]):
        if pid != os.getpid():
            log.records.extend(logging.makeLogRecord(
                {"name": "weasyprint", "levelno": level, "levelname":
                 logging.getLevelName(level), "msg": message}) for level, message in records)
        out.append(value)
    return out


def render_pdf(html: str, base_url: Path = TEMPLATES_DIR, published: str | None = None,
               roots: Sequence[Path] | None = None, layout_cache: Path | None = None,
               side_by_side: bool = False) -> bytes:
    """The tagged (PDF/UA-1) PDF of `html`, loading only what the sandbox allows.

    `published` (YYYY-MM-DD) becomes the PDF's creation and modification date, so that
    the same inputs give the same bytes. A refused load or any error WeasyPrint logs
    fails the build; warnings are passed on to stderr. With `layout_cache` (a folder),
    the pagination's first layouts are kept there and reused (`bulletin.layout_cache`);
    with `side_by_side` (the build's PDF worker: a process of its own, with a core to
    spare) they are laid out as two documents at once (`bulletin.forked`). The same
    bytes either way, sooner.
    """
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    from bulletin import forked, paginate, pdfua
    from bulletin.fetcher import DEFAULT_ROOTS, RefusedURL, SandboxFetcher
    from bulletin.layout_cache import measure_for, one_by_one

    fetcher = SandboxFetcher(DEFAULT_ROOTS if roots is None else roots)
    base = str(Path(base_url).resolve()) + "/"
    with _weasyprint_log() as log, _fewer_collections():
        documents, run = 1, one_by_one
        if side_by_side and forked.possible():
            documents, run = SIDE_BY_SIDE, functools.partial(_side_by_side, log)
        measure = measure_for(layout_cache, base, fetcher, run)
        try:
            doc = paginate.render(lambda h: weasyprint.HTML(
                string=h, base_url=base, url_fetcher=fetcher,
            ).render(presentational_hints=True), html, measure, documents)
            if published:
                doc.metadata.created = published
                doc.metadata.modified = published
            with _source_date(published):
                pdf = pdfua.finish(doc.write_pdf(pdf_variant="pdf/ua-1"))
        except RefusedURL as exc:
            raise BulletinError(f"PDF: {exc}") from None
        except FatalURLFetchingError as exc:
            cause = exc.__cause__ or exc
            raise BulletinError(f"PDF: {exc}: {cause}") from None
    errors = [r for r in log.records if r.levelno >= logging.ERROR]
    for r in log.records:
        if r.levelno < logging.ERROR:
            print(f"  weasyprint: {r.getMessage()}", file=sys.stderr)
    if errors:
        lines = "; ".join(r.getMessage() for r in errors)
        lines += "".join(f"; {refused}" for refused in fetcher.refused)
        raise BulletinError(f"PDF: WeasyPrint reported {len(errors)} error(s): {lines}")
    return pdf


# -- the outputs -------------------------------------------------------------------------

def _numbers(registry: Registry, folder: Path) -> None:
    _write(folder / "numbers.csv", registry.to_csv())
    _write(folder / "numbers.json", registry.to_json())


def _made(formats: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for f in formats for name in MADE_BY[f]))


def _files_under(folder: Path, names: Sequence[str]) -> list[str]:
    out = []
    for name in names:
        path = folder / name
        if path.is_file():
            out.append(name)
        elif path.is_dir():
            out += [p.relative_to(folder).as_posix() for p in sorted(path.rglob("*"))
                    if p.is_file()]
    return out


@contextmanager
def _run(out: Path, formats: Sequence[str],
         inputs: Mapping[str, str] | None) -> Iterator[Path]:
    """The staged output folder of one run making `formats`, with its manifest."""
    made = _made(formats)
    with staged(out, (*made, manifest.NAME)) as stage:
        old = manifest.read(out)
        yield stage
        ours = [n for n in OUTPUTS if n not in made and n != manifest.NAME]
        notes = manifest.record(stage, _files_under(stage, made),
                                _files_under(stage, ours), inputs, old)
        for note in notes:
            print(f"  note: {note}", file=sys.stderr)


def write_numbers(registry: Registry, out: Path,
                  inputs: Mapping[str, str] | None = None) -> None:
    """numbers.csv and numbers.json, atomically (the `analyse` command); the other
    outputs in `out` stay as they are."""
    with _run(out, ("numbers",), inputs) as stage:
        _numbers(registry, stage)


def publish(document: Any, registry: Registry, figures: Sequence[Any], out: Path,
            formats: tuple[str, ...] = FORMATS, published: str | None = None,
            pdf: Callable[[], bytes] | None = None,
            inputs: Mapping[str, str] | None = None, layout_cache: Path | None = None,
            ) -> None:
    """Every requested output into `out`, all or nothing; the rest of `out` stays.

    pdf -> bulletin.pdf, html -> bulletin.html, csv -> tables/*.csv, numbers ->
    numbers.csv and numbers.json; the figures (as SVG) come with the PDF or HTML, and
    the table CSVs with the HTML too, since its tables link to them. `pdf`, where
    given, supplies the bytes `render_pdf` would make (from the build's PDF worker,
    which lays the PDF out while the other files are written); the PDF is written last.
    `inputs` (from `manifest.inputs_of`) is recorded in manifest.json against each file
    written. `layout_cache` is `render_pdf`'s.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise BulletinError(f"unknown output format(s) {unknown}; expected {FORMATS}")
    if published is None:  # else WeasyPrint takes the dates from the head's dcterms metas
        published = getattr(document, "published", None)
    with _run(out, formats, inputs) as stage:
        if "numbers" in formats:
            _numbers(registry, stage)
        if "csv" in formats or "html" in formats:  # the web edition links to the CSVs
            for table in document.tables:
                _write(stage / table.csv_path, table.to_csv())
        if "pdf" in formats or "html" in formats:
            for name, source in ARTWORK.items():
                _write(stage / "figures" / name, confine.read_bytes(source))
            for fig in figures:
                _write(stage / "figures" / f"{fig.id}.svg", fig.svg)
        if "html" in formats:
            _write(stage / "bulletin.html", document.html_web)
        if "pdf" in formats:
            _write(stage / "bulletin.pdf",
                   pdf() if pdf is not None
                   else render_pdf(document.html_print, TEMPLATES_DIR, published,
                                   layout_cache=layout_cache))
