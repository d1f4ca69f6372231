"""The build's stage report adds up to its wall time, the PDF worker gives the same bytes
as the build's own process, and --profile writes a profile."""

from __future__ import annotations

import pstats
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bulletin.config import PROJECT_DIR
from bulletin.errors import BulletinError
from bulletin.pdfworker import PdfWorker
from bulletin.publish import TEMPLATES_DIR, render_pdf

LINE = re.compile(r"^  (\S.*?)\s+(\d+\.\d\d) s$")
HTML = """<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">
<title>Worker test</title></head><body><h1>Worker</h1><p>Same bytes either way.</p>
</body></html>"""


def _stages(stderr: str) -> dict[str, float]:
    out = {}
    for line in stderr.splitlines():
        m = LINE.match(line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


@pytest.fixture(scope="module")
def profiled_build(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    tmp = tmp_path_factory.mktemp("report")
    profile = tmp / "build.prof"
    run = subprocess.run(
        [sys.executable, "-m", "bulletin", "build", "--out", str(tmp / "out"),
         "--formats", "numbers,html", "--profile", str(profile)],
        cwd=PROJECT_DIR, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run, profile


def test_stage_lines_add_up_to_the_total(profiled_build) -> None:
    run, _ = profiled_build
    stages = _stages(run.stderr)
    total = stages.pop("total")
    assert {"startup", "config", "check", "render", "publish"} <= set(stages)
    # each line is rounded to 0.01 s; a few hundredths either way is rounding
    assert sum(stages.values()) == pytest.approx(total, abs=0.01 * (len(stages) + 1))


def test_profile_is_written_and_readable(profiled_build) -> None:
    _, profile = profiled_build
    stats = pstats.Stats(str(profile))
    assert any(func[2] == "build_command" for func in stats.stats)  # type: ignore[attr-defined]


def test_worker_pdf_is_byte_identical_to_this_process() -> None:
    with PdfWorker() as worker:
        worker.submit(HTML, TEMPLATES_DIR, "2020-01-15")
        from_worker = worker.result()
        assert worker.import_seconds is not None and worker.render_seconds is not None
    here = render_pdf(HTML, TEMPLATES_DIR, "2020-01-15")
    assert from_worker.startswith(b"%PDF") and from_worker == here


def test_worker_faults_are_plain_errors() -> None:
    bad = HTML.replace("<h1>", '<img src="file:///etc/passwd" alt="x"><h1>')
    with PdfWorker() as worker:
        worker.submit(bad, TEMPLATES_DIR, None)
        with pytest.raises(BulletinError) as info:
            worker.result()
    assert "/etc/passwd" in str(info.value)


def test_a_large_file_is_told_what_the_stability_check_costs(monkeypatch, capsys) -> None:
    """From LARGE cases the build says, before analysing, that the bootstrap will take
    minutes and which setting shortens it; on a year's cases it says nothing."""
    from bulletin import build
    from bulletin.config import load_edition

    edition = load_edition("2018-19")
    build.gather(edition)
    assert "stability check" not in capsys.readouterr().err
    monkeypatch.setattr(build, "LARGE", 100)
    build.gather(edition)
    err = capsys.readouterr().err
    assert "selection stability check" in err and "analysis.stability_resamples" in err
