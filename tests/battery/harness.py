"""What every battery case needs: running the real command line in a fresh process, and
the checks each fault case makes (exit code, no traceback, the place named, the previous
output byte-identical, nothing leaked, no leftovers)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import bulletin

PROJECT = Path(bulletin.__file__).resolve().parent.parent
# Text that must never reach an output or a message: it lives only outside the project.
CANARY = "CANARY-OUTSIDE-7731-do-not-publish"
_COPIED = ("bulletin", "templates", "figures", "editions", "pyproject.toml")


def env_for(project: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BULLETIN_") and k != "SOURCE_DATE_EPOCH"}
    env["PYTHONPATH"] = str(project)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(extra)
    return env


def run(*args: str, project: Path = PROJECT, timeout: float = 600,
        **extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m bulletin ARGS` in a fresh process, from `project`."""
    return subprocess.run([sys.executable, "-m", "bulletin", *args], cwd=project,
                          env=env_for(project, **extra), capture_output=True, text=True,
                          timeout=timeout)


def start(*args: str, project: Path = PROJECT, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bulletin", *args], cwd=project,
                            env=env_for(project, **extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def copy_project(dest: Path) -> Path:
    """A copy of the program, templates and editions, so that a case may break its
    templates without touching the real ones (PROJECT_DIR follows the package)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in _COPIED:
        src = PROJECT / name
        if src.is_dir():
            shutil.copytree(src, dest / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def leftovers(parent: Path) -> list[str]:
    """Staging and set-aside folders a run left beside its output."""
    return sorted(p.name for p in Path(parent).iterdir()
                  if p.name.startswith(".") and (".new-" in p.name or ".old-" in p.name))


def failed_cleanly(proc: subprocess.CompletedProcess[str], *named: str,
                   code: int = 2) -> None:
    """Exit `code`, no traceback, and every string in `named` in the message."""
    message = proc.stderr
    assert proc.returncode == code, (proc.returncode, message[-2000:])
    assert "Traceback" not in message, message[-3000:]
    for text in named:
        assert text in message, (text, message[-2000:])
    assert CANARY not in message + proc.stdout


def nothing_leaked(folder: Path) -> None:
    for name, data in snapshot(folder).items():
        assert CANARY.encode() not in data, name
