"""Repairs to the PDF's structure tree that WeasyPrint 70 leaves undone (PDF/UA-1).

WeasyPrint tags the document, but a few of its tags are wrong or missing; a screen
reader then reads page furniture as text, a table cell with the wrong heading, or a link
by its target id. This stage opens the written PDF with pikepdf (qpdf), fixes the
structure, and saves it again, deterministically (same input bytes, same output bytes):

- Running heads and page numbers (margin boxes) are painted as marked content whose
  structure elements are never linked into the tree: they become /Artifact content.
- Contents dot leaders (leader()) are real text inside the link: they become artifacts.
- A contents entry is a block link with an inline link and a ::after link inside it,
  three /Link elements and three annotations: they are merged into one.
- Each link annotation's /Contents (WeasyPrint writes the target id) becomes the link's
  text, so a reader hears where it goes.
- Table cells: WeasyPrint's /Headers go wrong on every row after a row-spanning heading
  and never name the group headings of a two-row heading. They are recomputed from the
  table's grid: each data cell names the headings over its column (in the table head)
  and those to its left in its rows; headings get /Scope; an /IDTree resolves the ids.
- A figure's caption becomes the first child of its /Figure (WeasyPrint leaves it
  beside it), and the figure's layout /BBox is given in PDF points, not CSS pixels.
- A footnote, tagged as a loose NonStruct at the top of the tree, becomes a /Note in
  the paragraph that calls it, just after its number.

Everything here reads only the PDF; it needs no knowledge of the templates.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

PX = 0.75  # CSS pixel -> PDF point
_LEADER_RE = re.compile(r"^[.\s\u00a0\u2024\u2025\u2026]*$")


def finish(data: bytes) -> bytes:
    """The repaired PDF (bytes in, bytes out)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/StructTreeRoot" not in pdf.Root:
            return data
        doc = _Doc(pdf)
        doc.artifacts()
        doc.merge_links()
        doc.join_split_links()
        doc.describe_links()
        doc.figures()
        doc.notes()
        doc.table_headers()  # last: it writes the /IDTree of every element's /ID
        doc.write_back()
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, compress_streams=True,
                 object_stream_mode=pikepdf.ObjectStreamMode.generate)
        return out.getvalue()


# -- reading text back -------------------------------------------------------------------

def _cmap(font: Any) -> dict[bytes, str]:
    """A font's ToUnicode map, code bytes -> text (bfchar and bfrange forms)."""
    out: dict[bytes, str] = {}
    if "/ToUnicode" not in font:
        return out
    text = font.ToUnicode.read_bytes().decode("latin-1")

    def uni(hexstr: str) -> str:
        raw = bytes.fromhex(hexstr)
        return raw.decode("utf-16-be", errors="replace")

    for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            out[bytes.fromhex(src)] = uni(dst)
    for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(
                r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(<[0-9a-fA-F]+>|\[[^\]]*\])", block):
            a, b, width = int(lo, 16), int(hi, 16), len(lo) // 2
            if dst.startswith("["):
                targets = re.findall(r"<([0-9a-fA-F]+)>", dst)
                for k, t in enumerate(targets[:b - a + 1]):
                    out[(a + k).to_bytes(width, "big")] = uni(t)
            else:
                start = int(dst[1:-1], 16)
                for k in range(b - a + 1):
                    out[(a + k).to_bytes(width, "big")] = chr(start + k)
    return out


def decode(raw: bytes, cmap: dict[bytes, str]) -> str:
    """Text of a string operand shown in a font with this ToUnicode map (2-byte codes
    for WeasyPrint's Identity-H fonts, 1-byte otherwise)."""
    width = 2 if cmap and all(len(k) == 2 for k in cmap) else 1
    return "".join(cmap.get(raw[i:i + width], "") for i in range(0, len(raw), width))


