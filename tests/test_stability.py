"""Bootstrap stability of the stepwise selection: the shares, their determinism whatever
the number of processes, and the settings that drive it."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from bulletin.analysis import descriptive as d
from bulletin.analysis.derive import derive
from bulletin.analysis.models import fit_models
from bulletin.analysis.stability import (
    ModelInputs,
    Stability,
    model_inputs,
    resample_rows,
    selection_stability,
)
from bulletin.analysis.stepwise import forward_stepwise
from bulletin.config import RESAMPLES_ENV, load_edition
from bulletin.errors import BulletinError
from bulletin.schema import YES
from bulletin.validate import load_valid

EDITION = load_edition("2018-19")
S = EDITION.analysis
SEED = 12345
B = 4  # resamples per model in the parallel-path tests: enough to differ, quick to run


@pytest.fixture(scope="module")
def demo() -> tuple[pd.DataFrame, tuple, tuple[ModelInputs, ...]]:
    data = derive(load_valid(EDITION.data_file, S), S)
    iv = data[d.is_level(data["ro_interviewed"], YES)]
    return iv, fit_models(iv, S), model_inputs(iv, S)


@pytest.fixture(scope="module")
def published(demo) -> dict[str, tuple[str, ...]]:
    _, models, _ = demo
    return {m.judgement: m.result.selected for m in models}


@pytest.fixture(scope="module")
def parallel(demo, published) -> tuple[Stability, ...]:
    """The real path: worker processes."""
    return selection_stability(demo[2], published, B, SEED, workers=2)


def test_inputs_give_the_published_selection(demo) -> None:
    """The resamples are selected with exactly the inputs of the published models."""
    _, models, inputs = demo
    assert [i.judgement for i in inputs] == [m.judgement for m in models]
    for m, i in zip(models, inputs, strict=True):
        assert i.n == m.result.n
        assert i.select() == m.result.selected


def test_parallel_shares_equal_a_serial_count_from_the_documented_streams(
        demo, published, parallel) -> None:
    """Each resample drawn from SeedSequence(seed).spawn(models)[k].spawn(B)[i] and
    selected one by one here; the shares are the counts over B."""
    _, _, inputs = demo
    streams = np.random.SeedSequence(SEED).spawn(len(inputs))
    for k, (inp, st) in enumerate(zip(inputs, parallel, strict=True)):
        picks = []
        for seq in streams[k].spawn(B):
            rows = np.random.default_rng(seq).integers(0, inp.n, size=inp.n)
            result = forward_stepwise(inp.frame.iloc[rows], inp.judgement, inp.candidates,
                                      inp.reference, pin=S.pin, pout=S.pout,
                                      removal=S.removal_test, levels=inp.levels)
            picks.append(set(result.selected))
        assert st.judgement == inp.judgement and st.published == published[inp.judgement]
        assert (st.resamples, st.failed) == (B, 0)
        for v in inp.candidates:
            assert st.share(v) == sum(v in p for p in picks) / B, (inp.judgement, v)
        assert st.exact_share == sum(p == set(st.published) for p in picks) / B


def test_same_result_whatever_the_number_of_workers(demo, published, parallel) -> None:
    serial = selection_stability(demo[2], published, B, SEED, workers=1)
    three = selection_stability(demo[2], published, B, SEED, workers=3)
    assert serial == parallel == three
    assert any(len(set(s.selections)) > 1 for s in parallel), "resamples all alike"


def test_another_seed_draws_other_resamples(demo) -> None:
    n = demo[2][0].n
    first = resample_rows(n, SEED, 0, 0)
    assert np.array_equal(first, resample_rows(n, SEED, 0, 0))
    for other in (resample_rows(n, SEED + 1, 0, 0), resample_rows(n, SEED, 0, 1),
                  resample_rows(n, SEED, 1, 0)):
        assert not np.array_equal(first, other)
    assert first.min() >= 0 and first.max() < n


def test_shares_are_proportions_and_agree_with_each_other(parallel) -> None:
    for st in parallel:
        shares = {v: st.share(v) for v in st.candidates}
        assert all(0.0 <= s <= 1.0 for s in shares.values())
        assert 0.0 <= st.exact_share <= 1.0
        # the published set is chosen exactly only where each of its variables is chosen,
        # and none of the others
        assert st.exact_share <= min(shares[v] for v in st.published)
        assert all(st.exact_share <= 1.0 - shares[v] for v in st.candidates
                   if v not in st.published)
        # the mean number of variables selected is the sum of the shares
        sizes = [len(s) for s in st.selections if s is not None]
        assert sum(shares.values()) == pytest.approx(sum(sizes) / len(sizes))


def _toy(n: int = 60, rare_reference: bool = False, seed: int = 3) -> ModelInputs:
    """An outcome that one variable decides almost alone, beside noise."""
    rng = np.random.default_rng(seed)
    strong = rng.integers(0, 2, n)
    y = np.where(rng.random(n) < 0.9, strong, 1 - strong).astype(float)
    group = np.where(np.arange(n) == 0, "ref", "other") if rare_reference else \
        rng.choice(["ref", "other"], n)
    frame = pd.DataFrame({"y": y, "strong": np.where(strong == 1, "yes", "no"),
                          "noise": rng.normal(size=n), "group": group})
    return ModelInputs("y", frame, ("strong", "noise", "group"),
                       {"strong": "no", "group": "ref"},
                       {"strong": ("no", "yes"), "group": ("ref", "other")}, 0.05, 0.10, "lr")


def test_a_decisive_variable_is_selected_in_every_resample() -> None:
    toy = _toy()
    (st,) = selection_stability([toy], {"y": toy.select()}, 20, SEED, workers=2)
    assert toy.select() == ("strong",)
    assert st.share("strong") == 1.0 and st.resamples == 20
    assert st.exact_share == sum(s == ("strong",) for s in st.selections) / 20
    assert st.exact_share < 1.0 and st.share("noise") + st.share("group") > 0.0, \
        "bootstrap resamples of 60 cases should now and then pick up noise"


def test_resamples_that_cannot_be_selected_are_counted_apart() -> None:
    """A reference level held by one case is missing from about a third of resamples:
    those are counted as failed and the shares are over the rest."""
    toy = _toy(rare_reference=True)
    (st,) = selection_stability([toy], {"y": ("strong",)}, 30, SEED, workers=2)
    assert 0 < st.failed < 30 and st.resamples + st.failed == 30
    assert st.share("strong") == st.count("strong") / st.resamples
    assert all(s is None or isinstance(s, tuple) for s in st.selections)


def test_no_resamples_no_result(demo, published) -> None:
    assert selection_stability(demo[2], published, 0, SEED) == ()
    empty = Stability("y", ("a",), ("a", "b"), (None, None))
    assert empty.resamples == 0 and math.isnan(empty.share("a"))
    assert math.isnan(empty.exact_share)


# -- settings ------------------------------------------------------------------------------

def test_settings_default_to_two_hundred_seeded_resamples(monkeypatch) -> None:
    monkeypatch.delenv(RESAMPLES_ENV, raising=False)
    a = load_edition("2018-19").analysis
    assert (a.stability_resamples, a.stability_seed) == (200, 20200201)


def _edition_with(tmp_path, lines: str):
    source = EDITION.source_file.read_text(encoding="utf-8")
    data = EDITION.data_file.as_posix()
    text = source.replace(f'data = "../bulletin/demo/data/{EDITION.data_file.name}"',
                          f'data = "{data}"') + f"\n[analysis]\n{lines}\n"
    path = tmp_path / "2018-19.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_edition_can_set_resamples_and_seed(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(RESAMPLES_ENV, raising=False)
    a = load_edition(_edition_with(tmp_path, "stability_resamples = 50\nstability_seed = 7"))
    assert (a.analysis.stability_resamples, a.analysis.stability_seed) == (50, 7)


@pytest.mark.parametrize("lines, message", [
    ("stability_resamples = -1", "stability_resamples' is negative"),
    ('stability_resamples = "many"', "stability_resamples' has the wrong type"),
    ("stability_seed = -3", "stability_seed' is negative"),
])
def test_bad_settings_are_named(tmp_path, monkeypatch, lines, message) -> None:
    monkeypatch.delenv(RESAMPLES_ENV, raising=False)
    with pytest.raises(BulletinError) as err:
        load_edition(_edition_with(tmp_path, lines))
    assert message in err.value.report()


def test_environment_overrides_resamples_and_says_so(monkeypatch, capsys) -> None:
    monkeypatch.setenv(RESAMPLES_ENV, "12")
    assert load_edition("2018-19").analysis.stability_resamples == 12
    assert RESAMPLES_ENV in capsys.readouterr().err
    monkeypatch.setenv(RESAMPLES_ENV, "twelve")
    with pytest.raises(BulletinError) as err:
        load_edition("2018-19")
    assert f"{RESAMPLES_ENV} is not a whole number" in err.value.report()


def test_analysis_uses_the_settings(demo) -> None:
    """The analysis stage runs the check with the edition's resamples and seed."""
    from bulletin.analysis.run import analyse

    iv, models, _ = demo
    frame = load_valid(EDITION.data_file, S)
    edition = replace(EDITION, analysis=replace(S, stability_resamples=2, stability_seed=SEED))
    results = analyse(frame, edition)
    assert [s.resamples + s.failed for s in results.stability] == [2, 2, 2]
    expected = selection_stability(model_inputs(iv, S),
                                   {m.judgement: m.result.selected for m in models}, 2, SEED,
                                   workers=1)
    assert results.stability == expected


