"""From facts, figures and templates to the bulletin's two HTML documents.

The wording lives in `templates/` so that an editor can change a sentence without
touching Python; this module makes that safe. Templates run in Jinja's sandbox with
strict undefined names, see only plain values (facts, the edition's descriptive fields,
never a registry, a path or a module), and reach numbers only through `fact("key")`
and the filters of `bulletin.words`. Any fault (an unknown fact key, filter or name, a
template reaching for Python internals) stops the build with a `BulletinError` naming the
template file and line, so a typo can never ship as a blank or a wrong number.

Each section file is rendered once: Jinja, then Markdown for `.md.j2` files. Tables,
figures and quotes are put in as placeholders and swapped for their HTML after Markdown,
so that Markdown never rewrites an SVG or a table; the swap is per medium (the print
edition gets figures as `<img>` with alt text, which WeasyPrint tags for PDF/UA; the web
edition gets inline SVG).
"""

from __future__ import annotations

import base64
import html
import re
import tomllib
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from bulletin import confine, words
from bulletin.config import PROJECT_DIR, Edition
from bulletin.errors import BulletinError
from bulletin.facts import Fact, Registry, slug
from bulletin.faults import Fault, TemplateFaults, make_fault, shown_path, suggest, syntax_fault
from bulletin.figures import Figure
from bulletin.outline import section_files
from bulletin.tables import Table, build_tables, load_labels
from bulletin.webedition import finish as finish_web

TEMPLATES_DIR = PROJECT_DIR / "templates"
FIGURES_DIR = PROJECT_DIR / "figures"
BASE = "base.html.j2"
CONTENTS = "contents"  # the section rendered last, from the other sections' headings
FRONT = ("cover", "credits", "contents")  # placed before <main>
ANNEX_PREFIX = "annex"
SUPPRESSED_HTML = Markup('<abbr class="suppressed" title="figure withheld to protect '
                         'confidentiality: too few cases">[c]</abbr>')
_PLACEHOLDER = "XBULLETINBLOCKX{}XBULLETINBLOCKX"
_PLACEHOLDER_RE = re.compile(r"(?:<p>\s*)?XBULLETINBLOCKX(\d+)XBULLETINBLOCKX(?:\s*</p>)?")
_HEADING_RE = re.compile(r"<h([23])\b([^>]*)>(.*?)</h\1>", re.S)
_ID_RE = re.compile(r'\bid="([^"]+)"')
# What templates can name besides Jinja's own globals (checked statically by `check`).
HELPER_NAMES = ("fact", "has", "b1", "edition", "previous", "figure", "artwork", "table",
                "quotes", "cite", "references", "caseload_cut", "in_model", "question",
                "judgement", "tipping_point", "linked_standards", "quotes_illustrative")
BASE_NAMES = ("medium", "sections", "title", "description", "screen_css")
CONTENTS_NAMES = ("headings",)


@dataclass(frozen=True)
class Document:
    title: str
    html_print: str
    html_web: str
    tables: tuple[Table, ...]
    published: str | None = None


@dataclass(frozen=True)
class EditionView:
    """The edition as templates see it: descriptive text only (no paths, no settings
    objects with methods a template could misuse)."""

    id: str
    number: str
    title: str
    series: str
    authors: tuple[str, ...]
    fieldwork_start: str
    fieldwork_end: str
    published: str
    year: str  # "2018/19"
    previous: str  # "2017/18", or "" where there is no previous edition
    questions: tuple[tuple[str, str, str], ...]  # (key, standard, text)
    judgements: tuple[tuple[str, str, str], ...]  # (key, short, text)
    pin: float
    pout: float
    min_count: int
    publisher: dict[str, str] = field(default_factory=dict)  # name, address, web

    @classmethod
    def of(cls, edition: Edition, has_previous: bool) -> EditionView:
        a = edition.analysis
        return cls(
            id=edition.id, number=edition.number, title=edition.title,
            series=edition.series, authors=tuple(edition.authors),
            fieldwork_start=edition.fieldwork_start, fieldwork_end=edition.fieldwork_end,
            published=edition.published, year=words.edition_label(edition.id),
            previous=words.edition_label(edition.previous) if has_previous else "",
            questions=tuple((q.key, q.standard, q.text) for q in a.questions),
            judgements=tuple((j.key, j.short, j.text) for j in a.judgements),
            pin=a.pin, pout=a.pout, min_count=a.min_count,
            publisher=dict(vars(edition.publisher)),
        )