def page_marked_text(page: Any, cmaps: dict[int, dict[bytes, str]] | None = None
                     ) -> dict[int, str]:
    """MCID -> the text painted inside that marked content on one page."""
    import pikepdf

    cmaps = {} if cmaps is None else cmaps
    fonts = page.Resources.get("/Font", {}) if "/Resources" in page else {}
    out: dict[int, str] = {}
    stack: list[int | None] = []
    cmap: dict[bytes, str] = {}
    for operands, op in pikepdf.parse_content_stream(page):
        name = str(op)
        if name == "BDC":
            stack.append(_mcid(operands))
        elif name == "BMC":
            stack.append(None)
        elif name == "EMC":
            if stack:
                stack.pop()
        elif name == "Tf":
            font = fonts.get(str(operands[0]))
            if font is not None:
                key = font.objgen[0] if font.is_indirect else id(font)
                if key not in cmaps:
                    cmaps[key] = _cmap(font)
                cmap = cmaps[key]
        elif name in ("Tj", "TJ", "'", '"'):
            mcid = next((m for m in reversed(stack) if m is not None), None)
            if mcid is None:
                continue
            shown = operands[-1]
            parts = shown if isinstance(shown, pikepdf.Array) else [shown]
            text = "".join(decode(bytes(p), cmap) for p in parts
                           if isinstance(p, pikepdf.String))
            out[mcid] = out.get(mcid, "") + text
    return out


def _mcid(operands: Any) -> int | None:
    import pikepdf

    if len(operands) == 2 and isinstance(operands[1], pikepdf.Dictionary) \
            and "/MCID" in operands[1]:
        return int(operands[1].MCID)
    return None


# -- the structure tree ------------------------------------------------------------------

