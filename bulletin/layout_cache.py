"""The pagination's measurements of the table chapters, kept between builds.

Before it lays out the whole print HTML, `paginate` lays out the stretches that hold
tables, to find where each table breaks (about a second on the demonstration edition).
A rebuild after a change of wording outside those chapters, or one with nothing changed,
lays out the very same stretch documents again. Their measurements are kept here under
``build/.cache/`` (beside the analysis cache), keyed by everything that layout depends on:

- the stretch document's HTML, exactly (it carries the stylesheet links and the
  footnote numbers), and the base URL its links resolve against;
- the files loaded while laying it out (stylesheets, images): recorded by the layout
  that stored the entry, as the URL asked for, the real file it named and a hash of its
  bytes; before the entry is used each URL is resolved again (a link may now point
  elsewhere) and the file hashed again;
- the fonts as fontconfig sees them, asked of fontconfig itself: the configuration files
  it read (by content) and every font file it lists (by name, size, times and inode);
  and the environment variables that steer fontconfig and Pango;
- the shared libraries loaded (Pango, HarfBuzz, FreeType, ...: by name, size, times and
  inode, where the system lists them) and Pango's version; the versions of WeasyPrint
  and the Python packages it lays out with, WeasyPrint's own stylesheets and the
  hyphenation dictionaries;
- the code that lays out and measures: `paginate`, `publish` (the layout call and its
  options), `fetcher`, `confine` and this module, as they were when imported.

The key must be exact, not merely likely: the layout of the whole document, made on
every build, catches a break the stored measurements missed, but not a "(continued)"
split they put where none was needed. The environment is taken afresh for every PDF (a
long-running preview sees a font installed meanwhile). Entries are written whole or not
at all and carry a checksum; one that does not read back, or whose checksum, key or
files disagree, is laid out afresh (and stored again), never trusted. The folder keeps
the `KEEP` entries used last (every edit of a table chapter makes one). Whatever stops the
key from being formed leaves the cache out of that PDF: it only ever saves time.
`bulletin build --no-cache` neither reads nor writes it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import metadata, util
from pathlib import Path
from typing import Any, Protocol

from bulletin.atomic import entry_body, entry_text, write_text_atomic
from bulletin.paginate import Job, Measure, Measured

FORMAT = 2  # bump when the layout of an entry changes
KIND = "layout"
KEEP = 200  # entries kept, the most recently used: a few editions' table chapters, often over
STALE = 3600.0  # seconds after which a write's leftover temporary file is removed
PACKAGES = ("weasyprint", "pydyf", "tinycss2", "cssselect2", "tinyhtml5", "fonttools",
            "pillow", "pyphen")
VARIABLES = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "PANGO_LANGUAGE",
             "FC_LANG", "FONTCONFIG_FILE", "FONTCONFIG_PATH", "FONTCONFIG_SYSROOT")
CODE = ("paginate.py", "publish.py", "fetcher.py", "confine.py", "layout_cache.py")


class Fetcher(Protocol):
    """What the cache needs of the layouts' fetcher (`fetcher.SandboxFetcher`)."""

    loaded: list[tuple[str, str, str]]

    def allowed_path(self, url: str) -> Path: ...


