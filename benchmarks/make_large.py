"""Write a large case-level file for load and validation benchmarks.

The shipped 2018/19 demonstration file is repeated until it has the rows asked for,
each copy with its own case ids and about 5% of its yes/no answers flipped, so that the
file is as varied as real data in the ways the loader cares about (many distinct ids,
a few codes repeated) without being a verbatim copy.

    .venv/bin/python benchmarks/make_large.py --rows 200000 --out /tmp/large.csv
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "bulletin" / "demo" / "data" / "demo-2018-19.csv"
FLIP = {"yes": "no", "no": "yes"}


def make_large(rows: int, out: Path, share: float = 0.05, seed: int = 1) -> Path:
    """Write `rows` cases to `out` (CSV) and return it."""
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    body = list(csv.reader(x for x in lines if x and not x.startswith("#")))
    header, records = body[0], body[1:]
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        fh.write(f"# benchmark data: the demonstration cases repeated, {share:.0%} of "
                 "yes/no answers flipped (not real data)\n")
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for i in range(rows):
            record = list(records[i % len(records)])
            record[0] = f"L{i + 1:07d}"
            for j, cell in enumerate(record):
                if cell in FLIP and j != header.index("ro_interviewed") \
                        and rng.random() < share:
                    record[j] = FLIP[cell]
            writer.writerow(record)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    make_large(args.rows, args.out, seed=args.seed)
    print(f"wrote {args.rows:,} cases to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
