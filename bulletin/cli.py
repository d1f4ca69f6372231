"""Command-line arguments, and nothing else: each command hands over to its stage.

Heavy libraries (WeasyPrint, matplotlib, statsmodels) are imported by the stages that
need them, so `validate` and `--help` start quickly. Every command's help has a
description and an example, because an analyst meets most commands once a year.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bulletin.errors import BulletinError

PROG = "bulletin"
DEPENDENCIES = ("jinja2", "markdown", "numpy", "pandas", "scipy", "statsmodels",
                "matplotlib", "weasyprint", "openpyxl", "pyreadstat", "pyarrow")


class _Help(argparse.HelpFormatter):
    """Descriptions wrapped to the terminal, examples kept line by line, and each
    option's default shown where it has one worth showing."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "\n".join(indent + line for line in text.splitlines())
        return "\n\n".join(super(_Help, self)._fill_text(part, width, indent)
                            for part in text.split("\n\n"))

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, "", argparse.SUPPRESS)
        if shown and "%(default)" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def _command(sub: argparse._SubParsersAction, name: str, summary: str, description: str,
             examples: Sequence[str]) -> argparse.ArgumentParser:
    epilog = "examples:\n" + "\n".join(f"  {PROG} {e}" for e in examples)
    return sub.add_parser(name, help=summary, description=description, epilog=epilog,
                          formatter_class=_Help)