def test_the_cache_key_follows_the_resamples_override(monkeypatch) -> None:
    """A build with the override must not be served to one without it, or back."""
    from bulletin.cache import inputs_key

    monkeypatch.setenv(RESAMPLES_ENV, "8")
    small = inputs_key(load_edition("2018-19"))
    monkeypatch.delenv(RESAMPLES_ENV)
    assert inputs_key(load_edition("2018-19")) != small


def _same_design(a, b) -> None:
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert (a.blocks, a.labels, a.references, a.variables) == \
        (b.blocks, b.labels, b.references, b.variables)


def test_a_resampled_design_is_the_design_of_the_resample(demo) -> None:
    """`Design.take(rows)` gives what encoding `frame.iloc[rows]` gives, including the
    resamples in which a level of some variable does not occur."""
    from bulletin.analysis.logit import encode

    rng = np.random.default_rng(7)
    checked = dropped = refused = 0
    for inp in demo[2]:
        for size in (inp.n, 40, 12):  # small resamples lose levels
            rows = rng.integers(0, inp.n, size=size)
            try:
                fresh = encode(inp.frame.iloc[rows], inp.judgement, inp.candidates,
                               inp.reference, inp.levels)
            except BulletinError:  # a reference level absent: take refuses it too
                with pytest.raises(BulletinError, match="reference level"):
                    inp.design.take(rows)
                refused += 1
                continue
            taken = inp.design.take(rows)
            _same_design(taken, fresh)
            checked += 1
            dropped += taken.x.shape[1] < inp.design.x.shape[1]
    assert checked >= 4 and dropped >= 1 and refused >= 1, (checked, dropped, refused)


