"""The analysis cache: its key moves with every input the facts depend on, and only those;
a stored result reads back exactly; a damaged entry is never trusted; and a build from
the cache writes the same bytes as one that computes everything."""

from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bulletin.cache import AnalysisCache, code_files, inputs_key
from bulletin.config import DEFAULTS_FILE, PACKAGE_DIR, PROJECT_DIR, load_edition
from bulletin.facts import Fact, Registry
from bulletin.figures import Figure

EDITION = load_edition("2018-19")


def _copy_data(tmp_path: Path) -> Path:
    data = tmp_path / "data.csv"
    shutil.copy(EDITION.data_file, data)
    return data


def test_one_changed_cell_changes_the_key(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    before = inputs_key(EDITION, data)
    assert inputs_key(EDITION, data) == before  # same bytes, same key
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[1].split(",")
    cells[-1] = "X" + cells[-1]
    lines[1] = ",".join(cells)
    data.write_text("".join(lines), encoding="utf-8")
    assert inputs_key(EDITION, data) != before


def test_one_changed_setting_changes_the_key(tmp_path: Path) -> None:
    defaults = tmp_path / "defaults.toml"
    text = DEFAULTS_FILE.read_text(encoding="utf-8")
    defaults.write_text(text, encoding="utf-8")
    before = inputs_key(EDITION, defaults=defaults)
    assert "pin = 0.05" in text
    defaults.write_text(text.replace("pin = 0.05", "pin = 0.04"), encoding="utf-8")
    assert inputs_key(EDITION, defaults=defaults) != before


def test_the_edition_file_and_last_years_data_are_in_the_key(tmp_path: Path) -> None:
    folder = tmp_path / "editions"
    folder.mkdir()
    last_data = _copy_data(tmp_path)  # 2018-19's data, in a file this test may change
    for name, data in (("2018-19.toml", last_data),
                       ("2019-20.toml", load_edition("2019-20").data_file)):
        text = (PROJECT_DIR / "editions" / name).read_text(encoding="utf-8")
        text = re.sub(r'(?m)^data = ".*"$', f'data = "{data}"', text)
        (folder / name).write_text(text, encoding="utf-8")
    new_file = folder / "2019-20.toml"
    new = load_edition(new_file)
    before = inputs_key(new)
    last_data.write_bytes(last_data.read_bytes().replace(b"\n", b"\r\n", 1))
    assert inputs_key(new) != before  # one changed byte of last year's data
    last_data.write_bytes(last_data.read_bytes().replace(b"\r\n", b"\n", 1))
    assert inputs_key(new) == before
    new_file.write_text(new_file.read_text(encoding="utf-8").replace(
        'fieldwork_end = "2020-03"', 'fieldwork_end = "2020-02"'), encoding="utf-8")
    assert inputs_key(load_edition(new_file)) != before


def _package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "bulletin"
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "data"))
    return copy


def test_one_line_of_analysis_code_changes_the_key(tmp_path: Path) -> None:
    package = _package_copy(tmp_path)
    before = inputs_key(EDITION, package_dir=package)
    logit = package / "analysis" / "logit.py"
    logit.write_text(logit.read_text(encoding="utf-8") + "\nTOLERANCE_NOTE = 1\n",
                     encoding="utf-8")
    assert inputs_key(EDITION, package_dir=package) != before


def test_wording_and_presentation_code_leave_the_key_alone(tmp_path: Path) -> None:
    package = _package_copy(tmp_path)
    before = inputs_key(EDITION, package_dir=package)
    for name in ("render.py", "publish.py", "tables.py", "cli.py"):
        path = package / name
        path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert inputs_key(EDITION, package_dir=package) == before


def test_the_code_in_the_key_follows_the_stages_imports() -> None:
    names = {p.relative_to(PACKAGE_DIR).as_posix() for p in code_files()}
    assert {"analysis/logit.py", "analysis/stepwise.py", "collect.py", "facts.py",
            "figures.py", "load.py", "validate.py", "words.py", "cache.py"} <= names
    assert not names & {"render.py", "publish.py", "cli.py", "check.py", "preview.py"}


# -- entries -----------------------------------------------------------------------------

def _awkward_registry() -> Registry:
    return Registry([
        Fact("x.float", 0.1 + 0.2, "a float that prints long", "percent", 3, 10),
        Fact("x.tiny", 1e-300, "a tiny p", "p_value"),
        Fact("x.int", 1965, "a count", "count"),
        Fact("x.whole_float", 2.0, "a float with no fraction", "statistic"),
        Fact("x.none", None, "nothing", "number", suppressed=True, unreliable=True),
        Fact("x.text", "Hampshire & Isle of Wight \u2013 \"quoted\"", "text", "text"),
        Fact("x.nan", math.nan, "not a number", "coefficient"),
    ])


def _same(a: Registry, b: Registry) -> None:
    assert list(a) == list(b)
    for key in a:
        fa, fb = a[key], b[key]
        assert type(fa.value) is type(fb.value), key
        same_nan = isinstance(fa.value, float) and math.isnan(fa.value) and math.isnan(fb.value)
        assert same_nan or fa == fb, key