@dataclass(frozen=True)
class Section:
    name: str
    html: Markup
    front: bool
    annex: bool


@dataclass
class _Blocks:
    """Placeholders handed out while the sections render, and their HTML per medium."""

    items: list[dict[str, str]] = field(default_factory=list)

    def add(self, print_html: str, web_html: str) -> Markup:
        self.items.append({"print": print_html, "web": web_html})
        return Markup("\n\n" + _PLACEHOLDER.format(len(self.items) - 1) + "\n\n")

    def fill(self, text: str, medium: str) -> str:
        return _PLACEHOLDER_RE.sub(lambda m: self.items[int(m.group(1))][medium], text)


# -- the public entry point --------------------------------------------------------------

def render_bulletin(registry: Registry, figures: tuple[Figure, ...], edition: Edition,
                    previous: Registry | None = None, *,
                    templates_dir: Path = TEMPLATES_DIR,
                    figures_dir: Path = FIGURES_DIR) -> Document:
    """The print and web HTML of the bulletin, and its tables."""
    templates_dir = Path(templates_dir)
    roots = (templates_dir, Path(figures_dir))
    labels = load_labels(confine.confined(templates_dir / "labels.toml", roots))
    tables = build_tables(registry, edition, labels=labels)
    blocks = _Blocks()
    ctx = _Context(registry, figures, edition, previous, tables, blocks,
                   templates_dir, Path(figures_dir))
    env = make_environment(templates_dir, ctx)
    names = section_files(templates_dir)
    rendered: dict[str, str] = {}
    for name in names:
        if _section_name(name) != CONTENTS:
            rendered[name] = render_section(env, name, {})
    headings = extract_headings("\n".join(
        text for name, text in rendered.items() if _section_name(name) not in FRONT))
    for name in names:
        if _section_name(name) == CONTENTS:
            rendered[name] = render_section(env, name, {"headings": headings})
    title = f"{edition.title}"
    description = (f"{edition.series} {edition.number}, HM Inspectorate of Probation: "
                   f"{edition.title}, inspections in {words.edition_label(edition.id)}.")
    screen = templates_dir / "screen.css"
    screen_css = confine.read_text(screen, roots) if screen.is_file() else ""
    out = {}
    for medium in ("print", "web"):
        sections = [Section(_section_name(n), Markup(blocks.fill(rendered[n], medium)),
                            _section_name(n) in FRONT,
                            _section_name(n).startswith(ANNEX_PREFIX)) for n in names]
        out[medium] = _render(env, BASE, {
            "medium": medium, "sections": sections, "title": title,
            "description": description, "screen_css": Markup(screen_css),
        })
    return Document(title=title, html_print=out["print"], html_web=finish_web(out["web"]),
                    tables=tables, published=edition.published)


# -- environment -------------------------------------------------------------------------

def _section_name(template: str) -> str:
    """'sections/06-workload.md.j2' -> 'workload'."""
    stem = Path(template).name.split(".")[0]
    return re.sub(r"^\d+[-_]", "", stem)


