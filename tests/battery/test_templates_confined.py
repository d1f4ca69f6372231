"""Template faults, through the real command line on a copy of the project: links out of
the allowed folders, bad includes, recursion and runaway loops.

Each case breaks the copy's templates in one way, runs `build`, and checks: exit code 2,
no traceback, the message names the file (and line where there is one), the outside
file's text appears nowhere, the previous output is byte-identical and nothing is left
beside it. The templates are put back after each case.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from battery.harness import (
    CANARY,
    PROJECT,
    copy_project,
    failed_cleanly,
    leftovers,
    nothing_leaked,
    run,
    snapshot,
)

CASE = "templates/sections/50-case.md.j2"  # an extra section each case may write


@dataclass
class Site:
    project: Path
    secret: Path  # a file outside the project holding the canary text
    secret_dir: Path
    out: Path
    before: dict[str, bytes] = field(default_factory=dict)


def _with_case_section(project: Path) -> None:
    """The copy's templates as shipped, plus an extra (harmless) section in the outline
    for the cases to write."""
    for name in ("templates", "figures"):
        shutil.rmtree(project / name, ignore_errors=True)
        shutil.copytree(PROJECT / name, project / name)
    outline = project / "templates" / "outline.toml"
    text = outline.read_text(encoding="utf-8")
    outline.write_text(text.replace("\n]", '\n    "50-case.md.j2",\n]'), encoding="utf-8")
    (project / CASE).write_text("Nothing to see.\n", encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("confined")
    project = copy_project(root / "project")
    _with_case_section(project)
    outside = root / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text(f"{CANARY}\n", encoding="utf-8")
    (outside / "part.txt").write_text(f"{CANARY} in a folder\n", encoding="utf-8")
    out = root / "build" / "2018-19"
    first = run("build", "--formats", "numbers,html", "--out", str(out), project=project)
    assert first.returncode == 0, first.stderr
    return Site(project, secret, outside, out, snapshot(out))


@pytest.fixture
def fresh(site: Site):
    """The site with its templates and figures as shipped again after the case."""
    yield site
    _with_case_section(site.project)


def _link(site: Site, rel: str, target: Path) -> None:
    path = site.project / rel
    path.unlink(missing_ok=True)
    path.symlink_to(target)


def _section(site: Site, body: str) -> None:
    (site.project / CASE).write_text(body, encoding="utf-8")


@dataclass(frozen=True)
class Fault:
    setup: Callable[[Site], None]
    named: Callable[[Site], tuple[str, ...]]
    formats: str = "numbers,html"
    env: tuple[tuple[str, str], ...] = ()


def _linked(rel: str, body: str = "", line: int | None = None) -> Fault:
    """`rel` made a symbolic link to the secret file (and a section that uses it)."""
    def setup(site: Site) -> None:
        _link(site, rel, site.secret)
        if body:
            _section(site, body)

    def named(site: Site) -> tuple[str, ...]:
        out = (f"{rel}: a symbolic link to {site.secret}",)
        return out + ((f"{CASE}, line {line}",) if line else ())
    return Fault(setup, named)


def _body(body: str, *named: str, **env: str) -> Fault:
    return Fault(lambda site: _section(site, body), lambda site: named,
                 env=tuple(env.items()))


def _linked_folder(site: Site) -> None:
    _link(site, "templates/parts", site.secret_dir)
    _section(site, "Text\n\n{% include 'parts/part.txt' %}\n")


FAULTS = {
    "include-of-a-link-out": _linked("templates/leak.txt", "Text\n\n{% include 'leak.txt' %}\n",
                                     line=3),
    "section-file-is-a-link-out": _linked(CASE),
    "screen-css-is-a-link-out": _linked("templates/screen.css"),
    "quotes-toml-is-a-link-out": _linked("templates/quotes.toml"),
    "references-toml-is-a-link-out": _linked("templates/references.toml"),
    "labels-toml-is-a-link-out": _linked("templates/labels.toml"),
    "shipped-artwork-is-a-link-out": _linked("figures/standards-framework.svg"),
    "artwork-call-of-a-link-out": _linked("figures/x.svg",
                                          "Text\n\n{{ artwork(9, 'x.svg', 'T', 'Alt') }}\n",
                                          line=3),
    "include-through-a-linked-folder": Fault(
        _linked_folder, lambda site: (f"templates/parts: a symbolic link to {site.secret_dir}",
                                      f"{CASE}, line 3")),
    "print-css-is-a-link-out": Fault(
        lambda site: _link(site, "templates/print.css", site.secret),
        lambda site: ("refused to load", f"templates/print.css: a symbolic link to "
                                         f"{site.secret}"), formats="pdf"),
    "include-of-an-absolute-path": _body("Text\n\n{% include '/etc/passwd' %}\n",
                                         f"{CASE}, line 3", "'/etc/passwd'",
                                         "no leading / and no .."),
    "include-climbing-out-with-dots": _body("Text\n{% include '../../outside/secret.txt' %}\n",
                                            f"{CASE}, line 2", "no leading / and no .."),
    "include-of-a-missing-file": _body("Text\n\n\n{% include 'nowhere.html.j2' %}\n",
                                       f"{CASE}, line 4", "'nowhere.html.j2' is not a file"),
    "extends-of-a-missing-file": _body("{% extends 'nothing.html.j2' %}\n",
                                       f"{CASE}, line 1", "'nothing.html.j2' is not a file"),
    "include-of-itself": _body("Text\n{% include 'sections/50-case.md.j2' %}\n",
                               f"{CASE}, line 2", "nested deeper than 25 levels"),
    "macro-calling-itself": _body("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}\n{{ m(1) }}\n",
                                  f"{CASE}, line 1", "nested deeper than 25 levels"),
    "loop-of-ten-billion": _body("Text\n{% for a in range(100000) %}{% for b in range(100000)"
                                 " %}x{% endfor %}{% endfor %}\n",
                                 f"{CASE}, line 2", "took longer than 2 s",
                                 BULLETIN_TEMPLATE_SECONDS="2"),
    "silent-loop-of-ten-billion": _body("Text\n\n{% for a in range(100000) %}{% for b in "
                                        "range(100000) %}{% endfor %}{% endfor %}\n",
                                        f"{CASE}, line 3", "took longer than 2 s",
                                        BULLETIN_TEMPLATE_SECONDS="2"),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_template_fault(fresh: Site, name: str) -> None:
    fault = FAULTS[name]
    fault.setup(fresh)
    proc = run("build", "--formats", fault.formats, "--out", str(fresh.out),
               project=fresh.project, **dict(fault.env))
    failed_cleanly(proc, *fault.named(fresh))
    assert snapshot(fresh.out) == fresh.before
    nothing_leaked(fresh.out)
    assert leftovers(fresh.out.parent) == []
