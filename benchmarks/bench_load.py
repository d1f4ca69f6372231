"""Time and peak memory of loading and validating data files of a few sizes.

Each size is written by `make_large.py` into a temporary folder and loaded in a fresh
Python process (`bulletin.validate.load_valid`, the same call a build makes), so that
the peak resident memory reported is that of loading alone, imports included.

    .venv/bin/python benchmarks/bench_load.py [--rows 10000 50000 200000] [--code DIR]

`--code DIR` loads with the `bulletin` package of another checkout (say, the commit
before a change), so two versions can be compared on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_large import make_large  # noqa: E402

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from bulletin.config import default_settings
from bulletin.validate import load_valid
settings = default_settings()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
frame = load_valid(Path(sys.argv[1]), settings)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": len(frame), "seconds": seconds, "peak_kib": peak,
                  "imports_kib": before,
                  "frame_bytes": int(frame.memory_usage(deep=True).sum())}))
"""


def measure(path: Path, code: Path = ROOT) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(code))
    run = subprocess.run([sys.executable, "-c", _CHILD, str(path)], cwd=code, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    p.add_argument("--code", type=Path, default=ROOT,
                   help="checkout whose bulletin package is measured (default: this one)")
    args = p.parse_args(argv)
    print(f"{'rows':>9} {'file MiB':>9} {'seconds':>8} {'peak MiB':>9} "
          f"{'imports MiB':>12} {'frame MiB':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for rows in args.rows:
            path = make_large(rows, Path(folder) / f"cases-{rows}.csv")
            m = measure(path, args.code)
            print(f"{m['rows']:>9,} {path.stat().st_size / 2**20:>9.1f} "
                  f"{m['seconds']:>8.2f} {m['peak_kib'] / 1024:>9.0f} "
                  f"{m['imports_kib'] / 1024:>12.0f} {m['frame_bytes'] / 2**20:>10.1f}",
                  flush=True)
            path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
