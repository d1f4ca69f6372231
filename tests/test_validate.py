"""Validation: each kind of fault is reported at the right row and column with exit
code 2, clean files give exit 0 and the canonical frame, and no input of any shape
produces a traceback."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError
from pyarrow.lib import ArrowException

from bulletin import schema
from bulletin.cli import main
from bulletin.config import PROJECT_DIR, default_settings
from bulletin.errors import BulletinError
from bulletin.validate import SHOW_PER_KIND, DataError, load_valid, validate_command

FIXTURES = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(FIXTURES))
import make_fixtures as fx  # noqa: E402

SETTINGS = default_settings()
GOOD = FIXTURES / "good.csv"
DEMO = PROJECT_DIR / "bulletin" / "demo" / "data" / "demo-2018-19.csv"
HEADINGS = {
    "columns-missing": "Missing or misspelled columns",
    "code": "Unknown codes",
    "duplicate-id": "Case ids used more than once",
    "number": "Not a number",
    "whole-number": "Not a whole number",
    "range": "Outside the plausible range",
    "interview": "Interview details on a case without an RO interview",
    "blank": "Required values left blank",
    "month": "Report month not written YYYY-MM",
    "provider": "Provider-level inconsistencies",
}


def problem_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("  - ")]


@pytest.mark.parametrize("fault", fx.FAULTS, ids=lambda f: f.name)
def test_each_csv_fault_is_reported_at_its_row_and_column(
        fault: fx.Fault, capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / "bad" / f"{fault.name}.csv"
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    [line] = problem_lines(out)  # exactly one fault was put in
    assert f"{HEADINGS[fault.kind]}: 1" in out
    assert f"column '{fault.column}'" in line
    assert str(path) in line
    if fault.row is None:
        assert ", row " not in line
    else:
        assert f", row {fault.row} (line {fault.row + 2} of the file)" in line
    assert fault.also in line
    assert "NOT READY: 1 error" in out


@pytest.mark.parametrize("fault", fx.FAULTS, ids=lambda f: f.name)
def test_load_valid_raises_with_the_same_problem(fault: fx.Fault) -> None:
    with pytest.raises(BulletinError) as caught:
        load_valid(FIXTURES / "bad" / f"{fault.name}.csv", SETTINGS)
    errors = [p for p in caught.value.problems if p.severity == "error"]
    assert len(errors) == 1
    assert errors[0].row == fault.row
    assert fault.column in (errors[0].column or "")


@pytest.mark.parametrize(("name", "row", "line"), [("extra_value.csv", 5, 7),
                                                   ("truncated.csv", 12, 14)])
def test_rows_with_the_wrong_number_of_values(name: str, row: int, line: int,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FIXTURES / "bad" / name)]) == 2
    [problem] = problem_lines(capsys.readouterr().out)
    assert f"row {row} (line {line} of the file)" in problem
    assert "header names 33 columns" in problem


@pytest.mark.parametrize(("name", "pattern"), [
    ("empty.csv", "the file is empty"),
    ("header_only.csv", "but no data rows"),
    ("binary.csv", "is not a CSV text file"),
    ("not_excel.xlsx", "is not an Excel .xlsx workbook"),
])
def test_unreadable_files_exit_2_with_a_message(name: str, pattern: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FIXTURES / "bad" / name)]) == 2
    assert pattern in capsys.readouterr().err


def test_clean_files_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    for path in (GOOD, FIXTURES / "messy.csv"):
        assert main(["validate", str(path)]) == 0
        out = capsys.readouterr().out
        assert "OK: no errors, 0 warnings." in out
        assert "12 data rows" in out


def test_edition_settings_are_used(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(GOOD), "--edition", "2018-19"]) == 0
    assert main(["validate", str(GOOD), "--edition", "no-such-edition"]) == 2
    assert "edition file not found" in capsys.readouterr().err


def test_real_command_line_exits_2_without_a_traceback() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "bulletin", "validate", str(FIXTURES / "bad" / "binary.csv")],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr + bad.stdout
    assert "is not a CSV text file" in bad.stderr
    worse = subprocess.run(
        [sys.executable, "-m", "bulletin", "validate",
         str(FIXTURES / "bad" / "unknown_category.csv")],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    assert worse.returncode == 2
    assert "row 3 (line 5 of the file), column 'gender'" in worse.stdout


def test_load_valid_gives_the_canonical_frame() -> None:
    frame = load_valid(GOOD, SETTINGS)
    assert tuple(frame.columns) == schema.column_names(SETTINGS)
    assert len(frame) == 12
    rows = fx.good_rows()
    for col in schema.columns(SETTINGS):
        series = frame[col.name]
        if col.kind == "integer":
            assert series.dtype == "Int64", col.name
            expected = [int(r[col.name]) if r[col.name] else None for r in rows]
            assert [None if pd.isna(v) else int(v) for v in series] == expected
        else:
            if col.kind in ("category", "month"):  # a byte a cell, categories fixed
                assert isinstance(series.dtype, pd.CategoricalDtype), col.name
                assert pd.api.types.is_string_dtype(series.cat.categories.dtype), col.name
            else:
                assert pd.api.types.is_string_dtype(series.dtype), col.name
            expected = [r[col.name] or None for r in rows]
            assert [None if pd.isna(v) else v for v in series] == expected, col.name
        if col.kind == "category":
            assert set(series.dropna()) <= set(col.allowed), col.name
            assert list(series.cat.categories) == list(col.allowed), col.name
        if col.kind == "month":
            assert list(series.cat.categories) == sorted(series.dropna().unique()), col.name
    assert frame["ro_grade"].isna().sum() == len(fx.NOT_INTERVIEWED)


def test_other_spellings_load_to_the_same_frame() -> None:
    pd.testing.assert_frame_equal(load_valid(FIXTURES / "messy.csv", SETTINGS),
                                  load_valid(GOOD, SETTINGS))


def rows_to_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_not_applicable_spellings(tmp_path: Path) -> None:
    rows = fx.good_rows()
    rows[0]["relationships_desistance"] = "N/A"  # an answer where it is allowed
    rows[0]["workload_manageable"] = "N/A"  # missing where it is not
    rows[1]["supports_safety"] = "n/a"
    rows[1]["age"] = "NA"
    no_interview = fx.NOT_INTERVIEWED[0]
    rows[no_interview]["relationships_harm"] = "not applicable"  # nothing applied: blank
    rows[no_interview]["clear_roles"] = "N/A"
    path = tmp_path / "na.csv"
    path.write_text(rows_to_csv(rows))
    frame = load_valid(path, SETTINGS, models=False)  # 12 cases: too few for the models
    assert frame.loc[0, "relationships_desistance"] == schema.NOT_APPLICABLE
    assert pd.isna(frame.loc[0, "workload_manageable"])
    assert frame.loc[1, "supports_safety"] == schema.NOT_APPLICABLE
    assert pd.isna(frame.loc[1, "age"])
    assert pd.isna(frame.loc[no_interview, "relationships_harm"])
    assert pd.isna(frame.loc[no_interview, "clear_roles"])


def test_columns_match_loosely_and_extra_columns_only_warn(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{("Case-ID " if k == "case_id" else k): v for k, v in r.items()}
            for r in fx.good_rows()]
    for r in rows:
        r["team notes"] = "x"
    path = tmp_path / "extra.csv"
    path.write_text(rows_to_csv(rows))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "column 'team notes' (column 34) is not part of the schema" in out
    assert "OK: no errors, 1 warning." in out


def test_a_column_given_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD.read_text().replace(",age,", ",Age,", 1).replace("ogrs_score", "AGE", 1)
    path = tmp_path / "twice.csv"
    path.write_text(text)
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert "2 columns match 'age': 'Age' (column 25), 'AGE' (column 28)" in out
    assert "column 'ogrs_score' is missing" in out


def test_every_problem_is_reported_together(tmp_path: Path) -> None:
    rows = fx.good_rows()
    rows[0]["gender"] = "x"
    rows[1]["age"] = "old"
    rows[2]["case_id"] = "C001"
    rows[4]["report_month"] = "10/2018"
    path = tmp_path / "several.csv"
    path.write_text(rows_to_csv(rows))
    with pytest.raises(DataError) as caught:
        load_valid(path, SETTINGS)
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {(1, "gender"), (2, "age"), (3, "case_id"), (5, "report_month")}
    report = caught.value.report()
    assert "4 errors in the data file" in report
    assert "line of the file is given in brackets" in report


def test_a_wholly_wrong_file_is_capped_but_counted(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    base = fx.good_rows()[0]
    rows = []
    for i in range(400):
        row = dict(base, case_id=f"X{i}", gender="?", ethnicity="?")
        rows.append(row)
    path = tmp_path / "wrong.csv"
    path.write_text(rows_to_csv(rows))
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    assert len(problem_lines(out)) == SHOW_PER_KIND
    assert "Unknown codes: 800" in out
    hidden = 400 - SHOW_PER_KIND // 2  # shown in row order: both columns of a row
    assert f"... and {800 - SHOW_PER_KIND} more of this kind not shown (" in out
    assert f"{hidden} in 'gender'" in out and f"{hidden} in 'ethnicity'" in out
    assert "NOT READY: 800 errors" in out
    with pytest.raises(DataError) as caught:
        load_valid(path, SETTINGS)
    assert len(caught.value.problems) == 800
    assert len(problem_lines(caught.value.report())) == SHOW_PER_KIND


def test_excel_fault_names_the_spreadsheet_row(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    rows: list[dict[str, object]] = fx.good_rows()
    rows[4]["rosh_level"] = "Extreme"
    rows[5]["caseload"] = 38.0  # numbers as Excel stores them are fine
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["# invented cases"])
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    path = tmp_path / "cases.xlsx"
    book.save(path)
    assert main(["validate", str(path)]) == 2
    [line] = problem_lines(capsys.readouterr().out)
    assert "row 5 (spreadsheet row 7), column 'rosh_level'" in line
    assert "'Extreme'" in line


def write_sav(path: Path, rows: list[dict[str, str]]) -> None:
    """The good rows coded as SPSS would hold them: yes/no as labelled 1/0, 9 a
    user-missing code labelled "Not applicable" or "Not known"."""
    frame = pd.DataFrame(rows)
    labels: dict[str, dict[float, str]] = {}
    missing: dict[str, list[float]] = {}
    for col in schema.columns(SETTINGS):
        if set(col.allowed) >= {schema.YES, schema.NO}:
            code = {schema.YES: 1.0, schema.NO: 0.0, schema.NOT_APPLICABLE: 9.0, "": None}
            frame[col.name] = [code[v] if v in code else float(v) for v in frame[col.name]]
            na = "Not applicable" if schema.NOT_APPLICABLE in col.allowed else "Not known"
            labels[col.name] = {1.0: "Yes", 0.0: "No", 9.0: na}
            missing[col.name] = [9.0]
        elif col.kind == "integer":
            frame[col.name] = pd.to_numeric(frame[col.name].replace("", None))
    pyreadstat.write_sav(frame, path, variable_value_labels=labels, missing_ranges=missing)


def test_spss_codes_labels_and_user_missing(tmp_path: Path) -> None:
    rows = fx.good_rows()
    path = tmp_path / "cases.sav"
    write_sav(path, rows)
    pd.testing.assert_frame_equal(load_valid(path, SETTINGS), load_valid(GOOD, SETTINGS))
    rows[0]["workload_manageable"] = schema.NOT_APPLICABLE  # 9 = "Not known": missing
    write_sav(path, rows)
    assert pd.isna(load_valid(path, SETTINGS).loc[0, "workload_manageable"])


def test_spss_fault_names_the_case(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = fx.good_rows()
    rows[6]["services_range"] = "2"  # a code with no value label
    path = tmp_path / "cases.sav"
    write_sav(path, rows)
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    [line] = problem_lines(out)
    assert "row 7 (case 7), column 'services_range'" in line
    assert "found '2'" in line
    assert "case numbers in SPSS Data View" in out


def test_parquet_file_validates(tmp_path: Path) -> None:
    frame = pd.DataFrame(fx.good_rows())
    path = tmp_path / "cases.parquet"
    frame.to_parquet(path)
    pd.testing.assert_frame_equal(load_valid(path, SETTINGS), load_valid(GOOD, SETTINGS))


# --- no input of any shape gives a traceback ------------------------------------------

def outcome(name: str, data: bytes) -> int:
    """The exit code of `validate` on a file holding `data`; any exception other than a
    reported one fails the test."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            code = validate_command(path, None)
        except BulletinError as exc:
            assert exc.report()
            return exc.exit_code
    assert code in (0, 2)
    return code


FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
GOOD_BYTES = GOOD.read_bytes()


@FUZZ
@given(st.binary(max_size=2000),
       st.sampled_from(["x.csv", "x.xlsx", "x.sav", "x.parquet"]))
def test_random_bytes(data: bytes, name: str) -> None:
    assert outcome(name, data) == 2


@FUZZ
@given(st.integers(min_value=0, max_value=len(GOOD_BYTES)))
def test_truncated_files(cut: int) -> None:
    outcome("x.csv", GOOD_BYTES[:cut])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 11), st.sampled_from(fx.NAMES),
                          st.one_of(st.text(max_size=12), st.sampled_from(
                              ["", "N/A", "-", "1.5", "1e9", "nan", "inf", "2018-13",
                               "Yes", "0", "\"", ",", "\n", "#"]))),
                min_size=1, max_size=8))
def test_random_cells(changes: list[tuple[int, str, str]]) -> None:
    rows = fx.good_rows()
    for row, column, value in changes:
        rows[row][column] = value
    outcome("x.csv", rows_to_csv(rows).encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.permutations(fx.NAMES), st.sets(st.sampled_from(fx.NAMES), max_size=5),
       st.booleans())
def test_shuffled_and_missing_headers(order: list[str], dropped: set[str],
                                      shuffle_header_only: bool) -> None:
    rows = fx.good_rows()
    keep = [n for n in order if n not in dropped]
    text = rows_to_csv([{n: r[n] for n in keep} for r in rows])
    if shuffle_header_only:  # the header no longer matches the values under it
        lines = text.splitlines(keepends=True)
        lines[0] = ",".join(sorted(keep)) + "\n"
        text = "".join(lines)
    code = outcome("x.csv", text.encode())
    if not dropped and not shuffle_header_only:
        assert code == 0


