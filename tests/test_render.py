"""Rendering: the document's structure and accessibility, numbers from facts only,
suppression, year-on-year wording, and a sandbox that refuses unsafe templates."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_tables import EDITION, SMALL, hand_registry

from bulletin.errors import BulletinError
from bulletin.facts import Fact, Registry
from bulletin.figures import Figure
from bulletin.render import (
    FIGURES_DIR,
    TEMPLATES_DIR,
    accessible_svg,
    render_bulletin,
)
from bulletin.words import pct


def fake_figures() -> tuple[Figure, ...]:
    """Charts shaped like matplotlib's: they all reuse the same ids."""
    svg = ('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
           'xmlns:xlink="http://www.w3.org/1999/xlink" role="img" aria-labelledby="t d">'
           '<title id="t">T</title><desc id="d">D</desc><defs><clipPath id="p1">'
           '<rect width="1" height="1"/></clipPath></defs>'
           '<g clip-path="url(#p1)"><use xlink:href="#p1"/></g></svg>')
    return tuple(Figure(n, f"figure{n}", f"Chart {n}", svg, f"Alt text {n}", "Source: test")
                 for n in (2, 3, 4, 5))


class _Doc(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Doc:
    d = _Doc()
    d.feed(html)
    return d


@pytest.fixture(scope="module")
def reg() -> Registry:
    return hand_registry()


@pytest.fixture(scope="module")
def doc(reg: Registry):
    return render_bulletin(reg, fake_figures(), EDITION)


# -- the document ------------------------------------------------------------------------

def test_print_head_carries_the_pdf_metadata(doc) -> None:
    h = doc.html_print
    assert h.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in h
    assert f"<title>{EDITION.title}</title>" in h
    authors = re.findall(r'<meta name="author" content="([^"]*)">', h)
    assert authors == list(EDITION.authors)
    assert re.search(r'<meta name="description" content="[^"]+">', h)
    assert '<link rel="stylesheet" href="print.css">' in h
    assert (TEMPLATES_DIR / "base.html.j2").is_file()
    assert doc.title == EDITION.title and doc.published == EDITION.published


def test_web_page_stands_alone(doc) -> None:
    d = parse(doc.html_web)
    assert not [a for t, a in d.tags if t in ("link", "script", "iframe")]
    loads = [a.get("src") for t, a in d.tags if t in ("img", "source", "audio", "video")]
    assert all(s and s.startswith("data:") for s in loads)
    assert "<style>" in doc.html_web
    css = TEMPLATES_DIR / "screen.css"
    if css.is_file():
        assert css.read_text(encoding="utf-8").strip()[:40] in doc.html_web


def test_heading_structure(doc) -> None:
    for html in (doc.html_print, doc.html_web):
        levels = [int(t[1]) for t, _ in parse(html).tags if re.fullmatch(r"h[1-6]", t)]
        assert levels.count(1) == 1 and levels[0] == 1
        for a, b in zip(levels, levels[1:], strict=False):
            assert b <= a + 1, f"heading level jumps from h{a} to h{b}"
        heads = re.findall(r"<h2[^>]*>([^<]*)</h2>", html)
        assert heads[:3] == ["Contents", "Executive summary", "1 Introduction"]
        assert heads[-2:] == ["Annex A: Methodology", "Annex B: Analysis outputs"]


def test_skip_link_ids_and_contents_links(doc) -> None:
    for html in (doc.html_print, doc.html_web):
        d = parse(html)
        ids = [a["id"] for _, a in d.tags if a.get("id")]
        assert len(ids) == len(set(ids)), "duplicate ids"
        assert d.tags[[t for t, _ in d.tags].index("body") + 1] == (
            "a", {"class": "skip-link", "href": "#main"})
        assert "main" in ids
        links = [a["href"][1:] for t, a in d.tags if t == "a"
                 and (a.get("href") or "").startswith("#")]
        assert set(links) <= set(ids)
        assert {"workload", "skills", "learning", "agencies", "annex-b"} <= set(links)


def test_tables_and_figures_are_in_place(doc) -> None:
    assert [t.id for t in doc.tables][:3] == ["table1", "table2", "tableA1"]
    for html in (doc.html_print, doc.html_web):
        for t in doc.tables:
            assert re.search(rf'<div class="table-wrap( keep)?" id="{t.id}">', html)
        for n in range(1, 6):
            m = re.search(rf'<figure class="figure" id="figure{n}">(.*?)</figure>', html, re.S)
            assert m and re.search(f"<figcaption[^>]*>Figure {n}: ", m.group(1))
            # title first, then the chart, then its source: print and web read alike
            body = m.group(1)
            assert body.index("<figcaption") < body.index('class="figure-art"')
            if 'class="figure-source"' in body:
                assert body.index('class="figure-art"') < body.index('class="figure-source"')
    assert doc.html_web.count("XBULLETINBLOCKX") == doc.html_print.count("XBULLETINBLOCKX") == 0


def test_print_figures_are_images_with_alt(doc) -> None:
    imgs = [a for t, a in parse(doc.html_print).tags if t == "img"]
    alts = [a["alt"] for a in imgs]
    assert [f"Alt text {n}" for n in (2, 3, 4, 5)] == alts[1:]
    assert alts[0].startswith("Diagram of the inspection standards framework")
    assert all(a["src"].startswith("data:image/svg+xml;base64,") for a in imgs)


def test_web_figures_are_labelled_svg(doc) -> None:
    svgs = [a for t, a in parse(doc.html_web).tags if t == "svg"]
    assert len(svgs) == 5
    assert all(a.get("role") == "img" for a in svgs)
    assert all(a.get("aria-label") or a.get("aria-labelledby") for a in svgs)
    assert 'aria-labelledby="figure2-t figure2-d"' in doc.html_web
    assert 'clip-path="url(#figure3-p1)"' in doc.html_web


def test_quotes_are_marked_illustrative(doc) -> None:
    quotes = re.findall(r'<blockquote class="([^"]+)">', doc.html_web)
    assert quotes and all(q == "quote illustrative" for q in quotes)
    assert doc.html_web.count("(illustrative)</p>") == len(quotes)


# -- numbers come from the registry ------------------------------------------------------

def _section(html: str, name: str) -> str:
    m = re.search(rf'<section class="section section-{name}[^"]*" id="section-{name}">'
                  r"(.*?)</section>", html, re.S)
    assert m, name
    return re.sub(r"<svg.*?</svg>", "", m.group(1), flags=re.S)


def test_narrative_numbers_follow_the_facts(reg: Registry) -> None:
    key = "table1.workload_manageable.pct_yes"
    other = replace(reg[key], value=72.4, count=724, base=1000)
    changed = Registry([other if f.key == key else f for f in reg.values()])
    before = _section(render_bulletin(reg, fake_figures(), EDITION).html_web, "workload")
    after = _section(render_bulletin(changed, fake_figures(), EDITION).html_web, "workload")
    assert f"({pct(reg[key])})" in before and f"({pct(other)})" not in before
    assert f"({pct(other)})" in after and "just over seven in ten" in after.lower()


def test_headline_names_only_standards_in_the_models(doc) -> None:
    """The hand models keep one Staff question (skills) and no Services question."""
    summary = _section(doc.html_web, "summary")
    assert "organisational standard on staff (standard 1.2)." in summary
    assert "standard 1.3" not in summary


def test_suppressed_fact_renders_as_the_mark(reg: Registry, doc) -> None:
    q, ans, j = SMALL
    hidden = reg[f"b1.{q}.{ans}.{j}.pct_yes"]
    assert hidden.suppressed
    text = _section(doc.html_web, "skills")
    assert '<abbr class="suppressed"' in text
    assert not re.search(rf"(?<![\d.]){re.escape(pct(hidden.value))}", text)


def test_year_on_year_only_with_a_previous_edition(reg: Registry, doc) -> None:
    ed = replace(EDITION, previous="2017-18")
    key = "table1.workload_manageable.pct_yes"
    f = reg[key]
    old = replace(f, value=36.0, count=360, base=1000)
    previous = Registry([old if x.key == key else x for x in reg.values()])
    with_prev = render_bulletin(reg, fake_figures(), ed, previous).html_web
    assert f"up from {pct(old)} in 2017/18" in with_prev
    assert "in 2017/18" not in doc.html_web and " from " + pct(old) not in doc.html_web


def test_no_stray_punctuation_where_last_year_has_nothing_to_say(reg: Registry) -> None:
    # A previous edition whose figures are withheld: the year-on-year clauses drop out
    # whole, leaving no empty brackets or doubled commas behind.
    ed = replace(EDITION, previous="2017-18")
    previous = Registry([replace(x, suppressed=True) if x.key.startswith("table1.") else x
                         for x in reg.values()])
    html = render_bulletin(reg, fake_figures(), ed, previous).html_web
    assert "2017/18" not in html
    main = re.sub(r"<svg\b.*?</svg>|<[^>]+>", "", html.split('<main id="main">')[1], flags=re.S)
    for stray in ("()", " ,", ",,", ", ."):
        assert stray not in main, stray


# -- the sandbox and located errors --------------------------------------------------------

@pytest.fixture()
def tdir(tmp_path: Path) -> Path:
    """A templates folder with one section, whose content each test writes."""
    d = tmp_path / "templates"
    (d / "sections").mkdir(parents=True)
    for name in ("base.html.j2", "labels.toml", "quotes.toml", "references.toml"):
        shutil.copy(TEMPLATES_DIR / name, d / name)
    (d / "outline.toml").write_text('sections = ["01-test.md.j2"]\n', encoding="utf-8")
    return d


def _render_one(tdir: Path, body: str, reg: Registry | None = None) -> str:
    (tdir / "sections" / "01-test.md.j2").write_text(body, encoding="utf-8")
    return render_bulletin(reg or hand_registry(), fake_figures(), EDITION,
                           templates_dir=tdir, figures_dir=FIGURES_DIR).html_web


def test_minimal_section_renders(tdir: Path) -> None:
    out = _render_one(tdir, "## Hello {: #hello }\n\n{{ fact('fact.ro_interviews') }} "
                            "interviews, {{ fact('table1.skills_knowledge.pct_yes') | pct }}.\n")
    assert '<h2 id="hello">Hello</h2>' in out and "<p>1,965 interviews," in out


@pytest.mark.parametrize(("body", "message"), [
    ("Fine line\n\n{{ fact('table1.no_such_question.pct_yes') | pct }}\n",
     r"01-test\.md\.j2, line 3: unknown fact key 'table1\.no_such_question\.pct_yes'"),
    ("One\nTwo {{ fact('fact.ro_interviews') | percentage }}\n",
     r"01-test\.md\.j2, line 2: unknown filter 'percentage'"),
    ("{{ no_such_name }}\n", r"01-test\.md\.j2, line 1: 'no_such_name' is not defined"),
    ("{% if %}\n", r"01-test\.md\.j2, line 1: "),
    ("{{ figure(9) }}\n", r"line 1: no figure 9"),
    ("{{ quotes('nowhere') }}\n", r"quotes\.toml: no quotes for section 'nowhere'"),
    ("{{ cite('nobody1999') }}\n", r"no reference with key 'nobody1999'"),
])
def test_faults_name_the_template_and_line(tdir: Path, body: str, message: str) -> None:
    with pytest.raises(BulletinError, match=message):
        _render_one(tdir, body)


@pytest.mark.parametrize("body", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ fact.__globals__ }}",
    "{{ edition.__class__.__init__.__globals__ }}",
    "{{ fact('fact.ro_interviews').__class__ }}",
    "{{ namespace.__init__.__globals__['os'] }}",
])
def test_python_internals_are_refused(tdir: Path, body: str) -> None:
    with pytest.raises(BulletinError, match=r"01-test\.md\.j2, line 1: .*"
                                            r"(Python internals|undefined|no attribute)"):
        _render_one(tdir, f"{body}\n")


