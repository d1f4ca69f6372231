"""The publisher: what it writes, and that a failed build leaves the last output alone."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bulletin.config import PROJECT_DIR
from bulletin.errors import BulletinError
from bulletin.facts import Registry, RegistryBuilder
from bulletin.publish import publish, write_numbers

HEAD = ('<html lang="en-GB"><head><meta charset="utf-8"><title>A test bulletin</title>'
        '<meta name="author" content="A. Author"><link rel="stylesheet" href="print.css">'
        '</head>')


@dataclass(frozen=True)
class Table:
    id: str
    rows: tuple[tuple[str, str], ...]

    def to_csv(self) -> str:
        return "".join(f"{a},{b}\n" for a, b in self.rows)

    @property
    def csv_path(self) -> str:
        return f"tables/{self.id}.csv"


@dataclass(frozen=True)
class Doc:
    html_print: str
    html_web: str = "<!DOCTYPE html><html lang='en-GB'><title>web</title><p>web</p></html>"
    tables: tuple[Table, ...] = field(default=(Table("table1", (("a", "1"),)),))
    title: str = "A test bulletin"


@dataclass(frozen=True)
class Fig:
    id: str
    svg: str


def _doc(body: str = "<h2 id='s'>Section</h2><p>Seventy-eight per cent.</p>") -> Doc:
    return Doc(f"{HEAD}<body>{body}</body></html>")


def _registry(yes: int = 78) -> Registry:
    b = RegistryBuilder()
    b.proportion("table2.sentence_implemented", yes, 100, "Sentence implemented")
    return b.build()


FIGS = (Fig("figure2", '<svg xmlns="http://www.w3.org/2000/svg"/>'),)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pub") / "2018-19"
    publish(_doc(), _registry(), FIGS, out, ("pdf", "html", "csv", "numbers"),
            published="2020-02-01")
    return out


def test_writes_every_output(built: Path) -> None:
    names = set(_snapshot(built))
    assert names == {"bulletin.pdf", "bulletin.html", "numbers.csv", "numbers.json",
                     "tables/table1.csv", "figures/figure1.svg", "figures/figure2.svg",
                     "manifest.json"}
    assert (built / "numbers.csv").read_text() == _registry().to_csv()
    assert (built / "numbers.json").read_text() == _registry().to_json()
    assert (built / "tables/table1.csv").read_text() == "a,1\n"
    assert (built / "bulletin.html").read_text() == Doc("").html_web
    assert (built / "bulletin.pdf").read_bytes().startswith(b"%PDF")


def test_pdf_metadata_and_tags(built: Path) -> None:
    info = subprocess.run(["pdfinfo", str(built / "bulletin.pdf")], capture_output=True,
                          text=True, check=True).stdout
    assert "A test bulletin" in info and "A. Author" in info
    assert "Tagged:          yes" in info
    assert "Feb  1 00:00:00 2020" in info  # the edition's date, not the clock
    assert "Page size:       595.276 x 841.89 pts (A4)" in info
    text = subprocess.run(["pdftotext", "-layout", str(built / "bulletin.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert "Page 1 of 1" in text


def test_same_inputs_same_pdf_bytes(tmp_path: Path, built: Path) -> None:
    publish(_doc(), _registry(), FIGS, tmp_path / "again", ("pdf",), published="2020-02-01")
    assert (tmp_path / "again/bulletin.pdf").read_bytes() == \
        (built / "bulletin.pdf").read_bytes()


def _first_build(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "out"
    publish(_doc(), _registry(), FIGS, out, ("html", "csv", "numbers"))
    return out, _snapshot(out)


def test_refused_image_fails_and_keeps_previous_output(tmp_path: Path) -> None:
    out, before = _first_build(tmp_path)
    bad = _doc('<p>x</p><img src="file:///etc/passwd" alt="x">')
    with pytest.raises(BulletinError, match="/etc/passwd"):
        publish(bad, _registry(yes=12), FIGS, out, ("pdf", "html", "csv", "numbers"))
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]  # no stage


def test_failure_half_way_keeps_previous_output(tmp_path: Path) -> None:
    out, before = _first_build(tmp_path)

    class Broken(Table):
        def to_csv(self) -> str:
            raise RuntimeError("disk full")

    doc = Doc(_doc().html_print, "<p>new</p>", (Table("table1", (("b", "2"),)),
                                                Broken("table2", ())))
    with pytest.raises(RuntimeError, match="disk full"):
        publish(doc, _registry(yes=12), FIGS, out, ("html", "csv", "numbers"))
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]


def test_undefined_contents_target_fails_the_build(tmp_path: Path) -> None:
    body = '<p><a href="#nowhere" style="">x</a></p>'
    doc = Doc(f"{HEAD}<body><style>a::after {{ content: target-counter(attr(href), page) }}"
              f"</style>{body}</body></html>")
    with pytest.raises(BulletinError, match="nowhere"):
        publish(doc, _registry(), FIGS, tmp_path / "out", ("pdf",))
    assert not (tmp_path / "out").exists()


def test_a_run_replaces_only_what_it_makes(tmp_path: Path) -> None:
    out, before = _first_build(tmp_path)
    (out / "notes.txt").write_text("the analyst's own file", encoding="utf-8")
    write_numbers(_registry(yes=12), out)
    after = _snapshot(out)
    assert after["numbers.csv"].decode() == _registry(yes=12).to_csv()
    assert after["notes.txt"] == b"the analyst's own file"
    for name in ("bulletin.html", "tables/table1.csv", "figures/figure2.svg"):
        assert after[name] == before[name], name
    assert sorted(after) == sorted({*before, "notes.txt"})


def test_an_output_folder_that_cannot_be_made_is_a_plain_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(BulletinError, match="cannot create the output folder"):
        write_numbers(_registry(), blocker / "out")
    with pytest.raises(BulletinError, match="exists and is not a folder"):
        write_numbers(_registry(), blocker)


def test_rebuilt_tables_leave_no_stale_csv(tmp_path: Path) -> None:
    out = tmp_path / "out"
    two = Doc("", tables=(Table("table1", ()), Table("table2", ())))
    publish(two, _registry(), FIGS, out, ("csv",))
    publish(Doc("", tables=(Table("table1", ()),)), _registry(), FIGS, out, ("csv",))
    assert sorted(p.name for p in (out / "tables").iterdir()) == ["table1.csv"]


def test_only_requested_formats_are_written(tmp_path: Path) -> None:
    publish(Doc("unused"), _registry(), FIGS, tmp_path / "out", ("numbers",))
    assert sorted(_snapshot(tmp_path / "out")) == ["manifest.json", "numbers.csv",
                                                   "numbers.json"]


def test_output_path_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("not a folder")
    with pytest.raises(BulletinError, match="not a folder"):
        write_numbers(_registry(), tmp_path / "out")
    assert (tmp_path / "out").read_text() == "not a folder"


def test_weasyprint_warnings_are_shown_not_dropped(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    publish(_doc('<p style="colour: red">x</p>'), _registry(), FIGS, tmp_path / "out",
            ("pdf",))
    assert "weasyprint:" in capsys.readouterr().err


def test_source_date_is_pinned_to_publication_while_writing(monkeypatch) -> None:
    import os

    from bulletin.publish import _source_date

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    with _source_date("2020-02-01"):
        assert os.environ["SOURCE_DATE_EPOCH"] == "1580515200"  # 2020-02-01T00:00Z
    assert "SOURCE_DATE_EPOCH" not in os.environ
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "42")
    with _source_date("2020-02-01"):
        assert os.environ["SOURCE_DATE_EPOCH"] == "42"


def test_single_file_writes_are_whole_or_nothing(tmp_path, monkeypatch) -> None:
    import os

    from bulletin.atomic import write_text_atomic

    target = tmp_path / "numbers.csv"
    target.write_text("old\n", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_text_atomic(target, "new\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["numbers.csv"]  # no temp file left
    monkeypatch.undo()
    write_text_atomic(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert target.stat().st_mode & 0o777 == 0o644


def test_html_alone_still_writes_the_table_csvs_it_links_to(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(_doc(), _registry(), FIGS, out, ("html",))
    assert (out / "bulletin.html").exists()
    assert (out / "tables" / "table1.csv").read_text() == "a,1\n"
    assert not (out / "numbers.csv").exists()


# -- the swap, the lock, leftovers and the manifest --------------------------------------

INPUTS = {"program": "0.1.0", "code": "c1", "edition": "e1", "data": "d1", "previous": "",
          "templates": "t1"}


def _manifest(out: Path) -> dict:
    import json

    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]


def test_manifest_records_each_file_and_its_inputs(tmp_path: Path) -> None:
    import hashlib

    out = tmp_path / "out"
    publish(_doc(), _registry(), FIGS, out, ("html", "numbers"), inputs=INPUTS)
    files = _manifest(out)
    assert sorted(files) == sorted(n for n in _snapshot(out) if n != "manifest.json")
    for name, entry in files.items():
        assert entry["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert files["numbers.csv"]["inputs"] == {k: INPUTS[k] for k in
                                              ("program", "code", "edition", "data")}
    assert files["bulletin.html"]["inputs"] == INPUTS
    assert str(tmp_path) not in (out / "manifest.json").read_text(encoding="utf-8")


def test_a_kept_output_older_than_its_inputs_is_named(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    publish(_doc(), _registry(), FIGS, out, ("html", "numbers"), inputs=INPUTS)
    kept = _manifest(out)["bulletin.html"]
    capsys.readouterr()
    write_numbers(_registry(yes=12), out, {**INPUTS, "data": "d2"})
    err = capsys.readouterr().err
    assert "bulletin.html is older than its inputs (data file changed" in err
    assert "figures/ (2 files) is older than its inputs (data file changed" in err
    assert _manifest(out)["bulletin.html"] == kept  # its record is kept, not rewritten
    assert _manifest(out)["numbers.csv"]["inputs"]["data"] == "d2"
    write_numbers(_registry(yes=12), out, {**INPUTS, "data": "d2"})
    assert "numbers.csv" not in capsys.readouterr().err


def test_an_unreadable_manifest_is_rebuilt(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    publish(_doc(), _registry(), FIGS, out, ("html",), inputs=INPUTS)
    (out / "manifest.json").write_text("{not json", encoding="utf-8")
    write_numbers(_registry(), out, INPUTS)
    err = capsys.readouterr().err
    assert "bulletin.html is kept from an earlier run that recorded no inputs" in err
    assert "tables/ (1 file) is kept from an earlier run" in err
    assert sorted(_manifest(out)) == ["numbers.csv", "numbers.json"]


def test_exchange_swaps_two_folders(tmp_path: Path) -> None:
    from bulletin.atomic import exchange

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "from-a").touch()
    if not exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("this file system cannot exchange two names in one step")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["from-a"]
    assert not list((tmp_path / "a").iterdir())
    with pytest.raises(OSError):
        exchange(tmp_path / "a", tmp_path / "missing")


@pytest.mark.parametrize("fault", ["", "no-exchange"])
def test_the_swap_leaves_nothing_beside_the_output(tmp_path: Path, monkeypatch,
                                                   fault: str) -> None:
    monkeypatch.setenv("BULLETIN_FAULT", fault)
    out, _ = _first_build(tmp_path)
    write_numbers(_registry(yes=12), out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]
    assert (out / "numbers.csv").read_text() == _registry(yes=12).to_csv()


_HOLDER = ("import fcntl, os, sys\n"
           "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)\n"
           "fcntl.flock(fd, fcntl.LOCK_EX)\n"
           "os.pwrite(fd, f'{os.getpid()}\\n'.encode(), 0)\n"
           "print('held', flush=True)\n"
           "sys.stdin.read()\n")


@contextlib.contextmanager
def _held_elsewhere(lock: Path) -> Iterator[int]:
    """Another process holding the output's lock, as a second run would; yields its id."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(lock)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.communicate("")


