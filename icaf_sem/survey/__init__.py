"""Survey waves: loading (:mod:`.io`), cleaning with an audit trail (:mod:`.cleaning`) and simulation (:mod:`.simulate`)."""
from __future__ import annotations

from .io import load_survey, conform_columns  # noqa: F401
from .cleaning import clean, CleanResult, mahalanobis_outliers  # noqa: F401


def __getattr__(name):
    if name in ("simulate_wave", "SimulatedWave", "Flaws", "example_wave_path", "load_example_wave"):
        from . import simulate
        return getattr(simulate, name)
    raise AttributeError(f"module 'icaf_sem.survey' has no attribute {name!r}")


__all__ = ["load_survey", "conform_columns", "clean", "CleanResult", "mahalanobis_outliers",
           "simulate_wave", "SimulatedWave", "Flaws", "example_wave_path", "load_example_wave"]
