"""`bulletin history`: each key across editions, with every step tested as diff does."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from bulletin import history as hist
from bulletin import sides
from bulletin.change import compare_fact
from bulletin.cli import main
from bulletin.facts import Fact, Registry


def pct(key: str, yes: int, n: int) -> Fact:
    return Fact(key, 100 * yes / n, "share yes", "percent", count=yes, base=n)


EDITIONS = ["2018-19", "2019-20", "2020-21"]


def registries() -> list[Registry]:
    return [
        Registry([pct("table1.a.pct_yes", 400, 1000), Fact("fact.only_first", 3, "x", "count"),
                  Fact("model.c.selected", "a, b", "selected", "text")]),
        Registry([pct("table1.a.pct_yes", 410, 1000),
                  Fact("model.c.selected", "a", "selected", "text")]),
        Registry([pct("table1.a.pct_yes", 520, 1000), Fact("fact.new", 9, "n", "count"),
                  Fact("model.c.selected", "a", "selected", "text")]),
    ]


def test_every_key_of_any_edition_with_a_step_test_between_neighbours() -> None:
    h = hist.history(EDITIONS, registries())
    by_key = {k.key: k for k in h.keys}
    assert set(by_key) == {"table1.a.pct_yes", "fact.only_first", "fact.new",
                           "model.c.selected"}
    a = by_key["table1.a.pct_yes"]
    regs = registries()
    expected = [compare_fact(regs[0]["table1.a.pct_yes"], regs[1]["table1.a.pct_yes"]),
                compare_fact(regs[1]["table1.a.pct_yes"], regs[2]["table1.a.pct_yes"])]
    assert [s.p for s in a.steps] == [e.p for e in expected]
    assert [s.significant for s in a.steps] == [False, True]  # +1 pp, then +11 pp
    first = by_key["fact.only_first"]
    assert first.facts[1] is None and first.steps == (None, None)


def test_text_table_marks_significant_steps() -> None:
    text = hist.format_table(hist.history(EDITIONS, registries()))
    row = next(ln for ln in text.splitlines() if ln.startswith("table1.a.pct_yes"))
    assert row.split()[1:] == ["40.0%", "41.0%", "52.0%*"]
    assert "1 year-on-year changes significant" in text


def test_csv_has_values_changes_and_p_values() -> None:
    rows = list(csv.DictReader(io.StringIO(hist.to_csv(hist.history(EDITIONS, registries())))))
    a = next(r for r in rows if r["key"] == "table1.a.pct_yes")
    assert float(a["2018-19"]) == pytest.approx(40.0)
    assert float(a["2020-21 change"]) == pytest.approx(11.0)
    assert a["2020-21 significant"] == "1" and a["2019-20 significant"] == "0"
    new = next(r for r in rows if r["key"] == "fact.new")
    assert new["2018-19"] == "" and new["2020-21"] == "9"


def test_html_has_a_chart_per_numeric_key_that_reads_its_values() -> None:
    page = hist.to_html(hist.history(EDITIONS, registries()))
    assert page.count('<svg class="spark"') == 1  # the only key with two or more numbers
    assert 'aria-label="1: 40.0%; 2: 41.0%; 3: 52.0%"' in page
    assert '<td class="num sig">52.0%</td>' in page
    assert "<caption>" in page and 'scope="row"' in page


def test_suppressed_values_are_never_plotted_or_shown() -> None:
    regs = [Registry([Fact("b1.x.pct", 2.0, "x", "percent", count=2, base=100,
                           suppressed=True)]),
            Registry([Fact("b1.x.pct", 3.0, "x", "percent", count=3, base=100,
                           suppressed=True)])]
    h = hist.history(EDITIONS[:2], regs)
    page = hist.to_html(h)
    assert "2.0%" not in page and "[c]" in page and "<svg" not in page
    assert "2.0" not in hist.to_csv(h)


def test_cli_reads_every_edition(monkeypatch, tmp_path: Path, capsys) -> None:
    regs = dict(zip(EDITIONS, registries(), strict=True))
    monkeypatch.setattr(sides, "load_side", lambda arg, quiet=False: (regs[arg], arg))
    monkeypatch.setattr("bulletin.config.edition_ids", lambda: list(EDITIONS))
    target = tmp_path / "h.html"
    assert main(["history", "--prefix", "table1.", "--html", str(target)]) == 0
    out = capsys.readouterr().out
    assert "2018-19" in out and "2020-21" in out and "52.0%*" in out
    assert "fact.new" not in out
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