@dataclass
class _Doc:
    pdf: Any
    pages: list[Any] = field(default_factory=list)
    page_index: dict[tuple[int, int], int] = field(default_factory=dict)
    parent_tree: dict[int, Any] = field(default_factory=dict)  # key -> elem or Array
    text: list[dict[int, str]] = field(default_factory=list)
    artifact_mcids: dict[int, set[int]] = field(default_factory=dict)
    dropped_annots: set[tuple[int, int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.root = self.pdf.Root.StructTreeRoot
        self.pages = list(self.pdf.pages)
        self.page_index = {p.obj.objgen: i for i, p in enumerate(self.pages)}
        nums = self.root.ParentTree.Nums
        for i in range(0, len(nums), 2):
            self.parent_tree[int(nums[i])] = nums[i + 1]
        cmaps: dict[int, dict[bytes, str]] = {}
        self.text = [page_marked_text(p, cmaps) for p in self.pages]

    # walking
    def elements(self) -> Iterator[Any]:
        """Every structure element reachable from the root, parents before children."""
        import pikepdf

        seen: set[tuple[int, int]] = set()
        todo = list(reversed(list(_kids(self.root))))
        while todo:
            e = todo.pop()
            if not isinstance(e, pikepdf.Dictionary) or e.get("/Type") in ("/OBJR", "/MCR"):
                continue
            if e.objgen in seen:
                continue
            seen.add(e.objgen)
            yield e
            todo.extend(reversed(list(_kids(e))))

    def page_of(self, e: Any) -> int | None:
        pg = e.get("/Pg")
        return None if pg is None else self.page_index.get(pg.objgen)

    def mcids(self, e: Any) -> list[tuple[int, int]]:
        """(page, mcid) of the marked content directly in element e."""
        import pikepdf

        out = []
        for k in _kids(e):
            if isinstance(k, int):
                out.append((self.page_of(e), k))
            elif isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/MCR":
                pg = self.page_index.get(k.Pg.objgen) if "/Pg" in k else self.page_of(e)
                out.append((pg, int(k.MCID)))
        return out

    def text_of(self, e: Any) -> str:
        """All text under element e, in order."""
        import pikepdf

        parts = []
        for k in _kids(e):
            if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/StructElem":
                parts.append(self.text_of(k))
        direct = self.mcids(e)
        if direct and not parts:
            return "".join(self.text[p].get(m, "") for p, m in direct if p is not None)
        # mixed: walk kids in order
        out = []
        for k in _kids(e):
            if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/StructElem":
                out.append(self.text_of(k))
            elif isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/MCR":
                pg = self.page_index.get(k.Pg.objgen) if "/Pg" in k else self.page_of(e)
                out.append(self.text[pg].get(int(k.MCID), ""))
            elif not isinstance(k, pikepdf.Dictionary):
                pg = self.page_of(e)
                if pg is not None:
                    out.append(self.text[pg].get(int(k), ""))
        return "".join(out)

    # 1. artifacts
    def artifacts(self) -> None:
        """Marked content no reachable element owns (margin boxes), and leader dots
        inside links, become artifacts."""
        import pikepdf

        owned: set[tuple[int, int]] = set()
        for e in self.elements():
            for pg, m in self.mcids(e):
                if pg is not None:
                    owned.add((pg, m))
        for i, t in enumerate(self.text):
            for m in t:
                if (i, m) not in owned:
                    self.artifact_mcids.setdefault(i, set()).add(m)
        for e in self.elements():
            if e.get("/S") != "/Link":
                continue
            keep = pikepdf.Array()
            for k in list(_kids(e)):
                if not isinstance(k, pikepdf.Dictionary):
                    pg = self.page_of(e)
                    text = self.text[pg].get(int(k), "") if pg is not None else ""
                    if "." in text and _LEADER_RE.match(text):
                        self.artifact_mcids.setdefault(pg, set()).add(int(k))
                        continue
                keep.append(k)
            e.K = keep
        for i, page in enumerate(self.pages):
            gone = self.artifact_mcids.get(i)
            if not gone:
                continue
            ops = []
            for operands, op in pikepdf.parse_content_stream(page):
                if str(op) == "BDC" and _mcid(operands) in gone:
                    ops.append(pikepdf.ContentStreamInstruction(
                        [pikepdf.Name.Artifact], pikepdf.Operator("BMC")))
                else:
                    ops.append(pikepdf.ContentStreamInstruction(operands, op))
            page.obj.Contents = self.pdf.make_stream(pikepdf.unparse_content_stream(ops))
            entry = self.parent_tree.get(int(page.obj.get("/StructParents", i)))
            if isinstance(entry, pikepdf.Array):
                for m in gone:
                    if m < len(entry):
                        entry[m] = None

    # 2. one Link per link
    def merge_links(self) -> None:
        import pikepdf

        for e in list(self.elements()):
            if e.get("/S") != "/Link" or _is_inside_link(e):
                continue
            inner = [k for k in _descendants(e) if k.get("/S") == "/Link"]
            if not inner:
                continue
            annots = [k.Obj for k in _kids(e)
                      if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR"]
            flat = pikepdf.Array()
            self._flatten(e, e, flat, annots)
            e.K = flat
            keep = next((a for a in annots), None)
            for a in annots[1:]:
                self.dropped_annots.add(a.objgen)
                if keep is not None and "/Rect" in a and "/Rect" in keep:
                    keep.Rect = _union(keep.Rect, a.Rect)
                sp = a.get("/StructParent")
                if sp is not None:
                    self.parent_tree.pop(int(sp), None)
            for pg, m in self.mcids(e):
                entry = self.parent_tree.get(pg)
                if isinstance(entry, pikepdf.Array) and m < len(entry):
                    entry[m] = e

    def _flatten(self, top: Any, e: Any, flat: Any, annots: list[Any]) -> None:
        import pikepdf

        for k in _kids(e):
            if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR":
                if e is not top:
                    annots.append(k.Obj)
                    continue
                flat.append(k)
            elif isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/StructElem":
                if k.get("/S") == "/Link":
                    self._flatten(top, k, flat, annots)
                else:
                    k.P = top
                    flat.append(k)
            elif isinstance(k, pikepdf.Dictionary):  # MCR
                flat.append(k)
            else:
                if self.page_of(e) == self.page_of(top):
                    flat.append(k)
                else:
                    flat.append(self.pdf.make_indirect(pikepdf.Dictionary(
                        Type=pikepdf.Name.MCR, Pg=e.Pg, MCID=int(k))))

    def join_split_links(self) -> None:
        """One link broken over two lines is two /Link siblings with the same target:
        one element holding both annotations (one per line)."""
        import pikepdf

        for e in list(self.elements()):
            kids = _kids(e)
            if not any(isinstance(k, pikepdf.Dictionary) and k.get("/S") == "/Link"
                       for k in kids):
                continue
            out: list[Any] = []
            for k in kids:
                prev = out[-1] if out else None
                if (isinstance(k, pikepdf.Dictionary) and k.get("/S") == "/Link"
                        and isinstance(prev, pikepdf.Dictionary)
                        and prev.get("/S") == "/Link"
                        and _target(prev) is not None and _target(prev) == _target(k)):
                    merged = pikepdf.Array(_kids(prev))
                    for kk in _kids(k):
                        if isinstance(kk, pikepdf.Dictionary) or self.page_of(k) == \
                                self.page_of(prev):
                            merged.append(kk)
                        else:
                            merged.append(self.pdf.make_indirect(pikepdf.Dictionary(
                                Type=pikepdf.Name.MCR, Pg=k.Pg, MCID=int(kk))))
                    prev.K = merged
                    for kk in _kids(k):
                        if isinstance(kk, pikepdf.Dictionary) and \
                                kk.get("/Type") == "/OBJR":
                            sp = kk.Obj.get("/StructParent")
                            if sp is not None:
                                self.parent_tree[int(sp)] = prev
                    for pg, m in self.mcids(prev):
                        entry = self.parent_tree.get(pg)
                        if isinstance(entry, pikepdf.Array) and m < len(entry):
                            entry[m] = prev
                    continue
                out.append(k)
            if len(out) != len(kids):
                e.K = pikepdf.Array(out)

    # 3. link descriptions
    def describe_links(self) -> None:
        import pikepdf

        for e in self.elements():
            if e.get("/S") != "/Link":
                continue
            text = " ".join(self.text_of(e).split())
            for k in _kids(e):
                if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR":
                    a = k.Obj
                    internal = "/Dest" in a or ("/A" in a and a.A.get("/S") == "/GoTo")
                    m = re.fullmatch(r"(.*\S)\s+(\d+)", text) if internal else None
                    desc = f"{m.group(1)} (page {m.group(2)})" if m else text
                    if desc:
                        a.Contents = pikepdf.String(desc)

    # 4. tables
    def table_headers(self) -> None:
        import pikepdf

        ids: dict[str, Any] = {}
        for e in self.elements():
            if "/ID" in e:
                ids[str(e.ID)] = e
        for table in [e for e in self.elements() if e.get("/S") == "/Table"]:
            grid = table_grid(table)
            for cell in grid:
                attrs = _table_attrs(cell.elem)
                if cell.tag == "TH":
                    if "/ID" not in cell.elem:
                        cell.elem.ID = pikepdf.String(f"th{cell.elem.objgen[0]}")
                    ids[str(cell.elem.ID)] = cell.elem
                    attrs.Scope = pikepdf.Name.Column if cell.head else pikepdf.Name.Row
            for cell in grid:
                want = expected_headers(cell, grid)
                if cell.tag == "TD" or want:
                    attrs = _table_attrs(cell.elem)
                    attrs.Headers = pikepdf.Array([pikepdf.String(str(h.elem.ID))
                                                   for h in want])
        names = pikepdf.Array()
        for key in sorted(ids):
            names.append(pikepdf.String(key))
            names.append(ids[key])
        self.root.IDTree = self.pdf.make_indirect(pikepdf.Dictionary(Names=names))

    # 5. figures
    def figures(self) -> None:
        import pikepdf

        for fig in [e for e in self.elements() if e.get("/S") == "/Figure"]:
            self._bbox(fig)
            holder = fig.get("/P")
            # the caption is a sibling of the Figure or of the block holding it
            for _ in range(2):
                if holder is None:
                    break
                caps = [k for k in _kids(holder) if isinstance(k, pikepdf.Dictionary)
                        and k.get("/S") == "/Caption"]
                figs = [k for k in _descendants(holder) if k.get("/S") == "/Figure"]
                if len(caps) == 1 and len(figs) == 1:
                    cap = caps[0]
                    holder.K = pikepdf.Array([k for k in _kids(holder)
                                              if not _same(k, cap)])
                    fig.K = pikepdf.Array([cap, *_kids(fig)])
                    cap.P = fig
                    break
                holder = holder.get("/P")

    def _bbox(self, fig: Any) -> None:
        """WeasyPrint writes the figure's box in CSS pixels from the page top; the
        layout attribute wants PDF points from the page bottom."""
        import pikepdf

        a = fig.get("/A")
        pg = self.page_of(fig)
        if not isinstance(a, pikepdf.Dictionary) or "/BBox" not in a or pg is None:
            return
        x1, y1, x2, y2 = (float(v) for v in a.BBox)
        height = float(self.pages[pg].mediabox[3])
        a.BBox = pikepdf.Array([round(x1 * PX, 3), round(height - y2 * PX, 3),
                                round(x2 * PX, 3), round(height - y1 * PX, 3)])

    # 6. footnotes
    def notes(self) -> None:
        """Footnotes: WeasyPrint tags the note at the foot of the page as a NonStruct
        at the top of the tree. It becomes a /Note (with an /ID), moved into the
        paragraph that calls it, just after the call (the note's number)."""
        import pikepdf

        doc = _kids(self.root)[0]
        for note in [k for k in _kids(doc) if isinstance(k, pikepdf.Dictionary)
                     and k.get("/S") == "/NonStruct"]:
            m = re.match(r"(\d+)\u2002", self.text_of(note))
            if m is None:
                continue
            number = m.group(1)
            note.S = pikepdf.Name.Note
            note.ID = pikepdf.String(f"note-{number}")
            page = self.page_of(note)
            calls = [(p, i) for p in self.elements() if p.get("/S") == "/P"
                     and self.page_of(p) == page
                     for i, k in enumerate(_kids(p)) if isinstance(k, pikepdf.Dictionary)
                     and k.get("/S") in ("/Span", "/NonStruct")
                     and self.text_of(k).strip() == number
                     and not _descends_from(p, note)]
            if len(calls) != 1:
                continue
            para, at = calls[0]
            doc.K = pikepdf.Array([k for k in _kids(doc) if not _same(k, note)])
            kids = _kids(para)
            para.K = pikepdf.Array([*kids[:at + 1], note, *kids[at + 1:]])
            note.P = para

    # writing
    def write_back(self) -> None:
        import pikepdf

        for page in self.pages:
            if "/Annots" in page.obj and self.dropped_annots:
                page.obj.Annots = pikepdf.Array(
                    [a for a in page.obj.Annots if a.objgen not in self.dropped_annots])
        nums = pikepdf.Array()
        for key in sorted(self.parent_tree):
            nums.append(key)
            nums.append(self.parent_tree[key])
        self.root.ParentTree.Nums = nums
        self.root.ParentTreeNextKey = max(self.parent_tree, default=-1) + 1


# -- tables ------------------------------------------------------------------------------

@dataclass
class Cell:
    elem: Any
    tag: str  # "TH" or "TD"
    row: int
    col: int
    rows: int
    cols: int
    head: bool  # in the table head (THead)


def table_grid(table: Any) -> list[Cell]:
    """The table's cells placed on its grid as a browser does (row and column spans)."""
    import pikepdf

    rows: list[tuple[Any, bool]] = []
    for k in _kids(table):
        if not isinstance(k, pikepdf.Dictionary):
            continue
        s = k.get("/S")
        if s == "/TR":
            rows.append((k, False))
        elif s in ("/THead", "/TBody", "/TFoot"):
            rows += [(r, s == "/THead") for r in _kids(k)
                     if isinstance(r, pikepdf.Dictionary) and r.get("/S") == "/TR"]
    taken: set[tuple[int, int]] = set()
    out: list[Cell] = []
    for r, (tr, head) in enumerate(rows):
        c = 0
        for k in _kids(tr):
            if not isinstance(k, pikepdf.Dictionary) or k.get("/S") not in ("/TH", "/TD"):
                continue
            while (r, c) in taken:
                c += 1
            a = _table_attrs(k)
            rs, cs = int(a.get("/RowSpan", 1)), int(a.get("/ColSpan", 1))
            out.append(Cell(k, str(k.S)[1:], r, c, rs, cs, head))
            for dr in range(rs):
                for dc in range(cs):
                    taken.add((r + dr, c + dc))
            c += cs
    return out


def expected_headers(cell: Cell, grid: list[Cell]) -> list[Cell]:
    """The headings a cell belongs to: those in the table head over its columns (top
    first), then the row headings to its left in its rows (outermost first)."""
    cols = set(range(cell.col, cell.col + cell.cols))
    rows = set(range(cell.row, cell.row + cell.rows))
    out = []
    if not cell.head:
        out += [h for h in grid if h.tag == "TH" and h.head and h is not cell
                and cols & set(range(h.col, h.col + h.cols))]
    else:
        out += [h for h in grid if h.tag == "TH" and h.head and h.row < cell.row
                and cols & set(range(h.col, h.col + h.cols))]
    out += [h for h in grid if h.tag == "TH" and not h.head and h is not cell
            and h.col < cell.col and rows & set(range(h.row, h.row + h.rows))]
    return out


def _table_attrs(elem: Any) -> Any:
    """The element's /A dictionary owned by /Table (made if missing)."""
    import pikepdf

    a = elem.get("/A")
    if isinstance(a, pikepdf.Array):
        for d in a:
            if isinstance(d, pikepdf.Dictionary) and d.get("/O") == "/Table":
                return d
        d = pikepdf.Dictionary(O=pikepdf.Name.Table)
        a.append(d)
        return d
    if isinstance(a, pikepdf.Dictionary):
        if a.get("/O") == "/Table":
            return a
        d = pikepdf.Dictionary(O=pikepdf.Name.Table)
        elem.A = pikepdf.Array([a, d])
        return d
    elem.A = pikepdf.Dictionary(O=pikepdf.Name.Table)
    return elem.A


# -- helpers -----------------------------------------------------------------------------

def _kids(e: Any) -> list[Any]:
    import pikepdf

    k = e.get("/K")
    if k is None:
        return []
    return list(k) if isinstance(k, pikepdf.Array) else [k]


def _descendants(e: Any) -> Iterator[Any]:
    import pikepdf

    for k in _kids(e):
        if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/StructElem":
            yield k
            yield from _descendants(k)


def _target(link: Any) -> str | None:
    """Where a /Link element's first annotation goes (URI or destination), or None."""
    import pikepdf

    for k in _kids(link):
        if isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR":
            a = k.Obj
            if "/A" in a:
                return repr(a.A.get("/URI") or a.A.get("/D"))
            if "/Dest" in a:
                return repr(a.Dest)
    return None


def _is_inside_link(e: Any) -> bool:
    p = e.get("/P")
    while p is not None and p.get("/Type") == "/StructElem":
        if p.get("/S") == "/Link":
            return True
        p = p.get("/P")
    return False


def _descends_from(e: Any, ancestor: Any) -> bool:
    p = e
    while p is not None and p.get("/Type") == "/StructElem":
        if _same(p, ancestor):
            return True
        p = p.get("/P")
    return False


def _same(a: Any, b: Any) -> bool:
    try:
        return a.objgen == b.objgen and a.objgen != (0, 0)
    except AttributeError:
        return False


def _union(a: Any, b: Any) -> Any:
    import pikepdf

    x = [float(v) for v in a]
    y = [float(v) for v in b]
    return pikepdf.Array([min(x[0], y[0]), min(x[1], y[1]), max(x[2], y[2]),
                          max(x[3], y[3])])
