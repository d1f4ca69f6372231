"""`check`: the editor's ordinary slips stop the build (exit 2) at file and line, with the
line shown, a marker, and a suggestion, before any analysis runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bulletin.check import check_templates
from bulletin.config import PROJECT_DIR, load_edition
from bulletin.faults import Fault, TemplateFaults
from bulletin.render import TEMPLATES_DIR

EDITION = load_edition("2018-19")
WORKLOAD = "sections/06-workload.md.j2"


@pytest.fixture()
def tdir(tmp_path: Path) -> Path:
    """A copy of the project's templates, for a test to damage."""
    d = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, d)
    return d


def _edit(tdir: Path, name: str, old: str, new: str) -> int:
    """Replaces the first `old` in the template; returns the line it is on."""
    path = tdir / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def _faults(tdir: Path) -> list[Fault]:
    return check_templates(tdir, EDITION)


def _one(tdir: Path) -> Fault:
    faults = _faults(tdir)
    assert len(faults) == 1, [str(f) for f in faults]
    return faults[0]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "bulletin", *args], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_project_templates_pass() -> None:
    assert _faults(TEMPLATES_DIR) == []


# -- each silent fault of old, now loud --------------------------------------------------

def test_a_typed_in_number(tdir: Path) -> None:
    line = _edit(tdir, WORKLOAD, "Standard 1.2 asks whether",
                 "About 40 per cent of staff said so. Standard 1.2 asks whether")
    f = _one(tdir)
    assert (f.file.endswith("06-workload.md.j2"), f.line) == (True, line)
    assert "the number '40' is typed into the text" in f.message
    shown, marker = f.excerpt()
    assert shown[marker.index("^"):].startswith("40 per cent")


def test_a_misspelt_name_in_in_model(tdir: Path) -> None:
    line = _edit(tdir, WORKLOAD, 'in_model("supports_desistance", "workload_manageable")',
                 'in_model("supports_desistance", "workload_managable")')
    f = _one(tdir)
    assert f.line == line and "unknown model variable 'workload_managable'" in f.message
    assert "'workload_manageable'" in f.suggestion


@pytest.mark.parametrize(("old", "new", "message", "hint"), [
    ('b1("skills_knowledge", "sentence_implemented")',
     'b1("skill_knowledge", "sentence_implemented")',
     "unknown interview question 'skill_knowledge'", "'skills_knowledge'"),
    ('b1("skills_knowledge", "sentence_implemented")',
     'b1("skills_knowledge", "sentence_implement")',
     "unknown judgement 'sentence_implement'", "'sentence_implemented'"),
    ('fact("table1.skills_knowledge.pct_yes")', 'fact("table1.skills_knowlege.pct_yes")',
     "unknown interview question 'skills_knowlege'", "'skills_knowledge'"),
    ("{{ ss.yes | pct }}", "{{ ss.yse | pct }}", "has no part 'yse'", "'yes'"),
    ('quotes("skills")', 'quotes("skils")', "unknown quotes section", "'skills'"),
    ('cite("bonta2017")', 'cite("bonta2071")', "unknown reference", "'bonta2017'"),
    ("{{ skills | pct }}", "{{ skills | percent }}", "unknown filter 'percent'", "'pct'"),
    ("{{ skills | pct }}", "{{ skils | pct }}", "'skils' is not defined", "'skills'"),
])
def test_unknown_names_get_a_suggestion(tdir: Path, old: str, new: str, message: str,
                                        hint: str) -> None:
    line = _edit(tdir, "sections/07-skills.md.j2", old, new)
    f = _one(tdir)
    assert f.file.endswith("07-skills.md.j2") and f.line == line
    assert message in f.message and hint in f.suggestion, str(f)
    assert f.column is not None and f.text[f.column:f.column + f.width] in new, str(f)


def test_a_deleted_section(tdir: Path) -> None:
    (tdir / "sections" / "08-learning.md.j2").unlink()
    f = _one(tdir)
    assert f.file.endswith("outline.toml") and f.line is not None
    assert "'08-learning.md.j2' is listed but there is no such file" in f.message
    assert '"08-learning.md.j2"' in f.text


def test_a_copied_section(tdir: Path) -> None:
    shutil.copy(tdir / WORKLOAD, tdir / "sections" / "06-workload copy.md.j2")
    f = _one(tdir)
    assert f.file.endswith("06-workload copy.md.j2")
    assert "is not in the outline" in f.message and "copy" in f.suggestion


