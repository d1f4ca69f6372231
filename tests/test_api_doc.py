"""docs/api.md's examples run, in order, as one script, and print what they promise:
a facts frame, a model summary, a table and a comparison frame."""

from __future__ import annotations

import contextlib
import io
import re

import pandas as pd
import pytest

import bulletin
from bulletin.config import PROJECT_DIR

DOC = PROJECT_DIR / "docs" / "api.md"


@pytest.fixture(scope="module")
def doc_run() -> tuple[str, dict]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102
    return out.getvalue(), namespace


def test_the_example_prints_facts_a_model_and_a_comparison(doc_run) -> None:
    text, ns = doc_run
    print(text)  # shown with -s, as the closing check of the example
    assert "<EditionData 2018-19:" in text
    assert "table1.workload_manageable.pct_yes" in text
    assert "Forward stepwise selection for sentence_implemented" in text
    assert "Variables in the Equation" in text
    assert "Table 1:" in text
    assert isinstance(ns["changes"], pd.DataFrame)
    assert set(ns["changes"]["key"]) >= {"table1.workload_manageable.pct_yes"}


def test_the_frames_agree_with_the_registry(doc_run) -> None:
    _, ns = doc_run
    ed = ns["ed"]
    facts = ns["facts"]
    assert len(facts) == len(ed.facts)
    row = facts.set_index("key").loc["table1.workload_manageable.pct_yes"]
    fact = ed.facts["table1.workload_manageable.pct_yes"]
    assert row["value"] == fact.value and row["base"] == fact.base
    changes = ns["changes"]
    assert changes["significant"].all()
    assert (changes["status"] == "changed").all()
    first = changes.set_index("key").loc["table1.workload_manageable.pct_yes"]
    assert first["old"] == pytest.approx(fact.value, abs=1e-8)


def test_notebook_views_are_tables(doc_run) -> None:
    _, ns = doc_run
    ed = ns["ed"]
    assert "<table" in ed.facts._repr_html_()
    assert "<table" in ns["model"]._repr_html_()
    assert "2018-19" in ed._repr_html_()


def test_errors_are_plain_bulletin_errors(tmp_path) -> None:
    bad = tmp_path / "cases.csv"
    bad.write_text("case_id,provider\n1,Wales\n", encoding="utf-8")
    with pytest.raises(bulletin.BulletinError) as info:
        bulletin.open_edition("2018-19", data=bad)
    assert str(bad) in str(info.value)


def test_importing_the_package_stays_light() -> None:
    """The command line imports the package first: the API must load only when used."""
    import subprocess
    import sys

    code = ("import sys, bulletin; heavy = [m for m in ('pandas', 'scipy', 'jinja2') "
            "if m in sys.modules]; print(heavy)")
    run = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR,
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_a_large_file_warns_that_the_stability_check_takes_minutes(monkeypatch) -> None:
    """A notebook shows warnings; minutes of silence from open_edition would look like a
    hang. Below the size, nothing is said."""
    import warnings

    from bulletin import build

    monkeypatch.setenv("BULLETIN_STABILITY_RESAMPLES", "2")
    monkeypatch.setattr(build, "LARGE", 100)
    with pytest.warns(UserWarning, match=r"stability check .* takes minutes.*0 leaves"):
        bulletin.open_edition("2018-19")
    monkeypatch.setattr(build, "LARGE", 10**9)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bulletin.open_edition("2018-19")
    assert not [w for w in caught if "stability check" in str(w.message)]
