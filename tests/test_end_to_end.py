"""The demo bulletin built by the real pipeline, read back from the PDF as a reader sees it.

The PDF is the product: these tests read its text (pdftotext, the layout a reader sees)
and its structure (pypdf), and hold every number in it to the numbers file. A number
in the PDF that the registry cannot account for is a number typed into a template or
computed outside the facts stage.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from bulletin import words
from bulletin.config import PROJECT_DIR, load_edition
from bulletin.facts import Registry, slug

pytestmark = pytest.mark.slow
EDITION = load_edition("2018-19")


@dataclass(frozen=True)
class Built:
    out: Path
    registry: Registry
    text: str  # pdftotext -layout of the whole PDF
    pages: tuple[str, ...]
    html_print_footnotes: int


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("e2e") / "2018-19"
    run = subprocess.run([sys.executable, "-m", "bulletin", "build", "--edition", "2018-19",
                          "--out", str(out)], cwd=PROJECT_DIR, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    text = subprocess.run(["pdftotext", "-layout", str(out / "bulletin.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    html = (out / "bulletin.html").read_text(encoding="utf-8")
    return Built(out, Registry.from_csv(out / "numbers.csv"), text,
                 tuple(text.split("\f")), html.count('class="footnote"'))


def _value(reg: Registry, key: str) -> float:
    v = reg[key].value
    assert isinstance(v, int | float), key
    return float(v)


def _region(text: str, start: str, end: str) -> str:
    """The text from the line where `start` begins to the next line where `end` begins
    (both regular expressions matched against a stripped line)."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if re.match(start, line.strip()))
    j = next(k for k in range(i + 1, len(lines)) if re.match(end, lines[k].strip()))
    return "\n".join(lines[i:j])


def _has_run(region: str, cells: list[str]) -> bool:
    """Whether some line holds `cells` as consecutive whitespace-separated tokens."""
    want = [t for c in cells for t in c.split()]
    for line in region.splitlines():
        toks = line.split()
        for k in range(len(toks) - len(want) + 1):
            if toks[k:k + len(want)] == want:
                return True
    return False


# -- the document as a whole ---------------------------------------------------------------

def test_all_outputs_written(built: Built) -> None:
    for name in ("bulletin.pdf", "bulletin.html", "numbers.csv", "numbers.json"):
        assert (built.out / name).stat().st_size > 0, name
    tables = sorted(p.stem for p in (built.out / "tables").glob("*.csv"))
    assert {"table1", "table2", "tableB1", "tableB3"} <= set(tables)
    assert sorted(p.name for p in (built.out / "figures").glob("*.svg")) == \
        [f"figure{n}.svg" for n in range(1, 6)]


def test_page_count_and_page_numbers(built: Built) -> None:
    from pypdf import PdfReader

    n = len(PdfReader(built.out / "bulletin.pdf").pages)
    assert 15 <= n <= 30
    assert f"Page {n} of {n}" in built.text
    assert f"Page 2 of {n}" in built.text


def test_pdf_is_tagged_in_english_with_alt_text(built: Built) -> None:
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject

    reader = PdfReader(built.out / "bulletin.pdf")
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root
    assert root["/Lang"] == "en-GB"
    assert reader.metadata.title == EDITION.title
    assert all(a in reader.metadata.author for a in EDITION.authors)
    assert reader.metadata["/CreationDate"].startswith(
        "D:" + EDITION.published.replace("-", ""))

    figures: list[DictionaryObject] = []

    def walk(node: object) -> None:
        node = node.get_object() if hasattr(node, "get_object") else node
        if isinstance(node, DictionaryObject):
            if node.get("/S") == "/Figure":
                figures.append(node)
            kids = node.get("/K")
            if kids is not None:
                walk(kids)
        elif isinstance(node, ArrayObject):
            for kid in node:
                walk(kid)

    walk(root["/StructTreeRoot"])
    assert len(figures) == 5  # the framework diagram and four charts
    for fig in figures:
        assert len(str(fig.get("/Alt", ""))) > 40


def test_bookmarks_are_the_contents(built: Built) -> None:
    from html import unescape

    from pypdf import PdfReader

    html = (built.out / "bulletin.html").read_text(encoding="utf-8")
    chapters = [unescape(re.sub(r"<[^>]+>", "", m)) for m in
                re.findall(r'<li class="contents-h2">(.*?)</li>', html, re.S)]
    reader = PdfReader(built.out / "bulletin.pdf")
    top = [item.title for item in reader.outline if not isinstance(item, list)]
    assert top == [c.strip() for c in chapters] and len(top) >= 6


def test_contents_page_numbers_are_the_real_ones(built: Built) -> None:
    headings = ["Executive summary", "Conclusion", "References"]
    for title in headings:
        m = re.search(rf"^\s*{title}\s*\.+\s*(\d+)\s*$", built.text, re.M)
        assert m, f"{title} not in the contents"
        page = built.pages[int(m.group(1)) - 1]
        assert re.search(rf"^\s*(\d+\.?\s+)?{title}\s*$", page, re.M), title