def test_a_listed_file_with_a_misspelt_name_points_at_the_real_one(tdir: Path) -> None:
    (tdir / "sections" / "07-skills.md.j2").rename(tdir / "sections" / "07-skill.md.j2")
    messages = [f.message + " " + f.suggestion for f in _faults(tdir)]
    assert any("'07-skills.md.j2' is listed" in m and "'07-skill.md.j2'" in m
               for m in messages), messages


# -- Jinja's syntax, in plain English ----------------------------------------------------

@pytest.mark.parametrize(("old", "new", "message", "marked"), [
    ("{{ skills | pct }})", "{{ skills | pct ) told us", "'{{' is not closed", "{{"),
    ("{% endif %}", "", "is never closed", "{%"),
    ("{% endif %}", "{% endif %}{% endif %}", "{% endif %} has no {% if %} open", "endif"),
    ("{% elif", "{% endfor %}{% elif", "{% endfor %} does not close the '{% if %}'", "endfor"),
    ("{{ figure(4) }}", "{{ figure(4) }} }}", "a stray '}}'", "}}"),
    ("{{ figure(4) }}", '{% include "figure4.html.j2" %}', "'figure4.html.j2' is not a file",
     "figure4.html.j2"),
    ("{{ figure(4) }}", "{% iff x %}", "unknown tag {% iff %}", "iff"),
])
def test_syntax_faults_are_explained(tdir: Path, old: str, new: str, message: str,
                                     marked: str) -> None:
    _edit(tdir, "sections/07-skills.md.j2", old, new)
    f = _one(tdir)
    assert f.file.endswith("07-skills.md.j2") and f.line, str(f)
    assert message in f.message, str(f)
    assert f.column is not None and f.text[f.column:].startswith(marked), str(f)
    assert "expected token" not in str(f) and "Encountered" not in str(f)


def test_report_shows_the_line_and_a_marker(tdir: Path) -> None:
    _edit(tdir, "sections/07-skills.md.j2", "{{ skills | pct }}", "{{ skills | percent }}")
    report = TemplateFaults(_faults(tdir)).report()
    lines = report.splitlines()
    assert lines[0].startswith("templates/") or "07-skills.md.j2, line " in lines[0]
    assert "| " in lines[1] and "percent" in lines[1]
    col = lines[1].index("percent")
    assert lines[2][col:col + 7] == "^" * 7
    assert "Did you mean 'pct'" in report


# -- the commands ------------------------------------------------------------------------

def test_check_and_build_exit_2_naming_file_and_line(tdir: Path, tmp_path: Path) -> None:
    line = _edit(tdir, WORKLOAD, "Standard 1.2 asks whether",
                 "About 40 per cent of staff said so. Standard 1.2 asks whether")
    check = _cli("check", "--templates", str(tdir))
    assert check.returncode == 2 and "Traceback" not in check.stderr
    assert f"06-workload.md.j2, line {line}: the number '40'" in check.stderr
    build = _cli("build", "--templates", str(tdir), "--formats", "html",
                 "--out", str(tmp_path / "out"))
    assert build.returncode == 2 and "Traceback" not in build.stderr
    assert f"06-workload.md.j2, line {line}: the number '40'" in build.stderr
    assert "analyse" not in build.stderr  # stopped before any analysis
    assert not (tmp_path / "out").exists()


def test_check_passes_on_the_project() -> None:
    run = _cli("check", "--edition", "2019-20")
    assert run.returncode == 0, run.stderr
    assert "no problems" in run.stderr


def test_with_the_facts_at_hand_every_key_is_checked(tdir: Path) -> None:
    from test_tables import hand_registry

    reg = hand_registry()
    _edit(tdir, WORKLOAD, 'fact("fact.caseload_over_50.crc.pct")',
          'fact("fact.caseload_over_50.crc.pcnt")')
    faults = check_templates(tdir, EDITION, reg)
    wrong = [f for f in faults if "crc.pcnt" in f.message]
    assert [f.message for f in wrong] == [
        "unknown fact key 'fact.caseload_over_50.crc.pcnt'"], [str(f) for f in faults]
    assert "'fact.caseload_over_50.crc.pct'" in wrong[0].suggestion
    # a key the template tests with has(...) first may be missing in some years
    _edit(tdir, WORKLOAD, "{{ figure(2) }}",
          '{{ figure(2) }}{% if has("fact.not_every_year") %}{{ fact("fact.not_every_year") }}'
          "{% endif %}")
    again = check_templates(tdir, EDITION, reg)
    assert not [f for f in again if "not_every_year" in f.message]
    assert len(again) == len(faults)
