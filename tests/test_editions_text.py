"""The built text of the demo editions: year-on-year wording says what the test says.

The 2019-20 edition is rendered in-process from its data and its previous edition's, as
`python -m bulletin build --edition 2019-20` does. Every year-on-year clause the
templates ask for is recorded (key, last year's and this year's facts, the words), and
checked against `bulletin.change.compare_fact` for that key: the direction word only for a
significant change and in the direction of the change, "little changed" or "not a
significant change" only where the change is not significant. Nothing here knows the
demo figures themselves, so the data can change without touching this file.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from bulletin import words
from bulletin.build import gather
from bulletin.change import compare_fact
from bulletin.config import load_edition, load_previous
from bulletin.facts import Fact
from bulletin.figures import make_figures
from bulletin.render import render_bulletin

# Every shape a year-on-year clause can take (see `bulletin.words.since_last`).
YOY = re.compile(
    r"\b(?:(?P<dir>up|down|little changed) from (?P<old1>[^,;()]+?) in (?P<y1>\d{4}/\d{2})"
    r"|compared with (?P<old2>[^,;()]+?) in (?P<y2>\d{4}/\d{2})"
    r"(?P<ns>, not a significant change)?"
    r"|the same as in (?P<y3>\d{4}/\d{2}))")
YEAR_ON_YEAR_WORDS = re.compile(
    r"\b(?:up from|down from|little changed|the same as in|not a significant change|"
    r"compared with [^.]*? in \d{4}/\d{2})")


def _text(page: str) -> str:
    """The readable text of the page's main part, one space between words."""
    main = page.split('<main id="main">', 1)[1]
    main = re.sub(r"<svg\b.*?</svg>|<[^>]+>", " ", main, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(main))


@pytest.fixture(scope="module")
def built(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Render 2019-20 once, recording every year-on-year clause the templates ask for."""
    edition = load_edition("2019-20")
    last = load_previous(edition)
    assert last is not None, "the 2019-20 demo edition should name its previous edition"
    registry, previous = gather(edition, quiet=True), gather(last, quiet=True)
    calls: list[tuple[Fact, Fact | None, str]] = []
    original = words.since_last

    def recording(new: Fact, old: Fact | None, label: str, cmp: Any) -> str:
        out = original(new, old, label, cmp)
        calls.append((new, old, out))
        return out

    mp = pytest.MonkeyPatch()
    request.addfinalizer(mp.undo)
    mp.setattr(words, "since_last", recording)
    doc = render_bulletin(registry, make_figures(registry, edition), edition, previous)
    mp.undo()
    return {"edition": edition, "last": last, "calls": calls, "text": _text(doc.html_web),
            "label": words.edition_label(last.id)}


def test_at_least_three_year_on_year_changes_are_quoted(built: dict[str, Any]) -> None:
    quoted = {new.key for new, _old, out in built["calls"] if out and out in built["text"]}
    assert len(quoted) >= 3, quoted


def test_each_quoted_change_says_what_the_test_says(built: dict[str, Any]) -> None:
    label = built["label"]
    checked = 0
    for new, old, out in built["calls"]:
        if not out:
            continue
        assert out in built["text"], out
        assert old is not None
        change = compare_fact(old, new)
        m = YOY.fullmatch(out)
        assert m, f"{new.key}: unexpected year-on-year wording {out!r}"
        assert label in out, out
        if words.display(old) == words.display(new):
            assert m.group("y3"), f"{new.key}: equal printed figures, but {out!r}"
            checked += 1
            continue
        assert not m.group("y3"), f"{new.key}: {words.display(old)} and " \
            f"{words.display(new)} are not the same: {out!r}"
        assert words.display(old) in (m.group("old1") or m.group("old2") or ""), out
        direction = m.group("dir")
        if change.p is None:  # no test (a count): no direction, no significance claim
            assert direction is None and m.group("ns") is None, out
        elif change.significant:
            assert direction == ("up" if change.change > 0 else "down"), \
                f"{new.key}: significant change of {change.change:+.1f}: {out!r}"
        else:
            assert direction in (None, "little changed"), \
                f"{new.key}: change not significant (p={change.p:.3f}): {out!r}"
            assert (direction == "little changed") != bool(m.group("ns")), out
            if direction == "little changed":
                assert abs(change.change) < words.SIMILAR_POINTS, out
        checked += 1
    assert checked >= 3


def test_no_year_on_year_wording_the_recorded_clauses_do_not_explain(
        built: dict[str, Any]) -> None:
    """Every year-on-year phrase in the text came from a checked clause (none typed in)."""
    text = built["text"]
    for _new, _old, out in built["calls"]:
        if out:
            text = text.replace(out, "")
    assert not YOY.search(text), YOY.search(text)


def test_first_edition_text_has_no_year_on_year_wording(built: dict[str, Any]) -> None:
    last = built["last"]
    assert load_previous(last) is None
    registry = gather(last, quiet=True)
    doc = render_bulletin(registry, make_figures(registry, last), last)
    text = _text(doc.html_web)
    assert not YEAR_ON_YEAR_WORDS.search(text), YEAR_ON_YEAR_WORDS.search(text)
