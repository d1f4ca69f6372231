"""Edition files (TOML) to one frozen value that every later stage reads.

Analysis settings live in ``bulletin/defaults.toml``; an edition file overrides only
what changes, so a new year's file stays a few lines long.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulletin.errors import BulletinError, Problem

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DEFAULTS_FILE = PACKAGE_DIR / "defaults.toml"
EDITIONS_DIR = PROJECT_DIR / "editions"
DEFAULT_EDITION = "2018-19"

ID_RE = re.compile(r"^(\d{4})-(\d{2})$")
NUMBER_RE = re.compile(r"^\d{4}/\d{2}$")
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ID_EXPECTED = 'an edition id such as "2018-19" (a year and the next year\'s last two digits)'


@dataclass(frozen=True)
class Question:
    key: str
    standard: str
    text: str
    not_applicable: bool = False  # "not applicable" is an allowed answer


@dataclass(frozen=True)
class Judgement:
    key: str
    short: str
    text: str


@dataclass(frozen=True)
class Band:
    label: str
    low: int
    high: int | None  # None: open top band


@dataclass(frozen=True)
class Banding:
    name: str
    source: str
    bands: tuple[Band, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(b.label for b in self.bands)


@dataclass(frozen=True)
class Grouping:
    name: str
    source: str
    groups: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(label for label, _ in self.groups)


@dataclass(frozen=True)
class AnalysisSettings:
    questions: tuple[Question, ...]
    judgements: tuple[Judgement, ...]
    candidates: tuple[str, ...]
    case_variables: tuple[str, ...]
    reference: tuple[tuple[str, str], ...]
    bands: tuple[Banding, ...]
    groupings: tuple[Grouping, ...]
    pin: float = 0.05
    pout: float = 0.10
    removal_test: str = "lr"
    min_count: int = 5
    unreliable_base: int = 30
    caseload_threshold: int = 50  # "officers with more than N cases" in the narrative
    max_data_mib: int = 1024  # a larger data file is refused before it is read
    # Bootstrap check of the stepwise selection: resamples per model (0: not run) and
    # the seed every resample's random stream is derived from.
    stability_resamples: int = 200
    stability_seed: int = 20200201

    @property
    def question_keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.questions)

    @property
    def judgement_keys(self) -> tuple[str, ...]:
        return tuple(j.key for j in self.judgements)

    def reference_level(self, variable: str) -> str:
        """Reference category of a categorical variable (questions share one)."""
        refs = dict(self.reference)
        if variable in refs:
            return refs[variable]
        if variable in self.question_keys:
            return refs["question"]
        raise KeyError(variable)

    def banding(self, name: str) -> Banding:
        return {b.name: b for b in self.bands}[name]

    def grouping(self, name: str) -> Grouping:
        return {g.name: g for g in self.groupings}[name]


@dataclass(frozen=True)
class Programme:
    """Facts about the inspection programme that the text states and the case data
    cannot give: how the case samples were sized, and when the earlier programme ran."""

    sample_confidence: int = 80  # per cent: samples sized for this confidence level ...
    sample_margin: int = 5  # ... and this margin of error, in percentage points
    earlier_start: str = "2016-03"  # the earlier programme the findings are compared with
    earlier_end: str = "2017-12"


@dataclass(frozen=True)
class Publisher:
    """Who publishes the bulletin and how readers reach them (printed in the text)."""

    name: str = "HM Inspectorate of Probation"
    address: str = ""
    web: str = ""


@dataclass(frozen=True)
class Edition:
    id: str
    number: str
    title: str
    series: str
    authors: tuple[str, ...]
    fieldwork_start: str
    fieldwork_end: str
    published: str
    data_file: Path
    analysis: AnalysisSettings
    previous: str | None = None
    source_file: Path | None = None
    extra: tuple[tuple[str, Any], ...] = field(default=())
    programme: Programme = field(default_factory=Programme)
    publisher: Publisher = field(default_factory=Publisher)

    @property
    def slug(self) -> str:
        return self.id


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise BulletinError(f"{path}: edition file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise BulletinError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise BulletinError(f"{path}: not a UTF-8 text file (byte {exc.start}); "
                            "expected a TOML edition file saved as UTF-8") from None
    except OSError as exc:
        raise BulletinError(f"{path}: cannot read the edition file: {exc.strerror}") from None


class _Reader:
    """Pulls typed values out of a TOML table, collecting every fault with its key.

    Faults are collected rather than raised so that an analyst editing a new edition
    file sees every blank and typo at once, each naming the key and what it should hold.
    """

    def __init__(self, file: Path) -> None:
        self.file = str(file)
        self.problems: list[Problem] = []

    def fault(self, message: str, expected: str, value: object = None) -> None:
        self.problems.append(Problem(self.file, message, expected,
                                     value=None if value is None else str(value)))

    def get(self, table: dict[str, Any], key: str, kind: type | tuple[type, ...],
            expected: str, default: Any = ..., where: str = "") -> Any:
        name = f"{where}{key}"
        if key not in table:
            if default is ...:
                self.fault(f"missing key '{name}'", expected)
                return None
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
            self.fault(f"key '{name}' has the wrong type", expected, value)
            return None
        if isinstance(value, str) and not value.strip():
            if default is ...:
                self.fault(f"key '{name}' is empty", expected)
            return None if default is ... else default
        return value

    def matches(self, key: str, value: str | None, pattern: re.Pattern[str],
                expected: str) -> str | None:
        if value is not None and not pattern.match(value):
            self.fault(f"key '{key}' is not in the expected form", expected, value)
            return None
        return value


def _strings(r: _Reader, raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = r.get(raw, key, list, "a list of names in quotes", [], where)
    if value is None:
        return ()
    if not all(isinstance(v, str) and v for v in value):
        r.fault(f"key '{where}{key}' has an entry that is not a name", "a list of names in "
                "quotes", value)
        return ()
    return tuple(value)


def _items(r: _Reader, raw: dict[str, Any], key: str, kind: type) -> tuple[Any, ...]:
    """[[analysis.questions]] / [[analysis.judgements]] entries: each needs a string key."""
    entries = r.get(raw, key, list, f"a list of [[analysis.{key}]] tables", [], "analysis.")
    out = []
    for i, e in enumerate(entries or (), start=1):
        if not isinstance(e, dict) or not isinstance(e.get("key"), str) or not e["key"]:
            r.fault(f"analysis.{key} entry {i} has no 'key'",
                    "a table with key = \"...\" (a lower-case name)", e)
            continue
        if kind is Question:
            out.append(Question(e["key"], str(e.get("standard", "")),
                                str(e.get("text", e["key"])),
                                bool(e.get("not_applicable", False))))
        else:
            out.append(Judgement(e["key"], str(e.get("short", e["key"])),
                                 str(e.get("text", e["key"]))))
    return tuple(out)


def _bands(r: _Reader, raw: dict[str, Any]) -> tuple[Banding, ...]:
    expected = '[label, lowest, highest] such as ["21-30", 21, 30] (highest may be left out)'
    out = []
    specs = r.get(raw, "bands", dict, "a table of bandings", {}, "analysis.")
    for name, spec in (specs or {}).items():
        if not isinstance(spec, dict):
            r.fault(f"analysis.bands.{name} is not a table", "{ source = ..., bands = [...] }",
                    spec)
            continue
        parsed = []
        for b in spec.get("bands", []):
            if not (isinstance(b, list) and 2 <= len(b) <= 3 and isinstance(b[0], str)
                    and all(isinstance(x, int) and not isinstance(x, bool) for x in b[1:])):
                r.fault(f"analysis.bands.{name}: malformed band", expected, b)
                continue
            parsed.append(Band(b[0], b[1], b[2] if len(b) == 3 else None))
        bands = tuple(parsed)
        for a, b in zip(bands, bands[1:], strict=False):
            if a.high is None or b.low <= a.high:
                r.fault(f"analysis.bands.{name}: band '{b.label}' overlaps or follows an "
                        "open band", "bands in increasing order that do not overlap",
                        f"{a.label} then {b.label}")
        bands_src = spec.get("source", name)
        bands_src = bands_src if isinstance(bands_src, str) else name
        out.append(Banding(name, bands_src, bands))
    return tuple(out)


def _groupings(r: _Reader, raw: dict[str, Any]) -> tuple[Grouping, ...]:
    expected = 'groups = [["New level", ["old level", ...]], ...]'
    out = []
    specs = r.get(raw, "groupings", dict, "a table of groupings", {}, "analysis.")
    for name, spec in (specs or {}).items():
        groups = spec.get("groups", []) if isinstance(spec, dict) else None
        ok = isinstance(groups, list) and all(
            isinstance(g, list) and len(g) == 2 and isinstance(g[0], str)
            and isinstance(g[1], list) and all(isinstance(x, str) for x in g[1])
            for g in groups)
        if not ok:
            r.fault(f"analysis.groupings.{name} is malformed", expected, spec)
            continue
        out.append(Grouping(name, str(spec.get("source", name)),
                            tuple((g[0], tuple(g[1])) for g in groups)))
    return tuple(out)


# Overrides analysis.stability_resamples: the test suite builds the bulletin many times and
# sets a small number here, so that the bootstrap check runs (in parallel, as in a
# publication build) without costing minutes per build. The number used is in the
# numbers file and printed in the bulletin, and a note on stderr says it was overridden.
RESAMPLES_ENV = "BULLETIN_STABILITY_RESAMPLES"


def _resamples_override(r: _Reader, resamples: int | None) -> int | None:
    text = os.environ.get(RESAMPLES_ENV, "").strip()
    if not text:
        return resamples
    if not text.isdigit():
        r.fault(f"environment variable {RESAMPLES_ENV} is not a whole number",
                "a whole number of resamples (0: none), or unset", text)
        return resamples
    if int(text) != resamples:
        print(f"note: {RESAMPLES_ENV}={text} overrides analysis.stability_resamples "
              f"({resamples})", file=sys.stderr)
    return int(text)


def _analysis(raw: dict[str, Any], r: _Reader) -> AnalysisSettings | None:
    before = len(r.problems)
    w = "analysis."
    questions = _items(r, raw, "questions", Question)
    judgements = _items(r, raw, "judgements", Judgement)
    bands = _bands(r, raw)
    groupings = _groupings(r, raw)
    pin = r.get(raw, "pin", float, "a number between 0 and 1", 0.05, w)
    pout = r.get(raw, "pout", float, "a number between 0 and 1", 0.10, w)
    if pin is not None and pout is not None and not 0 < pin < pout < 1:
        r.fault("analysis.pin must be below analysis.pout", "0 < pin < pout < 1",
                f"pin={pin}, pout={pout}")
    removal = r.get(raw, "removal_test", str, '"lr", "wald" or "conditional"', "lr", w)
    if removal not in (None, "lr", "wald", "conditional"):
        r.fault("analysis.removal_test is not known", '"lr", "wald" or "conditional"', removal)
    min_count = r.get(raw, "min_count", int, "a whole number of at least 1", 5, w)
    if min_count is not None and min_count < 1:
        r.fault("key 'analysis.min_count' is too small", "a whole number of at least 1",
                min_count)
    unreliable = r.get(raw, "unreliable_base", int, "a whole number", 30, w)
    threshold = r.get(raw, "caseload_threshold", int, "a whole number of cases", 50, w)
    if threshold is not None and threshold < 1:
        r.fault("key 'analysis.caseload_threshold' is too small", "a whole number of cases",
                threshold)
    max_mib = r.get(raw, "max_data_mib", int, "a whole number of MiB, at least 1", 1024, w)
    if max_mib is not None and max_mib < 1:
        r.fault("key 'analysis.max_data_mib' is too small", "a whole number of MiB, at "
                "least 1", max_mib)
    resamples = r.get(raw, "stability_resamples", int, "a whole number of resamples (0: none)",
                      200, w)
    if resamples is not None and resamples < 0:
        r.fault("key 'analysis.stability_resamples' is negative",
                "a whole number of resamples (0: none)", resamples)
    resamples = _resamples_override(r, resamples)
    seed = r.get(raw, "stability_seed", int, "a whole number of 0 or more", 20200201, w)
    if seed is not None and seed < 0:
        r.fault("key 'analysis.stability_seed' is negative", "a whole number of 0 or more",
                seed)
    candidates = _strings(r, raw, "candidates", w)
    case_variables = _strings(r, raw, "case_variables", w)
    reference = r.get(raw, "reference", dict, "a table of variable = \"reference level\"",
                      {}, w) or {}
    bad_refs = {k: v for k, v in reference.items() if not isinstance(v, str)}
    if bad_refs:
        r.fault("analysis.reference has a level that is not text",
                'variable = "reference level"', bad_refs)
    if len(r.problems) > before:
        return None
    return AnalysisSettings(
        questions=questions, judgements=judgements, candidates=candidates,
        case_variables=case_variables, reference=tuple(sorted(reference.items())),
        bands=bands, groupings=groupings, pin=pin, pout=pout,
        removal_test=removal, min_count=min_count, unreliable_base=unreliable,
        caseload_threshold=threshold, max_data_mib=max_mib, stability_resamples=resamples,
        stability_seed=seed,
    )


def edition_path(name_or_path: str | Path) -> Path:
    """An edition id (``2018-19``) names ``editions/<id>.toml``; anything else is a path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    return EDITIONS_DIR / f"{name_or_path}.toml"