def test_a_resample_without_a_non_reference_level_drops_its_column() -> None:
    from bulletin.analysis.logit import encode

    toy = _toy()
    others = np.flatnonzero(toy.frame["group"].to_numpy() == "ref")
    taken = toy.design.take(others)  # every case at the reference: "other" never occurs
    _same_design(taken, encode(toy.frame.iloc[others], "y", toy.candidates, toy.reference,
                               toy.levels))
    assert taken.x.shape[1] == toy.design.x.shape[1] - 1
    assert taken.block("group") == ()


def test_a_resample_without_the_reference_level_is_refused_as_encode_refuses_it() -> None:
    from bulletin.analysis.logit import encode

    toy = _toy()
    rows = np.flatnonzero(toy.frame["group"].to_numpy() == "other")
    with pytest.raises(BulletinError, match="reference level 'ref' of 'group'"):
        encode(toy.frame.iloc[rows], "y", toy.candidates, toy.reference, toy.levels)
    with pytest.raises(BulletinError, match="reference level 'ref' of 'group'"):
        toy.design.take(rows)
    assert toy.select_rows(np.arange(toy.n)) == toy.select()


def test_a_sample_encodes_the_same_from_categories_as_from_text(demo) -> None:
    """encode reads a pandas category from its codes; the design must be the one the
    same values give as text."""
    from bulletin.analysis.logit import encode

    for inp in demo[2]:
        categorical = [c for c in inp.frame.columns
                       if isinstance(inp.frame[c].dtype, pd.CategoricalDtype)]
        assert categorical, "the model samples keep their categories"
        as_text = inp.frame.astype(dict.fromkeys(categorical, "str"))
        _same_design(encode(inp.frame, inp.judgement, inp.candidates, inp.reference,
                            inp.levels),
                     encode(as_text, inp.judgement, inp.candidates, inp.reference,
                            inp.levels))
