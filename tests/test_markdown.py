"""Markdown as editors write it: tables, footnotes, curly quotes; and what Markdown did
not understand stops the build at file and line instead of printing as literal text."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from test_render import fake_figures
from test_tables import EDITION, hand_registry

from bulletin.faults import TemplateFaults
from bulletin.markdown_text import MarkdownFault, to_html
from bulletin.render import FIGURES_DIR, TEMPLATES_DIR, render_bulletin

TABLE = """Some text.

Table: Cases by provider type

| Provider | Cases |
|:---------|------:|
| CRC      | many  |
| NPS      | some  |

More text.
"""


def test_a_pipe_table_is_an_accessible_table() -> None:
    out = to_html(TABLE)
    assert "|" not in re.sub(r"<[^>]+>", "", out)
    table = re.search(r"<table[^>]*>.*?</table>", out, re.S).group(0)
    assert "<caption>Cases by provider type</caption>" in table
    assert re.findall(r'<th scope="col"[^>]*>(\w+)</th>', table) == ["Provider", "Cases"]
    assert re.findall(r'<th scope="row"[^>]*>(\w+)</th>', table) == ["CRC", "NPS"]
    assert re.findall(r"<td[^>]*>(\w+)</td>", table) == ["many", "some"]
    assert "<p>Table:" not in out


def test_a_footnote_becomes_the_bulletins_inline_note() -> None:
    out = to_html("Officers said so.[^why] And more.\n\n[^why]: Only where it was *relevant*.\n")
    assert out.strip() == ('<p>Officers said so.<span class="footnote">Only where it was '
                           '<em>relevant</em>.</span> And more.</p>')


def test_quotes_and_dashes_are_typeset() -> None:
    out = to_html('Officers\' "views" -- and the rest... It\'s so.\n')
    assert out.strip() == ("<p>Officers\u2019 \u201cviews\u201d \u2013 and the rest\u2026 "
                           "It\u2019s so.</p>")


@pytest.mark.parametrize(("text", "message", "snippet"), [
    ("Text.\n\n| a | b |\n| c | d |\n", "looks like a table", "a"),
    ("| a | b |\n|---|---|\n| c | d |\n", "has no caption", "a"),
    ("Table: Orphan caption\n\nText.\n", "caption line with no table", "Table:"),
    ("A call[^x] with no note.\n", "[^x] has no note", "[^x]"),
    ("Some **bold that never ends.\n", "is not closed", "**"),
    ("Text {: #id } in the middle of a line.\n\nMore.\n", "attribute list", "{: #id }"),
    ("Text.[^n]\n\n[^n]: One.\n\n    Two paragraphs.\n", "more than one paragraph", "[^n]:"),
])
def test_markdown_not_understood_is_an_error(text: str, message: str, snippet: str) -> None:
    with pytest.raises(MarkdownFault, match=re.escape(message)) as info:
        to_html(text)
    assert info.value.snippet == snippet


@pytest.fixture()
def tdir(tmp_path: Path) -> Path:
    d = tmp_path / "templates"
    (d / "sections").mkdir(parents=True)
    for name in ("base.html.j2", "labels.toml", "quotes.toml", "references.toml"):
        shutil.copy(TEMPLATES_DIR / name, d / name)
    (d / "outline.toml").write_text('sections = ["01-test.md.j2"]\n', encoding="utf-8")
    return d


def _render(tdir: Path, body: str) -> str:
    (tdir / "sections" / "01-test.md.j2").write_text(body, encoding="utf-8")
    return render_bulletin(hand_registry(), fake_figures(), EDITION, templates_dir=tdir,
                           figures_dir=FIGURES_DIR).html_print


def test_a_table_in_a_section_renders_in_both_media(tdir: Path) -> None:
    out = _render(tdir, "## Test {: #test }\n\n" + TABLE)
    assert '<table class="text-table">' in out and "<caption>Cases by provider type" in out


def test_a_broken_table_names_file_and_line(tdir: Path) -> None:
    with pytest.raises(TemplateFaults) as info:
        _render(tdir, "## Test {: #test }\n\nText {{ fact('fact.ro_interviews') }}.\n\n"
                      "| Provider | Cases |\n| CRC | many |\n")
    f = info.value.faults[0]
    assert f.file.endswith("01-test.md.j2") and f.line == 5
    assert "looks like a table" in f.message and f.text.startswith("| Provider")
    assert f.column == 2


def test_a_footnote_with_no_note_names_file_and_line(tdir: Path) -> None:
    with pytest.raises(TemplateFaults, match=r"01-test\.md\.j2, line 3: the footnote \[\^a\]"):
        _render(tdir, "## Test {: #test }\n\nA call.[^a]\n")
