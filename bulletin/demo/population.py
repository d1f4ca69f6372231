"""Cases, officers and answers (everything but the judgements), built on a latent structure.

Each variable is driven by a continuous latent score (provider climate, caseload pressure,
risk, ...) and then cut at the *exact* published count of every level within each
judgement class of interviewed cases. Cutting by rank keeps the correlations the latent
scores carry while making every sub-group n come out exactly as printed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from bulletin.demo.spec import YearSpec
from bulletin.demo.targets import CLASSES, Targets
from bulletin.schema import NO, NOT_APPLICABLE, YES

QUESTIONS = (
    "prioritise_quality", "workload_manageable", "workloads_actively_managed",
    "skills_knowledge", "allocated_appropriate_cases", "clear_roles", "supervision_quality",
    "inservice_training", "learning_culture", "recognise_reward", "staff_safety_wellbeing",
    "services_range", "relationships_desistance", "relationships_harm",
    "policies_communicated", "case_recording_policy", "case_management_systems",
)
# A sub-factor per group of questions, beside the provider climate they all share.
SUBFACTOR = {
    "prioritise_quality": "lead", "workload_manageable": "load",
    "workloads_actively_managed": "load", "skills_knowledge": "skill",
    "allocated_appropriate_cases": "skill", "clear_roles": "team",
    "supervision_quality": "manage", "inservice_training": "learn", "learning_culture": "learn",
    "recognise_reward": "manage", "staff_safety_wellbeing": "manage", "services_range": "rel",
    "relationships_desistance": "rel", "relationships_harm": "rel",
    "policies_communicated": "info", "case_recording_policy": "info",
    "case_management_systems": "info",
}
CASELOAD_BANDS = (("1-20", 1, 20), ("21-30", 21, 30), ("31-40", 31, 40), ("41-50", 41, 50),
                  ("51-60", 51, 60), ("61-70", 61, 70), ("71+", 71, 200))
AGE_BANDS = (("18-24", 18, 24), ("25-29", 25, 29), ("30-39", 30, 39), ("40-59", 40, 59),
             ("60+", 60, 85))
OGRS_BANDS = (("Low", 0, 49), ("Medium", 50, 74), ("High/Very high", 75, 99))
ROSH_GROUPS = ("Low", "Medium", "High/Very high")
GRADES = ("Probation Service Officer", "Probation Officer", "Other or not clear")


def rng_for(spec: YearSpec, stage: str, seed: int | None = None) -> np.random.Generator:
    """One independent stream per stage: re-tuning one stage leaves the others' draws alone."""
    return np.random.default_rng([spec.seed if seed is None else seed,
                                  zlib.crc32(stage.encode())])


@dataclass
class Population:
    """Column arrays for every case; strings, "" for blank. Judgements come later."""

    cols: dict[str, np.ndarray]
    cls: np.ndarray  # judgement class of interviewed cases; "" for the others
    interviewed: np.ndarray  # bool
    latent: dict[str, np.ndarray]  # kept for the outcome stage (realistic starting values)

    @property
    def n(self) -> int:
        return len(self.cls)


