"""Print pagination: a table that runs onto later pages gets a "(continued)" caption there.

WeasyPrint repeats a table's heading rows on each page it runs onto but not its caption,
so a reader of page 21 meets a bare grid of numbers. CSS cannot add a caption to a
table's later fragments, so the print HTML is laid out, the body rows that start a new
page are found, and each such table is split there into parts: the first keeps its
caption, each later part starts a new page with "Table N (continued)" as its caption and
the same heading rows. A row group cut by the break repeats its label. The new captions
take room, so a part can run over again and what follows it moves down: the splitting is
repeated on the next layout, for up to three rounds.

Laying out the whole bulletin is the slowest step of a build, and laying it out once per
round made three layouts of a document that mostly did not change. Each chapter and each
later part starts with a forced page break, and forced breaks cut the document into
stretches that WeasyPrint lays out each on its own: a stretch starts on a fresh page
whatever came before it. Only a stretch that holds a table can need a split, so the
first round lays out only those, up to what follows their last table, as one small
document: each stretch with its ancestors' opening tags, stripped of the margins that a
page break strips, and kept apart from the next by the forced break as in the bulletin
(one document, since each carries a fixed cost). In the demonstration edition that is 12
of 28 pages, but the dense ones: about three quarters of a whole layout's time. A round
changes only the stretches that hold a table it split; the others lay out as before, and
so break nowhere. A changed stretch can only break differently where its new caption
line does not fit in the room left at the foot of its first page, or where a first part
now ends too near the foot of its page for its closing rule. Only those few stretches
are laid out again, together as one small document; every other changed stretch is taken
to break nowhere. The one layout of the whole document then checks all of it: a stretch
that breaks after all is split there and laid out once more, as the old loop would have
done in that round. So a wrong guess costs a layout, never a different PDF. Rounds are
counted per stretch, which is what the old loop's global count comes to, limit included;
the demonstration edition takes one whole layout instead of three. A document whose
tables all fit pays for its table stretches once more than it would have. What the rounds
need from a layout of stretches is measured into a plain value (`Measured`), so that a
build can keep it (`bulletin.layout_cache`): a rebuild whose table chapters are
unchanged then lays out only the whole document. For the same reason a round's
stretches can be laid out as two documents at once, one in another process
(`bulletin.forked`, in the build's PDF worker): they lay out alone as together, so the
breaks found are the same, in the time of the longer.

The stretches laid out alone stand for the same stretches in the whole document only if
their pages are alike: a stretch document starts on a first, right-hand page wherever
the stretch falls in the bulletin. So the pages of the stretch documents and every page
of `<main>` in the whole layout must all have one frame (the position and size of the
page area), or the rounds are taken in full; print.css gives the chapters one page
style, with no left, right or first variants.

Works on the HTML that bulletin/tables.py writes for a table (one `<tr>` a line, each
row group a `<tbody>`) and on the page structure print.css gives the bulletin (a chapter
is a `<section>` of `<main>` opening with an `<h2>`, and starts a page); anything else
takes every round in full.
"""

from __future__ import annotations

import bisect
import functools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

ROUNDS = 3
# Room (px) a stretch must have to spare to count as unchanged by a split: a split puts
# 1pt rules under a part's last row and over the next part's first row (0.4 px more
# each) and closes the first part with the table's own rule (0.67 px).
SPARE = 3.0

_CONTINUED = '<table class="data-table continued">'
_CHAPTER = re.compile(r"<section\b[^>]*>\s*<h2\b")
_KEY = re.compile(r'<caption (?:id|data-part)="([^"]+)">')
_TAG = re.compile(r"<!--.*?-->|<![^>]*>|<(/?)([A-Za-z][\w-]*)"
                  r"((?:\s+[^\s=>/]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*(/?)>",
                  re.S)
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})
_RAW = frozenset({"script", "style"})
_NO_TOP = "margin-top:0;padding-top:0;border-top-width:0"
_NO_BOTTOM = "margin-bottom:0;padding-bottom:0;border-bottom-width:0"
_NOTE = '<span class="footnote"'
_START = "data-stretch"  # on the first element of each stretch in a stretch document
_MARK = "data-stretch-end"  # on the two elements a stretch cut short ends between



