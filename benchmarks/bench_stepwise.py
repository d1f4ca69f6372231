"""How much faster is our stepwise selection than the straightforward statsmodels way?

For each sample size, builds the three models' data (Annex B: sentence implemented,
supports desistance, supports safety, over the configured candidates), then selects
each model twice under the same FSTEP(LR) rules:

- ours: `forward_stepwise` (one fit per step, every candidate's score test from it,
  warm-started fits);
- straightforward: statsmodels `Logit(...).fit()` for every candidate model at every
  entry step (the score test taken from that model's score and Hessian at the current
  estimates) and for every submodel at every removal check.

It prints both times, their ratio and whether both selected the same variables. The
data are the demonstration cases (interviewed rows, drawn with replacement up to the
size) if `bulletin/demo/data/demo-2018-19.csv` exists, otherwise synthetic cases of
the same shape; with --replicate, whole copies of the demonstration file with 5% of
yes/no answers flipped per copy (benchmarks/make_large.py), where many more variables
enter and the removal checks dominate.

It also times the removal checks (likelihood-ratio refits) two ways: as selection runs
them (variables that certainly stay settled from bounds on the reduced likelihood, see
`loglik_bracket`) and with every reduced model refitted to convergence, and checks that
both give the same steps.

    .venv/bin/python benchmarks/bench_stepwise.py                      # short run
    .venv/bin/python benchmarks/bench_stepwise.py --sizes 200000 --replicate --no-baseline
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# One thread each: the benchmark compares algorithms, not BLAS thread pools.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Runnable from a checkout whether or not the package is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsmodels.api as sm  # noqa: E402
from scipy.stats import chi2  # noqa: E402

from bulletin.analysis import stepwise  # noqa: E402
from bulletin.analysis.derive import derive, levels  # noqa: E402
from bulletin.analysis.logit import chi2_logsf  # noqa: E402
from bulletin.analysis.models import model_frame  # noqa: E402
from bulletin.analysis.stepwise import forward_stepwise  # noqa: E402
from bulletin.config import PACKAGE_DIR, AnalysisSettings, default_settings  # noqa: E402
from bulletin.schema import GENDERS, RO_GRADES, SUPERVISION_TYPES  # noqa: E402

DEMO = PACKAGE_DIR / "demo" / "data" / "demo-2018-19.csv"


# ----------------------------------------------------------------------------- data


def synthetic_cases(n: int, settings: AnalysisSettings, seed: int = 2019) -> pd.DataFrame:
    """Interviewed cases shaped like the real ones: yes/no answers sharing a common
    'good organisation' factor, case variables, and judgements that depend on a few
    of them roughly as in the published models."""
    rng = np.random.default_rng(seed)
    culture = rng.normal(size=n)
    data: dict[str, object] = {}
    for q in settings.questions:
        yes = rng.random(n) < 1 / (1 + np.exp(-(1.2 + 0.9 * culture + rng.normal(0, 1, n))))
        answer = np.where(yes, "yes", "no").astype(object)
        if q.not_applicable:
            answer[rng.random(n) < 0.15] = "not applicable"
        answer[rng.random(n) < 0.02] = None
        data[q.key] = answer
    data["age"] = np.clip(rng.gamma(6, 6, n) + 18, 18, 90).round()
    data["ogrs_score"] = np.clip(rng.normal(50, 22, n), 0, 99).round()
    data["rosh_level"] = rng.choice(["Low", "Medium", "High", "Very high"], n,
                                    p=[0.2, 0.55, 0.22, 0.03])
    data["gender"] = rng.choice(GENDERS, n, p=[0.88, 0.12])
    data["ethnicity"] = rng.choice(["White", "Ethnic minority", None], n, p=[0.8, 0.17, 0.03])
    data["supervision_type"] = rng.choice(SUPERVISION_TYPES, n, p=[0.6, 0.4])
    data["ro_grade"] = rng.choice(RO_GRADES, n, p=[0.6, 0.35, 0.05])
    caseload = np.clip(rng.normal(40, 12, n), 1, 150).round()
    caseload[rng.random(n) < 0.03] = np.nan
    data["caseload"] = caseload
    frame = pd.DataFrame(data)
    yes = {k: (frame[k] == "yes").to_numpy(dtype=float) for k in settings.question_keys}
    ogrs = frame["ogrs_score"].to_numpy()
    rosh_low = (frame["rosh_level"] == "Low").to_numpy(dtype=float)
    cl = np.nan_to_num(caseload, nan=40.0)
    base = -0.45 * (ogrs >= 50) - 0.25 * (ogrs >= 75) - 0.5 * rosh_low
    etas = {
        "sentence_implemented": 0.6 + base - 0.01 * (cl - 40) + 0.7 * yes["skills_knowledge"]
        + 0.6 * yes["clear_roles"] + 0.5 * yes["inservice_training"],
        "supports_desistance": -1.0 + base + 0.35 * yes["workload_manageable"]
        + 0.4 * yes["staff_safety_wellbeing"] + 1.7 * yes["relationships_desistance"]
        + 0.012 * (frame["age"].to_numpy() - 35),
        "supports_safety": -1.2 + base - 1.5 * rosh_low + 1.0 * yes["skills_knowledge"]
        + 1.9 * yes["relationships_harm"],
    }
    for key, eta in etas.items():
        judged = rng.random(n) < 1 / (1 + np.exp(-eta))
        column = np.where(judged, "yes", "no").astype(object)
        column[rng.random(n) < 0.01] = None
        frame[key] = column
    frame["ro_interviewed"] = "yes"
    return frame


def cases_of_size(n: int, settings: AnalysisSettings, data: Path = DEMO,
                  replicate: bool = False) -> tuple[pd.DataFrame, str]:
    if replicate and data.exists():
        import tempfile

        from make_large import make_large

        from bulletin.validate import load_valid

        with tempfile.TemporaryDirectory() as tmp:
            frame = load_valid(make_large(n, Path(tmp) / "large.csv"), settings)
        frame = frame[frame["ro_interviewed"] == "yes"].reset_index(drop=True)
        return frame, f"copies of {data.name} with 5% of answers flipped"
    if data.exists():
        from bulletin.validate import load_valid

        demo = load_valid(data, settings)
        demo = demo[demo["ro_interviewed"] == "yes"].reset_index(drop=True)
        rows = np.random.default_rng(n).integers(0, len(demo), size=n)
        return demo.iloc[rows].reset_index(drop=True), f"{data.name} ({len(demo)} interviewed)"
    return synthetic_cases(n, settings), "synthetic cases"


# ----------------------------------------------------------------------------- baseline


def _design(sample: pd.DataFrame, variables: list[str], reference: dict[str, str],
            order: dict[str, tuple[str, ...]]) -> np.ndarray:
    parts = [np.ones((len(sample), 1))]
    for v in variables:
        column = sample[v]
        if v not in reference:
            parts.append(column.to_numpy(dtype=float).reshape(-1, 1))
            continue
        values = column.astype(str).to_numpy()
        present = set(np.unique(values))
        parts += [(values == lv).astype(float).reshape(-1, 1)
                  for lv in order[v] if lv in present and lv != reference[v]]
    return np.hstack(parts)


def _logit(y: np.ndarray, x: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm.Logit(y, x).fit(disp=0)


def statsmodels_stepwise(frame: pd.DataFrame, outcome: str, candidates: list[str],
                         reference: dict[str, str], order: dict[str, tuple[str, ...]],
                         pin: float, pout: float, fit_candidates: bool = True) -> list[str]:
    """FSTEP(LR) the straightforward way: a statsmodels fit for every model it looks at.

    With fit_candidates=False the candidate models are built but not fitted (the score
    test needs only their score and Hessian at the current estimates): a leaner
    baseline, to show how much of the gain is the batching rather than the fits saved.
    """
    sample = frame.dropna(subset=[outcome, *candidates])
    y = sample[outcome].to_numpy(dtype=float)
    model: list[str] = []
    seen = {frozenset()}
    current = _logit(y, _design(sample, model, reference, order))
    while True:
        best = None
        for v in candidates:
            if v in model:
                continue
            x = _design(sample, [*model, v], reference, order)
            df = x.shape[1] - len(current.params)
            if df == 0:
                continue
            extended = sm.Logit(y, x)
            if fit_candidates:
                _logit(y, x)  # the candidate model, fitted as a straightforward loop would
            start = np.concatenate([current.params, np.zeros(df)])
            score = extended.score(start)
            info = -extended.hessian(start)
            try:
                stat = float(score @ np.linalg.solve(info, score))
            except np.linalg.LinAlgError:
                continue
            rank = chi2_logsf(stat, df)
            if chi2.sf(stat, df) < pin and (best is None or rank < best[1]):
                best = (v, rank)
        if best is None or frozenset([*model, best[0]]) in seen:
            return model
        model = [*model, best[0]]
        seen.add(frozenset(model))
        current = _logit(y, _design(sample, model, reference, order))
        while True:
            worst = None
            for v in model:
                rest = [u for u in model if u != v]
                reduced = _logit(y, _design(sample, rest, reference, order))
                df = len(current.params) - len(reduced.params)
                p = chi2.sf(max(2 * (current.llf - reduced.llf), 0.0), df)
                if p > pout and (worst is None or p > worst[1]):
                    worst = (v, p, reduced)
            if worst is None:
                break
            rest = [u for u in model if u != worst[0]]
            if frozenset(rest) in seen:
                return model
            model, current = rest, worst[2]
            seen.add(frozenset(model))


# ----------------------------------------------------------------------------- removals


class RemovalTimer:
    """Times `_Selector.removal_tests`; with full=True every reduced model is refitted to
    convergence (no bounds), as selection did before the bounds were used."""

    def __init__(self, full: bool) -> None:
        self.full = full
        self.seconds = 0.0
        self.original = stepwise._Selector.removal_tests

    def __enter__(self) -> RemovalTimer:
        timer, original = self, self.original

        def timed(selector, state, pout=-1.0):
            start = time.perf_counter()
            try:
                return original(selector, state, -1.0 if timer.full else pout)
            finally:
                timer.seconds += time.perf_counter() - start

        stepwise._Selector.removal_tests = timed
        return self

    def __exit__(self, *exc: object) -> None:
        stepwise._Selector.removal_tests = self.original


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="2000,20000",
                        help="comma-separated numbers of cases (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=DEMO,
                        help="case file whose interviewed rows are resampled (default: the "
                        "demonstration data; synthetic cases if it does not exist)")
    parser.add_argument("--lean", action="store_true",
                        help="baseline builds candidate models without fitting them")
    parser.add_argument("--replicate", action="store_true",
                        help="whole copies of the data file with 5%% of answers flipped "
                        "instead of cases drawn with replacement")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the statsmodels loop (slow at large sizes)")
    args = parser.parse_args()
    settings = default_settings()
    for n in (int(s) for s in args.sizes.split(",")):
        cases, source = cases_of_size(n, settings, args.data, args.replicate)
        derived = derive(cases, settings)
        baseline = "no statsmodels baseline" if args.no_baseline else \
            "lean baseline: candidate models not fitted" if args.lean else \
            "baseline fits every candidate model"
        print(f"\n{n:,} cases from {source}; {baseline}")
        print(f"{'model':<22}{'used':>8}{'ours s':>9}{'removals s':>11}{'full refits s':>14}"
              f"{'statsmodels s':>15}{'ratio':>8}  same selection")
        for judgement in settings.judgement_keys:
            frame = model_frame(derived, settings, judgement)
            categorical = [v for v in settings.candidates
                           if not pd.api.types.is_numeric_dtype(frame[v].dtype)]
            reference = {v: settings.reference_level(v) for v in categorical}
            order = {v: levels(settings, v, derived) for v in categorical}

            def select(frame=frame, judgement=judgement, reference=reference, order=order):
                return forward_stepwise(frame, judgement, settings.candidates, reference,
                                        pin=settings.pin, pout=settings.pout, removal="lr",
                                        levels=order)

            start = time.perf_counter()
            with RemovalTimer(full=False) as bounded:
                ours = select()
            t_ours = time.perf_counter() - start
            with RemovalTimer(full=True) as full:
                refitted = select()
            if refitted.steps != ours.steps:
                raise SystemExit(f"{judgement}: bounded removal checks changed the steps")
            if args.no_baseline:
                t_sm, same = float("nan"), "(no baseline)"
            else:
                start = time.perf_counter()
                theirs = statsmodels_stepwise(frame, judgement, list(settings.candidates),
                                              reference, order, settings.pin, settings.pout,
                                              fit_candidates=not args.lean)
                t_sm = time.perf_counter() - start
                same = "yes" if list(ours.selected) == theirs else \
                    f"NO: {list(ours.selected)} vs {theirs}"
            print(f"{judgement:<22}{ours.n:>8}{t_ours:>9.2f}{bounded.seconds:>11.2f}"
                  f"{full.seconds:>14.2f}{t_sm:>15.2f}{t_sm / t_ours:>7.1f}x  {same} "
                  f"({len(ours.selected)} selected)", flush=True)


if __name__ == "__main__":
    main()