def make_environment(templates_dir: Path, ctx: _Context | None = None):
    """The sandboxed Jinja environment with the bulletin's filters and globals."""
    from jinja2 import StrictUndefined

    roots = (templates_dir, ctx.figures_dir) if ctx is not None else (templates_dir,)
    env = _sandbox()(
        loader=confine.ConfinedLoader(templates_dir, roots), undefined=StrictUndefined,
        autoescape=True, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        finalize=_finalize, bytecode_cache=_BYTECODE,
    )
    env.globals.pop("lipsum", None)
    env.filters.update({name: _guarded(name, fn, "filter") for name, fn in {
        "pct": _marked(words.pct), "pct1": _marked(words.pct1), "num": _marked(words.num),
        "pval": _marked(words.pval), "in_words": _marked(words.in_words),
        "proportion_in_words": _marked(words.in_words), "month": words.month,
        "long_date": words.long_date, "complement": words.complement,
        "stars": words.stars, "fixed": _marked(words.fixed), "capfirst": _capfirst,
        "share_of": _marked(words.share_of), "only": words.only,
        "spell": _marked(words.spell), "typeset": words.typeset,
    }.items()})
    book = words.Phrasebook()  # one per render: stock phrases varied in turn
    env.globals.update({"compare": _guarded("compare", book.compare),
                        "adjusted": _guarded("adjusted", book.adjusted),
                        "difference": _guarded("difference", book.difference),
                        "significant": _guarded("significant", words.significant)})
    if ctx is not None:
        env.filters["since_last"] = _guarded("since_last", ctx.since_last, "filter")
        env.globals.update({k: _guarded(k, v) if callable(v) else v
                            for k, v in ctx.globals().items()})
    return env


def bulletin_filters(env: Any) -> set[str]:
    """The bulletin's own filters (suggested before Jinja's built-in ones)."""
    from jinja2.filters import FILTERS

    return {name for name in env.filters if name not in FILTERS}


class _MemoryBytecode:
    """Compiled templates kept in memory between renders, keyed by file and source.

    Compiling is most of a render's time; the preview re-renders after every save, and
    only the saved file needs compiling again. Jinja's key includes the file's path and
    a checksum of its source, so an edited template is always compiled afresh.
    """

    def __new__(cls) -> Any:
        from jinja2.bccache import BytecodeCache

        class Cache(BytecodeCache):
            def __init__(self) -> None:
                self.store: dict[str, bytes] = {}

            def load_bytecode(self, bucket: Any) -> None:
                data = self.store.get(bucket.key)
                if data is not None:
                    bucket.bytecode_from_string(data)

            def dump_bytecode(self, bucket: Any) -> None:
                if len(self.store) > 500:
                    self.store.clear()
                self.store[bucket.key] = bucket.bytecode_to_string()

        return Cache()


_BYTECODE = _MemoryBytecode()


def _undefined_name(value: Any) -> str | None:
    """'sk.noo' for Jinja's stand-in for a missing name or part, else None."""
    from jinja2 import Undefined

    if not isinstance(value, Undefined):
        return None
    name = getattr(value, "_undefined_name", None) or "?"
    owner = getattr(value, "_undefined_obj", None)
    if isinstance(owner, dict):
        return f"part '{name}' (the parts here are {', '.join(map(str, owner))})"
    return f"'{name}'"


def _guarded(name: str, fn: Callable[..., Any], kind: str = "helper") -> Callable[..., Any]:
    """`fn`, stopping with a clear message when handed a name that is not defined.

    Without this, a misspelt `{{ sk.noo | pct }}` reaches `pct` as Jinja's Undefined, and
    the message ("pct needs a number, got Undefined") does not say what was misspelt.
    """
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            missing = _undefined_name(value)
            if missing is not None:
                what = f"the filter '{name}'" if kind == "filter" else f"{name}(...)"
                raise BulletinError(f"{what} was given {missing}, which is not defined")
        return fn(*args, **kwargs)
    wrapper.__name__ = getattr(fn, "__name__", name)
    wrapper.__doc__ = fn.__doc__
    return wrapper


_HIDDEN = ("value", "count", "base")