def _sources() -> str | None:
    """A hash of the code that lays out and measures, read once, at import: the code
    that runs is the code imported, whatever happens to the files later."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    try:
        for name in CODE:
            h.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    except OSError:
        return None  # no sources (a frozen build): no cache
    return h.hexdigest()


_SOURCES = _sources()


def _stat(path: str | Path) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}\tmissing"
    return f"{path}\t{st.st_size}\t{st.st_mtime_ns}\t{st.st_ctime_ns}\t{st.st_ino}"


def _fontconfig() -> Iterator[tuple[str, str]]:
    """(label, text) for each configuration file fontconfig reads (its content) and each
    font file it lists (its stat), in a fixed order: a fresh configuration, as the
    next layout's (WeasyPrint loads one for every document)."""
    from weasyprint.text.ffi import ffi, fontconfig

    config = ffi.gc(fontconfig.FcInitLoadConfigAndFonts(), fontconfig.FcConfigDestroy)
    if config == ffi.NULL:
        raise OSError("fontconfig could not load its configuration")
    files = fontconfig.FcConfigGetConfigFiles(config)
    configs = []
    while (name := fontconfig.FcStrListNext(files)) != ffi.NULL:
        configs.append(ffi.string(name).decode("utf-8", "surrogateescape"))
    for name in sorted(configs):
        path = Path(name)
        yield "config", f"{name}\t" + (hashlib.sha256(path.read_bytes()).hexdigest()
                                       if path.is_file() else _stat(path))
    fonts = fontconfig.FcConfigGetFonts(config, fontconfig.FcSetSystem)
    found = set()
    value = ffi.new("FcChar8 **")
    for i in range(fonts.nfont if fonts != ffi.NULL else 0):
        if fontconfig.FcPatternGetString(fonts.fonts[i], b"file", 0, value) == 0:
            found.add(ffi.string(value[0]).decode("utf-8", "surrogateescape"))
    for name in sorted(found):
        yield "font", _stat(name)


def _libraries() -> Iterator[str]:
    """The shared libraries mapped into this process (Linux), in name order."""
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    found = set()
    for line in maps.splitlines():
        fields = line.split(None, 5)
        if len(fields) == 6 and ".so" in Path(fields[5].strip()).name:
            found.add(fields[5].strip())
    for path in sorted(found):
        yield _stat(path)


def _package_files(package: str, patterns: Sequence[str]) -> Iterator[str]:
    spec = util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return
    for folder in spec.submodule_search_locations:
        for pattern in patterns:
            for path in sorted(Path(folder).glob(pattern)):
                yield _stat(path)


def environment() -> str:
    """A hash of what, besides its HTML and the files it loads, a layout depends on.
    Raises (OSError, RuntimeError, ...) where it cannot be formed."""
    from weasyprint.text.ffi import pango

    if _SOURCES is None:
        raise OSError("the layout code's sources cannot be read")
    h = hashlib.sha256()

    def feed(label: str, text: str) -> None:
        h.update(f"{label}\0{text}\0".encode("utf-8", "surrogateescape"))

    feed("format", str(FORMAT))
    feed("code", _SOURCES)
    feed("python", sys.version)
    for package in PACKAGES:
        try:
            feed(package, metadata.version(package))
        except metadata.PackageNotFoundError:
            feed(package, "absent")
    for name in VARIABLES:
        feed(name, os.environ.get(name, "\x00unset"))
    feed("pango", str(pango.pango_version()))
    for line in _libraries():
        feed("library", line)
    for label, text in _fontconfig():
        feed(label, text)
    for line in _package_files("weasyprint", ("css/*.css", "*.css")):
        feed("stylesheet", line)
    for line in _package_files("pyphen", ("dictionaries/*",)):
        feed("dictionary", line)
    return h.hexdigest()


Run = Callable[[list[Callable[[], Any]]], list[Any]]


