"""What each output file was made from: `manifest.json` in the output folder.

A run rebuilds only what it was asked for (`analyse` the numbers files, `--formats html`
the web edition), and everything else in the folder stays. The manifest records, for
each output file, its SHA-256 and the hashes of the inputs it was made from (the data
file, the edition file, last year's edition and data where the text uses them, the
templates and artwork, the program), so that a run can say "bulletin.pdf is older than
its inputs" instead of deleting it, and anyone can check a published file against its
record years later.

The manifest holds no times and no paths outside the output folder, so two builds of the
same inputs write it byte for byte the same (tests/test_reproducible.py compares it too).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bulletin import __version__
from bulletin.config import PACKAGE_DIR, PROJECT_DIR, Edition, load_previous

NAME = "manifest.json"
FORMAT = 1
# The inputs each kind of output depends on (the others do not change it).
_NUMBERS = ("program", "code", "edition", "data")
_DOCUMENT = (*_NUMBERS, "previous", "templates")


def _relevant(name: str) -> tuple[str, ...]:
    return _NUMBERS if name in ("numbers.csv", "numbers.json") else _DOCUMENT


def _file_hash(path: Path | None) -> str:
    if path is None:
        return ""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return "unreadable"
    return h.hexdigest()


def _tree_hash(folders: Iterable[Path], suffixes: tuple[str, ...] = ()) -> str:
    """One hash of the names and contents of every file under `folders` (a symbolic
    link counts by where it points, never by the content of a file it may not read)."""
    h = hashlib.sha256()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if suffixes and not name.endswith(suffixes):
                    continue
                path = Path(root, name)
                rel = path.relative_to(folder).as_posix()
                h.update(f"{folder.name}/{rel}\0".encode())
                if path.is_symlink():
                    h.update(b"link:" + os.fsencode(os.readlink(path)))
                else:
                    h.update(_file_hash(path).encode())
                h.update(b"\0")
    return h.hexdigest()


def inputs_of(edition: Edition, data: Path | None = None,
              templates: Path | None = None) -> dict[str, str]:
    """The hashes of everything a build of `edition` reads (no paths, no times)."""
    templates = Path(templates) if templates is not None else PROJECT_DIR / "templates"
    previous = ""
    last_year = load_previous(edition)
    if last_year is not None:
        previous = hashlib.sha256((_file_hash(last_year.source_file) + _file_hash(
            last_year.data_file)).encode()).hexdigest()
    return {
        "program": __version__,
        "code": _tree_hash([PACKAGE_DIR], (".py", ".toml")),
        "edition": _file_hash(edition.source_file),
        "data": _file_hash(data or edition.data_file),
        "previous": previous,
        "templates": _tree_hash([templates, PROJECT_DIR / "figures"]),
    }


_NAMES = {"program": "program version", "code": "program code", "edition": "edition file",
          "data": "data file", "previous": "last year's edition", "templates": "templates"}


def read(folder: Path) -> dict[str, Any]:
    """The files recorded in `folder`'s manifest ({} where there is none or it is
    unreadable: the record is rebuilt from what this run writes)."""
    try:
        data = json.loads((Path(folder) / NAME).read_text(encoding="utf-8"))
        files = data["files"]
        return {str(k): v for k, v in files.items() if isinstance(v, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _hash_files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): _file_hash(p)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != NAME}


def _count(top: str, n: int) -> str:
    return f"{top} ({n} file{'s' if n != 1 else ''}) is" if top.endswith("/") else f"{top} is"


def record(stage: Path, written: Iterable[str], kept: Iterable[str],
           inputs: Mapping[str, str] | None, old: Mapping[str, Any]) -> list[str]:
    """Writes `stage`/manifest.json: an entry for each file this run wrote (with this
    run's inputs) and the old entries of the outputs it kept. Returns a note for each
    kept output (a file, or a folder of them) that is older than this run's inputs, or
    whose inputs are unknown."""
    files = _hash_files(stage)
    written = set(written)
    entries: dict[str, Any] = {}
    unknown: dict[str, int] = {}  # output (file or folder) -> files with no record
    older: dict[str, tuple[int, list[str]]] = {}  # output -> (files, inputs changed)
    for name in sorted(kept):
        top = name.split("/")[0] + ("/" if "/" in name else "")
        entry = old.get(name)
        if entry is None or not isinstance(entry.get("inputs"), dict):
            unknown[top] = unknown.get(top, 0) + 1
            continue
        entries[name] = entry
        if inputs is not None:
            changed = [_NAMES.get(k, k) for k in _relevant(name)
                       if entry["inputs"].get(k) != inputs.get(k)]
            if changed:
                n, seen = older.get(top, (0, []))
                older[top] = (n + 1, seen + [c for c in changed if c not in seen])
    notes = [f"{_count(top, n)} kept from an earlier run that recorded no inputs; it may "
             "be out of date" for top, n in unknown.items()]
    notes += [f"{_count(top, n)} older than its inputs ({', '.join(changed)} changed since "
              "it was made); it was kept, not rebuilt" for top, (n, changed) in older.items()]
    for name in sorted(written):
        if name in files:
            made_from = ({k: inputs[k] for k in _relevant(name) if k in inputs}
                         if inputs is not None else {})
            entries[name] = {"sha256": files[name], "inputs": made_from}
    text = json.dumps({"format": FORMAT, "files": dict(sorted(entries.items()))},
                      indent=1, sort_keys=True) + "\n"
    (stage / NAME).write_text(text, encoding="utf-8", newline="\n")
    return notes