@FUZZ
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(-5, 300), st.floats(),
                                   st.text(max_size=8), st.booleans()),
                         min_size=1, max_size=6), min_size=1, max_size=6))
def test_random_excel_sheets(grid: list[list[object]]) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    buffer = io.BytesIO()
    try:
        for row in [fx.NAMES[:6], *grid]:
            sheet.append(row)
        book.save(buffer)
    except IllegalCharacterError:  # openpyxl cannot write control characters
        return
    outcome("x.xlsx", buffer.getvalue())


def test_docs_describe_every_column_and_spelling() -> None:
    text = (PROJECT_DIR / "docs" / "data.md").read_text()
    for col in schema.columns(SETTINGS):
        assert f"| `{col.name}`" in text, col.name
        for code in col.allowed:
            assert f"`{code}`" in text, code
    for code, others in schema.ALSO_ACCEPTED.items():
        assert f"`{code}`" in text, code
        for other in others:
            assert other in text, other
    for spelling in schema.NOT_APPLICABLE_SPELLINGS:
        assert spelling in text, spelling


def test_messages_give_the_column_as_the_file_writes_it(tmp_path: Path) -> None:
    rows = fx.messy_rows()
    rows[2]["OGRS-score"] = "high"
    path = tmp_path / "messy_fault.csv"
    path.write_text(rows_to_csv(rows))
    with pytest.raises(DataError) as caught:
        load_valid(path, SETTINGS)
    [problem] = caught.value.problems
    assert problem.column == "ogrs_score"
    assert ("row 3 (line 4 of the file), column 'ogrs_score' (written 'OGRS-score'): "
            "not a number") in str(problem)


