"""Continued captions (bulletin/paginate.py): the shortcut through the rounds gives what
laying out the whole document every round gives, with one whole layout.

`_every_round_reference` below is the plain loop written out again (lay out, split the
tables where a body row starts a page, lay out again; three rounds at most): every test
compares `paginate.render` with it. Layouts are real WeasyPrint layouts with the
bulletin's print stylesheet; the small documents are measured first (where a long table
breaks) so that they need the second round whatever the fonts' exact sizes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest

from bulletin import paginate
from bulletin.tables import Table

weasyprint = pytest.importorskip("weasyprint")

_CONTINUED = '<table class="data-table continued">'


def _layout(html: str) -> Any:
    from bulletin.render import TEMPLATES_DIR

    return weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR) + "/").render(
        presentational_hints=True)


class Layouts:
    """The layout function, remembering what it laid out (and each result, so that the
    reference loop does not lay out the same HTML again)."""

    def __init__(self) -> None:
        self.done: dict[str, Any] = {}
        self.calls: list[str] = []

    def __call__(self, html: str) -> Any:
        self.calls.append(html)
        if html not in self.done:
            self.done[html] = _layout(html)
        return self.done[html]

    def whole(self, original: str) -> list[str]:
        """The calls that laid out a whole document (a stretch leaves out what comes
        before `<main>`)."""
        front = original[:original.index("<main")]
        return [h for h in self.calls if h.startswith(front)]


def _every_round_reference(layout: Callable[[str], Any], html: str) -> tuple[str, int]:
    """The HTML the plain loop ends with, and how many layouts it took."""
    doc, layouts = layout(html), 1
    for _ in range(3):
        breaks = paginate.table_breaks(doc)
        if not breaks:
            break
        html = paginate.split_tables(html, breaks)
        doc, layouts = layout(html), layouts + 1
    return html, layouts


# -- small documents in the bulletin's shape ---------------------------------------------

def _doc(*chapters: str, main: bool = True) -> str:
    body = "\n".join(chapters)
    if main:
        body = f'<main id="main">\n{body}\n</main>'
    return ('<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
            '<title>Test</title>\n<link rel="stylesheet" href="print.css">\n</head>\n'
            '<body class="bulletin print">\n<a class="skip-link" href="#main">Skip</a>\n'
            f"{body}\n</body>\n</html>\n")


def _chapter(name: str, *blocks: str) -> str:
    return (f'<section class="section section-{name}" id="section-{name}">\n'
            f'<h2 id="{name}">{name.title()}</h2>\n' + "\n".join(blocks) + "\n</section>")


def _para(lines: int) -> str:
    return "<p>" + " ".join(["Words that fill a paragraph out to a chosen length."] *
                            (2 * lines)) + "</p>"


def _table(number: str, rows: int, per_group: int = 1) -> str:
    body = tuple((f"Group {i // per_group}", f"Level {i}", f"{i}.0", "0.1")
                 for i in range(rows))
    return Table(f"table{number}", number, f"Test table {number}",
                 (("Variable", "Category", "B", "SE"),), body, notes=("A note.",),
                 row_header_cols=2).to_html()


def _first_break(html: str, key: str, n: int = 0) -> int:
    return paginate.table_breaks(_layout(html))[key][n]


def _runs_over() -> str:
    """A table whose second page is full: its "(continued)" caption pushes rows on."""
    second = _first_break(_doc(_chapter("one", _para(6), _table("1", 90))),
                          "table1-caption", 1)
    return _doc(_chapter("one", _para(6), _table("1", second - 1)),
                _chapter("two", _para(3)))


def _pushes_down() -> str:
    """A table just short of the foot of the page that a split table runs onto: the
    caption there pushes it over."""
    first = _first_break(_doc(_chapter("one", _para(6), _table("1", 60))),
                         "table1-caption")
    rows = first + 3
    fits = _first_break(_doc(_chapter("one", _para(6), _table("1", rows),
                                      _table("2", 60))), "table2-caption")
    return _doc(_chapter("one", _para(6), _table("1", rows), _table("2", fits - 2)),
                _chapter("two", _para(3)))


_SECOND_ROUND = pytest.mark.parametrize(("make", "second"), [
    (_runs_over, "table1-caption-1"), (_pushes_down, "table2-caption")])


def _needs_a_second_round(layouts: Layouts, html: str, second: str) -> str:
    """The plain loop's HTML, after checking that `html` takes it two rounds, splitting
    `second` (see its builder: the part that runs over, or the table the first layout
    did not split) in the second."""
    expected, plain = _every_round_reference(layouts, html)
    assert plain == 3
    assert second not in paginate.table_breaks(layouts.done[html])
    assert f'data-part="{second}-1"' in expected
    layouts.calls.clear()
    return expected


@_SECOND_ROUND
def test_a_second_round_takes_one_whole_layout_and_ends_as_the_plain_loop(
        make: Callable[[], str], second: str) -> None:
    html = make()
    layouts = Layouts()
    expected = _needs_a_second_round(layouts, html, second)
    doc = paginate.render(layouts, html)
    whole = layouts.whole(html)
    assert whole == [expected] == layouts.calls[-1:]
    assert doc is layouts.done[expected]
    # the table's chapter, then the stretches the caption moves (once or twice)
    first, *again = layouts.calls[:-1]
    assert "Table 1:" in first and "section-two" not in first
    assert 1 <= len(again) <= paginate.ROUNDS - 1
    assert all("Table 1:" not in part for part in again)


@_SECOND_ROUND
def test_a_wrong_guess_costs_a_whole_layout_not_a_different_result(
        make: Callable[[], str], second: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Guessing that no split moves a break is wrong for both documents: the whole
    layout shows the break, and a second one follows, as in the plain loop."""
    html = make()
    layouts = Layouts()
    expected = _needs_a_second_round(layouts, html, second)
    monkeypatch.setattr(paginate, "_at_risk", lambda *_: set())
    doc = paginate.render(layouts, html)
    whole = layouts.whole(html)
    assert len(layouts.calls) == 3 and len(whole) == 2
    assert whole[-1] == expected and doc is layouts.done[expected]
    assert f'data-part="{second}-1"' not in whole[0]


