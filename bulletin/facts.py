"""The facts registry: every statistic the bulletin quotes, once, under a stable key.

The numbers file, the tables, the figures and the text all read from one `Registry`.
Nothing after this stage reads the case data.

Key grammar: lower case, dot-separated parts of [a-z0-9_+-]; levels slugged with `slug`
("High/Very high" -> high_very_high, "71+" -> 71+). <q> a question key, <j> a judgement
key, <k> a row or step number from 1, <nn> a two-digit provider number from 01.
  table1.<q>.pct_yes|n|yes                  Table 1 (interviewed cases; yes / (yes + no))
  table2.<j>.pct_yes|n|yes                  Table 2
  b1.<q>.<yes|no>.<j>.pct_yes|n             Annex B1, by interview answer
  b1.caseload_band.<band>.<j>.pct_yes|n     Annex B1, by caseload band
  b1.<q>.diff.<j>.p                         yes-vs-no difference (test named in the label)
  b2.<variable>.<level>.<j>.pct_yes|n       Annex B2, by case variable
  fig2.<band>.yes|no|pct_yes|n              workload manageable answers by caseload band
  model.<j>.n|minus2ll|chi2|chi2_df|chi2_p|nagelkerke_r2|cox_snell_r2|selected
  model.<j>.<variable>.<level>.b|se|wald|p|odds_ratio|ci_low|ci_high   categorical term
  model.<j>.<variable>.b|se|wald|p|odds_ratio|ci_low|ci_high           continuous term
  model.<j>.<variable>.wald|df|p|reference  a categorical variable's overall (block) test
  model.<j>.constant.b|se|wald|p
  model.<j>.step.<k>.variable|action|statistic|df|p
  model.<j>.term.<k>.variable|level|kind    print order of the model tables' rows
  stability.<j>.<variable>.share           share (0-1) of bootstrap resamples whose
                                            stepwise selection includes the candidate
  stability.<j>.exact_set.share             share selecting exactly the published set
  stability.<j>.resamples|failed            resamples run (the shares' base) / not runnable
  robust.<j>.<variable>[.<level>].se|p      standard error clustered by provider, its p
  robust.<j>.<variable>.wald|df|p           a several-level variable's overall test, ditto
  robust.<j>.constant.se|p
  robust.<j>.clusters|changed|changed_count providers; variables whose significance changes
  robust.alpha                              the level at which a change is judged
  a1.<nn>.provider|provider_type|report_month|cases|interviews          Annex A
  fact.<name>[.<part>...]                   facts quoted in the text

Percentages are unrounded on the 0-100 scale and carry their count and base.

Disclosure control (`RegistryBuilder`): a count of cases below `min_count` (but not
zero) is suppressed, and so is every percentage on such a base. A percentage whose yes
or no count is small is suppressed too, and so are the yes/no counts published beside
a base (secondary suppression): with the base printed, either count or the percentage
would give the small count away. A percentage on a base below `unreliable_base` is
flagged unreliable. Suppressed facts keep their values in the analyst's numbers file;
reader-facing outputs must print them as suppressed.
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
from typing import Any

from bulletin.errors import BulletinError

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_+\-]*(\.[a-z0-9][a-z0-9_+\-]*)+$")
UNITS = ("percent", "count", "coefficient", "odds_ratio", "p_value", "statistic",
         "text", "month", "number")
TEXT_UNITS = ("text", "month")  # values read back as text, never as numbers
# How every reader-facing output shows a suppressed figure (the GSS "confidential" mark).
SUPPRESSED_MARK = "[c]"
CSV_COLUMNS = ("key", "value", "label", "unit", "count", "base", "suppressed", "unreliable")


def slug(level: str) -> str:
    """A level as it appears in a key: 'High/Very high' -> 'high_very_high'."""
    s = level.strip().lower()
    s = re.sub(r"[/\s]+", "_", s)
    s = re.sub(r"[^a-z0-9_+\-]", "", s)
    s = re.sub(r"_+", "_", s)  # "Hampshire & Isle of Wight" -> hampshire_isle_of_wight
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

    def to_frame(self) -> Any:
        """One row per fact (key, value, unit, label, count, base, suppressed,
        unreliable), for pandas and notebooks; values keep their Python types."""
        import pandas as pd

        frame = pd.DataFrame(
            [(f.key, f.value, f.unit, f.label, f.count, f.base, f.suppressed, f.unreliable)
             for f in self._facts.values()],
            columns=["key", "value", "unit", "label", "count", "base", "suppressed",
                     "unreliable"])
        for column in ("count", "base"):
            frame[column] = frame[column].astype("Int64")
        return frame

    def _repr_html_(self) -> str:
        return (f"<p>{len(self):,} facts</p>"
                + self.to_frame().to_html(index=False, max_rows=40))

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
        """JSON has no NaN or infinity: such values are written as null."""
        out = {}
        for k, f in self._facts.items():
            d = asdict(f)
            if isinstance(f.value, float) and not math.isfinite(f.value):
                d["value"] = None
            out[k] = d
        return json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_csv(cls, path: Path) -> Registry:
        """Read a numbers.csv back (for diff). Faults name the file and line.

        A file cut off while being written (a short row, a last row with no line end)
        is refused rather than read as a change in the numbers.
        """
        facts = []
        first_line: dict[str, int] = {}
        for line, row in _numbers_rows(path):
            key = row["key"]
            if key in first_line:
                raise BulletinError(f"{path}, line {line}: key {key!r} appears again "
                                    f"(first on line {first_line[key]}); expected each "
                                    "key once")
            first_line[key] = line
            unit = row.get("unit", "number")
            text = row["value"] or ""
            try:
                facts.append(Fact(
                    key=row["key"], label=row["label"], unit=unit,
                    value=(text or None) if unit in TEXT_UNITS else _parse(text),
                    count=_whole(row, "count"),
                    base=_whole(row, "base"),
                    suppressed=row.get("suppressed") == "1",
                    unreliable=row.get("unreliable") == "1",
                ))
            except (ValueError, TypeError) as exc:
                raise BulletinError(f"{path}, line {line}: {exc}") from None
        return cls(facts)


def _numbers_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, row) for each row of a numbers file, checked for the shape the build
    writes: every row as many fields as the header, a key, a label and (where the file
    has the column) a unit, flags 0 or 1, and a line end after the last row."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BulletinError(f"{path}: numbers file not found") from None
    except IsADirectoryError:
        raise BulletinError(f"{path}: a folder, not a numbers file") from None
    except UnicodeDecodeError:
        raise BulletinError(f"{path}: not a UTF-8 text file") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1  # the line the row being read starts on
    try:
        header = next(reader, [])
        missing = [c for c in ("key", "value", "label") if c not in header]
        if missing:
            raise BulletinError(f"{path}: not a numbers file; missing columns {missing}")
        if not text.endswith(("\n", "\r")):
            last = text.count("\n") + 1
            raise BulletinError(f"{path}, line {last}: the file ends in the middle of a "
                                "row (no line end after it); expected a complete numbers "
                                "file: was it cut off while being written?")
        start = reader.line_num + 1
        for fields in reader:
            line, start = start, reader.line_num + 1
            if not fields:
                continue
            if len(fields) != len(header):
                raise BulletinError(
                    f"{path}, line {line}: {len(fields)} field(s) where the header has "
                    f"{len(header)}; expected {','.join(header)}")
            row = dict(zip(header, fields, strict=True))
            for column in ("key", "label", "unit"):
                if column in row and not row[column].strip():
                    raise BulletinError(f"{path}, line {line}, column '{column}': empty; "
                                        f"expected the fact's {column}")
            for column in ("suppressed", "unreliable"):
                if row.get(column, "0") not in ("0", "1"):
                    raise BulletinError(f"{path}, line {line}, column '{column}': "
                                        f"{row[column]!r}; expected 0 or 1")
            yield line, row
    except csv.Error as exc:
        raise BulletinError(f"{path}, line {start}: not readable as CSV ({exc}); expected "
                            "each quoted field to be closed on its row") from None


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        # 12 significant digits: stable bytes across platforms, and unlike rounding to
        # decimal places it keeps very small p-values
        return repr(float(format(value, ".12g")))
    return str(value)


def _whole(row: Mapping[str, str | None], column: str) -> int | None:
    text = row.get(column)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"column '{column}': {text!r} is not a whole number") from None


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
    """Collects facts, applying disclosure control to counts and percentages."""

    def __init__(self, min_count: int = 5, unreliable_base: int = 30) -> None:
        self.min_count = min_count
        self.unreliable_base = unreliable_base
        self._facts: list[Fact] = []

    def add(self, fact: Fact) -> None:
        self._facts.append(fact)

    def number(self, key: str, value: float | int | str | None, label: str,
               unit: str = "number") -> None:
        """A value without disclosure control (statistics, p-values, text)."""
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        self.add(Fact(key, value, label, unit))

    def small(self, count: int) -> bool:
        """A count that could identify people: fewer than `min_count`, but not none."""
        return 0 < count < self.min_count

    def count(self, key: str, value: int, label: str) -> None:
        """A count of cases: suppressed when it is a small non-zero count."""
        self.add(Fact(key, int(value), label, "count", suppressed=self.small(int(value))))

    def percent(self, key: str, count: int, base: int, label: str) -> None:
        """`count` out of `base` as a percentage (None on an empty base).

        Suppressed when the base, the count or the rest of the base is small; flagged
        unreliable on a base below `unreliable_base`.
        """
        count, base = int(count), int(base)
        if not 0 <= count <= base:
            raise ValueError(f"fact {key}: count {count} is not within base {base}")
        hidden = self.small(base) or self.small(count) or self.small(base - count)
        self.add(Fact(key, 100.0 * count / base if base else None, label, "percent",
                      count=count, base=base, suppressed=hidden,
                      unreliable=0 < base < self.unreliable_base))

    def proportion(self, prefix: str, yes: int, n: int, label: str,
                   counts: tuple[str, ...] = ()) -> None:
        """Registers `<prefix>.pct_yes` and `<prefix>.n`, and `<prefix>.yes`/`.no` if asked.

        `label` names the group ("Supports desistance, where workload manageable = yes");
        each fact's label adds what it is. The yes and no counts are suppressed whenever
        the percentage is, since with the base beside them they would give it away.
        """
        yes, n = int(yes), int(n)
        self.percent(f"{prefix}.pct_yes", yes, n, f"{label}: % yes")
        self.add(Fact(f"{prefix}.n", n, f"{label}: number of cases (yes or no)", "count",
                      suppressed=self.small(n)))
        hidden = self.small(n) or self.small(yes) or self.small(n - yes)
        values = {"yes": yes, "no": n - yes}
        for name in counts:
            self.add(Fact(f"{prefix}.{name}", values[name], f"{label}: number {name}",
                          "count", suppressed=hidden))

    def build(self) -> Registry:
        return Registry(self._facts)
