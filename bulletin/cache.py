"""The analysis cache: an edition's facts registry and figures, kept between builds.

Loading, analysing and drawing take seconds; a change to the wording needs none of them.
Each entry lives under ``build/.cache/`` and is keyed by a hash of everything the facts
and figures depend on:

- the bytes of the data file, and of the edition file (its settings, title and dates);
- the same for the previous edition, and its previous, and so on (the chain a build reads);
- the analysis settings (``bulletin/defaults.toml``, and the settings as resolved, which
  an environment override such as BULLETIN_STABILITY_RESAMPLES can change);
- the package's own code that loading, analysis, facts and figures run: the modules
  reached by imports from those stages (found by reading their ``import`` lines, so a new
  module joins the key by being imported), and this module itself;
- the versions of the libraries that compute (numpy, pandas, statsmodels, ...).

A key that matches means the stored result is the one a fresh run would give, byte for
byte: values are stored as JSON, whose floats read back exactly. Entries are written
whole or not at all (``atomic``), and each carries a checksum of its body: an entry that
does not read back, whose checksum or key disagrees, or whose values do not form a
valid registry, is ignored (with a note) and computed again, never trusted.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import astuple
from importlib import metadata
from pathlib import Path
from typing import Any

from bulletin.atomic import entry_body, entry_text, write_text_atomic
from bulletin.config import DEFAULTS_FILE, PACKAGE_DIR, PROJECT_DIR, Edition, load_previous
from bulletin.facts import Fact, Registry
from bulletin.figures import Figure

FORMAT = 1  # bump when the layout of an entry changes
CACHE_ENV = "BULLETIN_CACHE_DIR"  # another cache folder (tests, a read-only checkout)
# The stages whose results are cached: their code, and all it imports, is in the key.
STAGE_MODULES = ("bulletin.validate", "bulletin.analysis.run", "bulletin.collect",
                 "bulletin.figures", "bulletin.cache")
LIBRARIES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "pyreadstat",
             "openpyxl", "pyarrow")


def default_folder() -> Path:
    """``build/.cache`` in the project, or the folder named by $BULLETIN_CACHE_DIR."""
    return Path(os.environ.get(CACHE_ENV) or PROJECT_DIR / "build" / ".cache")


# -- the key -----------------------------------------------------------------------------

def _module_file(module: str, package_dir: Path) -> Path | None:
    parts = module.split(".")
    if parts[0] != "bulletin":
        return None
    base = package_dir.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


_IMPORT_RE = re.compile(r"^[ \t]*(?:from[ \t]+(bulletin[\w.]*)[ \t]+import[ \t]+"
                        r"(\([^)]*\)|[\w \t,]+)|import[ \t]+(bulletin[\w.]*))", re.M)


def _imports(path: Path) -> Iterable[str]:
    """Every package module named by an import in `path`, inside functions too (the stages
    import their heavy helpers lazily). A regular expression, not `ast`: it is ten times
    quicker, and a name it wrongly picks up only makes the key more cautious."""
    for m in _IMPORT_RE.finditer(path.read_text(encoding="utf-8")):
        if m.group(3):
            yield m.group(3)
            continue
        yield m.group(1)
        for name in re.split(r"[\s,()]+", m.group(2)):
            if name:
                yield f"{m.group(1)}.{name}"  # `from bulletin.analysis import run`


def code_files(package_dir: Path = PACKAGE_DIR,
               roots: Iterable[str] = STAGE_MODULES) -> list[Path]:
    """The package's source files the cached stages run, following imports."""
    seen: dict[Path, None] = {}
    todo = list(roots)
    while todo:
        path = _module_file(todo.pop(), package_dir)
        if path is None or path in seen:
            continue
        seen[path] = None
        if path == package_dir / "__init__.py":
            continue  # the top-level package only offers the Python API, loaded lazily
        if path.name == "__init__.py":
            todo.append(".".join(("bulletin", *path.parent.relative_to(package_dir).parts)))
        todo.extend(_imports(path))
    return sorted(seen)


def _editions(edition: Edition) -> Iterable[Edition]:
    """The edition, its previous, that one's previous, ... (a loop is cut short)."""
    ids: set[str] = set()
    current: Edition | None = edition
    while current is not None and current.id not in ids:
        ids.add(current.id)
        yield current
        current = load_previous(current)


