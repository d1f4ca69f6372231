"""The built text of both demo editions, linted against the house style (docs/style.md).

Each edition is rendered in-process as `python -m bulletin build --edition ...` renders
it (2019-20 with its previous edition, so the year-on-year wording is in). The prose is
read from the web page (tables, figures, quotes and the reference list set aside); the
tables are read from the same page to check their dashes and signs. Every rule marked
[checked] in docs/style.md has a test here, and each test prints what it counted, so a
run with -s shows what was looked at:

    pytest tests/test_style.py -s
"""

from __future__ import annotations

import html
import re
import tomllib
from collections import Counter
from dataclasses import dataclass

import pytest

from bulletin import words
from bulletin.build import gather
from bulletin.config import load_edition, load_previous
from bulletin.figures import make_figures
from bulletin.render import TEMPLATES_DIR, render_bulletin

EDITIONS = ("2018-19", "2019-20")

# docs/style.md, "Register": casual or loose phrases.
BANNED = {
    "went with": r"\bwent with\b", "go with": r"\bgoes? with\b", "good enough": r"\bgood enough\b",
    "a lot of": r"\ba lot of\b", "huge": r"\bhuge\b", "massive": r"\bmassive\b",
    "make a difference": r"\bmakes? a difference\b", "drives": r"\bdrive[sn]?\b",
    "judgements were higher": r"\bjudgements were (?:\w+ )?(?:higher|lower)\b",
    "compared to": r"\bcompared to\b", "versus": r"\bversus\b|\bvs\.?\s", "against": r"\bagainst\b",
    "tautology": r"\bmanageability of workloads, which\b",
    "less than for a figure just below": r"\bless than (?!half\b)\w+ in \w+",
}
# docs/style.md, "Varying stock phrases": no stock phrase more than this often.
STOCK_LIMIT = 3
STOCK = ("notably higher than the", "notably lower than the", "well above the",
         "well below the", "markedly higher than the", "markedly lower than the",
         "once the other factors were taken into account",
         "with the other factors held constant", "after allowing for the other factors",
         "a statistically significant difference", "a difference that is statistically",
         "remained significantly associated",
         "once other factors were allowed for")
NGRAM, NGRAM_LIMIT = 7, 3  # no run of seven words more than three times
ABBREVIATIONS = ("CRC", "NPS", "OGRS", "RoSH", "HMPPS")
UNITS = r"(?:per cent|percentage points?|months?|years?)\b"
PAIR = re.compile(r"\b((?:(?:almost|just over|about|around|less than|more than) )?"
                  r"(?:half|(?:one|two|three|four|five|six|seven|eight|nine|nineteen) in "
                  r"(?:two|three|four|five|ten|twenty)))\b(?: of)?[^().;]{0,60}?"
                  r"\((\d+) per cent", re.I)


@dataclass(frozen=True)
class Text:
    edition: str
    prose: str  # the readable text, tables, figures, quotes and references set aside
    tables: str  # the text of the tables' cells
    references: str
    figures: str = ""  # captions, chart text and alt text of the figures


def _readable(fragment: str) -> str:
    fragment = re.sub(r"<[^>]+>", " ", fragment)
    return re.sub(r"\s+", " ", html.unescape(fragment)).strip()


@pytest.fixture(scope="module")
def texts() -> dict[str, Text]:
    out = {}
    for edition_id in EDITIONS:
        edition = load_edition(edition_id)
        last = load_previous(edition)
        registry = gather(edition, quiet=True)
        previous = gather(last, quiet=True) if last is not None else None
        page = render_bulletin(registry, make_figures(registry, edition), edition,
                               previous).html_web
        main = page.split('<main id="main">', 1)[1]
        tables = " ".join(_readable(t) for t in re.findall(r"<table\b.*?</table>", main,
                                                            re.S))
        refs = re.search(r'<ol class="references">.*?</ol>', main, re.S)
        prose = re.sub(r"<svg\b.*?</svg>|<table\b.*?</table>|<blockquote\b.*?</blockquote>"
                       r'|<ol class="references">.*?</ol>|<figure\b.*?</figure>'
                       r'|<p class="table-download">.*?</p>|<ul class="table-notes">.*?</ul>'
                       r'|<a class="footnote-backref"[^>]*>.*?</a>|<sup[^>]*>.*?</sup>',
                       " ", main, flags=re.S)
        prose = re.sub(r"</(?:p|li|h[1-6]|div)>", " \n", prose)
        figures = " ".join(_readable(f) + " " + " ".join(re.findall(r'alt="([^"]*)"', f))
                           for f in re.findall(r"<figure\b.*?</figure>", main, re.S))
        out[edition_id] = Text(edition_id, _readable(prose), tables,
                               _readable(refs.group(0)) if refs else "", figures)
    return out


def _report(name: str, counts: dict[str, object]) -> None:
    print(f"\nstyle [{name}] " + "; ".join(f"{k}: {v}" for k, v in counts.items()))


@pytest.mark.parametrize("edition", EDITIONS)
def test_no_banned_phrase(texts: dict[str, Text], edition: str) -> None:
    prose = texts[edition].prose
    found = {name: re.findall(rx, prose, re.I) for name, rx in BANNED.items()}
    _report(f"{edition} banned phrases", {"patterns": len(BANNED),
                                          "words": len(prose.split()),
                                          "hits": sum(len(v) for v in found.values())})
    assert not {k: v for k, v in found.items() if v}


