"""The built PDF's structure, checked against what a machine can check of the Matterhorn
Protocol (PDF/UA-1): every painted thing is tagged or an artifact, the tree reaches all
tagged content, table cells name their headings, headings do not skip levels, figures
have alternative text and hold their captions, tables nest properly, links are tagged
and described, fonts are embedded with ToUnicode maps, and the document has a language,
a title and the PDF/UA identifier.

The expected table headings are worked out here from the grid of each table (an
implementation separate from bulletin/pdfua.py, which writes them).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bulletin.config import PROJECT_DIR
from bulletin.pdfua import page_marked_text

pikepdf = pytest.importorskip("pikepdf")
pytestmark = pytest.mark.slow

PAINT = {"Tj", "TJ", "'", '"', "Do", "f", "F", "f*", "S", "s", "B", "B*", "b", "b*", "sh",
         "BI", "EI"}


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("pdfua") / "2018-19"
    run = subprocess.run([sys.executable, "-m", "bulletin", "build", "--edition", "2018-19",
                          "--out", str(out), "--formats", "pdf"], cwd=PROJECT_DIR,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    doc = pikepdf.open(out / "bulletin.pdf")
    yield doc
    doc.close()


def _kids(e) -> list:
    k = e.get("/K")
    if k is None:
        return []
    return list(k) if isinstance(k, pikepdf.Array) else [k]


def _walk(pdf) -> list:
    """(element, depth) for every structure element reachable from the root, in order."""
    out = []

    def visit(e, depth: int) -> None:
        out.append((e, depth))
        for k in _kids(e):
            if isinstance(k, pikepdf.Dictionary) and k.get("/Type") not in ("/OBJR", "/MCR"):
                visit(k, depth + 1)

    for k in _kids(pdf.Root.StructTreeRoot):
        visit(k, 0)
    return out


def _page_index(pdf) -> dict:
    return {p.obj.objgen: i for i, p in enumerate(pdf.pages)}


def _owned_mcids(pdf) -> dict[tuple[int, int], object]:
    """(page, MCID) -> the element whose marked content it is."""
    pages = _page_index(pdf)
    out = {}
    for e, _ in _walk(pdf):
        for k in _kids(e):
            if isinstance(k, int):
                out[(pages[e.Pg.objgen], k)] = e
            elif isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/MCR":
                pg = k.Pg if "/Pg" in k else e.Pg
                out[(pages[pg.objgen], int(k.MCID))] = e
    return out


def _tagged_text(pdf) -> dict[tuple[int, int], str]:
    cmaps: dict = {}
    return {(i, m): t for i, page in enumerate(pdf.pages)
            for m, t in page_marked_text(page, cmaps).items()}


def test_every_painting_operator_is_tagged_or_an_artifact(pdf) -> None:
    owned = _owned_mcids(pdf)
    painted = seen = 0
    for i, page in enumerate(pdf.pages):
        stack: list[str] = []
        for operands, op in pikepdf.parse_content_stream(page):
            name = str(op)
            if name == "BDC":
                mcid = operands[1].get("/MCID") if isinstance(operands[1],
                                                              pikepdf.Dictionary) else None
                if str(operands[0]) == "/Artifact":
                    stack.append("artifact")
                else:
                    assert mcid is not None, f"page {i + 1}: {operands[0]} without MCID"
                    assert (i, int(mcid)) in owned, \
                        f"page {i + 1}: MCID {mcid} is not reached from the structure tree"
                    seen += 1
                    stack.append("tagged")
            elif name == "BMC":
                stack.append("artifact" if str(operands[0]) == "/Artifact" else "other")
            elif name == "EMC":
                stack.pop()
            elif name in PAINT:
                painted += 1
                assert any(s in ("artifact", "tagged") for s in stack), \
                    f"page {i + 1}: {name} painted outside tagged content and artifacts"
        assert not stack, f"page {i + 1}: unbalanced marked content"
    # and every MCID the tree names is painted somewhere
    in_content = set()
    for i, page in enumerate(pdf.pages):
        for operands, op in pikepdf.parse_content_stream(page):
            if str(op) == "BDC" and isinstance(operands[1], pikepdf.Dictionary) \
                    and "/MCID" in operands[1]:
                in_content.add((i, int(operands[1].MCID)))
    assert set(owned) <= in_content
    print(f"{painted} painting operators, {seen} tagged sequences, "
          f"{len(owned)} MCIDs reached")
    assert painted > 1000 and seen > 500


def test_page_furniture_and_leaders_are_artifacts(pdf) -> None:
    text = _tagged_text(pdf)
    owned = _owned_mcids(pdf)
    tagged = " ".join(t for key, t in text.items() if key in owned)
    everything = subprocess.run(["pdftotext", "-layout", pdf.filename, "-"],
                                capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page \d+ of \d+", everything)  # printed ...
    assert not re.search(r"Page \d+ of \d+", tagged)  # ... but not tagged
    head = "Research & Analysis Bulletin 2020/01"
    assert everything.count(head) > 10  # a running head on every page after the cover
    running = [t for key, t in text.items() if key in owned and t.strip() == head]
    assert len(running) == 1  # only the inside cover's masthead is text
    leaders = [t for key, t in text.items() if key in owned and owned[key].S == "/Link"
               and re.fullmatch(r"[.\s]+", t)]
    assert leaders == [], "contents dot leaders are tagged as text"


def _grid(table) -> list[dict]:
    rows = []
    for k in _kids(table):
        s = k.get("/S")
        if s == "/TR":
            rows.append((k, False))
        elif s in ("/THead", "/TBody", "/TFoot"):
            rows += [(r, s == "/THead") for r in _kids(k)]
    cells, taken = [], set()
    for r, (tr, head) in enumerate(rows):
        c = 0
        for cell in _kids(tr):
            while (r, c) in taken:
                c += 1
            a = cell.get("/A")
            attrs = {}
            for d in (a if isinstance(a, pikepdf.Array) else [a] if a is not None else []):
                if d.get("/O") == "/Table":
                    attrs = d
            rs, cs = int(attrs.get("/RowSpan", 1)), int(attrs.get("/ColSpan", 1))
            cells.append({"elem": cell, "tag": str(cell.S), "r": r, "c": c, "rs": rs,
                          "cs": cs, "head": head, "attrs": attrs})
            taken |= {(r + i, c + j) for i in range(rs) for j in range(cs)}
            c += cs
    return cells


def test_table_cells_point_at_their_headers(pdf) -> None:
    """A body cell's /Headers: every heading of the table head over its columns, and
    every row heading to its left in its rows (a row group's label included)."""
    ids = {str(e.ID): e for e, _ in _walk(pdf) if "/ID" in e}
    right = total = 0
    wrong = []
    tables = [e for e, _ in _walk(pdf) if e.get("/S") == "/Table"]
    for table in tables:
        cells = _grid(table)
        heads = [c for c in cells if c["tag"] == "/TH"]
        for cell in cells:
            if cell["tag"] != "/TD":
                continue
            total += 1
            cols = set(range(cell["c"], cell["c"] + cell["cs"]))
            rows = set(range(cell["r"], cell["r"] + cell["rs"]))
            want = {h["elem"].objgen for h in heads if h["head"]
                    and cols & set(range(h["c"], h["c"] + h["cs"]))}
            want |= {h["elem"].objgen for h in heads if not h["head"] and h["c"] < cell["c"]
                     and rows & set(range(h["r"], h["r"] + h["rs"]))}
            got = [ids.get(str(x)) for x in cell["attrs"].get("/Headers", [])]
            if None not in got and {g.objgen for g in got} == want and want:
                right += 1
            else:
                wrong.append((cell["r"], cell["c"]))
    print(f"{right}/{total} cells point at their headers")
    assert total > 500 and right == total, wrong[:10]
    # a reader finds a heading by its id through the root's /IDTree
    tree = pdf.Root.StructTreeRoot
    assert "/IDTree" in tree
    names = tree.IDTree.Names
    resolved = {str(names[i]): names[i + 1].objgen for i in range(0, len(names), 2)}
    assert all(resolved.get(key) == e.objgen for key, e in ids.items())


def test_heading_levels_are_not_skipped(pdf) -> None:
    levels = [int(str(e.S)[2]) for e, _ in _walk(pdf) if re.fullmatch(r"/H[1-6]", str(e.S))]
    assert levels[0] == 1 and levels.count(1) == 1
    for a, b in zip(levels, levels[1:], strict=False):
        assert b <= a + 1, f"H{a} followed by H{b}"


def test_figures_have_alt_text_and_hold_their_captions(pdf) -> None:
    figures = [e for e, _ in _walk(pdf) if e.get("/S") == "/Figure"]
    assert len(figures) == 5
    for f in figures:
        assert len(str(f.get("/Alt", ""))) > 20
        caps = [k for k in _kids(f) if isinstance(k, pikepdf.Dictionary)
                and k.get("/S") == "/Caption"]
        assert len(caps) == 1 and _kids(f)[0] == caps[0]
        x1, y1, x2, y2 = (float(v) for v in f.A.BBox)
        assert 0 <= x1 < x2 <= float(pdf.pages[0].mediabox[2])
        assert 0 <= y1 < y2 <= float(pdf.pages[0].mediabox[3])


def test_tables_nest_properly(pdf) -> None:
    allowed = {"/Table": {"/Caption", "/THead", "/TBody", "/TFoot", "/TR"},
               "/THead": {"/TR"}, "/TBody": {"/TR"}, "/TFoot": {"/TR"},
               "/TR": {"/TH", "/TD"}}
    count = 0
    for e, _ in _walk(pdf):
        s = str(e.get("/S"))
        if s in allowed:
            kids = {str(k.S) for k in _kids(e) if isinstance(k, pikepdf.Dictionary)
                    and k.get("/Type") not in ("/OBJR", "/MCR")}
            assert kids <= allowed[s], (s, kids)
            count += 1
        if s in ("/TR", "/TH", "/TD", "/THead", "/TBody"):
            parent = str(e.P.S)
            assert parent in {"/TR": {"/Table", "/THead", "/TBody", "/TFoot"},
                              "/TH": {"/TR"}, "/TD": {"/TR"}, "/THead": {"/Table"},
                              "/TBody": {"/Table"}}[s], (s, parent)
    tables = [e for e, _ in _walk(pdf) if e.get("/S") == "/Table"]
    assert all(str(_kids(t)[0].S) == "/Caption" for t in tables[:1])
    assert count > 100


def test_annotations_are_tagged_and_described(pdf) -> None:
    tree = pdf.Root.StructTreeRoot
    nums = tree.ParentTree.Nums
    parents = {int(nums[i]): nums[i + 1] for i in range(0, len(nums), 2)}
    links = 0
    for page in pdf.pages:
        if "/Annots" in page.obj:
            assert page.obj.get("/Tabs") == "/S"
        for a in page.obj.get("/Annots", []):
            if a.get("/Subtype") != "/Link":
                continue
            links += 1
            elem = parents[int(a.StructParent)]
            assert elem.S == "/Link"
            assert any(isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/OBJR"
                       and k.Obj.objgen == a.objgen for k in _kids(elem))
            text = str(a.get("/Contents", ""))
            assert " " in text or "." in text, f"link described only as {text!r}"
    assert links >= 19  # one per contents entry, and the licence link
    for e, _ in _walk(pdf):
        if e.get("/S") == "/Link":
            p = e.P
            while p.get("/Type") == "/StructElem":
                assert p.S != "/Link", "a link inside a link"
                p = p.P
    contents = [str(a.get("/Contents")) for page in pdf.pages
                for a in page.obj.get("/Annots", []) if "(page " in str(a.get("/Contents"))]
    assert any(c.startswith("1 Introduction (page ") for c in contents)


def test_fonts_are_embedded_with_unicode_maps(pdf) -> None:
    fonts = {}

    def collect(resources) -> None:
        for f in resources.get("/Font", {}).values():
            fonts[f.objgen] = f
        for x in resources.get("/XObject", {}).values():
            if x.get("/Subtype") == "/Form" and "/Resources" in x:
                collect(x.Resources)

    for page in pdf.pages:
        collect(page.Resources)
    assert fonts
    for f in fonts.values():
        assert "/ToUnicode" in f, f.get("/BaseFont")
        desc = f.DescendantFonts[0].FontDescriptor if "/DescendantFonts" in f \
            else f.FontDescriptor
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(desc.keys()), f.BaseFont


def test_language_title_and_pdfua_identifier(pdf) -> None:
    assert str(pdf.Root.Lang) == "en-GB"
    assert pdf.Root.ViewerPreferences.DisplayDocTitle
    assert pdf.Root.MarkInfo.Marked
    with pdf.open_metadata() as meta:
        assert meta.get("dc:title")
        assert meta.get("pdfuaid:part") == "1"


def test_every_table_part_has_a_caption_and_later_parts_say_continued(pdf) -> None:
    """A table that runs onto another page is split there (bulletin/paginate.py), each
    later part captioned "Table N (continued)"; WeasyPrint would otherwise tag the
    caption-less remainder as a table of its own."""
    text = _tagged_text(pdf)
    pages = _page_index(pdf)
    captions = []
    for table in (e for e, _ in _walk(pdf) if e.get("/S") == "/Table"):
        first = _kids(table)[0]
        assert first.get("/S") == "/Caption", "a table (or a table's part) without caption"
        words = "".join(text.get((pages[table.Pg.objgen], m), "") for m in _mcids(first))
        captions.append((pages[table.Pg.objgen], " ".join(words.split())))
    continued = [(p, c) for p, c in captions if c.endswith("(continued)")]
    assert len(continued) >= 2, captions
    for page, caption in continued:
        number = caption.split(" (continued)")[0]
        starts = [p for p, c in captions if c.startswith(number + ":")]
        assert len(starts) == 1 and starts[0] < page, (caption, captions)


def _mcids(e) -> list[int]:
    out = []
    for k in _kids(e):
        if isinstance(k, int):
            out.append(k)
        elif isinstance(k, pikepdf.Dictionary) and k.get("/Type") == "/StructElem":
            out += _mcids(k)
    return out


def test_a_table_split_across_pages_repeats_its_group_label() -> None:
    from bulletin.paginate import split_tables

    html = ('<table class="data-table">\n<caption id="t-caption">Table 9: Test</caption>\n'
            '<thead>\n<tr><th id="h0">A</th><th id="h1">B</th></tr>\n</thead>\n'
            '<tbody>\n<tr><th scope="row">x</th><td>1</td></tr>\n</tbody>\n'
            '<tbody class="group">\n<tr><th id="g" scope="rowgroup" rowspan="3">G</th>'
            '<th scope="row">a</th><td>2</td></tr>\n<tr><th scope="row">b</th><td>3</td></tr>'
            '\n<tr><th scope="row">c</th><td>4</td></tr>\n</tbody>\n</table>')
    out = split_tables(html, {"t-caption": [2]})
    first, second = out.split("</table>")[:2]
    assert "Table 9: Test" in first and 'rowspan="1"' in first and "<td>2</td>" in first
    assert "<caption" in second and "Table 9 (continued)</caption>" in second
    assert 'class="data-table continued"' in second
    assert second.count(">G</th>") == 1 and 'rowspan="2"' in second
    assert "<td>3</td>" in second and "<td>4</td>" in second and "<td>2</td>" not in second
    ids = re.findall(r'id="([^"]+)"', out)
    assert len(ids) == len(set(ids))
    assert split_tables(html, {}) == html and split_tables(html, {"t-caption": [0]}) == html


def test_footnotes_are_notes_beside_their_calls(pdf) -> None:
    text = _tagged_text(pdf)
    pages = _page_index(pdf)
    notes = [e for e, _ in _walk(pdf) if e.get("/S") == "/Note"]
    assert len(notes) >= 2
    for n, note in enumerate(notes, start=1):
        assert str(note.ID) == f"note-{n}"
        assert note.P.S == "/P"  # in the paragraph that calls it
        siblings = _kids(note.P)
        at = next(i for i, k in enumerate(siblings) if k == note)
        call = "".join(text.get((pages[note.Pg.objgen], m), "")
                       for m in _mcids(siblings[at - 1]))
        assert call.strip() == str(n)  # just after its number
