"""What an editor waits for: a cold build, a cached build after a wording change, the
preview's HTML and PDF updates, and bare WeasyPrint on the same HTML for comparison.

Prints, in one run:

- check: `bulletin check` as a command (interpreter start included) and in-process;
- cold build: `bulletin build` with an empty analysis cache (a fresh interpreter);
- cached build after a wording change: the same with one sentence of a copied
  templates folder changed, the analysis cache warm (a fresh interpreter);
- HTML re-render: what the preview does after a save (check and render, in-process,
  compiled templates kept), median of several saves;
- HTML update in preview: from saving a template to the new text being served by a
  running `bulletin preview`, median of several saves;
- PDF re-render: the preview's PDF of the changed bulletin (`render_pdf`, in-process);
- bare WeasyPrint: the same print HTML through WeasyPrint alone, tagged, median.

Targets: a cached build after a wording change at most 1.3 times bare WeasyPrint; the
preview's HTML update under 0.3 s. Nothing is written outside a temporary folder.

    .venv/bin/python benchmarks/bench_preview.py [--edition 2018-19] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECTION = "sections/07-skills.md.j2"
SENTENCE = "told us they had the skills"


def _time(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ, BULLETIN_CACHE_DIR=str(cache))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _run(args: list[str], cache: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bulletin", *args], cwd=ROOT,
                          env=_env(cache), capture_output=True, text=True, timeout=900)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bulletin {' '.join(args)} failed:\n{proc.stderr}")
    return took


def _served_latency(templates: Path, cache: Path, edition: str, saves: int) -> list[float]:
    """Save -> new text served, by a running preview."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "bulletin", "preview", "--no-open",
                             "--port", str(port), "--edition", edition,
                             "--templates", str(templates)], cwd=ROOT, env=_env(cache),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"

    def page() -> str:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.read().decode("utf-8")

    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                page()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0)  # let the watcher settle
        out = []
        path = templates / SECTION
        for n in range(saves):
            text = path.read_text(encoding="utf-8")
            marker = f"plainly{chr(65 + n)}"
            new = text.replace("told us", f"told us {marker}", 1)
            start = time.perf_counter()
            path.write_text(new, encoding="utf-8")
            while time.perf_counter() - start < 10:
                if marker in page():
                    break
                time.sleep(0.01)
            out.append(time.perf_counter() - start)
            path.write_text(text, encoding="utf-8")
            time.sleep(1.0)
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--edition", default="2018-19")
    p.add_argument("--repeat", type=int, default=3, help="repeats of the quick steps")
    args = p.parse_args()

    from bulletin.render import TEMPLATES_DIR

    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        cache = tmp / "cache"
        templates = tmp / "templates"
        shutil.copytree(TEMPLATES_DIR, templates)

        rows.append(("check (command)", _run(["check", "--edition", args.edition], cache)))
        rows.append(("cold build (empty cache)",
                     _run(["build", "--edition", args.edition, "--out", str(tmp / "a")], cache)))
        path = templates / SECTION
        path.write_text(path.read_text(encoding="utf-8").replace(
            SENTENCE, SENTENCE.replace("they", "that they"), 1), encoding="utf-8")
        rows.append(("cached build, wording changed",
                     _run(["build", "--edition", args.edition, "--templates", str(templates),
                           "--out", str(tmp / "b")], cache)))

        # in-process: what the preview does after a save
        os.environ["BULLETIN_CACHE_DIR"] = str(cache)
        from bulletin.check import check_templates
        from bulletin.preview import Preview
        from bulletin.publish import render_pdf

        preview = Preview(args.edition, None, templates, log=lambda text: None)
        preview.analyse()  # from the warm cache; compiles every template once
        assert preview.analysis is not None
        edition = preview.analysis.edition
        rows.append(("check (in-process)", _time(
            lambda: check_templates(templates, edition, preview.analysis.registry))[0]))
        renders = []
        for n in range(args.repeat):
            text = path.read_text(encoding="utf-8")
            marker = f"told us plainly{chr(65 + n)}"
            path.write_text(text.replace("told us", marker, 1), encoding="utf-8")
            renders.append(_time(preview.render)[0])
            path.write_text(text, encoding="utf-8")
        assert preview.problem is None, preview.problem
        rows.append((f"HTML re-render (median of {args.repeat})", statistics.median(renders)))
        served = _served_latency(templates, cache, args.edition, args.repeat)
        rows.append((f"HTML update in preview (median of {args.repeat})",
                     statistics.median(served)))

        document = preview.document
        import weasyprint  # imported before timing, as in a running preview

        rows.append(("PDF re-render (render_pdf)", _time(
            lambda: render_pdf(document.html_print, templates, document.published,
                               roots=(templates, ROOT / "figures", ROOT / "build")))[0]))
        base = str(templates) + "/"

        def bare() -> float:
            doc = weasyprint.HTML(string=document.html_print, base_url=base)
            return _time(lambda: doc.write_pdf(presentational_hints=True,
                                               pdf_variant="pdf/ua-1"))[0]

        bare_times = [bare() for _ in range(args.repeat)]
        rows.append((f"bare WeasyPrint, tagged (median of {args.repeat})",
                     statistics.median(bare_times)))

    print(f"edition {args.edition}")
    print(f"{'step':<44}{'seconds':>8}")
    for name, secs in rows:
        print(f"  {name:<42}{secs:8.2f}")
    values = dict(rows)
    cached = values["cached build, wording changed"]
    bare_median = values[f"bare WeasyPrint, tagged (median of {args.repeat})"]
    update = values[f"HTML update in preview (median of {args.repeat})"]
    print(f"cached build / bare WeasyPrint: {cached / bare_median:.2f} (target at most 1.3)")
    print(f"HTML update in preview: {update:.2f} s (target under 0.3 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