def test_long_tables_repeat_their_header(built: Built) -> None:
    first = next(i for i, p in enumerate(built.pages) if "Table B1:" in p)
    last = next(i for i, p in enumerate(built.pages) if "Table B2:" in p)
    assert last > first, "Table B1 fits on one page: the test needs a longer table"
    for page in built.pages[first + 1:last + 1]:
        head = page.split("Table B2:")[0]
        if re.search(r"^\s+(Yes|No)\s", head, re.M):  # B1 rows on this page
            assert "Interview question" in head


# -- numbers the reader sees, against the registry --------------------------------------------

def test_executive_summary_numbers(built: Built) -> None:
    reg = built.registry
    summary = _region(built.text, r"Executive summary$", r"(\d+\.?\s+)?Introduction$")
    for q in ("workload_manageable", "relationships_desistance", "relationships_harm"):
        assert words.pct(reg[f"table1.{q}.pct_yes"]) in summary, q
    training = reg["table1.inservice_training.pct_yes"]
    assert words.pct(training) in summary or \
        words.pct(words.complement(training)) in summary


def test_every_table_b1_cell(built: Built) -> None:
    reg = built.registry
    region = _region(built.text, r"Table B1:", r"Table B2:")
    judgements = EDITION.analysis.judgement_keys
    rows = [(q, level) for q in EDITION.analysis.question_keys for level in ("yes", "no")]
    rows += [("caseload_band", slug(b)) for b in EDITION.analysis.banding("caseload_band")
             .labels]
    checked = 0
    for var, level in rows:
        cells: list[str] = []
        for j in judgements:
            n = reg.get(f"b1.{var}.{level}.{j}.n")
            pct = reg.get(f"b1.{var}.{level}.{j}.pct_yes")
            if n is None or pct is None:
                break
            if pct.suppressed:
                cell = words.SUPPRESSED
            else:
                cell = words.fixed(pct, 1) + (" [u]" if pct.unreliable else "")
            diff = reg.get(f"b1.{var}.diff.{j}.p")
            if level == "yes" and diff is not None and not diff.suppressed:
                cell += words.stars(diff)
            cells += [words.SUPPRESSED if n.suppressed else words.num(n), cell]
        else:
            assert _has_run(region, cells), f"Table B1 row {var} {level}: {cells}"
            checked += 1
    assert checked >= 2 * len(EDITION.analysis.question_keys)


def test_every_table_b3_coefficient(built: Built) -> None:
    reg = built.registry
    j = EDITION.analysis.judgements[0].key
    region = _region(built.text, r"Table B3:", r"Table B4:")
    prefixes = []
    k = 1
    while f"model.{j}.term.{k}.variable" in reg:
        var = str(reg[f"model.{j}.term.{k}.variable"].value)
        lv = reg.get(f"model.{j}.term.{k}.level")
        level = "" if lv is None or lv.value in (None, "") else slug(str(lv.value))
        p = f"model.{j}.{var}" + (f".{level}" if level else "")
        if f"{p}.b" in reg:
            prefixes.append(p)
        k += 1
    prefixes.append(f"model.{j}.constant")
    assert len(prefixes) >= 2
    for p in prefixes:
        cells = [words.typeset(words.fixed(reg[f"{p}.{s}"], 2))  # printed with "−"
                 for s in ("b", "se", "wald", "odds_ratio") if f"{p}.{s}" in reg]
        assert _has_run(region, cells), f"Table B3 row {p}: {cells}"


# -- no number from anywhere else ---------------------------------------------------------------

NUMBER = re.compile(r"(?<![\w.,/−-])([-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-−]?\.\d+)"
                    r"(?![\w/])")
# Not statistics: removed before the numbers are read.
NOT_STATISTICS = [
    re.compile(r"Page \d+ of \d+"),
    re.compile(r"\b(?:Tables?|Figures?|Annex|Annexes)\s+[A-Z]?\d+"
               r"(?:\s*(?:,|and|to|-|–)\s*[A-Z]?\d+)*"),
    re.compile(r"\b\d{4}/\d{2}\b"),                       # bulletin number, year label
    re.compile(r"\b(?:19|20)\d{2}(?:-\d{2}){0,2}\b"),     # years and dates
    re.compile(r"^\s*\d(?:\.\d)?\.?(?=\s+[A-Z])"),         # section number starting a line
    re.compile(r"(?<=\s)[1-3]\.[1-4](?=\s+[A-Z])"),       # standard number before its name
    re.compile(r"(?<=[Ss]tandards )[1-3]\.[1-4](?: and [1-3]\.[1-4])?"),
    re.compile(r"(?<=[Ss]tandard )[1-3]\.[1-4]"),
    re.compile(r"(?<=[(])[1-3]\.[1-4](?=[)])"),
    re.compile(r"(?<=\b[Dd]omain )[1-3]\b"),
    re.compile(r"(?<=\b[Dd]omains )[1-3] and [1-3]\b"),
    re.compile(r"[<>] ?\.\d+"),                            # significance thresholds
]


