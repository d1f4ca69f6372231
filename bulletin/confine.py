"""One rule for every file the build reads on an editor's behalf, and bounds on templates.

Templates, style sheets, quotes, references and artwork are written by editors, not
programmers, and a build runs with the analyst's rights: it can read the confidential
case data, ``/etc/passwd`` or a colleague's files. A symbolic link in `templates/` (made
on purpose, or unpacked from a shared archive) would otherwise carry such a file into a
published bulletin. So every such read goes through here, and its *real* path (after
every link is followed) must lie inside the folders the build may read; a link out is an
error naming the link and where it points.

The same applies to templates' time and depth: a template that includes itself, or a
loop nested far too deep, must stop with its file and line instead of a Python
traceback or a build that never ends. `MAX_DEPTH` and `MAX_SECONDS` are the limits; the
environment variables `BULLETIN_TEMPLATE_DEPTH` and `BULLETIN_TEMPLATE_SECONDS` change
them for one run (docs/reliability.md).
"""

from __future__ import annotations

import os
import posixpath
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader

from bulletin.config import PROJECT_DIR
from bulletin.errors import BulletinError

# The folders an editor's files may really live in (a link between them is fine).
ALLOWED = (PROJECT_DIR / "templates", PROJECT_DIR / "figures")

MAX_DEPTH = 25  # nested includes, extends and macro calls
MAX_SECONDS = 60.0  # one template; a normal build renders all of them in under a second
MAX_OUTPUT = 50_000_000  # characters one template may produce (the bulletin is ~0.2 MB)


class OutsideError(BulletinError):
    """A file the build was asked to read lies, really, outside the allowed folders."""


def shown(path: Path | str) -> str:
    """A path as the user knows it: relative to the project where it lies inside."""
    p = Path(path)
    try:
        return str(p.relative_to(PROJECT_DIR))
    except ValueError:
        return str(p)


def _link_on_the_way(path: Path) -> tuple[Path, str] | None:
    """The first symbolic link among `path` and its folders, and what it points to."""
    parts = path.parts
    for i in range(1, len(parts) + 1):
        prefix = Path(*parts[:i])
        if prefix.is_symlink():
            return prefix, os.readlink(prefix)
    return None


def confined(path: Path | str, roots: Iterable[Path] = ALLOWED) -> Path:
    """The real path of `path`, or `OutsideError` if it lies outside every root.

    The error names the link that leads out and its target, so the editor can find it.
    """
    path = Path(os.path.abspath(path))
    real = path.resolve()
    real_roots = tuple(Path(r).resolve() for r in roots)
    if any(real.is_relative_to(r) for r in real_roots):
        return real
    where = ", ".join(shown(r) + "/" for r in roots)
    link = _link_on_the_way(path)
    if link is not None:
        really = "" if Path(link[1]) == real else f" (really {real})"
        raise OutsideError(f"{shown(link[0])}: a symbolic link to {link[1]}{really}, "
                           f"outside the folders the build may read ({where}); copy the "
                           "file into the project instead of linking to it")
    raise OutsideError(f"{shown(path)}: lies outside the folders the build may read "
                       f"({where})")


def read_text(path: Path | str, roots: Iterable[Path] = ALLOWED) -> str:
    """An editor's text file, if it really lies inside `roots`."""
    return confined(path, roots).read_text(encoding="utf-8")


def read_bytes(path: Path | str, roots: Iterable[Path] = ALLOWED) -> bytes:
    return confined(path, roots).read_bytes()


# -- templates -------------------------------------------------------------------------

class ConfinedLoader(FileSystemLoader):
    """Jinja's file loader, refusing absolute or `..` names and files whose real path
    lies outside `roots` (by default the search path itself)."""

    def __init__(self, searchpath: str | Path, roots: Iterable[Path] | None = None) -> None:
        super().__init__(str(searchpath))
        self.roots = tuple(roots) if roots is not None else (Path(searchpath),)

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = template.replace("\\", "/").split("/")
        if template.startswith(("/", "\\")) or ".." in pieces or ":" in pieces[0]:
            raise BulletinError(f"template {template!r}: give a path inside "
                                f"{shown(self.searchpath[0])}/ (no leading / and no ..)")
        for folder in self.searchpath:
            candidate = posixpath.join(folder, *[p for p in pieces if p not in ("", ".")])
            if os.path.lexists(candidate):
                confined(candidate, self.roots)
                break
        return super().get_source(environment, template)