def test_reaching_for_internals_names_the_refusal(tdir: Path) -> None:
    with pytest.raises(BulletinError, match="refused: the template tried to reach Python "
                                            "internals"):
        _render_one(tdir, "{{ ''.__class__.__mro__ }}\n")


def test_templates_see_no_paths_or_registries(tdir: Path) -> None:
    for body in ("{{ edition.data_file }}", "{{ edition.analysis }}",
                 "{{ previous.from_csv }}"):
        with pytest.raises(BulletinError, match="line 1"):
            _render_one(tdir, body + "\n")


def test_suppressed_number_cannot_be_read_as_an_attribute(tdir: Path) -> None:
    q, ans, j = SMALL
    key = f"b1.{q}.{ans}.{j}.pct_yes"
    reg = hand_registry()
    out = _render_one(tdir, f"V {{{{ fact('{key}').value }}}} C {{{{ fact('{key}').count }}}} "
                            f"S {{{{ fact('{key}') | share_of('officers') }}}}\n", reg)
    body = out[out.index("<main"):]
    assert body.count('<abbr class="suppressed"') == 3
    assert str(reg[key].count) not in re.sub(r"<[^>]+>", "", body).split()


def test_text_facts_are_escaped(tdir: Path) -> None:
    reg = hand_registry({"a1.01.provider": Fact("a1.01.provider", "<script>x</script>",
                                                "provider", "text")})
    out = _render_one(tdir, "{{ fact('a1.01.provider') }}\n", reg)
    assert "<script>" not in out and "&lt;script&gt;" in out