@dataclass(frozen=True)
class Measured:
    """What the rounds need from a layout of stretches, as plain values: a layout is
    large and lives in one process, these can be kept between builds
    (`bulletin.layout_cache`) or sent between processes."""

    frames: tuple[tuple[float, ...], ...]  # the frames of its pages (see `_frame`)
    unsure: str = ""  # why the shortcut cannot rely on this layout ("" if it can)
    breaks: dict[str, list[int]] = field(default_factory=dict)  # see `table_breaks`
    free: list[float] = field(default_factory=list)  # room left at each page's foot
    rows: dict[str, dict[int, int]] = field(default_factory=dict)  # see `_row_pages`
    rooms: dict[str, float] = field(default_factory=dict)  # see `_caption_rooms`

    def to_json(self) -> dict[str, Any]:
        return {"frames": self.frames, "unsure": self.unsure, "breaks": self.breaks,
                "free": self.free, "rooms": self.rooms,
                "rows": {key: sorted(pages.items()) for key, pages in self.rows.items()}}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Measured:
        return cls(tuple(tuple(float(v) for v in f) for f in body["frames"]),
                   str(body["unsure"]),
                   {str(k): [int(i) for i in v] for k, v in body["breaks"].items()},
                   [float(v) for v in body["free"]],
                   {str(k): {int(i): int(p) for i, p in v} for k, v in body["rows"].items()},
                   {str(k): float(v) for k, v in body["rooms"].items()})


# A stretch document to measure: its HTML, and `compute`, which lays it out and measures it.
Job = tuple[str, Callable[[], Measured]]
# measure(jobs) -> their measurements, in order. The plain one runs each job's compute; a
# store may answer some from what it keeps (`bulletin.layout_cache`), and a build may run
# them side by side (`bulletin.forked`).
Measure = Callable[[Sequence[Job]], list[Measured]]


def each(jobs: Sequence[Job]) -> list[Measured]:
    """Every job's compute, one after another."""
    return [compute() for _, compute in jobs]


class _Unsure(Exception):
    """The HTML or a layout is not what the shortcut relies on: take every round in full."""


def render(layout: Callable[[str], Any], html: str, measure: Measure | None = None,
           documents: int = 1) -> Any:
    """The laid-out document (WeasyPrint's `Document`) with continued captions.

    A round's stretches are laid out as up to `documents` stretch documents (more can be
    laid out side by side; the breaks found are the same), and `measure` may answer for
    those layouts from a store or run them side by side (see `_alone`); the layout of
    the whole document, and its check, are always made here."""
    original = html
    try:
        starts = _table_stretches(html)
        if not starts:
            return layout(html)
        html, changed_in, frames = _plan(layout, html, starts, measure or each,
                                          documents)
    except _Unsure:
        return _every_round(layout, original, layout(original))
    doc = layout(html)
    if not _frames_agree(doc, frames):
        del doc  # let a layout go before the next (see `_every_round`)
        return _every_round(layout, original, layout(original))
    # The check: a stretch taken to break nowhere that does is split now, in the round
    # after it last changed (unless that is past the last round).
    while breaks := {key: rows for key, rows in table_breaks(doc).items()
                     if changed_in.get(key, 0) < ROUNDS}:
        rounds = {key: changed_in.get(key, 0) + 1 for key in breaks}
        try:
            html, changed = _split_round(html, breaks)
        except _Unsure:
            del doc
            return _every_round(layout, original, layout(original))
        for key, starts in changed.items():
            _mark(changed_in, html, starts, rounds[key])
        del doc
        doc = layout(html)
    return doc


def _every_round(layout: Callable[[str], Any], html: str, doc: Any) -> Any:
    """The plain loop: split where the whole document breaks, lay it all out again."""
    for _ in range(ROUNDS):
        splits = table_breaks(doc)
        if not splits:
            return doc
        new = split_tables(html, splits)
        if new == html:
            return doc
        html = new
        # Let a layout go before the next: kept alive, the cycle collector walks it over
        # and over during that one (15% slower with Python's default thresholds).
        doc = None
        doc = layout(html)
    return doc


