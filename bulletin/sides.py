"""Resolves a `diff` argument (an edition id, a build folder or a numbers file) to facts.

This belongs to the build layer, not to the report: for an edition id with no
up-to-date build, the facts are computed afresh from the edition's data, which needs the
whole pipeline up to the facts stage. Keeping it here lets `diff` stay a pure reader of
registries.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from bulletin.diff import EDITION_ID_RE, read_numbers
from bulletin.errors import BulletinError
from bulletin.facts import Registry


def load_side(arg: str, quiet: bool = False) -> tuple[Registry, str]:
    """An edition id or a numbers file (or a build folder holding one) -> its facts.

    For an edition id the built numbers file is used when there is one, so that a diff
    is quick after a build; otherwise the facts are computed from the edition's data.
    """
    path = Path(arg)
    if path.is_dir():
        path = path / "numbers.csv"
    elif not (path.suffix.lower() == ".csv" or path.exists() or "/" in arg or os.sep in arg):
        if not EDITION_ID_RE.match(arg):
            raise BulletinError(f"{arg}: neither a numbers.csv file nor an edition id; "
                                "expected a path to numbers.csv or an id such as 2018-19")
        from bulletin.build import default_out
        from bulletin.config import load_edition
        edition = load_edition(arg)
        built = default_out(edition) / "numbers.csv"
        if built.is_file() and not _stale(built, edition):
            return read_numbers(built), f"{arg} ({built})"
        from bulletin.build import gather
        if built.is_file():
            why = f"its build {built} is older than its data or edition file"
        else:
            why = f"it has no build at {built}"
        if not quiet:
            print(f"diff: {arg}: {why}; computing its facts from {edition.data_file}",
                  file=sys.stderr)
        return gather(edition, quiet=True), arg
    return read_numbers(path), str(path)


def _stale(built: Path, edition: Any) -> bool:
    """A build older than the data or the edition file may not show today's numbers."""
    made = built.stat().st_mtime
    sources = [edition.data_file, edition.source_file]
    return any(p is not None and p.exists() and p.stat().st_mtime > made for p in sources)




def load_editions(ids: list[str] | None = None, quiet: bool = False
                  ) -> tuple[list[str], list[Registry]]:
    """Every edition in editions/ (or those named), oldest first, with its facts."""
    from bulletin.config import edition_ids

    chosen = sorted(ids) if ids else edition_ids()
    if not chosen:
        raise BulletinError("history: no edition files found in editions/; expected "
                            "files named like 2018-19.toml")
    return chosen, [load_side(i, quiet=quiet)[0] for i in chosen]
