"""Figures 2-5: one message per chart, drawn from the facts registry alone.

Charts follow the Analysis Function guidance: one message each (it is the title), bars
labelled directly instead of through a legend, no gridlines or boxes, a colour palette
that stays distinguishable in greyscale, and the values written on the bars so that
nobody has to read them off an axis. A suppressed value is never drawn: its bar is left
out and marked "[c]", as in the tables.

The SVG keeps its text as text (searchable in the PDF, readable by screen readers) and is
byte-for-byte reproducible: fixed hash salt, no date in the metadata.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from bulletin.config import Edition
from bulletin.facts import SUPPRESSED_MARK as SUPPRESSED
from bulletin.facts import Fact, Registry, slug
from bulletin.words import round_half_up, typeset

DARK_BLUE = "#12436D"
ORANGE = "#F46A25"  # bars only: 3.0:1 against white, enough for a graphic (WCAG 1.4.11)
# Text in a series' colour must reach 4.5:1 (WCAG 1.4.3): the orange series is named in
# a darker orange of the same hue (5.5:1).
ORANGE_TEXT = "#B2470F"
TEXT_COLOUR = {ORANGE: ORANGE_TEXT}
TURQUOISE = "#28A197"
DARK_PINK = "#801650"
TEXT = "#0B0C0C"
GREY = "#505A5F"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")

STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "bulletin",
    "font.family": "sans-serif",
    "font.sans-serif": ["Liberation Sans", "DejaVu Sans"],
    "font.size": 9,
    "text.color": TEXT,
    "axes.labelcolor": TEXT,
    "xtick.color": TEXT,
    "ytick.color": GREY,
    "axes.edgecolor": GREY,
    "axes.linewidth": 0.6,
}
WIDTH_IN = 6.3  # the print page's text width


@dataclass(frozen=True)
class Figure:
    number: int
    id: str
    title: str
    svg: str
    alt: str
    source: str


@dataclass(frozen=True)
class Bar:
    """One bar: where it sits, its label, and the fact behind it."""

    group: str
    series: str
    fact: Fact

    @property
    def shown(self) -> bool:
        return not self.fact.suppressed and self.fact.value is not None


# -- wording from the data ---------------------------------------------------------------

def pct(value: float) -> str:
    """Whole per cent, rounded half up as everywhere else in the bulletin (46.5 -> 47%)."""
    return f"{round_half_up(value, 0):f}%"


def _month(yyyy_mm: str) -> str:
    y, m = yyyy_mm.split("-")
    return f"{MONTHS[int(m) - 1]} {y}"


def source_line(edition: Edition, what: str) -> str:
    return (f"Source: HM Inspectorate of Probation, {what}, inspections with fieldwork "
            f"{_month(edition.fieldwork_start)} to {_month(edition.fieldwork_end)}.")


def _value_text(bar: Bar, unit: str) -> str:
    if not bar.shown:
        return "suppressed (fewer than 5 cases)"
    v = bar.fact.value
    text = pct(float(v)) if unit == "%" else f"{int(v)}"
    if unit == "%" and bar.fact.base is not None:
        text += f" of {bar.fact.base}"
    return text


def describe(kind: str, message: str, bars: Sequence[Bar], unit: str) -> str:
    """Alt text: what the chart is, what it shows, and every value in it."""
    groups: dict[str, list[str]] = {}
    for b in bars:
        groups.setdefault(b.group, []).append(f"{b.series} {_value_text(b, unit)}"
                                              if b.series else _value_text(b, unit))
    values = "; ".join(f"{g}: {', '.join(v)}" for g, v in groups.items()).replace("\n", " ")
    return f"{kind}. {message} Values: {values}."


# -- drawing -----------------------------------------------------------------------------

def _axes(height: float):  # -> (Figure, Axes); matplotlib imported lazily
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(WIDTH_IN, height))
    ax = fig.add_subplot()
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0, labelleft=False)
    ax.tick_params(axis="x", length=0, pad=6)
    return fig, ax


def _figure(number: int, fig, title: str, alt: str, source: str) -> Figure:
    """The chart as published: its title and alt text typeset as a reader sees them
    (51–60, not 51-60), in the SVG as beside it."""
    title, alt = typeset(title), typeset(alt)
    return Figure(number, f"figure{number}", title, _svg(fig, title, alt), alt, source)


def _svg(fig, title: str, alt: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05,
                metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    # An accessible name for the standalone SVG (the web edition and screen readers).
    head = (f'<title id="t">{escape(title)}</title>\n <desc id="d">{escape(alt)}</desc>\n')
    return re.sub(r"(<svg\b[^>]*?)>", r'\1 role="img" aria-labelledby="t d">' + "\n " + head,
                  svg, count=1)


def _bars(ax, bars: Sequence[Bar], colours: dict[str, str], unit: str,
          ymax: float, label_first_group: bool) -> None:
    """Grouped bars with their values on top, and the series named on the first group."""
    groups = list(dict.fromkeys(b.group for b in bars))
    series = list(dict.fromkeys(b.series for b in bars))
    width = 0.8 / len(series)
    for b in bars:
        x = groups.index(b.group) + (series.index(b.series) - (len(series) - 1) / 2) * width
        if not b.shown:
            ax.text(x, ymax * 0.02, SUPPRESSED, ha="center", va="bottom", color=GREY)
            continue
        v = float(b.fact.value)
        ax.bar(x, v, width * 0.92, color=colours[b.series], linewidth=0)
        text = pct(v) if unit == "%" else f"{int(v)}"
        ax.text(x, v + ymax * 0.015, text, ha="center", va="bottom", fontsize=8.5)
        if label_first_group and b.group == groups[0] and b.series:
            ax.text(x, v + ymax * 0.075, b.series, ha="center", va="bottom",
                    fontsize=8.5, fontweight="bold",
                    color=TEXT_COLOUR.get(colours[b.series], colours[b.series]),
                    linespacing=1.1)
    ax.set_xticks(range(len(groups)), [typeset(g) for g in groups])  # 51–60, not 51-60
    ax.set_ylim(0, ymax)
    ax.set_xlim(-0.6, len(groups) - 0.4)


def _fact(registry: Registry, key: str) -> Fact:
    try:
        return registry[key]
    except KeyError:
        from bulletin.errors import BulletinError

        raise BulletinError(f"figures: the facts registry has no {key!r}") from None


# -- the four charts ---------------------------------------------------------------------

def _caseload_labels(edition: Edition) -> tuple[str, ...]:
    return edition.analysis.banding("caseload_band").labels


def figure2(registry: Registry, edition: Edition) -> Figure:
    labels = _caseload_labels(edition)
    bars = [Bar(label, answer.capitalize(), _fact(registry, f"fig2.{slug(label)}.{answer}"))
            for label in labels for answer in ("yes", "no")]
    over = [b for b in bars if b.shown]
    top = max([float(b.fact.value) for b in over] + [1.0])  # 1: all zero or suppressed
    crossover = _crossover(registry, labels)
    if crossover:
        title = (f"From caseloads of {crossover} upwards, more officers said their workload "
                 f"was not manageable than said it was")
        message = title + "."
    else:
        title = "Officers' view of whether their workload is manageable, by caseload"
        message = "In every caseload band, at least as many officers said their workload " \
                  "was manageable as said it was not."
    fig, ax = _axes(3.0)
    _bars(ax, bars, {"Yes": DARK_BLUE, "No": ORANGE}, "n", top * 1.2, True)
    ax.set_xlabel("Number of cases held by the responsible officer", color=GREY)
    ax.set_title("Number of officers answering yes and no", loc="left", fontsize=9,
                 color=GREY)
    alt = describe("Bar chart of the number of officers who said their workload was "
                   "manageable (yes) or not (no), by caseload band", message, bars, "n")
    return _figure(2, fig, title, alt,
                   source_line(edition, "responsible officer interviews"))


def _crossover(registry: Registry, labels: Sequence[str]) -> str | None:
    """The caseload band from which 'no' answers outnumber 'yes' answers in every band
    (bands with a suppressed count are passed over), or None."""
    verdicts = []
    for label in labels:
        yes = registry.get(f"fig2.{slug(label)}.yes")
        no = registry.get(f"fig2.{slug(label)}.no")
        if yes is None or no is None or yes.suppressed or no.suppressed:
            continue
        verdicts.append((label, (no.value or 0) > (yes.value or 0)))
    for k, (label, more_no) in enumerate(verdicts):
        if more_no and all(v for _, v in verdicts[k:]):
            return label
    return None


def _cut(registry: Registry) -> int | None:
    """The caseload threshold of the narrative facts (fact.caseload_over_<n>.*)."""
    for key in registry:
        m = re.match(r"fact\.caseload_over_(\d+)\.", key)
        if m:
            return int(m.group(1))
    return None


def _usable(f: Fact | None) -> float | None:
    if f is None or f.suppressed or f.value is None or isinstance(f.value, str):
        return None
    return float(f.value)


def figure3(registry: Registry, edition: Edition) -> Figure:
    labels = _caseload_labels(edition)
    bars = [Bar(label, "", _fact(registry, f"b1.caseload_band.{slug(label)}."
                                           "sentence_implemented.pct_yes"))
            for label in labels]
    shown = [b for b in bars if b.shown]
    values = [float(b.fact.value) for b in shown]
    cut = _cut(registry)
    title, message = _caseload_message(registry, values, cut)
    fig, ax = _axes(2.8)
    over = set() if cut is None else {
        label for label, band in zip(labels, edition.analysis.banding("caseload_band").bands,
                                     strict=True) if band.low > cut}
    colours = {"": DARK_BLUE}
    _bars(ax, bars, colours, "%", 110, False)
    for patch, b in zip(ax.patches, shown, strict=True):
        if b.group in over:
            patch.set_facecolor(ORANGE)
    if over and len(over) < len(labels):
        first = labels.index(sorted(over, key=labels.index)[0])
        ax.axvline(first - 0.5, color=GREY, linewidth=0.6, linestyle=(0, (2, 2)))
        ax.text(first - 0.42, 104, f"More than {cut} cases", color=GREY, fontsize=8.5,
                va="center")
    ax.set_xlabel("Number of cases held by the responsible officer", color=GREY)
    ax.set_title("Percentage of cases judged effective", loc="left", fontsize=9,
                 color=GREY)
    alt = describe("Bar chart of the percentage of cases in which the sentence was "
                   "implemented effectively, by the officer's caseload band", message,
                   bars, "%")
    return _figure(3, fig, title, alt,
                   source_line(edition, "case assessments and responsible officer interviews"))


def _caseload_message(registry: Registry, values: Sequence[float],
                     cut: int | None) -> tuple[str, str]:
    """(title, message) of Figure 3, in the direction the data go."""
    neutral = "Sentence implemented effectively, by the officer's caseload"
    over = _usable(registry.get(f"fact.caseload_over_{cut}.sentence_implemented.pct_yes"))
    under = _usable(registry.get(f"fact.caseload_up_to_{cut}.sentence_implemented.pct_yes"))
    if over is not None and under is not None:
        message = (f"The sentence was implemented effectively in {pct(over)} of cases where "
                   f"the officer held more than {cut} cases, against {pct(under)} where they "
                   f"held {cut} or fewer.")
        if pct(over) == pct(under):
            return neutral, message
        direction = "less" if over < under else "more"
        return (f"Sentences were implemented effectively {direction} often where officers "
                f"held more than {cut} cases"), message
    if values:
        return neutral, (f"The share of cases in which the sentence was implemented "
                         f"effectively ranged from {pct(min(values))} to {pct(max(values))} "
                         f"across caseload bands.")
    return neutral, "All values are suppressed."


def _judgement_figure(number: int, registry: Registry, edition: Edition,
                      titles: tuple[str, str, str], kind: str,
                      pairs: Sequence[tuple[str, str, str]], yes: str, no: str) -> Figure:
    """`titles`: (neutral, if yes is higher throughout, if no is higher throughout)."""
    """Judgements (groups) split by an interview answer (yes and no bars)."""
    bars = [Bar(group, series, _fact(registry, f"b1.{q}.{answer}.{j}.pct_yes"))
            for group, q, j in pairs
            for series, answer in ((yes, "yes"), (no, "no"))]
    # The series are named on the first group's bars (direct labels), two short lines
    # each so that a name is no wider than its bar.
    gaps, signs = [], set()
    for group, q, j in pairs:
        a = _usable(registry.get(f"b1.{q}.yes.{j}.pct_yes"))
        b = _usable(registry.get(f"b1.{q}.no.{j}.pct_yes"))
        if a is not None and b is not None:
            gaps.append(f"{group.replace(chr(10), ' ').lower()}: {pct(a)} where the officer "
                        f"answered yes, against {pct(b)} where they answered no")
            ra, rb = round_half_up(a), round_half_up(b)  # as printed: a tie is a tie
            signs.add((ra > rb) - (ra < rb))
    title = titles[1] if signs == {1} and len(gaps) == len(pairs) else \
        titles[2] if signs == {-1} and len(gaps) == len(pairs) else titles[0]
    message = "; ".join(gaps) + "." if gaps else "All values are suppressed."
    message = message[:1].upper() + message[1:]
    fig, ax = _axes(2.9)
    _bars(ax, bars, {yes: DARK_BLUE, no: ORANGE}, "%", _judgement_ymax(bars), True)
    ax.set_title("Percentage of cases judged effective", loc="left", fontsize=9,
                 color=GREY)
    alt = describe(kind, message, bars, "%")
    return _figure(number, fig, title, alt,
                   source_line(edition, "case assessments and responsible officer interviews"))


def _judgement_ymax(bars: Sequence[Bar]) -> float:
    """Top of the percentage scale: room over the first group for its two-line series
    names, and over every bar for its value, but no more, so that the bars fill the
    chart rather than sit under a band of white (a fixed 0-125 left Figure 5 half empty).
    """
    shown = [float(b.fact.value) for b in bars if b.shown]
    if not shown:
        return 100.0
    first = [float(b.fact.value) for b in bars if b.shown and b.group == bars[0].group]
    return min(125.0, max(max(shown) * 1.15, max(first, default=0.0) * 1.4, 40.0))


def figure4(registry: Registry, edition: Edition) -> Figure:
    pairs = [(j.short, "skills_knowledge", j.key) for j in edition.analysis.judgements]
    return _judgement_figure(
        4, registry, edition,
        ("Inspectors' judgements, by whether the officer felt they had the skills, "
         "ability and knowledge to supervise their caseload",
         "Every judgement was more often positive where the officer felt they had the "
         "skills, ability and knowledge to supervise their caseload",
         "Every judgement was less often positive where the officer felt they had the "
         "skills, ability and knowledge to supervise their caseload"),
        "Bar chart of the percentage of cases judged effective on each of the three "
        "judgements, for officers who said they had the necessary skills (yes) and "
        "those who said they did not (no)", pairs, "Has the\nskills", "Lacks the\nskills")


def figure5(registry: Registry, edition: Edition) -> Figure:
    short = {j.key: j.short for j in edition.analysis.judgements}
    pairs = [(f"{short['supports_desistance']}\n(relationships for desistance)",
              "relationships_desistance", "supports_desistance"),
             (f"{short['supports_safety']}\n(relationships to manage risk of harm)",
              "relationships_harm", "supports_safety")]
    fig = _judgement_figure(
        5, registry, edition,
        ("Desistance and safety judgements, by whether the officer said relationships "
         "with other agencies were effective",
         "Desistance and safety judgements were more often positive where the officer "
         "said relationships with other agencies were effective",
         "Desistance and safety judgements were less often positive where the officer "
         "said relationships with other agencies were effective"),
        "Bar chart of the percentage of cases judged to support desistance, by whether "
        "the officer said relationships with other agencies to support desistance were "
        "effective, and of cases judged to support safety, by whether relationships to "
        "manage the risk of harm were effective", pairs, "Effective", "Not\neffective")
    return fig


def make_figures(registry: Registry, edition: Edition) -> tuple[Figure, ...]:
    """Figures 2-5 (Figure 1, the standards framework, is hand-made artwork)."""
    import matplotlib

    with matplotlib.rc_context(STYLE):
        return (figure2(registry, edition), figure3(registry, edition),
                figure4(registry, edition), figure5(registry, edition))
