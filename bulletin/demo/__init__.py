"""Synthetic demonstration data that reproduces the published 2018/19 tables exactly.

`bulletin demo-data --out FILE.csv` copies the shipped file (fast);
`--regenerate` runs the generator afresh, which gives the same bytes. docs/demo-data.md
explains the method.
"""

from __future__ import annotations

from pathlib import Path

from bulletin.atomic import write_text_atomic
from bulletin.errors import BulletinError

DATA_DIR = Path(__file__).resolve().parent / "data"


def shipped_file(edition: str) -> Path:
    return DATA_DIR / f"demo-{edition}.csv"


def demo_data_command(out: Path, edition: str, regenerate: bool = False) -> int:
    from bulletin.demo.spec import SPECS

    if edition not in SPECS:
        raise BulletinError(f"no demonstration data for edition '{edition}'; "
                            f"known: {', '.join(sorted(SPECS))}")
    if regenerate:
        from bulletin.demo.generate import generate

        text = generate(edition)
    else:
        src = shipped_file(edition)
        if not src.exists():
            raise BulletinError(f"{src}: shipped demonstration file missing; "
                                "run with --regenerate")
        text = src.read_text(encoding="utf-8")
    out = Path(out)
    if out.parent and not out.parent.exists():
        raise BulletinError(f"{out}: folder {out.parent} does not exist")
    try:
        write_text_atomic(out, text)
    except OSError as exc:
        raise BulletinError(f"{out}: cannot write the demonstration data: "
                            f"{exc.strerror}") from None
    print(f"wrote {out} ({text.count(chr(10)) - 2} synthetic cases, edition {edition})")
    return 0