def _plan(layout: Callable[[str], Any], html: str, starts: Sequence[int],
          measure: Measure, documents: int = 1,
          ) -> tuple[str, dict[str, int], set[tuple[float, ...]]]:
    """The HTML the rounds lead to, from layouts of the stretches at `starts` (those
    holding a table), with the round in which each table part's stretch last changed and
    the frames of the pages laid out."""
    changed_in: dict[str, int] = {}
    frames: set[tuple[float, ...]] = set()
    found = _alone(layout, html, starts, frames, measure, documents)
    for rnd in range(1, ROUNDS + 1):
        breaks = {key: rows for item in found for key, rows in item.breaks.items()}
        if not breaks:
            break
        new, changed = _split_round(html, breaks)
        for changed_starts in changed.values():
            _mark(changed_in, new, changed_starts, rnd)
        risky = set().union(*(_at_risk(new, item) for item in found))
        html, found = new, []
        if rnd == ROUNDS or not risky:
            break
        found = _alone(layout, html, sorted(risky), frames, measure, documents)
    return html, changed_in, frames


def _alone(layout: Callable[[str], Any], html: str, starts: Sequence[int],
           frames: set[tuple[float, ...]], measure: Measure = each, documents: int = 1,
           ) -> list[Measured]:
    """The stretches at `starts` laid out as up to `documents` documents and measured:
    what the rounds need of each layout in which a table breaks. `measure` may give the
    measurements of those very documents from a store instead of laying them out."""
    jobs: list[Job] = []
    for group in _groups(html, starts, documents):
        part, shorts = _stretches_html(html, group)
        jobs.append((part, functools.partial(_lay_out, layout, part, shorts)))
    out = []
    for found in measure(jobs):
        frames.update(found.frames)
        if len(frames) > 1:
            raise _Unsure("the stretches are laid out on pages of more than one frame")
        if found.unsure:
            raise _Unsure(found.unsure)
        if found.breaks:
            out.append(found)
    return out


def _groups(html: str, starts: Sequence[int], documents: int) -> list[list[int]]:
    """`starts` shared among up to `documents` groups of about equal length (the longest
    stretch first, each to the group with least so far), each in document order."""
    starts = sorted(set(starts))
    if documents <= 1 or len(starts) <= 1:
        return [starts]
    size = {start: _stretch_stop(html, start)[0] - start for start in starts}
    groups: list[list[int]] = [[] for _ in range(min(documents, len(starts)))]
    loads = [0] * len(groups)
    for start in sorted(starts, key=lambda s: (-size[s], s)):
        least = loads.index(min(loads))
        groups[least].append(start)
        loads[least] += size[start]
    return [sorted(group) for group in groups]


def _lay_out(layout: Callable[[str], Any], part: str, shorts: Sequence[bool]) -> Measured:
    return _measure(layout(part), shorts)


def _measure(doc: Any, shorts: Sequence[bool]) -> Measured:
    """What the rounds need from the layout `doc` of a stretch document whose stretches
    stop short where `shorts` says."""
    frames = tuple(sorted({_frame(page) for page in doc.pages}))
    firsts, befores, afters = _marked(doc)
    if sorted(firsts) != list(range(len(shorts))) or firsts[0] != 0 or \
            any(firsts[n] >= firsts[n + 1] for n in range(len(shorts) - 1)):
        return Measured(frames, "a stretch does not start a page of its own")
    breaks = table_breaks(doc)
    if not breaks:
        return Measured(frames)
    free = _free_space(doc)
    for n, short in enumerate(shorts):
        if not short:
            continue
        if n not in befores or n not in afters or _avoided(befores[n][1], afters[n]):
            return Measured(frames, "a stretch cut short ends where breaking is avoided")
        # What followed on the stretch's last page was left out, so the room there is
        # known only below the element its last table closes with: what comes after it
        # can move on to the next page without moving the table's breaks.
        last = firsts[n + 1] - 1 if n + 1 < len(shorts) else len(doc.pages) - 1
        page, box = befores[n]
        free[last] = -math.inf if page != last else \
            _foot(doc.pages[last]) - box.border_box_y() - box.border_height()
    return Measured(frames, "", breaks, free, _row_pages(doc), _caption_rooms(doc))


