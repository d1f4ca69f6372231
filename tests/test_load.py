"""Reading data files: every format, the row numbers an analyst sees, and a clear
`BulletinError` for each file that cannot be read at all."""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest

from bulletin.errors import BulletinError
from bulletin.load import Formula, UserMissing, read_table

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
import make_fixtures as fx  # noqa: E402

GOOD = FIXTURES / "good.csv"


def test_committed_fixtures_match_their_generator(tmp_path: Path) -> None:
    fx.main(tmp_path)
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert made, "the generator wrote nothing"
    for rel in made:
        assert (FIXTURES / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_csv_rows_count_from_the_header_and_lines_skip_the_comment() -> None:
    table = read_table(GOOD)
    assert table.format == "CSV"
    assert list(table.header) == fx.NAMES
    assert table.n_rows == 12
    assert table.rows == tuple(range(1, 13))
    assert table.place(0) == "line 3 of the file"
    assert table.columns[0][:2] == ("C001", "C002")
    assert not table.problems


def test_bom_utf16_and_semicolons_read_like_plain_utf8(tmp_path: Path) -> None:
    plain = read_table(GOOD)
    text = GOOD.read_text(encoding="utf-8")
    variants = {
        "bom.csv": text.encode("utf-8-sig"),
        "utf16.csv": text.encode("utf-16"),
        "semicolon.csv": text.replace(",", ";").encode("utf-8"),
        "crlf.csv": text.replace("\n", "\r\n").encode("utf-8"),
    }
    for name, data in variants.items():
        path = tmp_path / name
        path.write_bytes(data)
        table = read_table(path)
        assert table.header == plain.header, name
        assert table.columns == plain.columns, name
        assert table.places == plain.places, name


def test_windows_1252_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "ansi.csv"
    path.write_bytes(GOOD.read_text().replace("Wales", "Ynys Môn").encode("cp1252"))
    table = read_table(path)
    assert "Ynys Môn" in table.columns[1]
    [warning] = table.problems
    assert warning.severity == "warning"
    assert "line 9" in warning.message and "Windows-1252" in warning.message


def test_text_in_no_known_encoding_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(GOOD.read_bytes().replace(b"Wales", b"W\x81les"))
    with pytest.raises(BulletinError, match="not UTF-8 text .*line 9"):
        read_table(path)


def test_quoted_line_breaks_keep_later_line_numbers_right(tmp_path: Path) -> None:
    lines = GOOD.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("Essex", '"Essex\nand\nSouthend"', 1)
    path = tmp_path / "multiline.csv"
    path.write_text("".join(lines))
    table = read_table(path)
    assert table.columns[1][0] == "Essex\nand\nSouthend"
    assert table.places[:2] == (3, 6)


def test_blank_rows_are_skipped_but_keep_their_numbers(tmp_path: Path) -> None:
    lines = GOOD.read_text().splitlines(keepends=True)
    lines.insert(4, ",,,\n")
    lines.insert(5, "\n")
    path = tmp_path / "blank_rows.csv"
    path.write_text("".join(lines))
    table = read_table(path)
    assert table.n_rows == 12
    assert table.rows[:3] == (1, 2, 5)
    assert table.places[:3] == (3, 4, 7)
    assert any("2 blank row(s)" in p.message for p in table.problems)


@pytest.mark.parametrize(("name", "pattern"), [
    ("empty.csv", "the file is empty"),
    ("comments_only.csv", "no header and no data"),
    ("header_only.csv", r"has a header \(line 2 of the file\) but no data rows"),
    ("binary.csv", "is not a CSV text file"),
    ("not_excel.xlsx", "is not an Excel .xlsx workbook: it looks like a text file"),
])
def test_unreadable_fixtures_raise_a_clear_error(name: str, pattern: str) -> None:
    with pytest.raises(BulletinError, match=pattern):
        read_table(FIXTURES / "bad" / name)


def test_file_types_are_checked_against_their_contents(tmp_path: Path) -> None:
    text = GOOD.read_bytes()
    cases = {
        "data.sav": (text, "is not an SPSS .sav file"),
        "data.parquet": (text, "is not a Parquet file"),
        "excel.csv": (b"PK\x03\x04" + b"\x00" * 64, "looks like a zip archive"),
        "spss.xlsx": (b"$FL2" + b"\x00" * 64, "it looks like an SPSS .sav file"),
        "data.xls": (text, r"save it as \.xlsx or \.csv"),
        "data.txt": (text, "cannot read files of type '.txt'"),
        "data": (text, r"'\(no extension\)'"),
        "truncated.xlsx": (b"PK\x03\x04" + b"\x01" * 64, "cannot be read as an Excel"),
        "truncated.sav": (b"$FL2" + b"\x01" * 64, "cannot be read as an SPSS"),
        "truncated.parquet": (b"PAR1" + b"\x01" * 64 + b"PAR1", "cannot be read as a Parquet"),
    }
    for name, (data, pattern) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(BulletinError, match=pattern):
            read_table(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(BulletinError, match="file not found"):
        read_table(tmp_path / "nowhere.csv")
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(BulletinError, match="is a folder"):
        read_table(folder)
    with pytest.raises(BulletinError, match="is a folder"):
        read_table(tmp_path)  # no extension: still named as a folder


def write_xlsx(path: Path, rows: list[dict[str, object]], top: list[list[object]] = (),
               sheets: int = 1) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    for line in top:
        sheet.append(line)
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    for k in range(1, sheets):
        book.create_sheet(f"Notes {k}")
    book.save(path)


def test_excel_header_below_a_title_gives_spreadsheet_rows(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = fx.good_rows()
    rows[0]["age"] = 20  # a number cell, as Excel stores it
    rows[1]["report_month"] = datetime.datetime(2018, 10, 1)
    path = tmp_path / "data.xlsx"
    write_xlsx(path, rows, top=[["Cases inspected in 2018/19"], ["# invented"], []],
               sheets=2)
    table = read_table(path)
    assert table.format == "Excel"
    assert list(table.header) == fx.NAMES
    assert table.n_rows == 12
    assert table.place(0) == "spreadsheet row 5"
    assert table.columns[fx.NAMES.index("age")][0] == 20
    assert table.columns[fx.NAMES.index("report_month")][1] == datetime.datetime(2018, 10, 1)
    assert any("2 sheets" in p.message for p in table.problems)


def test_spss_labels_applied_and_user_missing_kept_with_its_label(tmp_path: Path) -> None:
    frame = pd.DataFrame({"case_id": ["A1", "A2", "A3"],
                          "relationships_harm": [1.0, 9.0, None],
                          "age": [30.0, 99.0, 41.0]})
    path = tmp_path / "data.sav"
    pyreadstat.write_sav(frame, path,
                         variable_value_labels={"relationships_harm":
                                                {1: "Yes", 0: "No", 9: "Not applicable"}},
                         missing_ranges={"relationships_harm": [9], "age": [99]})
    table = read_table(path)
    assert table.format == "SPSS"
    assert table.place(2) == "case 3"
    assert table.columns[1] == ("Yes", UserMissing(9.0, "Not applicable"), None)
    assert table.columns[2] == (30.0, UserMissing(99.0, None), 41.0)


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(fx.good_rows())
    frame["age"] = frame["age"].astype("int64")
    path = tmp_path / "data.parquet"
    frame.to_parquet(path)
    table = read_table(path)
    assert table.format == "Parquet"
    assert table.n_rows == 12 and table.place(0) == ""
    assert table.columns[fx.NAMES.index("age")][:2] == (20, 24)
    assert table.columns[fx.NAMES.index("ro_grade")][3] in ("", None)


def test_excel_values_beyond_the_header_are_an_unnamed_column(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = fx.good_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for i, row in enumerate(rows):
        sheet.append([*row.values(), "note" if i == 3 else None])
    path = tmp_path / "notes.xlsx"
    book.save(path)
    table = read_table(path)
    assert table.n_rows == 12
    [warning] = table.problems
    assert warning.severity == "warning"
    assert "column AH (34) has values but no name" in warning.message


def test_csv_header_with_trailing_unnamed_columns(tmp_path: Path) -> None:
    lines = GOOD.read_text().splitlines(keepends=True)
    lines[1] = lines[1].rstrip("\n") + ",,\n"  # two unnamed columns in the header
    lines[3] = lines[3].rstrip("\n") + ",remark\n"  # one row uses the first of them
    path = tmp_path / "trailing.csv"
    path.write_text("".join(lines))
    table = read_table(path)
    assert table.n_rows == 12
    assert table.header[-2:] == ("", "")
    assert table.columns[-2][1] == "remark" and table.columns[-1][1] is None
    assert [p.message for p in table.problems] == [
        "column 34 has values but no name in the header; it is ignored"]


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    with pytest.raises(BulletinError, match="is a named pipe"):
        read_table(pipe)  # would block for ever if it were opened for reading
    with pytest.raises(BulletinError, match="is a character device"):
        read_table("/dev/zero")


def test_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(GOOD.read_bytes() * 500)  # about 1.2 MiB
    with pytest.raises(BulletinError, match=r"is 1\.\d MiB, more than the limit of 1 MiB"):
        read_table(path, max_mib=1)
    assert read_table(path, max_mib=2).n_rows > 12  # the same file under a higher limit


def test_a_nul_byte_in_a_cell_is_kept_for_validation(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_text(GOOD.read_text().replace("Wales", "Wales\x00", 1))
    table = read_table(path)
    assert "Wales\x00" in table.columns[1]  # reported there, not read as a binary file


def test_excel_error_cells_formulas_and_na_text_are_kept_as_written(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = fx.good_rows()
    rows[0]["gender"] = "#N/A"  # openpyxl writes this as an error cell
    rows[1]["age"] = "=1+1"  # a formula saved without its result
    rows[2]["relationships_harm"] = "N/A"
    path = tmp_path / "cells.xlsx"
    write_xlsx(path, rows)
    table = read_table(path)
    assert table.columns[fx.NAMES.index("gender")][0] == "#N/A"
    assert table.columns[fx.NAMES.index("age")][1] == Formula("=1+1")
    assert table.columns[fx.NAMES.index("relationships_harm")][2] == "N/A"


def test_columns_hold_each_distinct_value_once() -> None:
    table = read_table(GOOD)
    provider = table.columns[1]
    assert provider.distinct == 2 and len(provider) == 12
    assert provider[5:7] == ("Essex", "Wales") and list(provider)[-1] == "Wales"
