"""The canonical case-level table: one row per inspected case.

Every later stage sees exactly these column names and codes. Loaders map other
spellings and codings onto them; `docs/data.md` is the analyst's version of this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bulletin.config import AnalysisSettings

YES, NO, NOT_APPLICABLE = "yes", "no", "not applicable"

Kind = Literal["id", "text", "category", "integer", "month"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    description: str
    allowed: tuple[str, ...] = ()  # for categories, the canonical codes
    blank_allowed: bool = True
    blank_means: str = "not recorded"
    low: int | None = None  # plausible range for integers (inclusive)
    high: int | None = None
    interview: bool = False  # an interview answer: must be blank without an interview
    # Known only from an RO interview (the answers, the RO's grade and caseload), so it
    # must be blank on a case whose RO was not interviewed.
    needs_interview: bool = False


PROVIDER_TYPES = ("CRC", "NPS")
RO_GRADES = ("Probation Officer", "Probation Service Officer", "Other or not clear")
GENDERS = ("Male", "Female")
ETHNICITIES = ("White", "Ethnic minority")
ROSH_LEVELS = ("Low", "Medium", "High", "Very high")
SUPERVISION_TYPES = ("Community sentence", "Post-custody")
YES_NO = (YES, NO)
YES_NO_NA = (YES, NO, NOT_APPLICABLE)

# Spellings that always mean "missing", compared after trimming, ignoring capitals and
# treating runs of spaces, "_" and "-" alike (so "-" and "--" are blank too).
MISSING_SPELLINGS = ("", "n/a", "na", "n.a.", ".")
# In a column that allows "not applicable", these mean that answer instead of missing:
# the interview schedule and the inspection tool offer "N/A" as an answer there.
NOT_APPLICABLE_SPELLINGS = ("not applicable", "n/a", "na", "n.a.")
# Other accepted spellings of each canonical code (capitals and spacing never matter).
# Only unambiguous ones: anything else is reported, never guessed.
ALSO_ACCEPTED: dict[str, tuple[str, ...]] = {
    YES: ("y", "1", "true"),
    NO: ("n", "0", "false"),
    "CRC": ("Community Rehabilitation Company",),
    "NPS": ("National Probation Service",),
    "Probation Officer": ("PO",),
    "Probation Service Officer": ("PSO", "Probation Services Officer"),
    "Other or not clear": ("Other", "Not clear"),
    "Male": ("M",),
    "Female": ("F",),
    "Ethnic minority": ("Minority ethnic", "BAME", "BME"),
    "Community sentence": ("Community order",),
    "Post-custody": ("Post custody", "Licence", "License"),
}


def columns(settings: AnalysisSettings) -> tuple[Column, ...]:
    """All canonical columns, in the order `demo-data` writes them."""
    head = (
        Column("case_id", "id", "Unique identifier of the inspected case.",
               blank_allowed=False),
        Column("provider", "text", "Name of the inspected CRC or NPS division. A provider is "
               "its name and type together (Wales and London are each both).",
               blank_allowed=False),
        Column("provider_type", "category", "Type of provider.", PROVIDER_TYPES,
               blank_allowed=False),
        Column("report_month", "month", "Month the provider's inspection report was "
               "published (YYYY-MM); used for Annex A.", blank_means="not known"),
        Column("ro_interviewed", "category", "Whether the responsible officer (RO) was "
               "interviewed about this case.", YES_NO, blank_allowed=False),
        Column("ro_grade", "category", "Grade of the responsible officer.", RO_GRADES,
               blank_means="not recorded (always blank without an interview)",
               needs_interview=True),
        Column("caseload", "integer", "The RO's current caseload (cases, full-time "
               "equivalent), as stated at interview.", low=1, high=200,
               blank_means="not recorded (always blank without an interview)",
               needs_interview=True),
    )
    questions = tuple(
        Column(q.key, "category", f"RO interview ({q.standard}): {q.text}",
               YES_NO_NA if q.not_applicable else YES_NO, interview=True,
               needs_interview=True,
               blank_means="not asked or not answered; always blank without an interview")
        for q in settings.questions
    )
    person = (
        Column("age", "integer", "Age of the service user in years at the inspection.",
               low=18, high=100),
        Column("gender", "category", "Gender of the service user.", GENDERS),
        Column("ethnicity", "category", "Ethnic group of the service user.", ETHNICITIES),
        Column("ogrs_score", "integer", "OGRS likelihood of reoffending score (per cent); "
               "bands Low 0-49, Medium 50-74, High/Very high 75-99.", low=0, high=99),
        Column("rosh_level", "category", "Risk of serious harm level.", ROSH_LEVELS),
        Column("supervision_type", "category", "Type of supervision.", SUPERVISION_TYPES),
    )
    judgements = tuple(
        Column(j.key, "category", f"Inspector's judgement: {j.text}",
               YES_NO_NA if j.key == "supports_safety" else YES_NO,
               blank_means="not judged")
        for j in settings.judgements
    )
    return head + questions + person + judgements


def column_names(settings: AnalysisSettings) -> tuple[str, ...]:
    return tuple(c.name for c in columns(settings))