def _sandbox() -> type:
    """Jinja's sandbox, plus one rule: a suppressed fact's number cannot be read.

    `fact("key").value` is there for conditions (`{% if f.value == 0 %}`); on a
    suppressed fact it (and the count and base) reads as the suppression mark, so the
    number cannot reach the text even by way of an attribute.
    """
    from jinja2.sandbox import SandboxedEnvironment

    class BulletinSandbox(confine.BoundedEnvironment, SandboxedEnvironment):
        def getattr(self, obj: Any, attribute: str) -> Any:
            if isinstance(obj, Fact) and obj.suppressed and attribute in _HIDDEN:
                return SUPPRESSED_HTML
            return super().getattr(obj, attribute)

    return BulletinSandbox


def _marked(fn: Callable[..., str]) -> Callable[..., str]:
    """A filter whose suppression mark becomes the accessible <abbr> in the HTML."""
    def wrapper(*args: Any, **kwargs: Any) -> str:
        out = fn(*args, **kwargs)
        if isinstance(out, str) and out.startswith(words.SUPPRESSED):
            return SUPPRESSED_HTML + out[len(words.SUPPRESSED):]
        return out
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _capfirst(text: Any) -> Any:
    """Capital first letter, the rest untouched (Jinja's `capitalize` lowers the rest)."""
    if isinstance(text, Markup) and text.startswith("<"):
        return text
    s = str(text)
    out = s[:1].upper() + s[1:]
    return Markup(out) if isinstance(text, Markup) else out


def _finalize(value: Any) -> Any:
    """A fact printed bare is formatted by its unit (and is never a raw float)."""
    if isinstance(value, Fact):
        out = words.display(value)
        return SUPPRESSED_HTML if out == words.SUPPRESSED else out
    return value


# -- rendering with located errors -------------------------------------------------------

def render_section(env: Any, name: str, extra: dict[str, Any]) -> str:
    """One section: Jinja, then (for .md.j2) Markdown, with placeholders left in."""
    text = _render(env, name, extra)
    if name.endswith(".md.j2"):
        from bulletin.markdown_text import MarkdownFault, to_html

        try:
            text = to_html(text)
        except MarkdownFault as exc:
            filename = str(Path(env.loader.searchpath[0]) / name)
            source = _source(filename)
            line = next((i for i, ln in enumerate(source.splitlines(), 1)
                         if exc.snippet in ln), None)
            raise TemplateFaults([make_fault(filename, source, line, exc.message,
                                             exc.suggestion, word=exc.snippet,
                                             column=None)]) from None
    return text


