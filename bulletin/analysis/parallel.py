"""Independent fits spread over processes, one per core.

The bootstrap's resamples and, on large samples, the three published selections are
independent of each other, so they run one process per core. Each process runs the
same code on the same numbers with one BLAS thread, so the results are the same to the
bit whatever the number of processes. The published selections run `beside` the rest
of the analysis, which this process does meanwhile.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from bulletin import forked

S = TypeVar("S")
T = TypeVar("T")
R = TypeVar("R")
H = TypeVar("H")


def cores() -> int:
    """Processors this process may run on (a container's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_SHARED: Any = None


def _share(shared: Any) -> None:
    """Process initialiser: what every task reads, inherited by the forked process."""
    global _SHARED
    _SHARED = shared


def _call(job: tuple[Callable[[Any, Any], Any], Any]) -> Any:
    fn, task = job
    return fn(_SHARED, task)


def process_map(fn: Callable[[S, T], R], shared: S, tasks: Sequence[T], workers: int,
                chunksize: int = 1) -> list[R]:
    """[fn(shared, task) for task in tasks], over `workers` forked processes (here, in
    this process, for one). `shared` (the samples, say) is inherited by each process
    rather than sent with every task; `fn` must be a module-level function. Tasks go
    out `chunksize` at a time, and the results come back in the order of `tasks`."""
    if workers <= 1:
        return [fn(shared, task) for task in tasks]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=_share, initargs=(shared,)) as pool:
        return list(pool.map(_call, [(fn, task) for task in tasks], chunksize=chunksize))


def beside(here: Callable[[], H], fn: Callable[[S, T], R], shared: S, tasks: Sequence[T],
           workers: int) -> tuple[H, list[R]]:
    """(here(), [fn(shared, task) for task in tasks]), with each task in a forked process
    of its own while `here` runs in this process: on two cores the few long tasks and
    this process's own work share both, instead of this process waiting for the tasks
    and then working alone. With one worker, or where this process cannot fork
    (`forked.possible`: another thread runs), `here` runs first and then the tasks as
    `process_map` runs them. A task that fails in its process is run again here, so
    its error, if any, is raised from here (`forked.run`)."""
    if workers > 1 and tasks and forked.possible():
        out = forked.run([here, *(functools.partial(fn, shared, task) for task in tasks)])
        return out[0], out[1:]
    return here(), process_map(fn, shared, tasks, workers)
