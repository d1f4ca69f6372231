"""Edition files (TOML) to one frozen value that every later stage reads.

Analysis settings live in ``bulletin/defaults.toml``; an edition file overrides only
what changes, so a new year's file stays a few lines long.
"""

from __future__ import annotations

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


class _Reader:
    """Pulls typed values out of a TOML table, collecting every fault with its key."""

    def __init__(self, file: Path) -> None:
        self.file = str(file)
        self.problems: list[Problem] = []

    def get(self, table: dict[str, Any], key: str, kind: type | tuple[type, ...],
            expected: str, default: Any = ...) -> Any:
        if key not in table:
            if default is ...:
                self.problems.append(Problem(self.file, f"missing key '{key}'", expected))
                return None
            return default
        value = table[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            self.problems.append(Problem(self.file, f"key '{key}' has the wrong type",
                                         expected, value=str(value)))
            return None
        return value


def _analysis(raw: dict[str, Any], r: _Reader) -> AnalysisSettings | None:
    questions = tuple(
        Question(q["key"], q.get("standard", ""), q.get("text", q["key"]),
                 bool(q.get("not_applicable", False)))
        for q in raw.get("questions", [])
    )
    judgements = tuple(
        Judgement(j["key"], j.get("short", j["key"]), j.get("text", j["key"]))
        for j in raw.get("judgements", [])
    )
    bands = []
    for name, spec in raw.get("bands", {}).items():
        parsed = []
        for b in spec.get("bands", []):
            if not (isinstance(b, list) and 2 <= len(b) <= 3 and isinstance(b[0], str)):
                r.problems.append(Problem(r.file, f"analysis.bands.{name}: malformed band",
                                          "[label, lowest, highest]", value=str(b)))
                continue
            parsed.append(Band(b[0], int(b[1]), int(b[2]) if len(b) == 3 else None))
        bands.append(Banding(name, spec.get("source", name), tuple(parsed)))
    groupings = tuple(
        Grouping(name, spec.get("source", name),
                 tuple((g[0], tuple(g[1])) for g in spec.get("groups", [])))
        for name, spec in raw.get("groupings", {}).items()
    )
    pin = r.get(raw, "pin", float, "a number between 0 and 1", 0.05)
    pout = r.get(raw, "pout", float, "a number between 0 and 1", 0.10)
    if pin is not None and pout is not None and not 0 < pin < pout < 1:
        r.problems.append(Problem(r.file, "analysis.pin must be below analysis.pout",
                                  "0 < pin < pout < 1", value=f"pin={pin}, pout={pout}"))
    removal = r.get(raw, "removal_test", str, '"lr", "wald" or "conditional"', "lr")
    if removal not in (None, "lr", "wald", "conditional"):
        r.problems.append(Problem(r.file, "analysis.removal_test is not known",
                                  '"lr", "wald" or "conditional"', value=removal))
    min_count = r.get(raw, "min_count", int, "a whole number", 5)
    unreliable = r.get(raw, "unreliable_base", int, "a whole number", 30)
    candidates = tuple(raw.get("candidates", ()))
    if r.problems:
        return None
    return AnalysisSettings(
        questions=questions, judgements=judgements, candidates=candidates,
        case_variables=tuple(raw.get("case_variables", ())),
        reference=tuple(sorted(raw.get("reference", {}).items())),
        bands=tuple(bands), groupings=groupings, pin=pin, pout=pout,
        removal_test=removal, min_count=min_count, unreliable_base=unreliable,
    )


def edition_path(name_or_path: str | Path) -> Path:
    """An edition id (``2018-19``) names ``editions/<id>.toml``; anything else is a path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        return p
    return EDITIONS_DIR / f"{name_or_path}.toml"


def load_edition(name_or_path: str | Path = DEFAULT_EDITION) -> Edition:
    path = edition_path(name_or_path)
    raw = _read_toml(path)
    defaults = _read_toml(DEFAULTS_FILE)
    merged = _merge(defaults, {"analysis": raw.get("analysis", {})})
    r = _Reader(path)
    analysis = _analysis(merged["analysis"], r)
    ed = raw
    values = {
        "id": r.get(ed, "id", str, "an edition id such as \"2018-19\""),
        "number": r.get(ed, "number", str, "a bulletin number such as \"2020/01\""),
        "title": r.get(ed, "title", str, "the bulletin's title"),
        "series": r.get(ed, "series", str, "the series name", "Research & Analysis Bulletin"),
        "authors": r.get(ed, "authors", list, "a list of names"),
        "fieldwork_start": r.get(ed, "fieldwork_start", str, "a month as YYYY-MM"),
        "fieldwork_end": r.get(ed, "fieldwork_end", str, "a month as YYYY-MM"),
        "published": r.get(ed, "published", str, "a date as YYYY-MM-DD"),
        "data": r.get(ed, "data", str, "the path of the case-level data file"),
        "previous": r.get(ed, "previous", str, "the id of last year's edition", None),
    }
    if r.problems or analysis is None:
        raise BulletinError(f"{path}: the edition file has problems", tuple(r.problems))
    data_file = Path(values["data"])
    if not data_file.is_absolute():
        data_file = (path.parent / data_file).resolve()
    known = {"id", "number", "title", "series", "authors", "fieldwork_start",
             "fieldwork_end", "published", "data", "previous", "analysis"}
    extra = tuple(sorted((k, v) for k, v in raw.items() if k not in known))
    return Edition(
        id=values["id"], number=values["number"], title=values["title"],
        series=values["series"], authors=tuple(values["authors"]),
        fieldwork_start=values["fieldwork_start"], fieldwork_end=values["fieldwork_end"],
        published=values["published"], data_file=data_file, analysis=analysis,
        previous=values["previous"], source_file=path, extra=extra,
    )


def default_settings() -> AnalysisSettings:
    """Analysis settings from the defaults alone (for loading data without an edition)."""
    r = _Reader(DEFAULTS_FILE)
    settings = _analysis(_read_toml(DEFAULTS_FILE)["analysis"], r)
    if settings is None:
        raise BulletinError(f"{DEFAULTS_FILE}: defaults have problems", tuple(r.problems))
    return settings