def _split_round(html: str, breaks: dict[str, list[int]]) -> tuple[str, dict[str, set[int]]]:
    """`html` split at `breaks` (in document order, as one round of the plain loop), and
    for each split table the starts of the stretches the split changed."""
    order = sorted(breaks, key=lambda key: _table_at(html, key))
    new = split_tables(html, {key: breaks[key] for key in order})
    keys = _KEY.findall(new)
    if len(keys) != len(set(keys)):
        raise _Unsure("a split names a part as an existing one")
    changed = {}
    for key, rows in breaks.items():
        parts = range(1, len(set(rows)) + 1)
        changed[key] = {_stretch_start(new, _table_at(new, key)),
                        *(_table_at(new, f"{key}-{n}") for n in parts)}
    return new, changed


def _mark(changed_in: dict[str, int], html: str, starts: Iterable[int], rnd: int) -> None:
    for start in starts:
        for key in _KEY.findall(html, start, _stretch_end(html, start)):
            changed_in[key] = max(changed_in.get(key, 0), rnd)


def _at_risk(html: str, found: Measured) -> set[int]:
    """Starts (in the split `html`) of the stretches whose breaks the split of the
    breaks `found` may move: a new part's caption line does not fit in what its page
    had left, or a first part ended with too little room for its closing rule."""
    on, rooms, free = found.rows, found.rooms, found.free

    def tight(page: int, need: float) -> bool:
        return free[page] < need

    out = set()
    for key, rows in found.breaks.items():
        if tight(on[key][rows[0] - 1], SPARE):
            out.add(_stretch_start(html, _table_at(html, key)))
        room = rooms.get(key)
        for n, row in enumerate(sorted(set(rows)), start=1):
            if room is None or tight(on[key][row], room + SPARE):
                out.add(_table_at(html, f"{key}-{n}"))
    return out


# -- reading a layout ---------------------------------------------------------------------

def table_breaks(doc: Any) -> dict[str, list[int]]:
    """table id -> indexes (0-based, counted over all its body rows) of the body rows
    that begin a page other than the table's first; for each part of a split table."""
    out: dict[str, list[int]] = {}
    for key, pages in _row_pages(doc).items():
        rows = sorted(pages.items())
        breaks = [i for (i, p), (_, q) in zip(rows[1:], rows, strict=False) if p != q]
        if breaks:
            out[key] = breaks
    return out


def _row_pages(doc: Any) -> dict[str, dict[int, int]]:
    """table part key -> body row index -> the page the row begins on."""
    page_of: dict[int, int] = {}  # id(tr element) -> first page it is on
    owner: dict[int, tuple[str, int]] = {}  # id(tr element) -> (table part key, index)
    for number, page in enumerate(doc.pages):
        for tr, key, index in _body_rows(page._page_box):
            page_of.setdefault(id(tr), number)
            owner[id(tr)] = (key, index)
    out: dict[str, dict[int, int]] = {}
    for tid, (key, index) in owner.items():
        out.setdefault(key, {})[index] = page_of[tid]
    return out


def _body_rows(box: Any) -> Iterator[tuple[Any, str, int]]:
    """(tr element, table key, body row index) for each body row box under `box`."""
    element = getattr(box, "element", None)
    if getattr(box, "element_tag", None) == "table" and element is not None:
        key = _table_key(element)
        rows = [tr for body in element if body.tag == "tbody" for tr in body if tr.tag == "tr"]
        index = {id(tr): i for i, tr in enumerate(rows)}
        for child in getattr(box, "children", ()):
            yield from _rows_in(child, key, index)
        return
    for child in getattr(box, "children", ()):
        yield from _body_rows(child)


def _rows_in(box: Any, key: str, index: dict[int, int]) -> Iterator[tuple[Any, str, int]]:
    if getattr(box, "element_tag", None) == "tr" and id(box.element) in index:
        yield box.element, key, index[id(box.element)]
        return
    for child in getattr(box, "children", ()):
        yield from _rows_in(child, key, index)


def _table_key(table: Any) -> str:
    """A table part's key: its caption's id (the first part) or its data-part value."""
    for child in table:
        if child.tag == "caption":
            return child.get("id") or child.get("data-part") or ""
    return ""