def test_tables_that_fit_take_their_stretches_and_one_whole_layout() -> None:
    html = _doc(_chapter("one", _para(2)), _chapter("two", _para(2), _table("1", 8)),
                _chapter("three", _para(2)))
    layouts = Layouts()
    doc = paginate.render(layouts, html)
    assert not paginate.table_breaks(doc)
    first, last = layouts.calls
    assert last == html and layouts.whole(html) == [html]
    assert "section-two" in first and "section-one" not in first \
        and "section-three" not in first
    without = _doc(_chapter("one", _para(2)))
    layouts.calls.clear()
    paginate.render(layouts, without)
    assert layouts.calls == [without]


@pytest.mark.parametrize(("style", "extra"), [
    # the stretch document's pages differ among themselves
    ("@page :left { margin-left: 40mm }", 0),
    # only the whole document's pages differ: a chapter on a page of its own frame
    (".section-two { page: wide } @page wide { margin: 10mm }", 1)])
def test_pages_of_more_than_one_frame_take_every_round_in_full(style: str,
                                                               extra: int) -> None:
    html = _runs_over().replace("</head>", f"<style>{style}</style>\n</head>")
    layouts = Layouts()
    expected, plain = _every_round_reference(layouts, html)
    layouts.calls.clear()
    doc = paginate.render(layouts, html)
    whole = layouts.whole(html)
    assert doc is layouts.done[expected] and whole[-1] == expected
    assert len(whole) == plain + extra
    assert whole[extra] == html  # then every round from the start


