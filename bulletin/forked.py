"""Independent jobs side by side: the first here, each other one in a forked process.

The PDF worker lays out the table chapters of the bulletin before the whole document,
and those layouts are independent of each other; on a second core they take the time of
the longest instead of their sum. A forked process starts with everything this one has
loaded (WeasyPrint, fonts, the document's HTML), so a job needs no set-up and sends
back only its result. Forking is safe only where no other thread runs (one could hold a
lock the child would wait on for ever), so with threads, or where processes cannot be
forked, the jobs run here, one after another. A job that fails in its process, or whose
result does not come back, is run again here: its error, if any, is raised from here,
exactly as without this module.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def possible() -> bool:
    """Whether jobs can run in forked processes here."""
    return hasattr(os, "fork") and threading.active_count() == 1


def run(jobs: Sequence[Callable[[], T]]) -> list[T]:
    """[job() for job in jobs], the first here and each other one in a forked process
    at the same time; results in the order of `jobs`."""
    if len(jobs) < 2 or not possible():
        return [job() for job in jobs]
    children: list[tuple[int, int]] = []
    try:
        for job in jobs[1:]:
            children.append(_start(job))
        out = [jobs[0]()]
        while children:
            pid, fd = children.pop(0)
            out.append(_result(pid, fd, jobs[len(out)]))
        return out
    finally:
        for pid, fd in children:  # only after a failure here: stop the rest
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.close(fd)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


def _start(job: Callable[[], T]) -> tuple[int, int]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run the job, send back (done, result), leave at once
        try:
            os.close(read)
            try:
                payload = pickle.dumps((True, job()))
            except BaseException:  # noqa: BLE001  (run again in the parent, raised there)
                payload = pickle.dumps((False, None))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(payload)
        finally:
            os._exit(0)  # no clean-up of the parent's state: it is the parent's
    os.close(write)
    return pid, read


def _result(pid: int, fd: int, job: Callable[[], T]) -> T:
    with os.fdopen(fd, "rb") as pipe:
        payload = pipe.read()
    os.waitpid(pid, 0)
    try:
        done, value = pickle.loads(payload)
    except Exception:  # noqa: BLE001  (nothing, or not all, came back)
        done = False
    return value if done else job()
