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

This stage runs on every build, and each look at a pikepdf object crosses into C++: so
each page's content stream is parsed once (and its strings decoded only where a repair
needs the text), and the structure tree is read into plain Python nodes once, each
change being written to both. The output is byte-for-byte what a plainer version gave.
"""

from __future__ import annotations

import decimal
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


def decode(raw: bytes, cmap: dict[bytes, str], width: int | None = None) -> str:
    """Text of a string operand shown in a font with this ToUnicode map (2-byte codes
    for WeasyPrint's Identity-H fonts, 1-byte otherwise; `width` where already known)."""
    if width is None:
        width = _code_width(cmap)
    get = cmap.get
    return "".join([get(raw[i:i + width], "") for i in range(0, len(raw), width)])


def _code_width(cmap: dict[bytes, str]) -> int:
    return 2 if cmap and all(len(k) == 2 for k in cmap) else 1


_Font = tuple[dict[bytes, str], int]  # ToUnicode map, bytes per code
_NO_FONT: _Font = ({}, 1)
_MARKING = frozenset((b"BDC", b"BMC", b"EMC", b"Tf", b"Tj", b"TJ", b"'", b'"'))
_MCID_BDC = re.compile(rb"/[^ ]+ << /MCID ([0-9]+) >> BDC")  # a tag, {MCID: n}, BDC
_REAL = re.compile(rb"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)")


def page_marked_text(page: Any, cmaps: dict[int, _Font] | None = None) -> dict[int, str]:
    """MCID -> the text painted inside that marked content on one page."""
    content = _Content(page, {} if cmaps is None else cmaps)
    return {mcid: content.text(mcid) for mcid in content.shows}


class _Content:
    """One page's content stream, parsed once: where each MCID's marked content opens,
    and the instructions that show text inside it, for reading the text back and for
    writing the stream again with some marked content made artifacts.

    A page holds thousands of instructions and every look at one crosses into pikepdf,
    so the operators are read from pikepdf's own unparsed text of the stream (one line
    per instruction), and a string is decoded only when a repair asks for that MCID's
    text (most never are). `cmaps` caches each font's map across pages."""

    def __init__(self, page: Any, cmaps: dict[int, _Font]) -> None:
        import pikepdf

        self.instructions = pikepdf.parse_content_stream(page)
        lines: list[bytes] | None = pikepdf.unparse_content_stream(
            self.instructions).split(b"\n")
        if lines is not None and len(lines) == len(self.instructions):
            names = [line[line.rfind(b" ") + 1:] for line in lines]
        else:  # an inline image spans lines
            lines = None
            names = [bytes(i.operator) for i in self.instructions]
        self.lines = lines
        self.marks: list[tuple[int, int]] = []  # (index, MCID) of each BDC with an MCID
        self.shows: dict[int, list[tuple[int, _Font]]] = {}  # MCID -> (index, font)
        fonts = page.Resources.get("/Font", {}) if "/Resources" in page else {}
        selected: dict[Any, _Font | None] = {}  # Tf line -> its font
        stack: list[int | None] = []  # the innermost MCID in force in each marked content
        font = _NO_FONT
        for index, name in enumerate(names):
            if name not in _MARKING:
                continue
            if name == b"BDC":
                mcid = self._bdc_mcid(index)
                if mcid is not None:
                    self.marks.append((index, mcid))
                stack.append(mcid if mcid is not None else stack[-1] if stack else None)
            elif name == b"BMC":
                stack.append(stack[-1] if stack else None)
            elif name == b"EMC":
                if stack:
                    stack.pop()
            elif name == b"Tf":
                key = index if lines is None else lines[index]
                if key not in selected:
                    selected[key] = _font(fonts, self.instructions[index].operands[0], cmaps)
                font = selected[key] or font
            elif stack and stack[-1] is not None:
                self.shows.setdefault(stack[-1], []).append((index, font))
        self._text: dict[int, str] = {}

    def _bdc_mcid(self, index: int) -> int | None:
        """The MCID a BDC opens, from its line where that is the usual one."""
        if self.lines is not None:
            m = _MCID_BDC.fullmatch(self.lines[index])
            if m:
                return int(m[1])
        return _mcid(self.instructions[index].operands)

    def text(self, mcid: int) -> str:
        """The text painted inside marked content `mcid` ('' if none)."""
        import pikepdf

        if mcid not in self._text:
            out = []
            for index, (cmap, width) in self.shows.get(mcid, ()):
                shown = self.instructions[index].operands[-1]
                parts = shown if isinstance(shown, pikepdf.Array) else [shown]
                out += [decode(bytes(p), cmap, width) for p in parts
                        if isinstance(p, pikepdf.String)]
            self._text[mcid] = "".join(out)
        return self._text[mcid]

    def unparse(self, artifacts: set[int], reals: dict[bytes, bytes | None]) -> bytes:
        """The stream again, with the marked content of each MCID in `artifacts` made
        an /Artifact (same bytes as earlier versions of this module wrote).

        Earlier versions rebuilt every instruction from its Python operands, which
        writes each real operand as pikepdf writes a `Decimal` (`.25` as `0.25`, `-0.`
        as `0`, at most its decimal precision in digits). Rebuilding ~50,000
        instructions cost a third of a second, so the stream is written by pikepdf as
        parsed and only a line with a real number that would be written differently is
        put in that form, here, or rebuilt as before where the line is more than
        numbers, names and an operator. `reals` caches each number's form."""
        import pikepdf

        artifact = pikepdf.ContentStreamInstruction([pikepdf.Name.Artifact],
                                                    pikepdf.Operator("BMC"))
        if self.lines is None:
            ops = [_rebuilt(i) for i in self.instructions]
            for index, mcid in self.marks:
                if mcid in artifacts:
                    ops[index] = artifact
            return pikepdf.unparse_content_stream(ops)
        lines = list(self.lines)
        artifact_line = pikepdf.unparse_content_stream([artifact])
        for index, mcid in self.marks:
            if mcid in artifacts:
                lines[index] = artifact_line
        text = b"\n".join(lines)
        # every real operand is a whole word of the text (more words look like one)
        if all(_normal_real(w, reals) == w for w in set(text.split())
               if b"." in w and _REAL.fullmatch(w)):
            return text
        for n, line in enumerate(lines):
            if b"." in line:
                lines[n] = _normal_reals(line, reals) or pikepdf.unparse_content_stream(
                    [_rebuilt(self.instructions[n])])
        return b"\n".join(lines)


def _font(fonts: Any, name: Any, cmaps: dict[int, _Font]) -> _Font | None:
    """The map of the font a Tf selects (None if the page has no such font)."""
    font = fonts.get(str(name))
    if font is None:
        return None
    key = font.objgen[0] if font.is_indirect else id(font)
    if key not in cmaps:
        codes = _cmap(font)
        cmaps[key] = (codes, _code_width(codes))
    return cmaps[key]


def _mcid(operands: Any) -> int | None:
    import pikepdf

    if len(operands) == 2 and isinstance(operands[1], pikepdf.Dictionary) \
            and "/MCID" in operands[1]:
        return int(operands[1].MCID)
    return None


def _rebuilt(instruction: Any) -> Any:
    """The instruction made again from its Python operands (an inline image as it is:
    pikepdf cannot make one from its operands)."""
    import pikepdf

    if isinstance(instruction, pikepdf.ContentStreamInlineImage):
        return instruction
    operands, op = instruction
    return pikepdf.ContentStreamInstruction(operands, op)


def _normal_real(token: bytes, reals: dict[bytes, bytes | None]) -> bytes | None:
    """A real number as pikepdf writes it once read as a `Decimal`, None where pikepdf
    would go through a float (exponent form)."""
    if token not in reals:
        from pikepdf.settings import get_decimal_precision

        with decimal.localcontext(prec=get_decimal_precision()):
            text = str(+decimal.Decimal(token.decode("ascii")))
        reals[token] = None if "E" in text or "e" in text else text.encode("ascii")
    return reals[token]


def _normal_reals(line: bytes, reals: dict[bytes, bytes | None]) -> bytes | None:
    """A line of numbers, names and an operator with its real numbers in pikepdf's
    form; None for any other line."""
    if any(c in line for c in b"()<>[]{}%"):
        return None
    out = []
    for token in line.split(b" "):
        if b"." in token and not token.startswith(b"/"):
            if not _REAL.fullmatch(token) or _normal_real(token, reals) is None:
                return None
            token = _normal_real(token, reals)
        out.append(token)
    return b" ".join(out)


# -- the structure tree ------------------------------------------------------------------

class _Node:
    """A dictionary of the structure tree (the root, an element, or a marked-content or
    object reference) as read once from the PDF.

    The repairs walk the tree a dozen times, and every look at a pikepdf object crosses
    into C++: reading the tree into these once, and writing each change to both the
    node and its PDF object, makes the walks cheap and leaves the PDF as before."""

    __slots__ = ("obj", "key", "type", "s", "pg", "kids", "parent")

    def __init__(self, obj: Any, key: tuple[int, int]) -> None:
        self.obj = obj
        self.key = key  # objgen; (0, 0) for a direct object
        self.type: str | None = None  # /Type
        self.s: str | None = None  # /S
        self.pg: int | None = None  # page index of /Pg
        self.kids: list[Any] = []  # /K: MCIDs (int) and nodes, in order
        self.parent: _Node | None = None  # /P


@dataclass
class _Doc:
    pdf: Any
    pages: list[Any] = field(default_factory=list)
    page_index: dict[tuple[int, int], int] = field(default_factory=dict)
    parent_tree: dict[int, Any] = field(default_factory=dict)  # key -> elem or Array
    content: list[_Content] = field(default_factory=list)
    artifact_mcids: dict[int, set[int]] = field(default_factory=dict)
    dropped_annots: set[tuple[int, int]] = field(default_factory=set)
    nodes: dict[tuple[int, int], _Node] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root = self.pdf.Root.StructTreeRoot
        self.pages = list(self.pdf.pages)
        self.page_index = {p.obj.objgen: i for i, p in enumerate(self.pages)}
        nums = self.root.ParentTree.Nums
        for i in range(0, len(nums), 2):
            self.parent_tree[int(nums[i])] = nums[i + 1]
        cmaps: dict[int, _Font] = {}
        self.content = [_Content(p, cmaps) for p in self.pages]
        self.tree = self.node(self.root)

    # the tree as nodes
    def node(self, obj: Any) -> _Node:
        """The node of a dictionary (with the nodes of its kids), read the first time."""
        import pikepdf

        key = obj.objgen
        if key in self.nodes:
            return self.nodes[key]
        n = _Node(obj, key)
        if key != (0, 0):
            self.nodes[key] = n
        t, s, pg = obj.get("/Type"), obj.get("/S"), obj.get("/Pg")
        n.type = None if t is None else str(t)
        n.s = None if s is None else str(s)
        n.pg = None if pg is None else self.page_index.get(pg.objgen)
        n.kids = [self.node(k) if isinstance(k, pikepdf.Dictionary) else k
                  for k in _kids(obj)]
        p = obj.get("/P")
        n.parent = self.node(p) if isinstance(p, pikepdf.Dictionary) else None
        return n

    def set_kids(self, e: _Node, kids: list[Any]) -> None:
        import pikepdf

        e.kids = list(kids)
        e.obj.K = pikepdf.Array([k.obj if isinstance(k, _Node) else k for k in kids])

    def set_parent(self, e: _Node, parent: _Node) -> None:
        e.parent = parent
        e.obj.P = parent.obj

    def new_mcr(self, pg: Any, mcid: int) -> _Node:
        """A marked-content reference to an MCID on another page than its element's."""
        import pikepdf

        return self.node(self.pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.MCR, Pg=pg, MCID=mcid)))

    # walking
    def elements(self) -> Iterator[_Node]:
        """Every structure element reachable from the root, parents before children."""
        seen: set[tuple[int, int]] = set()
        todo = list(reversed(self.tree.kids))
        while todo:
            e = todo.pop()
            if not isinstance(e, _Node) or e.type in ("/OBJR", "/MCR"):
                continue
            if e.key in seen:
                continue
            seen.add(e.key)
            yield e
            todo.extend(reversed(e.kids))

    def mcid_page(self, mcr: _Node, e: _Node) -> int | None:
        """The page of a marked-content reference in element e."""
        return self.page_index.get(mcr.obj.Pg.objgen) if "/Pg" in mcr.obj else e.pg

    def mcids(self, e: _Node) -> list[tuple[int | None, int]]:
        """(page, mcid) of the marked content directly in element e."""
        out = []
        for k in e.kids:
            if isinstance(k, int):
                out.append((e.pg, k))
            elif isinstance(k, _Node) and k.type == "/MCR":
                out.append((self.mcid_page(k, e), int(k.obj.MCID)))
        return out

    def text_of(self, e: _Node) -> str:
        """All text under element e, in order."""
        parts = [self.text_of(k) for k in e.kids if _is_elem(k)]
        direct = self.mcids(e)
        if direct and not parts:
            return "".join(self.content[p].text(m) for p, m in direct if p is not None)
        # mixed: walk kids in order
        kid_text = iter(parts)
        out = []
        for k in e.kids:
            if _is_elem(k):
                out.append(next(kid_text))
            elif isinstance(k, _Node) and k.type == "/MCR":
                pg = self.mcid_page(k, e)
                out.append(self.content[pg].text(int(k.obj.MCID)))  # type: ignore[index]
            elif not isinstance(k, _Node) and e.pg is not None:
                out.append(self.content[e.pg].text(int(k)))
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
        for i, content in enumerate(self.content):
            for m in content.shows:
                if (i, m) not in owned:
                    self.artifact_mcids.setdefault(i, set()).add(m)
        for e in self.elements():
            if e.s != "/Link":
                continue
            keep = []
            for k in list(e.kids):
                if not isinstance(k, _Node):
                    pg = e.pg
                    text = self.content[pg].text(int(k)) if pg is not None else ""
                    if "." in text and _LEADER_RE.match(text):
                        self.artifact_mcids.setdefault(pg, set()).add(int(k))  # type: ignore[arg-type]
                        continue
                keep.append(k)
            self.set_kids(e, keep)
        reals: dict[bytes, bytes | None] = {}
        for i, page in enumerate(self.pages):
            gone = self.artifact_mcids.get(i)
            if not gone:
                continue
            page.obj.Contents = self.pdf.make_stream(self.content[i].unparse(gone, reals))
            entry = self.parent_tree.get(int(page.obj.get("/StructParents", i)))
            if isinstance(entry, pikepdf.Array):
                for m in gone:
                    if m < len(entry):
                        entry[m] = None

    # 2. one Link per link
    def merge_links(self) -> None:
        import pikepdf

        for e in list(self.elements()):
            if e.s != "/Link" or _is_inside_link(e):
                continue
            inner = [k for k in _descendants(e) if k.s == "/Link"]
            if not inner:
                continue
            annots = [k.obj.Obj for k in e.kids if isinstance(k, _Node) and k.type == "/OBJR"]
            flat: list[Any] = []
            self._flatten(e, e, flat, annots)
            self.set_kids(e, flat)
            keep = next((a for a in annots), None)
            for a in annots[1:]:
                self.dropped_annots.add(a.objgen)
                if keep is not None and "/Rect" in a and "/Rect" in keep:
                    keep.Rect = _union(keep.Rect, a.Rect)
                sp = a.get("/StructParent")
                if sp is not None:
                    self.parent_tree.pop(int(sp), None)
            for pg, m in self.mcids(e):
                entry = self.parent_tree.get(pg)  # type: ignore[arg-type]
                if isinstance(entry, pikepdf.Array) and m < len(entry):
                    entry[m] = e.obj

    def _flatten(self, top: _Node, e: _Node, flat: list[Any], annots: list[Any]) -> None:
        for k in e.kids:
            if isinstance(k, _Node) and k.type == "/OBJR":
                if e is not top:
                    annots.append(k.obj.Obj)
                    continue
                flat.append(k)
            elif _is_elem(k):
                if k.s == "/Link":
                    self._flatten(top, k, flat, annots)
                else:
                    self.set_parent(k, top)
                    flat.append(k)
            elif isinstance(k, _Node):  # MCR
                flat.append(k)
            else:
                if e.pg == top.pg:
                    flat.append(k)
                else:
                    flat.append(self.new_mcr(e.obj.Pg, int(k)))

    def join_split_links(self) -> None:
        """One link broken over two lines is two /Link siblings with the same target:
        one element holding both annotations (one per line)."""
        import pikepdf

        for e in list(self.elements()):
            kids = list(e.kids)
            if not any(isinstance(k, _Node) and k.s == "/Link" for k in kids):
                continue
            out: list[Any] = []
            for k in kids:
                prev = out[-1] if out else None
                if (isinstance(k, _Node) and k.s == "/Link"
                        and isinstance(prev, _Node) and prev.s == "/Link"
                        and _target(prev) is not None and _target(prev) == _target(k)):
                    merged = list(prev.kids)
                    for kk in k.kids:
                        if isinstance(kk, _Node) or k.pg == prev.pg:
                            merged.append(kk)
                        else:
                            merged.append(self.new_mcr(k.obj.Pg, int(kk)))
                    self.set_kids(prev, merged)
                    for kk in k.kids:
                        if isinstance(kk, _Node) and kk.type == "/OBJR":
                            sp = kk.obj.Obj.get("/StructParent")
                            if sp is not None:
                                self.parent_tree[int(sp)] = prev.obj
                    for pg, m in self.mcids(prev):
                        entry = self.parent_tree.get(pg)  # type: ignore[arg-type]
                        if isinstance(entry, pikepdf.Array) and m < len(entry):
                            entry[m] = prev.obj
                    continue
                out.append(k)
            if len(out) != len(kids):
                self.set_kids(e, out)

    # 3. link descriptions
    def describe_links(self) -> None:
        import pikepdf

        for e in self.elements():
            if e.s != "/Link":
                continue
            text = " ".join(self.text_of(e).split())
            for k in e.kids:
                if isinstance(k, _Node) and k.type == "/OBJR":
                    a = k.obj.Obj
                    internal = "/Dest" in a or ("/A" in a and a.A.get("/S") == "/GoTo")
                    m = re.fullmatch(r"(.*\S)\s+(\d+)", text) if internal else None
                    desc = f"{m.group(1)} (page {m.group(2)})" if m else text
                    if desc:
                        a.Contents = pikepdf.String(desc)

    # 4. tables
    def table_headers(self) -> None:
        import pikepdf

        elements = list(self.elements())
        ids: dict[str, Any] = {}
        for e in elements:
            if "/ID" in e.obj:
                ids[str(e.obj.ID)] = e.obj
        for table in [e for e in elements if e.s == "/Table"]:
            grid = table_grid(table)
            heads = [cell for cell in grid if cell.tag == "TH"]
            for cell in heads:
                attrs = _table_attrs(cell.elem.obj)
                if "/ID" not in cell.elem.obj:
                    cell.elem.obj.ID = pikepdf.String(f"th{cell.elem.key[0]}")
                ids[str(cell.elem.obj.ID)] = cell.elem.obj
                attrs.Scope = pikepdf.Name.Column if cell.head else pikepdf.Name.Row
            head_ids = {id(h): str(h.elem.obj.ID) for h in heads}
            for cell in grid:
                want = expected_headers(cell, heads)
                if cell.tag == "TD" or want:
                    attrs = _table_attrs(cell.elem.obj)
                    attrs.Headers = pikepdf.Array([pikepdf.String(head_ids[id(h)])
                                                   for h in want])
        names = pikepdf.Array()
        for key in sorted(ids):
            names.append(pikepdf.String(key))
            names.append(ids[key])
        self.root.IDTree = self.pdf.make_indirect(pikepdf.Dictionary(Names=names))

    # 5. figures
    def figures(self) -> None:
        for fig in [e for e in self.elements() if e.s == "/Figure"]:
            self._bbox(fig)
            holder = fig.parent
            # the caption is a sibling of the Figure or of the block holding it
            for _ in range(2):
                if holder is None:
                    break
                caps = [k for k in holder.kids if isinstance(k, _Node) and k.s == "/Caption"]
                figs = [k for k in _descendants(holder) if k.s == "/Figure"]
                if len(caps) == 1 and len(figs) == 1:
                    cap = caps[0]
                    self.set_kids(holder, [k for k in holder.kids if not _same(k, cap)])
                    self.set_kids(fig, [cap, *fig.kids])
                    self.set_parent(cap, fig)
                    break
                holder = holder.parent

    def _bbox(self, fig: _Node) -> None:
        """WeasyPrint writes the figure's box in CSS pixels from the page top; the
        layout attribute wants PDF points from the page bottom."""
        import pikepdf

        a = fig.obj.get("/A")
        pg = fig.pg
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

        doc = self.tree.kids[0]
        for note in [k for k in doc.kids if isinstance(k, _Node) and k.s == "/NonStruct"]:
            m = re.match(r"(\d+)\u2002", self.text_of(note))
            if m is None:
                continue
            number = m.group(1)
            note.s = "/Note"
            note.obj.S = pikepdf.Name.Note
            note.obj.ID = pikepdf.String(f"note-{number}")
            page = note.pg
            calls = [(p, i) for p in self.elements() if p.s == "/P" and p.pg == page
                     for i, k in enumerate(p.kids) if isinstance(k, _Node)
                     and k.s in ("/Span", "/NonStruct")
                     and self.text_of(k).strip() == number
                     and not _descends_from(p, note)]
            if len(calls) != 1:
                continue
            para, at = calls[0]
            self.set_kids(doc, [k for k in doc.kids if not _same(k, note)])
            kids = para.kids
            self.set_kids(para, [*kids[:at + 1], note, *kids[at + 1:]])
            self.set_parent(note, para)

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
    elem: _Node
    tag: str  # "TH" or "TD"
    row: int
    col: int
    rows: int
    cols: int
    head: bool  # in the table head (THead)