def _frame(page: Any) -> tuple[float, float, float, float]:
    """Where a page's content goes: the position and size of its page area."""
    box = page._page_box
    return box.content_box_x(), box.content_box_y(), box.width, box.height


def _frames_agree(doc: Any, frames: set[tuple[float, ...]]) -> bool:
    """Whether every page of `<main>` in the whole layout `doc` has the one frame the
    stretch documents' pages had."""
    whole = {_frame(page) for page in doc.pages if _holds_main(page)}
    return len(whole) == 1 and frames <= whole


def _holds_main(page: Any) -> bool:
    return any(getattr(box, "element_tag", None) == "main"
               for root in page._page_box.children if getattr(root, "element_tag", "") == "html"
               for body in root.children for box in getattr(body, "children", ()))


def _free_space(doc: Any) -> list[float]:
    """For each page, the height left between its content and the foot of its page area
    (above any footnotes): what may be added at its top without moving its last line."""
    kinds = [_blocks(page._page_box) for page in doc.pages]
    out = []
    for number, page in enumerate(doc.pages):
        foot = _foot(page)
        # a box that goes on to the next page is drawn down to the foot: skip its edge
        going_on = kinds[number + 1] if number + 1 < len(kinds) else set()
        bottoms: list[float] = []
        for child in page._page_box.children:
            if type(child).__name__ not in ("FootnoteAreaBox", "MarginBox"):
                _bottoms(child, going_on, bottoms)
        out.append(foot - max(bottoms, default=foot))
    return out


def _foot(page: Any) -> float:
    """Where a page's content must end: the foot of its page area, or above footnotes."""
    box = page._page_box
    foot = box.content_box_y() + box.height
    for child in box.children:
        if type(child).__name__ == "FootnoteAreaBox" and child.children:
            foot = min(foot, child.position_y)
    return foot


def _blocks(box: Any) -> set[tuple[int, str]]:
    found = set()
    stack = [box]
    while stack:
        box = stack.pop()
        name = type(box).__name__
        if name in ("LineBox", "MarginBox"):
            continue
        if getattr(box, "element", None) is not None:
            found.add((id(box.element), box.element_tag))
        stack.extend(getattr(box, "children", ()))
    return found


def _bottoms(box: Any, going_on: set[tuple[int, str]], out: list[float]) -> None:
    name = type(box).__name__
    if name in ("LineBox", "TableRowBox"):
        out.append(box.position_y + box.height)
        return
    element = getattr(box, "element", None)
    if element is None or (id(element), box.element_tag) not in going_on:
        out.append(box.border_box_y() + box.border_height())
    for child in getattr(box, "children", ()):
        _bottoms(child, going_on, out)


def _caption_rooms(doc: Any) -> dict[str, float]:
    """Table part key -> the height a one-line caption of it takes in `doc`."""
    out = {}
    for page in doc.pages:
        for box in page._page_box.descendants():
            if type(box).__name__ == "TableCaptionBox" and box.element is not None:
                lines = [c for c in box.children if type(c).__name__ == "LineBox"]
                key = box.element.get("id") or box.element.get("data-part")
                if key and lines:
                    out[key] = box.margin_height() - box.height + lines[0].height
    return out


def _marked(doc: Any) -> tuple[dict[int, int], dict[int, tuple[int, Any]], dict[int, Any]]:
    """In a stretch document: the page each stretch starts on, and for each stretch cut
    short the box of the element it ends with (its last, with its page) and of the one
    it was cut before (its first)."""
    firsts: dict[int, int] = {}
    befores: dict[int, tuple[int, Any]] = {}
    afters: dict[int, Any] = {}
    for number, page in enumerate(doc.pages):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is None or "::" in (getattr(box, "element_tag", None) or "::"):
                continue
            if (start := element.get(_START)) is not None:
                firsts.setdefault(int(start), number)
            if mark := element.get(_MARK):
                side, n = mark.split()
                if side == "before":
                    befores[int(n)] = number, box
                else:
                    afters.setdefault(int(n), box)
    return firsts, befores, afters


def _avoided(before: Any, after: Any) -> bool:
    """Whether breaking is avoided between the two boxes a stretch was cut between (then
    the cut could have moved an earlier break)."""
    values = [*_break_values(before, "after"), *_break_values(after, "before")]
    return any(value in ("avoid", "avoid-page") for value in values)