def test_a_second_run_on_the_same_output_stops_with_a_message(tmp_path: Path) -> None:
    out, before = _first_build(tmp_path)
    with _held_elsewhere(tmp_path / ".out.lock") as pid, \
            pytest.raises(BulletinError) as err:
        write_numbers(_registry(yes=12), out)
    assert f"{out} is being written by another run (process {pid}" in str(err.value)
    assert _snapshot(out) == before
    write_numbers(_registry(yes=12), out)  # free again once the holder is done


def test_the_lock_taken_again_in_the_same_process_is_held_until_the_outer_block_ends(
        tmp_path: Path) -> None:
    """A build takes its output's lock before analysing and publishes inside it."""
    from bulletin.atomic import exclusive
    from bulletin.publish import output_lock

    out, _ = _first_build(tmp_path)
    with output_lock(out):
        write_numbers(_registry(yes=12), out)  # the same process: not refused
        probe = subprocess.run([sys.executable, "-c", "import fcntl, os, sys\n"
                                "fd = os.open(sys.argv[1], os.O_RDWR)\n"
                                "fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n",
                                str(tmp_path / ".out.lock")], capture_output=True)
        assert probe.returncode != 0, "the lock was let go by the inner block"
    with exclusive(tmp_path / ".out.lock", str(out)):  # free once the outer block ends
        pass