def table_grid(table: _Node) -> list[Cell]:
    """The table's cells placed on its grid as a browser does (row and column spans)."""
    rows: list[tuple[_Node, bool]] = []
    for k in table.kids:
        if not isinstance(k, _Node):
            continue
        s = k.s
        if s == "/TR":
            rows.append((k, False))
        elif s in ("/THead", "/TBody", "/TFoot"):
            rows += [(r, s == "/THead") for r in k.kids
                     if isinstance(r, _Node) and r.s == "/TR"]
    taken: set[tuple[int, int]] = set()
    out: list[Cell] = []
    for r, (tr, head) in enumerate(rows):
        c = 0
        for k in tr.kids:
            if not isinstance(k, _Node) or k.s not in ("/TH", "/TD"):
                continue
            while (r, c) in taken:
                c += 1
            a = _table_attrs(k.obj)
            rs, cs = int(a.get("/RowSpan", 1)), int(a.get("/ColSpan", 1))
            out.append(Cell(k, k.s[1:], r, c, rs, cs, head))
            for dr in range(rs):
                for dc in range(cs):
                    taken.add((r + dr, c + dc))
            c += cs
    return out


def expected_headers(cell: Cell, grid: list[Cell]) -> list[Cell]:
    """The headings a cell belongs to: those in the table head over its columns (top
    first), then the row headings to its left in its rows (outermost first)."""
    out = []
    if not cell.head:
        out += [h for h in grid if h.tag == "TH" and h.head and h is not cell
                and _overlap(cell.col, cell.cols, h.col, h.cols)]
    else:
        out += [h for h in grid if h.tag == "TH" and h.head and h.row < cell.row
                and _overlap(cell.col, cell.cols, h.col, h.cols)]
    out += [h for h in grid if h.tag == "TH" and not h.head and h is not cell
            and h.col < cell.col and _overlap(cell.row, cell.rows, h.row, h.rows)]
    return out


