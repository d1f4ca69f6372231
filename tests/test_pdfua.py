"""bulletin/pdfua.py on small hand-made pages: the marked text it reads back, and the
content streams it writes again.

pdfua writes a page's stream from pikepdf's own text of the parsed stream and puts only
the real numbers into the form that rebuilding each instruction from its Python
operands gives (`ContentStreamInstruction(operands, operator)`), which is how the stream
was written before and what the PDF's bytes depend on. These tests hold it to that.
"""

from __future__ import annotations

import pytest

from bulletin.pdfua import _Content, page_marked_text

pikepdf = pytest.importorskip("pikepdf")


def _page(content: bytes, fonts: dict | None = None):
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    page.obj.Contents = pdf.make_stream(content)
    if fonts:
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(
            {f"/{name}": pdf.make_indirect(pikepdf.Dictionary(
                Type=pikepdf.Name.Font, ToUnicode=pdf.make_stream(cmap)))
             for name, cmap in fonts.items()}))
    return pdf, page


def _rebuilt_everything(page, artifacts: set[int]) -> bytes:
    """Every instruction rebuilt from its Python operands (but an inline image); a BDC
    opening an MCID in `artifacts` becomes `/Artifact BMC`."""
    ops = []
    for ins in pikepdf.parse_content_stream(page):
        operands, op = ins
        if isinstance(ins, pikepdf.ContentStreamInlineImage):
            ops.append(ins)
        elif str(op) == "BDC" and isinstance(operands[1], pikepdf.Dictionary) \
                and int(operands[1].get("/MCID", -1)) in artifacts:
            ops.append(pikepdf.ContentStreamInstruction([pikepdf.Name.Artifact],
                                                        pikepdf.Operator("BMC")))
        else:
            ops.append(pikepdf.ContentStreamInstruction(operands, op))
    return pikepdf.unparse_content_stream(ops)


STREAMS = {
    "plain": b"q 1 0 0 1 72 720 cm 0.5 w 10 10 m 20.25 30.5 l S Q",
    "odd reals": b"1 0 0 1 0 -0. cm .25 -.5 4. +1.5 0.0 -0.00 100.000 007.50 w "
                 b"12345678.123456789 0 m 0.1234567890123456789 1 l S",
    "exponent": b"0.0000001 0 m 1e5 1 l 123456789012345678901234.5 2 l S",
    "reals in arrays, dicts, strings": b"[ 3.50 .5 ] 0. d /Span << /MCID 0 /X .5 >> BDC "
                                       b"BT (1.50 .5) Tj [<0041> -12.50 (.5)] TJ "
                                       b"1. 2. (a) \" ET EMC",
    "names": b"/a1.0 gs /Fm1.5 Do /P <</MCID 1>> BDC EMC",
    "inline image": b"q .5 0 0 .5 0 0 cm BI /W 2 /H 1 /BPC 8 /CS /G ID \x00\xff EI Q "
                    b".5 w",
}


@pytest.mark.parametrize("name", STREAMS)
def test_written_stream_is_what_rebuilding_every_instruction_gives(name: str) -> None:
    _, page = _page(STREAMS[name])
    assert _Content(page, {}).unparse(set(), {}) == _rebuilt_everything(page, set())


def test_marked_content_made_artifacts_as_before() -> None:
    stream = (b"/P <</MCID 0>> BDC 0.50 w EMC /Span <</MCID 1>> BDC .5 w EMC "
              b"/Artifact BMC 1. w EMC /P <</MCID 2>> BDC 2 w EMC")
    _, page = _page(stream)
    content = _Content(page, {})
    for gone in ({0}, {1, 2}, {0, 1, 2}, {7}):
        assert content.unparse(gone, {}) == _rebuilt_everything(page, gone), gone
    assert b"/P << /MCID 0 >> BDC" not in content.unparse({0}, {})


def test_written_stream_follows_pikepdfs_decimal_precision() -> None:
    from pikepdf.settings import get_decimal_precision, set_decimal_precision

    _, page = _page(b"1.23456789 0.000123456789 123.456789 cm")
    saved = get_decimal_precision()
    try:
        set_decimal_precision(4)
        assert _Content(page, {}).unparse(set(), {}) == _rebuilt_everything(page, set())
        assert b"1.235 " in _rebuilt_everything(page, set())  # it did shorten them
    finally:
        set_decimal_precision(saved)


ONE_BYTE = (b"begincmap 2 beginbfchar <41> <0041> <42> <0042> endbfchar "
            b"1 beginbfrange <43> <44> <0043> endbfrange endcmap")
TWO_BYTE = b"begincmap 1 beginbfrange <0001> <0003> <0061> endbfrange endcmap"


def test_marked_text_is_read_back_per_mcid() -> None:
    stream = (b"BT /F1 12 Tf /P <</MCID 0>> BDC (AB) Tj /Span BMC [(C) -20 (D)] TJ EMC "
              b"EMC (X) Tj /Artifact BMC (Y) Tj EMC /P <</MCID 1>> BDC (A) ' EMC "
              b"/F2 10 Tf /P <</MCID 2>> BDC <00010003> Tj EMC "
              b"/P <</MCID 0>> BDC /F1 12 Tf (B) Tj EMC "
              b"/P <</MCID 3>> BDC 0 0 m 1 1 l S EMC "
              b"/Span <</ActualText (z) /MCID 4>> BDC /F9 7 Tf (CA) Tj EMC ET")
    _, page = _page(stream, {"F1": ONE_BYTE, "F2": TWO_BYTE})
    want = {0: "ABCDB", 1: "A", 2: "ac", 4: "CA"}  # F9 is not on the page: F1 stays
    assert page_marked_text(page) == want
    content = _Content(page, {})
    assert [content.text(m) for m in (0, 1, 2, 3, 4)] == ["ABCDB", "A", "ac", "", "CA"]
    assert [m for _, m in content.marks] == [0, 1, 2, 0, 3, 4]
