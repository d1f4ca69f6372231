"""Jobs side by side in forked processes: the same results as one after another, in
order; a job that fails there is run again here; nothing is left running."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from bulletin import forked

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")


def test_the_first_job_runs_here_and_each_other_in_a_process_of_its_own() -> None:
    here = os.getpid()
    pids = forked.run([os.getpid] * 3)
    assert pids[0] == here
    assert len({here, *pids[1:]}) == 3
    assert forked.run([lambda n=n: n * n for n in range(5)]) == [0, 1, 4, 9, 16]


def test_a_job_that_fails_in_its_process_is_run_again_here() -> None:
    here = os.getpid()

    def only_here() -> str:
        if os.getpid() != here:
            raise RuntimeError("not in a child")
        return "here"

    assert forked.run([lambda: "first", only_here]) == ["first", "here"]

    def always() -> str:
        raise ValueError("the job's own error")

    with pytest.raises(ValueError, match="the job's own error"):
        forked.run([lambda: "first", always])


def test_when_the_first_job_fails_the_others_are_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    def slow() -> None:
        pid_file.write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(60)

    def fails() -> None:
        while not pid_file.exists():
            time.sleep(0.01)
        raise KeyError("first")

    start = time.perf_counter()
    with pytest.raises(KeyError):
        forked.run([fails, slow])
    assert time.perf_counter() - start < 30
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text(encoding="utf-8")), 0)


def test_with_another_thread_running_every_job_runs_here() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not forked.possible()
        assert forked.run([os.getpid] * 3) == [os.getpid()] * 3
    finally:
        stop.set()
        thread.join()


# -- the PDF --------------------------------------------------------------------------------

def test_a_pdf_laid_out_side_by_side_is_the_same_pdf(capsys: pytest.CaptureFixture[str]) -> None:
    """Three chapters with tables, shared between two stretch documents, one of them
    laid out in another process; a warning WeasyPrint gives there is shown here."""
    pytest.importorskip("weasyprint")
    from bulletin import paginate
    from bulletin.publish import render_pdf
    from tests.test_paginate import _chapter, _doc, _para, _table

    html = _doc(_chapter("one", _para(6), _table("1", 70)),
                _chapter("two", '<p style="colr: red">An odd style.</p>', _table("2", 40)),
                _chapter("three", _para(2), _table("3", 90)))
    starts = paginate._table_stretches(html)
    assert len(paginate._groups(html, starts, 2)) == 2
    one = render_pdf(html, published="2020-01-15")
    told_one = capsys.readouterr().err.count("colr")
    apart = render_pdf(html, published="2020-01-15", side_by_side=True)
    told_apart = capsys.readouterr().err.count("colr")
    assert apart == one
    assert told_apart == told_one >= 2  # the stretch's layout, then the whole document's
