"""Tables from the registry: cells as printed, suppression marks, model row order, CSV, HTML.

`hand_registry` builds a small but complete registry for the 2018-19 edition by hand
(no data, no analysis), so the expected cells can be worked out from the facts in it.
The rendering tests import it too.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser

import pytest

from bulletin.config import load_edition
from bulletin.errors import BulletinError
from bulletin.facts import Fact, Registry, RegistryBuilder, slug
from bulletin.tables import KEEP_WHOLE_ROWS, Table, build_tables, load_labels

EDITION = load_edition("2018-19")
S = EDITION.analysis
J = S.judgement_keys
# Where the hand registry holds a small (suppressed) count: skills_knowledge = no, safety.
SMALL = ("skills_knowledge", "no", "supports_safety")
LEVELS = {"gender": ["Male", "Female"], "ethnicity": ["White", "Ethnic minority"],
          "ro_grade": ["Probation Officer", "Probation Service Officer", "Other or not clear"]}


def _levels(variable: str) -> list[str]:
    for b in S.bands:
        if b.name == variable:
            return list(b.labels)
    for g in S.groupings:
        if g.name == variable:
            return list(g.labels)
    return LEVELS[variable]


def hand_registry(overrides: dict[str, Fact] | None = None,
                  drop: tuple[str, ...] = ()) -> Registry:
    """Every key the tables and templates read, with varied but known values."""
    b = RegistryBuilder(min_count=S.min_count, unreliable_base=S.unreliable_base)
    for i, q in enumerate(S.questions):
        b.proportion(f"table1.{q.key}", 460 + 25 * i, 1000 + 10 * i, f"Table 1 {q.key}")
        for k, j in enumerate(J):
            yes_n = (3, 40) if (q.key, "no", j) == SMALL else (30 + k, 60)
            b.proportion(f"b1.{q.key}.yes.{j}", 150 + i + k, 200, f"B1 {q.key} yes {j}")
            b.proportion(f"b1.{q.key}.no.{j}", *yes_n, f"B1 {q.key} no {j}")
            # p cycles through the star bands: .0004, .004, .04, .4
            b.number(f"b1.{q.key}.diff.{j}.p", 4 * 10.0 ** -(4 - (i + k) % 4),
                     f"B1 {q.key} {j} p", "p_value")
    for k, j in enumerate(J):
        b.proportion(f"table2.{j}", 1500 - 300 * k, 1961 - 160 * k, f"Table 2 {j}")
        for v in ("over", "up_to"):
            b.proportion(f"fact.caseload_{v}_50.{j}", 140 if v == "over" else 170, 200,
                         f"caseload {v} {j}")
        b.number(f"fact.caseload_over_50.diff.{j}.p", 0.002, "p", "p_value")
    bands = S.banding("caseload_band").labels
    for i, band in enumerate(bands):
        yes = 90 - 12 * i
        b.proportion(f"fig2.{slug(band)}", yes, 100, f"fig2 {band}", counts=("yes", "no"))
        for j in J:
            b.proportion(f"b1.caseload_band.{slug(band)}.{j}", 80 - 2 * i, 100, "band")
    for v in S.case_variables:
        for i, level in enumerate(_levels(v)):
            for j in J:
                n = 25 if (v, i) == ("age_group", 4) else 300  # one unreliable base
                b.proportion(f"b2.{v}.{slug(level)}.{j}", n // 2 + i, n, f"B2 {v} {level}")
    b.count("fact.cases_inspected", 3308, "cases")
    b.count("fact.ro_interviews", 1965, "interviews")
    b.count("fact.ro_interviews_crc", 1319, "crc")
    b.count("fact.ro_interviews_nps", 646, "nps")
    b.number("fact.providers", 28, "providers", "count")
    b.number("fact.providers_crc", 21, "providers crc", "count")
    b.number("fact.providers_nps", 7, "providers nps", "count")
    b.number("fact.fieldwork_start", EDITION.fieldwork_start, "start", "month")
    b.number("fact.fieldwork_end", EDITION.fieldwork_end, "end", "month")
    b.number("fact.sample_confidence", EDITION.programme.sample_confidence, "conf", "percent")
    b.number("fact.sample_margin", EDITION.programme.sample_margin, "margin")
    b.number("fact.earlier_programme_start", EDITION.programme.earlier_start, "s", "month")
    b.number("fact.earlier_programme_end", EDITION.programme.earlier_end, "e", "month")
    b.percent("fact.caseload_over_50.crc.pct", 870, 1300, "crc over 50")
    b.percent("fact.caseload_over_50.nps.pct", 32, 640, "nps over 50")
    b.percent("fact.rosh.crc.medium.pct", 920, 1310, "crc medium")
    b.percent("fact.rosh.crc.high_very_high.pct", 0, 1310, "crc high")
    b.percent("fact.rosh.nps.high_very_high.pct", 340, 640, "nps high")
    for i, (name, kind, month) in enumerate([("Merseyside", "CRC", "2018-09"),
                                             ("Hampshire & Isle of Wight", "CRC", "2019-05"),
                                             ("London", "NPS", None)], start=1):
        b.number(f"a1.{i:02d}.provider", name, "provider", "text")
        b.number(f"a1.{i:02d}.provider_type", kind, "type", "text")
        b.number(f"a1.{i:02d}.report_month", month, "month", "month")
        b.count(f"a1.{i:02d}.cases", 1000 + i, "cases")
        b.count(f"a1.{i:02d}.interviews", 3 if i == 3 else 60, "interviews")
    for k, j in enumerate(J):
        _model(b, j, k)
    facts = {f.key: f for f in b.build().values() if f.key not in drop}
    facts.update(overrides or {})
    return Registry(facts.values())


def _model(b: RegistryBuilder, j: str, k: int) -> None:
    h = f"model.{j}"
    b.count(f"{h}.n", 1900 - k, "n")
    b.number(f"{h}.chi2", 120.5 + k, "chi2", "statistic")
    b.number(f"{h}.chi2_df", 5, "df")
    b.number(f"{h}.chi2_p", 1e-9, "p", "p_value")
    b.number(f"{h}.nagelkerke_r2", 0.114, "r2")
    rows = [("block", "rosh_level", None), ("level", "rosh_level", "Medium"),
            ("level", "rosh_level", "Low"), ("continuous", "caseload", None),
            ("level", "skills_knowledge", "yes"), ("constant", "constant", None)]
    b.number(f"{h}.rosh_level.wald", 17.25, "wald", "statistic")
    b.number(f"{h}.rosh_level.df", 2, "df")
    b.number(f"{h}.rosh_level.p", 0.0002, "p", "p_value")
    b.number(f"{h}.rosh_level.reference", "High/Very high", "ref", "text")
    b.number(f"{h}.skills_knowledge.p", 0.003, "p", "p_value")  # the question's own test
    terms = {"rosh_level.medium": (-0.634, 0.25, 0.012), "rosh_level.low": (-0.775, 0.3, 0.2),
             "caseload": (-0.011, 0.004, 0.03), "skills_knowledge.yes": (0.745, 0.25, 0.003)}
    for name, (coef, se, p) in terms.items():
        b.number(f"{h}.{name}.b", coef, "b", "coefficient")
        b.number(f"{h}.{name}.se", se, "se", "coefficient")
        b.number(f"{h}.{name}.wald", (coef / se) ** 2, "wald", "statistic")
        b.number(f"{h}.{name}.p", p, "p", "p_value")
        b.number(f"{h}.{name}.odds_ratio", 2.718281828 ** coef, "or", "odds_ratio")
    b.number(f"{h}.constant.b", 1.286, "b", "coefficient")
    b.number(f"{h}.constant.se", 0.42, "se", "coefficient")
    b.number(f"{h}.constant.wald", 9.4, "wald", "statistic")
    b.number(f"{h}.constant.p", 0.002, "p", "p_value")
    for n, (kind, var, level) in enumerate(rows, start=1):
        b.number(f"{h}.term.{n}.variable", var, "v", "text")
        b.number(f"{h}.term.{n}.level", level, "l", "text")
        b.number(f"{h}.term.{n}.kind", kind, "k", "text")


def _whole(v: float) -> str:
    return str(Decimal(repr(v)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _one(v: float) -> str:
    return str(Decimal(repr(v)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _stars(p: float) -> str:
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


@pytest.fixture(scope="module")
def reg() -> Registry:
    return hand_registry()


@pytest.fixture(scope="module")
def tables(reg: Registry) -> dict:
    return {t.id: t for t in build_tables(reg, EDITION)}


def test_tables_in_print_order(reg: Registry) -> None:
    ids = [t.id for t in build_tables(reg, EDITION)]
    assert ids == ["table1", "table2", "tableA1", "tableB1", "tableB2"] + [
        f"tableB{3 + i}" for i in range(len(J))]


def test_table1_whole_per_cent_and_thousands(reg: Registry, tables: dict) -> None:
    t = tables["table1"]
    assert len(t.rows) == len(S.questions)
    for row, q in zip(t.rows, S.questions, strict=True):
        assert row[0] == q.standard and row[1] == q.text
        assert row[2] == f"{reg[f'table1.{q.key}.n'].value:,}"
        assert row[3] == _whole(reg[f"table1.{q.key}.pct_yes"].value)
    assert any("," in row[2] for row in t.rows)


def test_table2_counts_and_percent(reg: Registry, tables: dict) -> None:
    for row, j in zip(tables["table2"].rows, S.judgements, strict=True):
        assert row == (j.text, f"{reg[f'table2.{j.key}.n'].value:,}",
                       _whole(reg[f"table2.{j.key}.pct_yes"].value))


def test_b1_one_decimal_stars_and_suppression(reg: Registry, tables: dict) -> None:
    t = tables["tableB1"]
    labels = load_labels()
    rows = {(r[0], r[1]): r for r in t.rows}
    for q in S.questions:
        label = labels.question(q.key, q.text)
        for ans in ("yes", "no"):
            row = rows[(label, ans.capitalize())]
            for k, j in enumerate(J):
                f = reg[f"b1.{q.key}.{ans}.{j}.pct_yes"]
                cell = row[3 + 2 * k]
                if f.suppressed:
                    assert cell == "[c]"
                    continue
                stars = _stars(reg[f"b1.{q.key}.diff.{j}.p"].value) if ans == "yes" else ""
                assert cell == _one(f.value) + stars
    assert any("[c]" in n for n in t.notes)
    assert any("***" in n for n in t.notes)
    bands = [r[1] for r in t.rows if r[0] == labels.variable("caseload_band")]
    assert bands == list(S.banding("caseload_band").labels)


def test_suppressed_value_never_printed(reg: Registry, tables: dict) -> None:
    q, ans, j = SMALL
    f = reg[f"b1.{q}.{ans}.{j}.pct_yes"]
    assert f.suppressed
    label = load_labels().question(q, q)
    row = next(r for r in tables["tableB1"].rows if r[0] == label and r[1] == "No")
    k = J.index(j)
    assert row[3 + 2 * k] == "[c]" and _one(f.value) not in row


def test_b2_levels_in_settings_order_and_unreliable_mark(tables: dict) -> None:
    t = tables["tableB2"]
    labels = load_labels()
    for v in S.case_variables:
        assert [r[1] for r in t.rows if r[0] == labels.variable(v)] == _levels(v)
    flagged = [r for r in t.rows if "[u]" in r[3]]
    assert [r[1] for r in flagged] == [_levels("age_group")[4]]
    assert any(n.startswith("[u]") for n in t.notes)


def test_a1_rows_in_key_order_with_months(tables: dict) -> None:
    rows = tables["tableA1"].rows
    assert [r[0] for r in rows] == ["Merseyside", "Hampshire & Isle of Wight", "London"]
    assert rows[0][2] == "September 2018" and rows[2][2] == "not known"
    assert rows[0][3] == "1,001" and rows[2][4] == "[c]"


def test_model_table_rows_follow_terms_constant_last(reg: Registry, tables: dict) -> None:
    for k, j in enumerate(J):
        t = tables[f"tableB{3 + k}"]
        assert t.row_classes == ("block-test", "", "", "", "", "constant")
        block, medium, low, caseload, skills, const = t.rows
        assert block[1] == "Reference: High/Very high"
        assert block[2:4] == ("", "") and block[4] == "17.25"
        assert block[6] == _stars(reg[f"model.{j}.rosh_level.p"].value) == "***"
        assert medium[1:4] == ("Medium", "-0.63", "0.25") and medium[6] == "*"
        assert low[1] == "Low" and low[6] == ""
        assert caseload[1] == "" and caseload[2:4] == ("-0.01", "0.00")
        assert skills[1] == "Yes" and skills[6] == "**"
        assert const[0] == "Constant" and const[2:4] == ("1.29", "0.42") and const[5] == ""
        assert any("* p < .05" in n for n in t.notes)
        assert any("p < .001" in n and "on 5 df" in n for n in t.notes)


def test_model_table_without_term_kinds_infers_rows() -> None:
    """Older registries carry only variable and level: block rows are inferred."""
    drop = tuple(f"model.{j}.term.{n}.kind" for j in J for n in range(1, 7))
    t = {x.id: x for x in build_tables(hand_registry(drop=drop), EDITION)}["tableB3"]
    assert t.row_classes == ("block-test", "", "", "", "", "constant")


def test_missing_fact_names_the_table() -> None:
    reg = hand_registry(drop=("table2.supports_safety.n",))
    with pytest.raises(BulletinError, match=r"Table 2: .*table2\.supports_safety\.n"):
        build_tables(reg, EDITION)


def test_csv_holds_the_printed_cells(tables: dict) -> None:
    for t in tables.values():
        rows = list(csv.reader(io.StringIO(t.to_csv())))
        assert rows[0] == list(t.columns())
        assert [tuple(r) for r in rows[1:]] == list(t.rows)
    assert tables["tableB1"].columns()[2] == "Sentence implemented: n"


class _Checker(HTMLParser):
    """Collects tags and checks that every opened element is closed in order."""

    VOID = {"br", "img", "meta", "link", "hr", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def test_html_is_accessible_and_well_formed(tables: dict) -> None:
    for t in tables.values():
        p = _Checker()
        p.feed(t.to_html())
        assert p.stack == []
        names = [tag for tag, _ in p.tags]
        assert names.count("caption") == 1
        ths = [a for tag, a in p.tags if tag == "th"]
        assert all(a.get("scope") in ("col", "colgroup", "row", "rowgroup") for a in ths)
        assert any(a.get("scope") == "col" for a in ths)
        assert any(a.get("scope") in ("row", "rowgroup") for a in ths)
    html = tables["table1"].to_html()
    assert 'rowspan="10"' in html  # the ten Staff questions share their label
    assert "Hampshire &amp; Isle of Wight" in tables["tableA1"].to_html()


def _plain(html: str) -> str:
    """Cells without their id and headers attributes (checked on their own)."""
    return re.sub(r' (?:id|headers)="[^"]*"', "", html)


class _Grid(HTMLParser):
    """Each table row as (column index, tag, class) cells, spans laid out as a browser does."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[int, str, str]]] = []
        self.section = ""
        self.pending: dict[int, int] = {}  # column -> rows still covered by a rowspan

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag in ("thead", "tbody"):
            self.section, self.pending = tag, {}
        elif tag == "tr":
            self.rows.append([])
            self.col = 0
        elif tag in ("th", "td"):
            while self.pending.get(self.col, 0) > 0:
                self.pending[self.col] -= 1
                self.col += 1
            self.rows[-1].append((self.col, f"{self.section}.{tag}", a.get("class") or ""))
            if int(a.get("rowspan", 1)) > 1:
                self.pending[self.col] = int(a["rowspan"]) - 1
            self.col += int(a.get("colspan", 1))


