"""Command-line arguments, and nothing else: each command hands over to its stage.

Heavy libraries (WeasyPrint, matplotlib, statsmodels) are imported by the stages that
need them, so `validate` and `--help` start quickly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bulletin.errors import BulletinError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bulletin",
        description="Build HM Inspectorate of Probation's research bulletin on "
        "organisational inputs and the quality of probation work.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="build the bulletin (PDF, HTML, tables, numbers)")
    b.add_argument("--edition", default=None,
                   help="edition id (editions/<id>.toml) or path; default 2018-19")
    b.add_argument("--data", type=Path, help="case-level data file (overrides the edition's)")
    b.add_argument("--out", type=Path, help="output folder (default build/<edition>)")
    b.add_argument("--formats", default="pdf,html,csv,numbers",
                   help="comma-separated subset of pdf,html,csv,numbers")

    a = sub.add_parser("analyse", help="compute every statistic and write the numbers files")
    a.add_argument("--edition", default=None)
    a.add_argument("--data", type=Path)
    a.add_argument("--out", type=Path)

    v = sub.add_parser("validate", help="check a case-level data file and report every problem")
    v.add_argument("file", type=Path)
    v.add_argument("--edition", default=None,
                   help="edition whose question list applies (default 2018-19)")

    d = sub.add_parser("demo-data", help="write the synthetic demonstration data set")
    d.add_argument("--out", type=Path, required=True, help="CSV file to write")
    d.add_argument("--edition", default="2018-19", help="which demonstration year")
    d.add_argument("--regenerate", action="store_true",
                   help="run the generator afresh instead of copying the shipped file")

    f = sub.add_parser("diff", help="what changed in the numbers between two editions")
    f.add_argument("old", help="edition id or numbers.csv")
    f.add_argument("new", help="edition id or numbers.csv")
    f.add_argument("--only-significant", action="store_true")
    f.add_argument("--prefix", default="", help="only keys starting with this")
    f.add_argument("--csv", type=Path, help="also write the comparison as CSV")
    f.add_argument("--html", type=Path, help="also write a short HTML report")

    n = sub.add_parser("new-edition", help="start a new edition file from the latest one")
    n.add_argument("id", help="new edition id, e.g. 2020-21")
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


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "validate":
        from bulletin.validate import validate_command
        return validate_command(args.file, args.edition)
    if args.command == "demo-data":
        from bulletin.demo import demo_data_command
        return demo_data_command(args.out, args.edition, regenerate=args.regenerate)
    if args.command == "analyse":
        from bulletin.build import analyse_command
        return analyse_command(args.edition, args.data, args.out)
    if args.command == "build":
        from bulletin.build import build_command
        formats = tuple(x.strip() for x in args.formats.split(",") if x.strip())
        return build_command(args.edition, args.data, args.out, formats)
    if args.command == "diff":
        from bulletin.diff import diff_command
        from bulletin.sides import load_side
        return diff_command(args.old, args.new, load_side(args.old), load_side(args.new),
                            only_significant=args.only_significant,
                            prefix=args.prefix, csv_out=args.csv, html_out=args.html)
    if args.command == "new-edition":
        from bulletin.config import new_edition_command
        return new_edition_command(args.id)
    raise AssertionError(args.command)
