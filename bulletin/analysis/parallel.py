"""How many processes the analysis may spread its independent fits over.

The bootstrap's resamples and, on large samples, the three published selections are
independent of each other, so they run one process per core. Each process runs the
same code on the same numbers with one BLAS thread, so the results are the same to the
bit whatever the number of processes.
"""

from __future__ import annotations

import os


def cores() -> int:
    """Processors this process may run on (a container's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