def _grid(html: str) -> _Grid:
    g = _Grid()
    g.feed(html)
    return g


def test_number_columns_right_aligned_heading_and_cells_alike(tables: dict) -> None:
    for t in tables.values():
        g = _grid(t.to_html())
        heads = [r for r in g.rows if r and r[0][1].startswith("thead")]
        last = {col: cls for col, tag, cls in heads[-1] if tag == "thead.th"}
        numeric = t.numeric_columns()
        assert numeric, t.id
        for col in numeric:
            assert "num" in last[col].split(), (t.id, col)
        for row in g.rows:
            for col, tag, cls in row:
                if tag == "tbody.td":
                    assert ("num" in cls.split()) == (col in numeric), (t.id, col)
    a1 = tables["tableA1"]
    assert a1.numeric_columns() == {3, 4}
    html = _plain(a1.to_html())
    assert '<th scope="col">Type</th>' in html and "<td>CRC</td>" in html
    assert '<th scope="col" class="num">Cases inspected</th>' in html


def test_numeric_column_decided_by_column_and_text_columns_stay_text() -> None:
    rows = (("a", "12", "x", "3"), ("b", "", "4", ""), ("c", "7", "5", "1,203"))
    plain = Table("t", "9", "Test", (("Name", "Code", "Mixed", "N"),), rows)
    assert plain.numeric_columns() == {1, 3}  # a word in a column keeps it text
    coded = Table("t", "9", "Test", (("Name", "Code", "Mixed", "N"),), rows,
                  text_cols=frozenset({1}))
    assert coded.numeric_columns() == {3}
    html = _plain(coded.to_html())
    assert "<td>12</td>" in html and '<td class="num">1,203</td>' in html


