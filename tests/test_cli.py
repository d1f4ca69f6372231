"""The command line teaches: every command has a description, an example and described
options, and a Python without the dependencies gets one line of advice, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bulletin.cli import _parser
from bulletin.config import PROJECT_DIR

COMMANDS = ("build", "analyse", "validate", "check", "preview", "demo-data", "diff",
            "history", "new-edition")


def _subparsers():
    p = _parser()
    action = next(a for a in p._actions if a.dest == "command")
    return action.choices


def test_every_command_is_listed() -> None:
    assert set(_subparsers()) >= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_description_example_and_described_options(name: str) -> None:
    sub = _subparsers()[name]
    assert sub.description and len(sub.description) > 60, name
    assert sub.epilog.startswith("examples:") and f"bulletin {name}" in sub.epilog
    for action in sub._actions:
        if action.dest == "help":
            continue
        assert action.help and len(action.help) > 10, f"{name}: {action.dest} undescribed"


def test_help_shows_defaults_worth_showing() -> None:
    text = _subparsers()["build"].format_help()
    assert "(default: pdf,html,csv,numbers)" in text
    assert "(default: None)" not in text and "(default: False)" not in text


def test_help_runs_as_the_program_named_bulletin() -> None:
    run = subprocess.run([sys.executable, "-m", "bulletin", "diff", "--help"],
                         cwd=PROJECT_DIR, capture_output=True, text=True)
    assert run.returncode == 0
    assert run.stdout.startswith("usage: bulletin diff")
    assert "build folder" in run.stdout  # diff's sides may be build folders


def test_missing_dependency_is_one_line_of_advice(tmp_path: Path) -> None:
    """As when the module is run with a Python outside .venv."""
    code = ("import sys; sys.modules['pandas'] = None\n"
            "from bulletin.cli import main\n"
            f"sys.exit(main(['validate', {str(tmp_path / 'x.csv')!r}]))")
    run = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR,
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "'pandas' is not installed" in lines[0]
    assert "scripts/setup" in lines[0]


def test_console_script_is_installed() -> None:
    """`.venv/bin/bulletin` is what the README and every message tell users to run."""
    script = Path(sys.executable).parent / "bulletin"
    assert script.is_file(), f"{script} missing: pyproject's [project.scripts] not installed"
    run = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("usage: bulletin")


def test_messages_use_one_spelling_of_commands() -> None:
    """No message or doc tells users to run `python -m bulletin`."""
    offenders = []
    for path in [*PROJECT_DIR.glob("bulletin/**/*.py"), *PROJECT_DIR.glob("docs/*.md"),
                 PROJECT_DIR / "README.md"]:
        text = path.read_text(encoding="utf-8")
        if "python -m bulletin" in text:
            offenders.append(str(path.relative_to(PROJECT_DIR)))
    assert not offenders, offenders
