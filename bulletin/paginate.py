"""Print pagination: a table that runs onto later pages gets a "(continued)" caption there.

WeasyPrint repeats a table's heading rows on each page it runs onto but not its caption,
so a reader of page 21 meets a bare grid of numbers. CSS cannot add a caption to a
table's later fragments, so the print HTML is laid out once, the body rows that start a
new page are found, and each such table is split there into parts: the first keeps its
caption, each later part starts a new page with "Table N (continued)" as its caption and
the same heading rows. A row group cut by the break repeats its label. The layout is
then done again (the new captions take room, so a part can run over once more: up to
three rounds).

Works on the HTML that bulletin/tables.py writes for a table (one `<tr>` a line, each
row group a `<tbody>`), and leaves any other HTML alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

ROUNDS = 3


def render(layout: Callable[[str], Any], html: str) -> Any:
    """The laid-out document (WeasyPrint's `Document`) with continued captions."""
    doc = layout(html)
    for _ in range(ROUNDS):
        splits = table_breaks(doc)
        if not splits:
            return doc
        new = split_tables(html, splits)
        if new == html:
            return doc
        html = new
        doc = layout(html)
    return doc


def table_breaks(doc: Any) -> dict[str, list[int]]:
    """table id -> indexes (0-based, counted over all its body rows) of the body rows
    that begin a page other than the table's first; for each part of a split table."""
    page_of: dict[int, int] = {}  # id(tr element) -> first page it is on
    owner: dict[int, tuple[str, int]] = {}  # id(tr element) -> (table part key, index)
    for number, page in enumerate(doc.pages):
        for tr, key, index in _body_rows(page._page_box):
            page_of.setdefault(id(tr), number)
            owner[id(tr)] = (key, index)
    by_table: dict[str, list[tuple[int, int]]] = {}
    for tid, (key, index) in owner.items():
        by_table.setdefault(key, []).append((index, page_of[tid]))
    out: dict[str, list[int]] = {}
    for key, rows in by_table.items():
        rows.sort()
        breaks = [i for (i, p), (_, q) in zip(rows[1:], rows, strict=False) if p != q]
        if breaks:
            out[key] = breaks
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
