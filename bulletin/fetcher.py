"""What a PDF render may load: `data:` URLs and local files under the project's own folders.

The bulletin's HTML is generated from templates and data, so a stray `<img src>` or
`@import` should never reach the network or read a file elsewhere on the machine (a
confidential data file, say, or ``/etc/passwd``). WeasyPrint only logs a failed load and
carries on, which would ship a bulletin with a silent hole in it; this fetcher refuses
with `FatalURLFetchingError`, which stops the render, and `publish` turns that into a
`BulletinError` naming the URL.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from bulletin.config import PROJECT_DIR
from bulletin.confine import OutsideError, confined

DEFAULT_ROOTS = (PROJECT_DIR / "templates", PROJECT_DIR / "figures", PROJECT_DIR / "build")


class RefusedURL(FatalURLFetchingError):
    """A load the sandbox refused (or a permitted file that could not be read).

    A subclass of WeasyPrint's fatal error, so that the render stops instead of
    logging a warning and leaving the resource out.
    """

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"refused to load {url!r}: {reason}")
        self.url = url
        self.reason = reason


class SandboxFetcher(URLFetcher):
    """Loads `data:` URLs, and `file:` URLs whose real path lies under one of `roots`.

    Paths are resolved before the check, following symlinks, so neither ``../`` nor a
    link inside a root that points outside it gets through.
    """

    def __init__(self, roots: Iterable[Path] = DEFAULT_ROOTS) -> None:
        super().__init__(allowed_protocols=("file", "data"), allow_redirects=False,
                         fail_on_errors=True)
        self.roots = tuple(Path(r).resolve() for r in roots)
        # What was refused, in order: WeasyPrint reports a refusal inside an SVG image
        # only as "failed to render" the image, so the caller names the URL from here.
        self.refused: list[RefusedURL] = []
        # What was loaded, in order: (URL, the real path it named, sha256 of its bytes).
        # The layout cache keys stored measurements by the files their layout loaded.
        self.loaded: list[tuple[str, str, str]] = []

    def allowed_path(self, url: str) -> Path:
        """The local path a `file:` URL names, or `RefusedURL` saying why not."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise RefusedURL(url, f"file on another host ({parts.netloc})")
        path = Path(unquote(parts.path))
        if not path.is_absolute():
            raise RefusedURL(url, "not an absolute file path")
        try:
            real = confined(path, self.roots)
        except OutsideError as exc:
            raise RefusedURL(url, str(exc)) from None
        if not real.is_file():
            raise RefusedURL(url, f"{real} does not exist or is not a file")
        return real

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        try:
            return self._fetch(url, headers)
        except RefusedURL as exc:
            self.refused.append(exc)
            raise

    def _fetch(self, url: str, headers: dict[str, str] | None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            try:
                return super().fetch(url, headers)
            except Exception as exc:  # a malformed data: URL
                raise RefusedURL(url[:60], f"unreadable data URL ({exc})") from exc
        if scheme != "file":
            raise RefusedURL(url, "only data: URLs and local files may be loaded")
        real = self.allowed_path(url)
        mime = mimetypes.guess_type(real.name)[0] or "application/octet-stream"
        data = real.read_bytes()
        self.loaded.append((url, str(real), hashlib.sha256(data).hexdigest()))
        return URLFetcherResponse(real.as_uri(), data, {"Content-Type": mime})