def _render(env: Any, name: str, extra: dict[str, Any]) -> str:
    from jinja2 import TemplateNotFound, TemplateSyntaxError
    from jinja2.exceptions import SecurityError, TemplateError, UndefinedError

    try:
        with confine.time_limit():
            return env.get_template(name).render(**extra)
    except TemplateNotFound as exc:
        raise TemplateFaults([_not_found(env, name, exc)]) from None
    except RecursionError as exc:
        raise TemplateFaults([_located(exc, env, name, "templates nested too deep (an "
                                       "include or macro that calls itself?)")]) from None
    except TemplateSyntaxError as exc:
        filename = exc.filename or str(Path(env.loader.searchpath[0]) / name)
        raise TemplateFaults([syntax_fault(filename, _source(filename), exc.lineno,
                                           exc.message or str(exc), env.filters,
                                           bulletin_filters(env), env.tests)]) from None
    except SecurityError as exc:
        raise TemplateFaults([_located(exc, env, name, "refused: the template tried to "
                                       f"reach Python internals ({exc})")]) from None
    except UndefinedError as exc:
        raise TemplateFaults([_undefined(exc, env, name, extra)]) from None
    except TemplateFaults:
        raise
    except (TemplateError, BulletinError, ValueError, TypeError, KeyError,
            AttributeError, ArithmeticError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise TemplateFaults([_located(exc, env, name, message)]) from None


def _source(filename: str) -> str:
    try:
        return Path(filename).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _frame(exc: BaseException) -> tuple[str, int] | None:
    """The template file and line an error was raised from (Jinja rewrites the traceback
    so that template frames carry the template's file name and line)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename.endswith(".j2")]
    return (frames[-1].filename, frames[-1].lineno or 0) if frames else None


def _located(exc: BaseException, env: Any, name: str, message: str,
             suggestion: str = "", word: str = "") -> Fault:
    where = _frame(exc)
    if where is None:
        filename = str(Path(env.loader.searchpath[0]) / name)
        return Fault(shown_path(filename), None, message, suggestion)
    filename, line = where
    if not word:
        quoted = re.search(r"'([\w.]+)'", message)
        word = quoted.group(1) if quoted else ""
    return make_fault(filename, _source(filename), line, message, suggestion, word=word)


def _undefined(exc: Exception, env: Any, name: str, extra: dict[str, Any]) -> Fault:
    """A name (or part of one) that is not defined, with the names that are."""
    message = str(exc)
    m = re.match(r"'([^']+)' is undefined", message)
    if m:
        missing = m.group(1)
        where = _frame(exc)
        local: set[str] = set()
        if where is not None:
            local = set(re.findall(r"\{%-?\s*set\s+(\w+)", _source(where[0])))
        known = set(env.globals) | set(extra) | local
        return _located(exc, env, name, f"'{missing}' is not defined",
                        suggest(missing, known) or "Set it first with {% set " + missing +
                        " = ... %}, or check the spelling.", word=missing)
    m = re.match(r"'(?:dict object|[\w.]+ object)' has no attribute '([^']+)'", message)
    if m:
        return _located(exc, env, name, f"there is no part '{m.group(1)}' here",
                        "Check the spelling of the word after the dot.", word=m.group(1))
    return _located(exc, env, name, message)


def _not_found(env: Any, name: str, exc: Exception) -> Fault:
    missing = getattr(exc, "name", None) or str(exc)
    folder = Path(env.loader.searchpath[0])
    have = [p.relative_to(folder).as_posix() for p in folder.rglob("*.j2")]
    hint = suggest(str(missing), have) or "Check the file name and its folder."
    located = _frame(exc)
    if located is not None and located[0] != str(folder / str(missing)):
        return _located(exc, env, name, f"'{missing}' is not a file in the templates folder "
                        f"({shown_path(folder)})", hint, word=str(missing))
    return Fault(shown_path(folder / str(missing)), None,
                 f"the template '{missing}' is not in {shown_path(folder)}", hint)


# -- what templates can call -------------------------------------------------------------

class _Context:
    """The facts, figures and tables a template may use, behind small functions."""

    def __init__(self, registry: Registry, figures: Sequence[Figure], edition: Edition,
                 previous: Registry | None, tables: Sequence[Table], blocks: _Blocks,
                 templates_dir: Path, figures_dir: Path) -> None:
        self.registry = registry
        self.figures = {f.number: f for f in figures}
        self.edition = EditionView.of(edition, previous is not None)
        try:
            self.caseload_labels = edition.analysis.banding("caseload_band").labels
        except KeyError:
            self.caseload_labels = ()
        self.previous = previous
        a = edition.analysis
        self.variables = tuple(dict.fromkeys((*a.candidates, *a.question_keys)))
        self.tables = {t.id: t for t in tables}
        self.blocks = blocks
        self.templates_dir = templates_dir
        self.figures_dir = figures_dir
        roots = (templates_dir, figures_dir)
        self.quotes_data = _read_toml(templates_dir / "quotes.toml", roots)
        self.references = _read_toml(templates_dir / "references.toml",
                                     roots).get("reference", [])

    def globals(self) -> dict[str, Any]:
        return {
            "fact": self.fact, "has": self.has, "b1": self.b1, "edition": self.edition,
            "previous": self.previous is not None, "figure": self.figure,
            "artwork": self.artwork, "table": self.table, "quotes": self.quotes,
            "cite": self.cite, "references": self.reference_list,
            "caseload_cut": self.caseload_cut(), "in_model": self.in_model,
            "question": self.question, "judgement": self.judgement,
            "tipping_point": self.tipping_point, "linked_standards": self.linked_standards,
            "quotes_illustrative": bool(self.quotes_data.get("illustrative", False)),
        }

    # facts
    def fact(self, *parts: str) -> Fact:
        key = ".".join(str(p) for p in parts)
        try:
            return self.registry[key]
        except KeyError:
            hint = suggest(key, self.registry)
            raise BulletinError(f"unknown fact key {key!r}" + (f"; {hint}" if hint else "")
                                ) from None

    def has(self, *parts: str) -> bool:
        return ".".join(str(p) for p in parts) in self.registry

    def b1(self, question: str, judgement: str) -> dict[str, Fact]:
        """The yes and no sides of one Annex B1 comparison, and the test's p."""
        self._known(question, [k for k, _s, _t in self.edition.questions],
                    "interview question")
        self._known(judgement, [k for k, _s, _t in self.edition.judgements], "judgement")
        return {"yes": self.fact("b1", question, "yes", judgement, "pct_yes"),
                "no": self.fact("b1", question, "no", judgement, "pct_yes"),
                "p": self.fact("b1", question, "diff", judgement, "p")}

    def in_model(self, judgement: str, variable: str) -> bool:
        """Whether the stepwise selection kept `variable` in the judgement's model.

        A misspelt name would silently read as "not kept" and drop a clause from the
        text, so both names must be ones the analysis knows."""
        self._known(judgement, [k for k, _s, _t in self.edition.judgements], "judgement")
        self._known(variable, self.variables, "model variable")
        prefix = f"model.{judgement}.{variable}."
        return any(k.startswith(prefix) for k in self.registry)

    def linked_standards(self) -> list[str]:
        """The standards (in question order) with a question kept in any judgement's model:
        what the analysis supports saying is "linked to the quality of work"."""
        out: list[str] = []
        for key, standard, _text in self.edition.questions:
            if standard not in out and any(self.in_model(j, key)
                                           for j, _s, _t in self.edition.judgements):
                out.append(standard)
        return out

    def caseload_cut(self) -> int | None:
        """The caseload threshold the narrative facts were cut at (fact.caseload_over_<n>)."""
        for key in self.registry:
            m = re.match(r"fact\.caseload_over_(\d+)\.", key)
            if m:
                return int(m.group(1))
        return None

    def tipping_point(self) -> str:
        """The caseload band from which every band has more officers finding their workload
        unmanageable than manageable (Figure 2's data), or "" if there is none."""
        tip = ""
        for label in self._caseload_bands():
            f = self.registry.get(f"fig2.{slug(label)}.pct_yes")
            if f is None or f.suppressed or f.value is None:
                continue
            tip = (tip or label) if f.value < 50 else ""
        return tip

    def _caseload_bands(self) -> tuple[str, ...]:
        return self.caseload_labels

    def question(self, key: str) -> str:
        for k, _standard, text in self.edition.questions:
            if k == key:
                return text
        self._known(key, [k for k, _s, _t in self.edition.questions], "interview question")
        raise AssertionError(key)

    def judgement(self, key: str) -> str:
        for k, short, _text in self.edition.judgements:
            if k == key:
                return short
        self._known(key, [k for k, _s, _t in self.edition.judgements], "judgement")
        raise AssertionError(key)

    @staticmethod
    def _known(value: object, choices: Sequence[str], what: str) -> None:
        if value not in choices:
            hint = suggest(str(value), choices, f"{what}s")
            raise BulletinError(f"unknown {what} {value!r}" + (f"; {hint}" if hint else ""))

    def since_last(self, key: str | Fact) -> str:
        """'up from 46 per cent in 2018/19' etc.; '' without a previous edition."""
        new = key if isinstance(key, Fact) else self.fact(key)
        if self.previous is None:
            return ""
        from bulletin.change import compare_fact

        old = self.previous.get(new.key)
        return words.since_last(new, old, self.edition.previous, compare_fact)

    # blocks
    def figure(self, number: int) -> Markup:
        fig = self.figures.get(number)
        if fig is None:
            have = ", ".join(str(n) for n in sorted(self.figures)) or "none"
            raise BulletinError(f"no figure {number} (figures made: {have})")
        return self.blocks.add(*figure_html(fig.id, fig.number, fig.title, fig.svg,
                                            fig.alt, fig.source))

    def artwork(self, number: int, file: str, title: str, alt: str,
                source: str = "") -> Markup:
        """Hand-made artwork from figures/ (a plain file name: no folders)."""
        if Path(file).name != file or not file.endswith(".svg"):
            raise BulletinError(f"artwork {file!r}: give an .svg file name in figures/")
        path = self.figures_dir / file
        if not path.is_file():
            raise BulletinError(f"artwork {path}: file not found")
        svg = confine.read_text(path, (self.templates_dir, self.figures_dir))
        return self.blocks.add(*figure_html(f"figure{number}", number, title, svg, alt,
                                            source))

    def table(self, ref: str) -> Markup:
        key = ref if ref.startswith("table") else f"table{ref}"
        t = self.tables.get(key)
        if t is None:
            raise BulletinError(f"no table {ref!r} (tables: {', '.join(self.tables)})")
        out = words.typeset_html(t.to_html())  # en dashes and minus signs; CSVs stay ASCII
        return self.blocks.add(out, out + "\n" + table_download_html(t))

    def quotes(self, section: str) -> Markup:
        items = self.quotes_data.get(section)
        if not isinstance(items, list) or not items:
            raise BulletinError(f"{self.templates_dir / 'quotes.toml'}: no quotes for "
                                f"section {section!r}")
        illustrative = bool(self.quotes_data.get("illustrative", False))
        parts = []
        for q in items:
            if not isinstance(q, dict) or "text" not in q:
                raise BulletinError(f"{self.templates_dir / 'quotes.toml'}: a quote in "
                                    f"[{section}] has no text")
            who = html.escape(str(q.get("who", "Responsible officer")))
            note = " (illustrative)" if illustrative else ""
            cls = "quote illustrative" if illustrative else "quote"
            parts.append(f'<blockquote class="{cls}">\n<p class="quote-text">'
                         f'{html.escape(str(q["text"]))}</p>\n'
                         f'<p class="quote-attribution">{who}{note}</p>\n</blockquote>')
        out = "\n".join(parts)
        return self.blocks.add(out, out)

    def cite(self, key: str, pinpoint: str = "") -> str:
        for r in self.references:
            if r.get("key") == key:
                return f"{r['cite']}, {pinpoint}" if pinpoint else str(r["cite"])
        raise BulletinError(f"templates/references.toml: no reference with key {key!r}")

    def reference_list(self) -> list[dict[str, str]]:
        fields = ("key", "cite", "authors", "year", "title", "in", "details", "publisher",
                  "url")
        return [{k: str(r.get(k, "")) for k in fields} for r in self.references]


def read_toml_data(path: Path) -> dict[str, Any]:
    """A templates data file for `check`: empty if it is missing or broken (the render
    reports that with the file's name)."""
    try:
        return _read_toml(path)
    except confine.OutsideError:
        raise
    except BulletinError:
        return {}


def _read_toml(path: Path, roots: tuple[Path, ...] | None = None) -> dict[str, Any]:
    """A templates data file, which must really lie inside `roots` (by default its
    own folder)."""
    roots = roots if roots is not None else (path.parent,)
    try:
        with confine.confined(path, roots).open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise BulletinError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise BulletinError(f"{path}: not valid TOML: {exc}") from None


def table_download_html(t: Table) -> str:
    """The web edition's link to a table's CSV (published beside the page as
    `tables/<id>.csv`). Print has none: a relative link in a PDF goes nowhere."""
    return (f'<p class="table-download"><a href="{html.escape(t.csv_path)}" '
            f'type="text/csv" download>Download Table {html.escape(str(t.number))} '
            f'(CSV)</a></p>')


# -- figures -----------------------------------------------------------------------------

def figure_html(fig_id: str, number: int, title: str, svg: str, alt: str,
                source: str) -> tuple[str, str]:
    """(print, web) HTML of one figure: a tagged <img> for the PDF, inline SVG for the web.

    The title comes first, before the chart, as in government statistical publications:
    a screen reader meets it before the chart, and print needs no reordering.
    """
    caption = f"<figcaption>Figure {number}: {html.escape(title)}</figcaption>"
    src = f'\n<p class="figure-source">{html.escape(source)}</p>' if source else ""
    clean = _strip_prolog(svg)
    data = base64.b64encode(clean.encode("utf-8")).decode("ascii")
    img = f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(alt)}">'
    web_svg = accessible_svg(clean, alt, prefix=f"{fig_id}-")
    wrap = ('<figure class="figure" id="{id}">\n{cap}\n<div class="figure-art">{art}</div>'
            '{src}\n</figure>')
    return (wrap.format(id=fig_id, art=img, cap=caption, src=src),
            wrap.format(id=fig_id, art=web_svg, cap=caption, src=src))


