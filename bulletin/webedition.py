"""Finishing touches that only the web edition gets, applied to its finished HTML.

- Footnotes. The templates write a note inline, where it is referenced
  (`<span class="footnote">`), because that is what print needs (`float: footnote` puts
  it at the foot of the page). On a web page an inline note interrupts the sentence, so
  here each becomes a numbered call (a link to the note) and the notes are listed at the
  end of their section, each with a link back to its call. Numbers run through the
  document as they do in print, so both editions number a note alike.
- Charts. A chart is a diagram whose text shrinks with it; on a narrow screen it keeps a
  readable width and scrolls sideways inside a focusable region labelled by its caption
  (WCAG 1.4.10 allows two-dimensional scrolling for diagrams; 2.1.1 needs the region to
  take keyboard focus).

Plain string work on HTML this program wrote itself, with a clear error if the shape it
expects is not there, rather than a silently half-converted page.
"""

from __future__ import annotations

import re

from bulletin.errors import BulletinError

_SECTION_RE = re.compile(r'(<section class="section[^"]*" id="section-([^"]+)">)(.*?)(</section>)',
                         re.S)
_NOTE_OPEN = '<span class="footnote">'
_SPAN_RE = re.compile(r"<(/?)span\b[^>]*>")
_FIGURE_RE = re.compile(r'<figure class="figure" id="([^"]+)">\s*<figcaption>(.*?)</figcaption>'
                        r'\s*<div class="figure-art">', re.S)


def finish(html: str) -> str:
    """The web edition's HTML with real footnotes and scrollable charts."""
    return chart_regions(footnotes(html))


def footnotes(html: str) -> str:
    """Inline `span.footnote` notes -> numbered calls and a list at the section's end."""
    counter = 0

    def section(m: re.Match[str]) -> str:
        nonlocal counter
        opening, name, body, closing = m.groups()
        notes: list[tuple[int, str]] = []
        out: list[str] = []
        pos = 0
        while (start := body.find(_NOTE_OPEN, pos)) >= 0:
            end, inner = _span_end(body, start, name)
            counter += 1
            notes.append((counter, inner.strip()))
            out.append(body[pos:start])
            out.append(f'<sup class="footnote-call"><a id="note-call-{counter}" '
                       f'href="#note-{counter}" aria-label="Note {counter}">{counter}</a>'
                       f"</sup>")
            pos = end
        if not notes:
            return m.group(0)
        out.append(body[pos:])
        label = f"notes-{name}"
        items = "\n".join(
            f'<li id="note-{n}" value="{n}">{text} <a class="footnote-back" '
            f'href="#note-call-{n}" aria-label="Back to the text of note {n}">'
            f'<span aria-hidden="true">\u21a9</span></a></li>' for n, text in notes)
        listing = (f'\n<div class="footnotes">\n<p class="footnotes-label" id="{label}">Notes'
                   f'</p>\n<ol class="footnotes" aria-labelledby="{label}">\n{items}\n</ol>\n'
                   f"</div>\n")
        return opening + "".join(out) + listing + closing

    return _SECTION_RE.sub(section, html)


def _span_end(body: str, start: int, section: str) -> tuple[int, str]:
    """(index just past the note's closing </span>, the note's inner HTML)."""
    depth = 0
    for m in _SPAN_RE.finditer(body, start):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return m.end(), body[start + len(_NOTE_OPEN):m.start()]
    raise BulletinError(f"web edition: a footnote in section {section!r} has no closing "
                        f"</span>")


def chart_regions(html: str) -> str:
    """Each chart's art in a focusable region named by its caption (given an id)."""
    def figure(m: re.Match[str]) -> str:
        fig_id, caption = m.groups()
        cap = f"{fig_id}-caption"
        return (f'<figure class="figure" id="{fig_id}">\n<figcaption id="{cap}">{caption}'
                f'</figcaption>\n<div class="figure-art" role="region" tabindex="0" '
                f'aria-labelledby="{cap}">')

    return _FIGURE_RE.sub(figure, html)
