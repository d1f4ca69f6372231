"""Checks shared by several test modules."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bulletin.config import RESAMPLES_ENV
from bulletin.facts import Registry

# The suite analyses the demo data a dozen times (in process and in `python -m bulletin`
# subprocesses, which inherit this): a few bootstrap resamples per model keep that quick
# while every build still runs the real, parallel stability check. tests/test_stability.py
# checks the shares themselves. Set the variable yourself to run the suite at another size.
os.environ.setdefault(RESAMPLES_ENV, "8")


def _assert_survives_numbers_csv(reg: Registry, folder: Path) -> None:
    """Every field of every fact comes back from numbers.csv, and a second trip is
    byte-identical."""
    path = folder / "numbers.csv"
    path.write_text(reg.to_csv(), encoding="utf-8")
    back = Registry.from_csv(path)
    assert list(back) == list(reg)
    for key, f in reg.items():
        g = back[key]
        assert (g.label, g.unit, g.count, g.base, g.suppressed, g.unreliable) == \
            (f.label, f.unit, f.count, f.base, f.suppressed, f.unreliable), key
        if isinstance(f.value, float):
            assert g.value == pytest.approx(f.value, rel=1e-11), key
        else:
            assert g.value == f.value and type(g.value) is type(f.value), key
    assert back.to_csv() == reg.to_csv()


@pytest.fixture
def survives_numbers_csv(tmp_path: Path) -> Callable[[Registry], None]:
    return lambda reg: _assert_survives_numbers_csv(reg, tmp_path)
