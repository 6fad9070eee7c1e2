"""icaf_sem: structural equation modelling of survey data, matching lavaan.

The pipeline reads straight through::

    survey wave -> clean -> reliability/validity -> CFA -> SEM -> hypotheses -> report
"""
from __future__ import annotations

__version__ = "0.1.0"

from . import errors  # noqa: F401
from .errors import *  # noqa: F401,F403


_SUBPACKAGES = ("game", "power")     # reached as icaf_sem.game.<function>


def __getattr__(name):  # lazy public API, so `import icaf_sem` stays fast
    import importlib
    table = {
        "fit": ".sem", "growth": ".sem", "SEMResult": ".results",
        "parse_model": ".model.syntax",
        "load_questionnaire": ".questionnaire", "Questionnaire": ".questionnaire",
        "load_survey": ".survey.io", "clean": ".survey.cleaning", "CleanResult": ".survey.cleaning",
        "simulate_wave": ".survey.simulate",
        "reliability_report": ".measurement.reliability",
        "analyze": ".pipeline", "invariance": ".invariance", "compare_waves": ".waves",
        "test_hypotheses": ".hypotheses",
        "nca": ".nca", "NCAResult": ".nca",
        "polychoric_matrix": ".estimation.categorical",
        "compare": ".compare", "vuong_test": ".compare", "factor_scores": ".scores",
        "pls": ".pls", "PLSResult": ".pls", "pls_mga": ".pls.mga",
    }
    if name in table:
        return getattr(importlib.import_module(table[name], __name__), name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'icaf_sem' has no attribute {name!r}")