# -- SVG ---------------------------------------------------------------------------------

def test_accessible_svg_adds_role_name_and_title() -> None:
    out = accessible_svg('<?xml version="1.0"?><svg width="1"><g id="a"/>'
                         '<use href="#a"/></svg>', 'Bars "a" & b', "f2-")
    assert out.startswith('<svg width="1" role="img" aria-label="Bars &quot;a&quot; &amp; b">'
                          '<title>Bars &quot;a&quot; &amp; b</title>')
    assert 'id="f2-a"' in out and 'href="#f2-a"' in out


def test_missing_artwork_fails_clearly(tmp_path: Path, reg: Registry) -> None:
    with pytest.raises(BulletinError, match=r"standards-framework\.svg: file not found"):
        render_bulletin(reg, fake_figures(), EDITION, figures_dir=tmp_path)


def test_fact_registry_change_is_needed_for_a_new_number(reg: Registry) -> None:
    """A fact the templates read, removed from the registry, fails the build."""
    facts = [f for f in reg.values() if f.key != "fact.cases_inspected"]
    with pytest.raises(BulletinError, match=r"05-findings\.md\.j2, line \d+: unknown fact "
                                            r"key 'fact\.cases_inspected'"):
        render_bulletin(Registry(facts), fake_figures(), EDITION)