def _strip_prolog(svg: str) -> str:
    start = svg.find("<svg")
    if start < 0:
        raise BulletinError("a figure's SVG has no <svg> element")
    return svg[start:]


def accessible_svg(svg: str, alt: str, prefix: str) -> str:
    """Inline SVG with role="img", an accessible name and a <title>; ids made unique.

    Several charts on one page would otherwise share ids (matplotlib's clip paths, or a
    `<title id="t">`), and a reference would pick up another chart's element.
    """
    svg = _strip_prolog(svg)
    ids = set(_ID_RE.findall(svg))
    if ids:
        def ref(name: str) -> str:
            return prefix + name if name in ids else name
        svg = _ID_RE.sub(lambda m: f'id="{ref(m.group(1))}"', svg)
        svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{ref(m.group(1))})", svg)
        svg = re.sub(r'((?:xlink:)?href)="#([^"]+)"',
                     lambda m: f'{m.group(1)}="#{ref(m.group(2))}"', svg)
        svg = re.sub(r'(aria-(?:labelledby|describedby))="([^"]+)"',
                     lambda m: f'{m.group(1)}="{" ".join(ref(t) for t in m.group(2).split())}"',
                     svg)
    m = re.match(r"<svg\b[^>]*>", svg)
    if m is None:
        raise BulletinError("a figure's SVG has no <svg> element")
    tag = m.group(0)
    new = tag
    if "role=" not in tag:
        new = new[:-1] + ' role="img">'
    if "aria-label" not in tag:
        new = new[:-1] + f' aria-label="{html.escape(alt)}">'
    rest = svg[m.end():]
    if not re.match(r"\s*<title\b", rest):
        rest = f"<title>{html.escape(alt)}</title>" + rest
    return new + rest


# -- headings ----------------------------------------------------------------------------

def extract_headings(text: str) -> list[dict[str, Any]]:
    """The h2 and h3 headings (with ids) of the rendered sections, for the contents."""
    out = []
    for m in _HEADING_RE.finditer(text):
        ident = _ID_RE.search(m.group(2))
        if ident is None or ident.group(1) == CONTENTS:
            continue
        label = re.sub(r"<[^>]+>", "", m.group(3)).strip()
        out.append({"level": int(m.group(1)), "id": ident.group(1),
                    "text": Markup(label)})
    return out

