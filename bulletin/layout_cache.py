"""The pagination's measurements of the table chapters, kept between builds.

Before it lays out the whole print HTML, `paginate` lays out the stretches that hold
tables, to find where each table breaks (about a second on the demonstration edition).
A rebuild after a change of wording outside those chapters, or one with nothing changed,
lays out the very same stretch documents again. Their measurements are kept here under
``build/.cache/`` (beside the analysis cache), keyed by everything that layout depends on:

- the stretch document's HTML, exactly (it carries the stylesheet links and the
  footnote numbers), the base URL its links resolve against and the layout options;
- the files loaded while laying it out (stylesheets, images), by content: recorded by the
  layout that stored the entry, and hashed again before the entry is used;
- the fonts the system offers: every file under fontconfig's usual font and
  configuration folders, by name, size and time;
- the text libraries WeasyPrint calls (Pango, HarfBuzz, fontconfig, FreeType, FriBidi:
  the files loaded, by name, size and time, where the system says; Pango's version), the
  versions of WeasyPrint and the Python packages it lays out with, and the code of
  `paginate` and of this module.

The key must be exact, not merely likely: the layout of the whole document, made on
every build, catches a break the stored measurements missed, but not a "(continued)"
split they put where none was needed. Entries are written whole or not at all and carry
a checksum; one that does not read back, or whose checksum, key or files disagree, is
laid out afresh (and stored again), never trusted. `bulletin build --no-cache` neither
reads nor writes them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from bulletin.atomic import write_text_atomic
from bulletin.paginate import Measured

FORMAT = 1  # bump when the layout of an entry changes
KIND = "layout"
OPTIONS = "presentational_hints=True"  # what `publish.render_pdf` lays out with
PACKAGES = ("weasyprint", "pydyf", "tinycss2", "cssselect2", "tinyhtml5", "fonttools",
            "pillow", "pyphen")
LIBRARIES = ("libpango", "libharfbuzz", "libfontconfig", "libfreetype", "libfribidi")


def _font_folders() -> list[Path]:
    """Where fontconfig looks for fonts and for its configuration, on the usual systems."""
    home = Path.home()
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    folders = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), home / ".fonts",
               data / "fonts", Path("/etc/fonts"), config / "fontconfig",
               Path("/Library/Fonts"), Path("/System/Library/Fonts"), home / "Library" / "Fonts"]
    for name in ("FONTCONFIG_FILE", "FONTCONFIG_PATH"):
        folders += [Path(p) for p in os.environ.get(name, "").split(os.pathsep) if p]
    if windir := os.environ.get("WINDIR"):
        folders.append(Path(windir) / "Fonts")
    return folders


def _stats(paths: Iterator[Path]) -> Iterator[str]:
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        yield f"{path}\t{st.st_size}\t{st.st_mtime_ns}"


def _files_under(folder: Path) -> Iterator[Path]:
    if folder.is_file():
        yield folder
        return
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            yield Path(root) / name


def _loaded_libraries() -> Iterator[Path]:
    """The text libraries mapped into this process (Linux), in name order."""
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    found = {line.split(None, 5)[5].strip() for line in maps.splitlines()
             if len(line.split(None, 5)) == 6}
    for path in sorted(found):
        if Path(path).name.startswith(LIBRARIES):
            yield Path(path)


@functools.lru_cache(maxsize=1)
def environment() -> str:
    """A hash of what, besides its HTML and the files it loads, a layout depends on."""
    from weasyprint.text.ffi import pango

    h = hashlib.sha256()

    def feed(label: str, text: str) -> None:
        h.update(f"{label}\0{text}\0".encode("utf-8", "surrogateescape"))

    feed("format", str(FORMAT))
    feed("options", OPTIONS)
    feed("python", sys.version)
    for package in PACKAGES:
        try:
            feed(package, metadata.version(package))
        except metadata.PackageNotFoundError:
            feed(package, "absent")
    feed("pango", str(pango.pango_version()))
    for line in _stats(_loaded_libraries()):
        feed("library", line)
    for folder in _font_folders():
        for line in _stats(_files_under(folder)):
            feed("font", line)
    here = Path(__file__).resolve().parent
    for module in ("paginate.py", "layout_cache.py"):
        feed(module, hashlib.sha256((here / module).read_bytes()).hexdigest())
    return h.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LayoutCache:
    """Measurements of stretch documents, by key, in one folder.

    `loaded` is the list the fetcher of the layouts appends (path, sha256 of the bytes)
    to for every file it loads; the files a layout loaded are those appended while it
    ran. `measure` is what `paginate.render` takes.
    """

    def __init__(self, folder: Path, base_url: str, loaded: list[tuple[str, str]],
                 environment: Callable[[], str] = environment) -> None:
        self.folder = Path(folder)
        self.base_url = base_url
        self.loaded = loaded
        self._environment = environment
        self.hits = 0
        self.misses = 0

    def key(self, part: str) -> str:
        h = hashlib.sha256()
        for text in (self._environment(), self.base_url, part):
            h.update(text.encode("utf-8", "surrogatepass"))
            h.update(b"\0")
        return h.hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.{KIND}.json"

    def measure(self, part: str, compute: Callable[[], Measured]) -> Measured:
        key = self.key(part)
        found = self._read(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        mark = len(self.loaded)
        value = compute()
        self._write(key, dict(self.loaded[mark:]), value)
        return value

    def _read(self, key: str) -> Measured | None:
        try:
            raw = self.path(key).read_text(encoding="utf-8")
            head, _, body = raw.partition("\n")
            meta = json.loads(head)
            if meta != {"format": FORMAT, "kind": KIND, "key": key,
                        "sha256": _sha256(body.encode("utf-8"))}:
                return None
            entry: Any = json.loads(body)
            for path, digest in entry["files"].items():
                if _sha256(Path(path).read_bytes()) != digest:
                    return None
            return Measured.from_json(entry["measured"])
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None  # missing, unreadable or damaged: lay it out afresh

    def _write(self, key: str, files: dict[str, str], value: Measured) -> None:
        body = json.dumps({"files": files, "measured": value.to_json()},
                          separators=(",", ":"))
        head = json.dumps({"format": FORMAT, "kind": KIND, "key": key,
                           "sha256": _sha256(body.encode("utf-8"))})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path(key), head + "\n" + body)
        except OSError:
            pass  # a read-only checkout still builds, only slower
