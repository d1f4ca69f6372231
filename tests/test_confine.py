"""The read rule for editors' files, and the depth and time bounds on templates, checked
in-process on a small templates folder (the battery checks the same through the CLI)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_render import fake_figures
from test_tables import EDITION, hand_registry

from bulletin import confine
from bulletin.errors import BulletinError
from bulletin.render import FIGURES_DIR, TEMPLATES_DIR, render_bulletin


@pytest.fixture()
def site(tmp_path: Path) -> tuple[Path, Path]:
    """A templates folder with one section, a figures folder, and a secret outside."""
    tdir = tmp_path / "templates"
    (tdir / "sections").mkdir(parents=True)
    for name in ("base.html.j2", "labels.toml", "quotes.toml", "references.toml"):
        shutil.copy(TEMPLATES_DIR / name, tdir / name)
    (tdir / "outline.toml").write_text('sections = ["01-test.md.j2"]\n', encoding="utf-8")
    fdir = tmp_path / "figures"
    shutil.copytree(FIGURES_DIR, fdir)
    (tmp_path / "secret.txt").write_text("SECRET-OUTSIDE-TEXT", encoding="utf-8")
    return tdir, fdir


def _render(site: tuple[Path, Path], body: str) -> str:
    tdir, fdir = site
    (tdir / "sections" / "01-test.md.j2").write_text(body, encoding="utf-8")
    return render_bulletin(hand_registry(), fake_figures(), EDITION, templates_dir=tdir,
                           figures_dir=fdir).html_web


def test_confined_returns_the_real_path_inside(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("x")
    (tmp_path / "a" / "link.txt").symlink_to("f.txt")
    assert confine.confined(tmp_path / "a" / "link.txt", [tmp_path / "a"]) == \
        (tmp_path / "a" / "f.txt").resolve()


def test_confined_names_the_link_on_the_way_out(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "f.txt").write_text("x")
    (tmp_path / "a" / "sub").symlink_to(tmp_path / "out")
    with pytest.raises(confine.OutsideError) as err:
        confine.read_text(tmp_path / "a" / "sub" / "f.txt", [tmp_path / "a"])
    assert f"{tmp_path / 'a' / 'sub'}: a symbolic link to {tmp_path / 'out'}" in str(err.value)
    assert f"really {tmp_path / 'out' / 'f.txt'}" in str(err.value)


def test_a_plain_path_outside_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    with pytest.raises(confine.OutsideError, match="lies outside the folders"):
        confine.read_bytes(tmp_path / "a" / ".." / "b.txt", [tmp_path / "a"])


def test_a_link_between_allowed_folders_is_fine(site: tuple[Path, Path]) -> None:
    tdir, fdir = site
    (tdir / "shared.txt").symlink_to(fdir / "standards-framework.svg")
    out = _render(site, "{% include 'shared.txt' %}\n")
    assert "<svg" in out


@pytest.mark.parametrize("where", ["include", "section", "screen.css", "quotes.toml",
                                   "references.toml", "labels.toml", "artwork"])
def test_every_editor_file_read_refuses_a_link_out(site: tuple[Path, Path],
                                                   where: str) -> None:
    tdir, fdir = site
    secret = tdir.parent / "secret.txt"
    body = "Text\n"
    link = {"include": tdir / "leak.txt", "section": tdir / "sections" / "02-x.md.j2",
            "artwork": fdir / "x.svg"}.get(where, tdir / where)
    if where == "include":
        body = "Text\n\n{% include 'leak.txt' %}\n"
    if where == "artwork":
        body = "{{ artwork(1, 'x.svg', 'T', 'Alt') }}\n"
    if where == "section":
        (tdir / "outline.toml").write_text('sections = ["01-test.md.j2", "02-x.md.j2"]\n',
                                           encoding="utf-8")
    link.unlink(missing_ok=True)
    link.symlink_to(secret)
    with pytest.raises(BulletinError) as err:
        _render(site, body)
    message = str(err.value)
    assert f"{link}: a symbolic link to {secret}" in message
    assert "SECRET-OUTSIDE-TEXT" not in message
    if where in ("include", "artwork"):
        assert "01-test.md.j2, line" in message


@pytest.mark.parametrize(("name", "expected"), [
    ("/etc/passwd", "no leading / and no .."),
    ("../secret.txt", "no leading / and no .."),
    ("sections/../../secret.txt", "no leading / and no .."),
    ("nowhere.j2", "'nowhere.j2' is not a file in the templates folder"),
])
def test_include_of_a_bad_name_names_the_including_line(site: tuple[Path, Path], name: str,
                                                        expected: str) -> None:
    with pytest.raises(BulletinError) as err:
        _render(site, f"One\n\nTwo\n{{% include '{name}' %}}\n")
    assert "01-test.md.j2, line 4" in str(err.value)
    assert expected in str(err.value)


def test_extends_of_a_missing_parent_names_the_line(site: tuple[Path, Path]) -> None:
    with pytest.raises(BulletinError, match=r"01-test\.md\.j2, line 2: 'no\.j2' is not a file"):
        _render(site, "\n{% extends 'no.j2' %}\n")


@pytest.mark.parametrize("body", [
    "x\n{% include 'sections/01-test.md.j2' %}\n",
    "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}\n{{ m(1) }}\n",
])
def test_self_recursion_stops_at_the_depth_limit(site: tuple[Path, Path], body: str) -> None:
    with pytest.raises(BulletinError, match=r"01-test\.md\.j2, line \d: templates nested "
                                            r"deeper than 25 levels"):
        _render(site, body)


def test_the_depth_limit_can_be_changed(site: tuple[Path, Path], monkeypatch) -> None:
    tdir, _ = site
    for n in range(4):
        (tdir / f"d{n}.j2").write_text(f"{{% include 'd{n + 1}.j2' %}}" if n < 3 else "deep")
    assert "deep" in _render(site, "{% include 'd0.j2' %}\n")
    monkeypatch.setenv("BULLETIN_TEMPLATE_DEPTH", "3")
    with pytest.raises(BulletinError, match="deeper than 3 levels"):
        _render(site, "{% include 'd0.j2' %}\n")


@pytest.mark.parametrize("inner", ["x", ""])
def test_a_huge_loop_stops_at_the_time_limit(site: tuple[Path, Path], monkeypatch,
                                             inner: str) -> None:
    monkeypatch.setenv("BULLETIN_TEMPLATE_SECONDS", "1")
    body = (f"Start\n{{% for a in range(100000) %}}{{% for b in range(100000) %}}{inner}"
            "{% endfor %}{% endfor %}\n")
    with pytest.raises(BulletinError, match=r"01-test\.md\.j2, line 2: the template took "
                                            r"longer than 1 s"):
        _render(site, body)


def test_the_timer_is_put_back_after_rendering(site: tuple[Path, Path]) -> None:
    import signal

    before = signal.getsignal(signal.SIGALRM)
    _render(site, "Fine\n")
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_output_size_limit(site: tuple[Path, Path], monkeypatch) -> None:
    monkeypatch.setattr(confine, "MAX_OUTPUT", 100_000)
    with pytest.raises(BulletinError, match=r"line 1: the template's output passed 100,000"):
        _render(site, "{% for a in range(100000) %}xxxxxxxxxx{% endfor %}\n")

