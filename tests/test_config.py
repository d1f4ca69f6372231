"""Edition files: every fault is reported with the file, the key and what was expected;
`new-edition` starts next year's file from the latest one and never overwrites."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest

from bulletin.cli import main
from bulletin.config import (
    BLANKED,
    EDITIONS_DIR,
    default_settings,
    edition_ids,
    id_problem,
    load_edition,
    load_previous,
    new_edition_command,
)
from bulletin.errors import BulletinError

GOOD = {
    "id": '"2019-20"',
    "number": '"2021/01"',
    "title": '"A title"',
    "authors": '["A. Author"]',
    "fieldwork_start": '"2019-06"',
    "fieldwork_end": '"2020-03"',
    "published": '"2021-02-01"',
    "data": '"cases.csv"',
    "previous": '"2018-19"',
}


def write_edition(folder: Path, name: str = "2019-20", extra: str = "", **changes: str | None
                  ) -> Path:
    """An edition file with `changes` applied (None drops the key)."""
    values = {**GOOD, **changes}
    body = "".join(f"{k} = {v}\n" for k, v in values.items() if v is not None)
    path = folder / f"{name}.toml"
    path.write_text(body + extra, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(BulletinError) as info:
        load_edition(path)
    assert str(path) in str(info.value)
    assert all(p.file == str(path) for p in info.value.problems)
    return [str(p) for p in info.value.problems]


def test_shipped_editions_load() -> None:
    first = load_edition("2018-19")
    second = load_edition("2019-20")
    assert (first.id, first.previous) == ("2018-19", None)
    assert (second.id, second.number, second.previous) == ("2019-20", "2021/01", "2018-19")
    assert second.data_file == (EDITIONS_DIR / ".." / "bulletin/demo/data/demo-2019-20.csv"
                                ).resolve()
    assert first.analysis == default_settings()


def test_a_good_file_loads_and_resolves_data_beside_it(tmp_path) -> None:
    ed = load_edition(write_edition(tmp_path))
    assert ed.data_file == tmp_path / "cases.csv"
    assert ed.authors == ("A. Author",)


@pytest.mark.parametrize(("changes", "expected"), [
    ({"number": None}, ["missing key 'number'", 'such as "2020/01"']),
    ({"number": '""'}, ["key 'number' is empty", 'such as "2020/01"']),
    ({"number": "2021"}, ["key 'number' has the wrong type", "(found '2021')"]),
    ({"number": '"2021-01"'}, ["key 'number' is not in the expected form", "2020/01"]),
    ({"id": '"2019/20"'}, ["key 'id' is not in the expected form", 'such as "2018-19"']),
    ({"id": '"2019-21"', "previous": None}, ["key 'id' does not name two consecutive years"]),
    ({"id": '"2020-21"', "previous": None}, ["key 'id' does not match the file name",
                                             'id = "2019-20"']),
    ({"fieldwork_start": '"2019-13"'}, ["key 'fieldwork_start' is not in the expected form",
                                        "YYYY-MM"]),
    ({"fieldwork_end": '"2019-01"'}, ["fieldwork_start is after fieldwork_end",
                                      "(found '2019-06 to 2019-01')"]),
    ({"published": '"2021-02-30"'}, ["key 'published' is not a date", "YYYY-MM-DD"]),
    ({"published": '"2021-2-1"'}, ["key 'published' is not a date"]),
    ({"authors": "[]"}, ["key 'authors' needs at least one name"]),
    ({"authors": '"A. Author"'}, ["key 'authors' has the wrong type", "a list of names"]),
    ({"previous": '"2019-20"'}, ["key 'previous' is not an earlier edition",
                                 "an edition before 2019-20"]),
    ({"previous": '"2016-17"'}, ["key 'previous' names an edition with no file",
                                 "editions/2016-17.toml"]),
    ({"previous": '"last year"'}, ["key 'previous' is not in the expected form"]),
])
def test_each_fault_names_key_and_expectation(tmp_path, changes, expected) -> None:
    found = problems(write_edition(tmp_path, **changes))
    assert len(found) == 1, found
    for text in expected:
        assert text in found[0]


def test_all_faults_are_reported_together(tmp_path) -> None:
    found = problems(write_edition(tmp_path, number='""', data='""', published=None,
                                   extra="[analysis]\npin = 0.2\n"))
    assert len(found) == 4
    assert any("'data' is empty" in p for p in found)
    assert any("missing key 'published'" in p for p in found)
    assert any("analysis.pin must be below analysis.pout" in p for p in found)


def test_misspelt_key_is_reported_and_other_extras_are_kept(tmp_path) -> None:
    found = problems(write_edition(tmp_path, extra='previus = "2018-19"\n'))
    assert found == [f"{tmp_path / '2019-20.toml'}: unknown key 'previus'; expected "
                     "'previous' (check the spelling)"]
    ed = load_edition(write_edition(tmp_path, extra='foreword = "Thanks to all."\n'))
    assert ed.extra == (("foreword", "Thanks to all."),)


@pytest.mark.parametrize(("analysis", "expected"), [
    ('[[analysis.questions]]\ntext = "No key"\n', "analysis.questions entry 1 has no 'key'"),
    ('[analysis.bands]\ncaseload_band = { source = "caseload", bands = [["1-20", "one", 20]] }\n',
     "analysis.bands.caseload_band: malformed band"),
    ('[analysis.bands]\nx = { bands = [["1-20", 1, 20], ["15-30", 15, 30]] }\n',
     "band '15-30' overlaps"),
    ('[analysis]\nremoval_test = "score"\n', "analysis.removal_test is not known"),
    ('[analysis]\nmin_count = 0\n', "key 'analysis.min_count' is too small"),
    ('[analysis]\npin = "0.05"\n', "key 'analysis.pin' has the wrong type"),
    ('[analysis]\ncandidates = ["caseload", 3]\n', "analysis.candidates' has an entry"),
    ('[analysis.groupings.rosh_level]\ngroups = [["Low", "Low"]]\n',
     "analysis.groupings.rosh_level is malformed"),
    ('analysis = "strict"\n', "key 'analysis' has the wrong type"),
])
def test_analysis_faults(tmp_path, analysis, expected) -> None:
    found = problems(write_edition(tmp_path, extra=analysis))
    assert any(expected in p for p in found), found


def test_whole_number_where_a_fraction_is_expected_is_range_checked(tmp_path) -> None:
    found = problems(write_edition(tmp_path, extra="[analysis]\npin = 0\n"))
    assert len(found) == 1 and "analysis.pin must be below analysis.pout" in found[0]
    ed = load_edition(write_edition(tmp_path, extra="[analysis]\npout = 0.5\n"))
    assert (ed.analysis.pin, ed.analysis.pout) == (0.05, 0.5)


def test_override_replaces_only_what_it_names(tmp_path) -> None:
    ed = load_edition(write_edition(tmp_path, extra="[analysis]\nmin_count = 10\n"))
    assert ed.analysis.min_count == 10
    assert ed.analysis.questions == default_settings().questions


def test_invalid_toml_names_the_line(tmp_path) -> None:
    path = tmp_path / "2019-20.toml"
    path.write_text('id = "2019-20"\nnumber = 2021/01\n', encoding="utf-8")
    with pytest.raises(BulletinError, match=r"not valid TOML.*line 2"):
        load_edition(path)


def test_cli_reports_edition_faults_with_exit_2(tmp_path, capsys) -> None:
    path = write_edition(tmp_path, fieldwork_start='"June 2019"')
    assert main(["validate", str(tmp_path / "cases.csv"), "--edition", str(path)]) == 2
    err = capsys.readouterr().err
    assert "fieldwork_start" in err and "YYYY-MM" in err and "Traceback" not in err


# -- new-edition --------------------------------------------------------------------

@pytest.mark.parametrize(("bad", "why"), [
    ("2020-22", "does not name two consecutive years"),
    ("2020/21", "is not in the expected form"),
    ("20-21", "is not in the expected form"),
    ("../2020-21", "is not in the expected form"),
])
def test_id_format(bad, why) -> None:
    assert id_problem(bad) == why
    with pytest.raises(BulletinError, match="expected an edition id"):
        new_edition_command(bad)


def test_ids_that_wrap_a_century() -> None:
    assert id_problem("2099-00") is None and id_problem("2019-20") is None


@pytest.fixture
def editions(tmp_path) -> Path:
    folder = tmp_path / "editions"
    folder.mkdir()
    for name in ("2018-19", "2019-20"):
        shutil.copy(EDITIONS_DIR / f"{name}.toml", folder / f"{name}.toml")
    return folder


def test_new_edition_starts_from_the_latest(editions, capsys) -> None:
    assert new_edition_command("2020-21", editions) == 0
    target = editions / "2020-21.toml"
    assert str(target) in capsys.readouterr().out
    text = target.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    last = tomllib.loads((editions / "2019-20.toml").read_text(encoding="utf-8"))
    assert raw["id"] == "2020-21" and raw["previous"] == "2019-20"
    for key, _ in BLANKED:
        assert raw[key] == ""
        line = next(ln for ln in text.splitlines() if ln.startswith(f"{key} ="))
        assert "# TODO" in line and last[key] in line  # shows last year's value
    for key in ("title", "series", "authors"):
        assert raw[key] == last[key]
    assert edition_ids(editions) == ["2018-19", "2019-20", "2020-21"]


def test_new_edition_refuses_to_load_until_filled_in(editions) -> None:
    new_edition_command("2020-21", editions)
    target = editions / "2020-21.toml"
    found = problems(target)
    assert sorted(p.split(": key '")[1].split("'")[0] for p in found) == sorted(
        k for k, _ in BLANKED)
    text = target.read_text(encoding="utf-8")
    for key, value in (("number", "2022/01"), ("fieldwork_start", "2020-06"),
                       ("fieldwork_end", "2021-03"), ("published", "2022-02-01"),
                       ("data", "cases-2020-21.csv")):
        text = text.replace(f'{key} = ""', f'{key} = "{value}"')
    target.write_text(text, encoding="utf-8")
    ed = load_edition(target)
    assert (ed.id, ed.previous, ed.number) == ("2020-21", "2019-20", "2022/01")


def test_new_edition_keeps_overrides_and_comments(tmp_path) -> None:
    base = write_edition(tmp_path, name="2018-19", id='"2018-19"', previous=None,
                         extra="# stricter disclosure this year\n[analysis]\nmin_count = 10\n")
    assert base.exists()
    new_edition_command("2019-20", tmp_path)
    text = (tmp_path / "2019-20.toml").read_text(encoding="utf-8")
    assert "# stricter disclosure this year" in text
    raw = tomllib.loads(text)
    assert raw["analysis"] == {"min_count": 10} and raw["previous"] == "2018-19"


def test_new_edition_picks_the_latest_earlier_edition(editions) -> None:
    new_edition_command("2022-23", editions)
    assert tomllib.loads((editions / "2022-23.toml").read_text())["previous"] == "2019-20"
    with pytest.raises(BulletinError, match="no edition before 2017-18"):
        new_edition_command("2017-18", editions)
    assert not (editions / "2017-18.toml").exists()


def test_new_edition_never_overwrites(editions, capsys) -> None:
    before = (editions / "2019-20.toml").read_bytes()
    with pytest.raises(BulletinError, match="already exists; refusing to overwrite"):
        new_edition_command("2019-20", editions)
    assert (editions / "2019-20.toml").read_bytes() == before


def test_cli_new_edition_errors_exit_2(capsys) -> None:
    before = (EDITIONS_DIR / "2018-19.toml").read_bytes()
    assert main(["new-edition", "2018-19"]) == 2
    assert main(["new-edition", "2018-20"]) == 2
    err = capsys.readouterr().err
    assert "refusing to overwrite" in err and "two consecutive years" in err
    assert "Traceback" not in err
    assert (EDITIONS_DIR / "2018-19.toml").read_bytes() == before
    assert not (EDITIONS_DIR / "2018-20.toml").exists()


def test_previous_is_found_beside_the_edition_first(tmp_path) -> None:
    ed = load_edition(write_edition(tmp_path))
    assert load_previous(ed).source_file == EDITIONS_DIR / "2018-19.toml"
    write_edition(tmp_path, name="2018-19", id='"2018-19"', previous=None,
                  number='"2020/01"')
    prev = load_previous(load_edition(tmp_path / "2019-20.toml"))
    assert prev.source_file == tmp_path / "2018-19.toml"
    assert load_previous(prev) is None


def test_caseload_threshold_is_a_setting(tmp_path) -> None:
    assert load_edition(write_edition(tmp_path)).analysis.caseload_threshold == 50
    ed = load_edition(write_edition(tmp_path, extra="[analysis]\ncaseload_threshold = 40\n"))
    assert ed.analysis.caseload_threshold == 40
    found = problems(write_edition(tmp_path, extra="[analysis]\ncaseload_threshold = 0\n"))
    assert any("caseload_threshold" in f for f in found)


def test_unknown_analysis_key_is_an_error_with_a_suggestion(tmp_path) -> None:
    found = problems(write_edition(tmp_path, extra="[analysis]\nmin_cout = 10\nbogus = 1\n"))
    assert any("unknown key 'analysis.min_cout'" in f and "'analysis.min_count'" in f
               for f in found)
    assert any("unknown key 'analysis.bogus'" in f for f in found)


def test_edition_file_not_in_utf8_is_reported(tmp_path) -> None:
    path = tmp_path / "2019-20.toml"
    path.write_bytes(b"\xff\xfe\x00id = 1\n")
    with pytest.raises(BulletinError, match="not a UTF-8 text file"):
        load_edition(path)
