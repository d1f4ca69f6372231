"""Battery: data files that must be refused with a clear message, never accepted quietly,
never a hang or a traceback.

Each case runs the real command line in a fresh process. Most use `validate`, which
runs the same checks a build runs first; two use `build` to show that a refused data
file leaves the previous output folder exactly as it was.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from bulletin.config import PROJECT_DIR

DEMO = PROJECT_DIR / "bulletin" / "demo" / "data" / "demo-2018-19.csv"
GOOD = PROJECT_DIR / "tests" / "fixtures" / "good.csv"
EXCEL_ERRORS = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!")


def bulletin(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh process; a hang fails the case at `timeout`."""
    run = subprocess.run([sys.executable, "-m", "bulletin", *args], cwd=PROJECT_DIR,
                         capture_output=True, text=True, timeout=timeout, check=False)
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    return run


def refused(*args: str, timeout: float = 120) -> str:
    """Exit code 2 and no traceback; the whole output, for the place to be checked."""
    run = bulletin(*args, timeout=timeout)
    assert run.returncode == 2, run.stdout + run.stderr
    return run.stdout + run.stderr


def demo_rows() -> tuple[list[str], list[list[str]]]:
    lines = [x for x in DEMO.read_text(encoding="utf-8").splitlines() if not x.startswith("#")]
    header, *rows = csv.reader(lines)
    return header, rows


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def good_workbook(path: Path, change: dict[tuple[int, str], object]) -> Path:
    """good.csv as a workbook (header on spreadsheet row 1), with cells changed by
    (data row, column name)."""
    lines = [x for x in GOOD.read_text().splitlines() if not x.startswith("#")]
    header, *rows = csv.reader(lines)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([int(c) if c.isdigit() else (c or None) for c in row])
    for (row, column), value in change.items():
        sheet.cell(row=row + 1, column=header.index(column) + 1, value=value)
    book.save(path)
    return path


def test_nul_byte_in_a_cell(tmp_path: Path) -> None:
    header, rows = demo_rows()
    i = next(k for k, r in enumerate(rows) if r[1] == "Wales")
    rows[i][1] = "Wales\x00"
    path = write_rows(tmp_path / "nul.csv", header, rows)
    out = refused("validate", str(path))
    assert f"{path}, row {i + 1} (line {i + 2} of the file), column 'provider'" in out
    assert "'Wales\\x00'" in out and "U+0000" in out


def test_other_control_character_in_a_cell(tmp_path: Path) -> None:
    header, rows = demo_rows()
    rows[9][header.index("gender")] = "Ma\x1ble"
    path = write_rows(tmp_path / "escape.csv", header, rows)
    out = refused("validate", str(path))
    assert f"{path}, row 10 (line 11 of the file), column 'gender'" in out
    assert "'Ma\\x1ble'" in out and "control character (U+001B)" in out


@pytest.mark.parametrize("error", EXCEL_ERRORS)
def test_excel_error_value(tmp_path: Path, error: str) -> None:
    path = good_workbook(tmp_path / "errors.xlsx", {(3, "caseload"): error})
    out = refused("validate", str(path))
    assert f"{path}, row 3 (spreadsheet row 4), column 'caseload'" in out
    assert f"Excel error value ({error})" in out


def test_excel_error_text_in_a_csv_name_column(tmp_path: Path) -> None:
    header, rows = demo_rows()
    rows[4][1] = "#REF!"
    path = write_rows(tmp_path / "ref.csv", header, rows)
    out = refused("validate", str(path))
    assert f"{path}, row 5 (line 6 of the file), column 'provider'" in out
    assert "Excel error value (#REF!)" in out


def test_formula_without_a_saved_result(tmp_path: Path) -> None:
    path = good_workbook(tmp_path / "formula.xlsx", {(6, "age"): "=B2+1"})
    out = refused("validate", str(path))
    assert f"{path}, row 6 (spreadsheet row 7), column 'age'" in out
    assert "formula with no saved result" in out and "'=B2+1'" in out