def test_a_build_on_a_locked_output_stops_before_analysing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with _held_elsewhere(tmp_path / ".out.lock") as pid:
        run = subprocess.run([sys.executable, "-m", "bulletin", "build", "--no-cache",
                              "--formats", "numbers", "--out", str(out)], cwd=PROJECT_DIR,
                             capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    assert f"is being written by another run (process {pid}" in run.stderr
    assert "analyse" not in run.stderr and "load " not in run.stderr, run.stderr
    assert not out.exists()


def test_leftovers_of_a_killed_run_are_removed(tmp_path: Path, capsys) -> None:
    out, before = _first_build(tmp_path)
    (tmp_path / ".out.new-abc").mkdir()
    (tmp_path / ".out.new-abc" / "bulletin.pdf").write_bytes(b"half")
    (tmp_path / ".out.old-def").mkdir()
    (tmp_path / ".other.new-xyz").mkdir()  # another output's: not ours to touch
    write_numbers(_registry(), out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.new-xyz", ".out.lock",
                                                          "out"]
    assert "removed 2 unfinished folder(s)" in capsys.readouterr().err


def test_a_missing_output_is_restored_from_the_set_aside_folder(tmp_path: Path,
                                                                capsys) -> None:
    out, before = _first_build(tmp_path)
    out.rename(tmp_path / ".out.old-abc")  # killed between the two renames
    (tmp_path / ".out.new-def").mkdir()
    write_numbers(_registry(yes=12), out)
    after = _snapshot(out)
    assert after["bulletin.html"] == before["bulletin.html"]
    assert after["numbers.csv"].decode() == _registry(yes=12).to_csv()
    assert "restored the previous output from .out.old-abc" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]
