"""Survey waves: loading (:mod:`.io`), cleaning with an audit trail (:mod:`.cleaning`) and simulation (:mod:`.simulate`)."""
from __future__ import annotations

from .io import load_survey, conform_columns  # noqa: F401


def __getattr__(name):
    # cleaning (scipy.stats, pydantic) is imported when first used: `icaf-sem fit` only reads data
    if name in ("clean", "CleanResult", "mahalanobis_outliers", "cleaning"):
        from . import cleaning
        return cleaning if name == "cleaning" else getattr(cleaning, name)
    if name in ("simulate_wave", "SimulatedWave", "Flaws", "example_wave_path", "load_example_wave"):
        from . import simulate
        return getattr(simulate, name)
    raise AttributeError(f"module 'icaf_sem.survey' has no attribute {name!r}")


__all__ = ["load_survey", "conform_columns", "clean", "CleanResult", "mahalanobis_outliers",
           "simulate_wave", "SimulatedWave", "Flaws", "example_wave_path", "load_example_wave"]
