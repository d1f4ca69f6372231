"""The facts registry: every statistic the bulletin quotes, once, under a stable key.

The numbers file, the tables, the figures and the text all read from one `Registry`.
Nothing after this stage reads the case data.

Key grammar (lower case, dot-separated, levels slugged with `slug`):
  table1.<question>.pct_yes|n|yes
  table2.<judgement>.pct_yes|n|yes
  b1.<question|caseload_band>.<level>.<judgement>.pct_yes|n
  b2.<variable>.<level>.<judgement>.pct_yes|n
  model.<judgement>.<variable>[.<level>].b|se|odds_ratio|p
  model.<judgement>.constant.b|se, model.<judgement>.n
  fact.<name>
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from bulletin.errors import BulletinError

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_+\-]*(\.[a-z0-9][a-z0-9_+\-]*)+$")
UNITS = ("percent", "count", "coefficient", "odds_ratio", "p_value", "statistic",
         "text", "month", "number")
CSV_COLUMNS = ("key", "value", "label", "unit", "count", "base", "suppressed", "unreliable")


def slug(level: str) -> str:
    """A level as it appears in a key: 'High/Very high' -> 'high_very_high'."""
    s = level.strip().lower()
    s = re.sub(r"[/\s]+", "_", s)
    s = re.sub(r"[^a-z0-9_+\-]", "", s)
    return s.strip("_")


@dataclass(frozen=True)
class Fact:
    """One statistic. Percentages are unrounded on the 0-100 scale.

    `count` and `base` are set for proportions (yes count and number answering).
    A suppressed fact keeps its value for the analyst's numbers file but every
    reader-facing output must print it as suppressed.
    """

    key: str
    value: float | int | str | None
    label: str
    unit: str = "number"
    count: int | None = None
    base: int | None = None
    suppressed: bool = False
    unreliable: bool = False

    def __post_init__(self) -> None:
        if not KEY_RE.match(self.key):
            raise ValueError(f"fact key {self.key!r} does not follow the key grammar")
        if self.unit not in UNITS:
            raise ValueError(f"fact {self.key}: unknown unit {self.unit!r}")


class Registry(Mapping[str, Fact]):
    """An immutable mapping from key to Fact. Build it with `RegistryBuilder`."""

    def __init__(self, facts: Iterable[Fact]) -> None:
        items: dict[str, Fact] = {}
        for f in facts:
            if f.key in items:
                raise ValueError(f"fact {f.key} registered twice")
            items[f.key] = f
        self._facts = dict(sorted(items.items()))

    def __getitem__(self, key: str) -> Fact:
        try:
            return self._facts[key]
        except KeyError:
            raise KeyError(f"no fact with key {key!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._facts)

    def __len__(self) -> int:
        return len(self._facts)

    def value(self, key: str) -> float | int | str | None:
        return self[key].value

    def with_prefix(self, prefix: str) -> dict[str, Fact]:
        return {k: f for k, f in self._facts.items() if k.startswith(prefix)}

    # -- numbers files ----------------------------------------------------------
    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for f in self._facts.values():
            w.writerow([f.key, _fmt(f.value), f.label, f.unit,
                        "" if f.count is None else f.count,
                        "" if f.base is None else f.base,
                        int(f.suppressed), int(f.unreliable)])
        return buf.getvalue()

    def to_json(self) -> str:
        return json.dumps({k: asdict(f) for k, f in self._facts.items()},
                          indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_csv(cls, path: Path) -> Registry:
        """Read a numbers.csv back (for diff). Faults name the file and line."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BulletinError(f"{path}: numbers file not found") from None
        except UnicodeDecodeError:
            raise BulletinError(f"{path}: not a UTF-8 text file") from None
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in ("key", "value", "label") if c not in (reader.fieldnames or [])]
        if missing:
            raise BulletinError(f"{path}: not a numbers file; missing columns {missing}")
        facts = []
        for line, row in enumerate(reader, start=2):
            try:
                facts.append(Fact(
                    key=row["key"], value=_parse(row["value"]), label=row["label"],
                    unit=row.get("unit") or "number",
                    count=int(row["count"]) if row.get("count") else None,
                    base=int(row["base"]) if row.get("base") else None,
                    suppressed=row.get("suppressed") == "1",
                    unreliable=row.get("unreliable") == "1",
                ))
            except (ValueError, TypeError) as exc:
                raise BulletinError(f"{path}, line {line}: {exc}") from None
        return cls(facts)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return repr(round(value, 10))
    return str(value)


def _parse(text: str) -> float | int | str | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


class RegistryBuilder:
    """Collects facts, applying disclosure control to proportions and counts."""

    def __init__(self, min_count: int = 5, unreliable_base: int = 30) -> None:
        self.min_count = min_count
        self.unreliable_base = unreliable_base
        self._facts: list[Fact] = []

    def add(self, fact: Fact) -> None:
        self._facts.append(fact)

    def number(self, key: str, value: float | int | str | None, label: str,
               unit: str = "number") -> None:
        self.add(Fact(key, value, label, unit))

    def count(self, key: str, value: int, label: str) -> None:
        """A count of cases: suppressed when it is a small non-zero count."""
        self.add(Fact(key, int(value), label, "count",
                      suppressed=0 < value < self.min_count))

    def proportion(self, prefix: str, yes: int, n: int, label: str) -> None:
        """Registers `<prefix>.pct_yes` and `<prefix>.n` (and nothing else).

        The percentage is suppressed where the base or the yes count, or the no count,
        is a small non-zero number (a count could otherwise be derived).
        """
        small = (0 < n < self.min_count or 0 < yes < self.min_count
                 or 0 < n - yes < self.min_count)
        pct = 100.0 * yes / n if n else None
        self.add(Fact(f"{prefix}.pct_yes", pct, f"{label}: % yes", "percent",
                      count=int(yes), base=int(n), suppressed=small,
                      unreliable=0 < n < self.unreliable_base))
        self.add(Fact(f"{prefix}.n", int(n), f"{label}: number of cases", "count",
                      suppressed=0 < n < self.min_count))

    def build(self) -> Registry:
        return Registry(self._facts)


