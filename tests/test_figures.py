"""Figures 2-5 from a small hand-made registry: values, suppression, alt text, bytes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from bulletin.config import load_edition
from bulletin.facts import Fact, Registry, RegistryBuilder, slug
from bulletin.figures import Bar, Figure, _judgement_ymax, make_figures
from bulletin.words import round_half_up, typeset

EDITION = load_edition("2018-19")
BANDS = EDITION.analysis.banding("caseload_band").labels
JUDGEMENTS = EDITION.analysis.judgement_keys


def _registry(small_band: str | None = None) -> Registry:
    """Made-up answers: yes falls and no rises with caseload; one band may be tiny."""
    b = RegistryBuilder()
    for i, band in enumerate(BANDS):
        yes, no = 90 - 12 * i, 20 + 9 * i
        if band == small_band:
            yes, no = 3, 2
        b.count(f"fig2.{slug(band)}.yes", yes, f"{band}: yes")
        b.count(f"fig2.{slug(band)}.no", no, f"{band}: no")
        b.proportion(f"fig2.{slug(band)}", yes, yes + no, f"{band}")
        n = 100 + i
        b.proportion(f"b1.caseload_band.{slug(band)}.sentence_implemented",
                     3 if band == small_band else n - 10 - 3 * i,
                     4 if band == small_band else n, band)
    for q, (y, n_) in {"skills_knowledge": ((811, 1000), (41, 80)),
                       "relationships_desistance": ((700, 1000), (90, 200)),
                       "relationships_harm": ((650, 1000), (60, 190))}.items():
        for j_index, j in enumerate(JUDGEMENTS):
            b.proportion(f"b1.{q}.yes.{j}", y[0] - 37 * j_index, y[1], f"{q} yes {j}")
            b.proportion(f"b1.{q}.no.{j}", n_[0] - 3 * j_index, n_[1], f"{q} no {j}")
    b.add(Fact("fact.caseload_over_50.sentence_implemented.pct_yes", 71.4, "over", "percent"))
    b.add(Fact("fact.caseload_up_to_50.sentence_implemented.pct_yes", 84.2, "under",
               "percent"))
    return b.build()


@pytest.fixture(scope="module")
def figures() -> tuple[Figure, ...]:
    return make_figures(_registry(), EDITION)


def _pct(v: float) -> str:
    return f"{round_half_up(v):f}%"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg.encode())
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_four_figures_numbered_with_ids(figures: tuple[Figure, ...]) -> None:
    assert [(f.number, f.id) for f in figures] == [(n, f"figure{n}") for n in range(2, 6)]
    for f in figures:
        assert f.title and f.source.startswith("Source: HM Inspectorate of Probation")
        assert "June 2018 to June 2019" in f.source


def test_svg_is_valid_accessible_and_keeps_text(figures: tuple[Figure, ...]) -> None:
    for f in figures:
        root = ET.fromstring(f.svg.encode())
        ns = "{http://www.w3.org/2000/svg}"
        assert root.find(f"{ns}title").text == f.title
        assert root.find(f"{ns}desc").text == f.alt
        assert root.get("role") == "img"
        assert _texts(f.svg), "labels must stay text (svg.fonttype none)"
        assert "<path d=" in f.svg


def test_figure2_draws_each_count(figures: tuple[Figure, ...]) -> None:
    reg = _registry()
    texts = _texts(figures[0].svg)
    for band in BANDS:
        for answer in ("yes", "no"):
            assert str(reg[f"fig2.{slug(band)}.{answer}"].value) in texts
        assert typeset(band) in texts  # as printed: "51–60" with an en dash
        assert "-" not in typeset(band) and ("-" not in band or band not in texts)


def test_figure3_prints_rounded_percentages(figures: tuple[Figure, ...]) -> None:
    reg = _registry()
    texts = _texts(figures[1].svg)
    for band in BANDS:
        v = reg[f"b1.caseload_band.{slug(band)}.sentence_implemented.pct_yes"].value
        assert _pct(v) in texts
        assert _pct(v) in figures[1].alt
    assert "71%" in figures[1].alt and "84%" in figures[1].alt


def test_figures4_and_5_show_yes_and_no_for_each_judgement(
        figures: tuple[Figure, ...]) -> None:
    reg = _registry()
    fig4, fig5 = figures[2], figures[3]
    for j in JUDGEMENTS:
        for answer in ("yes", "no"):
            v = reg[f"b1.skills_knowledge.{answer}.{j}.pct_yes"].value
            assert _pct(v) in _texts(fig4.svg)
            assert _pct(v) in fig4.alt
    for q, j in (("relationships_desistance", "supports_desistance"),
                 ("relationships_harm", "supports_safety")):
        for answer in ("yes", "no"):
            v = reg[f"b1.{q}.{answer}.{j}.pct_yes"].value
            assert _pct(v) in _texts(fig5.svg)
    # direct labels instead of a legend
    words = " ".join(_texts(fig4.svg))
    assert "Has the" in words and "Lacks the" in words
    assert "legend" not in fig4.svg


def test_suppressed_values_are_never_drawn_as_numbers() -> None:
    band = BANDS[2]
    reg = _registry(small_band=band)
    fig2, fig3 = make_figures(reg, EDITION)[:2]
    assert reg[f"fig2.{slug(band)}.yes"].suppressed
    texts2 = _texts(fig2.svg)
    assert texts2.count("[c]") == 2 and "3" not in texts2 and "2" not in texts2
    assert "suppressed" in fig2.alt
    texts3 = _texts(fig3.svg)
    assert "[c]" in texts3 and "75%" not in texts3
    assert "75%" not in fig3.alt


def test_palette_is_the_analysis_function_one(figures: tuple[Figure, ...]) -> None:
    fills = set(re.findall(r"fill: (#[0-9a-fA-F]{6})", "".join(f.svg for f in figures)))
    bar_colours = fills - {"#ffffff", "#0b0c0c", "#505a5f"}
    # the palette, plus the darker orange its orange series is named in (as text)
    assert bar_colours and bar_colours <= {"#12436d", "#f46a25", "#28a197", "#801650",
                                           "#b2470f"}


def test_same_registry_same_bytes(figures: tuple[Figure, ...]) -> None:
    again = make_figures(_registry(), EDITION)
    assert [f.svg for f in again] == [f.svg for f in figures]
    assert "dc:date" not in figures[0].svg


def test_alt_text_changes_with_the_data(figures: tuple[Figure, ...]) -> None:
    b = RegistryBuilder()
    for key, fact in _registry().items():
        if key == "b1.skills_knowledge.no.supports_safety.pct_yes":
            fact = Fact(key, 12.0, fact.label, fact.unit, 6, 50)
        b.add(fact)
    other = make_figures(b.build(), EDITION)[2]
    assert "12%" in other.alt and "12%" not in figures[2].alt


def test_missing_fact_is_a_clear_error() -> None:
    from bulletin.errors import BulletinError

    reg = Registry([f for k, f in _registry().items() if not k.startswith("fig2.71+")])
    with pytest.raises(BulletinError, match="fig2.71"):
        make_figures(reg, EDITION)


def test_tiny_data_all_suppressed_draws_no_number() -> None:
    b = RegistryBuilder()
    for key, fact in _registry().items():
        if fact.unit in ("percent", "count"):
            fact = Fact(key, fact.value, fact.label, fact.unit, fact.count, fact.base,
                        suppressed=True)
        b.add(fact)
    for fig in make_figures(b.build(), EDITION):
        numbers = [t for t in _texts(fig.svg) if re.search(r"\d", t)
                   and typeset(t) not in map(typeset, BANDS) and "50" not in t]
        assert numbers == [], (fig.id, numbers)
        assert "suppressed" in fig.alt


def test_chart_labels_round_half_up_like_the_text() -> None:
    b = RegistryBuilder()
    for key, fact in _registry().items():
        if key == f"b1.caseload_band.{slug(BANDS[0])}.sentence_implemented.pct_yes":
            fact = Fact(key, 62.5, fact.label, fact.unit, 125, 200)
        b.add(fact)
    fig3 = make_figures(b.build(), EDITION)[1]
    assert "63%" in _texts(fig3.svg) and "62%" not in _texts(fig3.svg)


def test_titles_follow_the_direction_of_the_data(figures: tuple[Figure, ...]) -> None:
    assert figures[1].title.startswith("Sentences were implemented effectively less often")
    assert figures[2].title.startswith("Every judgement was more often positive")
    b = RegistryBuilder()
    for key, fact in _registry().items():
        if key == "fact.caseload_over_50.sentence_implemented.pct_yes":
            fact = Fact(key, 90.0, fact.label, fact.unit)
        if key == "b1.skills_knowledge.no.supports_safety.pct_yes":
            fact = Fact(key, 99.0, fact.label, fact.unit, 79, 80)
        b.add(fact)
    flipped = make_figures(b.build(), EDITION)
    assert "more often where officers held more than 50" in flipped[1].title
    assert flipped[2].title.startswith("Inspectors' judgements, by whether")  # mixed


def test_figure2_title_names_the_band_where_no_overtakes_yes(
        figures: tuple[Figure, ...]) -> None:
    reg = _registry()
    first = next(band for band in BANDS
                 if reg[f"fig2.{slug(band)}.no"].value > reg[f"fig2.{slug(band)}.yes"].value)
    assert f"From caseloads of {typeset(first)} upwards" in figures[0].title


def test_framework_artwork_is_accessible_and_complete() -> None:
    from bulletin.config import PROJECT_DIR

    svg = (PROJECT_DIR / "figures" / "standards-framework.svg").read_text(encoding="utf-8")
    root = ET.fromstring(svg.encode())
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img" and root.get("aria-labelledby") == "title desc"
    desc = root.find(f"{ns}desc").text
    drawn = " ".join(" ".join(t.itertext()) for t in root.iter(f"{ns}text"))
    for standard in ("1.1 Leadership", "1.2 Staff", "1.3 Services",
                     "1.4 Information and facilities", "2.1 Assessment", "2.2 Planning",
                     "2.3 Implementation and delivery", "2.4 Reviewing"):
        assert standard in desc
        number, name = standard.split(" ", 1)
        assert number in drawn and name in drawn
    for words_ in ("court work", "unpaid work", "through the gate"):
        assert words_ in desc and words_ in drawn


def test_paired_series_stay_apart_in_greyscale() -> None:
    from bulletin.figures import DARK_BLUE, ORANGE

    def lightness(hex_colour: str) -> float:
        """CIE L* (0-100) of an sRGB colour: what a greyscale print keeps."""
        def lin(c: float) -> float:
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b = (lin(int(hex_colour[i:i + 2], 16) / 255) for i in (1, 3, 5))
        y = 0.2126 * r + 0.7152 * g + 0.0722 * b
        return 116 * y ** (1 / 3) - 16 if y > 216 / 24389 else y * 24389 / 27

    assert abs(lightness(ORANGE) - lightness(DARK_BLUE)) > 30
    assert lightness("#FFFFFF") - lightness(ORANGE) > 30  # and from the white page


def test_percentage_scale_fits_the_bars_and_leaves_room_for_labels() -> None:
    def bars(*values: float) -> list[Bar]:
        return [Bar(f"g{i // 2}", "yes" if i % 2 == 0 else "no",
                    Fact(f"fig.bar{i}.pct_yes", v, "l", "percent", 40, 60))
                for i, v in enumerate(values)]

    low = bars(67.0, 29.0, 62.0, 25.0)
    top = _judgement_ymax(low)
    assert top < 100  # no band of white over bars that stop at two thirds
    assert top >= 67.0 * 1.4 and top >= 62.0 * 1.15  # series names and values fit
    assert _judgement_ymax(bars(98.0, 97.0)) == 125  # capped


def _contrast(hex_colour: str, background: str = "#ffffff") -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""
    def lum(h: str) -> float:
        r, g, b = (int(h[i:i + 2], 16) / 255 for i in (1, 3, 5))
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(hex_colour), lum(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_chart_text_reaches_4_5_to_1_and_bars_3_to_1(figures: tuple[Figure, ...]) -> None:
    """WCAG 1.4.3 for every label (the series names too), 1.4.11 for the bars."""
    assert _contrast("#F46A25") < 4.5  # the orange bars' colour would fail as text
    texts = bars = 0
    for f in figures:
        root = ET.fromstring(f.svg.encode())
        for el in root.iter():
            m = re.search(r"fill:\s*(#[0-9a-fA-F]{6})", el.get("style", ""))
            if m is None or m.group(1).lower() == "#ffffff":
                continue
            if el.tag.endswith("}text"):
                assert _contrast(m.group(1)) >= 4.5, (f.id, m.group(1), "".join(el.itertext()))
                texts += 1
            elif el.tag.endswith("}path"):
                assert _contrast(m.group(1)) >= 3.0, (f.id, m.group(1))
                bars += 1
    assert texts > 40 and bars > 20
