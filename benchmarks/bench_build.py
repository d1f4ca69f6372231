"""Where a build spends its time: each pipeline stage, and WeasyPrint on its own.

Runs the build of one edition in this process, stage by stage (imports included where
a stage first needs a library, as in a real cold build), then renders the same print
HTML with bare WeasyPrint (no sandboxed fetcher, no log checks), tagged and untagged,
so that the cost of the PDF itself can be told apart from the cost of our own stages.
Nothing is written outside a temporary folder.

    .venv/bin/python benchmarks/bench_build.py [--edition 2018-19] [--data FILE] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--edition", default="2018-19")
    p.add_argument("--data", type=Path, help="case-level data (default: the edition's)")
    p.add_argument("--repeat", type=int, default=3,
                   help="repeats of the bare WeasyPrint renders (median shown)")
    args = p.parse_args()

    from bulletin.build import FORMATS, previous_registry
    from bulletin.config import load_edition

    times: dict[str, float] = {}
    t, edition = _time(lambda: load_edition(args.edition))
    times["config"] = t

    from bulletin.validate import load_valid
    t, frame = _time(lambda: load_valid(args.data or edition.data_file, edition.analysis))
    times["load"] = t
    from bulletin.analysis.run import analyse
    t, results = _time(lambda: analyse(frame, edition))
    times["analyse"] = t
    from bulletin.collect import collect_facts
    t, registry = _time(lambda: collect_facts(results, edition))
    times["facts"] = t
    t, previous = _time(lambda: previous_registry(edition))
    times["previous"] = t
    from bulletin.figures import make_figures
    t, figures = _time(lambda: make_figures(registry, edition))
    times["figures"] = t
    from bulletin.render import render_bulletin
    t, document = _time(lambda: render_bulletin(registry, figures, edition, previous))
    times["render"] = t
    from bulletin.publish import TEMPLATES_DIR, publish
    t, _ = _time(lambda: __import__("weasyprint"))
    times["(import weasyprint)"] = t  # paid once, by the publish stage in a real build
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / edition.id
        t, _ = _time(lambda: publish(document, registry, figures, out, FORMATS))
        times["publish"] = t
        pdf = out / "bulletin.pdf"
        size = pdf.stat().st_size
        from pypdf import PdfReader
        pages = len(PdfReader(pdf).pages)

    import weasyprint

    base = str(TEMPLATES_DIR) + "/"

    def bare(tagged: bool) -> float:
        doc = weasyprint.HTML(string=document.html_print, base_url=base)
        options = {"pdf_variant": "pdf/ua-1"} if tagged else {}
        return _time(lambda: doc.write_pdf(presentational_hints=True, **options))[0]

    tagged = [bare(True) for _ in range(args.repeat)]
    untagged = [bare(False) for _ in range(args.repeat)]

    print(f"edition {edition.id}: {len(registry)} facts, {len(figures)} charts, "
          f"{pages} pages, PDF {size / 1024:.0f} KB")
    print(f"{'stage':<28}{'seconds':>8}")
    for name, secs in times.items():
        print(f"  {name:<26}{secs:8.2f}")
    print(f"  {'total':<26}{sum(times.values()):8.2f}")
    print(f"bare WeasyPrint, same print HTML (median of {args.repeat}):")
    print(f"  {'tagged (pdf/ua-1)':<26}{statistics.median(tagged):8.2f}")
    print(f"  {'untagged':<26}{statistics.median(untagged):8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
