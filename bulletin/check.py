"""`bulletin check`: every template fault that can be found without the data.

Runs in well under a second, before any analysis, and `build` and `preview` run it first,
so an editor's slip is reported at once instead of after seconds of analysis, or not at
all. It finds:

- the outline (``templates/outline.toml``): a listed file that is missing, a file in
  ``templates/sections/`` that is not listed;
- Jinja that does not parse: unclosed ``{{``/``{%``/``{#``, stray or mismatched tags;
- a stray ``}}``, ``%}`` or ``#}`` in the prose;
- an unknown filter or test, an unknown name, an include of a missing file;
- an unknown name passed to a helper: a question or judgement in ``in_model``, ``b1``,
  ``question``, ``judgement``; a misspelt part of a ``b1`` result (``sk.noo``); a section
  of ``quotes``, a reference of ``cite``; a fact key whose question or judgement does not
  exist, and, where the analysis cache holds this edition's facts, any unknown fact key;
- a number typed into a template outside ``{{ }}`` (the bulletin's numbers come from the
  facts registry only), other than the kinds the allowlist below names.

Each fault names the file and line, shows the line with a marker and says what to do.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bulletin import confine
from bulletin.config import DEFAULT_EDITION, Edition, load_edition
from bulletin.facts import KEY_RE, Registry
from bulletin.faults import (
    Fault,
    TemplateFaults,
    make_fault,
    shown_path,
    suggest,
    syntax_fault,
)
from bulletin.outline import outline_faults

# Jinja expressions, statements and comments: digits inside these are code, not prose.
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
# The only digits a template may hold outside Jinja. Each names what it allows.
ALLOWED = [
    re.compile(r"^#{2,6} \d+(?:\.\d+)* ", re.M),          # section numbers in headings
    re.compile(r"\b(?:standards?|Standard) \d\.\d\b"),    # framework standards ("standard 1.2")
    re.compile(r"\b(?:Tables?|Figures?) \d\b"),           # "Table 1", "Figure 2"
    re.compile(r"\b[AB]\d\b"),                            # annex table ids ("B3")
    re.compile(r"\b(?:19|20)\d\d\b"),                     # years (references, history)
    re.compile(r"</?h[1-6]\b"),                           # heading tags
    re.compile(r"\butf-8\b|initial-scale=1\b"),           # the HTML head
    re.compile(r"https?://\S+"),                          # links
    re.compile(r"\[\^[\w-]+\]"),                          # Markdown footnote labels ([^1])
]
_NUMBER = re.compile(r"[\w,.%+-]*\d[\w,.%+-]*")
B1_PARTS = ("yes", "no", "p")


def _blank(m: re.Match[str]) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))  # keep line numbers and columns


def prose(text: str) -> str:
    """The template with its Jinja blanked out (same lines and columns)."""
    return JINJA.sub(_blank, text)


def stray_numbers(text: str) -> list[tuple[int, int, str]]:
    """(line, column, text) of every number outside Jinja and outside the allowlist."""
    text = prose(text)
    for pattern in ALLOWED:
        text = pattern.sub(_blank, text)
    out = []
    for m in _NUMBER.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1)
        out.append((line, col, m.group(0).rstrip(".,")))
    return out


def stray_digits(text: str) -> list[tuple[int, str]]:
    """(line, text) of every number outside Jinja and outside the allowlist."""
    return [(line, token) for line, _col, token in stray_numbers(text)]


# -- the check ---------------------------------------------------------------------------

def template_names(templates_dir: Path, sections: Iterable[str]) -> list[str]:
    """Every template to check: the page, the outline's sections, and any other .j2 file
    under templates/ (a piece that a section includes)."""
    from bulletin.render import BASE

    names = [BASE, *sections]
    others = sorted(p.relative_to(templates_dir).as_posix()
                    for p in Path(templates_dir).rglob("*.j2")
                    if not p.relative_to(templates_dir).as_posix().startswith("sections/"))
    return list(dict.fromkeys(names + others))


def check_templates(templates_dir: Path, edition: Edition,
                    registry: Registry | None = None,
                    memo: dict[Any, list[Fault]] | None = None) -> list[Fault]:
    """Every fault found without running the analysis (see the module's docstring).

    `memo` keeps each template's faults by its text, so that a caller checking again and
    again (the preview, after every save) re-reads only the templates that changed; it
    holds for one edition and registry, and the caller clears it when they change."""
    from bulletin.render import make_environment

    templates_dir = Path(templates_dir)
    sections, faults = outline_faults(templates_dir)
    checker: _Checker | None = None
    data = tuple(_read(templates_dir / n) for n in ("quotes.toml", "references.toml"))
    for name in template_names(templates_dir, sections):
        source = _read(templates_dir / name)
        key = (str(templates_dir), name, source, data)
        if memo is not None and source is not None and key in memo:
            faults += memo[key]
            continue
        if checker is None:
            checker = _Checker(make_environment(templates_dir), templates_dir, edition,
                               registry)
        found = checker.check(name)
        if memo is not None:
            memo[key] = found
        faults += found
    return faults


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def run_check(edition: Edition, templates_dir: Path | None = None,
              registry: Registry | None = None) -> float:
    """Raises `TemplateFaults` (exit code 2) on any fault; returns the seconds taken."""
    from bulletin.render import TEMPLATES_DIR

    start = time.perf_counter()
    faults = check_templates(templates_dir or TEMPLATES_DIR, edition, registry)
    if faults:
        raise TemplateFaults(faults)
    return time.perf_counter() - start


def check_command(edition_arg: str | None, templates_dir: Path | None = None) -> int:
    from bulletin.cache import AnalysisCache
    from bulletin.render import TEMPLATES_DIR

    start = time.perf_counter()
    edition = load_edition(edition_arg or DEFAULT_EDITION)
    registry = AnalysisCache().stored_facts(edition)
    folder = Path(templates_dir or TEMPLATES_DIR)
    faults = check_templates(folder, edition, registry)
    if faults:
        raise TemplateFaults(faults)
    keys = "every fact key" if registry is not None else \
        "fact keys by their questions and judgements (build once to check every key)"
    print(f"checked the templates of edition {edition.id} in "
          f"{time.perf_counter() - start:.2f} s: no problems found; {keys}",
          file=sys.stderr)
    return 0


class _Checker:
    """The static checks of one template's syntax tree."""

    def __init__(self, env: Any, templates_dir: Path, edition: Edition,
                 registry: Registry | None) -> None:
        from bulletin.render import (
            BASE_NAMES,
            CONTENTS_NAMES,
            HELPER_NAMES,
            bulletin_filters,
            read_toml_data,
        )

        self.env = env
        env.filters.setdefault("since_last", str)  # bound to last year's facts at render
        self.dir = templates_dir
        self.registry = registry
        self.guarded: set[str] = set()  # keys the template tests with has(...)
        a = edition.analysis
        self.questions = a.question_keys
        self.judgements = a.judgement_keys
        self.variables = tuple(dict.fromkeys((*a.candidates, *a.question_keys)))
        self.globals = set(env.globals) | set(HELPER_NAMES)
        self.extra = {"base.html.j2": set(BASE_NAMES)}
        self.contents_names = set(CONTENTS_NAMES)
        self.filters = set(env.filters) | {"since_last"}
        self.own_filters = bulletin_filters(env) | {"since_last"}
        self.quotes = {k for k, v in read_toml_data(templates_dir / "quotes.toml").items()
                       if isinstance(v, list)}
        refs = read_toml_data(templates_dir / "references.toml").get("reference", [])
        self.references = {str(r.get("key")) for r in refs if isinstance(r, dict)}

    def check(self, name: str) -> list[Fault]:
        from jinja2 import TemplateSyntaxError, meta

        path = self.dir / name
        try:
            source = confine.read_text(path, (self.dir, *confine.ALLOWED))
        except confine.OutsideError as exc:
            return [Fault(shown_path(path), None, str(exc))]
        except (OSError, UnicodeDecodeError) as exc:
            return [Fault(str(path), None, f"cannot read the template ({exc})")]
        faults = self._prose(path, source)
        try:
            tree = self.env.parse(source, name, str(path))
        except TemplateSyntaxError as exc:
            return faults + [syntax_fault(path, source, exc.lineno, exc.message or str(exc),
                                          self.filters, self.own_filters, self.env.tests)]
        known = self.globals | self.extra.get(name, set())
        if "contents" in name:
            known |= self.contents_names
        try:
            undeclared_names = meta.find_undeclared_variables(tree)
        except TemplateSyntaxError:  # an unknown filter or test: reported by _calls
            undeclared_names = set()
        local = {n.name for n in tree.find_all(_nodes().Name) if n.ctx == "store"}
        for undeclared in sorted(undeclared_names - known - local):
            node = next(self._names(tree, undeclared), None)
            faults.append(make_fault(path, source, node.lineno if node else None,
                                     f"'{undeclared}' is not defined",
                                     suggest(undeclared, known | local) or
                                     "Set it first with {% set " + undeclared + " = ... %}, "
                                     "or check the spelling.", word=undeclared))
        faults += self._calls(path, source, tree)
        return sorted(faults, key=lambda f: f.line or 0)

    def _prose(self, path: Path, source: str) -> list[Fault]:
        faults = []
        for line, col, token in stray_numbers(source):
            faults.append(make_fault(
                path, source, line, f"the number '{token}' is typed into the text",
                "Numbers come from the facts: write {{ fact(\"key\") | pct }} (or num, "
                "in_words ...) instead; see docs/editing.md for the kinds of number "
                "that may be typed (section numbers, 'Table 1', years).",
                column=col, width=len(token)))
        text = prose(source)
        for m in re.finditer(r"\}\}|%\}|#\}", text):
            line = text.count("\n", 0, m.start()) + 1
            col = m.start() - (text.rfind("\n", 0, m.start()) + 1)
            opener = {"}}": "{{", "%}": "{%", "#}": "{#"}[m.group(0)]
            faults.append(make_fault(path, source, line,
                                     f"a stray '{m.group(0)}' with no '{opener}' before it",
                                     f"Delete it, or add the missing '{opener}'.",
                                     column=col, width=2))
        return faults

    @staticmethod
    def _names(tree: Any, name: str) -> Iterator[Any]:
        for node in tree.find_all(_nodes().Name):
            if node.name == name and node.ctx == "load":
                yield node

    def _calls(self, path: Path, source: str, tree: Any) -> list[Fault]:
        n = _nodes()
        faults: list[Fault] = []

        def fault(node: Any, message: str, hint: str, word: str = "") -> None:
            faults.append(make_fault(path, source, node.lineno, message, hint, word=word))

        for f in tree.find_all(n.Filter):
            if f.name not in self.filters:
                fault(f, f"unknown filter '{f.name}'",
                      suggest(f.name, self.filters, "filters", self.own_filters), f.name)
        for t in tree.find_all(n.Test):
            if t.name not in self.env.tests:
                fault(t, f"unknown test '{t.name}'", suggest(t.name, self.env.tests, "tests"),
                      t.name)
        for inc in tree.find_all((n.Include, n.Import, n.FromImport, n.Extends)):
            target = inc.template
            if isinstance(target, n.Const) and isinstance(target.value, str) and \
                    not (self.dir / target.value).is_file():
                have = [p.relative_to(self.dir).as_posix() for p in self.dir.rglob("*.j2")]
                fault(inc, f"'{target.value}' is not a file in the templates folder",
                      suggest(target.value, have) or "Check the file name and its folder.",
                      target.value)
        b1_vars = {a.target.name for a in tree.find_all(n.Assign)
                   if isinstance(a.target, n.Name) and isinstance(a.node, n.Call)
                   and isinstance(a.node.node, n.Name) and a.node.node.name == "b1"}
        for g in tree.find_all(n.Getattr):
            if isinstance(g.node, n.Name) and g.node.name in b1_vars and g.attr not in B1_PARTS:
                fault(g, f"'{g.node.name}' (a b1 comparison) has no part '{g.attr}'",
                      suggest(g.attr, B1_PARTS, "parts") or "Its parts are yes, no and p.",
                      g.attr)
        self.guarded = {".".join(a.value for a in c.args) for c in tree.find_all(n.Call)
                        if isinstance(c.node, n.Name) and c.node.name == "has" and c.args
                        and all(isinstance(a, n.Const) and isinstance(a.value, str)
                                for a in c.args)}
        for call in tree.find_all(n.Call):
            if isinstance(call.node, n.Name):
                args = [a.value if isinstance(a, n.Const) else None for a in call.args]
                for message, hint, word in self._helper(call.node.name, args):
                    fault(call, message, hint, word)
        return faults

    def _helper(self, helper: str, args: list[Any]) -> Iterator[tuple[str, str, str]]:
        """(message, suggestion, word) for each unknown name passed to a helper."""
        def known(value: Any, choices: Iterable[str], what: str) -> Iterator[tuple[str, str, str]]:
            if isinstance(value, str) and value not in choices:
                yield (f"unknown {what} '{value}'", suggest(value, choices, f"{what}s"), value)

        if helper == "in_model" and len(args) >= 2:
            yield from known(args[0], self.judgements, "judgement")
            yield from known(args[1], self.variables, "model variable")
        elif helper == "b1" and len(args) >= 2:
            yield from known(args[0], self.questions, "interview question")
            yield from known(args[1], self.judgements, "judgement")
        elif helper == "question" and args:
            yield from known(args[0], self.questions, "interview question")
        elif helper == "judgement" and args:
            yield from known(args[0], self.judgements, "judgement")
        elif helper == "quotes" and args:
            yield from known(args[0], self.quotes, "quotes section (in quotes.toml)")
        elif helper == "cite" and args:
            yield from known(args[0], self.references, "reference (in references.toml)")
        elif helper == "fact" and args and all(isinstance(a, str) for a in args):
            yield from self._fact_key(".".join(args))

    def _fact_key(self, key: str) -> Iterator[tuple[str, str, str]]:
        if self.registry is not None:
            if key not in self.registry and key not in self.guarded:  # has("key") guards it
                yield (f"unknown fact key '{key}'", suggest(key, self.registry), key)
            return
        if not KEY_RE.match(key):
            yield (f"'{key}' is not a fact key", "A key is lower-case words joined by dots, "
                   "as in the key column of numbers.csv.", key)
            return
        parts = key.split(".")
        checks: list[tuple[str, tuple[str, ...], str]] = []
        if parts[0] == "table1":
            checks.append((parts[1], self.questions, "interview question"))
        elif parts[0] in ("table2", "model"):
            checks.append((parts[1], self.judgements, "judgement"))
        elif parts[0] == "b1" and len(parts) > 3 and parts[2] in ("yes", "no", "diff"):
            checks += [(parts[1], self.questions, "interview question"),
                       (parts[3], self.judgements, "judgement")]
        for word, choices, what in checks:
            if word not in choices:
                yield (f"fact key '{key}': unknown {what} '{word}'",
                       suggest(word, choices, f"{what}s"), word)


def _nodes() -> Any:
    from jinja2 import nodes

    return nodes