def largest_remainder(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Whole counts summing to `total`, proportional to `weights` (ties by key order)."""
    keys = list(weights)
    w = np.array([max(weights[k], 0.0) for k in keys], dtype=float)
    w = w / w.sum() if w.sum() > 0 else np.full(len(keys), 1 / len(keys))
    raw = w * total
    base = np.floor(raw).astype(int)
    order = sorted(range(len(keys)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[: total - base.sum()]:
        base[i] += 1
    return {k: int(b) for k, b in zip(keys, base, strict=True)}


def class_plan(t: Targets, variable: str, cls: str) -> tuple[dict[str, int], int]:
    """Counts of each level (and of blanks) for one variable within one class.

    Where the tables leave a class free (cases without any judgement; age in the
    sentence-only class) the counts follow the variable's distribution in the others.
    """
    levels = t.level_counts[variable]
    size = t.class_sizes[cls]
    if all(levels[lv][cls] is not None for lv in levels):
        counts = {lv: int(levels[lv][cls]) for lv in levels}  # type: ignore[arg-type]
        return counts, size - sum(counts.values())
    known = {lv: sum(c for k, c in levels[lv].items() if c is not None) for lv in levels}
    known_size = sum(t.class_sizes[k] for k in CLASSES if levels[next(iter(levels))][k]
                     is not None)
    missing_rate = 1 - sum(known.values()) / known_size
    alloc = largest_remainder(size, {**known, "": missing_rate * sum(known.values())})
    missing = alloc.pop("")
    return alloc, missing


def cut(rows: np.ndarray, score: np.ndarray, plan: list[tuple[str, int]]) -> dict[int, str]:
    """Give the lowest-scoring rows the first level, and so on, with exact counts."""
    order = rows[np.argsort(score[rows], kind="stable")]
    out: dict[int, str] = {}
    start = 0
    for level, count in plan:
        for r in order[start:start + count]:
            out[int(r)] = level
        start += count
    assert start == len(rows), (start, len(rows))
    return out


def assign(col: np.ndarray, rows: np.ndarray, score: np.ndarray, miss_score: np.ndarray,
           plan: list[tuple[str, int]], n_missing: int) -> None:
    """Blank the `n_missing` rows most prone to missingness; cut the rest by `score`."""
    order = rows[np.argsort(-miss_score[rows], kind="stable")]
    missing, rest = order[:n_missing], np.sort(order[n_missing:])
    col[missing] = ""
    for r, level in cut(rest, score, plan).items():
        col[r] = level


def zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def build_population(t: Targets, spec: YearSpec) -> Population:
    lat = spec.latent
    n_int, n_all = t.n_interviewed, t.n_cases
    n_out = n_all - n_int
    cls = np.array([c for c in CLASSES for _ in range(t.class_sizes[c])] + [""] * n_out,
                   dtype=object)
    interviewed = np.arange(n_all) < n_int
    idx_int = np.arange(n_int)
    by_class = {c: np.flatnonzero(cls == c) for c in CLASSES}
    cols: dict[str, np.ndarray] = {}
    latent: dict[str, np.ndarray] = {}

    def col() -> np.ndarray:
        return np.full(n_all, "", dtype=object)

    # --- risk of serious harm (first: provider type follows from it) -------------------
    r = rng_for(spec, "rosh")
    rosh_score = r.normal(size=n_all)
    rosh_miss = r.normal(size=n_all)
    rosh = col()
    for c in CLASSES:
        counts, m = class_plan(t, "rosh_level", c)
        assign(rosh, by_class[c], rosh_score, rosh_miss, [(g, counts[g]) for g in ROSH_GROUPS],
               m)

    # --- provider type of interviewed cases: NPS holds every High/Very high case ------
    r = rng_for(spec, "type")
    ptype = col()
    hvh = idx_int[rosh[:n_int] == "High/Very high"]
    med = idx_int[rosh[:n_int] == "Medium"]
    miss = idx_int[rosh[:n_int] == ""]
    n_nps = t.interviewed_by_type["NPS"]
    # Without the published figure (a derived year) any split with valid counts will do.
    crc_target = float(t.text_facts.get("crc_rosh_medium") or "nan")
    best = None
    for q in range(len(miss) + 1):
        m = n_nps - len(hvh) - q
        if not 0 <= m <= len(med):
            continue
        crc_known = t.interviewed_by_type["CRC"] - (len(miss) - q)
        share = 100 * (len(med) - m) / crc_known
        if np.isnan(crc_target) or abs(share - crc_target) < 0.5:
            key = abs(q - len(miss) / 2)
            if best is None or key < best[0]:
                best = (key, q, m)
    if best is None:
        raise ValueError("no split of RoSH levels between CRC and NPS meets the text facts")
    _, q, m = best
    # NPS medium cases: mostly those with a safety judgement, by rosh score.
    sds_bonus = np.where(cls == "sds", 1.5, 0.0)
    med_score = rosh_score + sds_bonus + r.normal(scale=0.5, size=n_all)
    nps_med = med[np.argsort(-med_score[med], kind="stable")][:m]
    nps_miss = miss[np.argsort(-r.normal(size=len(miss)), kind="stable")][:q]
    ptype[:n_int] = "CRC"
    ptype[hvh] = "NPS"
    ptype[nps_med] = "NPS"
    ptype[nps_miss] = "NPS"
    # Very high: the top of the High/Very high group by risk score.
    n_vh = round(lat.very_high_share * len(hvh))
    vh = hvh[np.argsort(-rosh_score[hvh], kind="stable")][:n_vh]
    rosh_full = rosh.copy()
    rosh_full[hvh] = "High"
    rosh_full[vh] = "Very high"

    # --- cases not interviewed: type, risk and judgement class drawn plausibly -------
    r = rng_for(spec, "not-interviewed")
    out = np.arange(n_int, n_all)
    share_nps = n_nps / n_int
    ptype[out] = np.where(r.random(n_out) < share_nps, "NPS", "CRC")
    u = r.random(n_out)
    nps_o = ptype[out] == "NPS"
    rosh_o = np.where(
        nps_o,
        np.where(u < 0.02, "", np.where(u < 0.47, "Medium", np.where(u < 0.96, "High",
                                                                      "Very high"))),
        np.where(u < 0.012, "", np.where(u < 0.30, "Low", "Medium")),
    )
    rosh_full[out] = rosh_o
    rosh[out] = np.where(np.isin(rosh_o, ["High", "Very high"]), "High/Very high", rosh_o)
    # Without indicators of harm (low risk) most cases get no safety judgement.
    u = r.random(n_out)
    low = rosh[out] == "Low"
    p_sds = np.where(low, 0.27, 0.985)
    cls_out = np.where(u < p_sds, "sds", np.where(u < p_sds + 0.004, "s", "sd"))
    cls_out = np.where(r.random(n_out) < 0.002, "none", cls_out)
    cls_judged = cls.copy()
    cls_judged[out] = cls_out
    cols["rosh_level"] = rosh_full
    latent["rosh"] = rosh_score

    # --- providers: sizes plausible, interviewed cases spread in proportion ----------
    r = rng_for(spec, "providers", spec.provider_seed)
    size_drift = rng_for(spec, "provider-sizes")
    provider = col()
    month = col()
    prov_climate = {}
    prov_caseload = {}
    for ty in ("CRC", "NPS"):
        names = [(p, m_) for p, typ, m_ in t.providers if typ == ty]
        weights = r.gamma(shape=6.0, scale=1.0, size=len(names))
        if spec.drift is not None:  # a later year: each provider's size drifts a little
            weights = weights * np.round(np.exp(size_drift.normal(
                scale=spec.drift.provider_size_sd, size=len(names))), 12)
        for rows in (idx_int[ptype[:n_int] == ty], out[ptype[out] == ty]):
            alloc = largest_remainder(len(rows), {nm: w for (nm, _), w in zip(names, weights,
                                                                             strict=True)})
            labels = np.array([nm for nm, k in alloc.items() for _ in range(k)], dtype=object)
            provider[r.permutation(rows)] = labels
        for nm, m_ in names:
            month[(provider == nm) & (ptype == ty)] = m_
            prov_climate[(nm, ty)] = r.normal(scale=lat.provider_climate_sd)
            prov_caseload[(nm, ty)] = r.normal(scale=lat.caseload_provider_sd)
    for key, shift in spec.provider_changes:
        prov_climate[key] += shift * lat.provider_climate_sd
    cols["provider"], cols["provider_type"], cols["report_month"] = provider, ptype, month
    pkey = list(zip(provider, ptype, strict=True))
    climate_p = np.array([prov_climate[k] for k in pkey])
    caseload_p = np.array([prov_caseload[k] for k in pkey])
    is_nps = ptype == "NPS"

    # --- officer: grade, climate, caseload --------------------------------------------
    r = rng_for(spec, "officer")
    positivity = r.normal(scale=lat.officer_climate_sd, size=n_all)
    climate = climate_p + positivity
    latent["climate"] = climate
    miss_prop = r.normal(size=n_all)  # officers who answer "don't know" / skip questions

    grade = col()
    rosh_num = np.select([rosh == "Low", rosh == "Medium", rosh == "High/Very high"],
                         [0.0, 1.0, 2.0], 1.0)
    po_score = 1.6 * is_nps + 0.5 * rosh_num + r.normal(size=n_all)
    other_score = r.normal(size=n_all)
    for c in CLASSES:
        counts, m = class_plan(t, "ro_grade", c)
        rows = by_class[c]
        order = rows[np.argsort(-r.normal(size=len(rows)), kind="stable")]
        blank, rest = order[:m], order[m:]
        grade[blank] = ""
        n_other = counts["Other or not clear"]
        oth = rest[np.argsort(-other_score[rest], kind="stable")][:n_other]
        grade[oth] = "Other or not clear"
        rest = np.setdiff1d(rest, oth)
        for rr, level in cut(rest, po_score, [("Probation Service Officer",
                                               counts["Probation Service Officer"]),
                                              ("Probation Officer",
                                               counts["Probation Officer"])]).items():
            grade[rr] = level
    cols["ro_grade"] = grade

    band = col()
    cl_score = lat.caseload_crc_shift * (~is_nps) + caseload_p + r.normal(scale=0.7, size=n_all)
    cl_miss = 1.2 * is_nps + r.normal(size=n_all)
    for c in CLASSES:
        counts, m = class_plan(t, "caseload_band", c)
        assign(band, by_class[c], cl_score, cl_miss, [(b, counts[b]) for b, *_ in
                                                       CASELOAD_BANDS], m)
    _balance_caseload(t, band, ptype, cls, r, n_int)
    caseload = col()
    for label, lo, hi in CASELOAD_BANDS:
        rows = np.flatnonzero(band == label)
        if label == "71+":
            vals = np.minimum(71 + np.floor(r.exponential(scale=11.0, size=len(rows))), 160)
        elif label == "1-20":
            vals = r.integers(6, 21, size=len(rows))
        else:
            vals = r.integers(lo, hi + 1, size=len(rows))
        vals = np.sort(vals)
        caseload[rows[np.argsort(cl_score[rows], kind="stable")]] = [str(int(v)) for v in vals]
    cols["caseload"] = caseload
    cl_num = np.array([float(v) if v else np.nan for v in caseload])
    cl_fill = np.where(np.isnan(cl_num), np.where(is_nps, 38.0, 58.0), cl_num)
    latent["caseload"] = cl_fill

    # --- interview answers -------------------------------------------------------------
    r = rng_for(spec, "answers")
    sub = {k: r.normal(scale=0.6, size=n_all) for k in sorted(set(SUBFACTOR.values()))}
    # The officer's own practice (skills, role clarity, partnership work), beside climate.
    practice = r.normal(size=n_all)
    latent["practice"] = practice
    rel = (lat.relationships_climate * climate + lat.relationships_practice * practice
           + lat.relationships_nps * is_nps - lat.relationships_caseload * (cl_fill - 50) / 15
           + r.normal(scale=0.6, size=n_all))
    latent["relationships"] = rel
    po = grade == "Probation Officer"
    loadings = dict(lat.loadings)
    for q in QUESTIONS:
        lc, lp = loadings.get(q, (lat.climate_loading, 0.0))
        if q == "relationships_desistance":
            score = rel + r.normal(scale=0.45, size=n_all)
        elif q == "relationships_harm":
            score = lat.relationships_harm_link * rel + r.normal(scale=0.6, size=n_all)
        else:
            score = (lc * climate + lp * practice + sub[SUBFACTOR[q]]
                     + r.normal(scale=lat.question_noise, size=n_all))
        if q == "workload_manageable":
            score = score * 0.5 - lat.workload_caseload * (cl_fill - 50) / 15
        if q == "workloads_actively_managed":
            score = score - 0.3 * (cl_fill - 50) / 15
        if q == "skills_knowledge":
            score = score + lat.skills_grade * po
        mscore = (lat.missing_concentration * miss_prop + r.normal(size=n_all)
                  + lat.missing_hvh * (rosh == "High/Very high"))
        if q == "relationships_harm":
            mscore = mscore + lat.missing_low_harm * (rosh == "Low") + 2.0 * (cls != "sds")
        if q == "relationships_desistance":
            mscore = mscore + 1.5 * (cls == "sd") + lat.missing_low_desistance * (rosh == "Low")
        latent[q] = score
        answers = col()
        for c in CLASSES:
            counts, m = class_plan(t, q, c)
            assign(answers, by_class[c], score, mscore, [("no", counts["no"]),
                                                        ("yes", counts["yes"])], m)
        answers = np.where(answers == "yes", YES, np.where(answers == "no", NO, ""))
        if q in ("relationships_desistance", "relationships_harm"):
            blank = (answers == "") & interviewed
            na = blank & ((rosh == "Low") if q == "relationships_harm"
                          else (r.random(n_all) < 0.55))
            answers = np.where(na, NOT_APPLICABLE, answers)
        cols[q] = answers
    if t.text_facts.get("manageable_by_caseload") is not None:
        _fix_workload_figure(cols, band, cls, r)

    # --- the service user --------------------------------------------------------------
    r = rng_for(spec, "person")
    ogrs_score = 0.1 * (~is_nps) + r.normal(size=n_all)
    obands = col()
    for c in CLASSES:
        counts, m = class_plan(t, "ogrs_band", c)
        assign(obands, by_class[c], ogrs_score, r.normal(size=n_all),
               [(b, counts[b]) for b, *_ in OGRS_BANDS], m)
    age_score = lat.age_ogrs * ogrs_score + r.normal(scale=0.85, size=n_all)
    abands = col()
    for c in CLASSES:
        counts, m = class_plan(t, "age_group", c)
        assign(abands, by_class[c], age_score, r.normal(size=n_all),
               [(b, counts[b]) for b, *_ in AGE_BANDS], m)
    gender = col()
    female_score = r.normal(size=n_all)
    for c in CLASSES:
        counts, m = class_plan(t, "gender", c)
        assign(gender, by_class[c], female_score, r.normal(size=n_all),
               [("Male", counts["Male"]), ("Female", counts["Female"])], m)
    eth = col()
    diverse = np.isin(provider, ["London", "Midlands", "Staffordshire and West Midlands"])
    eth_score = 1.2 * diverse + r.normal(size=n_all)
    for c in CLASSES:
        counts, m = class_plan(t, "ethnicity", c)
        assign(eth, by_class[c], eth_score, r.normal(size=n_all),
               [("White", counts["White"]), ("Ethnic minority", counts["Ethnic minority"])], m)
    # Cases not interviewed: the same latent scores, cut at the interviewed proportions.
    for colv, score, bands_ in ((obands, ogrs_score, OGRS_BANDS), (abands, age_score,
                                                                    AGE_BANDS)):
        ref = colv[:n_int]
        props = {b: float(np.mean(ref == b)) for b, *_ in bands_}
        alloc = largest_remainder(n_out, props)
        for rr, level in cut(out, score, [(b, alloc[b]) for b, *_ in bands_]).items():
            colv[rr] = level
        colv[out[r.random(n_out) < 0.015]] = ""
    gender[out] = np.where(r.random(n_out) < 0.13, "Female", "Male")
    p_min = np.where(diverse[out], 0.32, 0.12)
    eth[out] = np.where(r.random(n_out) < p_min, "Ethnic minority", "White")
    eth[out[r.random(n_out) < 0.03]] = ""
    cols["age"] = _values_in_bands(abands, AGE_BANDS, age_score, r)
    cols["gender"], cols["ethnicity"] = gender, eth
    cols["ogrs_score"] = _values_in_bands(obands, OGRS_BANDS, ogrs_score, r)
    pc = -0.7 + 0.6 * is_nps + 0.3 * rosh_num + 0.2 * ogrs_score + r.normal(size=n_all)
    cols["supervision_type"] = np.where(pc > 0, "Post-custody", "Community sentence")
    latent["ogrs"] = ogrs_score
    latent["age"] = age_score
    for k, v in (("ogrs_band", obands), ("age_group", abands), ("rosh_group", rosh),
                 ("caseload_band", band)):
        latent[k] = v  # banded values, handy for the outcome stage

    cols["ro_interviewed"] = np.where(interviewed, YES, NO)
    return Population(cols=cols, cls=cls_judged, interviewed=interviewed, latent=latent)


def _values_in_bands(bands: np.ndarray, spec: tuple, score: np.ndarray,
                     r: np.random.Generator) -> np.ndarray:
    """Whole numbers within each band, ordered like the latent score inside the band."""
    out = np.full(len(bands), "", dtype=object)
    for label, lo, hi in spec:
        rows = np.flatnonzero(bands == label)
        if label == "60+":
            vals = np.minimum(60 + np.floor(r.exponential(scale=6.0, size=len(rows))), hi)
        else:
            vals = r.integers(lo, hi + 1, size=len(rows))
        vals = np.sort(vals)
        out[rows[np.argsort(score[rows], kind="stable")]] = [str(int(v)) for v in vals]
    return out


def _over_50(band: np.ndarray) -> np.ndarray:
    return np.isin(band, ["51-60", "61-70", "71+"])


def _balance_caseload(t: Targets, band: np.ndarray, ptype: np.ndarray, cls: np.ndarray,
                      r: np.random.Generator, n_int: int) -> None:
    """Swap caseload bands between NPS and CRC officers of one class until the shares of
    officers above 50 cases round to the published figures (class counts stay exact).
    Without a CRC figure (a year without published facts) only the NPS share is set."""
    nps_t = float(t.text_facts.get("nps_staff_caseload_over_50") or "nan")
    crc_t = float(t.text_facts.get("crc_staff_caseload_over_50") or "nan")
    if np.isnan(nps_t):
        return
    idx = np.arange(n_int)
    b, ty, c = band[:n_int], ptype[:n_int], cls[:n_int]
    known, over = b != "", _over_50(b)
    k_tot, o_tot = int(known.sum()), int(over.sum())
    n0, a0 = int((known & (ty == "NPS")).sum()), int((over & (ty == "NPS")).sum())
    goals = [(2 * abs(n - n0) + abs(a - a0), n, a) for n in range(n0 - 60, n0 + 1)
             for a in range(0, n + 1)
             if abs(100 * a / n - nps_t) < 0.5
             and (np.isnan(crc_t) or abs(100 * (o_tot - a) / (k_tot - n) - crc_t) < 0.5)]
    if not goals:
        raise ValueError("the caseload text facts cannot both hold with these band counts")
    _, n_goal, a_goal = min(goals)

    def swap(src_mask: np.ndarray, dst_mask: np.ndarray) -> None:
        src = idx[src_mask]
        for a in r.permutation(src):
            dst = idx[dst_mask & (c == c[a])]
            if len(dst):
                d = int(dst[r.integers(len(dst))])
                band[a], band[d] = band[d], band[a]
                return
        raise ValueError("could not balance caseloads between NPS and CRC")

    nps, crc = ty == "NPS", ty == "CRC"
    for _ in range(n0 - n_goal):  # make an NPS officer's caseload blank
        swap(nps & (b != "") & ~_over_50(b), crc & (b == ""))
    for _ in range(a0 - a_goal):  # move "over 50" from NPS to CRC
        swap(nps & _over_50(b), crc & (b != "") & ~_over_50(b))
    for _ in range(a_goal - a0):
        swap(nps & (b != "") & ~_over_50(b), crc & _over_50(b))
    return


def _fix_workload_figure(cols: dict[str, np.ndarray], band: np.ndarray, cls: np.ndarray,
                         r: np.random.Generator) -> None:
    """Swap workload answers within a class until yes outnumbers no in every band up to 50
    and no outnumbers yes above 50 (the pattern of the published figure)."""
    wm = cols["workload_manageable"]
    labels = [b for b, *_ in CASELOAD_BANDS]
    for _ in range(5000):
        diff = {b: int(np.sum((band == b) & (wm == YES)) - np.sum((band == b) & (wm == NO)))
                for b in labels}
        low_bad = [b for b in labels[:4] if diff[b] <= 0]
        high_bad = [b for b in labels[4:] if diff[b] >= 0]
        if not low_bad and not high_bad:
            return
        if low_bad:
            a_rows = np.flatnonzero((band == low_bad[0]) & (wm == NO))
            b_ok = _over_50(band) & (wm == YES)
        else:
            a_rows = np.flatnonzero((band == high_bad[0]) & (wm == YES))
            b_ok = np.isin(band, labels[:4]) & (wm == NO)
        a = int(a_rows[r.integers(len(a_rows))])
        cand = np.flatnonzero(b_ok & (cls == cls[a]))
        if len(cand) == 0:
            continue
        b = int(cand[r.integers(len(cand))])
        wm[a], wm[b] = wm[b], wm[a]
    raise ValueError("could not reach the workload-by-caseload pattern")