def test_a_stored_registry_reads_back_exactly(tmp_path: Path) -> None:
    reg = _awkward_registry()
    calls: list[int] = []

    def compute() -> Registry:
        calls.append(1)
        return reg

    first = AnalysisCache(tmp_path).facts(EDITION, None, compute)
    second_cache = AnalysisCache(tmp_path)
    second = second_cache.facts(EDITION, None, compute)
    assert len(calls) == 1 and second_cache.hits == ["facts 2018-19"]
    _same(first, reg)
    _same(second, reg)
    assert second.to_csv() == reg.to_csv() and second.to_json() == reg.to_json()


def test_stored_figures_read_back_exactly(tmp_path: Path) -> None:
    figs = (Figure(2, "figure2", "T\u2019s", "<svg>\u00e9</svg>", "alt", "Source"),)
    AnalysisCache(tmp_path).figures(EDITION, None, lambda: figs)
    again = AnalysisCache(tmp_path).figures(EDITION, None, lambda: pytest.fail("recomputed"))
    assert again == figs


@pytest.mark.parametrize("damage", ["truncate", "flip", "header", "empty", "not json",
                                    "wrong fields"])
def test_a_damaged_entry_is_ignored_and_rebuilt(tmp_path: Path, damage: str) -> None:
    reg = _awkward_registry()
    cache = AnalysisCache(tmp_path)
    cache.facts(EDITION, None, lambda: reg)
    path = cache.path(cache.key(EDITION), "facts")
    raw = path.read_text(encoding="utf-8")
    head, _, body = raw.partition("\n")
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":
        raw = raw.replace("1965", "1966")
    elif damage == "header":
        raw = head.replace('"format": 1', '"format": 0') + "\n" + body
    elif damage == "empty":
        raw = ""
    elif damage == "not json":
        raw = "\x00\x01garbage"
    else:  # a body whose checksum is right but whose rows are not facts
        bad = '[["x.a", 1]]'
        raw = head.replace(head.split('"sha256": "')[1].split('"')[0],
                           hashlib.sha256(bad.encode()).hexdigest()) + "\n" + bad
    path.write_text(raw, encoding="utf-8")
    notes: list[str] = []
    calls: list[int] = []

    def compute() -> Registry:
        calls.append(1)
        return reg

    again = AnalysisCache(tmp_path, log=notes.append).facts(EDITION, None, compute)
    assert calls == [1]
    _same(again, reg)
    if damage != "empty":
        assert notes and "damaged" in notes[0]
    # ...and the entry written afresh is good again
    _same(AnalysisCache(tmp_path).facts(EDITION, None, lambda: pytest.fail("again")), reg)


def test_a_disabled_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    reg = _awkward_registry()
    AnalysisCache(tmp_path).facts(EDITION, None, lambda: reg)
    calls: list[int] = []
    off = AnalysisCache(tmp_path / "other", enabled=False)
    off.facts(EDITION, None, lambda: calls.append(1) or reg)
    assert calls == [1] and not (tmp_path / "other").exists()


def test_entries_are_written_whole(tmp_path: Path) -> None:
    cache = AnalysisCache(tmp_path)
    cache.facts(EDITION, None, _awkward_registry)
    assert [p.name for p in tmp_path.iterdir()] == [cache.path(cache.key(EDITION),
                                                               "facts").name]


# -- a build from the cache --------------------------------------------------------------

def _build(out: Path, cache: Path, *extra: str) -> str:
    env = dict(os.environ, BULLETIN_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "bulletin", "build", "--edition", "2019-20",
                           "--formats", "html,csv,numbers", "--out", str(out), *extra],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_cached_build_writes_the_same_bytes(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = _build(tmp_path / "cold", cache)
    warm = _build(tmp_path / "warm", cache)
    fresh = _build(tmp_path / "fresh", cache, "--no-cache")
    assert "analyse" in cold and "analyse" in fresh
    assert "analyse" not in warm and "load" not in warm
    assert "facts 2019-20, facts 2018-19, figures 2019-20" in warm  # last year's too
    assert len(list(cache.iterdir())) == 3
    a = _hashes(tmp_path / "cold")
    assert {"bulletin.html", "numbers.csv", "numbers.json"} <= set(a)
    assert _hashes(tmp_path / "warm") == a
    assert _hashes(tmp_path / "fresh") == a


def test_a_missing_data_file_is_reported_by_the_load_stage(tmp_path: Path) -> None:
    """The key cannot be computed without the data: the build carries on to the stage
    that reports the missing file plainly, instead of failing in the cache."""
    env = dict(os.environ, BULLETIN_CACHE_DIR=str(tmp_path / "cache"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "bulletin", "build", "--formats", "html",
                           "--data", str(tmp_path / "missing.csv"),
                           "--out", str(tmp_path / "out")],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "missing.csv" in proc.stderr