def one_by_one(jobs: list[Callable[[], Any]]) -> list[Any]:
    """The plain `Run`: every job here, one after another."""
    return [job() for job in jobs]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LayoutCache:
    """Measurements of stretch documents, by key, in one folder.

    `environment` is `environment()` as it is for this PDF. The files a layout loaded
    are those `fetcher` recorded while it ran; `measure` is what `paginate.render` takes,
    and `run` runs the layouts it has to make (`forked.run` lays them out side by side).
    """

    def __init__(self, folder: Path, base_url: str, fetcher: Fetcher, environment: str,
                 run: Run = one_by_one) -> None:
        self.folder = Path(folder)
        self.run = run
        self.base_url = base_url
        self.fetcher = fetcher
        self.environment = environment
        self.hits = 0
        self.misses = 0

    def key(self, part: str) -> str:
        h = hashlib.sha256()
        for text in (self.environment, self.base_url, part):
            h.update(text.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
        return h.hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.{KIND}.json"

    def measure(self, jobs: Sequence[Job]) -> list[Measured]:
        """`paginate`'s measure: each stretch document's measurements from the store,
        or laid out (by `run`, which may run them side by side) and stored."""
        keys = [self.key(part) for part, _ in jobs]
        found = [self._read(key) for key in keys]
        for key, value in zip(keys, found, strict=True):
            if value is not None:
                self.hits += 1
                with contextlib.suppress(OSError):
                    os.utime(self.path(key))  # used: kept longest when the folder is pruned
        todo = [n for n, value in enumerate(found) if value is None]
        self.misses += len(todo)
        made = self.run([functools.partial(self._tracked, jobs[n][1]) for n in todo])
        for n, (value, files) in zip(todo, made, strict=True):
            self._write(keys[n], files, value)  # a layout that raised stored nothing
            found[n] = value
        return [value for value in found if value is not None]

    def _tracked(self, compute: Callable[[], Measured],
                 ) -> tuple[Measured, list[tuple[str, str, str]]]:
        """A layout's measurements and the files it loaded (wherever it runs)."""
        mark = len(self.fetcher.loaded)
        value = compute()
        return value, self.fetcher.loaded[mark:]

    def _same_files(self, files: Iterable[Any]) -> bool:
        """Whether each URL still names the same real file, with the same bytes."""
        from weasyprint.urls import FatalURLFetchingError  # RefusedURL's base

        for url, real, digest in files:
            try:
                path = self.fetcher.allowed_path(str(url))
            except FatalURLFetchingError:  # refused now: a fresh layout will say why
                return False
            if str(path) != real or _sha256(path.read_bytes()) != digest:
                return False
        return True

    def _read(self, key: str) -> Measured | None:
        try:
            entry = entry_body(self.path(key).read_text(encoding="utf-8"),
                               {"format": FORMAT, "kind": KIND, "key": key})
            if not self._same_files(entry["files"]):
                return None
            return Measured.from_json(entry["measured"])
        except Exception:  # noqa: BLE001  (missing, unreadable, damaged: lay it out afresh)
            return None

    def _write(self, key: str, files: Sequence[tuple[str, str, str]], value: Measured) -> None:
        text = entry_text({"format": FORMAT, "kind": KIND, "key": key},
                          {"files": [list(f) for f in files], "measured": value.to_json()})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path(key), text)
        except OSError:
            return  # a read-only checkout still builds, only slower
        self._prune()

    def _prune(self) -> None:
        """Keeps the `KEEP` entries used last, and removes what an interrupted write
        left behind: every edit of a table chapter makes an entry."""
        now = time.time()
        entries = []
        for path in self.folder.iterdir():
            with contextlib.suppress(OSError):
                if path.name.endswith(f".{KIND}.json"):
                    entries.append((path.stat().st_mtime_ns, path.name, path))
                elif path.name.startswith(".") and path.name.endswith(".tmp") and \
                        now - path.stat().st_mtime > STALE:
                    path.unlink()
        for *_, path in sorted(entries)[:-KEEP]:
            with contextlib.suppress(OSError):
                path.unlink()


def for_pdf(folder: Path | None, base_url: str, fetcher: Fetcher,
            run: Run = one_by_one) -> LayoutCache | None:
    """The cache for one PDF, or None (no folder, or the key cannot be formed here)."""
    if folder is None:
        return None
    try:
        return LayoutCache(folder, base_url, fetcher, environment(), run)
    except Exception:  # noqa: BLE001  (no home folder, no fontconfig, ...: only time lost)
        return None


def measure_for(folder: Path | None, base_url: str, fetcher: Fetcher,
                run: Run = one_by_one) -> Measure:
    """`paginate`'s measure for one PDF: through the store in `folder` where it can be
    used (see `for_pdf`), else every stretch document laid out by `run`."""
    store = for_pdf(folder, base_url, fetcher, run)
    if store is not None:
        return store.measure
    return lambda jobs: run([compute for _, compute in jobs])