def inputs_key(edition: Edition, data: Path | None = None, *,
               defaults: Path = DEFAULTS_FILE, package_dir: Path = PACKAGE_DIR) -> str:
    """The hash of every input the edition's facts and figures depend on."""
    h = hashlib.sha256()

    def feed(label: str, payload: bytes) -> None:
        h.update(f"{label}\0{len(payload)}\0".encode())
        h.update(payload)

    feed("format", str(FORMAT).encode())
    feed("defaults", defaults.read_bytes())
    for i, ed in enumerate(_editions(edition)):
        source = ed.source_file.read_bytes() if ed.source_file else repr(ed).encode()
        feed(f"edition {i}", source)
        # the settings as resolved, which an environment override can change without
        # touching a file (BULLETIN_STABILITY_RESAMPLES)
        feed(f"settings {i}", repr(ed.analysis).encode())
        path = Path(data if (i == 0 and data) else ed.data_file)
        if not path.is_file():  # a pipe would block, a device never end: load refuses them
            raise OSError(f"{path}: not a regular file")
        feed(f"data {i}", path.read_bytes())
    for path in code_files(package_dir):
        feed(f"code {path.relative_to(package_dir).as_posix()}", path.read_bytes())
    for lib in LIBRARIES:
        try:
            version = metadata.version(lib)
        except metadata.PackageNotFoundError:
            version = "-"
        feed(f"library {lib}", version.encode())
    feed("python", sys.version.encode())
    return h.hexdigest()


# -- entries -----------------------------------------------------------------------------

def _facts_body(registry: Registry) -> Any:
    return [list(astuple(f)) for f in registry.values()]


def _facts_from(body: Any) -> Registry:
    return Registry(Fact(*row) for row in body)


def _figures_body(figures: tuple[Figure, ...]) -> Any:
    return [list(astuple(f)) for f in figures]


def _figures_from(body: Any) -> tuple[Figure, ...]:
    out = tuple(Figure(*row) for row in body)
    if not all(isinstance(f.number, int) and isinstance(f.svg, str) for f in out):
        raise ValueError("figure fields of the wrong type")
    return out


_KINDS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "facts": (_facts_body, _facts_from),
    "figures": (_figures_body, _figures_from),
}


class AnalysisCache:
    """Facts and figures by inputs key, in one folder; `enabled=False` computes always."""

    def __init__(self, folder: Path | None = None, enabled: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()
        self.enabled = enabled
        self.log = log or (lambda text: print(f"  cache      {text}", file=sys.stderr))
        self._keys: dict[tuple[str, str], str] = {}
        self.hits: list[str] = []  # "<kind> <edition>" of each hit, for tests and logs

    def key(self, edition: Edition, data: Path | None = None) -> str:
        ident = (str(edition.source_file), str(data))
        if ident not in self._keys:
            self._keys[ident] = inputs_key(edition, data)
        return self._keys[ident]

    def forget_keys(self) -> None:
        """Inputs may have changed on disk (preview): hash them afresh next time."""
        self._keys.clear()

    def path(self, key: str, kind: str) -> Path:
        return self.folder / f"{key}.{kind}.json"

    def facts(self, edition: Edition, data: Path | None,
              compute: Callable[[], Registry]) -> Registry:
        return self._get("facts", edition, data, compute)

    def figures(self, edition: Edition, data: Path | None,
                compute: Callable[[], tuple[Figure, ...]]) -> tuple[Figure, ...]:
        return self._get("figures", edition, data, compute)

    def stored_facts(self, edition: Edition, data: Path | None = None) -> Registry | None:
        """The edition's facts if a good entry for its current inputs is stored, else None
        (`check` uses them to check fact keys, without running anything)."""
        if not self.enabled:
            return None
        try:
            return self._read(self.key(edition, data), "facts")
        except OSError:  # a data file that cannot be read: the build will say so
            return None

    def _get(self, kind: str, edition: Edition, data: Path | None,
             compute: Callable[[], Any]) -> Any:
        if not self.enabled:
            return compute()
        try:
            key = self.key(edition, data)
        except OSError:  # a data file that cannot be read: computing says which and why
            return compute()
        found = self._read(key, kind)
        if found is not None:
            self.hits.append(f"{kind} {edition.id}")
            return found
        value = compute()
        self._write(key, kind, value)
        return value

    def _read(self, key: str, kind: str) -> Any:
        path = self.path(key, kind)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.log(f"cannot read {path.name} ({exc.strerror}); computing afresh")
            return None
        try:
            return _KINDS[kind][1](entry_body(raw, {"format": FORMAT, "kind": kind,
                                                    "key": key}))
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            self.log(f"ignored a damaged entry {path.name} ({exc}); computing afresh")
            return None

    def _write(self, key: str, kind: str, value: Any) -> None:
        text = entry_text({"format": FORMAT, "kind": kind, "key": key}, _KINDS[kind][0](value))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_text_atomic(self.path(key, kind), text)
        except OSError as exc:  # a read-only checkout still builds, only slower
            self.log(f"cannot store {kind} in {self.folder} ({exc.strerror})")
