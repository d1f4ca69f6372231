"""The published selections run in parallel processes on large samples: the models must
be the very ones a serial run gives."""

from __future__ import annotations

import pytest

from bulletin.analysis import descriptive as d
from bulletin.analysis import models, parallel
from bulletin.analysis.derive import derive
from bulletin.config import load_edition
from bulletin.schema import YES
from bulletin.validate import load_valid

EDITION = load_edition("2018-19")
S = EDITION.analysis


def _serial(monkeypatch):
    """The interviewed cases, their model inputs and the serial fits; then the size from
    which selections run in processes is set to 0 (the demo sample is small)."""
    data = derive(load_valid(EDITION.data_file, S), S)
    iv = data[d.is_level(data["ro_interviewed"], YES)]
    inputs = models.model_inputs(iv, S)
    serial = models.fit_models(iv, S, inputs, workers=1)
    monkeypatch.setattr(models, "PARALLEL_FROM", 0)
    return iv, inputs, serial


def _same_models(serial, other) -> None:
    for a, b in zip(serial, other, strict=True):
        assert a.judgement == b.judgement and a.rows == b.rows
        assert a.result.to_frame().equals(b.result.to_frame())
        assert a.result.steps == b.result.steps and a.result.notes == b.result.notes
        assert a.result.minus2ll == b.result.minus2ll
        assert a.result.not_selected == b.result.not_selected


def test_models_fitted_in_parallel_processes_are_the_serial_ones(monkeypatch) -> None:
    iv, inputs, serial = _serial(monkeypatch)
    started = []
    real = parallel.ProcessPoolExecutor

    def counting(*args, **kwargs):
        started.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", counting)
    side_by_side = models.fit_models(iv, S, inputs, workers=2)
    assert started, "the parallel path did not run"
    _same_models(serial, side_by_side)


@pytest.mark.parametrize("workers", [1, 3])
def test_small_samples_are_fitted_here(monkeypatch, workers) -> None:
    """Below PARALLEL_FROM cases a process costs more than the fit: none is started."""
    def refuse(*args, **kwargs):
        raise AssertionError("a process pool was started for a small sample")

    monkeypatch.setattr(parallel, "ProcessPoolExecutor", refuse)
    data = derive(load_valid(EDITION.data_file, S), S)
    iv = data[d.is_level(data["ro_interviewed"], YES)]
    assert len(models.fit_models(iv, S, workers=workers)) == len(S.judgement_keys)


def test_models_fitted_beside_the_counts_are_the_serial_ones(monkeypatch) -> None:
    """On large samples each selection runs in a forked process while this process makes
    the counts: the models are the serial ones to the bit, and the counts come back."""
    import os

    iv, inputs, serial = _serial(monkeypatch)
    forks = []
    real = os.fork

    def counting() -> int:
        pid = real()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting)
    here = os.getpid()
    done, beside = models.fit_models_beside(lambda: (os.getpid(), len(iv)), S, inputs,
                                            workers=2)
    assert done == (here, len(iv))  # made in this process
    assert len(forks) == len(inputs), "the selections did not run in processes"
    _same_models(serial, beside)


def test_small_samples_are_fitted_beside_nothing(monkeypatch) -> None:
    """Below PARALLEL_FROM cases no process is forked for the selections."""
    import os

    def refuse() -> int:
        raise AssertionError("a process was forked for a small sample")

    monkeypatch.setattr(os, "fork", refuse)
    data = derive(load_valid(EDITION.data_file, S), S)
    iv = data[d.is_level(data["ro_interviewed"], YES)]
    done, fitted = models.fit_models_beside(lambda: "counts", S, models.model_inputs(iv, S),
                                            workers=3)
    assert done == "counts" and len(fitted) == len(S.judgement_keys)