def _edition_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--edition", default=None, metavar="ID",
                   help=f"edition id (editions/ID.toml) or path to an edition file, {what}; "
                   "default: the 2018-19 demonstration edition")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, formatter_class=_Help,
        description="Build HM Inspectorate of Probation's research bulletin on "
        "organisational inputs and the quality of probation work: a tagged PDF, an "
        "accessible HTML edition, table CSVs and a numbers file of every statistic.",
        epilog="Run `bulletin COMMAND --help` for a command's options and examples.\n\n"
        "The yearly routine is described in docs/editions.md.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = _command(sub, "build", "build the bulletin (PDF, HTML, tables, numbers)",
                 "Run the whole pipeline for one edition: validate the data, compute every "
                 "statistic, draw the figures, fill the templates and write the outputs "
                 "into one folder. Each stage's time is shown. A failed build leaves the "
                 "previous output as it was.",
                 ["build", "build --edition 2019-20",
                  "build --edition 2020-21 --data /secure/cases-2020-21.sav --out /tmp/draft",
                  "build --formats html"])
    _edition_option(b, "to build")
    b.add_argument("--data", type=Path, metavar="FILE",
                   help="case-level data file (.csv, .xlsx, .sav, .parquet) to use instead "
                   "of the one the edition file names")
    b.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder; default: build/ID")
    b.add_argument("--formats", default="pdf,html,csv,numbers", metavar="LIST",
                   help="comma-separated outputs to make, from pdf, html, csv, numbers")
    b.add_argument("--no-cache", action="store_true",
                   help="load, analyse and lay out afresh instead of reusing the stored "
                   "results (build/.cache) of unchanged data, settings and code, and the "
                   "stored layouts of unchanged table chapters")
    b.add_argument("--profile", type=Path, metavar="FILE",
                   help="also write a cProfile of the build to FILE (read it with "
                   "`python -m pstats FILE`); the PDF worker process is not in it")
    b.add_argument("--templates", type=Path, default=None, help=argparse.SUPPRESS)

    a = _command(sub, "analyse", "compute every statistic and write the numbers files",
                 "Compute every statistic the bulletin quotes and write numbers.csv and "
                 "numbers.json (key, value, unit, label, count, base) without "
                 "drawing figures or making the PDF: the quick way to look up a fact key "
                 "or check a figure.",
                 ["analyse", "analyse --edition 2019-20",
                  "analyse --data /secure/cases.sav --out /tmp/numbers"])
    _edition_option(a, "whose settings apply")
    a.add_argument("--data", type=Path, metavar="FILE",
                   help="case-level data file to use instead of the edition's")
    a.add_argument("--out", type=Path, metavar="DIR",
                   help="folder for numbers.csv and numbers.json; default: build/ID")
    a.add_argument("--no-cache", action="store_true",
                   help="analyse afresh instead of reusing stored results (build/.cache)")

    v = _command(sub, "validate", "check a case-level data file and report every problem",
                 "Check a data file against the schema and the edition's question list, "
                 "and list every problem at once with its file, row, column, the value "
                 "found and what was expected. With --edition and no FILE, check that "
                 "edition's own data file, and with --edition also its previous edition's "
                 "file and data, which a build reads too. Exit code 0 when all is clean, 2 "
                 "otherwise. docs/data.md describes the columns.",
                 ["validate cases.csv", "validate cases.sav --edition 2019-20",
                  "validate --edition 2019-20", "validate big.csv --max-mib 4096"])
    v.add_argument("file", type=Path, metavar="FILE", nargs="?",
                   help="the data file to check (.csv, .xlsx, .sav or .parquet); "
                   "default with --edition: that edition's data file")
    _edition_option(v, "whose question list and codings apply; its data file and "
                    "its previous edition are checked too")
    v.add_argument("--max-mib", type=int, default=None, metavar="MIB",
                   help="refuse a data file larger than this many MiB; default: the "
                   "max_data_mib setting (1024)")

    d = _command(sub, "demo-data", "write the synthetic demonstration data set",
                 "Write the synthetic case-level data that reproduces the published "
                 "2018/19 tables (or the 2019-20 demonstration year). It is made up: "
                 "never publish figures from it. docs/demo-data.md explains how it is made.",
                 ["demo-data --out /tmp/demo.csv",
                  "demo-data --out /tmp/demo-2019-20.csv --edition 2019-20 --regenerate"])
    d.add_argument("--out", type=Path, required=True, metavar="FILE", help="CSV file to write")
    d.add_argument("--edition", default="2018-19", metavar="ID",
                   help="which demonstration year: 2018-19 or 2019-20")
    d.add_argument("--regenerate", action="store_true",
                   help="run the generator afresh instead of copying the shipped file")

    f = _command(sub, "diff", "what changed in the numbers between two editions",
                 "Compare every statistic of two editions, with a significance test for "
                 "each proportion (a two-proportion z-test, or Fisher's exact test for "
                 "small counts). Each side is an edition id (its build is used when up to "
                 "date, else its facts are computed from its data), a build folder, or "
                 "a numbers.csv file. Percentages come first, largest change first.",
                 ["diff 2018-19 2019-20",
                  "diff 2018-19 2019-20 --only-significant --prefix table1.",
                  "diff build/2018-19 /tmp/draft/numbers.csv --html /tmp/changes.html"])
    f.add_argument("old", metavar="OLD", help="earlier side: edition id, build folder or "
                   "numbers.csv file")
    f.add_argument("new", metavar="NEW", help="later side: edition id, build folder or "
                   "numbers.csv file")
    f.add_argument("--only-significant", action="store_true",
                   help="list only changes significant at the 5 per cent level")
    f.add_argument("--prefix", default="", metavar="TEXT",
                   help="only keys starting with TEXT, e.g. table1. or model.")
    f.add_argument("--csv", type=Path, metavar="FILE", help="also write the comparison as CSV")
    f.add_argument("--html", type=Path, metavar="FILE",
                   help="also write the comparison as an HTML report")

    c = _command(sub, "check", "check the templates in a second, before any analysis",
                 "Read every template without running the analysis and report each fault "
                 "at its file and line: a section missing from or not listed in "
                 "templates/outline.toml, Jinja that does not read (an unclosed {{ or "
                 "{% if %}), an unknown filter or name, a misspelt question or judgement "
                 "passed to in_model, b1 or fact, and numbers typed into the text. "
                 "build and preview run it first. Exit code 0 when all is well, 2 otherwise.",
                 ["check", "check --edition 2019-20"])
    _edition_option(c, "whose questions and judgements names are checked against")
    c.add_argument("--templates", type=Path, default=None, metavar="DIR",
                   help="another templates folder (testing); default: templates/")

    h = _command(sub, "history", "every edition's value of each figure, side by side",
                 "Show each statistic in every edition side by side, oldest first, with "
                 "the same significance test as diff for each step from one edition to the "
                 "next. Each edition's build is used when up to date, else its facts are "
                 "computed from its data. The HTML report adds a small chart per figure.",
                 ["history --prefix table1.",
                  "history --editions 2018-19,2019-20 --html /tmp/history.html",
                  "history --csv /tmp/history.csv"])
    h.add_argument("--editions", default="", metavar="LIST",
                   help="comma-separated edition ids; default: every file in editions/")
    h.add_argument("--prefix", default="", metavar="TEXT",
                   help="only keys starting with TEXT, e.g. table1. or model.")
    h.add_argument("--csv", type=Path, metavar="FILE",
                   help="also write the history as CSV (values, changes, p-values)")
    h.add_argument("--html", type=Path, metavar="FILE",
                   help="also write the history as an HTML report with a chart per figure")

    w = _command(sub, "preview", "see the bulletin in a browser, updated on every save",
                 "Serve the HTML edition at http://127.0.0.1:PORT/ (the PDF at "
                 "/bulletin.pdf) and rebuild on every save: a template change re-renders "
                 "in a fraction of a second, a data or settings change re-runs the "
                 "analysis. The open page reloads itself; a broken template shows what is "
                 "wrong and where until it is fixed. Nothing is written into build/ID. "
                 "Stop it with Ctrl-C.",
                 ["preview", "preview --edition 2019-20 --port 8001",
                  "preview --data /secure/cases.sav --no-open"])
    _edition_option(w, "to preview")
    w.add_argument("--data", type=Path, metavar="FILE",
                   help="case-level data file to use instead of the edition's")
    w.add_argument("--port", type=int, default=8000, metavar="N",
                   help="port on 127.0.0.1 to serve on")
    w.add_argument("--no-open", action="store_true",
                   help="do not open the preview in a web browser")
    w.add_argument("--no-cache", action="store_true",
                   help="analyse afresh at start, and lay out the PDF afresh, instead of "
                   "reusing stored results")
    w.add_argument("--templates", type=Path, default=None, metavar="DIR",
                   help="another templates folder to watch and render (testing); "
                   "default: templates/")

    n = _command(sub, "new-edition", "start a new edition file from the latest one",
                 "Copy the latest edition file to editions/ID.toml, point it at its "
                 "previous edition, and blank the yearly details with TODO marks. "
                 "An existing file is never overwritten.",
                 ["new-edition 2020-21"])
    n.add_argument("id", metavar="ID", help="new edition id, YYYY-YY, e.g. 2020-21")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except BulletinError as exc:
        print(exc.report(), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in DEPENDENCIES:
            print(f"{PROG}: the library '{exc.name}' is not installed for {sys.executable}; "
                  "run `bash scripts/setup`, then use .venv/bin/bulletin (or activate .venv)",
                  file=sys.stderr)
            return 2
        raise


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "validate":
        from bulletin.validate import validate_command
        if args.max_mib is not None and args.max_mib < 1:
            raise BulletinError(f"--max-mib: found {args.max_mib}; expected a whole number "
                                "of MiB, at least 1")
        return validate_command(args.file, args.edition, args.max_mib)
    if args.command == "demo-data":
        from bulletin.demo import demo_data_command
        return demo_data_command(args.out, args.edition, regenerate=args.regenerate)
    if args.command == "analyse":
        from bulletin.build import analyse_command
        return analyse_command(args.edition, args.data, args.out,
                               use_cache=not args.no_cache)
    if args.command == "build":
        from bulletin.build import build_command, profiled
        formats = tuple(x.strip() for x in args.formats.split(",") if x.strip())
        build_args = (args.edition, args.data, args.out, formats)
        options = {"use_cache": not args.no_cache, "templates_dir": args.templates}
        if args.profile:
            return profiled(args.profile, build_command, *build_args, **options)
        return build_command(*build_args, **options)
    if args.command == "diff":
        from bulletin.diff import diff_command
        from bulletin.sides import load_side
        return diff_command(args.old, args.new, load_side(args.old), load_side(args.new),
                            only_significant=args.only_significant,
                            prefix=args.prefix, csv_out=args.csv, html_out=args.html)
    if args.command == "check":
        from bulletin.check import check_command
        return check_command(args.edition, args.templates)
    if args.command == "history":
        from bulletin.history import history_command
        from bulletin.sides import load_editions
        ids = [x.strip() for x in args.editions.split(",") if x.strip()]
        names, registries = load_editions(ids)
        return history_command(names, registries, prefix=args.prefix, csv_out=args.csv,
                               html_out=args.html)

    if args.command == "preview":
        from bulletin.preview import preview_command
        return preview_command(args.edition, args.data, args.port, open_browser=not args.no_open,
                               use_cache=not args.no_cache, templates_dir=args.templates)
    if args.command == "new-edition":
        from bulletin.config import new_edition_command
        return new_edition_command(args.id)
    raise AssertionError(args.command)
