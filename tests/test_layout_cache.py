"""The pagination's stored measurements: reused only when the layout would be the same."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bulletin import layout_cache, paginate
from bulletin.config import PROJECT_DIR
from bulletin.paginate import Measured
from bulletin.render import TEMPLATES_DIR
from tests.test_paginate import _chapter, _doc, _para, _table

weasyprint = pytest.importorskip("weasyprint")

from bulletin.fetcher import RefusedURL, SandboxFetcher  # noqa: E402  (needs weasyprint)


class Setup:
    """A folder with the bulletin's stylesheet, a sandboxed layout over it that records
    what it laid out, and a cache folder."""

    def __init__(self, root: Path) -> None:
        self.assets = root / "assets"
        self.assets.mkdir()
        shutil.copy(TEMPLATES_DIR / "print.css", self.assets / "print.css")
        self.folder = root / "cache"
        self.fetcher = SandboxFetcher([self.assets])
        self.calls: list[str] = []

    def layout(self, html: str) -> Any:
        self.calls.append(html)
        return weasyprint.HTML(string=html, base_url=str(self.assets) + "/",
                               url_fetcher=self.fetcher).render(presentational_hints=True)

    def store(self, environment: str = "here", base: str | None = None,
              ) -> layout_cache.LayoutCache:
        return layout_cache.LayoutCache(self.folder, base or str(self.assets) + "/",
                                        self.fetcher, environment)

    def render(self, html: str, store: layout_cache.LayoutCache | None) -> list[str]:
        self.calls.clear()
        paginate.render(self.layout, html, None if store is None else store.measure)
        return list(self.calls)


def _bulletin() -> str:
    """Two chapters, the first with a table over two pages."""
    return _doc(_chapter("one", _para(6), _table("1", 70)), _chapter("two", _para(3)))


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """What pagination lays out with no store: stretches, then the whole document."""
    return Setup(tmp_path_factory.mktemp("plain")).render(_bulletin(), None)


def test_a_stored_layout_leaves_only_the_whole_document_to_lay_out(
        tmp_path: Path, plain: list[str]) -> None:
    setup = Setup(tmp_path)
    first = setup.store()
    assert setup.render(_bulletin(), first) == plain
    assert first.misses == len(plain) - 1 >= 1 and first.hits == 0
    assert "(continued)" in plain[-1]
    again = setup.store()
    assert setup.render(_bulletin(), again) == [plain[-1]]
    assert (again.hits, again.misses) == (first.misses, 0)


def test_a_changed_stylesheet_is_laid_out_afresh(tmp_path: Path, plain: list[str]) -> None:
    setup = Setup(tmp_path)
    setup.render(_bulletin(), setup.store())
    with (setup.assets / "print.css").open("a", encoding="utf-8") as fh:
        fh.write("\n/* edited */\n")
    store = setup.store()
    assert setup.render(_bulletin(), store) == plain
    assert store.hits == 0


def test_another_environment_is_another_key(tmp_path: Path, plain: list[str]) -> None:
    setup = Setup(tmp_path)
    setup.render(_bulletin(), setup.store("one system"))
    store = setup.store("another system")
    assert setup.render(_bulletin(), store) == plain
    assert store.hits == 0


def test_a_damaged_entry_is_laid_out_afresh_and_stored_again(tmp_path: Path,
                                                             plain: list[str]) -> None:
    setup = Setup(tmp_path)
    setup.render(_bulletin(), setup.store())
    entries = sorted(setup.folder.glob("*.layout.json"))
    assert entries
    for entry in entries:
        head, _, body = entry.read_text(encoding="utf-8").partition("\n")
        entry.write_text(head + "\n" + body.replace('"breaks":{', '"breaks":{"x":[1],', 1),
                         encoding="utf-8")
    store = setup.store()
    assert setup.render(_bulletin(), store) == plain
    assert store.hits == 0
    mended = setup.store()
    assert setup.render(_bulletin(), mended) == [plain[-1]]


def test_a_folder_that_cannot_be_written_only_costs_time(tmp_path: Path,
                                                         plain: list[str]) -> None:
    setup = Setup(tmp_path)
    setup.folder.write_text("a file where the folder would go", encoding="utf-8")
    assert setup.render(_bulletin(), setup.store()) == plain
    assert setup.render(_bulletin(), setup.store()) == plain


def test_the_entries_used_last_are_kept(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout_cache, "KEEP", 2)
    setup = Setup(tmp_path)
    store = setup.store()
    setup.folder.mkdir()
    leftover = setup.folder / ".x.layout.json.abc.tmp"
    leftover.write_text("half", encoding="utf-8")
    os.utime(leftover, (1, 1))
    fresh = setup.folder / ".y.layout.json.def.tmp"  # a write under way elsewhere
    fresh.write_text("half", encoding="utf-8")

    def value(n: int) -> Measured:
        return Measured(((0.0, 0.0, float(n), 1.0),))

    for n, part in enumerate(("<p>a</p>", "<p>b</p>")):
        store.measure([(part, lambda n=n: value(n))])
        os.utime(store.path(store.key(part)), ns=(n * 10**9, n * 10**9))
    assert store.measure([("<p>a</p>", lambda: value(9))]) == [value(0)]  # a hit: used last
    store.measure([("<p>c</p>", lambda: value(2))])
    kept = {p.name for p in setup.folder.iterdir()}
    assert kept == {store.path(store.key(p)).name for p in ("<p>a</p>", "<p>c</p>")} | \
        {fresh.name}


def test_layouts_made_in_other_processes_are_stored_with_the_files_they_loaded(
        tmp_path: Path) -> None:
    from bulletin import forked

    setup = Setup(tmp_path)
    html = _doc(_chapter("one", _para(6), _table("1", 70)),
                _chapter("two", _para(2), _table("2", 90)))
    store = layout_cache.LayoutCache(setup.folder, str(setup.assets) + "/", setup.fetcher,
                                     "here", forked.run)
    setup.calls.clear()
    paginate.render(setup.layout, html, store.measure, documents=2)
    assert store.misses >= 2
    entries = list(setup.folder.glob("*.layout.json"))
    assert len(entries) == store.misses
    for entry in entries:
        body = json.loads(entry.read_text(encoding="utf-8").partition("\n")[2])
        assert [Path(real).name for _, real, _ in body["files"]] == ["print.css"]
    again = layout_cache.LayoutCache(setup.folder, str(setup.assets) + "/", setup.fetcher,
                                     "here", forked.run)
    paginate.render(setup.layout, html, again.measure, documents=2)
    assert (again.hits, again.misses) == (store.misses, 0)


def test_a_stylesheet_link_pointed_elsewhere_is_laid_out_afresh(tmp_path: Path,
                                                                 plain: list[str]) -> None:
    """The file a URL names is checked, not only the file it named last time: the old
    one is still there, unchanged."""
    setup = Setup(tmp_path)
    real = setup.assets / "print.css"
    (setup.assets / "theme.css").write_bytes(real.read_bytes())
    real.rename(setup.assets / "normal.css")
    real.symlink_to("normal.css")
    setup.render(_bulletin(), setup.store())
    real.unlink()
    real.symlink_to("theme.css")
    store = setup.store()
    assert setup.render(_bulletin(), store) == plain
    assert store.hits == 0


def test_a_file_gone_since_is_laid_out_afresh(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    setup.render(_bulletin(), setup.store())
    (setup.assets / "print.css").rename(setup.assets / "elsewhere.css")
    store = setup.store()
    with pytest.raises(RefusedURL, match="print.css"):  # by the fresh layout, as ever
        setup.render(_bulletin(), store)
    assert store.hits == 0


def test_another_base_url_is_another_key(tmp_path: Path, plain: list[str]) -> None:
    setup = Setup(tmp_path)
    setup.render(_bulletin(), setup.store())
    store = setup.store(base=str(setup.assets) + "/./")
    assert setup.render(_bulletin(), store) == plain
    assert store.hits == 0


def test_a_layout_that_fails_stores_nothing(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    store = setup.store()

    def fails() -> Measured:
        raise RuntimeError("no layout")

    with pytest.raises(RuntimeError):
        store.measure([("<html></html>", fails)])
    assert not setup.folder.exists() or not list(setup.folder.iterdir())


def test_without_an_environment_the_pdf_is_made_without_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> str:
        raise RuntimeError("Could not determine home directory.")

    setup = Setup(tmp_path)
    monkeypatch.setattr(layout_cache, "environment", no_home)
    assert layout_cache.for_pdf(setup.folder, "file:///x/", setup.fetcher) is None
    assert layout_cache.for_pdf(None, "file:///x/", setup.fetcher) is None
    monkeypatch.undo()
    made = layout_cache.for_pdf(setup.folder, "file:///x/", setup.fetcher)
    assert made is not None and made.environment == layout_cache.environment()


def test_real_measurements_read_back_exactly(plain: list[str]) -> None:
    doc = _layout_plain(plain[0])
    shorts = [False] * plain[0].count('data-stretch="')
    for value in (paginate._measure(doc, shorts), paginate._measure(doc, [*shorts, True])):
        assert Measured.from_json(json.loads(json.dumps(value.to_json()))) == value
    assert paginate._measure(doc, shorts).breaks  # the table breaks: every field is filled
    assert paginate._measure(doc, [*shorts, True]).unsure


def _layout_plain(html: str) -> Any:
    return weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR) + "/").render(
        presentational_hints=True)


def test_measurements_with_infinite_room_read_back_exactly() -> None:
    value = Measured(((56.7, 60.1, 481.89, 700.0),), "", {"t1": [12, 30]},
                     [0.1 + 0.2, -math.inf, 3.0], {"t1": {0: 0, 12: 1, 30: 2}},
                     {"t1": 17.333333333333332})
    assert Measured.from_json(json.loads(json.dumps(value.to_json()))) == value


def test_the_environment_follows_fontconfig(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """What fontconfig reads is in the environment: its configuration files, by content,
    and the fonts in the folders they name, whatever those are."""
    fonts = tmp_path / "somewhere" / "fonts"
    fonts.mkdir(parents=True)
    source = next(p for p in Path("/usr/share/fonts").rglob("*.ttf")) \
        if Path("/usr/share/fonts").is_dir() else None
    if source is None:
        pytest.skip("no TrueType font on this system to copy")
    conf = tmp_path / "fonts.conf"

    def configure(extra: str) -> None:
        conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
                        f"<fontconfig><dir>{fonts}</dir>{extra}"
                        f"<cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>\n",
                        encoding="utf-8")

    monkeypatch.setenv("FONTCONFIG_FILE", str(conf))
    configure("")
    empty = layout_cache.environment()
    assert layout_cache.environment() == empty
    shutil.copy(source, fonts / "Copied.ttf")
    one_font = layout_cache.environment()
    configure("<!-- a rule changed -->")
    changed_rule = layout_cache.environment()
    assert len({empty, one_font, changed_rule}) == 3


# -- in a build ------------------------------------------------------------------------------

def _build(out: Path, cache: Path, *extra: str) -> None:
    env = dict(os.environ, BULLETIN_CACHE_DIR=str(cache), BULLETIN_STABILITY_RESAMPLES="4")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "bulletin", "build", "--formats", "pdf",
                           "--out", str(out), *extra], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr


def _entries(cache: Path) -> dict[str, int]:
    """Entry -> its inode: a hit leaves the file (only its time is touched), a write
    replaces it with a new one."""
    return {p.name: p.stat().st_ino for p in (cache / "layout").glob("*.layout.json")}


@pytest.mark.slow
def test_a_build_from_stored_layouts_writes_the_same_pdf(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _build(tmp_path / "cold", cache)
    stored = _entries(cache)
    assert stored  # the table chapters' layouts, one entry per round of stretches
    _build(tmp_path / "warm", cache)
    assert _entries(cache) == stored  # every one read, none laid out or written again
    _build(tmp_path / "fresh", cache, "--no-cache")
    pdf = (tmp_path / "cold" / "bulletin.pdf").read_bytes()
    assert (tmp_path / "warm" / "bulletin.pdf").read_bytes() == pdf
    assert (tmp_path / "fresh" / "bulletin.pdf").read_bytes() == pdf