def test_print_footnote_sits_on_the_page_of_its_call() -> None:
    # A note called on a page that a later, unbreakable figure pushes off. WeasyPrint
    # leaves the footnote area's own padding and margin out when it checks the note
    # fits, and moved such notes to the next page; print.css keeps that area bare.
    import io

    import weasyprint
    from pypdf import PdfReader

    css = (TEMPLATES_DIR / "print.css").read_text(encoding="utf-8")
    para = "<p>" + "Words of ordinary running text for the page. " * 30 + "</p>"
    html = ("<html><body><main><section>" + para * 2
            + '<p>A sentence with a note.<span class="footnote">The note.</span></p>' + para
            + '<figure class="figure"><div style="height:200mm">art</div></figure>' + para
            + "</section></main></body></html>")
    pdf = weasyprint.HTML(string=html).write_pdf(stylesheets=[weasyprint.CSS(string=css)])
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages]
    call = [i for i, text in enumerate(pages) if "with a note" in text]
    note = [i for i, text in enumerate(pages) if "The note." in text]
    assert call == note == [0]


def test_relationships_footnote_hangs_on_table_one(doc) -> None:
    """The note on the relationship questions' fewer answers belongs to the sentence
    introducing Table 1 (their answers), not to one about quoting officers."""
    findings = _section(doc.html_print, "findings")  # the web edition lists notes apart
    notes = list(re.finditer(r'<span class="footnote">(.*?)</span>', findings, re.S))
    rel = [m for m in notes if "relationships with other agencies" in m.group(1)]
    assert len(rel) == 1
    before = re.sub(r"<[^>]+>", "", findings[:rel[0].start()])
    sentence = re.split(r"(?<=[.:])\s+", before.strip())[-1]
    assert "Table 1" in sentence, sentence
    assert "quote" not in sentence and "explanations" not in sentence, sentence


@pytest.mark.parametrize(("value", "only"), [(40.0, True), (71.2, False)])
def test_only_in_the_conclusion_follows_the_figure(reg: Registry, value: float,
                                                   only: bool) -> None:
    key = "table1.workload_manageable.pct_yes"
    f = replace(reg[key], value=value, count=round(value * 10), base=1000)
    changed = Registry([f if x.key == key else x for x in reg.values()])
    text = _section(render_bulletin(changed, fake_figures(), EDITION).html_web, "conclusion")
    assert f"which {pct(f)} of officers" in text or f"which only {pct(f)}" in text
    assert (f"which only {pct(f)} of officers" in text) is only


def test_summary_claims_no_coverage_the_data_cannot_show(doc) -> None:
    """The data count the providers inspected, not how many exist: no "all"."""
    summary = _section(doc.html_web, "summary")
    assert "Community Rehabilitation Companies" in summary
    assert not re.search(r"\ball\s+(?:<[^>]+>)?\s*\d", summary)