def _break_values(box: Any, side: str) -> list[str]:
    """The break-before or -after values that meet at a box's edge (WeasyPrint's rule:
    the box's and its first or last descendants' down the block-level line)."""
    from weasyprint.formatting_structure import boxes

    kinds = (boxes.BlockLevelBox, boxes.TableRowGroupBox, boxes.TableRowBox)
    values = []
    while isinstance(box, kinds) and (box.is_in_normal_flow() or box.is_floated()):
        values.append(box.style[f"break_{side}"])
        if not box.children:
            break
        box = box.children[-1 if side == "after" else 0]
    return values


# -- stretches of the HTML ------------------------------------------------------------------

def _table_stretches(html: str) -> list[int]:
    """Where the stretches holding a table start (the only ones a round can split)."""
    return sorted({_stretch_start(html, m.start()) for m in re.finditer(r"<table\b", html)})


def _table_at(html: str, key: str) -> int:
    """Where the table part `key` opens."""
    m = re.search(rf'<caption (?:id|data-part)="{re.escape(key)}">', html)
    if m is None:
        raise _Unsure(f"no table part {key}")
    return html.rfind("<table", 0, m.start())


def _stretch_start(html: str, at: int) -> int:
    """The forced page break at or before `at`: a later part or a chapter."""
    breaks = _forced_breaks(html)
    n = bisect.bisect_right(breaks, at) - 1
    if n < 0 or at >= breaks[-1]:
        raise _Unsure("a table outside the chapters of <main>")
    return breaks[n]


def _stretch_end(html: str, start: int) -> int:
    """The next forced page break after `start` (or the end of `<main>`)."""
    breaks = _forced_breaks(html)
    return breaks[min(bisect.bisect_right(breaks, start), len(breaks) - 1)]


@functools.lru_cache(maxsize=4)
def _forced_breaks(html: str) -> tuple[int, ...]:
    """Where print.css starts a page in `<main>`: at a later part of a table, and at a
    chapter (a section of `<main>` that opens with an `<h2>`); then the end of `<main>`."""
    out, stack, main_end = [], [], None
    for m, name in _tags(html, 0, len(html)):
        if m.group(1):
            if stack and stack[-1] == name:
                stack.pop()
            if name == "main" and not stack.count("main"):
                main_end = m.start()
        elif name not in _VOID and not m.group(4):
            if (html.startswith(_CONTINUED, m.start()) and "main" in stack) or \
                    (stack[-1:] == ["main"] and _CHAPTER.match(html, m.start())):
                out.append(m.start())
            stack.append(name)
    if main_end is None or not out:
        raise _Unsure("no chapters in <main>")
    return (*out, main_end)


def _stretch_stop(html: str, start: int) -> tuple[int, int | None, int | None]:
    """Where the stretch at `start` may stop: after the element that follows its last
    table (with its wrappers), since what comes later cannot move the table's breaks
    (unless breaking is avoided there, which `_avoided` checks), else at its end. If it
    stops short, also the two elements it stops between: the outermost closed before
    the one that follows, and that one."""
    end = _stretch_end(html, start)
    last = html.rfind("<table", start, end)
    if last < 0:
        return end, None, None
    outer = last
    for name, at in reversed(_open_elements(html, 0, last)):
        if name != "div":
            break
        outer = at
    after = _element_end(html, outer)
    following = _next_opening(html, after)
    if following is None or following >= end:
        return end, None, None
    # what meets the table's wrappers: the outermost element closed before it
    around = _open_elements(html, 0, after)
    closed = around[len(_open_elements(html, after, following, around)):]
    # of a section that runs on after the table, its heading is enough
    if html.startswith("<section", following):
        stop = min(end, _element_end(html, _next_opening(html, following + 1)))
    else:
        stop = min(end, _element_end(html, following))
    if stop == end:
        return end, None, None
    return stop, closed[0][1] if closed else outer, following


