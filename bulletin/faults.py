"""Template faults in plain English, each at file and line with the line's text marked.

Editors are not programmers: "expected token 'end of print statement', got 'of'" tells
them nothing. Every fault in a template (found by `check` before any analysis, or while
rendering) becomes a `Fault`: where it is, what is wrong in words an editor uses, and
what to do about it. `TemplateFaults` carries them to the command line (exit code 2)
and to the preview's error page, which shows the same fields.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bulletin.config import PROJECT_DIR
from bulletin.errors import BulletinError

_WINDOW = 90  # characters of a long line shown around the marker


@dataclass(frozen=True)
class Fault:
    """One fault in one template. `column` (0-based) and `width` place the marker."""

    file: str
    line: int | None
    message: str
    suggestion: str = ""
    text: str = ""
    column: int | None = None
    width: int = 1

    @property
    def where(self) -> str:
        return f"{self.file}, line {self.line}" if self.line else self.file

    def excerpt(self) -> tuple[str, str]:
        """The line (cut to a window around the marker) and the marker line under it."""
        text = self.text.rstrip("\n").replace("\t", " ")
        col = self.column
        if col is None or col > len(text):
            cut = text[:_WINDOW] + (" ..." if len(text) > _WINDOW else "")
            return cut, ""
        start = max(0, min(col - _WINDOW // 3, len(text) - _WINDOW))
        end = start + _WINDOW
        shown = ("... " if start else "") + text[start:end] + (" ..." if end < len(text) else "")
        pad = (4 if start else 0) + col - start
        width = max(1, min(self.width, end - col))
        return shown, " " * pad + "^" * width

    def __str__(self) -> str:
        lines = [f"{self.where}: {self.message}"]
        if self.text.strip():
            shown, marker = self.excerpt()
            number = str(self.line or "")
            lines.append(f"  {number:>4} | {shown}")
            if marker:
                lines.append(f"  {'':>4} | {marker}")
        if self.suggestion:
            lines.append(f"  {self.suggestion}")
        return "\n".join(lines)


class TemplateFaults(BulletinError):
    """One or more template faults: reported plainly, exit code 2."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        self.faults = tuple(faults)
        first = self.faults[0]
        more = len(self.faults) - 1
        head = f"{first.where}: {first.message}"
        if more:
            head = f"{len(self.faults)} problems in the templates; the first: {head}"
        super().__init__(head)

    def report(self) -> str:
        return "\n\n".join(str(f) for f in self.faults)


# -- helpers shared by the checker and the renderer --------------------------------------

def shown_path(filename: str | Path) -> str:
    """A template's path as an editor knows it: relative to the project where it can be."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def suggest(word: str, choices: Iterable[str], what: str = "",
            preferred: Iterable[str] = ()) -> str:
    """'Did you mean ...?' for the nearest choices (those in `preferred` first: the
    bulletin's own filters before Jinja's), else the whole list if it is short."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, sorted(set(preferred)), n=3, cutoff=0.5) or \
        difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    if close:
        return "Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    if what and options and len(options) <= 40:
        return f"The {what} are: " + ", ".join(options) + "."
    return ""


def line_of(source: str, lineno: int | None) -> str:
    if not lineno:
        return ""
    lines = source.splitlines()
    return lines[lineno - 1] if 0 < lineno <= len(lines) else ""


def find_word(text: str, word: str, after: str = "") -> int | None:
    """Column of `word` as a whole word in `text` (after `after`, e.g. a `|`)."""
    pattern = (re.escape(after) + r"\s*" if after else r"(?<!\w)") + \
        r"(" + re.escape(word) + r")\b"
    m = re.search(pattern, text)
    if m:
        return m.start(1)
    i = text.find(word)  # punctuation ("|", "[^1]"), where word boundaries do not apply
    return i if i >= 0 and word else None


def make_fault(filename: str | Path, source: str, lineno: int | None, message: str,
               suggestion: str = "", word: str = "", after: str = "",
               column: int | None = None, width: int | None = None) -> Fault:
    """A fault with the line's text, its marker on `word` (or at `column`)."""
    text = line_of(source, lineno)
    if column is None and word:
        column = find_word(text, word, after)
        if column is None:
            column = find_word(text, word)
    if width is None:
        width = len(word) if word else 1
    return Fault(shown_path(filename), lineno, message, suggestion, text, column, width)


# -- Jinja's syntax errors, translated ---------------------------------------------------

_TAG_RE = re.compile(r"\{%-?\s*(\w+)")
_OPENERS = {"if": "endif", "for": "endfor", "macro": "endmacro", "call": "endcall",
            "filter": "endfilter", "block": "endblock", "with": "endwith",
            "raw": "endraw", "autoescape": "endautoescape"}


def _open_blocks(source: str, upto_line: int | None = None) -> list[tuple[str, int, int]]:
    """(tag, line, column) of each block left open, innermost last (a plain scan of the
    `{% %}` tags, good enough to point at the opener Jinja does not name)."""
    stack: list[tuple[str, int, int]] = []
    for m in _TAG_RE.finditer(source):
        line = source.count("\n", 0, m.start()) + 1
        if upto_line is not None and line > upto_line:
            break
        tag = m.group(1)
        col = m.start() - (source.rfind("\n", 0, m.start()) + 1)
        if tag == "set" and "=" not in source[m.end():source.find("%}", m.end())]:
            stack.append(("set", line, col))  # a block set: {% set x %}...{% endset %}
        elif tag in _OPENERS:
            stack.append((tag, line, col))
        elif tag.startswith("end") and stack and stack[-1][0] == tag[3:]:
            stack.pop()
    return stack