@FUZZ
@given(st.dictionaries(
    st.sampled_from(fx.NAMES + ["Case ID", "extra", ""]),
    st.one_of(
        st.lists(st.one_of(st.none(), st.text(max_size=6)), min_size=3, max_size=3),
        st.lists(st.one_of(st.none(), st.integers(-10**12, 10**12)), min_size=3, max_size=3),
        st.lists(st.floats(), min_size=3, max_size=3),
        st.lists(st.booleans(), min_size=3, max_size=3),
        st.lists(st.dates(), min_size=3, max_size=3)),
    min_size=1, max_size=12))
def test_random_parquet_frames(columns: dict[str, list[object]]) -> None:
    buffer = io.BytesIO()
    try:
        pd.DataFrame(columns).to_parquet(buffer)
    except (ValueError, TypeError, ArrowException):  # a frame pyarrow cannot store
        return
    outcome("x.parquet", buffer.getvalue())


@FUZZ
@given(st.dictionaries(
    st.sampled_from(fx.NAMES),
    st.one_of(
        st.lists(st.text(alphabet="abcNnYy/ 019-", max_size=6), min_size=3, max_size=3),
        st.lists(st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.0, 9.0, 34.5, 1e6])),
                 min_size=3, max_size=3)),
    min_size=1, max_size=12),
    st.sampled_from(["Not applicable", "Not known", "Yes", ""]))