def _max_depth() -> int:
    return int(os.environ.get("BULLETIN_TEMPLATE_DEPTH", MAX_DEPTH))


def _max_seconds() -> float:
    return float(os.environ.get("BULLETIN_TEMPLATE_SECONDS", MAX_SECONDS))


class TemplateLimit(BulletinError):
    """A template went past a depth, time or size limit."""


class BoundedEnvironment:
    """A mixin for a Jinja environment: nesting depth and output size are bounded.

    Depth is the number of template frames on the stack (each include, extends or macro
    call adds at least one), checked whenever a template is loaded or a macro called, so
    a template that includes itself stops at `MAX_DEPTH` with the line of the include
    instead of Python's recursion error.
    """

    def _depth(self) -> int:
        depth = 0
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_globals.get("environment") is self and "__file__" in frame.f_globals:
                depth += 1
            frame = frame.f_back
        return depth

    def _check_depth(self, what: str) -> None:
        limit = _max_depth()
        if self._depth() > limit:
            raise TemplateLimit(f"templates nested deeper than {limit} levels at {what} "
                                "(an include or macro that calls itself?); the limit is "
                                "BULLETIN_TEMPLATE_DEPTH")

    def _load_template(self, name: Any, globals: Any) -> Any:
        self._check_depth(f"the include of {name!r}")
        return super()._load_template(name, globals)  # type: ignore[misc]

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(__obj, "_environment", None) is self:  # a macro
            self._check_depth(f"the call of macro {getattr(__obj, 'name', '?')!r}")
        return super().call(__context, __obj, *args, **kwargs)  # type: ignore[misc]

    def concat(self, pieces: Iterable[str]) -> str:
        """Joins a template's output, stopping one that grows past `MAX_OUTPUT` or runs
        past the time limit (where no timer signal can be used). The error is thrown
        into the template where it stands, so that it carries the template's line."""
        out: list[str] = []
        size = 0
        it = iter(pieces)
        n = 0
        while True:
            try:
                piece = next(it)
            except StopIteration:
                return "".join(out)
            out.append(piece)
            size += len(piece)
            n += 1
            if n & 0x3FFF == 0:
                problem = None
                if size > MAX_OUTPUT:
                    problem = TemplateLimit(f"the template's output passed {MAX_OUTPUT:,} "
                                            "characters (a loop far too large?)")
                elif _past_deadline():
                    problem = _timeout_error()
                if problem is not None:
                    throw = getattr(it, "throw", None)
                    if throw is None:
                        raise problem
                    throw(problem)
                    raise problem  # the template swallowed it: stop here all the same


# -- the time limit --------------------------------------------------------------------

_deadline: list[float] = []


def _past_deadline() -> bool:
    return bool(_deadline) and time.monotonic() > _deadline[-1]


def _timeout_error() -> TemplateLimit:
    return TemplateLimit(f"the template took longer than {_max_seconds():g} s to render "
                         "(a loop far too large?); the limit is BULLETIN_TEMPLATE_SECONDS")


def _timeout(_signum: int, frame: Any) -> None:
    """The timer's handler: raises where the template stands; while output is being
    joined (in `concat` or anything it calls outside the template), leaves it to
    `concat`, which throws the error into the template itself. Raising there would lose
    the template's line."""
    f = frame
    while f is not None:
        if f.f_code.co_filename.endswith(".j2"):
            break  # inside the template: raise here, so the error carries its line
        if f.f_code is BoundedEnvironment.concat.__code__:
            return  # in concat's own bookkeeping (or a helper it called): it throws next
        f = f.f_back
    raise _timeout_error()


@contextmanager
def time_limit() -> Iterator[None]:
    """Stops rendering after `MAX_SECONDS`: by a timer signal raised inside the running
    template (so the error has its line) where one can be used (Unix, main thread), and
    otherwise at the next check while output is joined."""
    seconds = _max_seconds()
    _deadline.append(time.monotonic() + seconds)
    use_signal = (hasattr(signal, "setitimer")
                  and threading.current_thread() is threading.main_thread()
                  and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))
    if use_signal:
        previous = signal.signal(signal.SIGALRM, _timeout)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if use_signal:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        _deadline.pop()