def test_outside_the_bulletins_page_structure_every_round_is_laid_out_whole() -> None:
    html = _runs_over().replace('<main id="main">\n', "").replace("\n</main>", "")
    layouts = Layouts()
    expected, plain = _every_round_reference(layouts, html)
    layouts.calls.clear()
    paginate.render(layouts, html)
    assert layouts.calls[-1] == expected
    assert len(layouts.calls) == plain == 3
    assert all(h.startswith(html[:html.index("<section")]) for h in layouts.calls)


# -- a stretch as a document of its own ----------------------------------------------------

def _split_doc() -> str:
    note = '<span class="footnote">A note.</span>'
    html = _doc(_chapter("one", f"<p>Text{note}.</p>", _table("1", 40),
                         f"<p>After{note}.</p>", "<p>Then.</p>"),
                _chapter("two", _para(2)))
    return paginate.split_tables(html, {"table1-caption": [20]})


def test_a_stretch_keeps_its_ancestors_without_their_top_edges() -> None:
    html = _split_doc()
    start = html.index(_CONTINUED)
    part, shorts = paginate._stretches_html(html, [start])
    front, rest = part.split("<main", 1)
    edges = "margin-top:0;padding-top:0;border-top-width:0;" \
        "margin-bottom:0;padding-bottom:0;border-bottom-width:0"
    assert front.startswith("<!DOCTYPE html>\n")
    assert f'<html lang="en-GB" style="{edges}">' in front
    assert '<link rel="stylesheet" href="print.css">' in front
    assert front.endswith(f'<body class="bulletin print" style="{edges}">')
    assert "skip-link" not in front
    opened = re.findall(r"<(main|section|div)\b([^>]*)>",
                        "<main" + rest.split("<table", 1)[0])
    assert [name for name, _ in opened] == ["main", "section", "div", "div"]
    assert all('style="margin-top:0;padding-top:0;border-top-width:0' in attrs
               for _, attrs in opened)
    assert 'class="section section-one"' in opened[1][1]
    # footnotes go on being numbered from the one before the stretch
    assert '<table class="data-table continued" style="counter-set:footnote 1" ' \
        'data-stretch="0">' in part
    # the continued part, then the last table's wrapper and the paragraph after it; the
    # rest of the chapter is left out
    assert "Table 1 (continued)" in part and "Table 1:" not in part
    assert ">After<" in part and ">Then.<" not in part and "section-two" not in part
    assert shorts == [True]
    assert part.count('data-stretch-end="before 0"') == part.count(
        'data-stretch-end="after 0"') == 1
    assert re.sub(r"\s+", "", part).endswith("</p></section></main></body></html>")


def test_a_stretch_ends_at_the_next_forced_break() -> None:
    html = paginate.split_tables(_doc(_chapter("one", _table("1", 60), _table("2", 30))),
                                 {"table1-caption": [20, 40]})
    first, second = (m.start() for m in re.finditer(_CONTINUED, html))
    part, shorts = paginate._stretches_html(html, [first])
    assert shorts == [False] and "data-stretch-end" not in part
    assert part.count("<table") == 1 and "Test table 2" not in part
    assert re.sub(r"\s+", "", part).endswith(
        "</table></div></div></section></main></body></html>")
    # a table's wrappers left open lose their bottom edges, as before a break
    assert re.search(r'<div class="table-wrap" id="table1" style="[^"]*margin-bottom:0', part)
    assert paginate._stretch_start(html, second) == second
    assert paginate._stretch_start(html, html.index("table2")) == second
    assert paginate._stretch_end(html, first) == second


def _three_stretches() -> tuple[str, list[int]]:
    """A document and three of its stretches: two later parts of one table (the second
    cut short after the paragraph that follows), and a chapter further on; footnotes
    before, in and between them."""
    note = '<span class="footnote">A note.</span>'
    html = paginate.split_tables(
        _doc(_chapter("one", f"<p>Text{note}.</p>", _table("1", 80, per_group=4),
                      f"<p>After{note}.</p>", _para(30)),
             _chapter("two", f"<p>Between{note}.</p>", _para(2)),
             _chapter("three", _para(20), f"<p>Last{note}.</p>", _table("2", 60),
                      "<p>Close.</p>", _para(4))),
        {"table1-caption": [24, 52]})
    first, second = (m.start() for m in re.finditer(_CONTINUED, html))
    return html, [first, second, html.index('<section class="section section-three"')]