def syntax_fault(filename: str | Path, source: str, lineno: int | None,
                 message: str, filters: Iterable[str] = (), preferred: Iterable[str] = (),
                 tests: Iterable[str] = ()) -> Fault:
    """A Jinja syntax error's message in words an editor can act on (`filters`, `tests`:
    the names to suggest from, `preferred` first)."""
    text = line_of(source, lineno)
    if m := re.match(r"No (filter|test) named '([^']+)'", message):
        kind, name = m.groups()
        hint = (suggest(name, filters, "filters", preferred) if kind == "filter"
                else suggest(name, tests, "tests"))
        return make_fault(filename, source, lineno, f"unknown {kind} '{name}'", hint,
                          word=name, after="|" if kind == "filter" else "is")
    if m := re.match(r"expected token 'end of (print statement|statement block)', got '([^']*)'",
                     message):
        kind, got = m.groups()
        opener, closer = ("{{", "}}") if kind == "print statement" else ("{%", "%}")
        col = _unclosed(text, opener, closer)
        if col is not None:
            return make_fault(filename, source, lineno,
                              f"'{opener}' is not closed: '{closer}' is missing",
                              f"End the expression with '{closer}' before the words go on.",
                              column=col, width=2)
        return make_fault(filename, source, lineno,
                          f"Jinja could not read what is inside '{opener} ... {closer}': it "
                          f"did not expect '{got}' there",
                          "Inside the braces goes one name or call (with text in quotes); "
                          "words of the sentence go outside them.", word=got)
    if message.startswith("unexpected end of template, expected 'end of"):
        opener = "{{" if "print statement" in message else "{%"
        closer = "}}" if opener == "{{" else "%}"
        spot = _last_unclosed(source, opener, closer)
        if spot is not None:
            lineno, col = spot
            return make_fault(filename, source, lineno,
                              f"'{opener}' is not closed: '{closer}' is missing",
                              f"End the expression with '{closer}'.", column=col, width=2)
    if m := re.search(r"The innermost block that needs to be closed is '(\w+)'", message):
        block = m.group(1)
        end = "endset" if block == "set" else _OPENERS.get(block, f"end{block}")
        opened = [b for b in _open_blocks(source, lineno) if b[0] == block]
        got = re.match(r"Encountered unknown tag '(\w+)'", message)
        if got:
            tag = got.group(1)
            where = f" (opened on line {opened[-1][1]})" if opened else ""
            return make_fault(filename, source, lineno,
                              f"{{% {tag} %}} does not close the '{{% {block} %}}' block "
                              f"that is open here{where}",
                              f"Close the '{block}' with {{% {end} %}} first, or check the "
                              "tags are in the right order.", word=tag)
        if opened:
            _tag, line, col = opened[-1]
            return make_fault(filename, source, line,
                              f"this {{% {block} %}} is never closed",
                              f"Add {{% {end} %}} where the {block} block should end.",
                              column=col, width=2)
        return make_fault(filename, source, lineno, f"a {{% {block} %}} block is never "
                          f"closed", f"Add {{% {end} %}} where the block should end.")
    if m := re.match(r"Encountered unknown tag '(\w+)'", message):
        tag = m.group(1)
        if tag.startswith("end") or tag in ("else", "elif"):
            base = tag[3:] if tag.startswith("end") else "if"
            return make_fault(filename, source, lineno,
                              f"{{% {tag} %}} has no {{% {base} %}} open before it",
                              "Delete it, or add the opening tag where the block begins.",
                              word=tag)
        return make_fault(filename, source, lineno, f"unknown tag {{% {tag} %}}",
                          suggest(tag, ("if", "elif", "else", "endif", "for", "endfor",
                                        "set", "include"), "tags"), word=tag)
    if message.startswith("Missing end of comment tag"):
        col = text.find("{#")
        return make_fault(filename, source, lineno, "a comment '{#' is not closed with '#}'",
                          "End the comment with '#}'.", column=col if col >= 0 else None,
                          width=2)
    if m := re.match(r"unexpected char '(.)' at \d+", message):
        char = m.group(1)
        hint = ("Text inside braces needs a quote mark at both ends."
                if char in "\"'" else "Check this expression for a stray character.")
        return make_fault(filename, source, lineno,
                          f"Jinja could not read the character {char!r} here", hint,
                          word=char if char.isalnum() else "",
                          column=None if char.isalnum() else _char_col(text, char))
    for opener, closer in (("{{", "}}"), ("{%", "%}")):
        col = _unclosed(text, opener, closer)
        if col is not None:
            return make_fault(filename, source, lineno,
                              f"'{opener}' is not closed: '{closer}' is missing",
                              f"End the expression with '{closer}' before the words go on "
                              f"(Jinja said: {message}).", column=col, width=2)
    return make_fault(filename, source, lineno, f"Jinja could not read this: {message}")


def _char_col(text: str, char: str) -> int | None:
    starts = [m.start() for m in re.finditer(r"\{\{|\{%", text)]
    for s in starts:
        i = text.find(char, s)
        if i >= 0:
            return i
    i = text.find(char)
    return i if i >= 0 else None


def _unclosed(text: str, opener: str, closer: str) -> int | None:
    """Column of the last `opener` on the line with no `closer` after it."""
    col = None
    i = 0
    while (j := text.find(opener, i)) >= 0:
        k = text.find(closer, j + 2)
        nxt = text.find(opener, j + 2)
        if k < 0 or (0 <= nxt < k):
            col = j
        i = j + 2
    return col


def _last_unclosed(source: str, opener: str, closer: str) -> tuple[int, int] | None:
    j = source.rfind(opener)
    if j < 0 or source.find(closer, j) >= 0:
        return None
    line = source.count("\n", 0, j) + 1
    return line, j - (source.rfind("\n", 0, j) + 1)
