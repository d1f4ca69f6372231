"""An edition must rebuild to the same bytes, so that a published bulletin can be checked
against its inputs years later.

Two builds run in fresh interpreters that differ in everything that should not matter:
output folder, working directory, hash seed (set and dict ordering), time zone, and the
wall-clock time (the second build starts seconds after the first). SOURCE_DATE_EPOCH is
removed, because an analyst running `python -m bulletin build` will not have set it.
Each build has its own empty analysis cache, so both compute everything afresh (that a
cached build gives the same bytes as a fresh one is tested in test_cache.py).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _build(out: Path, cwd: Path, hash_seed: str, tz: str) -> None:
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    # the package from this checkout, whether or not it is installed in the environment
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")]))
    env["BULLETIN_CACHE_DIR"] = str(cwd / "cache")
    env.update(PYTHONHASHSEED=hash_seed, TZ=tz, OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "bulletin", "build", "--out", str(out)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"build failed:\n{proc.stdout}\n{proc.stderr}"


def _hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "out-a", tmp_path / "elsewhere" / "out-b"
    _build(first, tmp_path / "cwd-a", hash_seed="1", tz="UTC")
    _build(second, tmp_path / "cwd-b", hash_seed="4242", tz="Pacific/Auckland")
    a, b = _hashes(first), _hashes(second)
    suffixes = {Path(name).suffix for name in a}
    assert {".pdf", ".html", ".csv", ".json"} <= suffixes, sorted(a)
    assert sorted(a) == sorted(b), "the two builds wrote different files"
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, f"files whose bytes differ between two builds: {differ}"


def test_weasyprint_subsets_fonts_with_harfbuzz() -> None:
    """Without libharfbuzz-subset0 (installed by scripts/setup) WeasyPrint falls back to
    fontTools, which writes the current time into every embedded font: the PDF would
    differ from run to run. Fail here, with the reason, rather than on a hash mismatch."""
    from weasyprint.pdf import fonts
    from weasyprint.text.ffi import harfbuzz

    assert fonts.harfbuzz_subset is not None, "install libharfbuzz-subset0 (scripts/setup)"
    assert harfbuzz.hb_version_atleast(4, 1, 0), "WeasyPrint needs HarfBuzz 4.1 or later"