def test_workbook_of_formulas_only(tmp_path: Path) -> None:
    lines = [x for x in GOOD.read_text().splitlines() if not x.startswith("#")]
    header = next(csv.reader(lines))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for _ in range(2, 8):
        sheet.append([f"=ROW()*{k}" for k in range(1, len(header) + 1)])
    path = tmp_path / "formulas.xlsx"
    book.save(path)
    out = refused("validate", str(path))
    assert f"{path}, row 1 (spreadsheet row 2), column 'case_id'" in out
    assert "formula with no saved result" in out


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_null_text(tmp_path: Path, kind: str) -> None:
    if kind == "csv":
        header, rows = demo_rows()
        rows[7][1] = "NULL"
        path = write_rows(tmp_path / "null.csv", header, rows)
        place = "row 8 (line 9 of the file)"
    else:
        path = good_workbook(tmp_path / "null.xlsx", {(8, "provider"): "NULL"})
        place = "row 8 (spreadsheet row 9)"
    out = refused("validate", str(path))
    assert f"{path}, {place}, column 'provider'" in out
    assert "NULL is a database's empty marker" in out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    os.mkfifo(path)
    out = refused("validate", str(path), timeout=30)
    assert f"{path}: is a named pipe" in out


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("named", ["/dev/zero", "zero.csv"])
def test_device_is_refused_at_once(tmp_path: Path, named: str) -> None:
    path = Path(named)
    if not path.is_absolute():
        path = tmp_path / named
        path.symlink_to("/dev/zero")
    out = refused("validate", str(path), timeout=30)
    assert f"{path}: is a character device" in out


def test_folder_as_data_file(tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    path.mkdir()
    assert f"{path}: is a folder" in refused("validate", str(path))


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(DEMO.read_bytes() * 3)  # about 1.3 MiB
    out = refused("validate", str(path), "--max-mib", "1")
    assert f"{path}: is 1." in out and "more than the limit of 1 MiB" in out
    assert "max_data_mib" in out


def test_one_row_file(tmp_path: Path) -> None:
    header, rows = demo_rows()
    one = next(r for r in rows if r[header.index("ro_interviewed")] == "yes")
    path = write_rows(tmp_path / "one.csv", header, [one])
    out = refused("validate", str(path))
    assert "Too little data for the tables and models" in out
    assert f"{path}, column 'sentence_implemented': sentence_implemented is" in out
    assert "on all 1 cases its model uses" in out


def test_column_blank_throughout(tmp_path: Path) -> None:
    header, rows = demo_rows()
    for r in rows:
        r[header.index("ogrs_score")] = ""
    path = write_rows(tmp_path / "no_ogrs.csv", header, rows)
    out = refused("validate", str(path))
    assert (f"{path}, column 'ogrs_score': column 'ogrs_score' is blank on all "
            in out)
    assert "ogrs_band is made from it" in out and "analysis.candidates" in out


def test_reference_level_never_occurs(tmp_path: Path) -> None:
    header, rows = demo_rows()
    for r in rows:
        if r[header.index("gender")] == "Male":
            r[header.index("gender")] = "Female"
    path = write_rows(tmp_path / "no_men.csv", header, rows)
    out = refused("validate", str(path))
    assert f"{path}, column 'gender': the reference level 'Male' of column 'gender'" in out
    assert "analysis.reference.gender" in out


def test_no_interviews_at_all(tmp_path: Path) -> None:
    header, rows = demo_rows()
    keep = [r for r in rows if r[header.index("ro_interviewed")] == "no"]
    path = write_rows(tmp_path / "no_interviews.csv", header, keep)
    out = refused("validate", str(path))
    assert f"{path}, column 'ro_interviewed': no case has ro_interviewed 'yes'" in out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def previous_output(tmp_path: Path) -> Path:
    """An output folder as an earlier build left it (contents stand in for its files)."""
    out = tmp_path / "out"
    (out / "tables").mkdir(parents=True)
    (out / "numbers.csv").write_text("key,value\nold,1\n")
    (out / "tables" / "table1.csv").write_text("old table\n")
    return out


def test_build_refuses_a_nul_byte_and_keeps_the_previous_output(
        tmp_path: Path, previous_output: Path) -> None:
    header, rows = demo_rows()
    rows[20][1] = "Wales\x00"
    path = write_rows(tmp_path / "nul.csv", header, rows)
    before = _snapshot(previous_output)
    out = refused("build", "--data", str(path), "--out", str(previous_output), "--no-cache",
                  "--formats", "csv,numbers")
    assert f"{path}, row 21 (line 22 of the file), column 'provider'" in out
    assert _snapshot(previous_output) == before


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_build_from_a_named_pipe_neither_hangs_nor_writes(
        tmp_path: Path, previous_output: Path) -> None:
    path = tmp_path / "cases.csv"
    os.mkfifo(path)
    before = _snapshot(previous_output)
    out = refused("build", "--data", str(path), "--out", str(previous_output),
                  "--formats", "csv,numbers", timeout=60)
    assert f"{path}: is a named pipe" in out
    assert _snapshot(previous_output) == before