def test_only_tables_short_enough_for_a_page_are_kept_whole(tables: dict) -> None:
    for t in tables.values():
        kept = t.to_html().startswith('<div class="table-wrap keep"')
        assert kept == (len(t.rows) <= KEEP_WHOLE_ROWS), t.id
    assert tables["table2"].to_html().startswith('<div class="table-wrap keep"')
    assert not tables["tableB1"].to_html().startswith('<div class="table-wrap keep"')


def test_stars_hang_right_of_the_figures_in_a_starred_column() -> None:
    rows = (("a", "82.1***"), ("b", "71.2"), ("c", "61.0 [u]*"), ("d", ""))
    html = _plain(Table("t", "9", "Test", (("Name", "Yes (%)"),), rows).to_html())
    assert '<td class="num">82.1<span class="stars">***</span></td>' in html
    assert '<td class="num">71.2<span class="stars"></span></td>' in html
    assert '<td class="num">61.0 [u]<span class="stars">*</span></td>' in html
    # a column of stars alone (the models' Sig.) and a column without stars stay plain
    plain = Table("t", "9", "Test", (("Name", "Sig.", "N"),), (("a", "**", "3"),)).to_html()
    assert "stars" not in plain


class _Cells(HTMLParser):
    """Every th/td as (section index, tag, attributes, text), with the tbody it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[tuple[int, str, dict, str]] = []
        self.tbodies = 0
        self.open: list | None = None
        self.wrappers: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "tbody":
            self.tbodies += 1
        elif tag in ("th", "td"):
            self.open = [self.tbodies, tag, a, ""]
        elif tag == "div":
            self.wrappers.append(a)

    def handle_data(self, data: str) -> None:
        if self.open is not None:
            self.open[3] += data

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self.open is not None:
            self.cells.append(tuple(self.open))
            self.open = None


def test_every_data_cell_names_its_column_row_and_group_headings(tables: dict) -> None:
    """headers/ids: a data cell names every heading over its column (both rows of a
    two-row heading), its row's headings and the label of its row group, and nothing
    else; each row group is a tbody of its own, headed by its label."""
    checked = expected = 0
    for t in tables.values():
        p = _Cells()
        p.feed(t.to_html())
        text = {a["id"]: txt for _, tag, a, txt in p.cells if tag == "th"}
        # no blank cell without headings (a blank heading cell in a two-row head is
        # replaced by the heading above spanning down)
        assert all(a.get("headers") for _, tag, a, _ in p.cells if tag == "td"), t.id
        assert len(text) == len([c for c in p.cells if c[1] == "th"]), t.id  # ids unique
        body = [c for c in p.cells if c[0] > 0]
        groups = [c for c in body if c[2].get("scope") == "rowgroup"]
        # one rowgroup label per tbody, first in it
        assert len({c[0] for c in groups}) == len(groups), t.id
        columns = t.columns()
        row_cells = _grid(t.to_html()).rows[len(t.header):]
        by_place = {_col_of(c, t): c for c in body if c[1] == "td" and c[2].get("headers")}
        expected += sum(len(r) - t.row_header_cols for r in t.rows)
        for r, row in enumerate(row_cells):
            data = [(col, tag) for col, tag, _ in row if tag == "tbody.td"]
            for col, _ in data:
                if col < t.row_header_cols:
                    continue
                cell = by_place[(r, col)]
                named = [text[h] for h in cell[2]["headers"].split()]
                # the column's headings, top row first, joined as the CSV names them
                want_col = columns[col]
                assert ": ".join(n for n in named if n in want_col.split(": ")) == want_col
                row_labels = [x for x in t.rows[r][:t.row_header_cols] if x]
                assert [n for n in named if n not in want_col.split(": ")] == row_labels, \
                    (t.id, r, col, named)
                checked += 1
    assert checked == expected > 400


def _col_of(cell: tuple, t) -> tuple[int, int]:
    """(row, column) of a data cell, read back from its column heading ids."""
    ids = cell[2]["headers"].split()
    col = int(ids[-1].rsplit("-", 1)[1])
    row = [int(i.split("-hr")[1].split("-")[0]) for i in ids if "-hr" in i]
    return (max(row) if row else -1, col)


def test_wide_tables_scroll_in_a_focusable_labelled_region(tables: dict) -> None:
    for t in tables.values():
        p = _Cells()
        p.feed(t.to_html())
        region = [a for a in p.wrappers if a.get("role") == "region"]
        assert len(region) == 1 and region[0].get("tabindex") == "0", t.id
        assert region[0]["aria-labelledby"] == f"{t.id}-caption"
        assert f'<caption id="{t.id}-caption">' in t.to_html()


def test_model_notes_on_the_fit_are_footnotes_of_their_table() -> None:
    """Separation or a skipped block, noted by the estimation, is printed under the table
    of that model only."""
    j = J[0]
    note = Fact(f"model.{j}.note.1", "quasi-complete separation in {ogrs_band}: ogrs_band = "
                "Low predicts the outcome", "Model note 1", "text")
    base = hand_registry()
    reg = Registry([*base.values(), note])
    tables = {t.id: t for t in build_tables(reg, EDITION)}
    assert any("quasi-complete separation" in n for n in tables["tableB3"].notes)
    assert not any("separation" in n for n in tables["tableB4"].notes)
    plain = {t.id: t for t in build_tables(base, EDITION)}["tableB3"]
    assert not any("Note on the estimation" in n for n in plain.notes)