def _overlap(a: int, n: int, b: int, m: int) -> bool:
    """Whether range(a, a + n) and range(b, b + m) share a number."""
    return n > 0 and m > 0 and b < a + n and a < b + m


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


def _is_elem(k: Any) -> bool:
    return isinstance(k, _Node) and k.type == "/StructElem"


def _descendants(e: _Node) -> Iterator[_Node]:
    for k in e.kids:
        if _is_elem(k):
            yield k
            yield from _descendants(k)


def _target(link: _Node) -> str | None:
    """Where a /Link element's first annotation goes (URI or destination), or None."""
    for k in link.kids:
        if isinstance(k, _Node) and k.type == "/OBJR":
            a = k.obj.Obj
            if "/A" in a:
                return repr(a.A.get("/URI") or a.A.get("/D"))
            if "/Dest" in a:
                return repr(a.Dest)
    return None


def _is_inside_link(e: _Node) -> bool:
    p = e.parent
    while p is not None and p.type == "/StructElem":
        if p.s == "/Link":
            return True
        p = p.parent
    return False


def _descends_from(e: _Node, ancestor: _Node) -> bool:
    p: _Node | None = e
    while p is not None and p.type == "/StructElem":
        if _same(p, ancestor):
            return True
        p = p.parent
    return False


def _same(a: Any, b: _Node) -> bool:
    return isinstance(a, _Node) and a.key == b.key and a.key != (0, 0)


def _union(a: Any, b: Any) -> Any:
    import pikepdf

    x = [float(v) for v in a]
    y = [float(v) for v in b]
    return pikepdf.Array([min(x[0], y[0]), min(x[1], y[1]), max(x[2], y[2]),
                          max(x[3], y[3])])
