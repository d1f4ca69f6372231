"""Battery: edition files, and the files they point to, that `validate --edition` and
`build` must refuse with the file and key (or the previous edition) named, exit code 2
and no traceback.

`validate --edition` checks what a build of the edition reads: the edition file, its
data file, the previous edition's file and that edition's data file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bulletin.config import PROJECT_DIR

DATA = PROJECT_DIR / "bulletin" / "demo" / "data"
LAST_YEAR, THIS_YEAR = DATA / "demo-2018-19.csv", DATA / "demo-2019-20.csv"


def refused(*args: str, timeout: float = 300) -> str:
    run = subprocess.run([sys.executable, "-m", "bulletin", *args], cwd=PROJECT_DIR,
                         capture_output=True, text=True, timeout=timeout, check=False)
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    assert run.returncode == 2, run.stdout + run.stderr
    return run.stdout + run.stderr


def write_edition(folder: Path, edition_id: str = "2019-20", data: Path = THIS_YEAR,
                  previous: str | None = "2018-19", extra: str = "",
                  top: str = "") -> Path:
    """A complete edition file in `folder`, with `top` keys added before the tables and
    `extra` text (tables) after them."""
    year = int(edition_id[:4])
    text = (f'id = "{edition_id}"\n'
            f'number = "{year + 2}/01"\n'
            'title = "Battery edition"\n'
            'authors = ["A. Analyst"]\n'
            f'fieldwork_start = "{year}-06"\n'
            f'fieldwork_end = "{year + 1}-03"\n'
            f'published = "{year + 2}-02-01"\n'
            f'data = "{data}"\n'
            + (f'previous = "{previous}"\n' if previous else "") + top + extra)
    path = folder / f"{edition_id}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def with_last_year(folder: Path, data: Path = LAST_YEAR, text: str | None = None) -> Path:
    """This year's edition file beside last year's (written from `text` if given)."""
    last = write_edition(folder, "2018-19", data=data, previous=None)
    if text is not None:
        last.write_text(text, encoding="utf-8")
    return write_edition(folder)


def test_edition_file_that_is_not_toml(tmp_path: Path) -> None:
    path = write_edition(tmp_path)
    path.write_text(path.read_text() + 'title = "unterminated\n')
    out = refused("validate", "--edition", str(path))
    assert f"{path}: not valid TOML" in out and "line 10" in out


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = write_edition(tmp_path, top='titel = "typo"\n')
    out = refused("validate", "--edition", str(path))
    assert str(path) in out and "unknown key 'titel'" in out and "'title'" in out


def test_unknown_analysis_key(tmp_path: Path) -> None:
    path = write_edition(tmp_path, extra="[analysis]\nmax_data_mb = 10\n")
    out = refused("validate", "--edition", str(path))
    assert "unknown key 'analysis.max_data_mb'" in out and "analysis.max_data_mib" in out


def test_key_of_the_wrong_type(tmp_path: Path) -> None:
    path = write_edition(tmp_path, top="")
    path.write_text(path.read_text().replace('number = "2021/01"', "number = 2021"))
    out = refused("validate", "--edition", str(path))
    assert str(path) in out and "key 'number' has the wrong type" in out


def test_size_limit_of_the_wrong_type(tmp_path: Path) -> None:
    path = write_edition(tmp_path, extra='[analysis]\nmax_data_mib = "big"\n')
    out = refused("validate", "--edition", str(path))
    assert "key 'analysis.max_data_mib' has the wrong type" in out


def test_size_limit_set_in_the_edition(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    big.write_bytes(THIS_YEAR.read_bytes() * 3)  # about 1.3 MiB
    path = write_edition(tmp_path, data=big, previous=None,
                         extra="[analysis]\nmax_data_mib = 1\n")
    out = refused("validate", "--edition", str(path))
    assert f"{big}: is 1." in out and "more than the limit of 1 MiB" in out


def test_previous_edition_without_a_file(tmp_path: Path) -> None:
    path = write_edition(tmp_path, previous="2017-18")
    out = refused("validate", "--edition", str(path))
    assert str(path) in out and "key 'previous' names an edition with no file" in out
    assert "'2017-18'" in out


def test_previous_edition_file_not_toml(tmp_path: Path) -> None:
    path = with_last_year(tmp_path, text='id = "2018-19\n')
    out = refused("validate", "--edition", str(path))
    assert f"previous edition 2018-19 ({tmp_path / '2018-19.toml'})" in out
    assert "not valid TOML" in out


def test_previous_editions_data_missing(tmp_path: Path) -> None:
    gone = tmp_path / "cases-2018-19.csv"
    path = with_last_year(tmp_path, data=gone)
    out = refused("validate", "--edition", str(path))
    assert f"previous edition 2018-19's data file {gone} not found" in out


def test_previous_editions_data_with_a_fault(tmp_path: Path) -> None:
    lines = LAST_YEAR.read_text().splitlines(keepends=True)
    lines[5] = lines[5].replace(",", ",\x00", 1)  # line 6: row 4's provider
    faulty = tmp_path / "cases-2018-19.csv"
    faulty.write_text("".join(lines))
    path = with_last_year(tmp_path, data=faulty)
    out = refused("validate", "--edition", str(path))
    assert "previous edition 2018-19's data file:" in out
    assert f"{faulty}, row 4 (line 6 of the file), column 'provider'" in out
    assert "U+0000" in out


def test_editions_own_data_missing(tmp_path: Path) -> None:
    gone = tmp_path / "cases-2019-20.csv"
    path = write_edition(tmp_path, data=gone, previous=None)
    out = refused("validate", "--edition", str(path))
    assert f"edition 2019-20's data file {gone} not found" in out


def test_build_with_previous_data_missing_keeps_the_previous_output(tmp_path: Path) -> None:
    gone = tmp_path / "cases-2018-19.csv"
    path = with_last_year(tmp_path, data=gone)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "numbers.csv").write_text("key,value\nold,1\n")
    before = (out_dir / "numbers.csv").read_bytes()
    out = refused("build", "--edition", str(path), "--out", str(out_dir), "--no-cache",
                  "--formats", "numbers")
    assert str(gone) in out
    assert sorted(p.name for p in out_dir.iterdir()) == ["numbers.csv"]
    assert (out_dir / "numbers.csv").read_bytes() == before