def _stretches_html(html: str, starts: Sequence[int]) -> tuple[str, list[bool]]:
    """The stretches of `html` at `starts` as one document, and for each whether it
    stops short of its end (see `_stretch_stop`).

    Ancestors keep their opening tags (so the stylesheet matches as before) but lose
    their top margin, padding and border, as on a page a break has continued them onto;
    elements left open where a stretch stops lose their bottom ones, as before a break.
    Between two stretches, the elements open at both stay open, as they go on across the
    break in the document. Footnote numbering carries on from the document. Each stretch's
    first element is marked (`_START`), and so are the two a stretch cut short ends
    between (`_MARK`).
    """
    starts = sorted(set(starts))
    styles: dict[int, list[str]] = {}
    attrs: dict[int, list[str]] = {}
    spans = []  # (start, stop, elements closed before it, elements opened before it)
    shorts = []
    still: list[tuple[str, int]] = []
    pos = notes = 0
    for n, start in enumerate(starts):
        stop, before, after = _stretch_stop(html, start)
        shorts.append(before is not None)
        if before is not None and after is not None:
            attrs.setdefault(before, []).append(f'{_MARK}="before {n}"')
            attrs.setdefault(after, []).append(f'{_MARK}="after {n}"')
        attrs.setdefault(start, []).append(f'{_START}="{n}"')
        around = _open_elements(html, pos, start, still)
        if [name for name, _ in around[:3]] != ["html", "body", "main"] or \
                (html.startswith("<section", start) and len(around) != 3):
            raise _Unsure("a stretch outside a chapter of <main>")
        kept = 0
        while kept < min(len(still), len(around)) and still[kept] == around[kept]:
            kept += 1
        for _, at in still[kept:]:
            styles.setdefault(at, []).append(_NO_BOTTOM)
        for _, at in around[kept:]:
            styles.setdefault(at, []).append(_NO_TOP)
        spans.append((start, stop, still[kept:], around[kept:]))
        inside = html.count(_NOTE, start, stop)
        if inside and (count := html.count(_NOTE, 0, start)) != notes:
            styles.setdefault(start, []).append(f"counter-set:footnote {count}")
            notes = count
        notes += inside
        still, pos = _open_elements(html, start, stop, around), stop
    for _, at in still:
        styles.setdefault(at, []).append(_NO_BOTTOM)

    def tag(at: int) -> str:
        text = html[at:html.index(">", at) + 1]
        extra = ""
        if at in styles:
            if " style=" in text:
                raise _Unsure("an element with a style attribute around a stretch")
            extra += ' style="' + ";".join(styles[at]) + '"'
        extra += "".join(f" {attr}" for attr in attrs.get(at, ()))
        return text[:-1].rstrip("/").rstrip() + extra + ">"

    top = spans[0][3]
    out = [html[:top[0][1]], tag(top[0][1]), html[html.index(">", top[0][1]) + 1:top[1][1]]]
    out += [tag(at) for _, at in top[1:]]
    changed = sorted({*styles, *attrs})
    for n, (start, stop, closing, opening) in enumerate(spans):
        if n:
            out += [f"</{name}>" for name, _ in reversed(closing)]
            out += [tag(at) for _, at in opening]
        pos = start
        for at in changed[bisect.bisect_left(changed, start):bisect.bisect_left(changed, stop)]:
            out += [html[pos:at], tag(at)]
            pos = html.index(">", at) + 1
        out.append(html[pos:stop])
    out += [f"</{name}>" for name, _ in reversed(still)]
    return "".join(out) + "\n", shorts


def _tags(html: str, start: int, stop: int) -> Iterator[tuple[re.Match[str], str]]:
    """(match, lower-case name) of each start or end tag in html[start:stop], skipping
    comments and the text of script and style elements."""
    pos = start
    while (m := _TAG.search(html, pos, stop)) is not None:
        pos = m.end()
        if m.group(2) is None:
            continue
        name = m.group(2).lower()
        yield m, name
        if name in _RAW and not m.group(1):
            pos = html.find(f"</{name}", pos)
            if pos < 0:
                raise _Unsure(f"unclosed <{name}>")


def _open_elements(html: str, start: int, stop: int,
                   stack: Iterable[tuple[str, int]] = ()) -> list[tuple[str, int]]:
    """(name, where its opening tag is) of the elements open at `stop`, given those
    open at `start`."""
    open_ = list(stack)
    for m, name in _tags(html, start, stop):
        if m.group(1):
            if not open_ or open_[-1][0] != name:
                raise _Unsure(f"</{name}> closes no open <{name}>")
            open_.pop()
        elif name not in _VOID and not m.group(4):
            open_.append((name, m.start()))
    return open_