def test_stretches_together_keep_what_they_share_open() -> None:
    html, starts = _three_stretches()
    part, shorts = paginate._stretches_html(html, starts)
    assert shorts == [False, True, True]
    opening = re.findall(r'<(?:main|section|div|table)\b[^>]*\bid="([^"]+)"', part)
    # the chapter and the table's wrappers once, open across the break between parts
    assert opening == ["main", "section-one", "table1", "section-three", "table2"]
    ids = re.findall(r'\bid="([^"]+)"', part)
    assert len(ids) == len(set(ids))
    assert "Table 1:" not in part and "section-two" not in part and ">Close.<" in part
    assert [int(n) for n in re.findall(r'data-stretch="(\d+)"', part)] == [0, 1, 2]
    # numbering: one note before the first part; two more (one left out) before the last
    assert re.findall(r"counter-set:footnote (\d+)", part) == ["1", "3"]
    # the first chapter, cut short, is closed without its bottom edges
    assert re.search(r'<section class="section section-one"[^>]*margin-bottom:0', part)
    assert not re.search(r'<div class="table-wrap" id="table1"[^>]*margin-bottom:0', part)
    doc = _layout(part)
    firsts, befores, afters = paginate._marked(doc)
    assert firsts[0] == 0 < firsts[1] < firsts[2] < len(doc.pages)
    assert sorted(befores) == sorted(afters) == [1, 2]
    assert befores[1][1].element.get("id") == "table1"
    assert afters[1].element.tag == "p"


def test_on_the_page_a_stretch_is_cut_on_the_room_is_what_its_last_table_leaves() -> None:
    """What follows a stretch cut short is not laid out, but it does not matter: below
    the element its last table closes with, anything can move on to the next page."""
    html, starts = _three_stretches()
    [found] = paginate._alone(_layout, html, starts, set())
    breaks, free = found.breaks, found.free
    assert "table2-caption" in breaks
    part, _ = paginate._stretches_html(html, starts)
    doc = _layout(part)
    whole = _layout(html)
    firsts, befores, _ = paginate._marked(doc)
    below = paginate._free_space(doc)
    for n, last in ((1, firsts[2] - 1), (2, len(doc.pages) - 1)):
        page, box = befores[n]
        assert page == last
        number, same = _last_box(whole, box.element.get("id"))
        assert free[last] == pytest.approx(
            paginate._foot(whole.pages[number]) - same.border_box_y() - same.border_height())
        assert free[last] > below[last]  # what follows the table, on the same page


def _last_box(doc: Any, key: str) -> tuple[int, Any]:
    """The page and box of the last fragment of the element with id `key`."""
    found = None
    for number, page in enumerate(doc.pages):
        for box in page._page_box.descendants():
            element = getattr(box, "element", None)
            if element is not None and box.element_tag == element.tag and \
                    element.get("id") == key:
                found = number, box
    assert found is not None
    return found


def test_stretches_together_are_laid_out_as_in_the_whole() -> None:
    html, starts = _three_stretches()
    assert _alike(html, _layout(html), starts) > 30


def test_only_chapters_of_main_and_later_parts_start_a_page() -> None:
    inner = '<section class="inner">\n<h2 id="x">Not a chapter</h2>\n<p>Text.</p>\n</section>'
    html = paginate.split_tables(
        _doc(_chapter("one", inner, _table("1", 30)), _chapter("two", _para(1))),
        {"table1-caption": [15]})
    starts = [html[at:at + 36] for at in paginate._forced_breaks(html)]
    assert starts == ['<section class="section section-one"', _CONTINUED,
                      '<section class="section section-two"', "</main>\n</body>\n</html>\n"]
    with pytest.raises(paginate._Unsure):
        paginate._forced_breaks(html.replace("<main", "<div").replace("</main>", "</div>"))