def id_problem(edition_id: str) -> str | None:
    """Why `edition_id` is not a valid edition id, or None when it is."""
    m = ID_RE.match(edition_id)
    if not m:
        return "is not in the expected form"
    if (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        return "does not name two consecutive years"
    return None


# Every key [analysis] may hold: an edition may override any of them, and a key outside
# this list is a mistake (a misspelt min_count would otherwise leave the default in force).
ANALYSIS_KEYS = ("pin", "pout", "removal_test", "min_count", "unreliable_base",
                 "caseload_threshold", "max_data_mib", "stability_resamples",
                 "stability_seed", "candidates", "case_variables", "reference", "bands",
                 "groupings", "judgements", "questions")
KNOWN_KEYS = ("id", "number", "title", "series", "authors", "fieldwork_start",
              "fieldwork_end", "published", "data", "previous", "analysis", "programme",
              "publisher")


def _programme(r: _Reader, table: dict[str, Any]) -> Programme:
    """[programme] from the defaults, with the edition's own [programme] over it."""
    w = "programme."
    p = Programme(
        sample_confidence=r.get(table, "sample_confidence", int, "a whole per cent", 80, w),
        sample_margin=r.get(table, "sample_margin", int, "a whole number of points", 5, w),
        earlier_start=r.get(table, "earlier_start", str, "a month as YYYY-MM", "2016-03", w),
        earlier_end=r.get(table, "earlier_end", str, "a month as YYYY-MM", "2017-12", w),
    )
    for key in ("earlier_start", "earlier_end"):
        r.matches(f"programme.{key}", getattr(p, key), MONTH_RE, "a month as YYYY-MM")
    if p.sample_confidence is not None and not 0 < p.sample_confidence < 100:
        r.fault("key 'programme.sample_confidence' is out of range", "a per cent from 1 to 99",
                p.sample_confidence)
    return p


def _publisher(r: _Reader, table: dict[str, Any]) -> Publisher:
    w = "publisher."
    return Publisher(
        name=r.get(table, "name", str, "the publisher's name", "HM Inspectorate of Probation",
                   w),
        address=r.get(table, "address", str, "a postal address on one line", "", w),
        web=r.get(table, "web", str, "a web address starting https://", "", w),
    )


def _check_edition(r: _Reader, path: Path, v: dict[str, Any]) -> None:
    """Checks beyond types: forms of ids, numbers and dates, and how they fit together."""
    if v["id"] is not None:
        why = id_problem(v["id"])
        if why:
            r.fault(f"key 'id' {why}", ID_EXPECTED, v["id"])
        elif ID_RE.match(path.stem) and path.stem != v["id"]:
            r.fault("key 'id' does not match the file name",
                    f'id = "{path.stem}" in {path.name}', v["id"])
    r.matches("number", v["number"], NUMBER_RE, 'a bulletin number such as "2020/01"')
    start = r.matches("fieldwork_start", v["fieldwork_start"], MONTH_RE, "a month as YYYY-MM")
    end = r.matches("fieldwork_end", v["fieldwork_end"], MONTH_RE, "a month as YYYY-MM")
    if start and end and start > end:
        r.fault("fieldwork_start is after fieldwork_end", "the first month, then the last",
                f"{start} to {end}")
    if v["published"] is not None:
        try:
            dt.date.fromisoformat(v["published"])
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", v["published"]):
                raise ValueError
        except ValueError:
            r.fault("key 'published' is not a date", "a date as YYYY-MM-DD", v["published"])
    if v["authors"] is not None and (
            not v["authors"] or not all(isinstance(a, str) and a.strip() for a in v["authors"])):
        r.fault("key 'authors' needs at least one name, each in quotes",
                'authors = ["First Author", "Second Author"]', v["authors"])
    prev = v["previous"]
    if prev is not None:
        why = id_problem(prev)
        if why:
            r.fault(f"key 'previous' {why}", ID_EXPECTED, prev)
        elif v["id"] is not None and prev >= v["id"]:
            r.fault("key 'previous' is not an earlier edition",
                    f"an edition before {v['id']}", prev)
        elif not (path.parent / f"{prev}.toml").is_file() and not edition_path(prev).is_file():
            r.fault("key 'previous' names an edition with no file",
                    f"an existing editions/{prev}.toml", prev)


def _unknown_keys(r: _Reader, raw: dict[str, Any]) -> None:
    """A misspelt optional key would otherwise be silently ignored (kept as an extra)."""
    for k in raw:
        if k in KNOWN_KEYS:
            continue
        near = difflib.get_close_matches(k, KNOWN_KEYS, n=1, cutoff=0.8)
        if near:
            r.fault(f"unknown key '{k}'", f"'{near[0]}' (check the spelling)")
    analysis = raw.get("analysis")
    if isinstance(analysis, dict):
        for k in analysis:
            if k not in ANALYSIS_KEYS:
                near = difflib.get_close_matches(k, ANALYSIS_KEYS, n=1, cutoff=0.6)
                hint = f"'analysis.{near[0]}' (check the spelling), or " if near else ""
                r.fault(f"unknown key 'analysis.{k}'",
                        hint + "one of " + ", ".join(ANALYSIS_KEYS))


def load_edition(name_or_path: str | Path = DEFAULT_EDITION) -> Edition:
    path = edition_path(name_or_path)
    raw = _read_toml(path)
    defaults = _read_toml(DEFAULTS_FILE)
    r = _Reader(path)
    own_analysis = r.get(raw, "analysis", dict, "an [analysis] table", {})
    merged = _merge(defaults, {"analysis": own_analysis or {}})
    analysis = _analysis(merged["analysis"], r)
    ed = raw
    values = {
        "id": r.get(ed, "id", str, ID_EXPECTED),
        "number": r.get(ed, "number", str, "a bulletin number such as \"2020/01\""),
        "title": r.get(ed, "title", str, "the bulletin's title"),
        "series": r.get(ed, "series", str, "the series name", "Research & Analysis Bulletin"),
        "authors": r.get(ed, "authors", list, "a list of names in quotes"),
        "fieldwork_start": r.get(ed, "fieldwork_start", str, "a month as YYYY-MM"),
        "fieldwork_end": r.get(ed, "fieldwork_end", str, "a month as YYYY-MM"),
        "published": r.get(ed, "published", str, "a date as YYYY-MM-DD"),
        "data": r.get(ed, "data", str, "the path of the case-level data file"),
        "previous": r.get(ed, "previous", str, "the id of last year's edition", None),
    }
    _check_edition(r, path, values)
    own = {k: r.get(raw, k, dict, f"a [{k}] table", {}) or {} for k in ("programme", "publisher")}
    programme = _programme(r, _merge(defaults.get("programme", {}), own["programme"]))
    publisher = _publisher(r, _merge(defaults.get("publisher", {}), own["publisher"]))
    _unknown_keys(r, raw)
    if r.problems or analysis is None:
        raise BulletinError(f"{path}: the edition file has problems", tuple(r.problems))
    data_file = Path(values["data"])
    if not data_file.is_absolute():
        data_file = (path.parent / data_file).resolve()
    extra = tuple(sorted((k, v) for k, v in raw.items() if k not in KNOWN_KEYS))
    return Edition(
        id=values["id"], number=values["number"], title=values["title"],
        series=values["series"], authors=tuple(values["authors"]),
        fieldwork_start=values["fieldwork_start"], fieldwork_end=values["fieldwork_end"],
        published=values["published"], data_file=data_file, analysis=analysis,
        previous=values["previous"], source_file=path, extra=extra,
        programme=programme, publisher=publisher,
    )


def previous_path(edition: Edition) -> Path | None:
    """The file of the edition's `previous`: beside the edition's own file if it is there
    (an editions folder kept elsewhere), else in ``editions/``."""
    if not edition.previous:
        return None
    if edition.source_file is not None:
        beside = edition.source_file.parent / f"{edition.previous}.toml"
        if beside.is_file():
            return beside
    return edition_path(edition.previous)


def load_previous(edition: Edition) -> Edition | None:
    """Last year's edition, or None when the edition names no `previous`."""
    path = previous_path(edition)
    return None if path is None else load_edition(path)


def default_settings() -> AnalysisSettings:
    """Analysis settings from the defaults alone (for loading data without an edition)."""
    r = _Reader(DEFAULTS_FILE)
    settings = _analysis(_read_toml(DEFAULTS_FILE)["analysis"], r)
    if settings is None:
        raise BulletinError(f"{DEFAULTS_FILE}: defaults have problems", tuple(r.problems))
    return settings


# -- starting next year's edition ------------------------------------------------------

# Keys a new edition must not inherit: (key, what to write in the TODO comment).
BLANKED = (
    ("number", "this bulletin's number, as \"YYYY/NN\""),
    ("fieldwork_start", "first month of this year's fieldwork, YYYY-MM"),
    ("fieldwork_end", "last month of this year's fieldwork, YYYY-MM"),
    ("published", "publication date, YYYY-MM-DD"),
    ("data", "this year's case-level data file (a path relative to this file)"),
)
_KEY_LINE = re.compile(r"^([A-Za-z0-9_\-]+)\s*=")


def edition_ids(directory: Path = EDITIONS_DIR) -> list[str]:
    """Ids of the edition files in `directory`, oldest first."""
    return sorted(p.stem for p in directory.glob("*.toml") if id_problem(p.stem) is None)


def new_edition_text(new_id: str, base_id: str, base_text: str) -> str:
    """`base_text` (last edition's file) rewritten for `new_id`.

    Works on lines rather than re-serialising the TOML, so that the analyst's comments and
    any [analysis] overrides carry over exactly as written.
    """
    old = tomllib.loads(base_text)
    lines = base_text.splitlines()
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)  # the old edition's own description
    y = int(new_id[:4])
    out = [
        f"# The {y}/{(y + 1) % 100:02d} edition, started from {base_id} by "
        f"`bulletin new-edition {new_id}`.",
        "# Fill in every TODO, then check the data with",
        f"#   bulletin validate <data file> --edition {new_id}",
        f"# and build with `bulletin build --edition {new_id}`.",
    ]
    blanked = dict(BLANKED)
    top_level = True
    seen: set[str] = set()
    for line in lines:
        if line.lstrip().startswith("["):
            if "previous" not in seen:
                out.append(f'previous = "{base_id}"')
                seen.add("previous")
            top_level = False
        m = _KEY_LINE.match(line) if top_level else None
        key = m.group(1) if m else None
        if key == "id":
            out.append(f'id = "{new_id}"')
        elif key in blanked:
            was = old.get(key)
            hint = f" (last edition: {json.dumps(was)})" if isinstance(was, str) else ""
            out.append(f'{key} = ""  # TODO: {blanked[key]}{hint}')
        elif key == "previous":
            out.append(f'previous = "{base_id}"')
        else:
            out.append(line)
        if key:
            seen.add(key)
    for key, what in BLANKED:
        if key not in seen:
            out.append(f'{key} = ""  # TODO: {what}')
    if "previous" not in seen:
        out.append(f'previous = "{base_id}"')
    text = "\n".join(out) + "\n"
    check = tomllib.loads(text)
    if check.get("id") != new_id or check.get("previous") != base_id or any(
            check.get(k) != "" for k, _ in BLANKED):
        raise BulletinError(f"could not start {new_id} from {base_id}: the file's layout "
                            "is unusual; copy it by hand and edit the keys "
                            + ", ".join(["id", "previous", *blanked]))
    return text


