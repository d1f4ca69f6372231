"""`bulletin preview`: the bulletin in a browser, updated on every save.

A small web server on 127.0.0.1 serves the HTML edition at ``/`` and the PDF at
``/bulletin.pdf``, and watches the files the bulletin is made from. It redoes only what a
change needs:

- a template, stylesheet or artwork (``templates/``, ``figures/``): check and render
  again, a fraction of a second (compiled templates are kept; only the saved file is
  compiled again);
- an edition file, ``bulletin/defaults.toml`` or a data file: load and analyse again
  (through the analysis cache, so going back to earlier inputs is quick), then render.

The open page reloads itself when the bulletin changes (server-sent events on
``/events``). A fault shows an error page instead of a stale bulletin: file, line, the
line with a marker, what is wrong and what to do; the next good save brings the bulletin
back. The PDF is made when ``/bulletin.pdf`` is asked for, for the bulletin as it is
then, so it never holds up the HTML. Nothing is written into ``build/<edition>``: the
preview keeps what it serves in memory (the analysis cache in ``build/.cache`` is shared
with `build`). Ctrl-C stops it.
"""

from __future__ import annotations

import errno
import html
import json
import sys
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bulletin.cache import AnalysisCache
from bulletin.config import DEFAULT_EDITION, DEFAULTS_FILE, EDITIONS_DIR, Edition, load_edition
from bulletin.errors import BulletinError
from bulletin.faults import Fault, TemplateFaults

HOST = "127.0.0.1"
_RELOAD = """<script>
(function () {{
  var shown = "{version}";
  var events = new EventSource("/events");
  events.onmessage = function (e) {{ if (e.data !== shown) {{ location.reload(); }} }};
}})();
</script>
"""


@dataclass(frozen=True)
class _Analysis:
    edition: Edition
    registry: Any
    previous: Any
    figures: tuple[Any, ...]
    data_files: tuple[Path, ...]


