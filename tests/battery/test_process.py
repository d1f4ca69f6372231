"""Process faults: a build killed or interrupted at stated points, two runs at once, a
full disk, a read-only output folder, and runs that must not delete what they did not
make.

The kill and interrupt points are deterministic: `BULLETIN_FAULT=kill:<point>` makes the
publisher stop itself at that point (see bulletin/publish.py `_fault`). A faulted run
uses another year's data, so that the new output differs from the previous one and the
checks can tell which of the two the folder holds.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from battery.harness import PROJECT, failed_cleanly, leftovers, run, snapshot, start

OTHER_DATA = PROJECT / "bulletin" / "demo" / "data" / "demo-2019-20.csv"
FAST = ("--formats", "numbers,html")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, cache: str) -> Path:
    """A previous output (numbers and web edition) that each case copies."""
    out = tmp_path_factory.mktemp("base") / "2018-19"
    proc = run("build", *FAST, "--out", str(out), BULLETIN_CACHE_DIR=cache)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory, cache: str) -> Path:
    """A previous output with every format, the PDF too."""
    out = tmp_path_factory.mktemp("full") / "2018-19"
    proc = run("build", "--out", str(out), BULLETIN_CACHE_DIR=cache)
    assert proc.returncode == 0, proc.stderr
    return out


def _copy(source: Path, parent: Path) -> Path:
    out = parent / source.name
    shutil.copytree(source, out)
    return out


def _consistent(out: Path) -> None:
    """Every file the manifest lists is there with its recorded hash, and every output
    file is listed: the folder is one complete output, not a mixture."""
    files = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    on_disk = {k for k in snapshot(out) if k != "manifest.json"}
    assert set(files) == on_disk
    for name, entry in files.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"], name


def _build(out: Path, cache: str, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run("build", *FAST, "--data", str(OTHER_DATA), "--out", str(out), *extra,
               BULLETIN_CACHE_DIR=cache, **env)


# -- killed and interrupted ------------------------------------------------------------

def test_killed_after_writing_before_the_swap(base: Path, tmp_path: Path, cache: str) -> None:
    out = _copy(base, tmp_path)
    before = snapshot(out)
    proc = _build(out, cache, BULLETIN_FAULT="kill:written")
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(out) == before  # the previous output, byte for byte
    assert len(leftovers(tmp_path)) == 1  # the finished stage, never swapped in
    again = run("analyse", "--out", str(out), BULLETIN_CACHE_DIR=cache)
    assert again.returncode == 0, again.stderr
    assert "removed 1 unfinished folder(s)" in again.stderr
    assert leftovers(tmp_path) == []
    assert snapshot(out) == before  # same inputs: the same numbers again


def test_killed_right_after_the_exchange(base: Path, tmp_path: Path, cache: str) -> None:
    out = _copy(base, tmp_path)
    before = snapshot(out)
    proc = _build(out, cache, BULLETIN_FAULT="kill:exchanged")
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(out)["numbers.csv"] != before["numbers.csv"]  # the new output, whole
    _consistent(out)
    assert len(leftovers(tmp_path)) == 1  # the old output, set aside, not yet deleted
    again = run("analyse", "--out", str(out), BULLETIN_CACHE_DIR=cache)
    assert again.returncode == 0 and leftovers(tmp_path) == []


def test_killed_between_two_renames_is_repaired(base: Path, tmp_path: Path,
                                                cache: str) -> None:
    """Where no atomic exchange is available the swap is two renames; a run killed
    between them leaves no edition folder, and the next run puts the previous back."""
    out = _copy(base, tmp_path)
    before = snapshot(out)
    proc = _build(out, cache, BULLETIN_FAULT="no-exchange,kill:between")
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    again = run("analyse", "--out", str(out), BULLETIN_CACHE_DIR=cache)
    assert again.returncode == 0, again.stderr
    assert "restored the previous output" in again.stderr
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("fault", ["interrupt:written", "no-exchange,interrupt:between"])
def test_interrupted_during_the_swap(base: Path, tmp_path: Path, cache: str,
                                     fault: str) -> None:
    out = _copy(base, tmp_path)
    before = snapshot(out)
    proc = _build(out, cache, BULLETIN_FAULT=fault)
    failed_cleanly(proc, "interrupted", code=130)
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


def _stopped_from_outside(out: Path, cache: str, sig: int) -> subprocess.CompletedProcess[str]:
    """A build sent `sig` once it has started building (its line is on stderr)."""
    proc = start("build", *FAST, "--no-cache", "--data", str(OTHER_DATA), "--out", str(out),
                 BULLETIN_CACHE_DIR=cache)
    assert proc.stderr is not None
    seen = ""
    while not seen.endswith("building edition 2018-19\n"):
        line = proc.stderr.readline()
        assert line, seen  # the build ended before it started building
        seen += line
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, seen + stderr)


def test_ctrl_c_while_building(base: Path, tmp_path: Path, cache: str) -> None:
    out = _copy(base, tmp_path)
    before = snapshot(out)
    failed_cleanly(_stopped_from_outside(out, cache, signal.SIGINT), "interrupted", code=130)
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


def test_killed_while_building(base: Path, tmp_path: Path, cache: str) -> None:
    out = _copy(base, tmp_path)
    before = snapshot(out)
    proc = _stopped_from_outside(out, cache, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(out) == before
    assert leftovers(tmp_path) == []


# -- two runs at once ------------------------------------------------------------------

def test_a_run_while_another_holds_the_output_stops(base: Path, tmp_path: Path,
                                                    cache: str) -> None:
    out = _copy(base, tmp_path)
    before = snapshot(out)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom pathlib import Path\n"
         "from bulletin.atomic import exclusive\n"
         f"with exclusive(Path({str(tmp_path / '.2018-19.lock')!r}), 'x'):\n"
         "    print('held', flush=True)\n    sys.stdin.read()\n"],
        cwd=PROJECT, env={**os.environ, "PYTHONPATH": str(PROJECT)}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        proc = _build(out, cache)
        failed_cleanly(proc, f"{out} is being written by another run (process {holder.pid}")
        assert "previous output is unchanged" not in proc.stderr
        assert snapshot(out) == before
        assert leftovers(tmp_path) == []
    finally:
        holder.communicate("", timeout=30)


def test_two_runs_at_once_leave_one_whole_output(base: Path, tmp_path: Path,
                                                 cache: str) -> None:
    out = _copy(base, tmp_path)
    first = start("analyse", "--data", str(OTHER_DATA), "--out", str(out),
                  BULLETIN_CACHE_DIR=cache)
    second = start("analyse", "--out", str(out), BULLETIN_CACHE_DIR=cache)
    results = [(p.returncode, err) for p in (first, second)
               for _out, err in [p.communicate(timeout=300)]]
    for code, err in results:
        assert code in (0, 2), err
        assert "Traceback" not in err
        if code == 2:
            assert "is being written by another run" in err
    assert any(code == 0 for code, _ in results)
    _consistent(out)
    assert leftovers(tmp_path) == []


# -- the file system says no -----------------------------------------------------------

def _tmpfs(where: Path, size_kb: int) -> None:
    where.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root and mount(8)")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs",
                           str(where)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")


def _umount(where: Path) -> None:
    subprocess.run(["umount", str(where)], check=False)


def test_full_disk(base: Path, tmp_path: Path, cache: str) -> None:
    used = sum(len(b) for b in snapshot(base).values()) // 1024
    disk = tmp_path / "disk"
    _tmpfs(disk, used + 300)  # room for the previous output, not for a second one
    try:
        out = _copy(base, disk)
        before = snapshot(out)
        proc = _build(out, cache)
        failed_cleanly(proc, str(out), "No space left on device",
                       "the previous output is unchanged")
        assert snapshot(out) == before
        assert leftovers(disk) == []
    finally:
        _umount(disk)


def test_read_only_output_folder(base: Path, tmp_path: Path, cache: str) -> None:
    disk = tmp_path / "disk"
    _tmpfs(disk, 4096)
    try:
        out = _copy(base, disk)
        before = snapshot(out)
        remount = subprocess.run(["mount", "-o", "remount,ro", str(disk)],
                                 capture_output=True, text=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot make the file system read-only: {remount.stderr.strip()}")
        proc = _build(out, cache)
        failed_cleanly(proc, str(out), "Read-only file system")
        assert snapshot(out) == before
    finally:
        _umount(disk)


def test_output_path_that_is_a_file(tmp_path: Path, cache: str) -> None:
    out = tmp_path / "2018-19"
    out.write_text("a file of the user's", encoding="utf-8")
    failed_cleanly(_build(out, cache), f"{out}: exists and is not a folder")
    assert out.read_text(encoding="utf-8") == "a file of the user's"
    assert leftovers(tmp_path) == []


# -- nothing deleted that the run did not make -------------------------------------------

KEPT = ("bulletin.pdf", "bulletin.html", "tables/table1.csv", "figures/figure2.svg")


def test_analyse_replaces_only_the_numbers(full: Path, tmp_path: Path, cache: str) -> None:
    out = _copy(full, tmp_path)
    (out / "notes.txt").write_text("the analyst's notes", encoding="utf-8")
    before = snapshot(out)
    proc = run("analyse", "--data", str(OTHER_DATA), "--out", str(out),
               BULLETIN_CACHE_DIR=cache)
    assert proc.returncode == 0, proc.stderr
    after = snapshot(out)
    assert sorted(after) == sorted(before)
    for name in (*KEPT, "notes.txt"):
        assert after[name] == before[name], name
    assert after["numbers.csv"] != before["numbers.csv"]
    assert "bulletin.pdf is older than its inputs (data file changed" in proc.stderr
    _consistent_except(out, "notes.txt")


def test_html_alone_keeps_the_pdf(full: Path, tmp_path: Path, cache: str) -> None:
    out = _copy(full, tmp_path)
    before = snapshot(out)
    proc = _build(out, cache, "--formats", "html")
    assert proc.returncode == 0, proc.stderr
    after = snapshot(out)
    assert after["bulletin.pdf"] == before["bulletin.pdf"]
    assert after["numbers.csv"] == before["numbers.csv"]
    assert after["bulletin.html"] != before["bulletin.html"]
    assert "bulletin.pdf is older than its inputs (data file changed" in proc.stderr
    assert "numbers.csv is older than its inputs" in proc.stderr
    _consistent(out)


def _consistent_except(out: Path, *own: str) -> None:
    files = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert set(files) == {k for k in snapshot(out) if k not in ("manifest.json", *own)}
