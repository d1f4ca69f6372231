"""Year-on-year comparison: the tests' p-values are recomputed here by other routes
(statsmodels' z-test, the normal tail by hand, the hypergeometric sum by hand)."""

from __future__ import annotations

import csv
import io
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportions_ztest

from bulletin import diff
from bulletin.change import FISHER, Z_TEST, compare_fact
from bulletin.cli import main
from bulletin.diff import compare
from bulletin.errors import BulletinError
from bulletin.facts import Fact, Registry


def pct(key: str, yes: int, n: int, label: str = "a question") -> Fact:
    return Fact(key, 100.0 * yes / n if n else None, label, "percent", count=yes, base=n)


def fisher_by_hand(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided Fisher p: total probability of tables no more likely than the one seen."""
    yes, total = x1 + x2, n1 + n2

    def prob(a: int) -> float:
        return math.comb(n1, a) * math.comb(n2, yes - a) / math.comb(total, yes)

    seen = prob(x1)
    lo, hi = max(0, yes - n2), min(n1, yes)
    return sum(prob(a) for a in range(lo, hi + 1) if prob(a) <= seen * (1 + 1e-7))


# -- the statistics ------------------------------------------------------------------

@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [
    (120, 200, 150, 210),
    (45, 60, 40, 70),
    (50, 100, 52, 100),
    (300, 1000, 262, 950),
])
def test_z_test_matches_statsmodels(x1: int, n1: int, x2: int, n2: int) -> None:
    c = compare_fact(pct("table1.q.pct_yes", x1, n1), pct("table1.q.pct_yes", x2, n2))
    _, expected = proportions_ztest([x1, x2], [n1, n2])  # pooled variance by default
    assert c.test == Z_TEST
    assert c.p == pytest.approx(float(expected), rel=1e-9)
    assert c.significant == (expected < 0.05)


def test_z_test_matches_hand_formula() -> None:
    x1, n1, x2, n2 = 58, 100, 70, 100
    pooled = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    expected = math.erfc(abs(z) / math.sqrt(2))
    c = compare_fact(pct("t.q.pct_yes", x1, n1), pct("t.q.pct_yes", x2, n2))
    assert c.p == pytest.approx(expected, rel=1e-9)
    assert c.change == pytest.approx(12.0)  # percentage points
    assert c.significant is (expected < 0.05)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [
    (1, 8, 6, 9),      # smallest expected count 3.3
    (2, 10, 7, 10),    # expected 4.5
    (0, 6, 5, 7),
    (3, 40, 0, 35),    # few yes answers on large bases
])
def test_small_expected_counts_use_fisher(x1: int, n1: int, x2: int, n2: int) -> None:
    c = compare_fact(pct("t.q.pct_yes", x1, n1), pct("t.q.pct_yes", x2, n2))
    assert c.test == FISHER
    assert c.p == pytest.approx(fisher_by_hand(x1, n1, x2, n2), rel=1e-9)


def test_expected_count_of_exactly_five_keeps_the_z_test() -> None:
    c = compare_fact(pct("t.q.pct_yes", 5, 10), pct("t.q.pct_yes", 5, 10))
    assert c.test == Z_TEST
    assert c.p == pytest.approx(1.0)
    assert not c.changed


def test_zero_base_has_no_test() -> None:
    c = compare_fact(pct("t.q.pct_yes", 0, 0), pct("t.q.pct_yes", 10, 20))
    assert (c.p, c.test, c.significant, c.change) == (None, "", False, None)
    assert c.changed


def test_other_numbers_get_the_change_only() -> None:
    c = compare_fact(Fact("model.x.caseload.b", -0.021, "b", "coefficient"),
                     Fact("model.x.caseload.b", -0.015, "b", "coefficient"))
    assert c.change == pytest.approx(0.006)
    assert (c.p, c.test, c.significant) == (None, "", False)


def test_text_facts_report_a_change_without_a_size() -> None:
    old = Fact("fact.fieldwork_start", "2018-06", "start", "month")
    assert compare_fact(old, Fact("fact.fieldwork_start", "2019-06", "start", "month")).changed
    same = compare_fact(old, old)
    assert same.change is None and not same.changed


def test_impossible_proportion_is_an_input_error() -> None:
    bad = Fact("t.q.pct_yes", 120.0, "q", "percent", count=12, base=10)
    with pytest.raises(BulletinError, match=r"t\.q\.pct_yes.*count 12 and base 10"):
        compare_fact(pct("t.q.pct_yes", 5, 10), bad)


# -- whole registries ----------------------------------------------------------------

def registries() -> tuple[Registry, Registry]:
    old = Registry([
        pct("table1.a.pct_yes", 120, 200), Fact("table1.a.n", 200, "n", "count"),
        pct("table1.b.pct_yes", 50, 100), Fact("table1.b.n", 100, "n", "count"),
        pct("table2.c.pct_yes", 30, 60),
        Fact("model.c.caseload.b", -0.02, "b", "coefficient"),
        Fact("fact.gone", 3, "gone", "count"),
    ])
    new = Registry([
        pct("table1.a.pct_yes", 160, 200), Fact("table1.a.n", 200, "n", "count"),
        pct("table1.b.pct_yes", 47, 100), Fact("table1.b.n", 100, "n", "count"),
        pct("table2.c.pct_yes", 36, 60),
        Fact("model.c.caseload.b", -0.01, "b", "coefficient"),
        Fact("fact.new_one", 7, "new", "count"),
        Fact("fact.another", 1.5, "another"),
    ])
    return old, new


def test_compare_finds_added_and_removed_keys() -> None:
    comp = compare(*registries())
    assert comp.added_keys == ("fact.another", "fact.new_one")
    assert comp.removed_keys == ("fact.gone",)
    assert {c.key for c in comp.changes} == {
        "table1.a.pct_yes", "table1.a.n", "table1.b.pct_yes", "table1.b.n",
        "table2.c.pct_yes", "model.c.caseload.b"}


def test_changes_are_sorted_by_absolute_size() -> None:
    comp = compare(*registries())
    sizes = [abs(c.change) for c in comp.changes]
    assert sizes == sorted(sizes, reverse=True)
    assert comp.changes[0].key == "table1.a.pct_yes"  # +20 pp
    # equal sizes (the two unchanged bases) fall back to key order
    assert [c.key for c in comp.changes[-2:]] == ["table1.a.n", "table1.b.n"]


def test_select_by_prefix_and_significance() -> None:
    comp = compare(*registries())
    t1 = comp.select(prefix="table1.")
    assert all(c.key.startswith("table1.") for c in t1.changes) and len(t1.changes) == 4
    assert t1.added == () and t1.removed == ()
    assert comp.select(prefix="fact.").added_keys == ("fact.another", "fact.new_one")
    sig = comp.select(only_significant=True)
    assert [c.key for c in sig.changes] == ["table1.a.pct_yes"]
    assert all(c.p is not None and c.p < 0.05 for c in sig.changes)
    assert comp.n_significant == 1
    assert comp.summary() == "6 keys compared, 4 changed, 1 significant, 2 added, 1 removed"


# -- the command -------------------------------------------------------------------

def write_numbers(path: Path, reg: Registry) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reg.to_csv(), encoding="utf-8")
    return path


@pytest.fixture
def numbers(tmp_path: Path) -> tuple[Path, Path]:
    old, new = registries()
    return (write_numbers(tmp_path / "2018-19" / "numbers.csv", old),
            write_numbers(tmp_path / "2019-20" / "numbers.csv", new))


def test_cli_prints_an_aligned_table_and_summary(numbers, capsys) -> None:
    assert main(["diff", str(numbers[0]), str(numbers[1])]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(ln for ln in lines if ln.startswith("key "))
    assert "2018-19" in header and "2019-20" in header
    rows = [ln for ln in lines if ln.startswith(("table", "model"))]
    assert [r.split()[0] for r in rows] == [
        "table1.a.pct_yes", "table2.c.pct_yes", "table1.b.pct_yes", "model.c.caseload.b"]
    end = header.index("change") + len("change")  # the change column is right-aligned
    assert all(r[:end].endswith(("pp", "+0.01")) for r in rows)
    assert "+20.0 pp" in rows[0] and rows[0].rstrip().endswith("*")
    assert "6 keys compared, 4 changed, 1 significant, 2 added, 1 removed" in out
    assert "  fact.gone" in out and "  fact.new_one" in out


def test_cli_filters(numbers, capsys) -> None:
    assert main(["diff", str(numbers[0]), str(numbers[1]), "--prefix", "table2."]) == 0
    out = capsys.readouterr().out
    assert "table2.c.pct_yes" in out and "table1." not in out
    assert "1 keys compared, 1 changed, 0 significant, 0 added, 0 removed" in out
    assert main(["diff", str(numbers[0]), str(numbers[1]), "--only-significant"]) == 0
    out = capsys.readouterr().out
    listed = [ln.split()[0] for ln in out.splitlines() if ln.startswith(("table", "model"))]
    assert listed == ["table1.a.pct_yes"]
    assert "fact.gone" not in out


def test_cli_writes_csv(numbers, tmp_path, capsys) -> None:
    target = tmp_path / "out" / "changes.csv"
    assert main(["diff", str(numbers[0]), str(numbers[1]), "--csv", str(target)]) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == diff.CSV_COLUMNS
    by_key = {r["key"]: r for r in rows}
    assert by_key["fact.gone"]["status"] == "removed"
    assert by_key["fact.new_one"]["status"] == "added"
    assert by_key["table1.a.n"]["status"] == "unchanged"
    a = by_key["table1.a.pct_yes"]
    _, p = proportions_ztest([120, 160], [200, 200])
    assert float(a["change"]) == pytest.approx(20.0)
    assert float(a["p"]) == pytest.approx(float(p), rel=1e-6)
    assert (a["significant"], a["test"], a["status"]) == ("1", Z_TEST, "changed")
    assert by_key["model.c.caseload.b"]["p"] == ""
    assert [r["key"] for r in rows[:4]] == [
        "table1.a.pct_yes", "table2.c.pct_yes", "table1.b.pct_yes", "model.c.caseload.b"]


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_cli_writes_escaped_accessible_html(tmp_path, capsys) -> None:
    old = Registry([pct("table1.a.pct_yes", 20, 100, 'Staff <script>alert("x")</script> & co')])
    new = Registry([pct("table1.a.pct_yes", 45, 100, 'Staff <script>alert("x")</script> & co')])
    a = write_numbers(tmp_path / "a" / "numbers.csv", old)
    b = write_numbers(tmp_path / "b" / "numbers.csv", new)
    target = tmp_path / "report.html"
    assert main(["diff", str(a), str(b), "--html", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    parsed = _Collect()
    parsed.feed(page)
    tags = [t for t, _ in parsed.tags]
    assert ("html", {"lang": "en-GB"}) in parsed.tags
    assert "caption" in tags and "title" in tags and "thead" in tags
    col_heads = [a for t, a in parsed.tags if t == "th" and a.get("scope") == "col"]
    row_heads = [a for t, a in parsed.tags if t == "th" and a.get("scope") == "row"]
    assert len(col_heads) == 7 and len(row_heads) == 1
    text = "".join(parsed.text)
    flat = re.sub(r"\s+", "", text)
    assert "Keyscompared1Changed1Significantat5percent1" in flat
    assert "+25.0 pp" in text


def test_cli_reads_a_build_folder_and_an_edition_id(numbers, tmp_path, monkeypatch,
                                                     capsys) -> None:
    import bulletin.build
    monkeypatch.setattr(bulletin.build, "default_out", lambda ed: tmp_path / ed.id)
    assert main(["diff", "2018-19", str(numbers[1].parent)]) == 0
    assert "6 keys compared" in capsys.readouterr().out


def test_edition_without_a_build_is_computed(numbers, tmp_path, monkeypatch, capsys) -> None:
    import bulletin.build
    old, _ = registries()
    seen = []

    def fake_gather(edition, data=None, quiet=False):
        seen.append((edition.id, quiet))
        return old

    monkeypatch.setattr(bulletin.build, "default_out", lambda ed: tmp_path / "none" / ed.id)
    monkeypatch.setattr(bulletin.build, "gather", fake_gather)
    assert main(["diff", "2018-19", str(numbers[1])]) == 0
    assert seen == [("2018-19", True)]
    assert "6 keys compared" in capsys.readouterr().out


def test_a_build_older_than_its_data_is_recomputed(numbers, tmp_path, monkeypatch,
                                                   capsys) -> None:
    import os

    import bulletin.build
    old, _ = registries()
    built = numbers[0]  # tmp_path/2018-19/numbers.csv, where default_out points below
    os.utime(built, (1, 1))  # made long before the shipped data file
    seen = []

    def fake_gather(edition, data=None, quiet=False):
        seen.append(edition.id)
        return old

    monkeypatch.setattr(bulletin.build, "default_out", lambda ed: tmp_path / ed.id)
    monkeypatch.setattr(bulletin.build, "gather", fake_gather)
    assert main(["diff", "2018-19", str(numbers[1])]) == 0
    assert seen == ["2018-19"]
    assert "is older than its data or edition file" in capsys.readouterr().err


# -- bad input: exit 2, a message naming the file, no traceback ----------------------

def run_bad(args: list[str], capsys) -> str:
    assert main(["diff", *args]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err


def test_missing_file(numbers, tmp_path, capsys) -> None:
    missing = tmp_path / "nowhere" / "numbers.csv"
    err = run_bad([str(missing), str(numbers[1])], capsys)
    assert str(missing) in err and "not found" in err


def test_wrong_columns(numbers, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("name,amount\ntable1.a.pct_yes,3\n", encoding="utf-8")
    err = run_bad([str(bad), str(numbers[1])], capsys)
    assert str(bad) in err and "missing columns" in err and "'key'" in err


def test_bad_count_names_the_line(numbers, tmp_path, capsys) -> None:
    lines = numbers[0].read_text(encoding="utf-8").splitlines()
    row = next(i for i, ln in enumerate(lines) if ln.startswith("table1.b.pct_yes"))
    parts = lines[row].split(",")
    parts[4] = "fifty"  # the count column
    lines[row] = ",".join(parts)
    bad = tmp_path / "bad_count.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = run_bad([str(bad), str(numbers[1])], capsys)
    assert f"{bad}, line {row + 1}" in err


def test_bad_value_names_the_line(numbers, tmp_path, capsys) -> None:
    lines = numbers[1].read_text(encoding="utf-8").splitlines()
    row = next(i for i, ln in enumerate(lines) if ln.startswith("table2.c.pct_yes"))
    parts = lines[row].split(",")
    parts[1] = "6o.0"
    lines[row] = ",".join(parts)
    bad = tmp_path / "bad_value.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = run_bad([str(numbers[0]), str(bad)], capsys)
    assert f"{bad}, line {row + 1}, column 'value'" in err
    assert "'6o.0' is not a number" in err and "table2.c.pct_yes" in err


def _damaged(source: Path, tmp_path: Path, edit) -> tuple[Path, int]:
    """A copy of a numbers file with one row changed by `edit` (lines, index) -> text."""
    lines = source.read_text(encoding="utf-8").splitlines()
    row = next(i for i, ln in enumerate(lines) if ln.startswith("table1.b.pct_yes"))
    bad = tmp_path / "damaged.csv"
    bad.write_text(edit(lines, row), encoding="utf-8")
    return bad, row + 1


def _set(lines: list[str], row: int, column: int, value: str) -> str:
    parts = lines[row].split(",")
    parts[column] = value
    lines[row] = ",".join(parts)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda ls, r: "\n".join(ls[:r] + [ls[r].split(",")[0] + ",46"]),
     "ends in the middle of a row"),
    (lambda ls, r: "\n".join(ls[:r + 1]), "ends in the middle of a row"),
    (lambda ls, r: "\n".join(ls[:r] + [ls[r].rsplit(",", 3)[0]] + ls[r + 1:]) + "\n",
     "5 field(s) where the header has 8"),
    (lambda ls, r: _set(ls, r, 2, ""), "column 'label': empty"),
    (lambda ls, r: _set(ls, r, 3, ""), "column 'unit': empty"),
    (lambda ls, r: _set(ls, r, 0, ""), "column 'key': empty"),
    (lambda ls, r: _set(ls, r, 6, "yes"), "column 'suppressed': 'yes'; expected 0 or 1"),
    (lambda ls, r: "\n".join(ls[:r] + ['table1.b.pct_yes,"46,Cut off']) + "\n",
     "not readable as CSV"),
], ids=["cut-mid-row", "no-final-line-end", "short-row", "no-label", "no-unit", "no-key",
        "bad-flag", "open-quote"])
def test_a_damaged_numbers_file_is_refused_with_its_line(numbers, tmp_path, capsys, edit,
                                                         expected: str) -> None:
    bad, line = _damaged(numbers[0], tmp_path, edit)
    err = run_bad([str(bad), str(numbers[1])], capsys)
    assert f"{bad}, line {line}" in err
    assert expected in err


def test_a_numbers_file_without_the_unit_column_is_refused(numbers, tmp_path, capsys) -> None:
    bad = tmp_path / "three.csv"
    bad.write_text("key,value,label\nfact.a.b,1,A\n", encoding="utf-8")
    err = run_bad([str(bad), str(numbers[1])], capsys)
    assert f"{bad}: not a numbers file" in err and "'unit'" in err


def test_neither_file_nor_edition(numbers, capsys) -> None:
    err = run_bad(["last-year", str(numbers[1])], capsys)
    assert "last-year" in err and "edition id" in err


def test_unknown_edition(numbers, capsys) -> None:
    err = run_bad(["1999-00", str(numbers[1])], capsys)
    assert "1999-00.toml" in err and "not found" in err


def test_unwritable_output_is_an_input_error(numbers, tmp_path, capsys) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    err = run_bad([str(numbers[0]), str(numbers[1]), "--csv", str(blocker / "out.csv")], capsys)
    assert "out.csv" in err and "cannot write" in err


def test_long_text_is_clipped_in_the_terminal_only(tmp_path, capsys) -> None:
    long = "skills_knowledge, ethnicity, caseload, ro_grade"
    old = Registry([Fact("model.c.selected", "caseload", "selected", "text")])
    new = Registry([Fact("model.c.selected", long, "selected", "text")])
    a = write_numbers(tmp_path / "a" / "numbers.csv", old)
    b = write_numbers(tmp_path / "b" / "numbers.csv", new)
    out_csv = tmp_path / "c.csv"
    assert main(["diff", str(a), str(b), "--csv", str(out_csv)]) == 0
    row = next(ln for ln in capsys.readouterr().out.splitlines()
               if ln.startswith("model.c.selected"))
    assert long not in row and long[:20] in row and row.rstrip().endswith("changed")
    assert long in out_csv.read_text(encoding="utf-8")


def test_missing_build_folder_is_reported_as_not_found(numbers, tmp_path, capsys) -> None:
    err = run_bad([str(tmp_path / "no-such-build"), str(numbers[1])], capsys)
    assert "no-such-build" in err and "not found" in err


def test_a_suppressed_figure_is_never_shown_or_tested_in_any_output(tmp_path) -> None:
    hidden = Fact("b1.q.yes.j.pct_yes", 80.0, "small cell", "percent", count=4, base=5,
                  suppressed=True)
    shown = pct("b1.q.yes.j.pct_yes", 29, 40)
    change = compare_fact(hidden, shown)
    assert (change.old, change.change, change.p, change.significant) == ("[c]", None, None,
                                                                          False)
    assert change.suppressed and change.changed
    comp = compare(Registry([hidden]), Registry([shown]))
    outputs = (diff.format_table(comp, "a", "b"), diff.to_csv(comp),
               diff.to_html(comp, "a", "b"))
    for text in outputs:
        assert "[c]" in text
        assert "80.0" not in text and "80%" not in text and "-7.5" not in text


def test_percentages_sort_before_counts_by_size_of_change() -> None:
    old = Registry([pct("table1.a.pct_yes", 50, 100), pct("table1.b.pct_yes", 50, 100),
                    Fact("fact.cases_inspected", 3000, "cases", "count")])
    new = Registry([pct("table1.a.pct_yes", 52, 100), pct("table1.b.pct_yes", 60, 100),
                    Fact("fact.cases_inspected", 3100, "cases", "count")])
    assert [c.key for c in compare(old, new).changes] == [
        "table1.b.pct_yes", "table1.a.pct_yes", "fact.cases_inspected"]


@pytest.mark.parametrize(("p", "text"), [(0.04999, "0.0500"), (0.05004, "0.0500"),
                                         (0.0512, "0.051"), (0.2, "0.200"),
                                         (0.0004, "<0.001")])
def test_p_values_near_the_level_get_a_fourth_decimal(p: float, text: str) -> None:
    assert diff.fmt_p(p) == text


# -- the report, as a reader meets it ------------------------------------------------

def test_added_and_removed_keys_carry_their_values(numbers, tmp_path, capsys) -> None:
    csv_out, html_out = tmp_path / "c.csv", tmp_path / "c.html"
    assert main(["diff", str(numbers[0]), str(numbers[1]), "--csv", str(csv_out),
                 "--html", str(html_out)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"fact\.new_one\s+7\b", out)
    rows = {r["key"]: r for r in csv.DictReader(io.StringIO(csv_out.read_text()))}
    assert rows["fact.new_one"]["new"] == "7" and rows["fact.new_one"]["old"] == ""
    assert rows["fact.new_one"]["label"] == "new"
    gone = rows["fact.gone"]
    assert gone["status"] == "removed" and gone["old"] != "" and gone["new"] == ""
    page = html_out.read_text(encoding="utf-8")
    assert "fact.new_one" in page and ">7</td>" in page


def test_html_report_groups_by_section_with_a_summary_first(numbers, tmp_path,
                                                            capsys) -> None:
    target = tmp_path / "r.html"
    assert main(["diff", str(numbers[0]), str(numbers[1]), "--html", str(target)]) == 0
    page = target.read_text(encoding="utf-8")
    summary = page.index("Summary")
    t1 = page.index("Table 1: officers")
    t2 = page.index("Table 2: inspectors")
    models = page.index("Models: Tables B3 to B5")
    assert summary < t1 < t2 < models
    assert "Significant at 5 per cent</dt><dd>1</dd>" in page
    assert "Largest significant changes" in page
    # the control that hides non-significant rows, labelled for assistive technology
    assert '<input type="checkbox" id="only-significant">' in page
    assert '<label for="only-significant">' in page
    assert 'tr.not-sig{display:none}' in page.replace(" ", "")
    assert page.count('class="sig"') == 1
    # numbers right-aligned; no fixed width that would cut columns off
    assert 'class="num" data-label="Change">+20.0 pp' in page
    assert "max-width:80rem" in page and "@media (max-width:40rem)" in page


def test_sections_are_chosen_by_key_head() -> None:
    assert diff.section_of("table1.workload_manageable.pct_yes").startswith("Table 1")
    assert diff.section_of("b2.ogrs.high.safety.pct").startswith("Annex B")
    assert diff.section_of("model.safety.caseload.b").startswith("Models")
    assert diff.section_of("fact.cases_inspected") == diff.OTHER_SECTION


def test_comparison_as_a_frame(numbers) -> None:
    comp = compare(*registries())
    frame = comp.to_frame()
    assert list(frame.columns) == list(diff.CSV_COLUMNS)
    assert len(frame) == len(comp.changes) + len(comp.added) + len(comp.removed)
    row = frame.set_index("key").loc["table1.a.pct_yes"]
    assert row["change"] == pytest.approx(20.0) and bool(row["significant"]) is True
    assert "<table" in comp._repr_html_()