# -- the shipped editions ------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped() -> dict[str, str]:
    """The print HTML of each shipped edition, as `bulletin build` renders it."""
    from bulletin.build import figures_of, gather
    from bulletin.config import load_edition, load_previous
    from bulletin.render import render_bulletin

    registries: dict[str, Any] = {}

    def registry(edition: Any) -> Any:
        if edition.id not in registries:
            registries[edition.id] = gather(edition, quiet=True)
        return registries[edition.id]

    out = {}
    for name in ("2018-19", "2019-20"):
        edition = load_edition(name)
        last = load_previous(edition)
        reg = registry(edition)
        out[name] = render_bulletin(reg, figures_of(reg, edition), edition,
                                    registry(last) if last else None).html_print
    return out


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def paginated(shipped: dict[str, str]) -> dict[str, tuple[Layouts, Any, list[str], list[str]]]:
    """Each shipped edition paginated: the layouts (which the tests go on using), the
    document, what WeasyPrint logged meanwhile, and what `paginate.render` laid out."""
    out = {}
    for name, html in shipped.items():
        layouts, log = Layouts(), _Records()
        logging.getLogger("weasyprint").addHandler(log)
        try:
            doc = paginate.render(layouts, html)
        finally:
            logging.getLogger("weasyprint").removeHandler(log)
        out[name] = layouts, doc, [r.getMessage() for r in log.records], list(layouts.calls)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["2018-19", "2019-20"])
def test_a_shipped_edition_takes_one_whole_layout(shipped: dict[str, str], paginated,
                                                  name: str) -> None:
    html = shipped[name]
    layouts, doc, logged, made = paginated[name]
    front = html[:html.index("<main")]
    assert [h.startswith(front) for h in made] == [False] * (len(made) - 1) + [True]
    assert not logged  # the build would show it
    # the stretches holding a table, laid out together; then the few a split may move,
    # together once a round
    first, *again = [layouts.done[h] for h in made[:-1]]
    assert made[0].count("<table") == html.count("<table")
    assert 1 <= len(again) <= paginate.ROUNDS - 1
    assert len(first.pages) + sum(len(d.pages) for d in again) < len(doc.pages)
    expected, _ = _every_round_reference(layouts, html)
    assert made[-1] == expected
    assert not paginate.table_breaks(doc)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["2018-19", "2019-20"])
def test_each_stretch_is_laid_out_as_in_the_whole(shipped: dict[str, str], paginated,
                                                  name: str) -> None:
    """What the shortcut rests on: from a forced page break on, a stretch of the HTML
    lays out alone, or together with others, line for line and row for row as in the
    whole document: the first round's stretches in the first HTML, and every stretch
    that holds a table, or starts with one, in the final HTML."""
    layouts, doc, _, made = paginated[name]
    html = made[-1]
    starts = sorted({m.start() for m in re.finditer(_CONTINUED, html)} |
                    set(paginate._table_stretches(html)))
    assert len(starts) > 5
    first = shipped[name]
    _every_round_reference(layouts, first)
    _alike(first, layouts.done[first], paginate._table_stretches(first))
    whole = sum(len(_rows(_leaves(page))) for page in doc.pages)
    assert _alike(html, doc, starts) >= whole / 2
    assert sum(_alike(html, doc, [start]) for start in starts) >= whole / 2


def _alike(html: str, whole_doc: Any, starts: list[int]) -> int:
    """Checks that the stretches of `html` at `starts`, laid out together, are laid out
    as in `whole_doc`; the number of table rows compared."""
    part, shorts = paginate._stretches_html(html, starts)
    doc = _layout(part)
    firsts, _, _ = paginate._marked(doc)
    ends = [*(firsts[n] for n in range(1, len(starts))), len(doc.pages)]
    whole = [_leaves(page) for page in whole_doc.pages]
    rows = 0
    for n, start in enumerate(starts):
        pages = [_leaves(page) for page in doc.pages[firsts[n]:ends[n]]]
        at = next(i for i, page in enumerate(whole) if page[:3] == pages[0][:3])
        if shorts[n]:  # its last page stops where it was cut: its table rows are there
            last = _rows(pages.pop())
            assert last == _rows(whole[at + len(pages)])[:len(last)], start
            rows += len(last)
        assert whole[at:at + len(pages)] == pages, start
        rows += sum(len(_rows(page)) for page in pages)
    return rows