def test_random_spss_files(columns: dict[str, list[object]], label: str) -> None:
    frame = pd.DataFrame(columns)
    numeric = [c for c in frame if frame[c].dtype.kind == "f"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.sav"
        pyreadstat.write_sav(frame, path,
                             variable_value_labels={c: {1.0: "Yes", 0.0: "No", 9.0: label}
                                                    for c in numeric},
                             missing_ranges={c: [9.0] for c in numeric})
        data = path.read_bytes()
    outcome("x.sav", data)


def test_every_missing_spelling_reads_as_blank(tmp_path: Path) -> None:
    rows = fx.good_rows()
    for i, spelling in enumerate(schema.MISSING_SPELLINGS):
        rows[i]["gender"] = spelling.upper()
        rows[i]["age"] = f" {spelling} "
    path = tmp_path / "blanks.csv"
    path.write_text(rows_to_csv(rows))
    frame = load_valid(path, SETTINGS, models=False)  # 12 cases: too few for the models
    n = len(schema.MISSING_SPELLINGS)
    assert frame["gender"].iloc[:n].isna().all()
    assert frame["age"].iloc[:n].isna().all()
    assert frame["gender"].iloc[n:].notna().all()


def test_a_required_column_blank_throughout_is_one_problem(tmp_path: Path) -> None:
    rows = fx.good_rows()
    for row in rows:
        row["provider_type"] = ""
    path = tmp_path / "no_types.csv"
    path.write_text(rows_to_csv(rows))
    with pytest.raises(DataError) as caught:
        load_valid(path, SETTINGS)
    [problem] = caught.value.problems
    assert problem.column == "provider_type" and problem.row is None
    assert "blank on every row (12 rows)" in problem.message


def test_the_shipped_demonstration_data_validates_clean(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(DEMO)]) == 0
    assert "OK: no errors, 0 warnings." in capsys.readouterr().out
    frame = load_valid(DEMO, SETTINGS)
    lines = [x for x in DEMO.read_text().splitlines() if x and not x.startswith("#")]
    assert len(frame) == len(lines) - 1
    assert frame["case_id"].is_unique