def _allowed(reg: Registry) -> dict[int, set[Decimal]]:
    """Every value a reader may see, at each printed precision (0-4 decimals)."""
    values: list[float] = []
    for f in reg.values():
        if f.suppressed or isinstance(f.value, str) or f.value is None:
            continue
        values.append(float(f.value))
        if f.unit == "percent":
            values.append(100 - float(f.value))  # "one in three (33 per cent) did not"
    a = EDITION.analysis
    cut = next((int(m.group(1)) for k in reg if (m := re.match(r"fact\.caseload_over_(\d+)\.",
                                                                 k))), None)
    values += [a.pin, a.pout, a.min_count, a.unreliable_base] + ([cut] if cut else [])
    values += [len(a.questions), len(a.judgements)]  # "the 17 interview questions"
    for b in a.bands:
        values += [x for band in b.bands for x in (band.low, band.high) if x is not None]
    return {d: {words.round_half_up(v, d) for v in values} for d in range(5)}


def _footnote_free(page: str, footnotes: int) -> str:
    """The page without its footnotes' numbers (calls and markers)."""
    page = re.sub(r"(?<=[A-Za-z.,;:)’”%])(\d{1,2})\b",
                  lambda m: "" if int(m.group(1)) <= footnotes else m.group(1), page)
    return re.sub(r"^(\s*)(\d{1,2})(?=\s+[A-Z])",
                  lambda m: m.group(1) if int(m.group(2)) <= footnotes else m.group(0),
                  page, flags=re.M)


def test_every_number_in_the_pdf_is_in_the_numbers_file(built: Built) -> None:
    allowed = _allowed(built.registry)
    labels = sorted({form for b in EDITION.analysis.bands for lab in b.labels
                     for form in (lab, words.typeset(lab))}, key=len, reverse=True)
    texts = {str(f.value) for f in built.registry.values() if isinstance(f.value, str)}
    texts |= {EDITION.publisher.address}  # the publisher's postal address (edition settings)
    stray: list[str] = []
    for number, page in enumerate(built.pages, start=1):
        if re.search(r"^\s*Contents\s*$", page, re.M) or \
                re.search(r"^\s*References\s*$", page, re.M):
            continue  # page numbers in the contents; years and pages in references
        page = _footnote_free(page, built.html_print_footnotes)
        for line in page.splitlines():
            clean = line
            for lab in labels:
                clean = clean.replace(lab, " ")
            for t in texts:
                if any(ch.isdigit() for ch in t):
                    clean = clean.replace(t, " ")
            for rx in NOT_STATISTICS:
                clean = rx.sub(" ", clean)
            for m in NUMBER.finditer(clean):
                token = m.group(1).replace("−", "-").replace(",", "")
                places = len(token.split(".")[1]) if "." in token else 0
                if places > 4 or Decimal(token) not in allowed[places]:
                    stray.append(f"page {number}: {m.group(1)!r} in: {line.strip()}")
    assert not stray, "numbers not in numbers.csv:\n" + "\n".join(stray[:40])


def test_annex_b_checks_of_the_models(built: Built) -> None:
    """The stability and cluster-robust tables are printed, with the registry's figures."""
    reg = built.registry
    a = EDITION.analysis
    html = (built.out / "bulletin.html").read_text(encoding="utf-8")
    assert 'id="tableB6"' in html and 'id="tableB7"' in html
    assert (built.out / "tables" / "tableB6.csv").is_file()
    assert (built.out / "tables" / "tableB7.csv").is_file()
    stability = _region(built.text, r"Table B6:", r"Table B7:")
    chosen = {j: str(reg[f"model.{j}.selected"].value).split(", ") for j in a.judgement_keys}
    for v in a.candidates:
        cells: list[str] = []
        for j in a.judgement_keys:
            cells += (["Yes"] if v in chosen[j] else []) + \
                [words.fixed(reg[f"stability.{j}.{v}.share"], 2)]
        assert _has_run(stability, cells), f"Table B6 row {v}: {cells}"
    assert _has_run(stability, [words.fixed(reg[f"stability.{j}.exact_set.share"], 2)
                                for j in a.judgement_keys])
    robust = _region(built.text, r"Table B7:", r"(No variable.s|Variables whose) significance")
    j = a.judgement_keys[0]
    for t in reg.with_prefix(f"robust.{j}."):
        if not t.endswith(".se"):
            continue
        part = t[len(f"robust.{j}."):-len(".se")]
        model = f"model.{j}.{part}"
        cells = [words.typeset(words.fixed(reg[f"{model}.b"], 3)),  # printed with "−"
                 words.fixed(reg[f"{model}.se"], 3),
                 words.stars(reg[f"{model}.p"]), words.fixed(reg[t], 3),
                 words.stars(reg[f"robust.{j}.{part}.p"])]
        assert _has_run(robust, [c for c in cells if c]), f"Table B7 row {part}: {cells}"
