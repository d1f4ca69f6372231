"""The shipped demonstration data, through the real pipeline, against the published bulletin.

Every printed cell of Tables 1, 2, B1 and B2 and every fact quoted in the text must come
out equal at the precision it was printed with, and forward stepwise selection must pick
the published variables for Tables B3 to B5. In those tables every significance mark
(term and joint test) must be the published one, and every B must lie within a quarter of
a published standard error of the printed value, both as computed and as printed to two
places. The coefficients are printed beside the published ones (run with -s to see them);
the star and gap summary is also printed at the end of the run.
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal

import pytest

from bulletin import words
from bulletin.analysis.run import analyse
from bulletin.collect import collect_facts
from bulletin.config import PACKAGE_DIR, load_edition
from bulletin.facts import Registry, slug
from bulletin.validate import load_valid

pytestmark = pytest.mark.slow
REFERENCE = PACKAGE_DIR / "reference" / "hmip_2020_01"
EDITION = load_edition("2018-19")
SETTINGS = EDITION.analysis
# Column prefixes of Tables B1 and B2 -> judgement keys
JUDGEMENT_COLUMNS = {"sentence": "sentence_implemented", "desistance": "supports_desistance",
                     "safety": "supports_safety"}
MODELS = {"B3": "sentence_implemented", "B4": "supports_desistance", "B5": "supports_safety"}
B_GAP = 0.25  # most distance of a B from the printed value, in published SEs
SE_FLOOR = 0.005  # a published SE printed as 0.00 is below half a unit of the last place


def rows(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def printed(value: float, places: int) -> Decimal:
    """A percentage as the bulletin prints it: rounded half up."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def registry() -> Registry:
    frame = load_valid(EDITION.data_file, SETTINGS)
    return collect_facts(analyse(frame, EDITION), EDITION)


class Cells:
    """Collects the comparison of every published cell, so one failure lists them all."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.compared = 0
        self.wrong: list[str] = []

    def pct(self, key: str, published: str, places: int) -> None:
        self.compared += 1
        got = self.registry.value(key)
        want = Decimal(published).quantize(Decimal(1).scaleb(-places))
        if got is None or printed(got, places) != want:
            self.wrong.append(f"{key}: computed {got!r}, published {published}")

    def n(self, key: str, published: str) -> None:
        self.compared += 1
        got = self.registry.value(key)
        if got != int(published):
            self.wrong.append(f"{key}: computed {got!r}, published {published}")


def test_every_published_table_cell(registry: Registry) -> None:
    cells = Cells(registry)
    pct_cells = 0
    for r in rows("table1_interview_questions.csv"):
        cells.pct(f"table1.{r['key']}.pct_yes", r["pct_yes"], 0)
        pct_cells += 1
    for r in rows("table2_inspector_judgements.csv"):
        cells.pct(f"table2.{r['key']}.pct_yes", r["pct_yes"], 0)
        cells.n(f"table2.{r['key']}.n", r["n"])
        pct_cells += 1
    for table, prefix, var, level in (("tableB1_by_interview_response.csv", "b1", "key",
                                       "response"),
                                      ("tableB2_by_case_variable.csv", "b2", "variable",
                                       "category")):
        for r in rows(table):
            for column, j in JUDGEMENT_COLUMNS.items():
                if not r[f"{column}_n"]:  # a known misprint, left empty in the reference
                    continue
                key = f"{prefix}.{r[var]}.{slug(r[level])}.{j}"
                cells.pct(f"{key}.pct_yes", r[f"{column}_pct_yes"], 1)
                cells.n(f"{key}.n", r[f"{column}_n"])
                pct_cells += 1
    print(f"\ngolden: {cells.compared} published table cells compared "
          f"({pct_cells} percentages, {cells.compared - pct_cells} counts); "
          f"{len(cells.wrong)} differ")
    assert cells.wrong == []
    assert pct_cells == 192


def test_every_text_fact(registry: Registry) -> None:
    facts = {r["key"]: r for r in rows("text_facts.csv")}
    v = registry.value
    exact = {"cases_inspected": "fact.cases_inspected", "ro_interviews": "fact.ro_interviews",
             "ro_interviews_crc": "fact.ro_interviews_crc",
             "ro_interviews_nps": "fact.ro_interviews_nps",
             "providers_crc": "fact.providers_crc", "providers_nps": "fact.providers_nps"}
    checked = {}
    for name, key in exact.items():
        checked[name] = v(key) == int(facts[name]["value"])
    for name in ("fieldwork_start", "fieldwork_end"):
        checked[name] = v(f"fact.{name}") == facts[name]["value"]
    for name, key in (("nps_staff_caseload_over_50", "fact.caseload_over_50.nps.pct"),
                      ("crc_staff_caseload_over_50", "fact.caseload_over_50.crc.pct")):
        checked[name] = printed(v(key), 0) == Decimal(facts[name]["value"])
    # "about seven in ten": the nearest ten per cent
    for name, key in (("crc_rosh_medium", "fact.rosh.crc.medium.pct"),
                      ("sentence_caseload_over_50",
                       "fact.caseload_over_50.sentence_implemented.pct_yes")):
        checked[name] = round(v(key) / 10) * 10 == int(facts[name]["value"])
    # Figure 2: more yes than no in every band up to 50 cases, more no in every band above
    bands = SETTINGS.banding("caseload_band").bands
    checked["manageable_by_caseload"] = all(
        (v(f"fig2.{slug(b.label)}.yes") > v(f"fig2.{slug(b.label)}.no"))
        == (b.high is not None and b.high <= 50) for b in bands)
    assert v("fact.providers") == v("fact.providers_crc") + v("fact.providers_nps")
    assert set(checked) == set(facts)
    print(f"\ngolden: {len(checked)} text facts compared; "
          f"{sum(not ok for ok in checked.values())} differ")
    assert [name for name, ok in checked.items() if not ok] == []


def test_annex_a_providers(registry: Registry) -> None:
    published = {(r["provider"], r["provider_type"], r["report_published"])
                 for r in rows("tableA1_providers.csv")}
    ours = []
    k = 1
    while f"a1.{k:02d}.provider" in registry:
        ours.append(tuple(registry.value(f"a1.{k:02d}.{f}")
                          for f in ("provider", "provider_type", "report_month")))
        k += 1
    assert set(ours) == published and len(ours) == len(published)
    assert [m for _, _, m in ours] == sorted(m for _, _, m in ours)


def model_rows(registry: Registry) -> list[tuple[str, str, str, dict, dict]]:
    """(model, outcome, row name, computed, published) for every published model row."""
    out = []
    for r in rows("tableB3_B5_regression_models.csv"):
        j = MODELS[r["model"]]
        term, level = r["term"], r["level"]
        key = f"model.{j}.{term}" + (f".{slug(level)}" if level else "")
        stats = ("b", "se", "odds_ratio") if r["B"] else ("p",)
        ours = {s: registry.get(f"{key}.{s}") for s in stats}
        ours = {s: (f.value if f is not None else None) for s, f in ours.items()}
        name = term + (f" = {level}" if level else f" (ref {r['reference_level']})"
                       if r["reference_level"] else "")
        out.append((r["model"], j, name, ours, r))
    return out


def test_models_select_the_published_variables(registry: Registry) -> None:
    published: dict[str, set[str]] = {}
    for r in rows("tableB3_B5_regression_models.csv"):
        if r["term"] != "constant":
            published.setdefault(MODELS[r["model"]], set()).add(r["term"])
    lines = [f"{'model':<6}{'row':<42}{'B':>7}{'pub':>7}{'SE':>7}{'pub':>7}{'OR':>7}{'pub':>7}"]
    for model, _, name, ours, pub in model_rows(registry):
        if "b" not in ours:
            continue

        def fmt(x: object) -> str:
            return "" if x is None else f"{x:7.2f}"

        lines.append(f"{model:<6}{name[:41]:<42}{fmt(ours['b']):>7}{pub['B']:>7}"
                     f"{fmt(ours['se']):>7}{pub['SE']:>7}{fmt(ours['odds_ratio']):>7}"
                     f"{pub['odds_ratio']:>7}")
    print("\n" + "\n".join(lines))
    for j, wanted in published.items():
        n = registry.value(f"model.{j}.n")
        selected = set(registry.value(f"model.{j}.selected").split(", "))
        print(f"{j}: n = {n}; selected {sorted(selected)}")
        assert selected == wanted, j



class _Summary:
    """A line for pytest's terminal summary, so the figures show without -s."""

    def __init__(self, line: str) -> None:
        self.line = line

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.write_line(self.line)


