"""Every tuning knob of the demonstration data, in one place, one `YearSpec` per edition.

A new demonstration year is a new spec: different seeds, different latent strengths,
and either published targets to hit exactly or a set of plausible shifts from a base year.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Latent:
    """Strengths of the latent structure that ties the covariates together."""

    provider_climate_sd: float = 0.55  # spread of provider climate (organisational factor)
    officer_climate_sd: float = 0.85  # officer-level spread around the provider climate
    climate_loading: float = 0.9  # how strongly each organisational question follows climate
    question_noise: float = 1.0
    caseload_crc_shift: float = 1.6  # CRC officers carry larger caseloads
    caseload_provider_sd: float = 0.35
    workload_caseload: float = 0.5  # workload manageable falls with caseload
    relationships_climate: float = 0.5
    relationships_practice: float = 1.0  # partnership work follows the officer's practice
    relationships_nps: float = 0.35
    relationships_caseload: float = 0.15
    relationships_harm_link: float = 1.0  # relationships (harm) follows relationships (desistance)
    # (climate, practice) loadings of the other questions; unlisted: (climate_loading, 0).
    loadings: tuple[tuple[str, tuple[float, float]], ...] = (
        ("skills_knowledge", (0.5, 0.9)),
        ("clear_roles", (0.7, 0.8)),
        ("allocated_appropriate_cases", (0.8, 0.5)),
        ("inservice_training", (0.9, 0.5)),
        ("learning_culture", (1.0, 0.3)),
        ("services_range", (0.8, 0.6)),
        ("supervision_quality", (0.9, 0.3)),
    )
    skills_grade: float = 0.4  # probation officers report more skills
    missing_concentration: float = 0.9  # how strongly "don't know" answers cluster in officers
    # Blank-proneness of answers by risk (negative: answered more often). Officers of
    # High/Very high risk cases answer more fully, and the relationship questions are
    # left blank mostly for the few medium and high risk cases without a safety judgement
    # rather than for low-risk ones; both put more of the risk groups the models contrast
    # into the listwise samples (smaller standard errors of the RoSH terms).
    missing_hvh: float = -1.0
    missing_low_harm: float = -2.0  # relationships (harm), low-risk cases
    missing_low_desistance: float = -1.0  # relationships (desistance), low-risk cases
    age_ogrs: float = -0.3  # younger service users have higher OGRS
    very_high_share: float = 0.09  # share of High/Very high RoSH that is Very high


@dataclass(frozen=True)
class Bounds:
    """Score bounds of the outcome integer programs (multiples of a score SD)."""

    own: float = 0.1  # model's own coefficients: one-step move, in published SEs
    other: float = 0.5  # other candidates: fraction of the conditional score SD
    # tighter (or looser) limits for chosen candidates: (variable, fraction)
    other_by_variable: tuple[tuple[str, float], ...] = ()
    # Target coefficients moved by this many published SEs: (term name, SEs)
    nudges: tuple[tuple[str, float], ...] = ()
    outside_gap: float = 0.10  # max gap between yes-rate differences outside and inside the
    # listwise sample, per question (keeps excluded rows looking like the rest)
    gap_margin: float = 0.02  # added where a question's gap must be widened to be feasible
    constant_shift_se: float = 0.3  # the constant may move this many published SEs so the
    # listwise yes rate matches the judgement's overall rate
    stars: bool = False  # move the targets so that our SEs give the published stars
    careful_rounding: bool = False  # round the fractional cases by a small integer program


@dataclass(frozen=True)
class Drift:
    """How a year derived from a base year differs by chance, beside its named shifts.

    Two sources, as in a real second year: the population itself drifts a little (a small
    random logit shift per question, judgement and level share), and the year's cases are
    a fresh sample (every count drawn from the drifted shares rather than scaled from the
    base year's counts). Without them every share would repeat the base year's to 0.1 point.
    """

    share_sd: float = 0.05  # true drift of every yes share (logit) and level share (log)
    sample: bool = True  # draw the counts (multinomial) instead of scaling them
    provider_size_sd: float = 0.12  # provider sizes (log of each provider's weight)
    cell_band: float = 0.5  # sub-group yes counts: half-width around their drawn target,
    # in binomial SDs (a soft limit in the outcome program)


@dataclass(frozen=True)
class YearSpec:
    edition: str
    seed: int
    latent: Latent = field(default_factory=Latent)
    bounds: Bounds = field(default_factory=Bounds)
    # Per-judgement bound factors overriding `bounds`, where one model needs its own.
    bounds_by_judgement: tuple[tuple[str, Bounds], ...] = ()
    interview_rate: float = 0.595  # share of inspected cases with an officer interview
    # For a year without published targets: shifts applied to the base year's targets.
    base_edition: str | None = None
    shifts: tuple[tuple[str, float], ...] = ()
    month_shift: int = 0  # report months moved by this many months from the base year
    # Providers keep the base year's sizes and climate when they share its seed; a few can
    # then change: ((provider, type), climate shift in latent SDs).
    provider_seed: int | None = None
    provider_changes: tuple[tuple[tuple[str, str], float], ...] = ()
    drift: Drift | None = None  # chance movement from the base year (None: none)

    def bounds_for(self, judgement: str) -> Bounds:
        return dict(self.bounds_by_judgement).get(judgement, self.bounds)


SPECS: dict[str, YearSpec] = {
    "2018-19": YearSpec(
        edition="2018-19", seed=20200101,
        # Targets that keep the published stars with our SEs; rounding that holds them.
        bounds=Bounds(own=0.02, constant_shift_se=0.2, stars=True, careful_rounding=True),
    ),
}


# A plausible following year: more officers find their workload manageable, caseloads
# are lower, a few providers change; everything else moves only by chance (drift and a
# fresh sample), so most shares differ from 2018-19 by a point or two. Loose model bounds:
# there are no published models to reproduce, only the 2018-19 ones as a guide.
SPECS["2019-20"] = YearSpec(
    edition="2019-20", seed=20210101, provider_seed=20200101,
    base_edition="2018-19", month_shift=12,
    shifts=(("scale_cases", 0.96), ("workload_manageable", 0.55),
            ("workloads_actively_managed", 0.25), ("caseload", -0.12),
            ("nps_caseload_over_50", -0.2),
            ("inservice_training", 0.15), ("supports_desistance", 0.15)),
    provider_changes=((("Essex", "CRC"), 0.8), (("London", "CRC"), 0.6),
                      (("North West", "NPS"), -0.6)),
    bounds=Bounds(own=4.0, other=4.0, outside_gap=0.15),
    drift=Drift(),
)


def spec_for(edition: str) -> YearSpec:
    try:
        return SPECS[edition]
    except KeyError:
        raise KeyError(edition) from None


__all__ = ["Bounds", "Drift", "Latent", "YearSpec", "SPECS", "spec_for", "replace"]