def _element_end(html: str, at: int) -> int:
    """Just after the end of the element that opens at `at`."""
    depth = 0
    for m, name in _tags(html, at, len(html)):
        if m.group(1):
            depth -= 1
        elif name not in _VOID and not m.group(4):
            depth += 1
        if depth == 0:
            return m.end()
    raise _Unsure("an element is not closed")


def _next_opening(html: str, at: int) -> int | None:
    """Where the next element opens after `at`."""
    for m, _ in _tags(html, at, len(html)):
        if not m.group(1):
            return m.start()
    return None


# -- splitting --------------------------------------------------------------------------------

def split_tables(html: str, breaks: dict[str, list[int]]) -> str:
    """The HTML with each table part in `breaks` split at those body rows."""
    for key, rows in breaks.items():
        html = _split_part(html, key, rows)
    return html


def _split_part(html: str, key: str, at: list[int]) -> str:
    m = re.search(rf'<caption (?:id|data-part)="{re.escape(key)}">', html)
    if m is None:
        return html
    start = html.rfind("<table", 0, m.start())
    end = html.find("</table>", m.start()) + len("</table>")
    table = html[start:end]
    parts = _cut(table, at, key)
    return html[:start] + "\n".join(parts) + html[end:]


def _cut(table: str, at: list[int], key: str) -> list[str]:
    head_end = table.index("</thead>") + len("</thead>")
    head = table[:head_end]
    body = table[head_end:table.rindex("</table>")]
    caption = re.search(r"<caption[^>]*>(.*?)</caption>", head, re.S).group(1)
    title = caption.split(":")[0].removesuffix(" (continued)")
    # the body as (tbody opening tag, [row lines])
    groups = [(m.group(1), m.group(2).strip().split("\n"))
              for m in re.finditer(r"(<tbody[^>]*>)\n(.*?)\n</tbody>", body, re.S)]
    flat = [(g, r) for g, (_, rows) in enumerate(groups) for r in range(len(rows))]
    cuts = sorted({i for i in at if 0 < i < len(flat)})
    if not cuts:
        return [table]
    pieces: list[list[tuple[int, int]]] = []
    prev = 0
    for c in [*cuts, len(flat)]:
        pieces.append(flat[prev:c])
        prev = c
    out = []
    for n, piece in enumerate(pieces):
        if n == 0:
            top = head
        else:
            part = f"{key}-{n}"
            top = re.sub(r"<caption[^>]*>.*?</caption>",
                         f'<caption data-part="{part}">{title} (continued)</caption>',
                         head, count=1, flags=re.S)
            top = top.replace('<table class="data-table', '<table class="data-table continued',
                              1)
            top = re.sub(r'\bid="([^"]+)"', rf'id="\1-c{n}"', top)
        lines = []
        for g in dict.fromkeys(gi for gi, _ in piece):
            tag, rows = groups[g]
            mine = [r for gi, r in piece if gi == g]
            chunk = [rows[r] for r in mine]
            label = re.search(r'<th [^>]*scope="rowgroup" rowspan="(\d+)"[^>]*>.*?</th>',
                              rows[0])
            if label:
                if mine[0] != 0:  # the group continues here: repeat its label
                    cell = re.sub(r'\bid="([^"]+)"', rf'id="\1-c{n}"', label.group(0))
                    chunk[0] = chunk[0].replace("<tr>", "<tr>" + cell, 1) if \
                        chunk[0].startswith("<tr>") else re.sub(r"(<tr[^>]*>)", r"\1" + cell,
                                                                chunk[0], count=1)
                    chunk[0] = re.sub(r'rowspan="\d+"', f'rowspan="{len(mine)}"', chunk[0],
                                      count=1)
                else:
                    chunk[0] = re.sub(r'rowspan="\d+"', f'rowspan="{len(mine)}"', chunk[0],
                                      count=1)
            lines.append(tag + "\n" + "\n".join(chunk) + "\n</tbody>")
        out.append(top + "\n" + "\n".join(lines) + "\n</table>")
    return out