def _rows(leaves: list[tuple[str, float, float, str]]) -> list[tuple[str, float, float, str]]:
    return [leaf for leaf in leaves if leaf[0] == "TableRowBox"]


def _leaves(page: Any) -> list[tuple[str, float, float, str]]:
    """Each line and table row on a page: kind, top, height and its first words."""
    out = []
    stack = [page._page_box]
    while stack:
        box = stack.pop()
        kind = type(box).__name__
        if kind in ("LineBox", "TableRowBox"):
            text = "".join(getattr(b, "text", "") for b in box.descendants())
            out.append((kind, round(box.position_y, 6), round(box.height, 6), text[:30]))
        elif kind != "MarginBox":
            stack.extend(reversed(getattr(box, "children", ())))
    return out


# -- documents drawn at random ------------------------------------------------------------

def _random_doc(seed: int) -> str:
    """Chapters of paragraphs and tables of random lengths and groupings: tables that
    fit, tables that run over one or more pages, tables pushed over by a caption."""
    import random

    rng = random.Random(seed)
    chapters = []
    number = 0
    for c in range(rng.randint(1, 3)):
        blocks = []
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.55:
                number += 1
                blocks.append(_table(str(number), rng.randint(3, 110), rng.choice((1, 3, 7))))
            else:
                blocks.append(_para(rng.randint(1, 12)))
        chapters.append(_chapter(f"part{c}", *blocks))
    return _doc(*chapters)


@pytest.mark.parametrize("seed", range(8))
def test_random_documents_end_as_the_plain_loop(seed: int) -> None:
    """Whatever the tables and where they fall, the stretch-first pagination ends with
    the HTML the plain loop (a whole layout every round) ends with."""
    html = _random_doc(seed)
    reference = Layouts()
    expected, _ = _every_round_reference(reference, html)
    layouts = Layouts()
    doc = paginate.render(layouts, html)
    assert layouts.whole(html)[-1] == expected
    assert doc is layouts.done[expected]


def test_stretches_are_shared_among_documents_of_about_equal_length() -> None:
    html = _doc(*(_chapter(f"c{n}", _para(n % 3 + 1), _table(str(n), 10 + 30 * (n % 4)))
                  for n in range(7)))
    starts = paginate._table_stretches(html)
    assert paginate._groups(html, starts, 1) == [starts]
    groups = paginate._groups(html, starts, 3)
    assert len(groups) == 3 and sorted(s for g in groups for s in g) == starts
    assert all(g == sorted(g) for g in groups)
    size = {s: paginate._stretch_stop(html, s)[0] - s for s in starts}
    loads = [sum(size[s] for s in g) for g in groups]
    assert max(loads) - min(loads) <= max(size.values())
    assert paginate._groups(html, starts[:2], 3) == [[starts[0]], [starts[1]]] or \
        paginate._groups(html, starts[:2], 3) == [[starts[1]], [starts[0]]]


@pytest.mark.parametrize("seed", range(8))
def test_random_documents_end_alike_laid_out_side_by_side(seed: int) -> None:
    """Stretches laid out as two documents, one in another process, find the same
    breaks: the same final HTML as one document a round."""
    from bulletin import forked

    html = _random_doc(seed)
    together, apart = Layouts(), Layouts()
    paginate.render(together, html)
    paginate.render(apart, html, lambda jobs: forked.run([c for _, c in jobs]), documents=2)
    assert apart.calls[-1] == together.calls[-1]
    assert apart.whole(html)[-1] == together.calls[-1]