@pytest.mark.parametrize("edition", EDITIONS)
def test_small_whole_numbers_are_words_except_with_units(texts: dict[str, Text],
                                                         edition: str) -> None:
    prose = re.sub(r"\b(?:Tables?|Figures?|[Ss]tandards?|Annex|[Dd]omains?|Page)\s+"
                   r"[A-Z]?\d+(?:\.\d+)?(?:\s+(?:and|to)\s+[A-Z]?\d+(?:\.\d+)?)?", " ",
                   texts[edition].prose)
    figures = re.findall(r"(?<![\d.,/−–-])\b([1-9])\s+([a-z]+(?: [a-z]+)?)", prose)
    bad = [f"{n} {w}" for n, w in figures if not re.match(UNITS, w)]
    spelt = re.findall(r"\b(?:one|two|three|four|five|six|seven|eight|nine)\s+(?:CRCs?|NPS|"
                       r"cases|officers|divisions|questions|judgements)\b", prose)
    _report(f"{edition} number style", {"figures 1-9 before a word": len(figures),
                                        "of them without a unit": len(bad),
                                        "counts in words": len(spelt)})
    assert not bad


@pytest.mark.parametrize("edition", EDITIONS)
def test_dashes_in_ranges_and_minus_signs(texts: dict[str, Text], edition: str) -> None:
    t = texts[edition]
    both = t.prose + " " + t.tables + " " + t.figures
    hyphen_ranges = re.findall(r"(?<![\w.])\d[\d,]*-\d[\d,]*(?![\w.])", both)
    ascii_negative = re.findall(r"(?<![\w.)])-\.?\d", both)
    _report(f"{edition} dashes and signs", {
        "en-dash ranges": len(re.findall(r"\d–\d", both)),
        "minus signs": both.count(words.MINUS),
        "hyphen ranges": len(hyphen_ranges), "ASCII negatives": len(ascii_negative)})
    assert not hyphen_ranges and not ascii_negative
    assert re.search(r"\d–\d", t.tables), "the caseload bands should print with en dashes"
    assert re.search(r"\d–\d", t.figures), "and so should the charts' bands and captions"


@pytest.mark.parametrize("edition", EDITIONS)
def test_proportion_words_match_their_figures(texts: dict[str, Text], edition: str) -> None:
    """Each phrase given beside its figure ("almost nine in ten officers (87 per cent)")
    is the phrase the house rule gives for that figure."""
    pairs = PAIR.findall(texts[edition].prose)
    wrong = [(p, n) for p, n in pairs if words.proportion_in_words(int(n)) != p.lower()]
    _report(f"{edition} proportions", {"phrase and figure pairs": len(pairs),
                                       "mismatched": len(wrong)})
    assert len(pairs) >= 5
    assert not wrong


@pytest.mark.parametrize("edition", EDITIONS)
def test_stock_phrases_are_not_repeated(texts: dict[str, Text], edition: str) -> None:
    prose = texts[edition].prose.lower()
    counts = {s: prose.count(s) for s in STOCK}
    tokens = re.findall(r"[a-z']+", re.sub(r"\d[\d,.]*", "#", prose))
    grams = Counter(" ".join(tokens[i:i + NGRAM]) for i in range(len(tokens) - NGRAM + 1))
    repeated = {g: c for g, c in grams.items() if c > NGRAM_LIMIT}
    _report(f"{edition} repetition", {"stock phrases": len(STOCK),
                                      "most used": max(counts.values()),
                                      f"{NGRAM}-word runs": len(grams),
                                      f"runs over {NGRAM_LIMIT}": len(repeated)})
    assert not {s: c for s, c in counts.items() if c > STOCK_LIMIT}
    assert not repeated


@pytest.mark.parametrize("edition", EDITIONS)
def test_abbreviations_are_spelt_out_at_first_use(texts: dict[str, Text],
                                                  edition: str) -> None:
    prose = texts[edition].prose
    firsts = {}
    for abbr in ABBREVIATIONS:
        m = re.search(rf"\b{abbr}s?\b", prose)
        assert m, abbr
        firsts[abbr] = prose[max(0, m.start() - 1):m.end() + 1]
    _report(f"{edition} abbreviations", {"checked": len(firsts)})
    assert all(v.startswith("(") for v in firsts.values()), firsts


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_reference_is_cited_and_every_citation_is_listed(texts: dict[str, Text],
                                                               edition: str) -> None:
    refs = tomllib.loads((TEMPLATES_DIR / "references.toml").read_text(encoding="utf-8"))
    cites = {r["cite"] for r in refs["reference"]}
    t = texts[edition]
    groups = re.findall(r"\(([^()]*?\b(?:19|20)\d\d)\)", t.prose)
    cited = [c.strip() for g in groups for c in g.split(";")]
    unlisted = [c for c in cited if c not in cites]
    uncited = sorted(cites - set(cited))
    _report(f"{edition} references", {"listed": len(cites), "citations in text": len(cited),
                                      "uncited": len(uncited), "unlisted": len(unlisted)})
    assert not uncited and not unlisted
    for r in refs["reference"]:
        assert r["title"] in t.references, r["key"]
