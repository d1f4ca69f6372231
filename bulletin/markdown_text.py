"""Markdown as editors expect it: pipe tables, footnotes, curly quotes and dashes.

Python-Markdown's `tables`, `footnotes` and `smarty` extensions do the reading; this
module makes their output fit the bulletin and refuses what it cannot show properly:

- a pipe table becomes an accessible table: the ``Table: ...`` line directly above it is
  its caption (required: a table without one cannot be announced by a screen reader),
  column headings get ``scope="col"`` and the first cell of each row ``scope="row"``;
- a footnote (``[^label]`` in the text, ``[^label]: note`` on its own line) becomes the
  bulletin's inline note, ``<span class="footnote">``, at its call: print floats it to
  the foot of the page, and the web edition numbers it and lists it at the section's end;
- straight quotes, ``--`` and ``...`` become curly quotes, dashes and an ellipsis;
- Markdown that was not understood would otherwise print as literal text (a paragraph of
  ``|``, a ``[^1]`` with no note, ``**`` with no end): each is a `MarkdownFault`, which
  the renderer reports at the template's file and line.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

EXTENSIONS = ["attr_list", "toc", "sane_lists", "tables", "footnotes", "smarty"]
_SMARTY = {"substitutions": {
    "left-single-quote": "\u2018", "right-single-quote": "\u2019",
    "left-double-quote": "\u201c", "right-double-quote": "\u201d",
    "ndash": "\u2013", "mdash": "\u2014", "ellipsis": "\u2026",
}}
_CONFIG = {"smarty": _SMARTY, "footnotes": {"BACKLINK_TEXT": ""}}

_NOTES_RE = re.compile(r'<div class="footnote">\s*<hr\s*/?>\s*<ol>(.*?)</ol>\s*</div>', re.S)
_NOTE_RE = re.compile(r'<li id="fn:([^"]+)">\s*(.*?)\s*</li>', re.S)
_CALL_RE = re.compile(r'<sup id="fnref\d*:([^"]+)"><a class="footnote-ref" href="#fn:[^"]+">'
                      r'\d+</a></sup>')
_BACKREF_RE = re.compile(r'(?:&#160;|\u00a0)?<a class="footnote-backref"[^>]*>.*?</a>', re.S)
_CAPTION_RE = re.compile(r"<p>Table:\s*(.*?)</p>\s*<table>", re.S)
_TABLE_RE = re.compile(r"<table>(.*?)</table>", re.S)


@dataclass(frozen=True)
class MarkdownFault(Exception):
    """Markdown that was not understood: `snippet` is text to find in the template."""

    message: str
    suggestion: str
    snippet: str

    def __str__(self) -> str:
        return self.message


def to_html(text: str) -> str:
    """The section's Markdown as HTML, or a `MarkdownFault`."""
    import markdown

    out = markdown.markdown(text, extensions=EXTENSIONS, extension_configs=_CONFIG,
                            output_format="html")
    out = _footnotes(out)
    out = _tables(out)
    _leftovers(out)
    return out


def _footnotes(out: str) -> str:
    notes: dict[str, str] = {}
    for block in _NOTES_RE.findall(out):
        for label, body in _NOTE_RE.findall(block):
            body = _BACKREF_RE.sub("", body).strip()
            paragraphs = re.findall(r"<p>(.*?)</p>", body, re.S)
            if len(paragraphs) != 1 or re.sub(r"<p>.*?</p>", "", body, flags=re.S).strip():
                raise MarkdownFault(f"the footnote [^{label}] has more than one paragraph",
                                    "A footnote is one paragraph: join its lines, or move "
                                    "the rest into the text.", f"[^{label}]:")
            notes[label] = paragraphs[0].strip()
    out = _NOTES_RE.sub("", out)

    def call(m: re.Match[str]) -> str:
        return f'<span class="footnote">{notes[m.group(1)]}</span>'

    return _CALL_RE.sub(call, out).rstrip() + "\n"


def _tables(out: str) -> str:
    def caption(m: re.Match[str]) -> str:
        return f"<table>\n<caption>{m.group(1).strip()}</caption>"

    out = _CAPTION_RE.sub(caption, out)

    def accessible(m: re.Match[str]) -> str:
        body = m.group(1)
        if "<caption>" not in body:
            first = re.search(r"<th[^>]*>(.*?)</th>", body, re.S)
            raise MarkdownFault(
                "this table has no caption",
                "Put a line 'Table: what the table shows' directly above the table, with "
                "a blank line before it (the caption is how a screen reader announces it).",
                html.unescape(re.sub(r"<[^>]+>", "", first.group(1))).strip() if first else "|")
        body = re.sub(r"<th(\s|>)", r'<th scope="col"\1', body)
        body = re.sub(r"(<tbody>.*?</tbody>)", lambda b: re.sub(
            r"<tr>\s*<td([^>]*)>(.*?)</td>", r'<tr>\n<th scope="row"\1>\2</th>', b.group(1),
            flags=re.S), body, flags=re.S)
        return f'<table class="text-table">{body}</table>'

    return _TABLE_RE.sub(accessible, out)


def _leftovers(out: str) -> None:
    """Markdown left as literal text in the output: never silently printed."""
    text = re.sub(r"<(script|style|svg)\b.*?</\1>", "", out, flags=re.S)
    for para in re.findall(r"<p>(.*?)</p>", text, re.S):
        lines = [html.unescape(re.sub(r"<[^>]+>", "", ln)).strip() for ln in para.split("\n")]
        if any(ln.startswith("|") or ln.endswith("|") and ln.count("|") > 1 for ln in lines):
            row = next(ln for ln in lines if "|" in ln)
            raise MarkdownFault(
                "this looks like a table, but Markdown could not read it",
                "A table is a 'Table: caption' line, a heading row, a row like "
                "| --- | --- | and then its rows, with a blank line before and after.",
                row.split("|")[1].strip() if row.count("|") > 1 else row)
        if lines and lines[0].startswith("Table:"):
            raise MarkdownFault("a 'Table:' caption line with no table under it",
                                "Put the table directly under its caption line.", "Table:")
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    if m := re.search(r"\[\^([^\]\s]+)\]", plain):
        raise MarkdownFault(f"the footnote [^{m.group(1)}] has no note",
                            f"Add the note on a line of its own: [^{m.group(1)}]: The note's "
                            "text.", f"[^{m.group(1)}]")
    if m := re.search(r"\{:[^}]*\}", plain):
        raise MarkdownFault("this attribute list was not read",
                            "An attribute list such as {: #id } goes at the end of a "
                            "heading line, after a space.", m.group(0))
    if "**" in plain or re.search(r"(?<!\w)__|__(?!\w)", plain):
        mark = "**" if "**" in plain else "__"
        raise MarkdownFault(f"a '{mark}' (bold) is not closed",
                            f"Bold text goes between two '{mark}' on the same paragraph.",
                            mark)
