"""The templates themselves: no typed-in numbers, sections in the bulletin's order, and
editor-maintained data files that the templates can rely on.

The typed-in number check and its allowlist live in `bulletin.check`, so that the build
stops on the same numbers that these tests find."""

from __future__ import annotations

import re
import tomllib

import pytest

from bulletin.check import stray_digits
from bulletin.render import TEMPLATES_DIR, section_files


def template_files() -> list:
    return sorted(TEMPLATES_DIR.rglob("*.j2"))


def test_there_are_templates_to_check() -> None:
    assert len(template_files()) >= 14


@pytest.mark.parametrize("path", template_files(), ids=lambda p: p.name)
def test_no_number_typed_into_a_template(path) -> None:
    found = stray_digits(path.read_text(encoding="utf-8"))
    assert not found, f"{path.name}: numbers must come from fact(...): {found}"


@pytest.mark.parametrize(("text", "bad"), [
    ("Less than half (46 per cent) said so.", "46"),
    ("{{ fact('a') | pct }} of 1,965 officers", "1,965"),
    ("## Findings\nabout 80% of them", "80%"),
    ("see standard 1.2 and 3 others", "3"),
    ("{# a comment with 12 #} but 7 here", "7"),
])
def test_the_digit_check_catches_typed_numbers(text: str, bad: str) -> None:
    assert [t for _, t in stray_digits(text)] == [bad]


def test_the_digit_check_allows_code_and_references() -> None:
    text = ("## 2.1 Workload\n{{ fact('fact.caseload_over_50.crc.pct') | pct }} "
            "(Table B3; Figure 2; standard 1.3; Bonta and Andrews, 2017)\n<h2>")
    assert stray_digits(text) == []


def test_line_numbers_are_reported() -> None:
    assert stray_digits("one\n{{ x }}\nthree 3\n") == [(3, "3")]


def test_sections_follow_the_bulletin_outline() -> None:
    names = [re.sub(r"^\d+-", "", f.split("/")[-1].split(".")[0])
             for f in section_files(TEMPLATES_DIR)]
    assert names == ["cover", "credits", "contents", "summary", "introduction", "findings",
                     "workload", "skills", "learning", "agencies", "conclusion", "references",
                     "annex-a", "annex-b"]


def test_every_quotes_and_cite_call_has_data() -> None:
    quotes = tomllib.loads((TEMPLATES_DIR / "quotes.toml").read_text(encoding="utf-8"))
    refs = tomllib.loads((TEMPLATES_DIR / "references.toml").read_text(encoding="utf-8"))
    keys = [r["key"] for r in refs["reference"]]
    assert len(keys) == len(set(keys))
    text = "\n".join(p.read_text(encoding="utf-8") for p in template_files())
    for section in re.findall(r"quotes\(\"([^\"]+)\"\)", text):
        assert quotes.get(section), section
    for key in re.findall(r"cite\(\"([^\"]+)\"", text):
        assert key in keys


def test_quotes_hold_no_numbers_and_name_no_one() -> None:
    quotes = tomllib.loads((TEMPLATES_DIR / "quotes.toml").read_text(encoding="utf-8"))
    for section, items in quotes.items():
        if not isinstance(items, list):
            continue
        for q in items:
            assert set(q) == {"text", "who"}, section
            assert not re.search(r"\d", q["text"]), q["text"]


def _references() -> list[dict[str, str]]:
    return tomllib.loads((TEMPLATES_DIR / "references.toml").read_text(
        encoding="utf-8"))["reference"]


def _cited_keys() -> list[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in template_files())
    return re.findall(r"cite\(\"([^\"]+)\"", text)


def test_references_have_the_fields_the_list_prints() -> None:
    for r in _references():
        assert {"key", "cite", "authors", "year", "title"} <= set(r), r.get("key")
        assert r["year"] in r["cite"]


def _surnames(authors: str) -> list[str]:
    """'Bonta, J. and Andrews, D. A.' -> ['Bonta', 'Andrews']; a body keeps its name."""
    parts = re.split(r", (?=[A-Z][\w'-]+, )| and ", authors)
    return [p.split(",")[0].strip() for p in parts]


def test_every_reference_is_cited_and_every_citation_resolves() -> None:
    """Both ways: no entry in the list that the text never cites, no citation without
    an entry. Printed citations are checked in the built text by tests/test_style.py."""
    keys = [r["key"] for r in _references()]
    cited = set(_cited_keys())
    assert not set(keys) - cited, f"listed but never cited: {sorted(set(keys) - cited)}"
    assert not cited - set(keys), f"cited but not listed: {sorted(cited - set(keys))}"


def test_citations_follow_one_style() -> None:
    """Up to three surnames joined by commas and "and", four or more as "et al.", then
    the year; the list in alphabetical order; page ranges with an en dash."""
    refs = _references()
    for r in refs:
        names = _surnames(r["authors"])
        if len(names) >= 4:
            want = f"{names[0]} et al."
        elif len(names) == 1:
            want = names[0]
        else:
            want = ", ".join(names[:-1]) + " and " + names[-1]
        assert r["cite"] == f"{want}, {r['year']}", r["key"]
        assert not re.search(r"\d-\d", r.get("details", "")), r["key"]
        if r.get("in"):  # an article: volume(issue) and pages
            assert re.fullmatch(r"\d+\(\d+\), pp\. \d+–\d+", r.get("details", "")), r["key"]
    order = [(_surnames(r["authors"])[0].lower(), r["year"]) for r in refs]
    assert order == sorted(order)
