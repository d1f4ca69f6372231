"""A cold build beside the WeasyPrint floor, its stage split, and builds at scale.

Prints, in one run:
- the cold build: `bulletin build --no-cache` in a fresh process, wall time (median of
  --repeat runs, all outputs, to a temporary folder);
- the floor: a fresh process that imports WeasyPrint and renders the same print HTML
  with the same options (presentational hints, pdf/ua-1), nothing else; and the ratio;
- the CPU time of the cold build in all its processes (the PDF worker, the forked
  analysis) divided by the cores: the least wall time that any overlap of its work could
  reach; and the same for a cold build with the bootstrap stability check left out
  (resamples 0), the largest single piece of work that the floor does not do;
- rebuilds from the cache a first build filled (analysis, figures, and the layouts of the
  table chapters): one with nothing changed, and one after a sentence is added to the
  conclusion (a chapter without tables), each against the floor;
- the stage split of the last cold build (its own report, which adds up to its wall time);
- with --rows N[,N...]: a build of N cases of replicated demonstration data
  (benchmarks/make_large.py: the shipped cases repeated with new ids and 5 per cent of
  yes/no answers flipped), printing rows, seconds and the peak memory of the build's
  largest process; with --analyse-rows N[,N...] the same for `bulletin analyse` (the
  numbers only: load, validate, analyse, facts).

The bootstrap stability check (Annex B) reruns each model's selection on
`stability_resamples` resamples, so its cost grows with cases x resamples: at scale it
is minutes, not seconds. --resamples R sets BULLETIN_STABILITY_RESAMPLES for the
--rows and --analyse-rows runs (default: the edition's own setting); the scale lines
say which was used.

    .venv/bin/python benchmarks/bench_build.py [--edition 2018-19] [--repeat 3]
        [--rows 20000,200000] [--analyse-rows 1000000] [--resamples 0]

Run it on a quiet machine: other jobs on the same cores inflate every figure.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

_STAGE = re.compile(r"^  (\S.*?)\s+(\d+\.\d\d) s$")
# A fresh process: its own peak resident memory (the largest child it waited for).
# Its CPU time too: user and system time of every process it waited for, which for a
# build includes the PDF worker and the forked processes of the analysis.
_PEAK = ("import resource, subprocess, sys, time\n"
         "t = time.perf_counter()\n"
         "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
         "wall = time.perf_counter() - t\n"
         "sys.stderr.write(r.stderr)\n"
         "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
         "print(f'{r.returncode} {wall:.3f} {u.ru_maxrss / 1024:.1f} "
         "{u.ru_utime + u.ru_stime:.3f}')\n")
_FLOOR = ("import sys, weasyprint\n"
          "html = open(sys.argv[1], encoding='utf-8').read()\n"
          "doc = weasyprint.HTML(string=html, base_url=sys.argv[2])\n"
          "doc.render(presentational_hints=True).write_pdf(pdf_variant='pdf/ua-1')\n")


@dataclass(frozen=True)
class Run:
    """One command run in a fresh process."""

    wall: float  # seconds
    peak: float  # MiB, of its largest process
    cpu: float  # seconds of CPU, all its processes together
    report: str  # what it printed on stderr


def _measured(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    run = subprocess.run([sys.executable, "-c", _PEAK, *cmd], cwd=ROOT,
                         capture_output=True, text=True, env=env)
    code, wall, peak, cpu = run.stdout.split()
    if code != "0":
        sys.exit(f"failed: {' '.join(cmd)}\n{run.stderr}")
    return Run(float(wall), float(peak), float(cpu), run.stderr)


def _build(out: Path, edition: str, data: Path | None = None, command: str = "build",
           resamples: int | None = None, cache: Path | None = None,
           templates: Path | None = None) -> Run:
    """A build (or analyse) in a fresh process: with no cache, or with the one in `cache`."""
    cmd = [sys.executable, "-m", "bulletin", command, "--edition", edition, "--out", str(out)]
    cmd += ["--no-cache"] if cache is None else []
    if data is not None:
        cmd += ["--data", str(data)]
    if templates is not None:
        cmd += ["--templates", str(templates)]
    env = dict(os.environ)
    if resamples is not None:
        env["BULLETIN_STABILITY_RESAMPLES"] = str(resamples)
    if cache is not None:
        env["BULLETIN_CACHE_DIR"] = str(cache)
    return _measured(cmd, env)


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _warm(folder: Path, edition: str, repeat: int) -> tuple[float, float]:
    """Median seconds of a rebuild with nothing changed, and of one after a change of
    wording in a chapter without tables (the editor's loop): both from a cache that a
    first build filled (analysis, figures and the table chapters' layouts)."""
    from bulletin.render import TEMPLATES_DIR

    cache, templates = folder / "cache", folder / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    _build(folder / "fill", edition, cache=cache, templates=templates)
    same = [_build(folder / f"same{i}", edition, cache=cache, templates=templates).wall
            for i in range(repeat)]
    edited = []
    conclusion = next((templates / "sections").glob("*conclusion*"))
    for i in range(repeat):
        with conclusion.open("a", encoding="utf-8") as fh:  # no digits: the check refuses them
            fh.write("\n\nAnother sentence added to the wording of the conclusion.\n")
        edited.append(_build(folder / f"edited{i}", edition, cache=cache,
                             templates=templates).wall)
    return statistics.median(same), statistics.median(edited)


def _print_html(edition_id: str) -> str:
    """The build's print HTML, made the way the build makes it."""
    from bulletin.build import figures_of, gather, previous_registry
    from bulletin.config import load_edition
    from bulletin.render import render_bulletin

    edition = load_edition(edition_id)
    registry = gather(edition, quiet=True)
    document = render_bulletin(registry, figures_of(registry, edition), edition,
                               previous_registry(edition))
    return document.html_print


def _cold(folder: Path, edition: str, repeat: int) -> None:
    """The cold build against the floor, and the build's own stage split."""
    from bulletin.render import TEMPLATES_DIR

    builds = [_build(folder / f"cold{i}", edition) for i in range(repeat)]
    html_file = folder / "print.html"
    html_file.write_text(_print_html(edition), encoding="utf-8")
    floors = [_measured([sys.executable, "-c", _FLOOR, str(html_file),
                         str(TEMPLATES_DIR) + "/"]) for _ in range(repeat)]
    plain = [_build(folder / f"plain{i}", edition, resamples=0) for i in range(repeat)]
    cold = statistics.median(b.wall for b in builds)
    floor = statistics.median(f.wall for f in floors)
    print(f"edition {edition}, median of {repeat}")
    print(f"  {'cold build (bulletin build --no-cache)':<44}{cold:7.2f} s  "
          f"peak {max(b.peak for b in builds):6.0f} MiB")
    print(f"  {'floor (WeasyPrint alone, same HTML+options)':<44}{floor:7.2f} s  "
          f"peak {max(f.peak for f in floors):6.0f} MiB")
    print(f"  {'ratio':<44}{cold / floor:7.2f} x   (target at most 1.5, aim 1.3)")
    # What no scheduling can beat: the build's CPU time spread evenly over every core.
    n = cores()
    print(f"  CPU in all processes, over {n} cores: the least wall time any overlap "
          "could reach")
    for name, runs in (("cold build", builds), ("cold build, stability check off", plain)):
        cpu = statistics.median(r.cpu for r in runs)
        wall = statistics.median(r.wall for r in runs)
        print(f"    {name:<42}{cpu:7.2f} s CPU / {n} = {cpu / n:5.2f} s, "
              f"{cpu / n / floor:4.2f} x the floor (its wall time {wall:.2f} s, "
              f"{wall / floor:4.2f} x)")
    same, edited = _warm(folder, edition, repeat)
    print(f"  {'rebuild, nothing changed (from the cache)':<44}{same:7.2f} s  "
          f"{same / floor:5.2f} x the floor")
    print(f"  {'rebuild after a wording change (conclusion)':<44}{edited:7.2f} s  "
          f"{edited / floor:5.2f} x the floor")
    print("stage split of the last cold build (its own report):")
    for line in builds[-1].report.splitlines():
        m = _STAGE.match(line)
        if m or line.startswith("  (in parallel"):
            print("  " + line.strip())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--edition", default="2018-19")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of each timing (median); 0 skips the cold build")
    p.add_argument("--rows", default="", help="comma-separated case counts to build at scale")
    p.add_argument("--analyse-rows", default="",
                   help="comma-separated case counts to analyse (numbers only) at scale")
    p.add_argument("--resamples", type=int, default=None,
                   help="bootstrap resamples for the scale runs (default: the edition's)")
    args = p.parse_args()


    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.repeat > 0:
            _cold(folder, args.edition, args.repeat)
        scale = [("build", x) for x in args.rows.split(",") if x.strip()]
        scale += [("analyse", x) for x in args.analyse_rows.split(",") if x.strip()]
        if scale:
            from make_large import make_large

            used = ("the edition's setting" if args.resamples is None
                    else f"BULLETIN_STABILITY_RESAMPLES={args.resamples}")
            print(f"at scale (bootstrap resamples: {used}):")
            print(f"  {'command':<10}{'rows':>10}{'seconds':>10}{'peak MiB':>10}")
            for command, text in scale:
                n = int(text)
                data = make_large(n, folder / f"large-{n}.csv")
                run = _build(folder / f"large{n}", args.edition, data, command,
                             args.resamples)
                print(f"  {command:<10}{n:>10,}{run.wall:>10.2f}{run.peak:>10.0f}")
                for line in run.report.splitlines():
                    m = _STAGE.match(line)
                    if m and m.group(1) in ("load", "analyse", "publish"):
                        print(f"  {'':<10}{m.group(1):>10}{float(m.group(2)):>10.2f}")
                data.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