def test_key_findings_claim_association_not_causation(doc) -> None:
    """The method says the models show association, not cause: the findings say so too."""
    summary = re.sub(r"<[^>]+>", "", _section(doc.html_web, "summary")).lower()
    assert "linked to" in summary
    for causal in ("make a difference", "makes a difference", "cause", "leads to",
                   "lead to", "result in", "improves", "drives"):
        assert causal not in summary, causal


def test_web_tables_link_to_their_published_csv(reg: Registry, doc, tmp_path: Path) -> None:
    """Each table in the web edition links to its CSV, at the path publish writes it to;
    the print edition has no such links (they would go nowhere in a PDF)."""
    from bulletin.publish import publish

    d = parse(doc.html_web)
    hrefs = [a["href"] for t, a in d.tags if t == "a" and (a.get("href") or "")
             .endswith(".csv")]
    assert hrefs == [t.csv_path for t in doc.tables]
    for t in doc.tables:
        assert re.search(rf'id="{t.id}">.*?</table>(?:(?!<table).)*?</div>\s*'
                         r'<p class="table-download">'
                         rf'<a href="{re.escape(t.csv_path)}"[^>]*>Download Table '
                         rf'{t.number} \(CSV\)</a>', doc.html_web, re.S), t.id
    assert ".csv" not in doc.html_print and "table-download" not in doc.html_print
    others = [a["href"] for t, a in d.tags if t == "a" and a.get("href")
              and not a["href"].startswith(("#", "https://")) and a["href"] not in hrefs]
    assert not others, "the web page may link only to its own table CSVs"
    publish(doc, reg, fake_figures(), tmp_path / "out", formats=("csv",))
    for href in hrefs:
        assert (tmp_path / "out" / href).is_file(), href


CONCLUSION_TESTS = {
    "caseloads": "fact.caseload_over_50.diff.sentence_implemented.p",
    "skills": "b1.skills_knowledge.diff.sentence_implemented.p",
    "training": "b1.inservice_training.diff.sentence_implemented.p",
    "agencies": "b1.relationships_desistance.diff.supports_desistance.p",
}


@pytest.mark.parametrize("kept", [(), ("training",), ("caseloads", "agencies"),
                                  tuple(CONCLUSION_TESTS)])
def test_conclusion_names_only_factors_with_a_significant_difference(
        reg: Registry, kept: tuple[str, ...]) -> None:
    p_keys = set(CONCLUSION_TESTS.values()) | {
        "b1.relationships_harm.diff.supports_safety.p"}
    wanted = {CONCLUSION_TESTS[k] for k in kept}
    changed = Registry([replace(f, value=0.001 if f.key in wanted else 0.5)
                        if f.key in p_keys else f for f in reg.values()])
    text = _section(render_bulletin(changed, fake_figures(), EDITION).html_web, "conclusion")
    text = re.sub(r"<[^>]+>", "", text).replace("&#39;", "'")
    m = re.search(r"The factors? that stood out [^.]*\.", text)
    sentence = m.group(0) if m else ""
    phrases = {"caseloads": "officers' caseloads", "skills": "had the skills",
               "training": "access to training", "agencies": "relationships with other"}
    assert {k for k, phrase in phrases.items() if phrase in sentence} == set(kept), text
    assert ("stood out" in text) is bool(kept)
    if len(kept) == 1:
        assert "The factor that stood out was" in text


def test_a_misspelt_part_handed_to_a_filter_is_named(tdir: Path) -> None:
    body = ('{% set sk = b1("skills_knowledge", "sentence_implemented") %}\n'
            "Text {{ sk.noo | pct }}.\n")
    with pytest.raises(BulletinError, match=r"01-test\.md\.j2, line 2: the filter 'pct' was "
                                            r"given part 'noo' \(the parts here are yes, no, "
                                            r"p\), which is not defined"):
        _render_one(tdir, body)


def test_an_unknown_model_variable_stops_the_render(tdir: Path) -> None:
    with pytest.raises(BulletinError, match=r"line 1: unknown model variable "
                                            r"'workload_managable'; Did you mean "
                                            r"'workload_manageable'"):
        _render_one(tdir, '{% if in_model("supports_desistance", "workload_managable") %}'
                          "x{% endif %}\n")
