"""The render sandbox, exercised through real WeasyPrint renders of small HTML."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from bulletin.errors import BulletinError
from bulletin.fetcher import DEFAULT_ROOTS, RefusedURL, SandboxFetcher
from bulletin.publish import render_pdf

SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<rect width="10" height="10" fill="#12436D"/></svg>')


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """An allowed folder holding an image, with a secret file beside it (outside)."""
    root = tmp_path / "allowed"
    root.mkdir()
    (root / "ok.svg").write_bytes(SVG)
    (root / "style.css").write_text("p { color: #12436D }")
    (tmp_path / "secret.svg").write_bytes(SVG)
    return root


def _render(html: str, root: Path) -> bytes:
    return render_pdf(f"<html lang='en-GB'><head><title>t</title></head><body>{html}</body>"
                      "</html>", base_url=root, roots=[root])


def test_allowed_file_and_data_url_render(site: Path) -> None:
    data = "data:image/svg+xml;base64," + base64.b64encode(SVG).decode()
    pdf = _render(f'<link rel="stylesheet" href="style.css"><p>x</p>'
                  f'<img src="ok.svg" alt="a"><img src="{data}" alt="b">', site)
    assert pdf.startswith(b"%PDF")


@pytest.mark.parametrize("src", [
    "file:///etc/passwd",
    "http://example.com/x.png",
    "https://example.com/x.png",
    "ftp://example.com/x.png",
    "../secret.svg",
    "sub/../../secret.svg",
])
def test_image_outside_sandbox_fails_build_naming_url(site: Path, src: str) -> None:
    with pytest.raises(BulletinError) as err:
        _render(f'<img src="{src}" alt="x">', site)
    named = src.rsplit("/", 1)[-1]
    assert named in str(err.value)
    assert "refused" in str(err.value)


def test_stylesheet_import_outside_sandbox_fails(site: Path) -> None:
    with pytest.raises(BulletinError, match="passwd"):
        _render('<style>@import url("file:///etc/passwd");</style><p>x</p>', site)


def test_css_background_over_http_fails(site: Path) -> None:
    with pytest.raises(BulletinError, match="example.com"):
        _render('<p style="background: url(http://example.com/bg.png)">x</p>', site)


def test_symlink_pointing_out_is_refused(site: Path) -> None:
    (site / "link.svg").symlink_to(site.parent / "secret.svg")
    with pytest.raises(BulletinError, match="link.svg"):
        _render('<img src="link.svg" alt="x">', site)


def test_symlink_inside_the_folder_is_followed(site: Path) -> None:
    (site / "alias.svg").symlink_to(site / "ok.svg")
    assert _render('<img src="alias.svg" alt="x">', site).startswith(b"%PDF")


def test_missing_allowed_file_fails_rather_than_leaving_a_hole(site: Path) -> None:
    with pytest.raises(BulletinError, match="nothere.svg"):
        _render('<img src="nothere.svg" alt="x">', site)


def test_fetcher_refusal_is_fatal_to_weasyprint() -> None:
    from weasyprint.urls import FatalURLFetchingError

    assert issubclass(RefusedURL, FatalURLFetchingError)
    with pytest.raises(RefusedURL, match="another host"):
        SandboxFetcher().fetch("file://evil.example/etc/passwd")


def test_default_roots_are_the_project_folders() -> None:
    assert sorted(p.name for p in DEFAULT_ROOTS) == ["build", "figures", "templates"]


def test_refusal_inside_an_svg_image_names_the_refused_url(site: Path) -> None:
    """WeasyPrint reports only that the SVG failed to render; the message must also say
    which load inside it was refused."""
    (site / "inner.svg").write_bytes(
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b'<image href="file:///etc/passwd" width="5" height="5"/></svg>')
    with pytest.raises(BulletinError) as err:
        _render('<p>x</p><img src="inner.svg" alt="x">', site)
    assert "inner.svg" in str(err.value)
    assert "refused to load 'file:///etc/passwd'" in str(err.value)


def test_symlink_out_of_an_allowed_folder_names_the_link(site: Path) -> None:
    (site / "link.svg").symlink_to(site.parent / "secret.svg")
    with pytest.raises(BulletinError) as err:
        _render('<p>x</p><img src="link.svg" alt="x">', site)
    assert f"{site / 'link.svg'}: a symbolic link to {site.parent / 'secret.svg'}" \
        in str(err.value)
