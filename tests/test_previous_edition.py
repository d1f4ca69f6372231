"""A build whose previous edition's data is missing says it is last year's file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bulletin.config import PROJECT_DIR


def test_missing_previous_data_is_named_as_last_years(tmp_path: Path) -> None:
    editions = tmp_path / "editions"
    editions.mkdir()
    old = (PROJECT_DIR / "editions" / "2018-19.toml").read_text(encoding="utf-8")
    new = (PROJECT_DIR / "editions" / "2019-20.toml").read_text(encoding="utf-8")
    gone = tmp_path / "no-such-2018-19.csv"
    lines = [f'data = "{gone}"' if ln.startswith("data =") else ln for ln in old.splitlines()]
    (editions / "2018-19.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    demo = PROJECT_DIR / "bulletin" / "demo" / "data" / "demo-2019-20.csv"
    new = "\n".join(f'data = "{demo}"' if ln.startswith("data =") else ln
                    for ln in new.splitlines())
    (editions / "2019-20.toml").write_text(new + "\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "bulletin", "build", "--edition",
                          str(editions / "2019-20.toml"), "--formats", "numbers",
                          "--out", str(tmp_path / "out"), "--no-cache"],
                         cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "previous edition 2018-19 (last year's figures" in run.stderr
    assert str(gone) in run.stderr
    assert not (tmp_path / "out").exists()
