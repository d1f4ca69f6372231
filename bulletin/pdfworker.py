"""The PDF side of a build, in a second process that starts work before the HTML exists.

WeasyPrint is the slowest part of a build: importing it takes most of a second and laying
out the print HTML a second or two more. None of that needs the analysis, so on a machine
with two or more cores a worker process is started as the build begins: it imports
WeasyPrint (and the publish stage) while this process loads the data, analyses and
renders, then lays out the print HTML as soon as it is handed over, while this process
writes the numbers, tables and web edition. The bytes are those `publish.render_pdf`
gives in this process (the worker calls that very function); only the timing changes.
Once this process has handed the HTML over it mostly waits, so the worker lays out the
table chapters' first layouts two at a time (`side_by_side`), on that core.

On one core, or where processes cannot be started, the PDF is made in this process as
before. A fault in the worker reaches the user as the same plain `BulletinError`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bulletin.errors import BulletinError

WORKER_ENV = "BULLETIN_PDF_WORKER"  # "0" makes every PDF in this process (tests, debugging)


def wanted() -> bool:
    """A worker only pays where a second core can run it."""
    if os.environ.get(WORKER_ENV, "") == "0":
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return cores >= 2


def _serve(conn: Connection) -> None:
    """The worker: import the PDF side at once, then render each job sent."""
    started = time.perf_counter()
    import weasyprint  # noqa: F401  (the import is the point: it overlaps the analysis)

    from bulletin import pdfua, publish  # noqa: F401  (pdfua: pikepdf, used after layout)

    conn.send(("ready", time.perf_counter() - started))
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        html, base_url, published, layout_cache = job
        t = time.perf_counter()
        try:
            pdf = publish.render_pdf(html, Path(base_url), published,
                                     layout_cache=layout_cache and Path(layout_cache),
                                     side_by_side=True)
        except BulletinError as exc:
            conn.send(("error", exc.report()))
        except Exception as exc:  # noqa: BLE001  (reported in the parent, never lost)
            conn.send(("crash", f"{type(exc).__name__}: {exc}"))
        else:
            conn.send(("pdf", pdf, time.perf_counter() - t))


class PdfWorker:
    """One worker process for one build. Use as a context manager: the process is always
    stopped, whatever happens to the build."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process with BLAS threads
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True,
                                 name="bulletin-pdf")
        self._proc.start()
        child.close()
        self.import_seconds: float | None = None
        self.render_seconds: float | None = None
        self._submitted = False

    def __enter__(self) -> PdfWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, html: str, base_url: Path, published: str | None,
               layout_cache: Path | None = None) -> None:
        self._conn.send((html, str(base_url), published,
                         None if layout_cache is None else str(layout_cache)))
        self._submitted = True

    def result(self) -> bytes:
        """The PDF's bytes (waits for the worker); a fault becomes a `BulletinError`."""
        if not self._submitted:
            raise RuntimeError("result() before submit()")
        while True:
            try:
                msg: Any = self._conn.recv()
            except EOFError:
                raise BulletinError("PDF: the process making the PDF stopped unexpectedly "
                                    f"(exit code {self._proc.exitcode})") from None
            if msg[0] == "ready":
                self.import_seconds = msg[1]
                continue
            if msg[0] == "pdf":
                self.render_seconds = msg[2]
                return msg[1]
            if msg[0] == "error":
                raise BulletinError(msg[1])
            raise BulletinError(f"PDF: making the PDF failed: {msg[1]}")

    def close(self) -> None:
        """Stop the worker at once: its work is done or no longer wanted, and waiting for
        an interpreter with WeasyPrint loaded to tidy itself up costs most of a second."""
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(None)
        self._conn.close()
        self._proc.terminate()
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