class Preview:
    """What the preview serves, and how it is brought up to date."""

    def __init__(self, edition_arg: str | None, data: Path | None,
                 templates_dir: Path | None = None, use_cache: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        from bulletin.render import FIGURES_DIR, TEMPLATES_DIR

        self.edition_arg = edition_arg or DEFAULT_EDITION
        self.data = data.resolve() if data else None
        self.templates = Path(templates_dir or TEMPLATES_DIR).resolve()
        self.figures_dir = FIGURES_DIR
        self.cache = AnalysisCache(enabled=use_cache, log=lambda text: None)
        self.log = log or (lambda text: print(text, file=sys.stderr, flush=True))
        self.changed = threading.Condition()
        self.version = 0
        self.page = b""
        self.document: Any = None
        self.analysis: _Analysis | None = None
        self.problem: BulletinError | None = None
        self._memo: dict[Any, list[Fault]] = {}
        self._pdf_lock = threading.Lock()
        self._pdf: tuple[int, bytes] | None = None

    # -- bringing it up to date ------------------------------------------------------

    def analyse(self) -> None:
        """Load and analyse (or take from the cache), then render."""
        from bulletin.build import figures_of, gather, previous_registry
        from bulletin.config import load_previous

        start = time.perf_counter()
        self.cache.forget_keys()
        self._memo.clear()
        try:
            edition = load_edition(self.edition_arg)
            registry = gather(edition, self.data, quiet=True, cache=self.cache)
            previous = previous_registry(edition, self.cache)
            figures = figures_of(registry, edition, self.data, self.cache)
            files = [self.data or edition.data_file]
            last = load_previous(edition)
            if last is not None:
                files.append(last.data_file)
            self.analysis = _Analysis(edition, registry, previous, figures,
                                      tuple(Path(f).resolve() for f in files))
            self.log(f"analysed edition {edition.id} in {time.perf_counter() - start:.1f} s")
        except BulletinError as exc:
            self.analysis = None
            self._publish(None, exc)
            return
        self.render()

    def render(self) -> None:
        """Check and render the templates against the current analysis."""
        from bulletin.check import check_templates
        from bulletin.render import render_bulletin

        if self.analysis is None:
            self.analyse()
            return
        a = self.analysis
        start = time.perf_counter()
        try:
            faults = check_templates(self.templates, a.edition, a.registry, memo=self._memo)
            if faults:
                raise TemplateFaults(faults)
            document = render_bulletin(a.registry, a.figures, a.edition, a.previous,
                                       templates_dir=self.templates,
                                       figures_dir=self.figures_dir)
        except BulletinError as exc:
            self._publish(None, exc)
            self.log(f"problem: {exc}")
            return
        self._publish(document, None)
        self.log(f"rendered in {time.perf_counter() - start:.2f} s")

    def _publish(self, document: Any, problem: BulletinError | None) -> None:
        with self.changed:
            self.version += 1
            self.document = document
            self.problem = problem
            body = document.html_web if document is not None else error_page(problem)
            script = _RELOAD.format(version=self.version)
            at = body.rfind("</body>")
            body = body[:at] + script + body[at:] if at >= 0 else body + script
            self.page = body.encode("utf-8")
            self.changed.notify_all()

    def pdf(self) -> bytes | None:
        """The PDF of the bulletin as it is now (made once per version, on request)."""
        from bulletin.config import PROJECT_DIR
        from bulletin.publish import render_pdf

        with self._pdf_lock:
            with self.changed:
                version, document = self.version, self.document
            if document is None:
                return None
            if self._pdf is not None and self._pdf[0] == version:
                return self._pdf[1]
            start = time.perf_counter()
            data = render_pdf(document.html_print, self.templates, document.published,
                              roots=(self.templates, self.figures_dir, PROJECT_DIR / "build"),
                              layout_cache=self.cache.folder / "layout"
                              if self.cache.enabled else None)
            self._pdf = (version, data)
            self.log(f"PDF made in {time.perf_counter() - start:.1f} s")
            return data

    # -- watching ----------------------------------------------------------------------

    def watched(self) -> list[Path]:
        """Folders to watch (a data file's folder, since editors save by renaming)."""
        folders = [self.templates, self.figures_dir, EDITIONS_DIR, DEFAULTS_FILE.parent]
        if self.analysis is not None:
            folders += [f.parent for f in self.analysis.data_files]
        elif self.data is not None:
            folders.append(self.data.parent)
        return [f for f in dict.fromkeys(p.resolve() for p in folders) if f.is_dir()]

    def kind_of(self, path: Path) -> str | None:
        """'render', 'analyse' or None (a change the bulletin does not depend on)."""
        path = path.resolve()
        if path.name.startswith(".") or path.name.endswith(("~", ".swp", ".tmp")):
            return None
        if path.is_relative_to(self.templates) or path.is_relative_to(self.figures_dir):
            return "render"
        if path == DEFAULTS_FILE or (path.parent == EDITIONS_DIR and path.suffix == ".toml"):
            return "analyse"
        data_files = self.analysis.data_files if self.analysis else ()
        if path in data_files or path == self.data:
            return "analyse"
        return None

    def snapshot(self) -> dict[Path, tuple[int, int]]:
        """(modified time, size) of every file in the watched folders that matters."""
        out: dict[Path, tuple[int, int]] = {}
        for folder in self.watched():
            for path in folder.rglob("*") if folder in (self.templates, self.figures_dir) \
                    else folder.iterdir():
                if self.kind_of(path) is None:
                    continue
                try:
                    st = path.stat()
                except OSError:
                    continue
                if not path.is_dir():
                    out[path.resolve()] = (st.st_mtime_ns, st.st_size)
        return out

    def watch(self, stop: threading.Event,
              seen: dict[Path, tuple[int, int]] | None = None) -> None:
        """Redo what each change needs, until `stop` is set.

        The file-system events only wake the loop: what changed is found by comparing
        each file's time and size with the last look, also on a short timeout, so that
        a save made while the watcher was starting, or an event the system dropped, is
        never missed."""
        import watchfiles

        if seen is None:
            seen = self.snapshot()
        while not stop.is_set():
            folders = self.watched()
            for _changes in watchfiles.watch(*folders, stop_event=stop, debounce=400,
                                             step=20, rust_timeout=250,
                                             yield_on_timeout=True, raise_interrupt=False):
                now = self.snapshot()
                changed = {p for p in now.keys() | seen.keys() if now.get(p) != seen.get(p)}
                seen = now
                kinds = {self.kind_of(p) for p in changed}
                if "analyse" in kinds:
                    self.log("inputs changed: analysing")
                    self.analyse()
                    if self.watched() != folders:
                        seen = self.snapshot()
                        break  # another data file: watch its folder
                elif "render" in kinds:
                    self.render()


def error_page(problem: BulletinError | None) -> str:
    """The page shown instead of the bulletin while something is wrong."""
    faults = problem.faults if isinstance(problem, TemplateFaults) else ()
    items = []
    for f in faults:
        shown, marker = f.excerpt()
        code = ""
        if f.text.strip():
            number = str(f.line or "")
            code = (f'<pre class="line"><span class="n">{number}</span> | '
                    f"{html.escape(shown)}\n<span class=\"n\">{' ' * len(number)}</span> | "
                    f'<span class="marker">{html.escape(marker)}</span></pre>')
        hint = f'<p class="hint">{html.escape(f.suggestion)}</p>' if f.suggestion else ""
        items.append(f'<li><p class="where">{html.escape(f.where)}</p>'
                     f'<p class="what">{html.escape(f.message)}</p>{code}{hint}</li>')
    if not items:
        text = problem.report() if problem is not None else "unknown problem"
        items.append(f'<li><pre class="report">{html.escape(text)}</pre></li>')
    count = len(faults) or 1
    title = "a problem" if count == 1 else f"{count} problems"
    return f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Preview: {title} to fix</title>
<style>
body {{ font-family: sans-serif; margin: 2em auto; max-width: 60em; color: #0b0c0c; }}
h1 {{ font-size: 1.5em; border-bottom: 4px solid #d4351c; padding-bottom: .3em; }}
li {{ margin-bottom: 1.5em; }}
.where {{ font-weight: bold; margin: 0; }}
.what {{ font-size: 1.2em; margin: .2em 0; }}
pre {{ background: #f3f2f1; padding: .6em; overflow-x: auto; }}
.marker {{ color: #d4351c; font-weight: bold; }}
.n {{ color: #505a5f; }}
.hint {{ border-left: 4px solid #1d70b8; padding-left: .6em; }}
</style>
</head>
<body>
<main>
<h1>The bulletin has {title} to fix</h1>
<p>The preview comes back by itself when the file is saved again without the problem.</p>
<ol>
{"".join(items)}
</ol>
</main>
</body>
</html>
"""


# -- the server --------------------------------------------------------------------------

def _handler(preview: Preview, stop: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # a line per request would drown the preview's own messages

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            if path in ("/", "/index.html", "/bulletin.html"):
                with preview.changed:
                    page = preview.page
                self._send(200, page, "text/html; charset=utf-8")
            elif path == "/bulletin.pdf":
                self._pdf()
            elif path == "/events":
                self._events()
            elif path == "/status":
                with preview.changed:
                    status = {"version": preview.version, "ok": preview.problem is None}
                self._send(200, json.dumps(status).encode(), "application/json")
            elif path.startswith("/tables/") and path.endswith(".csv"):
                self._table(path)
            else:
                self._send(404, b"not found", "text/plain; charset=utf-8")

        def _pdf(self) -> None:
            try:
                data = preview.pdf()
            except BulletinError as exc:
                self._send(500, error_page(exc).encode(), "text/html; charset=utf-8")
                return
            if data is None:
                with preview.changed:
                    page = error_page(preview.problem).encode()
                self._send(503, page, "text/html; charset=utf-8")
            else:
                self._send(200, data, "application/pdf")

        def _table(self, path: str) -> None:
            document = preview.document
            tables = {t.csv_path: t for t in (document.tables if document else ())}
            table = tables.get(path.lstrip("/"))
            if table is None:
                self._send(404, b"not found", "text/plain; charset=utf-8")
            else:
                self._send(200, table.to_csv().encode(), "text/csv; charset=utf-8")

        def _events(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.close_connection = True
            sent = -1
            try:
                while not stop.is_set():
                    with preview.changed:
                        if preview.version == sent:
                            preview.changed.wait(timeout=10)
                        version = preview.version
                    if version != sent:
                        self.wfile.write(f"data: {version}\n\n".encode())
                        sent = version
                    else:
                        self.wfile.write(b": still here\n\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, OSError):
                return

    return Handler


def serve(preview: Preview, port: int) -> ThreadingHTTPServer:
    """The server, bound (a busy port is a plain error, exit code 2)."""
    stop = threading.Event()
    try:
        server = ThreadingHTTPServer((HOST, port), _handler(preview, stop))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            reason = "is in use (another preview?)" if exc.errno == errno.EADDRINUSE else \
                "is not open to this user"
            raise BulletinError(f"port {port} on {HOST} {reason}: choose another with "
                                f"--port, e.g. --port {port + 1}") from None
        raise BulletinError(f"cannot serve on {HOST}:{port}: {exc.strerror}") from None
    server.daemon_threads = True
    server.stop_event = stop  # type: ignore[attr-defined]
    return server


def preview_command(edition_arg: str | None, data: Path | None, port: int,
                    open_browser: bool = True, use_cache: bool = True,
                    templates_dir: Path | None = None) -> int:
    from bulletin.check import run_check

    if templates_dir is not None and not Path(templates_dir).is_dir():
        raise BulletinError(f"{templates_dir}: no such templates folder")
    preview = Preview(edition_arg, data, templates_dir, use_cache)
    server = serve(preview, port)  # first, so that a busy port is said at once
    stop: threading.Event = server.stop_event  # type: ignore[attr-defined]
    url = f"http://{HOST}:{port}/"
    try:
        edition = load_edition(preview.edition_arg)
        try:
            run_check(edition, preview.templates)  # template faults before the analysis
        except TemplateFaults as exc:
            preview.log(exc.report())
        seen = preview.snapshot()  # before the first render: a save during it is seen
        preview.analyse()
        for path, stat in preview.snapshot().items():  # the data folders, now known
            seen.setdefault(path, stat)
        watcher = threading.Thread(target=preview.watch, args=(stop, seen), name="watch",
                                   daemon=True)
        watcher.start()
        preview.log(f"preview of edition {edition.id} at {url} (the PDF at "
                    f"{url}bulletin.pdf); watching for changes; Ctrl-C stops it")
        if open_browser:
            webbrowser.open(url)
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        preview.log("preview stopped")
    finally:
        stop.set()
        with preview.changed:
            preview.changed.notify_all()
        server.server_close()
    return 0
