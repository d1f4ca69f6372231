"""Writes the bulletin's outputs (PDF, HTML, table CSVs, numbers files, figures) in one go.

Everything is written into a staging folder beside the output folder and swapped in only
when every file has been written, so a build that fails half-way (a refused image, a
full disk, a bug) leaves last time's output exactly as it was. A reader never finds a
new PDF next to an old numbers file.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from bulletin import confine
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

# What a build writes into its output folder. Each run removes all of them before writing,
# so the folder never mixes outputs of two runs (an old PDF beside new numbers); other
# files a user keeps there are left alone.
OUTPUTS = ("bulletin.pdf", "bulletin.html", "numbers.csv", "numbers.json", "tables", "figures")


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yields a staging folder beside `out`; on success swaps it in for `out`.

    The stage starts as a copy of `out` less this program's own outputs, so files a user
    keeps in the folder survive. On any failure the stage is deleted and `out` is
    untouched; a file-system failure is reported plainly.
    """
    out = Path(out)
    try:
        if out.exists() and not out.is_dir():
            raise BulletinError(f"{out}: exists and is not a folder; cannot write the bulletin")
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    except OSError as exc:
        raise BulletinError(f"{out}: cannot create the output folder: {exc.strerror}") from None
    try:
        if out.is_dir():
            shutil.copytree(out, stage, dirs_exist_ok=True,
                            ignore=lambda folder, names: OUTPUTS if Path(folder) == out else ())
        yield stage
        _swap_in(stage, out)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise BulletinError(f"{out}: cannot write the output ({exc.strerror}: "
                            f"{exc.filename}); the previous output is unchanged") from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _swap_in(stage: Path, out: Path) -> None:
    """Two renames on the same file system: old aside, new in, old deleted."""
    os.chmod(stage, 0o755)  # mkdtemp makes it private; the output folder should not be
    if not out.exists():
        stage.rename(out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    old.rmdir()
    out.rename(old)
    try:
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


def render_pdf(html: str, base_url: Path = TEMPLATES_DIR, published: str | None = None,
               roots: Sequence[Path] | None = None) -> bytes:
    """The tagged (PDF/UA-1) PDF of `html`, loading only what the sandbox allows.

    `published` (YYYY-MM-DD) becomes the PDF's creation and modification date, so that
    the same inputs give the same bytes. A refused load or any error WeasyPrint logs
    fails the build; warnings are passed on to stderr.
    """
    import weasyprint
    from weasyprint.urls import FatalURLFetchingError

    from bulletin import paginate, pdfua
    from bulletin.fetcher import DEFAULT_ROOTS, RefusedURL, SandboxFetcher

    fetcher = SandboxFetcher(DEFAULT_ROOTS if roots is None else roots)
    with _weasyprint_log() as log:
        try:
            doc = paginate.render(lambda h: weasyprint.HTML(
                string=h, base_url=str(Path(base_url).resolve()) + "/",
                url_fetcher=fetcher).render(presentational_hints=True), html)
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


def write_numbers(registry: Registry, out: Path) -> None:
    """numbers.csv and numbers.json, atomically (the `analyse` command)."""
    with staged(out) as stage:
        _numbers(registry, stage)


def publish(document: Any, registry: Registry, figures: Sequence[Any], out: Path,
            formats: tuple[str, ...] = FORMATS, published: str | None = None,
            pdf: Callable[[], bytes] | None = None) -> None:
    """Every requested output into `out`, all or nothing.

    pdf -> bulletin.pdf, html -> bulletin.html, csv -> tables/*.csv, numbers ->
    numbers.csv and numbers.json; the figures (as SVG) come with the PDF or HTML, and
    the table CSVs with the HTML too, since its tables link to them. `pdf`, where
    given, supplies the bytes `render_pdf` would make (from the build's PDF worker,
    which lays the PDF out while the other files are written); the PDF is written last.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise BulletinError(f"unknown output format(s) {unknown}; expected {FORMATS}")
    if published is None:  # else WeasyPrint takes the dates from the head's dcterms metas
        published = getattr(document, "published", None)
    with staged(out) as stage:
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
                   else render_pdf(document.html_print, TEMPLATES_DIR, published))