def test_validate_an_edition_checks_its_data_and_last_years(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--edition", "2019-20"]) == 0
    out = capsys.readouterr().out
    assert "demo-2019-20.csv: CSV file" in out
    assert "previous edition 2018-19's data file:" in out and "demo-2018-19.csv" in out


def test_validate_needs_a_file_or_an_edition(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 2
    assert "give a data file, or --edition" in capsys.readouterr().err


def test_na_text_in_a_workbook_reads_as_in_a_csv(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = fx.good_rows()
    rows[0]["relationships_harm"] = "N/A"  # an answer in this column, as in a CSV
    rows[0]["gender"] = "NA"  # missing elsewhere
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    path = tmp_path / "na.xlsx"
    book.save(path)
    frame = load_valid(path, SETTINGS, models=False)
    assert frame.loc[0, "relationships_harm"] == schema.NOT_APPLICABLE
    assert pd.isna(frame.loc[0, "gender"])


@pytest.mark.parametrize(("cell", "kind", "text"), [
    ("Wal\x07es", "Control characters in cells", "control character (U+0007)"),
    ("#DIV/0!", "Spreadsheet errors", "Excel error value (#DIV/0!)"),
    (" null ", "Spreadsheet errors", "NULL is a database's empty marker"),
])
def test_cells_that_are_never_data(tmp_path: Path, cell: str, kind: str, text: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    rows = fx.good_rows()
    rows[6]["provider"] = cell  # a free-text column, where any other text is a name
    path = tmp_path / "cell.csv"
    path.write_text(rows_to_csv(rows))
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    [line] = problem_lines(out)
    assert kind in out
    assert "row 7 (line 8 of the file), column 'provider': " in line and text in line
    assert repr(cell) in line


def test_the_frame_does_not_depend_on_how_rows_are_chunked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import bulletin.load
    whole = load_valid(DEMO, SETTINGS)
    monkeypatch.setattr(bulletin.load, "_CHUNK", 7)  # many chunks, codes merged across them
    pd.testing.assert_frame_equal(load_valid(DEMO, SETTINGS), whole)


@pytest.mark.parametrize("ids", [
    ["C001", "c-2", "A.b_3", "X9"],  # every id plain: matched together
    ["C001", "NA", "C003"],  # a missing spelling among them
    ["C001", "null", "C003"],  # a database's empty marker
    ["C001", "C 2", " C003 ", "C\u00e92"],  # spaces and a letter outside ASCII
    ["C001", "C001\x07"],  # a control character
    ["C001", "#N/A"],  # an Excel error value
])
def test_ids_matched_together_read_as_one_by_one(ids: list[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The case ids (a distinct value a row) are matched in one pass when all are plain
    text; every id must come out as the value-by-value reading gives it."""
    import bulletin.validate as v
    from bulletin.load import read_table

    rows = fx.good_rows()
    for row, case_id in zip(rows, ids, strict=False):
        row["case_id"] = case_id
    path = tmp_path / "ids.csv"
    fx.write_csv(path, rows)
    table = read_table(path)
    col = next(c for c in schema.columns(default_settings()) if c.name == "case_id")
    j = table.header.index("case_id")
    together, faults = v._parse_column(table, j, col)
    assert v._all_plain(table.columns[j].values[:-1]) == (ids[1] == "c-2")
    monkeypatch.setattr(v, "_all_plain", lambda values: False)
    one_by_one, faults_one = v._parse_column(table, j, col)
    assert together.codes.tolist() == one_by_one.codes.tolist()
    assert together.values.tolist() == one_by_one.values.tolist()
    assert together.failed.tolist() == one_by_one.failed.tolist()
    assert [str(p) for p in faults] == [str(p) for p in faults_one]
