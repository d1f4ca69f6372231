"""What the bootstrap stability check (Annex B) costs, and how it spreads over the cores.

Runs the check on the demonstration data for the three models with a given number of
resamples, once in this process (one worker) and once with a worker per core, and prints
processor and wall-clock time for each, the time per resample, and whether both gave the
same shares (they must: every resample has its own seeded stream).

    .venv/bin/python benchmarks/bench_stability.py [--resamples 40] [--repeat 3]

With --repeat, each run is repeated and the least processor time kept: on a machine
shared with other work that is the figure closest to the cost of the selections alone.
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bulletin.analysis import descriptive as d  # noqa: E402
from bulletin.analysis.derive import derive  # noqa: E402
from bulletin.analysis.models import fit_models  # noqa: E402
from bulletin.analysis.stability import cores, model_inputs, selection_stability  # noqa: E402
from bulletin.config import load_edition  # noqa: E402
from bulletin.schema import YES  # noqa: E402
from bulletin.validate import load_valid  # noqa: E402


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    edition = load_edition("2018-19")
    s = edition.analysis
    data = derive(load_valid(edition.data_file, s), s)
    iv = data[d.is_level(data["ro_interviewed"], YES)]
    published = {m.judgement: m.result.selected for m in fit_models(iv, s)}
    inputs = model_inputs(iv, s)
    total = args.resamples * len(inputs)
    results, spent = {}, []
    for workers in (1, cores()):
        best = (math.inf, math.inf)
        for _ in range(max(1, args.repeat)):
            cpu, wall = _cpu(), time.perf_counter()
            results[workers] = selection_stability(inputs, published, args.resamples,
                                                   s.stability_seed, workers=workers)
            best = min(best, (_cpu() - cpu, time.perf_counter() - wall))
        cpu, wall = best
        spent.append(cpu)
        print(f"{workers} worker(s): {total} selections, wall {wall:6.2f} s, processor "
              f"{cpu:6.2f} s ({1000 * cpu / total:.1f} ms per selection)")
    same = results[1] == results[cores()]
    per = sum(spent) / (len(spent) * total)
    print(f"same shares with 1 and {cores()} workers: {same}; at the default "
          f"{s.stability_resamples} resamples expect about "
          f"{per * s.stability_resamples * len(inputs):.0f} s of processor time per build")


if __name__ == "__main__":
    main()