def test_models_reproduce_the_published_stars_and_coefficients(
        registry: Registry, request: pytest.FixtureRequest) -> None:
    """Every significance mark of Tables B3 to B5 as published, and every B within a
    quarter of a published SE of the printed value (as computed and as printed)."""
    stars_wrong, far, rows_compared = [], [], 0
    largest, where = 0.0, ""
    for r in rows("tableB3_B5_regression_models.csv"):
        j = MODELS[r["model"]]
        key = f"model.{j}.{r['term']}" + (f".{slug(r['level'])}" if r["level"] else "")
        name = f"{r['model']} {r['term']}" + (f" = {r['level']}" if r["level"] else "")
        if r["term"] != "constant":
            rows_compared += 1
            ours = words.stars(registry.get(f"{key}.p"))
            if ours != r["stars"]:
                stars_wrong.append(f"{name}: {ours or 'none'}, published {r['stars'] or 'none'}")
        if r["B"]:
            b, b_pub = registry.value(f"{key}.b"), Decimal(r["B"])
            se_pub = max(Decimal(r["SE"]), Decimal(str(SE_FLOOR)))
            gap = max(abs(Decimal(repr(b)) - b_pub), abs(words.round_half_up(b, 2) - b_pub))
            gap_se = float(gap / se_pub)
            if gap_se > largest:
                largest, where = gap_se, name
            if gap_se > B_GAP:
                far.append(f"{name}: B = {b:.4f}, published {r['B']} (SE {r['SE']}): "
                           f"{gap_se:.2f} SE")
    line = (f"golden models: stars {rows_compared - len(stars_wrong)}/{rows_compared}; "
            f"largest B gap {largest:.2f} published SE ({where})")
    print("\n" + line)
    request.config.pluginmanager.register(_Summary(line), "golden-models-summary")
    assert rows_compared == 32
    assert stars_wrong == []
    assert far == []
