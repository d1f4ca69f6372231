"""A first battery case, so the battery's count is never silently empty."""

import subprocess
import sys

from bulletin.config import PROJECT_DIR


def test_missing_data_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.csv"
    run = subprocess.run([sys.executable, "-m", "bulletin", "validate", str(missing)],
                         cwd=PROJECT_DIR, capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert str(missing) in run.stderr