def new_edition_command(new_id: str, directory: Path | None = None) -> int:
    """Writes `<directory>/<new_id>.toml` from the latest earlier edition; never overwrites."""
    directory = directory or EDITIONS_DIR
    why = id_problem(new_id)
    if why:
        raise BulletinError(f"new edition id '{new_id}' {why}; expected {ID_EXPECTED}")
    target = directory / f"{new_id}.toml"
    if target.exists():
        raise BulletinError(f"{target} already exists; refusing to overwrite it "
                            "(delete or rename it first if you mean to start again)")
    earlier = [i for i in edition_ids(directory) if i < new_id]
    if not earlier:
        raise BulletinError(f"{directory}: no edition before {new_id} to start from; "
                            "expected a file such as editions/2018-19.toml")
    base_id = earlier[-1]
    base = directory / f"{base_id}.toml"
    text = new_edition_text(new_id, base_id, base.read_text(encoding="utf-8"))
    try:
        with target.open("x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise BulletinError(f"{target} already exists; refusing to overwrite it") from None
    todo = ", ".join(k for k, _ in BLANKED)
    print(f"wrote {target} (from {base_id}; previous = \"{base_id}\")")
    print(f"fill in the TODOs ({todo}), then build with "
          f"`bulletin build --edition {new_id}`", file=sys.stderr)
    return 0
