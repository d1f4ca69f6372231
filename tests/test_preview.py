"""`bulletin preview`, run as an editor runs it: the page follows each save within a
second, a broken template shows where it is broken, and Ctrl-C stops it cleanly.

The preview works on a copy of the templates (`--templates`), never on the project's."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bulletin.config import PROJECT_DIR
from bulletin.faults import Fault, TemplateFaults
from bulletin.preview import error_page
from bulletin.render import TEMPLATES_DIR

SKILLS = "sections/07-skills.md.j2"
OLD = "told us they had the skills, ability and knowledge"
NEW = "told us that they had the skills, ability and knowledge"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _start(templates: Path, port: int) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")]))
    return subprocess.Popen([sys.executable, "-m", "bulletin", "preview", "--no-open",
                             "--port", str(port), "--templates", str(templates)],
                            cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _until(test: Callable[[], bool], seconds: float) -> float | None:
    """Seconds until `test()` held (polling), or None if it never did."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        try:
            if test():
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.02)
    return None


@pytest.fixture()
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    port = _free_port()
    proc = _start(templates, port)
    url = f"http://127.0.0.1:{port}"
    try:
        up = _until(lambda: _get(url + "/status", 2)[0] == 200, 300)
        assert up is not None, proc.stderr.read() if proc.poll() is not None else "no answer"
        yield proc, url, templates
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _page(url: str) -> str:
    return _get(url + "/")[1].decode("utf-8")


@pytest.mark.slow
def test_preview_follows_saves_and_shows_faults(running, tmp_path: Path) -> None:
    proc, url, templates = running
    build_out = PROJECT_DIR / "build" / "2018-19"
    before = sorted(build_out.rglob("*")) if build_out.exists() else None
    page = _page(url)
    assert OLD in page and "Practitioner skills" in page and "EventSource" in page

    # a changed sentence is served within a second
    skills = templates / SKILLS
    text = skills.read_text(encoding="utf-8")
    skills.write_text(text.replace(OLD, NEW), encoding="utf-8")
    took = _until(lambda: NEW in _page(url), 10)
    assert took is not None, "the new sentence never appeared"
    print(f"preview: the new sentence was served {took:.2f} s after the save")
    assert took < 1.0, f"the new sentence took {took:.2f} s to appear"

    # a broken template: an error page naming the file and line, not a stale bulletin
    line = text[: text.index("{{ skills | pct }}")].count("\n") + 1
    skills.write_text(text.replace(NEW, OLD).replace("{{ skills | pct }})", "{{ skills | pct )"),
                      encoding="utf-8")
    assert _until(lambda: "07-skills.md.j2, line" in _page(url), 10) is not None
    broken = _page(url)
    assert f"07-skills.md.j2, line {line}" in broken
    assert "is not closed" in broken and "^^" in broken and OLD not in broken
    assert b'"ok": false' in _get(url + "/status")[1]

    # fixed: the bulletin is back
    skills.write_text(text, encoding="utf-8")
    assert _until(lambda: OLD in _page(url), 10) is not None

    # the PDF, made on request
    status, pdf = _get(url + "/bulletin.pdf", timeout=300)
    assert status == 200 and pdf.startswith(b"%PDF")

    # Ctrl-C
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), err
    assert "Traceback" not in err
    after = sorted(build_out.rglob("*")) if build_out.exists() else None
    assert after == before, "the preview wrote into build/<edition>"


def test_a_busy_port_is_a_plain_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = _start(TEMPLATES_DIR, port)
        _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in err and "Traceback" not in err


def test_the_error_page_shows_file_line_marker_and_suggestion() -> None:
    fault = Fault("templates/sections/07-skills.md.j2", 11, "unknown filter 'percent'",
                  "Did you mean 'pct'?", "({{ skills | percent }}) told us", 13, 7)
    page = error_page(TemplateFaults([fault]))
    assert "templates/sections/07-skills.md.j2, line 11" in page
    assert "unknown filter &#x27;percent&#x27;" in page
    assert "({{ skills | percent }}) told us" in page
    assert " " * 13 + "^" * 7 in page
    assert "Did you mean &#x27;pct&#x27;?" in page


def test_each_change_redoes_only_what_it_needs(tmp_path: Path) -> None:
    """A template save re-renders; a data file save re-analyses; other files do nothing."""
    from bulletin.config import DEFAULTS_FILE, EDITIONS_DIR, load_edition
    from bulletin.preview import Preview, _Analysis

    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    data = tmp_path / "data" / "cases.csv"
    data.parent.mkdir()
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    (data.parent / "notes.txt").write_text("x", encoding="utf-8")
    preview = Preview(None, None, templates, log=lambda text: None)
    preview.analysis = _Analysis(load_edition("2018-19"), None, None, (), (data.resolve(),))
    assert preview.kind_of(templates / SKILLS) == "render"
    assert preview.kind_of(templates / "print.css") == "render"
    assert preview.kind_of(EDITIONS_DIR / "2018-19.toml") == "analyse"
    assert preview.kind_of(DEFAULTS_FILE) == "analyse"
    assert preview.kind_of(data) == "analyse"
    assert preview.kind_of(data.parent / "notes.txt") is None
    assert preview.kind_of(templates / "sections" / ".07-skills.md.j2.swp") is None

    calls: list[str] = []
    preview.render = lambda: calls.append("render")  # type: ignore[method-assign]
    preview.analyse = lambda: calls.append("analyse")  # type: ignore[method-assign]
    import threading

    stop = threading.Event()
    watcher = threading.Thread(target=preview.watch, args=(stop,), daemon=True)
    watcher.start()
    try:
        time.sleep(0.5)
        (data.parent / "notes.txt").write_text("changed", encoding="utf-8")
        time.sleep(0.6)
        assert calls == []
        skills = templates / SKILLS
        skills.write_text(skills.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        assert _until(lambda: calls == ["render"], 10) is not None, calls
        data.write_text("a,b\n1,3\n", encoding="utf-8")
        assert _until(lambda: calls == ["render", "analyse"], 10) is not None, calls
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert not watcher.is_alive()
